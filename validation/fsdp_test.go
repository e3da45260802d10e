package validation

import (
	"os"
	"strings"
	"testing"

	"trainsim/model"
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
		{"selective op (torchtitan op-level SAC)", "selective", true},
		{"selective_op", "selective", true},
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
// pytorch-fsdp stack with ZeRO 2 or 3, and only the two every-Nth-layer
// checkpointing rows left unscored.
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
		if c.Stack != "pytorch-fsdp" || c.Knobs.ZeRO < 2 {
			t.Errorf("%s: stack %s zero %d", c.ID, c.Stack, c.Knobs.ZeRO)
		}
	}
	if len(cases) != 100 || scored != 98 {
		t.Errorf("%d cases, %d scored; want 100 and 98", len(cases), scored)
	}
}
