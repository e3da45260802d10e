package parallelism

import (
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// llama8BFSDP is torchtitan's Llama 3.1 8B run on 8 H100 (1D FSDP, local
// batch 2, seq 8192): TP 1, DP 8, ZeRO-3, flash attention.
func llama8BFSDP(t testing.TB, rec Recompute) Job {
	t.Helper()
	m, ok := model.Preset("llama3-8b")
	if !ok {
		t.Fatal("no llama3-8b preset")
	}
	sys, ok := topology.SystemPreset("dgx-h100")
	if !ok {
		t.Fatal("no dgx-h100 preset")
	}
	l := Layout{TP: 1, PP: 1, CP: 1, EP: 1, DP: 8, Microbatch: 2, Schedule: OneFOneB, VirtualStages: 1,
		Recompute: rec, ZeRO: 3, OverlapGradReduce: true}
	return Job{
		Model: m, Cluster: topology.Cluster{System: sys, Nodes: 1}, Layout: l,
		Training: Training{GlobalBatch: 16, Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash},
		Options:  Options{Network: NetworkAnalytical, Ranks: RanksSymmetric},
	}
}

// TestOpSACByHand checks torchtitan's op-level selective checkpointing
// against a count by hand for Llama 3.1 8B (h 4096, 32 heads, 8 KV heads of
// 128, ffn 14336, gated), s·b = 8192 · 2 = 16,384 tokens per micro-batch.
//
// Kept per layer and token, 2 B per element: the layer input (4096), wq's
// output (4096), wv's (1024), w1's (14336), w2's (4096), the flash kernel's
// output (4096), plus its fp32 log-sum-exp (4 B × 32 heads = 128 B):
// 2 · 31,744 + 128 = 63,616 B; × 16,384 tokens = 1,042,284,544 B.
//
// Re-run per layer, per token: 2·h·n FLOPs for wk (n = 1024), wo (4096)
// and w3 (14336): 2 · 4096 · 19,456 = 159,383,552; over 32 layers and the
// global batch's 16 · 8192 tokens: 159,383,552 · 32 · 131,072 =
// 668,503,069,687,808 FLOPs per step.
func TestOpSACByHand(t *testing.T) {
	j := llama8BFSDP(t, RecomputeOpSAC)
	if got, want := j.layerActivationBytes(), units.Bytes(1042284544); got != want {
		t.Errorf("op_sac keeps %d B per layer, want %d", int64(got), int64(want))
	}
	if got, want := j.recomputeFLOPs(), units.FLOPs(668503069687808); got != want {
		t.Errorf("op_sac re-runs %g FLOPs per step, want %g", float64(got), float64(want))
	}
	// The layer's recompute program: the same matmuls, one micro-batch on
	// one GPU (16,384 tokens): 159,383,552 · 16,384 FLOPs; and the
	// memory-bound kernels of both blocks but the MLP's residual add.
	layer := j.Model.Programs(j.Shard())[model.TransformerLayer]
	var gemm units.FLOPs
	var names []string
	for _, st := range layer.Recompute {
		for _, o := range st.Ops {
			names = append(names, o.Name)
			if o.Class == model.GEMM {
				gemm += o.FLOPs
			}
		}
	}
	if want := units.FLOPs(159383552.0 * 16384); gemm != want {
		t.Errorf("op_sac recompute GEMMs %g FLOPs, want %g (%v)", float64(gemm), float64(want), names)
	}
	for _, n := range []string{"qkv-k", "attn-out", "mlp-up-w3"} {
		if !strings.Contains(strings.Join(names, " "), n) {
			t.Errorf("op_sac recompute lacks %s: %v", n, names)
		}
	}
	for _, n := range names {
		if n == "flash-attention" || n == "mlp-down" || n == "qkv" {
			t.Errorf("op_sac recompute re-runs %s, which the policy keeps: %v", n, names)
		}
	}
	// Against Korthikanti's selective count, 36·sbh here (no dropout
	// masks left out of it): op_sac keeps less than half.
	sel := llama8BFSDP(t, RecomputeSelective)
	if a, b := j.layerActivationBytes(), sel.layerActivationBytes(); a >= b/2 {
		t.Errorf("op_sac %d B ≥ half of selective's %d B", int64(a), int64(b))
	}
}

// TestOpSACRefused: op_sac is replayed for dense models with standard
// attention and flash attention only.
func TestOpSACRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Job)
		want string
	}{
		{"unfused attention", func(j *Job) { j.Training.Attention = model.AttentionUnfused }, "training.attention"},
		{"moe", func(j *Job) { j.Model.Experts, j.Model.TopK = 8, 2 }, "dense models only"},
		{"mla", func(j *Job) { j.Model.KVLoRARank = 512 }, "standard attention only"},
	} {
		j := llama8BFSDP(t, RecomputeOpSAC)
		tc.edit(&j)
		_, errs := j.Validate()
		found := false
		for _, e := range errs {
			if strings.Contains(e.Error(), tc.want) && strings.Contains(e.Error(), "op_sac") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no op_sac error containing %q in %v", tc.name, tc.want, errs)
		}
	}
	if _, errs := llama8BFSDP(t, RecomputeOpSAC).Validate(); len(errs) > 0 {
		t.Errorf("the 8B op_sac job is refused: %v", errs)
	}
}
