package model

import (
	"slices"
	"testing"

	"trainsim/units"
)

// TestLinearBiasParams counts parameters by hand with and without linear
// biases (docs/model.md §7.29). Llama 2 7B and Llama 3 8B are checked
// against the released checkpoints' exact counts (6,738,415,616 and
// 8,030,261,248: per layer 4 or 2+2·kv/q attention matrices of h², three
// h × ffn MLP matrices and two RMSNorm gains, plus the untied embedding
// and output tables and the final norm; the learned-position table that
// EmbeddingParams adds is left out here, as the models have none).
func TestLinearBiasParams(t *testing.T) {
	preset := func(name string, bias bool) Config {
		c := mustPreset(t, name)
		c.LinearBias = bias
		return c
	}
	tests := []struct {
		name  string
		c     Config
		layer int64 // LayerParams by hand
		total int64 // layers × layer + final norm + 2·V·h, by hand; 0: not checked
	}{
		// 4·4096² + 3·4096·11008 + 2·4096.
		{"llama2-7b", preset("llama2-7b", false), 67_108_864 + 135_266_304 + 8_192, 6_738_415_616},
		// 4096·(4096 + 2·1024) + 4096² + 3·4096·14336 + 2·4096.
		{"llama3-8b", preset("llama3-8b", false), 25_165_824 + 16_777_216 + 176_160_768 + 8_192, 8_030_261_248},
		// GPT-3 125M as built (biases): 12h² + 13h.
		{"gpt3-125m", preset("gpt3-125m", true), 12*768*768 + 13*768, 0},
		// The same shape without biases: 12h² and two h-wide gains.
		{"gpt3-125m bias-free", preset("gpt3-125m", false), 12*768*768 + 2*768, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.LayerParams(); got != tc.layer {
				t.Errorf("LayerParams = %d, want %d", got, tc.layer)
			}
			var sum int64
			for _, n := range tc.c.LayerTensors() {
				sum += n
			}
			if sum != tc.layer {
				t.Errorf("LayerTensors sum to %d, want %d", sum, tc.layer)
			}
			if tc.total == 0 {
				return
			}
			h, v := int64(tc.c.Hidden), int64(tc.c.Vocab)
			if got := int64(tc.c.Layers)*tc.c.LayerParams() + tc.c.normParams() + 2*v*h; got != tc.total {
				t.Errorf("layers + final norm + embedding and output = %d, want %d", got, tc.total)
			}
		})
	}
	// The tensor lists: GPT's 12 (two norms of gain and bias, four weights
	// with their biases), Llama's 7 (two gains, QKV, output, three MLP
	// matrices).
	if n := len(preset("gpt3-125m", true).LayerTensors()); n != 12 {
		t.Errorf("GPT layer: %d tensors, want 12", n)
	}
	if n := len(preset("llama3-8b", false).LayerTensors()); n != 7 {
		t.Errorf("Llama layer: %d tensors, want 7", n)
	}
}

// TestExpertBiasParams: GPT-OSS-120B's experts carry biases (the released
// config's gate_up_proj_bias, 2·2880, and down_proj_bias, 2880, per
// expert), Mixtral's do not.
func TestExpertBiasParams(t *testing.T) {
	tests := []struct {
		name string
		want int64
	}{
		{"gpt-oss-120b", 128 * (3*2880*2880 + 2*2880 + 2880)},
		{"mixtral-8x7b", 8 * 3 * 4096 * 14336},
	}
	for _, tc := range tests {
		c := mustPreset(t, tc.name)
		if got := c.ExpertParams(); got != tc.want {
			t.Errorf("%s: ExpertParams = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestExpertBiasKernels checks the routed experts' bias kernels by hand
// (expertBiasKernels): 8 experts, top-2, h 1024, expert ffn 2048 (gated:
// up 4096), s 1024, EP 2: 4 local experts of 1·2·1024·2/8 = 512 tokens,
// 2048 rows of 2 bytes.
func TestExpertBiasKernels(t *testing.T) {
	base := Config{Name: "moe", Layers: 2, Hidden: 1024, Heads: 8, KVHeads: 8, FFNHidden: 2048, SeqLen: 1024, Vocab: 1000,
		GatedMLP: true, Experts: 8, TopK: 2}
	const rows = 4 * 512 * 2
	tests := []struct {
		name     string
		bias     bool
		recipe   FP8Recipe
		prec     units.Precision
		want     map[string][2]int64 // name → bytes, launches
		absentUp bool
	}{
		{"no bias", false, "", units.BF16, map[string][2]int64{}, true},
		{"bias bf16", true, "", units.BF16, map[string][2]int64{
			"expert-down-bias-add": {6 * rows * 1024, 2*4 + 1}, "expert-down-bias-grad": {8 * rows * 1024, 4*4 + 1}}, true},
		{"bias fp8 mxfp8", true, FP8MX, units.FP8, map[string][2]int64{
			"expert-down-bias-add": {6 * rows * 1024, 9}, "expert-down-bias-grad": {8 * rows * 1024, 17}}, true},
		{"bias fp8 blockwise", true, FP8Blockwise, units.FP8, map[string][2]int64{
			"expert-down-bias-add": {6 * rows * 1024, 9}, "expert-down-bias-grad": {8 * rows * 1024, 17},
			"expert-up-bias-grad": {rows * 4096, 4}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.LinearBias = tc.bias
			sh := Shard{TP: 1, Microbatch: 1, Attention: AttentionFlash, Precision: tc.prec, FP8Recipe: tc.recipe, EP: 2, ETP: 1}
			_, experts, _, _ := c.MoEBlock(sh)
			seen := map[string]bool{}
			for _, op := range append(append([]Op(nil), experts.Forward...), experts.Backward...) {
				if w, ok := tc.want[op.Name]; ok {
					seen[op.Name] = true
					if int64(op.Bytes) != w[0] || int64(op.Launches) != w[1] {
						t.Errorf("%s: %v bytes, %d launches; want %d, %d", op.Name, op.Bytes, op.Launches, w[0], w[1])
					}
				} else if len(op.Name) > 9 && op.Name[len(op.Name)-9:] == "bias-grad" || op.Name == "expert-down-bias-add" {
					t.Errorf("unexpected %s", op.Name)
				}
			}
			for n := range tc.want {
				if !seen[n] {
					t.Errorf("no %s kernel", n)
				}
			}
			if tc.bias {
				// The output gradient reaches _apply_bias before the fc2
				// GEMM (its FP8 cast, then its data gradient) and after the
				// dispatcher's un-sort.
				b := experts.Backward
				i := slices.IndexFunc(b, func(o Op) bool { return o.Name == "expert-down-bias-grad" })
				if i != 1 || b[0].Name != "moe-unsort-chunks-bwd" || (b[2].Name != "expert-down-dgrad" && b[2].Name != "expert-fp8-cast-bwd") {
					t.Errorf("expert-down-bias-grad at %d of backward %v", i, names(b[:3]))
				}
			}
		})
	}
}

func names(ops []Op) []string {
	var n []string
	for _, o := range ops {
		n = append(n, o.Name)
	}
	return n
}
