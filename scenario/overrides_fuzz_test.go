package scenario

import (
	"fmt"
	"strings"
	"testing"

	"trainsim/parallelism"
	"trainsim/scenarios"
)

// overrideSmall cuts a scenario to 16 GPUs (TP 4 × PP 4) and 8 layers.
const overrideSmall = "cluster.nodes=2\x00parallelism.tp=4\x00parallelism.pp=4\x00parallelism.dp=1\x00model.layers=8\x00"

// overrideSeeds are FuzzSimulateOverrides' seeds, each naming the built-in
// scenario it was written for (by file name, not by its place in the list,
// which moves as scenarios are added: these seeds once ran on the first
// file, gpt3-13b-dp-heavy.toml, and on deepseek-v3-dualpipe.toml, which
// sorts before it since, every one of them was refused;
// TestOverrideSeeds holds each to its replay or its refusal).
var overrideSeeds = []struct {
	file, set string
	// refused: what Load or Validate says of the seed; "" where it
	// replays (within the fuzz target's 300k tasks).
	refused string
}{
	{"gpt3-13b-dp-heavy.toml", "training.steps=3", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "parallelism.schedule=1f1b\x00training.global_batch=64\x00training.steps=4", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "parallelism.schedule=1f1b\x00training.global_batch=256\x00training.steps=2\x00parallelism.microbatch=2", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "parallelism.schedule=interleaved\x00parallelism.virtual_stages=2\x00training.global_batch=48\x00training.steps=3", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "cluster.system=dgx-h100\x00training.precision=fp8\x00training.fp8_recipe=mxfp8\x00training.eager_elementwise=true\x00training.global_batch=32\x00training.steps=2", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "cluster.system=dgx-h100\x00training.precision=fp8\x00training.fp8_recipe=blockwise\x00training.global_batch=32", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "cluster.system=dgx-h100\x00training.precision=fp8\x00training.fp8_recipe=tensorwise\x00training.eager_elementwise=false\x00training.global_batch=32", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "training.precision=bf16\x00training.fp8_recipe=delayed\x00training.eager_elementwise=true\x00training.global_batch=32", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "rl.reference_swap=true\x00rl.cpu_adam_bandwidth=-5GB/s\x00training.global_batch=32", "rl.algorithm: required with [rl]"},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "rl.offload_pcie_share=99\x00rl.cpu_adam_bandwidth=5GB/s\x00training.global_batch=32", "rl.algorithm: required with [rl]"},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "parallelism.dp=2\x00cluster.nodes=4\x00simulation.ranks=full\x00training.global_batch=64\x00training.steps=3", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "job.straggler_fraction=0.2\x00job.straggler_slowdown=0.3\x00seed=7\x00training.global_batch=64\x00training.steps=3", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "simulation.network=flow\x00parallelism.schedule=1f1b\x00training.global_batch=64\x00training.steps=2", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "training.fp8_recipe=MXFP8\x00training.eager_elementwise=ture", "training.eager_elementwise: want true or false, got the string \"ture\""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "model.mtp_depth=1\x00parallelism.pipeline_layout=Ett|tt|ttt|tmL\x00training.global_batch=32\x00training.steps=3", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "model.mtp_depth=2\x00parallelism.schedule=interleaved\x00parallelism.virtual_stages=2\x00training.global_batch=32", "model.mtp_depth: 2 multi-token-prediction modules are more than"},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "model.mtp_depth=1\x00parallelism.pipeline_layout=Et*4||t*4|mL\x00parallelism.recompute=full\x00training.global_batch=32", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "parallelism.pipeline_layout=E(t|)*3t*5L\x00training.global_batch=32", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "parallelism.schedule=dualpipe\x00training.global_batch=16\x00training.steps=3", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "parallelism.schedule=dualpipe\x00model.mtp_depth=1\x00parallelism.recompute=full\x00training.global_batch=18", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "training.attention=unfused\x00training.megatron_elementwise=true\x00training.eager_hbm_fraction=0.51\x00model.linear_bias=true\x00training.global_batch=32", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "training.eager_hbm_fraction=1e-3\x00model.linear_bias=false\x00cluster.system=hgx-h20\x00training.global_batch=32", "training.eager_hbm_fraction: must be a fraction in [0.01, 1]"},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "training.eager_hbm_fraction=1.5\x00model.linear_bias=maybe", "model.linear_bias: want true or false, got the string \"maybe\""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "model.attention_dropout=0.1\x00model.hidden_dropout=0.1\x00model.tied_embeddings=true\x00model.position_embedding=learned\x00training.global_batch=32", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "model.attention_dropout=1\x00model.hidden_dropout=-0.5\x00model.tied_embeddings=1\x00model.position_embedding=sinusoid", "model.tied_embeddings: want true or false, got the integer 1"},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "model.window=100\x00model.global_every=2\x00training.global_batch=32\x00training.steps=2", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "model.window=7\x00model.global_every=0\x00parallelism.cp=2\x00cluster.nodes=4\x00parallelism.recompute=selective\x00training.global_batch=32", ""},
	{"gpt3-13b-dp-heavy.toml", overrideSmall + "model.window=-3\x00model.global_every=1", "model.window: must be 0 (no sliding window) or a positive number of tokens, got -3"},
	// training.fp8_param (FP8-only linear weights, FP8 parameter
	// all-gather) replays in fp8 and is refused in a 16-bit precision; a
	// system cut to 4 GPUs a node keeps its NICs per GPU, and the
	// flow-level network refuses more NICs than GPUs a node.
	{"gpt3-175b.toml", overrideSmall + "cluster.system=dgx-h100\x00training.precision=fp8\x00training.fp8_param=true\x00parallelism.zero=1\x00training.global_batch=32\x00training.steps=2", ""},
	{"gpt3-175b.toml", overrideSmall + "training.precision=bf16\x00training.fp8_param=true\x00training.global_batch=32", "training.fp8_param: FP8 parameters are read only when training.precision = \"fp8\""},
	{"gpt3-175b.toml", overrideSmall + "cluster.system=dgx-h100\x00cluster.gpus_per_node=4\x00cluster.nodes=4\x00training.global_batch=32\x00training.steps=2", ""},
	{"gpt3-175b.toml", overrideSmall + "cluster.system=dgx-h100\x00cluster.gpus_per_node=4\x00cluster.nodes=4\x00cluster.network.nics_per_node=8\x00simulation.network=flow\x00training.global_batch=32", "cluster.network.nics_per_node: 8 NICs per node for 4 GPUs"},
	// training.eager_cross_entropy (memory only) with tp > 1, cp, MTP
	// heads and a pipeline layout, and the Blackwell constants (GEMM
	// fraction, windowed flash factors) on dgx-b200 and on a GB200 node
	// cut to 8 GPUs; a number for the bool is refused.
	{"gpt3-175b.toml", overrideSmall + "training.eager_cross_entropy=true\x00training.global_batch=32", ""},
	{"gpt3-175b.toml", overrideSmall + "training.eager_cross_entropy=true\x00cluster.system=dgx-b200\x00model.window=128\x00model.global_every=2\x00training.attention=flash\x00training.global_batch=32\x00training.steps=2", ""},
	{"gpt3-175b.toml", overrideSmall + "training.eager_cross_entropy=true\x00parallelism.cp=2\x00cluster.nodes=4\x00training.attention=flash\x00training.global_batch=32", ""},
	{"gpt3-175b.toml", overrideSmall + "software.stack=pytorch-fsdp\x00parallelism.pp=1\x00parallelism.dp=4\x00cluster.system=gb200-nvl72\x00cluster.gpus_per_node=8\x00model.window=64\x00model.global_every=3\x00training.global_batch=32", ""},
	{"gpt3-175b.toml", overrideSmall + "training.eager_cross_entropy=true\x00model.mtp_depth=1\x00parallelism.pipeline_layout=Ett|tt|ttt|tmL\x00cluster.system=dgx-b200\x00training.global_batch=32", ""},
	{"gpt3-175b.toml", overrideSmall + "training.eager_cross_entropy=1", "training.eager_cross_entropy: want true or false, got the integer 1"},
}

// FuzzSimulateOverrides drives any built-in scenario with any list of --set
// overrides (separated by NUL) through Load, Validate, Simulate and the
// report. The seeds exercise the keys FuzzLoadAndSimulate's fixed arguments
// do not reach — training.fp8_recipe, training.eager_elementwise, the moe
// table, rl.reference_swap and rl.cpu_adam_bandwidth on a non-RL scenario,
// training.eager_hbm_fraction, model.linear_bias, moe.overlap under the
// interleaved schedule and pp = 1, training.steps — and the periodic replay (1F1B with many micro-batches and
// several steps, full ranks, stragglers, flow). Whatever the overrides, Load
// or Validate refuses them with an error list, or the replay gives a
// positive, finite step whose breakdown adds up and a report that Build
// accepts (no NaN, Inf, negative time or MFU above 1), and the same job with
// training.eager_cross_entropy flipped replays to the same step and
// breakdown with the eager loss's peak memory at least the fused loss's
// (checkEagerCrossEntropyMemoryOnly). RL scenarios are left to rl's FuzzRL;
// replays above 300k tasks are skipped.
func FuzzSimulateOverrides(f *testing.F) {
	names := scenarios.Names()
	index := func(file string) uint8 {
		for i, n := range names {
			if n == file {
				return uint8(i)
			}
		}
		f.Fatalf("seed scenario %q is not built in", file)
		return 0
	}
	for _, seed := range overrideSeeds {
		f.Add(index(seed.file), seed.set)
	}
	for i, n := range names {
		if strings.Contains(n, "mixtral") {
			f.Add(uint8(i), "cluster.system=dgx-b200\x00training.eager_cross_entropy=true\x00model.window=512\x00model.global_every=2\x00training.global_batch=64")
			f.Add(uint8(i), "moe.skew=1.5\x00moe.capacity_factor=1.25\x00moe.overlap=true\x00training.steps=2\x00training.global_batch=64")
			f.Add(uint8(i), "moe.skew=2")
			f.Add(uint8(i), "model.window=512\x00model.global_every=2\x00parallelism.recompute=selective\x00training.global_batch=64")
			f.Add(uint8(i), "model.mtp_depth=1\x00parallelism.pipeline_layout=Et*4|(t*4|)*6t*4mL")
			f.Add(uint8(i), "parallelism.schedule=1f1b\x00parallelism.virtual_stages=1\x00training.global_batch=128\x00training.steps=3\x00training.eager_elementwise=true")
			f.Add(uint8(i), "parallelism.ep=4\x00parallelism.etp=2\x00moe.capacity_factor=1\x00training.precision=fp8\x00training.fp8_recipe=mxfp8")
			f.Add(uint8(i), "parallelism.schedule=dualpipe\x00moe.overlap=true\x00moe.dispatch_fp8=true\x00training.precision=fp8\x00training.global_batch=128")
			// Megatron-Core's combined 1F1B: moe.overlap under the
			// interleaved schedule, and with pp = 1.
			f.Add(uint8(i), "parallelism.schedule=interleaved\x00parallelism.virtual_stages=2\x00moe.overlap=true\x00training.global_batch=64\x00training.steps=2")
			f.Add(uint8(i), "parallelism.pp=1\x00parallelism.schedule=1f1b\x00parallelism.virtual_stages=1\x00cluster.nodes=1\x00moe.overlap=true\x00model.layers=4\x00training.global_batch=32")
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, set string) {
		if len(names) == 0 {
			t.Skip("no built-in scenarios")
		}
		file, src, ok := scenarios.Lookup(names[int(which)%len(names)])
		if !ok {
			t.Fatalf("scenario %q listed but not found", names[int(which)%len(names)])
		}
		var sets []string
		if set != "" {
			sets = strings.Split(set, "\x00")
		}
		sc, err := Load(file, src, sets)
		if err != nil || sc.RL != nil {
			return
		}
		label := fmt.Sprintf("%s %q", file, sets)
		res := simulateChecked(t, sc, label)
		if res == nil {
			return
		}
		checkEagerCrossEntropyMemoryOnly(t, sc, res, label)
	})
}

// checkEagerCrossEntropyMemoryOnly replays sc again with
// training.eager_cross_entropy flipped. The key is memory only: the step
// time and its breakdown must not move, and the job with the eager loss
// must need at least the memory of the one without (its loss holds 12 or 16
// B per logit element against 4, on the last stage only, so the peak rises
// or, where another stage sets it, stays).
func checkEagerCrossEntropyMemoryOnly(t *testing.T, sc *Scenario, res *parallelism.Result, label string) {
	t.Helper()
	flipped := *sc
	flipped.Job.Training.EagerCrossEntropy = !sc.Job.Training.EagerCrossEntropy
	valid, err := flipped.Validate()
	if err != nil {
		t.Fatalf("%s: eager_cross_entropy=%v refused where %v replayed: %v", label, flipped.Job.Training.EagerCrossEntropy, sc.Job.Training.EagerCrossEntropy, err)
	}
	other, err := parallelism.Simulate(valid)
	if err != nil {
		t.Fatalf("%s: eager_cross_entropy flipped: %v", label, err)
	}
	if other.StepTime != res.StepTime || other.Breakdown != res.Breakdown {
		t.Fatalf("%s: eager_cross_entropy moved the step: %v %+v against %v %+v", label, other.StepTime, other.Breakdown, res.StepTime, res.Breakdown)
	}
	eager, fused := other, res
	if sc.Job.Training.EagerCrossEntropy {
		eager, fused = res, other
	}
	if eager.Memory.Peak < fused.Memory.Peak {
		t.Fatalf("%s: the eager loss needs %v, less than the fused loss's %v", label, eager.Memory.Peak, fused.Memory.Peak)
	}
}

// TestOverrideSeeds: each of FuzzSimulateOverrides' seeds reaches what it
// was written for: the ones meant to replay load, validate and stay within
// the target's 300k tasks (so the fuzz target replays them and checks the
// report), the others are refused with their message.
func TestOverrideSeeds(t *testing.T) {
	for i, seed := range overrideSeeds {
		file, src, ok := scenarios.Lookup(seed.file)
		if !ok {
			t.Fatalf("seed %d: scenario %q is not built in", i, seed.file)
		}
		sc, err := Load(file, src, strings.Split(seed.set, "\x00"))
		if err == nil {
			_, err = sc.Validate()
		}
		switch {
		case seed.refused == "" && err != nil:
			t.Errorf("seed %d (%s %q) is refused: %v", i, seed.file, seed.set, err)
		case seed.refused == "" && sc.Job.ReplayTasks() > 3e5:
			t.Errorf("seed %d (%s %q): %g tasks, above the fuzz target's 300k", i, seed.file, seed.set, sc.Job.ReplayTasks())
		case seed.refused != "" && err == nil:
			t.Errorf("seed %d (%s %q) loads and validates; want it refused with %q", i, seed.file, seed.set, seed.refused)
		case seed.refused != "" && !strings.Contains(err.Error(), seed.refused):
			t.Errorf("seed %d (%s %q) is refused with %v; want %q", i, seed.file, seed.set, err, seed.refused)
		}
	}
}
