package parallelism

import (
	"math"
	"testing"

	"trainsim/model"
	"trainsim/units"
)

// zbReplay replays p stages, one layer each, m micro-batches, whose forward
// takes tf, input gradient tb and weight gradient tw (the backward pass tb+tw
// under the schedules that do not split it), and nothing else.
func zbReplay(t *testing.T, sched Schedule, p, m int, tf, tb, tw units.Seconds, dp int) *Result {
	t.Helper()
	j := gpt3Job(t, p*dp, Layout{TP: 8, PP: p, DP: dp, Microbatch: 1, Schedule: sched, VirtualStages: 1, Recompute: RecomputeNone, OverlapGradReduce: dp > 1}, m*dp)
	j.Model.Layers = p
	j.Options.Timeline = true
	pr, err := newPricer(j)
	if err != nil {
		t.Fatal(err)
	}
	pl := handPlan(pr, model.Layer{})
	ls := &pl.layers[model.TransformerLayer]
	ls.fwd = []stepID{pr.computeStep(toTime(tf))}
	ls.bwd = []stepID{pr.computeStep(toTime(tb + tw))}
	ls.bIn = []stepID{pr.computeStep(toTime(tb))}
	ls.wgt = []stepID{pr.computeStep(toTime(tw))}
	if dp > 1 {
		ls.gradReduce = pr.spec(commSpec{op: 0, bytes: units.GiB, group: groupDP})
	}
	r, err := runPlan(j, pr, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.result()
}

// TestZBH1BubbleByHand: p = 4 stages, m = 8 micro-batches, F = B = W = 1
// unit. Every stage computes m·(F+B+W) = 24 units.
//
// 1F1B runs B and W as one backward of 2 units: (m + p − 1)·3 = 33 units, a
// bubble of (p−1)·(F+B+W) = 9 on every stage.
//
// ZB-H1, worked by hand on stage 0: F0…F3 fill [0, 4); micro-batch 0 reaches
// the last stage at 3, whose F0 ends at 4; B0 then runs on stages 3, 2, 1 in
// [4, 5), [5, 6), [6, 7) (nothing else holds them: B is the only pass on the
// way back), so stage 0's B0 starts at 7 after 3 idle units; from there the
// stage never waits (each later B arrives while it runs a deferred W or an
// F), ending at 7 + 20 = 27. The last stage, which defers p−1 = 3 W passes,
// ends with them at 27 too. Bubble: 3 units = (p−1)·(F+B−W), the paper's
// (Qi et al. 2024, §2.1).
func TestZBH1BubbleByHand(t *testing.T) {
	u := units.Seconds(1e-3)
	for _, tc := range []struct {
		sched        Schedule
		step, bubble float64 // units
	}{
		{OneFOneB, 33, 9},
		{ZBH1, 27, 3},
	} {
		res := zbReplay(t, tc.sched, 4, 8, u, u, u, 1)
		if got := float64(res.StepTime / u); math.Abs(got-tc.step) > 1e-6 {
			t.Errorf("%s: step %.6f units, want %g", tc.sched, got, tc.step)
		}
		for _, st := range res.Stages {
			if got := float64(st.Breakdown.Bubble / u); math.Abs(got-tc.bubble) > 1e-6 {
				t.Errorf("%s stage %d: bubble %.6f units, want %g", tc.sched, st.Stage, got, tc.bubble)
			}
		}
	}
}

// TestZBH1BeatsOneFOneB: with uneven passes (B twice F, W equal to F, as in
// a transformer layer's GEMMs) and more stages, the replayed bubble is the
// paper's (p−1)(F+B−W) against 1F1B's (p−1)(F+B+W), and so smaller.
func TestZBH1BeatsOneFOneB(t *testing.T) {
	u := units.Seconds(1e-3)
	for _, tc := range []struct{ p, m int }{{4, 8}, {8, 16}, {8, 64}} {
		one := zbReplay(t, OneFOneB, tc.p, tc.m, u, 2*u, u, 1)
		zb := zbReplay(t, ZBH1, tc.p, tc.m, u, 2*u, u, 1)
		if zb.Breakdown.Bubble >= one.Breakdown.Bubble {
			t.Errorf("p=%d m=%d: zb-h1 bubble %v not below 1f1b's %v", tc.p, tc.m, zb.Breakdown.Bubble, one.Breakdown.Bubble)
		}
		if got, want := float64(zb.Breakdown.Bubble/u), float64(tc.p-1)*(1+2-1); math.Abs(got-want) > 1e-6 {
			t.Errorf("p=%d m=%d: zb-h1 bubble %.6f units, want (p−1)(F+B−W) = %g", tc.p, tc.m, got, want)
		}
		if got, want := float64(one.Breakdown.Bubble/u), float64(tc.p-1)*(1+2+1); math.Abs(got-want) > 1e-6 {
			t.Errorf("p=%d m=%d: 1f1b bubble %.6f units, want (p−1)(F+B+W) = %g", tc.p, tc.m, got, want)
		}
	}
}

// TestZBH1Program: every micro-batch runs F, B and W once each, in that
// order; every stage holds at most p micro-batches between F and W, which is
// what 1F1B's first stage holds (so the peak over stages is 1F1B's).
func TestZBH1Program(t *testing.T) {
	for _, tc := range []struct{ p, m int }{{4, 8}, {4, 3}, {1, 5}, {8, 64}, {6, 6}} {
		worst1, worstZ := 0, 0
		for s := 0; s < tc.p; s++ {
			phase := map[int]int{}
			for _, st := range program(ZBH1, tc.p, 1, tc.m, s) {
				want, next := 0, 1
				switch {
				case st.weight:
					want, next = 2, 3
				case !st.forward:
					want, next = 1, 2
				}
				if phase[st.mb] != want {
					t.Fatalf("p=%d m=%d stage %d: %+v out of order (micro-batch at phase %d)", tc.p, tc.m, s, st, phase[st.mb])
				}
				phase[st.mb] = next
			}
			for mb := 0; mb < tc.m; mb++ {
				if phase[mb] != 3 {
					t.Errorf("p=%d m=%d stage %d: micro-batch %d ends at phase %d", tc.p, tc.m, s, mb, phase[mb])
				}
			}
			z := maxInFlight(program(ZBH1, tc.p, 1, tc.m, s))
			if want := min(tc.p, tc.m); z > want {
				t.Errorf("p=%d m=%d stage %d: zb-h1 holds %d micro-batches, more than %d", tc.p, tc.m, s, z, want)
			}
			worstZ = max(worstZ, z)
			worst1 = max(worst1, maxInFlight(program(OneFOneB, tc.p, 1, tc.m, s)))
		}
		if worstZ != worst1 {
			t.Errorf("p=%d m=%d: zb-h1's peak in-flight %d, 1f1b's %d", tc.p, tc.m, worstZ, worst1)
		}
	}
}

// TestZBH1Memory: on GPT-3 175B (TP 8, PP 16) the reported peak memory is
// 1F1B's, and the step is shorter.
func TestZBH1Memory(t *testing.T) {
	j := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 256)
	one := simulate(t, j)
	j.Layout.Schedule = ZBH1
	zb := simulate(t, j)
	if zb.Memory.Peak != one.Memory.Peak || zb.MemoryStage != one.MemoryStage {
		t.Errorf("zb-h1 peak %v on stage %d, 1f1b %v on stage %d", zb.Memory.Peak, zb.MemoryStage, one.Memory.Peak, one.MemoryStage)
	}
	if zb.StepTime >= one.StepTime || zb.Breakdown.Bubble >= one.Breakdown.Bubble {
		t.Errorf("zb-h1 step %v bubble %v, 1f1b step %v bubble %v", zb.StepTime, zb.Breakdown.Bubble, one.StepTime, one.Breakdown.Bubble)
	}
	if math.Abs(float64(zb.Breakdown.Compute/one.Breakdown.Compute)-1) > 1e-6 {
		t.Errorf("zb-h1 computes %v, 1f1b %v: the split must run the same kernels", zb.Breakdown.Compute, one.Breakdown.Compute)
	}
}

// TestZBH1GradientsAfterLastW: with data parallelism and overlapped gradient
// reduction, each stage's gradient buckets are issued by the W pass of the
// last micro-batch (none by a B pass), start after it, and the optimizer
// runs after they end.
func TestZBH1GradientsAfterLastW(t *testing.T) {
	u := units.Seconds(1e-3)
	p, m := 4, 8
	res := zbReplay(t, ZBH1, p, m, u, u, u, 2)
	for s := 0; s < p; s++ {
		var lastW, dpEnd, optStart float64
		lastW, optStart = -1, -1
		buckets := 0
		for _, sp := range res.Timeline {
			if sp.Stage != s || sp.Replica != 0 || sp.Step != 0 {
				continue
			}
			switch {
			case sp.Phase == "wgrad" && sp.Stream == "compute" && sp.MicroBatch == m-1:
				lastW = float64(sp.Start)
			case sp.Kind == "dp" && sp.Stream == "dp":
				buckets++
				if sp.Phase != "wgrad" || sp.MicroBatch != m-1 {
					t.Errorf("stage %d: gradient reduction issued in %q of micro-batch %d", s, sp.Phase, sp.MicroBatch)
				}
				if lastW < 0 || float64(sp.Start) < lastW {
					t.Errorf("stage %d: gradient reduction at %v before the last W (%v)", s, sp.Start, lastW)
				}
				dpEnd = math.Max(dpEnd, float64(sp.End))
			case sp.Kind == "optimizer":
				optStart = float64(sp.Start)
			}
		}
		if buckets == 0 || optStart < dpEnd {
			t.Errorf("stage %d: %d buckets ending %v, optimizer at %v", s, buckets, dpEnd, optStart)
		}
	}
}
