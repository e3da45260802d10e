package parallelism

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"trainsim/field"
	"trainsim/model"
	"trainsim/sim"
	"trainsim/topology"
	"trainsim/units"
)

// checkWithin checks, for a job of one step replayed as r with the
// periodic replay of micro-batches where it applies, that a broken
// shortcut gives a result other than full, the unrolled replay's; and
// that the shortcut is taken for 1F1B with one replica and enough
// micro-batches.
func checkWithin(t *testing.T, j Job, r *replayed, full *Result) {
	t.Helper()
	q := r.b.within
	if q == nil {
		l := j.Layout
		if l.Schedule == OneFOneB && j.Microbatches() > l.PP+mbWindow+2 {
			why := "not tried (replicas of GPUs of different speeds)"
			if r.fellBack != nil {
				why = r.fellBack.why
			}
			t.Logf("1F1B, %d replicas, %d micro-batches, ZeRO %d: the periodic replay fell back: %s", len(r.set.dp), j.Microbatches(), l.ZeRO, why)
			// Required where nothing can refuse it: one replica, or
			// replicas of like GPUs without ZeRO-2/3's per-pass
			// collectives joined across them.
			if len(r.set.dp) == 1 || !j.Variation.Set() && l.ZeRO < 2 {
				t.Errorf("the periodic replay fell back")
			}
		}
		return
	}
	if r.b.g.Units()+q.extra*q.per != full.Tasks {
		t.Errorf("tasks emitted %d + %d × %d, unrolled %d", r.b.g.Units(), q.extra, q.per, full.Tasks)
	}
	for name, broken := range map[string]func(q *mbPeriod){
		"shift off by 1 ns":        func(q *mbPeriod) { q.shift++ },
		"one period too many":      func(q *mbPeriod) { q.extra++ },
		"period's bytes left out":  func(q *mbPeriod) { q.mark[0][1] = q.mark[0][2] },
		"idle of the wrong period": func(q *mbPeriod) { q.first[len(q.first)-1][1] = q.first[len(q.first)-1][0] },
	} {
		r := replayedFor(t, j)
		broken(r.b.within)
		if reflect.DeepEqual(r.result(), full) {
			t.Errorf("broken shortcut (%s) still equals the unrolled replay", name)
		}
	}
}

// TestPeriodicRandomLayouts compares the periodic replay (of steps, of
// 1F1B micro-batches) with the unrolled one on random layouts: schedules,
// stage counts (1 to 8), micro-batch counts, ZeRO stages, overlaps, recomputation,
// uneven stages, one to four steps, full ranks, slow GPUs.
func TestPeriodicRandomLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 2))
	names := []string{"gpt-1.7b", "gpt3-1.3b", "llama3-8b", "gpt-3.6b"}
	systems := []string{"dgx-a100-80gb", "dgx-h100"}
	tried, taken, takenFull := 0, 0, 0
	for attempt := 0; tried < 150; attempt++ {
		if attempt > 10000 {
			t.Fatalf("only %d valid random layouts in %d attempts", tried, attempt)
		}
		m, _ := model.Preset(names[rng.IntN(len(names))])
		sys, _ := topology.SystemPreset(systems[rng.IntN(len(systems))])
		tp := []int{1, 2, 4, 8}[rng.IntN(4)]
		pp := []int{1, 2, 3, 4, 8}[rng.IntN(5)]
		dp := []int{1, 2, 4}[rng.IntN(3)]
		sched := []Schedule{GPipe, OneFOneB, OneFOneB, OneFOneB, ZBH1, Interleaved}[rng.IntN(6)]
		v := 1
		if sched == Interleaved {
			v = 2
		}
		l := Layout{TP: tp, PP: pp, DP: dp, CP: 1, EP: 1, Microbatch: 1 + rng.IntN(2), Schedule: sched, VirtualStages: v,
			SequenceParallel: rng.IntN(2) == 0 && tp > 1, Recompute: []Recompute{RecomputeNone, RecomputeSelective, RecomputeFull}[rng.IntN(3)],
			ZeRO: rng.IntN(4), OverlapGradReduce: rng.IntN(2) == 0, TPOverlap: rng.IntN(2) == 0, PPOverlap: rng.IntN(2) == 0}
		gpus := tp * pp * dp
		if gpus%8 != 0 {
			continue
		}
		mbs := pp + rng.IntN(4*pp+12)
		j := Job{Model: m, Cluster: topology.Cluster{System: sys, Nodes: gpus / 8}, Layout: l,
			Training: Training{GlobalBatch: dp * l.Microbatch * mbs, Precision: units.BF16, Steps: 1 + rng.IntN(4), Attention: model.AttentionFlash},
			Options:  Options{Network: NetworkAnalytical, Ranks: []string{RanksSymmetric, RanksSymmetric, RanksFull}[rng.IntN(3)]}}
		switch rng.IntN(4) {
		case 0:
			j.Variation = Variation{SlowFraction: 0.1, Slowdown: 0.3}
		case 1:
			j.Variation = Variation{Spread: 0.05}
		}
		if len(problems(j)) > 0 {
			continue
		}
		tried++
		per := simulate(t, j)
		u := j
		u.Options.noPeriodic = true
		full := simulate(t, u)
		if !reflect.DeepEqual(per, full) {
			t.Fatalf("%+v, %d micro-batches, %d steps: periodic and unrolled replays differ:\nperiodic %+v\nunrolled %+v", l, mbs, j.Training.Steps, per, full)
		}
		// Tried where it is not: the check must find the periods unlike.
		f := j
		f.Options.periodicUnlike = true
		if forced := simulate(t, f); !reflect.DeepEqual(forced, full) {
			t.Fatalf("%+v, %d micro-batches, %d steps: periodic replay tried on replicas of different speeds differs:\nperiodic %+v\nunrolled %+v", l, mbs, j.Training.Steps, forced, full)
		}
		r := replayedFor(t, j)
		if r.b.period != nil || r.b.within != nil {
			taken++
			if len(r.set.dp) > 1 {
				takenFull++
			}
		}
		if j.Training.Steps == 1 {
			checkWithin(t, j, r, full)
		}
	}
	t.Logf("%d layouts, the periodic replay taken on %d (%d of several replicas)", tried, taken, takenFull)
}

// TestPeriodicStepsEqualUnrolled replays every exactness layout over
// several training steps twice: with the periodic replay (two steps
// emitted and run, the others extrapolated from the second, period.go)
// and with every step emitted and run, and requires identical results
// field by field. It also requires the shortcut to be taken on the
// layouts that replay one replica, and that a broken shortcut (a wrong
// shift, one step too many, the bytes multiplied instead of added again)
// gives a different result.
func TestPeriodicStepsEqualUnrolled(t *testing.T) {
	taken, fell := 0, 0
	for _, c := range exactCases() {
		for _, steps := range []int{1, 3, 5} {
			t.Run(c.name, func(t *testing.T) {
				j := c.job(t)
				if j.Options.Timeline {
					return // every task listed: members and the period are off
				}
				j.Training.Steps = steps
				per := simulate(t, j)
				u := j
				u.Options.noPeriodic = true
				full := simulate(t, u)
				if !reflect.DeepEqual(per, full) {
					t.Fatalf("%d steps: periodic and unrolled replays differ:\nperiodic %+v\nunrolled %+v", steps, per, full)
				}
				r := replayedFor(t, j)
				if steps == 1 {
					checkWithin(t, j, r, full)
					return
				}
				if r.b.period == nil {
					fell++
					t.Logf("%d steps: replayed in full (%d replicas)", steps, len(r.set.dp))
					// Fall-backs expected: several replicas (their
					// collectives are joined after the last step), and
					// ZeRO-3's overlapped parameter gathers, which start
					// the next step's before the barrier.
					if len(r.set.dp) == 1 && (j.Layout.ZeRO != 3 || !j.Layout.OverlapGradReduce) {
						t.Errorf("%d steps, one replica: the periodic replay fell back", steps)
					}
					return
				}
				taken++
				if r.b.g.Units()+r.b.period.extra*r.b.period.units != full.Tasks {
					t.Errorf("tasks emitted %d + %d × %d, unrolled %d", r.b.g.Units(), r.b.period.extra, r.b.period.units, full.Tasks)
				}
				for name, broken := range map[string]func(p *stepPeriod){
					"shift off by 1 ns":     func(p *stepPeriod) { p.shift++ },
					"one step too many":     func(p *stepPeriod) { p.extra++ },
					"bytes not added again": func(p *stepPeriod) { p.rec = make([][]tplComm, len(p.rec)) },
				} {
					r := replayedFor(t, j)
					broken(r.b.period)
					if reflect.DeepEqual(r.result(), full) {
						t.Errorf("%d steps: broken shortcut (%s) still equals the unrolled replay", steps, name)
					}
				}
			})
		}
	}
	t.Logf("periodic replay taken %d times, fell back %d times", taken, fell)
}

// TestMBPeriodCheck: the check that period J repeats period J−1 shifted
// rejects a run in which one task of period J on one lane starts or ends
// 1 ns off, has another binding predecessor, or the run's event count
// differs; the unchanged run passes.
func TestMBPeriodCheck(t *testing.T) {
	j := gpt3Job(t, 8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 64)
	r := replayedFor(t, j)
	q := r.b.within
	if q == nil {
		t.Fatal("the periodic replay of micro-batches was not taken")
	}
	copyRun := func() *sim.Result {
		c := *r.run
		c.Start = append([]sim.Time(nil), c.Start...)
		c.End = append([]sim.Time(nil), c.End...)
		c.Binding = append([]sim.TaskID(nil), c.Binding...)
		return &c
	}
	if !q.holds(r.b, copyRun()) {
		t.Fatal("the unchanged run fails the check")
	}
	for s := range q.first {
		mid := (q.first[s][1] + q.first[s][2]) / 2
		for name, change := range map[string]func(run *sim.Result){
			"start":   func(run *sim.Result) { run.Start[mid]++ },
			"end":     func(run *sim.Result) { run.End[mid]++ },
			"binding": func(run *sim.Result) { run.Binding[mid] = q.first[s][0] },
			"events":  func(run *sim.Result) { run.Events++ },
		} {
			run := copyRun()
			change(run)
			if q.holds(r.b, run) {
				t.Errorf("lane %d: %s of task %d changed, the check still holds", s, name, mid)
			}
		}
	}
}

// TestManyStepsPeriodic: the replay-size limit counts the steps a replay
// builds. The default layout at 1000 training steps (about 2.3e8 tasks
// unrolled, past MaxReplayTasks) is replayed periodically from two steps:
// accepted, with the step time of 3 steps and the unrolled counts growing
// by the per-step increment of 3 → 5 steps (whose periodic replay equals
// the unrolled one, TestPeriodicStepsEqualUnrolled). A layout whose
// periodic check does not hold at run time (ZeRO-3 with overlapped
// gathers) is refused then, with Validate's message naming
// training.steps, before the full replay is built.
func TestManyStepsPeriodic(t *testing.T) {
	j := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	res := map[int]*Result{}
	for _, steps := range []int{3, 5, 1000} {
		s := j
		s.Training.Steps = steps
		res[steps] = simulate(t, s)
	}
	if u := j; func() bool { u.Training.Steps = 1000; return u.ReplayTasks() <= MaxReplayTasks }() {
		t.Fatalf("1000 steps estimated within the limit unrolled: the test no longer exercises it")
	}
	// The step time is the makespan over the steps: the makespan, in
	// whole nanoseconds, grows by the same step-to-step shift.
	span := func(steps int) int { return int(math.Round(float64(res[steps].StepTime) * float64(steps) * 1e9)) }
	for name, f := range map[string]func(r *Result) int{
		"makespan (ns)": func(r *Result) int {
			for steps, x := range res {
				if x == r {
					return span(steps)
				}
			}
			return -1
		},
		"tasks":  func(r *Result) int { return r.Tasks },
		"events": func(r *Result) int { return r.Events },
	} {
		per := (f(res[5]) - f(res[3])) / 2
		if per <= 0 || f(res[1000]) != f(res[3])+997*per {
			t.Errorf("%s: 3 steps %d, 5 steps %d, 1000 steps %d; want %d", name, f(res[3]), f(res[5]), f(res[1000]), f(res[3])+997*per)
		}
	}

	t.Logf("step time: 3 steps %.17g s, 1000 steps %.17g s", float64(res[3].StepTime), float64(res[1000].StepTime))
	if d := math.Abs(float64(res[1000].StepTime/res[3].StepTime) - 1); d > 1e-12 {
		t.Errorf("step time: 1000 steps %v, 3 steps %v (relative difference %.3g)", res[1000].StepTime, res[3].StepTime, d)
	}

	z := j
	z.Layout.ZeRO, z.Layout.OverlapGradReduce = 3, true
	z.Training.Steps = 1000
	if n := z.BuiltReplayTasks(); n > MaxReplayTasks {
		t.Fatalf("ZeRO-3: Validate's estimate %.3g, want within the limit (two steps)", n)
	}
	_, err := simulateJob(z)
	var fe field.Error
	if !errors.As(err, &fe) || fe.Field != "training.steps" || !strings.Contains(fe.Msg, "the replay would unroll about") || !strings.Contains(fe.Msg, "4.4 GB") {
		t.Fatalf("ZeRO-3, 1000 steps: %v, want a training.steps size error", err)
	}
	z.Training.Steps = 3
	if r := replayedFor(t, z); r.b.period != nil {
		t.Fatalf("ZeRO-3 overlapped: the periodic replay of steps held; the fall-back is not exercised")
	}
}
