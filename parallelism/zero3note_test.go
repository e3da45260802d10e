package parallelism

import (
	"strings"
	"testing"
)

// TestZeRO3OverlapNote: ZeRO-3 always overlaps its gradient reduce-scatter,
// so a layout asking for no overlap at ZeRO-3 gets the same step as one
// asking for it, and the report's notes say the key had no effect; with
// the overlap asked for, or below stage 3, no such note.
func TestZeRO3OverlapNote(t *testing.T) {
	run := func(zero int, overlap bool) *Result {
		t.Helper()
		l := Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: zero, OverlapGradReduce: overlap}
		v, errs := gpt3Job(t, 8, l, 16).Validate()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		res, err := Simulate(v)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	said := func(r *Result) bool {
		for _, n := range r.Notes {
			if strings.HasPrefix(n, "ZeRO-3:") && strings.Contains(n, "parallelism.overlap_grad_reduce") {
				return true
			}
		}
		return false
	}
	off, on := run(3, false), run(3, true)
	if !said(off) {
		t.Errorf("ZeRO-3 with overlap_grad_reduce false: no note in %q", off.Notes)
	}
	if said(on) || said(run(1, false)) {
		t.Error("note given where the key has its effect")
	}
	if off.StepTime != on.StepTime {
		t.Errorf("ZeRO-3 step %v without overlap, %v with: the note says they are the same", off.StepTime, on.StepTime)
	}
}
