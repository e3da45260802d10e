package parallelism

import "testing"

// TestAsyncTPAllReduce checks parallelism.async_tp_allreduce on GPT-3 175B at
// TP 8 on one DGX A100: the per-layer forward is unchanged; the backward is
// shorter, by a positive amount below the forward pass (the saving is at
// most the two hidden input-gradient all-reduces, each the size of one of
// the forward's two); the replayed step is shorter too; and with sequence
// parallelism the key changes nothing.
func TestAsyncTPAllReduce(t *testing.T) {
	times := func(async, sp bool) (fwd, bwd, step float64) {
		t.Helper()
		j := gpt3Job(t, 1, Layout{TP: 8, PP: 1, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeNone,
			SequenceParallel: sp, AsyncTPAllReduce: async}, 1)
		v, errs := j.Validate()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		f, b, err := LayerTimes(v)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Simulate(v)
		if err != nil {
			t.Fatal(err)
		}
		return float64(f), float64(b), float64(r.StepTime)
	}
	f0, b0, s0 := times(false, false)
	f1, b1, s1 := times(true, false)
	if f0 != f1 {
		t.Errorf("forward %v → %v: the key moved the forward pass", f0, f1)
	}
	if saved := b0 - b1; saved <= 0 || saved >= f0 {
		t.Errorf("backward %v → %v: saving %v, want in (0, %v)", b0, b1, saved, f0)
	}
	if s1 >= s0 {
		t.Errorf("step %v → %v: want shorter", s0, s1)
	}
	fs0, bs0, ss0 := times(false, true)
	fs1, bs1, ss1 := times(true, true)
	if fs0 != fs1 || bs0 != bs1 || ss0 != ss1 {
		t.Errorf("sequence parallel: (%v %v %v) → (%v %v %v), want unchanged", fs0, bs0, ss0, fs1, bs1, ss1)
	}
}
