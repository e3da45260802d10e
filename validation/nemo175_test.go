package validation

import (
	"math"
	"testing"

	"trainsim/parallelism"
)

// TestNeMo175BMicroBatchMemory: the two GPT-3 175B rows of NeMo 24.07's
// performance summary run micro-batch 1 on 128 GPUs (DP 4) and micro-batch 2
// on 512 (DP 16), at the same TP 4 · PP 8 · VP 6 (docs/model.md §7.23). The
// distributed optimizer's fp32 master weights and two moments (12 B per
// parameter) are the one memory term that shrinks with DP, so the replay's
// peak at micro-batch 2 falls by exactly 12 B × P₀ × (1/4 − 1/16) from DP 4 to
// DP 16, P₀ the parameters of pipeline stage 0, worked by hand:
//
//	per layer and TP rank: (12h² + 13h)/4 = 453 024 768 at h 12288 (the
//	four matrices, the four biases and the two layer norms over TP 4, as
//	the model counts them; Megatron keeps the two row-parallel biases and
//	the norms whole on every rank, 4.5h more, 0.01%);
//	12 layers (96 over PP 8) = 5 436 297 216, + the word embedding
//	51200/4 × 12288 = 157 286 400 and the positions 2048 × 12288 =
//	25 165 824: P₀ = 5 618 749 440;
//	optimizer at DP 4: 12 × P₀ / 4 = 16 856 248 320 B (15.70 GiB);
//	DP 4 → 16 saves 12 × P₀ × 3/16 = 12 642 186 240 B (11.77 GiB).
//
// With that, micro-batch 2 does not fit in 80 GiB at DP 4 and fits at DP 16:
// the replay reproduces the choice NVIDIA made for each row.
func TestNeMo175BMicroBatchMemory(t *testing.T) {
	byID := casesByID(t)
	const p0 = 5_618_749_440.0
	const hbm = 80 << 30
	type run struct {
		id       string
		mb, dp   int
		optBytes float64 // 12 × P₀ / DP
		fits     bool
	}
	peaks := map[string]float64{}
	for _, tc := range []run{
		{"nemo2407-gpt3-175b-128gpu", 1, 4, 12 * p0 / 4, true}, // as published
		{"nemo2407-gpt3-175b-128gpu", 2, 4, 12 * p0 / 4, false},
		{"nemo2407-gpt3-175b-512gpu", 2, 16, 12 * p0 / 16, true}, // as published
	} {
		c, ok := byID[tc.id]
		if !ok {
			t.Fatalf("no case %s", tc.id)
		}
		k := c.Knobs
		if k.TP != 4 || k.PP != 8 || k.VirtualStages != 6 || k.DP != tc.dp || k.ZeRO != 1 {
			t.Fatalf("%s: layout %s, want TP4 PP8 DP%d interleaved×6 ZeRO-1", tc.id, k, tc.dp)
		}
		k.Microbatch = tc.mb
		k.Recompute = string(parallelism.RecomputeNone)
		_, valid, err := c.load(k)
		if err != nil {
			t.Fatal(err)
		}
		res, err := parallelism.SimulateWith(valid, nil)
		if err != nil {
			t.Fatal(err)
		}
		mem := res.Memory
		if got := float64(mem.Optimizer); math.Abs(got-tc.optBytes) > 0 {
			t.Errorf("%s mb%d: optimizer %.0f B, hand-computed %.0f B", tc.id, tc.mb, got, tc.optBytes)
		}
		if fits := float64(mem.Peak) <= hbm; fits != tc.fits || res.Feasible != tc.fits {
			t.Errorf("%s mb%d: peak %.2f GiB (feasible %v), want fits=%v", tc.id, tc.mb, float64(mem.Peak)/(1<<30), res.Feasible, tc.fits)
		}
		if tc.mb == 2 {
			peaks[tc.id] = float64(mem.Peak)
		}
	}
	saved := peaks["nemo2407-gpt3-175b-128gpu"] - peaks["nemo2407-gpt3-175b-512gpu"]
	if want := 12 * p0 * 3 / 16; math.Abs(saved-want) > 0 {
		t.Errorf("DP 4 → 16 at micro-batch 2 saves %.0f B, hand-computed %.0f B", saved, want)
	}
}
