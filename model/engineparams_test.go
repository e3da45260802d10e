package model

import (
	"math"
	"testing"
)

// TestEngineParams checks the weights one rank of a vLLM engine holds
// against hand counts of the tensors vLLM keeps whole on every
// tensor-parallel rank: DeepSeek-V3's latent down-projections, 61 layers ×
// 7168 × (1536 + 512 + 64), and its 58 MoE layers' routers, 7168 × 256;
// Qwen3-30B-A3B's 48 routers, 2048 × 128; none for a dense GQA model.
func TestEngineParams(t *testing.T) {
	for _, tc := range []struct {
		preset     string
		tp         int
		replicated int64
	}{
		{"deepseek-v3", 32, 61*7168*2112 + 58*7168*256}, // 923,467,776 + 106,430,464
		{"deepseek-v3", 1, 61*7168*2112 + 58*7168*256},
		{"qwen3-30b-a3b", 2, 48 * 2048 * 128}, // 12,582,912
		{"llama3-8b", 8, 0},
	} {
		c := mustPreset(t, tc.preset)
		if got := c.EngineReplicatedParams(); got != tc.replicated {
			t.Errorf("%s: replicated %d params, want %d", tc.preset, got, tc.replicated)
		}
		want := float64(c.Params()-tc.replicated)/float64(tc.tp) + float64(tc.replicated)
		if got := c.EngineParams(tc.tp); math.Abs(got-want) > 0.5 {
			t.Errorf("%s at TP %d: %.0f params per rank, want %.0f", tc.preset, tc.tp, got, want)
		}
		if tc.tp == 1 && c.EngineParams(1) != float64(c.Params()) {
			t.Errorf("%s at TP 1: %.0f params, want all %d", tc.preset, c.EngineParams(1), c.Params())
		}
	}
	// DeepSeek-V3 at TP 32: 1.03 G replicated params, 2.06 GB of 16-bit
	// weights, against 64 MB if they were split 32 ways.
	c := mustPreset(t, "deepseek-v3")
	extra := 2 * (c.EngineParams(32) - float64(c.Params())/32)
	if want := 2 * 1029898240.0 * 31 / 32; math.Abs(extra-want) > 1 {
		t.Errorf("DeepSeek-V3 at TP 32: %.4g extra bytes per rank, want %.4g", extra, want)
	}
}
