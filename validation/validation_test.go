package validation

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/scenario"
)

// TestCasesParse checks that every case of published.toml and moe-cp.toml
// is read, once.
func TestCasesParse(t *testing.T) {
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 92+19 {
		t.Errorf("got %d cases, want 92 + 19", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if c.ID == "" || c.Group == "" {
			t.Errorf("case %+v has no id or group", c)
		}
		if seen[c.ID] {
			t.Errorf("duplicate id %q", c.ID)
		}
		seen[c.ID] = true
		if c.Replayable && c.Metric == "" {
			t.Errorf("%s: replayable without a metric", c.ID)
		}
	}
}

// casesByID indexes the folder's cases, and any extra ones, by ID.
func casesByID(t *testing.T, extra ...Case) map[string]Case {
	t.Helper()
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Case{}
	for _, c := range append(cases, extra...) {
		byID[c.ID] = c
	}
	return byID
}

// TestMappingRules pins what the general rules make of a few cases.
func TestMappingRules(t *testing.T) {
	byID := casesByID(t)
	tests := []struct {
		id             string
		tp, pp, dp, mb int
		schedule       parallelism.Schedule
		v              int
		sp             bool
		recompute      string
		zero           int
		metric         Metric
		system         string
		precision      string
		preset         string
		scored         bool
	}{
		// "yes" without a count: largest v in {2,3,4} dividing 60 layers by pp 4 → 3.
		{"sc21-t1-76.1b", 8, 4, 32, 2, parallelism.Interleaved, 3, false, "full", 0, HardwareTFLOPs, "dgx-a100-80gb", "fp16", "gpt-76.1b", true},
		// pp 1: no pipeline schedule to interleave; the micro-batch of the
		// authors' run_table_1.sh.
		{"sc21-t1-1.7b", 1, 1, 32, 16, parallelism.OneFOneB, 1, false, "full", 0, HardwareTFLOPs, "dgx-a100-80gb", "fp16", "gpt-1.7b", true},
		// 80 layers over pp 8: only v = 2 divides.
		{"sc21-t1-145.6b", 8, 8, 24, 2, parallelism.Interleaved, 2, false, "full", 0, HardwareTFLOPs, "dgx-a100-80gb", "fp16", "gpt-145.6b", true},
		{"sc21-t2-zero3-174b-768gpu", 1, 1, 768, 2, parallelism.OneFOneB, 1, false, "full", 3, HardwareTFLOPs, "dgx-a100-80gb", "fp16", "gpt3-175b", true},
		// Numeric iteration_s wins over tflops_per_gpu; the vocab comes from the preset.
		{"megatron-readme-2021-gpt3-175b-1024gpu", 8, 16, 8, 1, parallelism.OneFOneB, 1, false, "full", 0, StepTime, "dgx-a100-80gb", "fp16", "gpt3-175b", true},
		{"korthikanti22-175b-seqpar-selective", 8, 8, 1, 1, parallelism.Interleaved, 3, true, "selective", 0, StepTime, "dgx-a100-80gb", "fp16", "gpt3-175b", true},
		// tflops_per_gpu with an MFU: model FLOP/s; unknown SP with tp > 1 → on; unknown recompute → auto.
		// H100 cases: the distributed optimizer (ZeRO-1).
		{"megatron-readme-2024-h100-70b", 8, 2, 48, 1, parallelism.OneFOneB, 1, true, Auto, 1, ModelTFLOPs, "dgx-h100", "bf16", "megatron-h100-70b", true},
		{"nemo2407-gpt3-175b-512gpu", 4, 8, 16, 2, parallelism.Interleaved, 6, true, Auto, 1, TokensPerGPU, "dgx-h100", "fp8", "gpt3-175b", true},
		// Layout unknown: scored; the layout rule's search picks tp, pp and
		// what else is unknown at replay (layoutsearch.go; its tests in
		// layoutsearch_test.go). Until then the knobs hold what is stated
		// (dp 24 here), else 1. The stated model-parallel size (64) splits
		// into TP 8 inside a node × PP 8 (splitModelParallel).
		{"megatron-readme-2021jan-145b", 8, 8, 24, 1, parallelism.OneFOneB, 1, false, Auto, 0, HardwareTFLOPs, "dgx-a100-80gb", "fp16", "gpt-145.6b", true},
		{"megatron-readme-2024-h100-gpt3-strong-96gpu", 1, 1, 0, 1, parallelism.OneFOneB, 1, false, Auto, 1, MFU, "dgx-h100", "bf16", "gpt3-175b", true},
		// moe-cp.toml: the vp column; "none listed" recompute; FP8-CS; the
		// matching MoE preset supplies the SwiGLU experts.
		{"mbridge-25.11-h100-qwen3-235b-a22b-256gpu", 2, 8, 16, 1, parallelism.Interleaved, 4, true, "none", 1, TokensPerGPU, "dgx-h100", "fp8", "qwen3-235b-a22b", true},
		// Low confidence, with the file's reason.
		{"mbridge-25.11-h100-qwen3-30b-a3b-16gpu", 1, 2, 8, 2, parallelism.Interleaved, 24, false, "none", 1, TokensPerGPU, "dgx-h100", "fp8", "qwen3-30b-a3b", false},
		// "selective modules layernorm, moe_act": those modules
		// (TestRecomputeModulesMapping); B200 → dgx-b200.
		{"mbridge-25.11-b200-gptoss-120b-64gpu", 1, 1, 64, 4, parallelism.OneFOneB, 1, false, "selective", 1, TokensPerGPU, "dgx-b200", "bf16", "gpt-oss-120b", true},
		// NeMo's Llama configurations leave recomputation off (unknown →
		// auto from none); seq_len 131072 is not the preset's: matched
		// without it.
		{"nemo-longseq-h100-llama2-7b-128k-cp4-128gpu", 4, 1, 8, 1, parallelism.OneFOneB, 1, true, Auto, 1, ModelTFLOPs, "dgx-h100", "fp8", "llama2-7b", true},
		// No TP ("none …"), dp from the GPUs, the batch after the ramp,
		// GPU-hours per trillion tokens as tokens/s; MTP depth 1, scored;
		// the schedule DualPipe (moe.overlap on).
		{"deepseek-v3-pretrain-2048xh800", 1, 16, 128, 1, parallelism.DualPipe, 1, false, "selective", 1, TokensPerGPU, "hgx-h800", "fp8", "deepseek-v3", true},
	}
	for _, tc := range tests {
		c, ok := byID[tc.id]
		if !ok {
			t.Errorf("%s: no such case", tc.id)
			continue
		}
		k := c.Knobs
		got := []any{k.TP, k.PP, k.DP, k.Microbatch, k.Schedule, k.VirtualStages, k.SequenceParallel, k.Recompute, k.ZeRO, c.Metric, c.System, string(c.Precision), c.Preset, c.Scored}
		want := []any{tc.tp, tc.pp, tc.dp, tc.mb, tc.schedule, tc.v, tc.sp, tc.recompute, tc.zero, tc.metric, tc.system, tc.precision, tc.preset, tc.scored}
		names := []string{"tp", "pp", "dp", "microbatch", "schedule", "virtual_stages", "sequence_parallel", "recompute", "zero", "metric", "system", "precision", "preset", "scored"}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %s = %v, want %v", tc.id, names[i], got[i], want[i])
			}
		}
	}
	// The expert and context layouts of moe-cp.toml.
	for _, tc := range []struct {
		id             string
		cp, ep, etp    int
		overlap        bool
		batch          int
		replayable     bool
		dense, experts int
	}{
		{"mbridge-25.11-h100-qwen3-235b-a22b-256gpu", 1, 32, 1, true, 2048, true, 0, 128},
		{"mbridge-25.11-h100-llama31-405b-cp2-1024gpu", 2, 1, 1, false, 512, true, 0, 0},
		{"deepseek-v3-pretrain-2048xh800", 1, 64, 1, true, 15360, true, 3, 256},
		// GB200: 256 GPUs are not whole NVL72 domains; Megatron-Bridge's
		// Slurm segments make them 4 racks of 64.
		{"mbridge-25.11-gb200-deepseekv3-bf16-256gpu", 1, 64, 1, false, 4096, true, 3, 256},
	} {
		c, ok := byID[tc.id]
		if !ok {
			t.Errorf("%s: no such case", tc.id)
			continue
		}
		k := c.Knobs
		if c.Replayable != tc.replayable || c.Shape.DenseLayers != tc.dense || c.Shape.Experts != tc.experts {
			t.Errorf("%s: replayable %v dense_layers %d experts %d, want %v %d %d (%s)", tc.id, c.Replayable, c.Shape.DenseLayers, c.Shape.Experts, tc.replayable, tc.dense, tc.experts, c.Why)
		}
		if !tc.replayable {
			continue
		}
		if k.CP != tc.cp || k.EP != tc.ep || k.ETP != tc.etp || k.MoEOverlap != tc.overlap || c.GlobalBatch != tc.batch {
			t.Errorf("%s: cp %d ep %d etp %d overlap %v batch %d, want %d %d %d %v %d", tc.id, k.CP, k.EP, k.ETP, k.MoEOverlap, c.GlobalBatch, tc.cp, tc.ep, tc.etp, tc.overlap, tc.batch)
		}
	}
	// FP8 dispatch (moe.dispatch_fp8) only for DeepSeek's own FP8 run
	// (DualPipe, §3.3.4): no case states a dispatch_precision.
	for id, c := range byID {
		if want := id == "deepseek-v3-pretrain-2048xh800"; c.Replayable && c.Knobs.DispatchFP8 != want {
			t.Errorf("%s: dispatch_fp8 %v, want %v", id, c.Knobs.DispatchFP8, want)
		}
	}
	// Software-era rules, dated by the first year the source names.
	for _, tc := range []struct {
		id                         string
		year                       int
		fusion, fp32, overlapGrads bool
	}{
		{"sc21-t1-1.7b", 2021, false, false, true},   // pp 1: PyTorch DDP
		{"sc21-t1-76.1b", 2021, false, false, false}, // pp 4: Megatron's local DDP
		{"megatron-readme-2021-gpt3-175b-1024gpu", 2021, false, false, false},
		{"sc21-t2-zero3-174b-768gpu", 2021, false, false, true}, // deepspeed-zero3-2021: overlap_comm
		{"korthikanti22-175b-seqpar-selective", 2022, true, true, false},
		{"megatron-readme-2024-h100-70b", 2024, true, true, true},
		{"nemo2407-gpt3-175b-512gpu", 2024, true, false, true}, // nemo-24.07: grad_sync_dtype bf16
	} {
		c := byID[tc.id]
		got := [4]any{c.Year, c.GradAccumFusion, c.FP32Grads, c.Knobs.OverlapGradReduce}
		// Scatter/gather: Megatron-LM on A100 (stacks megatron-lm-2021 and
		// -2022); the January 2021 README predates the SC21 paper.
		if sg := c.Knobs.PPScatterGather; sg != (c.Stack == "megatron-lm-2021" || c.Stack == "megatron-lm-2022") {
			t.Errorf("%s: pp_scatter_gather %v", tc.id, sg)
		}
		if want := [4]any{tc.year, tc.fusion, tc.fp32, tc.overlapGrads}; got != want {
			t.Errorf("%s: year, grad_accum_fusion, fp32_grads, overlap_grad_reduce = %v, want %v", tc.id, got, want)
		}
	}
	// Unknown recompute: the framework's default when it fits, else the
	// least more. NeMo 24.07's default is none (its configurations set
	// activations_checkpoint_granularity null); with its bf16 gradient
	// buffer it fits on 128 GPUs and with micro-batch 2 on 512.
	for id, want := range map[string]string{"nemo2407-gpt3-175b-128gpu": " SP none ZeRO-1", "nemo2407-gpt3-175b-512gpu": " SP none ZeRO-1"} {
		if rs := Evaluate(byID[id]); len(rs) != 1 || !strings.HasSuffix(rs[0].Layout, want) {
			t.Errorf("%s: layout %q, want it to end %q", id, rs[0].Layout, want)
		}
	}
	// Megatron-Core's default is none; the 1.7B model fits without.
	if rs := Evaluate(byID["megatron-readme-2024-h100-1.7b"]); len(rs) != 1 || !strings.HasSuffix(rs[0].Layout, " none ZeRO-1") {
		t.Errorf("megatron-readme-2024-h100-1.7b: layout %q, want recompute none (the least that fits)", rs[0].Layout)
	}
	// The per-layer table: five rows, their policies read from the names.
	rows := byID["korthikanti22-22b-layer-timing"].Rows
	wantRows := map[string]struct {
		r  parallelism.Recompute
		sp bool
	}{
		"baseline_no_recompute":   {parallelism.RecomputeNone, false},
		"sequence_parallel":       {parallelism.RecomputeNone, true},
		"full_recompute":          {parallelism.RecomputeFull, false},
		"selective_recompute":     {parallelism.RecomputeSelective, false},
		"selective_plus_sequence": {parallelism.RecomputeSelective, true},
	}
	if len(rows) != len(wantRows) {
		t.Errorf("layer table: %d rows, want %d", len(rows), len(wantRows))
	}
	for _, r := range rows {
		w, ok := wantRows[r.Name]
		if !ok || w.r != r.Recompute || w.sp != r.SequenceParallel {
			t.Errorf("layer row %s: recompute %s SP %v, want %+v", r.Name, r.Recompute, r.SequenceParallel, w)
		}
	}
}

// TestStacksMapped checks that sim validate's rules map every key of every
// built-in software stack onto a case, and what two stacks give a case that
// states nothing: a stack the rules could not read would leave its cases
// unscored.
func TestStacksMapped(t *testing.T) {
	for _, name := range scenario.StackNames() {
		c := Case{Stack: name, Replayable: true}
		if _, err := (mapper{&c}).applyStack(); err != nil {
			t.Errorf("stack %s: %v", name, err)
		}
	}
	tests := []struct {
		stack                                  string
		overlapGrads, tpOverlap, scatter, fp32 bool
		zero                                   int
		attention                              model.Attention
		recompute                              string
	}{
		{"megatron-lm-2021-01", false, false, false, false, 0, model.AttentionUnfused, "none"},
		{"nemo-24.07", true, true, false, false, 1, model.AttentionFlash, "none"},
		// DeepSpeed's pipeline engine partitions its sends over the TP group.
		{"megatron-deepspeed", false, false, true, false, 0, model.AttentionUnfused, "none"},
		// PyTorch FSDP: ZeRO-3 with overlapped per-block reduce-scatters.
		{"pytorch-fsdp", true, false, false, true, 3, model.AttentionFlash, "none"},
	}
	for _, tc := range tests {
		c := Case{Stack: tc.stack, Replayable: true}
		if _, err := (mapper{&c}).applyStack(); err != nil {
			t.Fatalf("stack %s: %v", tc.stack, err)
		}
		k := c.Knobs
		got := []any{k.OverlapGradReduce, k.TPOverlap, k.PPScatterGather, c.FP32Grads, k.ZeRO, c.Attention, c.RecomputeDefault}
		want := []any{tc.overlapGrads, tc.tpOverlap, tc.scatter, tc.fp32, tc.zero, tc.attention, tc.recompute}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("stack %s: field %d = %v, want %v", tc.stack, i, got[i], want[i])
			}
		}
	}
}

// TestStackSequenceParallel checks that a source leaving sequence
// parallelism unknown gets its stack's default (Megatron-DeepSpeed had none)
// and otherwise tp > 1, and that a stated value wins over the stack.
func TestStackSequenceParallel(t *testing.T) {
	for _, tc := range []struct {
		stack   string
		unknown bool
		stated  bool
		want    bool
	}{
		{"megatron-deepspeed", true, true, false},
		{"megatron-deepspeed", false, true, true},
		{"megatron-lm-2022", true, true, true},
	} {
		c := Case{Stack: tc.stack, Replayable: true, spUnknown: tc.unknown}
		c.Knobs.TP, c.Knobs.SequenceParallel = 4, tc.stated
		if _, err := (mapper{&c}).applyStack(); err != nil {
			t.Fatalf("%s: %v", tc.stack, err)
		}
		if c.Knobs.SequenceParallel != tc.want {
			t.Errorf("stack %s, unknown %v: sequence_parallel %v, want %v", tc.stack, tc.unknown, c.Knobs.SequenceParallel, tc.want)
		}
	}
}

// maxMAE records each group's mean absolute error, in percent, as measured
// when the test was written, rounded up to the next 0.5 point. These levels
// may only go down: lower one when the model improves, never raise one to
// make a change pass. SC21 Table 1's level was re-recorded (5.0 → 8.5) when
// the case data changed, not the model: the cases now carry the authors'
// own micro-batches and interleaving (examples/sc21/run_table_1.sh) instead
// of "unknown" (replayed as 1). vTrain's group was added with the data.
// Branch dense5 lowered SC21 Table 1 8.5 → 7.5, Table 2 50.0 → 49.5,
// Korthikanti Table 4 2.0 → 1.5 (NCCL's measured all-reduce inside A100
// nodes, collective.A100AllReduce) and README-2021 11.5 → 8.0 (that, its
// stated model-parallel sizes split TP inside a node × PP across, and
// January 2021's local DDP with several micro-batches per step: 7.9%).
// Branch dense6 lowered SC21 Table 1 7.5 → 5.0, Table 2 49.5 → 49.0,
// README-2021 8.0 → 5.0, Korthikanti Table 5 3.0 → 2.5 and the overall
// level 11.5 → 11.0: the Megatron-LM stacks' unmerged element-wise kernels
// (training.megatron_elementwise) and, for megatron-lm-2022, the
// asynchronous input-gradient all-reduce (parallelism.async_tp_allreduce):
// 4.9%, 48.9%, 4.8%, 2.2%, 10.6% (Table 4: 1.3%).
// vTrain's level was RAISED 5.0 → 5.5 at that merge, the one exception to
// "only down", and on purpose: Megatron-DeepSpeed runs the same layer, so
// the megatron-deepspeed stack sets the same kernels. Leaving them out only
// because this visible group rose 4.7 → 5.2% would tune the stack list to
// the visible cases, while the Megatron-DeepSpeed runs kept apart improve
// with them (held-out megatron-deepspeed 14.6 → 13.3%, vtrain-extra 8.8 →
// 8.3%, bias −8.3 → −5.6%); docs/model.md §7.15 has both columns.
// Branch a100dense lowered SC21 Table 1 5.0 → 2.5 and README-2021 5.0 →
// 2.5 and the overall level 10.5 → 10.0: the 2021 stacks' PyTorch kernels
// at the HBM share SC21's fusion experiment gives
// (training.eager_hbm_fraction 0.51, model.md §7.24): 2.0%, 2.5%, 9.8%;
// Table 2 48.7 → 49.0% (its PTD rows −3.6…+0.8%), inside its level.
// Branch zero3 lowered SC21 Table 2 49.0 → 12.0 and the overall level
// 10.0 → 6.5: DeepSpeed 2021's per-rank host loops in every ZeRO-3 gather
// and reduce-scatter and the persistent tensors' re-gather after each step
// (parallelism.zero3_rank_loops, set by the deepspeed-zero3-2021 stack,
// docs/model.md §7.48): 11.6% (−8.7%), overall 5.9%; no other group moves.
var maxMAE = map[string]float64{
	"Narayanan2021-SC21-Table1": 2.5,
	"vTrain-ground-truth-multi": 5.5,
	"Narayanan2021-SC21-Table2": 12.0,
	// The two README groups were re-recorded when their case set grew, not
	// the model: the layout rule (the search's fastest layout where tp or
	// pp is unknown) made the ten January-2021 rows and the two GPT-3
	// strong-scaling rows scored. README-2021: 5.5 → 11.5 (1 → 11 scored,
	// 11.2%); README-2024-H100: 8.0 → 10.5 (9 → 11 scored, 10.4%), then
	// 10.5 → 10.0 (9.6%) by the Megatron-Core layer's residual-gradient
	// adds and bias gradients and the embedding's dense gradient (model.md
	// §7.22), then 10.0 → 9.6 (9.5%) by the GPT presets' attention
	// dropout, learned positions and embedding dropout (model.md §7.28),
	// then 9.6 → 9.5 (9.4%) by XLA's measured Hopper all-reduce and
	// all-to-all (collective.HopperCollectives, model.md §7.37).
	"Megatron-LM-README-2021":      2.5,
	"Megatron-LM-README-2024-H100": 9.5,
	"Korthikanti2022-Table5":       2.5,
	"Korthikanti2022-Table4":       1.5,
	// NeMo's three H100 groups lowered (19.0 → 11.0, 14.5 → 7.0, 5.0 → 4.0)
	// by the nemo-24.07 stack's bf16 gradient reduction and no default
	// recomputation (NeMo-Framework-Launcher 24.07) with the Hopper FP8
	// slowdown calibrated on NVIDIA's BF16/FP8 pairs (11.0%, 6.9%, 3.5%);
	// then 11.0 → 10.0 (9.8%) and 7.0 → 6.0 (5.9%) by the Megatron-Core
	// layer's residual-gradient adds and bias gradients and the embedding's
	// dense gradient (model.md §7.22); then 10.0 → 9.7 (9.6%) by the GPT
	// presets' attention dropout, learned positions, embedding dropout and
	// tied output layer (model.md §7.28); then 9.7 → 9.3 (9.2%) by XLA's
	// measured Hopper all-reduce and all-to-all (model.md §7.37).
	"NeMo-24.07-perf-summary": 9.3,
	// moe-cp.toml's groups, recorded when the file was folded in. The
	// overall level was re-recorded then (12.0 → 13.0): the case set grew;
	// then lowered to 12.5 (the megatron-deepspeed stack: vTrain 6.2 → 4.6),
	// then to 12.0 (the MoE dispatcher and grouped GEMM host cost: 11.8).
	// MegatronBridge-25.11 lowered 35.0 → 33.5 by the MoE FP8 casts, then
	// 33.5 → 31.0 by the all-to-all dispatcher's second permutation and
	// token-count all-gather (30.9%), then 31.0 → 29.0 by the host cost of
	// the grouped GEMM's per-expert calls (28.8%), then 29.0 → 26.5 by the
	// per-expert FP8 quantisation of the MXFP8 and FP8-CS recipes (26.1%),
	// then 26.5 → 25.5 by the router's and dispatcher's kernel counts (25.4%),
	// then 25.5 → 22.5 when the two GB200 DeepSeek-V3 rows became scored
	// (Megatron-Bridge's Slurm segments give their NVLink domain: 22.2%),
	// then 22.5 → 16.5 by the host cost of the Transformer Engine stacks
	// (training.host_issue 27 µs, TransformerEngine issue #2053) and the
	// per-parameter backward bookkeeping (16.4%). Re-recorded 16.5 → 19.0
	// when the case set grew, not to pass a change: multi-token prediction
	// and pipeline layouts made the B200 DeepSeek-V3 "w/ MTP" row scored
	// (+34.9% with the host cost), 7 → 8 scored (18.9%). DeepSeek-V3 was
	// recorded (0 → 39.5) when its one case became scored (−39.3%; DualPipe
	// replayed as 1f1b); 39.5 → 12.5 when DualPipe became a schedule of
	// its own (−12.2%), then 12.5 → 3.5 with its FP8 dispatch
	// (moe.dispatch_fp8, §3.3.4: +2.9%), then 3.5 → 2.5 with its published
	// recomputation read as recompute_modules layernorm, mla_up_proj (§3.2.4:
	// +1.8%, and it fits). Overall 12.0 → 11.5 (118 scored,
	// 11.2%), then 11.0 (10.8%), then 10.5 (10.4% with DualPipe and FP8
	// dispatch).
	// Branch moe6's recompute_modules moved MegatronBridge-25.11 18.9 →
	// 18.7%; its edits of the case data (the B200 GPT-OSS row's EP 64, the
	// GB200 rows' mla_up_proj, the GPT-OSS rows' "none") were reverted at
	// the merge, so the level stays 19.0 (docs/model.md §7.17 has the
	// numbers with them: 13.9%). Then 19.0 → 18.7 by the GPT-OSS experts'
	// bias kernels (TEGroupedMLP._apply_bias, docs/model.md §7.29: 18.6%).
	// Branch a2anvl lowered it 18.7 → 17.5 by NCCL's measured all-to-all on
	// NVLink 5 (collective.NVLink5AllToAll, docs/model.md §7.31: 17.4%).
	// Branch h100coll lowered it 17.5 → 17.4, NeMo-24.07-H100 6.0 → 5.2
	// and NeMo-LongSeq-CP-H100 3.5 → 3.4 by XLA's measured Hopper
	// all-reduce and all-to-all (collective.HopperCollectives,
	// docs/model.md §7.37: 17.3%, 5.1%, 3.3%).
	// RAISED 17.4 → 18.0 by branch swa, on purpose: sliding-window
	// attention on GPT-OSS's alternate layers (model.window 128,
	// model.global_every 2; docs/model.md §7.42) is the published
	// architecture, not a fitted mechanism, and removes work, so the two
	// over-predicted GPT-OSS rows rise (B200 +47.2 → +51.9%): 17.3 →
	// 17.9% (+15.4%), raised by that measured 0.6.
	// Branch swatile lowered it 18.0 → 17.9: the windowed flash kernel
	// priced at the tiles it computes (compute.Model.windowedFlash,
	// docs/model.md §7.44: 17.8%, +15.3%).
	// Branch moesync lowered it 17.9 → 17.7: the host's synchronisation
	// before each MoE layer's dispatch (model.Config.DispatchSync,
	// docs/model.md §7.47: 17.6%, +15.1%).
	// Branch bwgemm lowered it 17.7 → 14.7 and the overall level 6.5 → 6.0:
	// Blackwell's GEMMPeakFraction 0.59 from XLA's measured B200 GEMM table
	// by Hopper's relation to its own (compute.blackwellGEMMPeakFraction,
	// docs/model.md §7.58: 14.6%, +9.4%; overall 5.7%).
	"MegatronBridge-25.11":               14.7,
	"NeMo-24.07-H100":                    5.2,
	"NeMo-LongSeq-CP-H100":               3.4,
	"DeepSeek-V3":                        2.5,
	"overall":                            6.0,
	MemoryGroup + " (GiB, Fig. 1)":       0.5,
	MemoryGroup + " (% of none, Fig. 7)": 0.5,
}

// minScored records how many results each group scores; a drop means cases
// stopped replaying.
var minScored = map[string]int{
	"Narayanan2021-SC21-Table1":    10,
	"Narayanan2021-SC21-Table2":    12,
	"Megatron-LM-README-2021":      11,
	"Megatron-LM-README-2024-H100": 11,
	"Korthikanti2022-Table5":       9,
	"Korthikanti2022-Table4":       10,
	"NeMo-24.07-perf-summary":      2,
	"vTrain-ground-truth-multi":    36,
	"MegatronBridge-25.11":         8,
	"NeMo-24.07-H100":              2,
	"NeMo-LongSeq-CP-H100":         6,
	"DeepSeek-V3":                  1,
	"overall":                      118,
}

// TestRegression replays every case and fails when a group's error grows
// past its recorded level or fewer results are scored.
func TestRegression(t *testing.T) {
	rep, err := Build(Options{Workers: runtime.NumCPU()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Why, "replay failed") {
			t.Errorf("%s: %s", r.label(), r.Why)
		}
		if r.Replayed && (math.IsNaN(r.Predicted) || math.IsInf(r.Predicted, 0) || r.Predicted <= 0) {
			t.Errorf("%s: prediction %v", r.label(), r.Predicted)
		}
	}
	summaries := append(append([]Summary{}, rep.Groups...), rep.Overall, rep.Memory.Absolute, rep.Memory.Relative)
	seen := map[string]bool{}
	for _, s := range summaries {
		seen[s.Group] = true
		limit, ok := maxMAE[s.Group]
		if !ok {
			t.Errorf("group %s has no recorded level (MAE now %.2f%%, %d scored): add it", s.Group, s.MAEPct, s.Scored)
			continue
		}
		if s.MAEPct > limit {
			t.Errorf("%s: MAE %.2f%% exceeds the recorded %.1f%% (worst %s at %+.1f%%)", s.Group, s.MAEPct, limit, s.Worst, s.WorstPct)
		}
		if n, ok := minScored[s.Group]; ok && s.Scored < n {
			t.Errorf("%s: %d results scored, fewer than the recorded %d", s.Group, s.Scored, n)
		}
		t.Logf("%-45s n=%2d MAE %6.2f%% bias %+7.2f%%", s.Group, s.Scored, s.MAEPct, s.BiasPct)
	}
	for g := range maxMAE {
		if !seen[g] {
			t.Errorf("recorded group %s is no longer reported", g)
		}
	}
}

// TestDeterministic checks that two runs print the same bytes, whatever the
// worker pool's scheduling.
func TestDeterministic(t *testing.T) {
	var outs [2]string
	for i, workers := range []int{runtime.NumCPU(), 1} {
		rep, err := Build(Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteJSON(&b, rep); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&b, rep); err != nil {
			t.Fatal(err)
		}
		if err := WriteText(&b, rep); err != nil {
			t.Fatal(err)
		}
		outs[i] = b.String()
	}
	if outs[0] != outs[1] {
		t.Error("two runs of the same cases gave different output")
	}
}

// TestScenarioIsLoadable checks that a scenario text the harness writes is
// one a user could run: it round-trips through scenario.Load and Validate.
func TestScenarioIsLoadable(t *testing.T) {
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.Replayable {
			continue
		}
		k := c.Knobs
		if c.free != nil {
			// The layout rule's pick, as the replay uses it.
			if k, _, _, err = c.pickLayout(); err != nil {
				t.Errorf("%s: %v", c.ID, err)
				continue
			}
		}
		if k.Recompute == Auto {
			k.Recompute = string(parallelism.RecomputeFull)
		}
		sc, _, err := c.load(k)
		if err != nil {
			t.Errorf("%s: %v\n%s", c.ID, err, c.Scenario(k))
			continue
		}
		l := sc.Job.Layout
		if l.TP != k.TP || l.PP != k.PP || l.DP != k.DP || l.VirtualStages != k.VirtualStages || string(l.Recompute) != k.Recompute {
			t.Errorf("%s: loaded layout %+v differs from %+v", c.ID, l, k)
		}
	}
}

// TestUnknownGroup checks that Build refuses a group it does not know.
func TestUnknownGroup(t *testing.T) {
	if _, err := Build(Options{Group: "no-such-group", Workers: 1}); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("unknown group: got %v, want ErrUnknownGroup", err)
	}
}

// TestFP8RecipeRule: the precision rule reads the FP8 recipe the source
// names (FP8-MX → mxfp8, FP8-CS → tensorwise, DeepSeek-V3's 1×128 /
// 128×128 blocks → blockwise) and leaves it to the default (delayed) where
// it names none; the replayed scenario says it.
func TestFP8RecipeRule(t *testing.T) {
	for _, tc := range []struct {
		precision string
		want      model.FP8Recipe
	}{
		{"FP8-MX (per table)", model.FP8MX},
		{"FP8-MX (MXFP8, per table)", model.FP8MX},
		{"FP8-CS (per table)", model.FP8Tensorwise},
		{"FP8-CS (alt FP8-MX)", model.FP8Tensorwise},
		{"FP8 mixed precision (1x128 tile / 128x128 block quantization; BF16/FP32 for sensitive ops)", model.FP8Blockwise},
		{"FP8 (table caption)", ""},
		{"BF16 (per table)", ""},
	} {
		c := Case{Generation: "h100"}
		(mapper{&c}).precision(tc.precision)
		if c.FP8Recipe != tc.want {
			t.Errorf("%q: recipe %q, want %q", tc.precision, c.FP8Recipe, tc.want)
		}
	}
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.ID == "mbridge-25.11-b200-qwen3-235b-a22b-64gpu" {
			if src := string(c.Scenario(c.Knobs)); !strings.Contains(src, `fp8_recipe = "mxfp8"`) {
				t.Errorf("%s: scenario without the mxfp8 recipe:\n%s", c.ID, src)
			}
			return
		}
	}
	t.Error("case mbridge-25.11-b200-qwen3-235b-a22b-64gpu not found")
}

// TestGB200Segments: a GB200 run of Megatron-Bridge's or NeMo's (release
// 25.04 or later) performance scripts on 4-GPU nodes that are not whole
// NVL72 racks gets the NVLink domain their Slurm executor asks for: the
// node count up to 18 nodes, else its largest divisor up to 18 (64 nodes →
// 16, 40 → 10, 38 → 2, 10 → 10, 16 → 16); other sources (NeMo before
// 25.04, whose scripts asked for no segment), other node sizes and partial
// nodes get none (not replayed).
func TestGB200Segments(t *testing.T) {
	const mb = "NVIDIA-NeMo/Megatron-Bridge docs/performance-summary.md"
	const nemo2504 = "NVIDIA NeMo Framework User Guide, Performance page, release NeMo 25.04"
	for _, tc := range []struct {
		source  string
		gpus    int
		perNode any
		want    int
	}{
		{mb, 256, int64(4), 64}, {mb, 160, int64(4), 40}, {mb, 152, int64(4), 8}, {mb, 40, int64(4), 40},
		{"NeMo performance summary", 256, int64(4), 0}, {mb, 256, int64(8), 0}, {mb, 256, nil, 0}, {mb, 258, int64(4), 0},
		{nemo2504, 256, int64(4), 64}, {nemo2504, 64, int64(4), 64}, {"User Guide, release NeMo 25.07", 160, int64(4), 40},
		{"User Guide, release NeMo 25.02", 256, int64(4), 0}, {"NeMo 24.07 perf summary", 64, int64(4), 0}, {nemo2504, 64, int64(8), 0},
	} {
		if got := perfScriptGB200Domain(tc.source, tc.gpus, tc.perNode); got != tc.want {
			t.Errorf("%q %d GPUs, %v per node: domain %d, want %d", tc.source, tc.gpus, tc.perNode, got, tc.want)
		}
	}
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.ID != "mbridge-25.11-gb200-deepseekv3-fp8mx-256gpu" {
			continue
		}
		src := string(c.Scenario(c.Knobs))
		if c.Nodes != 4 || !strings.Contains(src, "gpus_per_node = 64") || !strings.Contains(src, "nics_per_node = 64") {
			t.Errorf("%s: %d nodes, scenario:\n%s", c.ID, c.Nodes, src)
		}
		return
	}
	t.Error("GB200 FP8-MX case not found")
}

// TestMTPAndRecipeLayouts: the DeepSeek-V3 rows get their MTP depth from
// the row and, for Megatron-Bridge, the recipe's pipeline layout for their
// (pp, vp) (deepseek_v3.py @ 5776a6d9), written out by hand here.
func TestMTPAndRecipeLayouts(t *testing.T) {
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	stages := func(first, middle, last string, n int) string {
		s := []string{first}
		for range n - 2 {
			s = append(s, middle)
		}
		return strings.Join(append(s, last), "|")
	}
	for _, tc := range []struct {
		id     string
		mtp    int
		layout string
	}{
		// pp 16: [E + 4] + 14 × [4] + [1 + mtp + loss].
		{"mbridge-25.11-b200-deepseekv3-mtp-256gpu", 1, stages("Etttt", "tttt", "tmL", 16)},
		// pp 4, vp 4 (16 virtual stages), w/o MTP.
		{"mbridge-25.11-gb200-deepseekv3-bf16-256gpu", 0, stages("Etttt", "tttt", "tL", 16)},
		// pp 8, vp 4: not in the recipe's table → the remainder rule.
		{"mbridge-25.11-gb200-deepseekv3-fp8mx-256gpu", 0, ""},
		// Not Megatron-Bridge: the remainder rule, MTP depth 1 (the paper's).
		{"deepseek-v3-pretrain-2048xh800", 1, ""},
	} {
		found := false
		for _, c := range cases {
			if c.ID != tc.id {
				continue
			}
			found = true
			if c.Shape.MTPDepth != tc.mtp || c.Knobs.PipelineLayout != tc.layout || !c.Scored || !c.Replayable {
				t.Errorf("%s: mtp %d, layout %q, scored %v (%s); want mtp %d, layout %q, scored", tc.id, c.Shape.MTPDepth, c.Knobs.PipelineLayout, c.Scored, c.Why, tc.mtp, tc.layout)
			}
			sc := string(c.Scenario(c.Knobs))
			if tc.layout != "" && !strings.Contains(sc, fmt.Sprintf("pipeline_layout = %q", tc.layout)) || tc.mtp > 0 && !strings.Contains(sc, fmt.Sprintf("mtp_depth = %d", tc.mtp)) {
				t.Errorf("%s: the scenario does not carry the layout and MTP depth:\n%s", tc.id, sc)
			}
		}
		if !found {
			t.Errorf("no case %s", tc.id)
		}
	}
}

// TestSplitModelParallel checks the split of a stated model-parallel size
// (tp and pp unknown) into tensor parallelism up to a node and pipeline
// parallelism across nodes, worked by hand: tp the largest power of two
// dividing the size and the heads, at most the node's GPUs; pp the rest,
// which must divide the layers.
func TestSplitModelParallel(t *testing.T) {
	tests := []struct {
		mp, heads, layers, node int
		tp, pp                  int
		ok                      bool
	}{
		{1, 24, 24, 0, 1, 1, true},      // README 2021 1.7B
		{2, 32, 30, 0, 2, 1, true},      // 3.6B
		{8, 48, 40, 0, 8, 1, true},      // 18B
		{16, 64, 48, 0, 8, 2, true},     // 39B
		{144, 128, 90, 0, 8, 18, true},  // 291B
		{280, 128, 105, 0, 8, 35, true}, // 530B
		{512, 160, 128, 0, 8, 64, true}, // 1T
		{16, 64, 48, 4, 4, 4, true},     // 4-GPU nodes
		{8, 20, 40, 0, 4, 2, true},      // 20 heads: not over 8
		{12, 24, 24, 0, 4, 3, true},     // 12 = 4 × 3
		{16, 64, 45, 0, 8, 2, false},    // 45 layers over 2 stages
		{0, 64, 48, 0, 0, 0, false},     // no size
	}
	for _, tc := range tests {
		c := Case{System: "dgx-a100-80gb", GPUsPerNode: tc.node, Shape: Shape{Heads: tc.heads, Layers: tc.layers}}
		tp, pp, ok := mapper{&c}.splitModelParallel(tc.mp)
		if ok != tc.ok || ok && (tp != tc.tp || pp != tc.pp) {
			t.Errorf("mp %d, %d heads, %d layers, node %d: TP %d PP %d (%v), want TP %d PP %d (%v)", tc.mp, tc.heads, tc.layers, tc.node, tp, pp, ok, tc.tp, tc.pp, tc.ok)
		}
	}
}

// TestUsesMTP: which rows train an MTP module, and at what depth.
func TestUsesMTP(t *testing.T) {
	for _, tc := range []struct {
		notes string
		mtp   any
		uses  bool
		depth int
	}{
		{"row 'DeepSeekV3 (w/ MTP)'", nil, true, 1},
		{"row 'DeepSeekV3 (w/o MTP)'", "MTP depth 1 in the paper", false, 0},
		{"", "MTP depth 1 in the paper", true, 1},
		{"", "depth 2", true, 2},
		{"", int64(3), true, 3},
		{"", int64(0), false, 0},
		{"", false, false, 0},
		{"", "disabled", false, 0},
		{"", "none", false, 0},
		{"", "no MTP in this run", false, 0},
		{"", "depth 0", false, 0},
		{"", nil, false, 0},
	} {
		r := rawCase{Notes: tc.notes, Model: map[string]any{}}
		if tc.mtp != nil {
			r.Model["mtp"] = tc.mtp
		}
		if got := usesMTP(r); got != tc.uses {
			t.Errorf("notes %q mtp %v: usesMTP %v, want %v", tc.notes, tc.mtp, got, tc.uses)
			continue
		}
		if !tc.uses {
			continue
		}
		c := Case{}
		mapper{&c}.mtp(r.Model["mtp"])
		if c.Shape.MTPDepth != tc.depth {
			t.Errorf("notes %q mtp %v: depth %d, want %d", tc.notes, tc.mtp, c.Shape.MTPDepth, tc.depth)
		}
	}
}

// TestJanuary2021DDP checks the data-parallel overlap rule at pp 1 on
// Megatron-LM's stacks: PyTorch DDP (overlapped gradient reduction) for the
// SC21 software; for the January 2021 software only where a step has one
// micro-batch (megatron/training.py@152aab304d asserts local DDP whenever
// there are more), for stated layouts and for the layout rule's pick alike.
func TestJanuary2021DDP(t *testing.T) {
	doc := func(date string, tp, mb, gb string) string {
		return `[[case]]
id = "x"
group = "g"
confidence = "high"
source = "NVIDIA/Megatron-LM README (` + date + `)"
[case.model]
name = "GPT 1.7B"
layers = 24
hidden = 2304
heads = 24
seq_len = 2048
vocab = 51200
[case.hardware]
gpu = "A100 80GB"
gpus = 32
[case.parallelism]
tp = ` + tp + `
pp = ` + tp + `
dp = 32
microbatch = ` + mb + `
global_batch = ` + gb + `
recompute = "full"
sequence_parallel = false
precision = "fp16"
[case.measured]
tflops_per_gpu = 137
`
	}
	tests := []struct {
		name, date, tp, mb, gb string
		want                   bool
	}{
		{"Jan 2021, 8 micro-batches", "2021-01-11", "1", "2", "512", false},
		{"Jan 2021, one micro-batch", "2021-01-11", "1", "16", "512", true},
		{"SC21 software, 8 micro-batches", "2021-08-18", "1", "2", "512", true},
		{"Jan 2021, layout rule", "2021-01-11", `"unknown"`, "2", "512", false},
		{"Jan 2021, layout rule, one micro-batch", "2021-01-11", `"unknown"`, "16", "512", true},
	}
	for _, tc := range tests {
		cases, err := ParseCases("x.toml", []byte(doc(tc.date, tc.tp, tc.mb, tc.gb)))
		if err != nil || len(cases) != 1 {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := cases[0]
		if !c.Replayable {
			t.Fatalf("%s: not replayable: %s", tc.name, c.Why)
		}
		k := c.Knobs
		if c.free != nil {
			if k, _, _, err = c.pickLayout(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if k.PP != 1 {
				t.Fatalf("%s: picked PP %d, the test wants pp 1", tc.name, k.PP)
			}
		}
		if k.OverlapGradReduce != tc.want {
			t.Errorf("%s: overlap_grad_reduce %v, want %v (%s)", tc.name, k.OverlapGradReduce, tc.want, k)
		}
	}
}

// TestRecomputeModulesMapping: Megatron-Core's module names in a case's
// recompute field become selective recomputation of those modules (and the
// scenario says so); DeepSeek's own description of its framework keeps the
// earlier reading, none; a recompute the table leaves unknown stays the
// stack's default. (Branch moe6 found the GPT-OSS configurations set no
// selective granularity, so those runs recomputed nothing; the case data
// say the modules, and the rules read the data as published.)
func TestRecomputeModulesMapping(t *testing.T) {
	src, err := os.ReadFile("heldout/mbridge-dsv3-mtp.toml")
	if err != nil {
		t.Fatal(err)
	}
	heldout, err := ParseCases("heldout/mbridge-dsv3-mtp.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	byID := casesByID(t, heldout...)
	for _, tc := range []struct {
		id, recompute, modules string
		ep                     int
	}{
		// GPT-OSS: the modules the case lists, and its stated EP 8.
		{"mbridge-25.11-b200-gptoss-120b-64gpu", "selective", "layernorm, moe_act", 8},
		{"mbridge-25.11-h100-gptoss-120b-64gpu", "selective", "layernorm, moe_act", 8},
		{"mbridge-25.11-b200-deepseekv3-mtp-256gpu", "selective", "mla_up_proj", 8},
		// Recompute "unknown" in the table: the stack's default.
		{"mbridge-25.11-gb200-deepseekv3-bf16-256gpu", "auto", "", 64},
		{"mbridge-25.11-gb200-deepseekv3-fp8mx-256gpu", "auto", "", 32},
		// DeepSeek's own words (§3.2.4): every RMSNorm and the MLA
		// up-projections.
		{"deepseek-v3-pretrain-2048xh800", "selective", "layernorm, mla_up_proj", 64},
		// "mla_up_proj, mlp": the dense layers' MLP checkpointed whole too.
		{"mbridge-26.04.01-b200-deepseekv3-mtp-256gpu-pp8vp2-ep32", "selective", "mla_up_proj, mlp", 32},
		// The modules its run script set (run_script.py @ af6bc366; the
		// row read "selective" with no modules, the YAML's, before §7.25).
		{"mbridge-25.09-h100-deepseekv3-mtp-1024gpu-dropless", "selective", "mla_up_proj, mlp", 64},
	} {
		c, ok := byID[tc.id]
		if !ok {
			t.Errorf("%s: no such case", tc.id)
			continue
		}
		if c.Knobs.Recompute != tc.recompute || c.Knobs.RecomputeModules != tc.modules || c.Knobs.EP != tc.ep {
			t.Errorf("%s: recompute %q modules %q ep %d, want %q %q %d", tc.id, c.Knobs.Recompute, c.Knobs.RecomputeModules, c.Knobs.EP, tc.recompute, tc.modules, tc.ep)
		}
		if tc.modules != "" && !strings.Contains(string(c.Scenario(c.Knobs)), "recompute_modules = \""+tc.modules+"\"") {
			t.Errorf("%s: the scenario does not carry recompute_modules %q", tc.id, tc.modules)
		}
	}
}
