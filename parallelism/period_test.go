package parallelism

import (
	"reflect"
	"testing"
)

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
		for _, steps := range []int{3, 5} {
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
