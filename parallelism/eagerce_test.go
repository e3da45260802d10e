package parallelism

import (
	"reflect"
	"testing"
)

// TestEagerCrossEntropyBytesByHand checks what training.eager_cross_entropy
// adds to a GPU's memory against counts by hand, for Llama 3 8B (vocab
// 128,256) at seq 8192 and micro-batch 1 unless the row says otherwise.
//
// The logits slice of one micro-batch is tokens × vocab/tp elements:
//   - tp 1, cp 1: 8192 × 128,256 = 1,050,673,152 elements. The fused loss
//     counts 4 B of each (4,202,692,608 B); the eager loss holds 12 B (the
//     fp32 log-probabilities, nll_loss's fp32 gradient, log_softmax's fp32
//     gradient): 12,608,077,824 B. Added: 8 B × 1,050,673,152 =
//     8,405,385,216 B (7.83 GiB).
//   - micro-batch 2 (torchtitan's 8B run): twice that, 16,810,770,432 B.
//   - tp 2 (loss_parallel): 8192 × 64,128 = 525,336,576 elements, 16 B
//     against 4: 12 × 525,336,576 = 6,304,038,912 B.
//   - cp 2: 4096 tokens × 128,256 = 525,336,576 elements, 8 B more each:
//     4,202,692,608 B.
//   - pp 2: only the last stage holds the output layer and the loss: stage
//     0 gains nothing, stage 1 the tp-1 figure, 8,405,385,216 B.
//
// Everything else (weights, gradients, optimizer, stored activations) is
// unchanged.
func TestEagerCrossEntropyBytesByHand(t *testing.T) {
	for _, tc := range []struct {
		name          string
		tp, cp, pp    int
		mb, stage     int
		added         int64
		eagerPerLogit float64
	}{
		{"tp 1", 1, 1, 1, 1, 0, 8405385216, 12},
		{"micro-batch 2", 1, 1, 1, 2, 0, 16810770432, 12},
		{"tp 2, loss_parallel", 2, 1, 1, 1, 0, 6304038912, 16},
		{"cp 2", 1, 2, 1, 1, 0, 4202692608, 12},
		{"pp 2, first stage", 1, 1, 2, 1, 0, 0, 12},
		{"pp 2, last stage", 1, 1, 2, 1, 1, 8405385216, 12},
	} {
		fused := llama8BFSDP(t, RecomputeFull)
		fused.Layout.TP, fused.Layout.CP, fused.Layout.PP, fused.Layout.Microbatch = tc.tp, tc.cp, tc.pp, tc.mb
		fused.Layout.DP = 8 / (tc.tp * tc.cp * tc.pp)
		fused.Training.GlobalBatch = fused.Layout.DP * tc.mb * 4
		eager := fused
		eager.Training.EagerCrossEntropy = true
		if got := eager.lossBytesPerLogit(); got != tc.eagerPerLogit {
			t.Errorf("%s: eager loss holds %g B per logit, want %g", tc.name, got, tc.eagerPerLogit)
		}
		f, e := fused.stageMemory(tc.stage, 1), eager.stageMemory(tc.stage, 1)
		if got := int64(e.Transient - f.Transient); got != tc.added {
			t.Errorf("%s: eager cross-entropy adds %d B of transient, want %d", tc.name, got, tc.added)
		}
		if got := int64(e.Peak - f.Peak); got != tc.added {
			t.Errorf("%s: eager cross-entropy adds %d B to the peak, want %d", tc.name, got, tc.added)
		}
		if e.Weights != f.Weights || e.Gradients != f.Gradients || e.Optimizer != f.Optimizer || e.Activations != f.Activations {
			t.Errorf("%s: eager cross-entropy changed more than the transient: %+v against %+v", tc.name, e, f)
		}
	}
}

// TestEagerCrossEntropyMemoryOnly: the key moves the peak memory and
// nothing the replay times. Each job is simulated with and without it; the
// step time, every stage's breakdown, the traffic and the FLOPs must be the
// same, the memory larger.
func TestEagerCrossEntropyMemoryOnly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tp, pp int
		rec    Recompute
	}{
		{"8B FSDP, op_sac", 1, 1, RecomputeOpSAC},
		{"8B TP 2 PP 2, full", 2, 2, RecomputeFull},
	} {
		fused := llama8BFSDP(t, tc.rec)
		fused.Layout.TP, fused.Layout.PP = tc.tp, tc.pp
		fused.Layout.DP = 8 / (tc.tp * tc.pp)
		fused.Layout.ZeRO = 1
		fused.Layout.SequenceParallel = tc.tp > 1
		fused.Training.GlobalBatch = fused.Layout.DP * fused.Layout.Microbatch * 4
		eager := fused
		eager.Training.EagerCrossEntropy = true
		var res [2]*Result
		for i, j := range []Job{fused, eager} {
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
		f, e := res[0], res[1]
		if f.StepTime != e.StepTime || f.StepTime <= 0 {
			t.Errorf("%s: step time %v with the eager loss, %v without", tc.name, e.StepTime, f.StepTime)
		}
		if !reflect.DeepEqual(f.Breakdown, e.Breakdown) || !reflect.DeepEqual(f.Stages, e.Stages) || !reflect.DeepEqual(f.Comm, e.Comm) {
			t.Errorf("%s: the eager loss changed the step's breakdown or traffic", tc.name)
		}
		if f.ModelFLOPs != e.ModelFLOPs || f.HardwareFLOPs != e.HardwareFLOPs || f.Tasks != e.Tasks {
			t.Errorf("%s: the eager loss changed the work: %v/%v FLOPs, %d/%d tasks", tc.name, f.HardwareFLOPs, e.HardwareFLOPs, f.Tasks, e.Tasks)
		}
		if e.Memory.Peak <= f.Memory.Peak {
			t.Errorf("%s: peak %v with the eager loss, not above %v", tc.name, e.Memory.Peak, f.Memory.Peak)
		}
	}
}
