package parallelism

import (
	"reflect"
	"testing"
)

// TestPPKeepOutputsByHand checks what training.pp_keep_outputs adds to a
// GPU's memory against counts by hand, for Llama 3 8B (hidden 4096, vocab
// 128,256) at seq 8192, micro-batch 1 and four micro-batches per step
// (global batch = 4 × dp), 16-bit outputs (2 B per element):
//   - pp 2, tp 1: stage 0 keeps four hidden-state outputs, 4 × 8192 ×
//     4096 × 2 = 268,435,456 B; stage 1, the last, four logits outputs,
//     4 × 8192 × 128,256 × 2 = 8,405,385,216 B.
//   - pp 2, tp 2 with sequence parallelism: the hidden states are split
//     over tp, 134,217,728 B; the logits over the vocabulary, 4 × 8192 ×
//     64,128 × 2 = 4,202,692,608 B.
//   - pp 2, tp 2 without sequence parallelism: the hidden states whole,
//     268,435,456 B.
//   - pp 2, cp 2: 4096 tokens per micro-batch, 4 × 4096 × 4096 × 2 =
//     134,217,728 B on stage 0.
//   - pp 2, interleaved over 2 virtual stages each (0 and 2 on GPU 0, 1
//     and 3 on GPU 1): GPU 0 keeps two hidden-state outputs per
//     micro-batch, 536,870,912 B; GPU 1 one hidden-state and one logits
//     output, 268,435,456 + 8,405,385,216 = 8,673,820,672 B.
//   - pp 1: nothing (no pipelining schedule).
//
// Only the activations (and the peak) move.
func TestPPKeepOutputsByHand(t *testing.T) {
	for _, tc := range []struct {
		name           string
		tp, cp, pp, vs int
		sp             bool
		stage          int
		added          int64
	}{
		{"pp 2, first stage", 1, 1, 2, 1, false, 0, 268435456},
		{"pp 2, last stage", 1, 1, 2, 1, false, 1, 8405385216},
		{"pp 2 tp 2 sp, first stage", 2, 1, 2, 1, true, 0, 134217728},
		{"pp 2 tp 2 sp, last stage", 2, 1, 2, 1, true, 1, 4202692608},
		{"pp 2 tp 2 no sp, first stage", 2, 1, 2, 1, false, 0, 268435456},
		{"pp 2 cp 2, first stage", 1, 2, 2, 1, false, 0, 134217728},
		{"interleaved, GPU 0", 1, 1, 2, 2, false, 0, 536870912},
		{"interleaved, GPU 1", 1, 1, 2, 2, false, 1, 8673820672},
		{"pp 1", 1, 1, 1, 1, false, 0, 0},
	} {
		off := llama8BFSDP(t, RecomputeFull)
		off.Layout.TP, off.Layout.CP, off.Layout.PP, off.Layout.Microbatch = tc.tp, tc.cp, tc.pp, 1
		off.Layout.VirtualStages, off.Layout.SequenceParallel, off.Layout.ZeRO = tc.vs, tc.sp, 1
		if tc.vs > 1 {
			off.Layout.Schedule = Interleaved
		}
		off.Layout.DP = 8 / (tc.tp * tc.cp * tc.pp)
		off.Training.GlobalBatch = off.Layout.DP * 4
		if got := off.Microbatches(); got != 4 {
			t.Fatalf("%s: %d micro-batches, want 4", tc.name, got)
		}
		on := off
		on.Training.PPKeepOutputs = true
		f, o := off.stageMemory(tc.stage, 1), on.stageMemory(tc.stage, 1)
		if got := int64(o.Activations - f.Activations); got != tc.added {
			t.Errorf("%s: kept outputs add %d B of activations, want %d", tc.name, got, tc.added)
		}
		if got := int64(o.Peak - f.Peak); got != tc.added {
			t.Errorf("%s: kept outputs add %d B to the peak, want %d", tc.name, got, tc.added)
		}
		if o.Weights != f.Weights || o.Gradients != f.Gradients || o.Optimizer != f.Optimizer || o.Transient != f.Transient {
			t.Errorf("%s: kept outputs changed more than the activations: %+v against %+v", tc.name, o, f)
		}
	}
}

// TestPPKeepOutputsMemoryOnly: the key moves the peak memory and nothing
// the replay times; with pp 1 it moves nothing.
func TestPPKeepOutputsMemoryOnly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tp, pp int
		grows  bool
	}{
		{"8B TP 2 PP 2, ZeRO-1", 2, 2, true},
		{"8B PP 1, ZeRO-1", 1, 1, false},
	} {
		off := llama8BFSDP(t, RecomputeFull)
		off.Layout.TP, off.Layout.PP = tc.tp, tc.pp
		off.Layout.DP = 8 / (tc.tp * tc.pp)
		off.Layout.ZeRO = 1
		off.Layout.SequenceParallel = tc.tp > 1
		off.Training.GlobalBatch = off.Layout.DP * off.Layout.Microbatch * 4
		on := off
		on.Training.PPKeepOutputs = true
		var res [2]*Result
		for i, j := range []Job{off, on} {
			v, errs := j.Validate()
			if len(errs) > 0 {
				t.Fatalf("%s: refused: %v", tc.name, errs)
			}
			r, err := Simulate(v)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			res[i] = r
		}
		f, o := res[0], res[1]
		if f.StepTime != o.StepTime || f.StepTime <= 0 {
			t.Errorf("%s: step time %v with the kept outputs, %v without", tc.name, o.StepTime, f.StepTime)
		}
		if !reflect.DeepEqual(f.Breakdown, o.Breakdown) || !reflect.DeepEqual(f.Stages, o.Stages) || !reflect.DeepEqual(f.Comm, o.Comm) {
			t.Errorf("%s: the kept outputs changed the step's breakdown or traffic", tc.name)
		}
		if f.HardwareFLOPs != o.HardwareFLOPs || f.Tasks != o.Tasks {
			t.Errorf("%s: the kept outputs changed the work", tc.name)
		}
		if grew := o.Memory.Peak > f.Memory.Peak; grew != tc.grows || (!tc.grows && o.Memory.Peak != f.Memory.Peak) {
			t.Errorf("%s: peak %v with the kept outputs, %v without (should grow: %v)", tc.name, o.Memory.Peak, f.Memory.Peak, tc.grows)
		}
	}
}
