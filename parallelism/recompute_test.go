package parallelism

import (
	"testing"

	"trainsim/model"
	"trainsim/units"
)

// TestModuleRecomputeMemory checks the activation memory that selective
// recomputation of Megatron-Core's output-discarding modules frees, by hand.
// smallMoE (moeJob, TP 1, micro-batch 1): s·b·h = 1024 · 1 · 1024 =
// 1,048,576 elements; one stage holds its dense layer and its three MoE
// layers, and the per-layer activation is their average.
//   - layernorm: an MoE layer's pre-MLP norm output, 2 B per element: 2 sbh
//     = 2,097,152 B in each of 3 of 4 layers → 1,572,864 B per layer (the
//     dense layer's norms are fused into its linear layers); in FP8 the
//     count keeps that GEMM input at 1 B: 786,432 B;
//   - moe_act: the routed experts' activation output, top_k · moe_ffn =
//     2 · 512 = 1024 = h wide, 2 B: 2 sbh in each MoE layer → 1,572,864 B;
//   - core_attn (the default): flash attention's log-sum-exp, 4 B per head
//     and token, 8 heads: 32,768 B in every layer.
func TestModuleRecomputeMemory(t *testing.T) {
	act := func(prec units.Precision, rec Recompute, mods string) units.Bytes {
		j := moeJob(t, 1, 8, 1)
		j.Training.Precision = prec
		j.Layout.Recompute, j.Layout.RecomputeModules = rec, mods
		return j.stageLayerActivation(0)
	}
	none := act(units.BF16, RecomputeNone, "")
	tests := []struct {
		prec units.Precision
		mods string
		want units.Bytes // freed per layer
	}{
		{units.BF16, "", 32768},
		{units.BF16, "core_attn", 32768},
		{units.BF16, "layernorm", 1572864},
		{units.BF16, "moe_act", 1572864},
		{units.BF16, "layernorm, moe_act", 3145728},
		{units.BF16, "core_attn, layernorm", 32768 + 1572864},
		// mlp: the dense layer's MLP checkpointed whole: its first GEMM's
		// input (2 sbh) and the activation's input and output (2·4096 and
		// 4096 wide, 2 B: 24 sbh), 26 sbh in one layer of four.
		{units.BF16, "mlp", 6815744},
		{units.FP8, "layernorm", 786432},
	}
	for _, tc := range tests {
		base := none
		if tc.prec != units.BF16 {
			base = act(tc.prec, RecomputeNone, "")
		}
		if got := base - act(tc.prec, RecomputeSelective, tc.mods); got != tc.want {
			t.Errorf("%s %q frees %d B per layer, want %d", tc.prec, tc.mods, int64(got), int64(tc.want))
		}
	}

	// The transient: a layer whose modules are recomputed gets back, once,
	// what they freed; the attention core's recomputation holds one whole
	// dense layer's activations, as before. (Over the output layer's
	// transient, which recompute none has too.)
	transient := func(rec Recompute, mods string) units.Bytes {
		j := moeJob(t, 1, 8, 1)
		j.Layout.Recompute, j.Layout.RecomputeModules = rec, mods
		return j.stageMemory(0, 1).Transient
	}
	out := transient(RecomputeNone, "")
	if got := transient(RecomputeSelective, "layernorm, moe_act") - out; got != 3145728 {
		t.Errorf("modules' transient %d B, want 3,145,728", int64(got))
	}
	full := moeJob(t, 1, 8, 1)
	if got, want := transient(RecomputeSelective, "")-out, full.layerActivationBytes(); got != want {
		t.Errorf("core_attn transient %d B, want a dense layer's %d B", int64(got), int64(want))
	}
}

// TestMLAUpProjRecompute: DeepSeek-V3 (TP 1, micro-batch 1, 4096 tokens):
// mla_up_proj frees the attention core's Q, K and V, 128 heads × (192 +
// 192 + 128) = 65,536 elements of 2 B per token: 536,870,912 B per layer;
// layernorm frees the latent attention's input norm output, 2 · 4096 · 7168
// = 58,720,256 B (a dense layer: its pre-MLP norm is fused). The step's
// recomputation FLOPs (global batch 1): 61 layers × 2 · 4096 · (1536 ·
// 128·192 + 512 · 128·256) = 61 × 446,676,598,784.
func TestMLAUpProjRecompute(t *testing.T) {
	ds, ok := model.Preset("deepseek-v3")
	if !ok {
		t.Fatal("no deepseek-v3 preset")
	}
	job := func(rec Recompute, mods string) Job {
		return Job{Model: ds, Layout: Layout{TP: 1, PP: 1, DP: 1, CP: 1, Microbatch: 1, Recompute: rec, RecomputeModules: mods},
			Training: Training{GlobalBatch: 1, Precision: units.BF16, Attention: model.AttentionFlash}}
	}
	none := job(RecomputeNone, "").layerActivationBytes()
	for _, tc := range []struct {
		mods string
		want units.Bytes
	}{{"mla_up_proj", 536870912}, {"layernorm", 58720256}, {"layernorm,mla_up_proj", 536870912 + 58720256}} {
		if got := none - job(RecomputeSelective, tc.mods).layerActivationBytes(); got != tc.want {
			t.Errorf("%q frees %d B per dense layer, want %d", tc.mods, int64(got), int64(tc.want))
		}
	}
	if got, want := float64(job(RecomputeSelective, "mla_up_proj").recomputeFLOPs()), 61*446676598784.0; got != want {
		t.Errorf("recompute FLOPs %.0f, want %.0f", got, want)
	}
	if got := job(RecomputeSelective, "layernorm").recomputeFLOPs(); got != 0 {
		t.Errorf("norm recompute FLOPs %v, want 0 (memory-bound kernels)", got)
	}
	// mlp on smallMoE (global batch 32, 1024 tokens, its one dense layer of
	// a gated 4096-wide MLP): 2 · 32 · 1024 · 1024 · 4096 · 3.
	mj := moeJob(t, 1, 8, 1)
	mj.Layout.Recompute, mj.Layout.RecomputeModules = RecomputeSelective, "mlp"
	if got, want := float64(mj.recomputeFLOPs()), 824633720832.0; got != want {
		t.Errorf("mlp recompute FLOPs %.0f, want %.0f", got, want)
	}
}
