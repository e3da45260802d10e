package validation

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// fsdpCase is a one-case file in published.toml's format whose source,
// parallelism table and precision the tests below vary.
func fsdpCase(source, parallelism, precision string) string {
	return `[[case]]
id = "x"
group = "g"
confidence = "high"
source = "` + source + `"
[case.model]
name = "MPT 7B"
layers = 32
hidden = 4096
heads = 32
ffn_hidden = 16384
seq_len = 2048
vocab = 50368
[case.hardware]
gpu = "A100 80GB"
gpus = 8
[case.parallelism]
tp = 1
pp = 1
dp = 8
microbatch = 6
global_batch = 96
recompute = "none"
sequence_parallel = false
precision = "` + precision + `"
` + parallelism + `
[case.measured]
tokens_per_s_per_gpu = 4641
`
}

// TestFSDPRules: PyTorch FSDP's words for the sharding (FULL_SHARD,
// fully_shard, FSDP, SHARD_GRAD_OP, NO_SHARD, in zero or
// sharding_strategy) give the ZeRO stage and the pytorch-fsdp stack, as a
// source naming torchtitan, llm-foundry or Composer does; hybrid sharding
// is not replayed; Composer's PURE mixed precision reduces in 16 bit,
// DEFAULT in fp32; torchtitan without torch.compile runs its eager
// element-wise kernels.
func TestFSDPRules(t *testing.T) {
	tests := []struct {
		name, source, par, precision string
		scored                       bool
		zero                         int
		stack                        string
		fp32Reduce, fp32Grads, eager bool
	}{
		{"full shard", "Some 2024 report", `zero = "FSDP FULL_SHARD"`, "amp_bf16", true, 3, "pytorch-fsdp", true, true, false},
		{"sharding_strategy field", "Some 2024 report", `sharding_strategy = "FULL_SHARD"`, "bf16", true, 3, "pytorch-fsdp", true, true, false},
		{"fully_shard", "Some 2024 report", `zero = "FSDP2 fully_shard"`, "bf16", true, 3, "pytorch-fsdp", true, true, false},
		{"FSDP alone", "Some 2024 report", `zero = "FSDP"`, "bf16", true, 3, "pytorch-fsdp", true, true, false},
		{"shard grad op", "Some 2024 report", `zero = "FSDP SHARD_GRAD_OP"`, "bf16", true, 2, "pytorch-fsdp", true, true, false},
		{"no shard", "Some 2024 report", `sharding_strategy = "NO_SHARD"`, "bf16", true, 0, "pytorch-fsdp", true, true, false},
		{"hybrid", "Some 2024 report", `sharding_strategy = "HYBRID_SHARD"`, "bf16", false, 0, "", false, false, false},
		{"HSDP", "Some 2024 report", `zero = "HSDP (replicate 2 × shard 4)"`, "bf16", false, 0, "", false, false, false},
		{"PURE", "mosaicml/llm-foundry 2023 benchmarks", "zero = \"FSDP FULL_SHARD\"\nfsdp_mixed_precision = \"PURE\"", "bf16", true, 3, "pytorch-fsdp", false, false, false},
		{"DEFAULT", "mosaicml/llm-foundry 2023 benchmarks", "zero = \"FSDP FULL_SHARD\"\nfsdp_mixed_precision = \"DEFAULT\"", "amp_bf16", true, 3, "pytorch-fsdp", true, true, false},
		{"source names torchtitan", "pytorch/torchtitan 2024-12 benchmarks", `zero = "unknown"`, "bf16", true, 3, "pytorch-fsdp", true, true, true},
		{"torchtitan compiled", "pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = true", "bf16", true, 3, "pytorch-fsdp", true, true, false},
		{"torchtitan compile false", "pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = false", "bf16", true, 3, "pytorch-fsdp", true, true, true},
		// compile as an integer, as mtp and interleave read integers: 1 on, 0 off.
		{"torchtitan compile 1", "pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = 1", "bf16", true, 3, "pytorch-fsdp", true, true, false},
		{"torchtitan compile 0", "pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = 0", "bf16", true, 3, "pytorch-fsdp", true, true, true},
		{"torchtitan compile \"1\"", "pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = \"1\"", "bf16", true, 3, "pytorch-fsdp", true, true, false},
		{"torchtitan compile \"yes (Inductor)\"", "pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = \"yes (Inductor)\"", "bf16", true, 3, "pytorch-fsdp", true, true, false},
		// Another integer is no flag: unknown, torchtitan's default (eager), said.
		{"torchtitan compile 2", "pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = 2", "bf16", true, 3, "pytorch-fsdp", true, true, true},
		{"Composer named", "MosaicML Composer 2023", `zero = "unknown"`, "bf16", true, 3, "pytorch-fsdp", true, true, false},
		// Not FSDP: a ZeRO stage in DeepSpeed's words keeps its stack.
		{"DeepSpeed ZeRO-3", "Some 2024 report", `zero = "ZeRO-3"`, "bf16", true, 3, "megatron-lm-2022", false, true, false},
		{"distributed optimizer words", "Some 2024 report", `zero = "distributed optimizer"`, "bf16", true, 0, "megatron-lm-2022", false, true, false},
	}
	for _, tc := range tests {
		cases, err := ParseCases("f.toml", []byte(fsdpCase(tc.source, tc.par, tc.precision)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := cases[0]
		if c.Scored != tc.scored {
			t.Errorf("%s: scored %v (%s), want %v", tc.name, c.Scored, c.Why, tc.scored)
			continue
		}
		if !tc.scored {
			if !strings.Contains(c.Why, "hybrid sharding") {
				t.Errorf("%s: why %q, want it to name hybrid sharding", tc.name, c.Why)
			}
			continue
		}
		k := c.Knobs
		got := []any{k.ZeRO, c.Stack, k.ZeROFP32Reduce, c.FP32Grads, c.Eager}
		want := []any{tc.zero, tc.stack, tc.fp32Reduce, tc.fp32Grads, tc.eager}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: field %d = %v, want %v (assumed %q)", tc.name, i, got[i], want[i], c.Assumptions)
			}
		}
		sc, _, err := c.load(k)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		l, tr := sc.Job.Layout, sc.Job.Training
		if l.ZeROFP32Reduce != tc.fp32Reduce || tr.Eager != tc.eager || tr.Grads16 == tc.fp32Grads {
			t.Errorf("%s: scenario zero_fp32_reduce %v, eager %v, grads16 %v", tc.name, l.ZeROFP32Reduce, tr.Eager, tr.Grads16)
		}
		if tc.stack == "pytorch-fsdp" && (tr.Attention != model.AttentionFlash || !l.OverlapGradReduce || tr.UnfusedGradAccum == false) {
			t.Errorf("%s: the pytorch-fsdp stack's flash attention, overlapped reduction and unfused accumulation not applied: %+v %+v", tc.name, l, tr)
		}
	}
}

// TestEagerCrossEntropyRule: the pytorch-fsdp stack computes the loss as
// PyTorch's eager cross-entropy on fp32 logits (torchtitan, Hugging Face
// Accelerate, FSDP stated alone, Composer) and llm-foundry's flash-attn
// fused cross-entropy does not, compiled or not; the other stacks keep
// the fused loss. The loaded scenario says the same, and so does the
// scenario text sim validate --scenario writes.
func TestEagerCrossEntropyRule(t *testing.T) {
	for _, tc := range []struct {
		name, source, par string
		eager             bool
	}{
		{"torchtitan", "pytorch/torchtitan 2024-12 benchmarks", `zero = "FSDP"`, true},
		{"torchtitan compiled", "pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = true", true},
		{"Accelerate", "huggingface/accelerate 2024 benchmarks", `zero = "FSDP"`, true},
		{"FSDP words alone", "Some 2024 report", `zero = "FSDP FULL_SHARD"`, true},
		{"Composer named", "MosaicML Composer 2023", `zero = "unknown"`, true},
		{"llm-foundry", "mosaicml/llm-foundry 2023 benchmarks", `zero = "FSDP FULL_SHARD"`, false},
		{"llm-foundry PURE", "mosaicml/llm-foundry 2023 benchmarks", "zero = \"FSDP FULL_SHARD\"\nfsdp_mixed_precision = \"PURE\"", false},
		{"Megatron", "Some 2024 report", `zero = "ZeRO-1"`, false},
	} {
		cases, err := ParseCases("f.toml", []byte(fsdpCase(tc.source, tc.par, "bf16")))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := cases[0]
		if c.EagerCE != tc.eager {
			t.Errorf("%s: eager_cross_entropy %v, want %v (assumed %q)", tc.name, c.EagerCE, tc.eager, c.Assumptions)
		}
		sc, _, err := c.load(c.Knobs)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := sc.Job.Training.EagerCrossEntropy; got != tc.eager {
			t.Errorf("%s: loaded scenario eager_cross_entropy %v, want %v", tc.name, got, tc.eager)
		}
		text := string(c.Scenario(c.Knobs))
		if written := strings.Contains(text, "eager_cross_entropy = true"); written != tc.eager {
			t.Errorf("%s: scenario text says eager_cross_entropy = true: %v, want %v", tc.name, written, tc.eager)
		}
	}
}

// TestFSDPWords: torchtitan's Float8 (torchao's dynamic per-tensor
// scaling) is FP8 with the tensorwise recipe; "selective op" activation
// checkpointing is selective and "selective layer" (every Nth layer) is
// not replayed.
func TestFSDPWords(t *testing.T) {
	for _, tc := range []struct {
		precision string
		want      units.Precision
		recipe    model.FP8Recipe
	}{
		{"Float8 (torchao Float8Linear, dynamic tensorwise scaling)", units.FP8, model.FP8Tensorwise},
		{"float8", units.FP8, model.FP8Tensorwise},
		{"amp_fp8", units.FP8, ""},
		{"amp_bf16", units.BF16, ""},
	} {
		c := Case{Generation: "h100"}
		mapper{&c}.precision(tc.precision)
		if c.Precision != tc.want || c.FP8Recipe != tc.recipe {
			t.Errorf("precision %q → %s %q, want %s %q", tc.precision, c.Precision, c.FP8Recipe, tc.want, tc.recipe)
		}
	}
	for _, tc := range []struct {
		recompute string
		want      string
		scored    bool
	}{
		{"selective op (torchtitan op-level SAC)", "op_sac", true},
		{"selective_op", "op_sac", true},
		{"selective (torchtitan selective_ac_option 'op': op-level SAC)", "op_sac", true},
		{"selective layer (every second layer checkpointed)", "", false},
		{"checkpoint every 2nd layer", "", false},
		{"activation checkpointing", "full", true},
		{"selective", "selective", true},
	} {
		c := Case{Replayable: true, Scored: true}
		mapper{&c}.recompute(tc.recompute)
		if c.Scored != tc.scored || (tc.scored && c.Knobs.Recompute != tc.want) {
			t.Errorf("recompute %q → %q scored %v (%s), want %q %v", tc.recompute, c.Knobs.Recompute, c.Scored, c.Why, tc.want, tc.scored)
		}
	}
}

// TestFSDPHeldOut keeps heldout/fsdp.toml readable: every case on the
// pytorch-fsdp stack with ZeRO 2 or 3 — ZeRO-1 for torchtitan's pipeline
// rows (TestTorchtitanPipelineRule), which also keep their stage outputs —
// and only the two every-Nth-layer checkpointing rows left unscored.
func TestFSDPHeldOut(t *testing.T) {
	src, err := os.ReadFile("heldout/fsdp.toml")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := ParseCases("fsdp.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	scored := 0
	for _, c := range cases {
		if !c.Scored {
			if !strings.Contains(c.Why, "every Nth layer") {
				t.Errorf("%s not scored: %s", c.ID, c.Why)
			}
			continue
		}
		scored++
		want := 2
		if c.Knobs.PP > 1 {
			want = 1
			if c.Knobs.ZeRO != 1 || !c.PPKeepOutputs {
				t.Errorf("%s: pp %d, zero %d, pp_keep_outputs %v; want zero 1 and the outputs kept", c.ID, c.Knobs.PP, c.Knobs.ZeRO, c.PPKeepOutputs)
			}
		}
		if c.Stack != "pytorch-fsdp" || c.Knobs.ZeRO < want {
			t.Errorf("%s: stack %s zero %d", c.ID, c.Stack, c.Knobs.ZeRO)
		}
	}
	if len(cases) != 100 || scored != 98 {
		t.Errorf("%d cases, %d scored; want 100 and 98", len(cases), scored)
	}
}

// TestCompiled: the compile field's values, read as the other boolean-ish
// fields are (booleans; integers 0 and 1; words).
func TestCompiled(t *testing.T) {
	tests := []struct {
		v       any
		on, odd bool
	}{
		{true, true, false},
		{false, false, false},
		{int64(1), true, false},
		{int64(0), false, false},
		{int64(2), false, true},
		{int64(-1), false, true},
		{"1", true, false},
		{"0", false, false},
		{"yes", true, false},
		{"torch.compile (Inductor)", true, false},
		{"no", false, false},
		{"unknown", false, false},
		{nil, false, false},
	}
	for _, tc := range tests {
		if on, odd := compiled(tc.v); on != tc.on || odd != tc.odd {
			t.Errorf("compiled(%#v) = %v, %v; want %v, %v", tc.v, on, odd, tc.on, tc.odd)
		}
	}
	// An integer other than 0 or 1 is said.
	cases, err := ParseCases("f.toml", []byte(fsdpCase("pytorch/torchtitan 2024-12 benchmarks", "zero = \"FSDP\"\ncompile = 2", "bf16")))
	if err != nil {
		t.Fatal(err)
	}
	if a := strings.Join(cases[0].Assumptions, "; "); !strings.Contains(a, "compile 2: neither 0 nor 1 → unknown") {
		t.Errorf("compile 2 not said: %s", a)
	}
}

// TestStatedHBM: a per-GPU memory size stated in the hardware text, other
// than the system's GPU's, replays with that capacity (cluster.gpu.hbm) and
// the preset's compute and bandwidth, and says so; the A100's 40/80 GB
// parts stay two systems; a node's total or a bandwidth is not a GPU's size.
func TestStatedHBM(t *testing.T) {
	tests := []struct {
		gpu    string
		system string
		hbm    units.Bytes // the loaded scenario's GPU memory
		said   bool        // an override, stated
	}{
		{"H100 96GB HBM2e (Grand Teton, 500 W power limit)", "dgx-h100", 96 * units.GiB, true},
		{"H100 95GB HBM2e, lower-TDP SXM", "dgx-h100", 95 * units.GiB, true},
		{"H100 NVL 94GB", "dgx-h100", 94 * units.GiB, true},
		{"H100 NVL 94 GB", "dgx-h100", 94 * units.GiB, true},
		{"H100 80GB", "dgx-h100", 80 * units.GiB, false},
		{"H100", "dgx-h100", 80 * units.GiB, false},
		{"H200 141GB", "dgx-h200", 141 * units.GiB, false},
		{"H800 80GB", "hgx-h800", 80 * units.GiB, false},
		{"B200 192GB", "dgx-b200", 192 * units.GiB, true},
		{"A100 40GB", "dgx-a100-40gb", 40 * units.GiB, false},
		{"A100-SXM4-80GB (DGX A100, Selene)", "dgx-a100-80gb", 80 * units.GiB, false},
		{"DGX A100 320GB", "dgx-a100-40gb", 40 * units.GiB, false},    // the node's total
		{"NVIDIA DGX H100 640GB", "dgx-h100", 80 * units.GiB, false},  // the node's total
		{"H100 (NVLink 900 GB/s)", "dgx-h100", 80 * units.GiB, false}, // a bandwidth
	}
	for _, tc := range tests {
		s := strings.Replace(fsdpCase("Some 2024 report", `zero = "FSDP"`, "bf16"), `gpu = "A100 80GB"`, `gpu = "`+tc.gpu+`"`, 1)
		cases, err := ParseCases("f.toml", []byte(s))
		if err != nil {
			t.Fatalf("%s: %v", tc.gpu, err)
		}
		c := cases[0]
		if !c.Scored || c.System != tc.system {
			t.Errorf("%q: scored %v on %s (%s), want %s", tc.gpu, c.Scored, c.System, c.Why, tc.system)
			continue
		}
		a := strings.Join(c.Assumptions, "; ")
		if said := strings.Contains(a, "→ cluster.gpu.hbm"); said != tc.said {
			t.Errorf("%q: override stated %v, want %v: %s", tc.gpu, said, tc.said, a)
		}
		sc, _, err := c.load(c.Knobs)
		if err != nil {
			t.Fatalf("%s: %v", tc.gpu, err)
		}
		g := sc.Job.Cluster.GPU
		if g.HBM != tc.hbm {
			t.Errorf("%q: HBM %v GiB, want %v GiB", tc.gpu, g.HBM/units.GiB, tc.hbm/units.GiB)
		}
		preset, _ := topology.SystemPreset(tc.system)
		if g.PeakDense16 != preset.GPU.PeakDense16 || g.HBMBandwidth != preset.GPU.HBMBandwidth || g.DriverReserved != preset.GPU.DriverReserved {
			t.Errorf("%q: compute or bandwidth changed: %+v, preset %+v", tc.gpu, g, preset.GPU)
		}
	}
}

// TestTorchtitanPipelineRule: a torchtitan run with pipeline parallelism
// keeps each stage's FSDP parameters and gradients unsharded through the
// step (reshard_after_forward off under PP in apply_fsdp @9dec370, and
// torch.distributed.pipelining's no-sync backward until the stage's last
// micro-batch), which is ZeRO-1, and keeps every micro-batch's stage output
// until the step ends (pp_keep_outputs). Without PP, or from another
// trainer, neither.
func TestTorchtitanPipelineRule(t *testing.T) {
	for _, tc := range []struct {
		name, source, zero string
		pp                 int
		wantZeRO           int
		keep               bool
	}{
		{"torchtitan pp 2", "pytorch/torchtitan 2024-12 benchmarks", `"FSDP (FSDP2 fully_shard)"`, 2, 1, true},
		{"torchtitan pp 1", "pytorch/torchtitan 2024-12 benchmarks", `"FSDP (FSDP2 fully_shard)"`, 1, 3, false},
		{"torchtitan pp 2, SHARD_GRAD_OP", "pytorch/torchtitan 2024-12 benchmarks", `"SHARD_GRAD_OP"`, 2, 2, true},
		{"llm-foundry pp 2", "mosaicml/llm-foundry 2023 benchmarks", `"FSDP FULL_SHARD"`, 2, 3, false},
		{"Megatron pp 2", "Some 2024 report", `"ZeRO-1"`, 2, 1, false},
	} {
		text := fsdpCase(tc.source, "zero = "+tc.zero, "bf16")
		if tc.pp != 1 {
			text = strings.Replace(text, "pp = 1\ndp = 8", fmt.Sprintf("pp = %d\ndp = %d", tc.pp, 8/tc.pp), 1)
		}
		cases, err := ParseCases("f.toml", []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := cases[0]
		if !c.Replayable {
			t.Fatalf("%s: not replayed: %q", tc.name, c.Assumptions)
		}
		if c.Knobs.PP != tc.pp || c.Knobs.ZeRO != tc.wantZeRO {
			t.Errorf("%s: pp %d zero %d, want pp %d zero %d (assumed %q)", tc.name, c.Knobs.PP, c.Knobs.ZeRO, tc.pp, tc.wantZeRO, c.Assumptions)
		}
		if c.PPKeepOutputs != tc.keep {
			t.Errorf("%s: pp_keep_outputs %v, want %v", tc.name, c.PPKeepOutputs, tc.keep)
		}
		sc, _, err := c.load(c.Knobs)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := sc.Job.Layout.ZeRO; got != tc.wantZeRO {
			t.Errorf("%s: loaded scenario zero %d, want %d", tc.name, got, tc.wantZeRO)
		}
		if got := sc.Job.Training.PPKeepOutputs; got != tc.keep {
			t.Errorf("%s: loaded scenario pp_keep_outputs %v, want %v", tc.name, got, tc.keep)
		}
		written := string(c.Scenario(c.Knobs))
		if got := strings.Contains(written, "pp_keep_outputs = true"); got != tc.keep {
			t.Errorf("%s: scenario text says pp_keep_outputs = true: %v, want %v", tc.name, got, tc.keep)
		}
		if got := strings.Contains(written, fmt.Sprintf("zero = %d\n", tc.wantZeRO)); !got {
			t.Errorf("%s: scenario text lacks zero = %d:\n%s", tc.name, tc.wantZeRO, written)
		}
	}
}
