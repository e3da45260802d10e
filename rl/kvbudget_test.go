package rl

import (
	"math"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// TestKVBudget checks the KV-cache budget of each profile against a hand
// calculation on small hand-made models.
func TestKVBudget(t *testing.T) {
	const GiB = float64(units.GiB)
	// A dense gated model: h 1024, 8 heads of 128 (2 KV heads), f 4096,
	// vocabulary 32000. Its parameters come from model.Config.Params; the
	// profile terms are computed by hand below.
	dense := model.Config{Name: "dense", Layers: 4, Hidden: 1024, Heads: 8, KVHeads: 2, FFNHidden: 4096, SeqLen: 4096, Vocab: 32000, GatedMLP: true}
	// The same with 8 experts of f 512, top 2.
	moe := dense
	moe.Name, moe.Experts, moe.TopK, moe.MoEFFNHidden = "moe", 8, 2, 512
	h100, _ := topology.GPUPreset("h100-sxm")
	a100, _ := topology.GPUPreset("a100-80gb")
	// The engine's weights: 1/tp of the parameters, but the MoE model's
	// routers whole on every rank (vLLM's replicated gate: 4 layers × 1024
	// × 8 experts = 32768 parameters, model.EngineReplicatedParams).
	w := func(m model.Config, tp int) float64 {
		r := 0.0
		if m.MoE() {
			r = 4 * 1024 * 8
		}
		return 2 * ((float64(m.Params())-r)/float64(tp) + r)
	}
	cases := []struct {
		name     string
		gpu      topology.GPU
		m        model.Config
		c        Config
		act, non float64 // activation and non-torch bytes, by hand
		tokens   int
	}{
		{
			// No profile: the share of 79.22 GiB less the weights.
			name: "none, H100", gpu: h100, m: dense,
			c: Config{GenTP: 1, GenMemoryFraction: 0.6, MaxBatch: 256},
		},
		{
			// V1, 16384 tokens, 256 sequences. Forward: attention
			// (8 + 2·2)·128 + 8·128 = 2560, gated MLP 3·4096 = 12288, so
			// 16384 · 2 B · (2·1024 + 12288) = 469,762,048 B. Sampler:
			// 16384 · 1024 · 2 + 256 · 32000 · 38 = 33,554,432 +
			// 311,296,000 = 344,850,432 B. The forward is the peak.
			name: "vllm-v1 forward-bound", gpu: h100, m: dense,
			c:   Config{GenTP: 1, GenMemoryFraction: 0.6, MaxBatch: 256, KVProfile: KVProfileVLLMV1, MaxBatchedTokens: 16384},
			act: 469762048, non: 0.61 * GiB, tokens: 16384,
		},
		{
			// V1, 2048 tokens, 1024 sequences at most: the sampler over
			// min(1024, 2048) = 1024 sequences: 2048 · 1024 · 2 + 1024 ·
			// 32000 · 38 = 4,194,304 + 1,245,184,000 = 1,249,378,304 B
			// against a forward of 2048 · 2 · 14336 = 58,720,256 B.
			name: "vllm-v1 sampler-bound", gpu: h100, m: dense,
			c:   Config{GenTP: 1, GenMemoryFraction: 0.8, MaxBatch: 1024, KVProfile: KVProfileVLLMV1},
			act: 1249378304, non: 0.61 * GiB, tokens: 2048,
		},
		{
			// V1 at TP 2 on the MoE model (every layer MoE), 16384 tokens,
			// 128 sequences. Attention (4 + 2·1)·128 + 4·128 = 1280; experts
			// 2·(max(2·256, 1024) + 256) = 2560 (no dense MLP): 16384 · 2 ·
			// (2048 + 2560) = 150,994,944 B, below the sampler's 16384 ·
			// 1024 · 2 + 128 · 32000 · 38 = 33,554,432 + 155,648,000 =
			// 189,202,432 B.
			name: "vllm-v1 MoE TP2", gpu: h100, m: moe,
			c:   Config{GenTP: 2, GenMemoryFraction: 0.6, MaxBatch: 128, KVProfile: KVProfileVLLMV1, MaxBatchedTokens: 16384},
			act: 189202432, non: 0.61 * GiB, tokens: 16384,
		},
		{
			// vLLM 0.3 at TP 2 on an A100 (no reported total: 80 GiB):
			// tokens max(1024 + 1024, 2048) = 2048, 16 sequences; forward
			// attention (4+2)·128 + 4·128 = 1280, MLP 3·2048 = 6144: 2048 ·
			// 2 · (2048 + 6144) = 33,554,432 B; sampler 2048·1024·2 +
			// 16·32000·38 = 4,194,304 + 19,456,000. Non-torch 1.79 + 1.79
			// GiB (NCCL at TP 2).
			name: "vllm-0.3 TP2", gpu: a100, m: dense,
			c:   Config{GenTP: 2, GenMemoryFraction: 0.9, MaxBatch: 16, KVProfile: KVProfileVLLM03, PromptLen: 1024, ResponseMax: 1024},
			act: 33554432, non: 3.58 * GiB, tokens: 2048,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.c.kvBudget(tc.gpu, tc.m, units.BF16)
			device := 80 * GiB
			if tc.gpu.Name == "h100-sxm" {
				device = 79.22 * GiB
			}
			want := tc.c.GenMemoryFraction*device - w(tc.m, tc.c.GenTP) - tc.act - tc.non
			near := func(what string, got, want float64) {
				if math.Abs(got-want) > 1 {
					t.Errorf("%s = %.0f B, want %.0f B", what, got, want)
				}
			}
			near("device", float64(b.Device), device)
			near("activation", float64(b.Activation), tc.act)
			near("non-torch", float64(b.NonTorch), tc.non)
			near("KV", float64(b.KV), want)
			if b.ProfileTokens != tc.tokens {
				t.Errorf("profile tokens %d, want %d", b.ProfileTokens, tc.tokens)
			}
		})
	}
}

// TestProfileActivationLogged checks the profile run's activation peak
// against the PyTorch peaks vLLM logged (SamplerBytesPerLogit's sources):
// within 5%.
func TestProfileActivationLogged(t *testing.T) {
	for _, c := range []struct {
		preset       string
		tokens, seqs int
		loggedGiB    float64
		source       string
	}{
		// vllm serve meta-llama/Meta-Llama-3-8B (max_model_len 8192, so
		// 8192 tokens; max_num_seqs 256): "PyTorch activation peak memory
		// 1.26GiB".
		{"llama3-8b", 8192, 256, 1.26, "vLLM PR #10511"},
		// vllm serve Qwen3-30B-A3B, TP 1: the API server's 8192 tokens and
		// 1024 sequences on a GPU of ≥ 70 GiB: "torch peak memory
		// increase: 5.58GiB".
		{"qwen3-30b-a3b", 8192, 1024, 5.58, "vLLM issue #30942"},
	} {
		m, ok := model.Preset(c.preset)
		if !ok {
			t.Fatalf("no preset %s", c.preset)
		}
		got := float64(ProfileActivation(m, 1, units.BF16, c.tokens, c.seqs)) / float64(units.GiB)
		if math.Abs(got/c.loggedGiB-1) > 0.05 {
			t.Errorf("%s (%s): %.2f GiB, logged %.2f GiB", c.preset, c.source, got, c.loggedGiB)
		}
	}
}
