package scenario

import (
	"fmt"
	"strings"
	"testing"

	"trainsim/scenarios"
)

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
// accepts (no NaN, Inf, negative time or MFU above 1). RL scenarios are left
// to rl's FuzzRL; replays above 300k tasks are skipped.
func FuzzSimulateOverrides(f *testing.F) {
	small := "cluster.nodes=2\x00parallelism.tp=4\x00parallelism.pp=4\x00parallelism.dp=1\x00model.layers=8\x00"
	for _, seed := range []struct {
		which uint8
		set   string
	}{
		{0, "training.steps=3"},
		{0, small + "parallelism.schedule=1f1b\x00training.global_batch=64\x00training.steps=4"},
		{0, small + "parallelism.schedule=1f1b\x00training.global_batch=256\x00training.steps=2\x00parallelism.microbatch=2"},
		{0, small + "parallelism.schedule=interleaved\x00parallelism.virtual_stages=2\x00training.global_batch=48\x00training.steps=3"},
		{0, small + "cluster.system=dgx-h100\x00training.precision=fp8\x00training.fp8_recipe=mxfp8\x00training.eager_elementwise=true\x00training.global_batch=32\x00training.steps=2"},
		{0, small + "cluster.system=dgx-h100\x00training.precision=fp8\x00training.fp8_recipe=blockwise\x00training.global_batch=32"},
		{0, small + "cluster.system=dgx-h100\x00training.precision=fp8\x00training.fp8_recipe=tensorwise\x00training.eager_elementwise=false\x00training.global_batch=32"},
		{0, small + "training.precision=bf16\x00training.fp8_recipe=delayed\x00training.eager_elementwise=true\x00training.global_batch=32"},
		{0, small + "rl.reference_swap=true\x00rl.cpu_adam_bandwidth=-5GB/s\x00training.global_batch=32"},
		{0, small + "rl.offload_pcie_share=99\x00rl.cpu_adam_bandwidth=5GB/s\x00training.global_batch=32"},
		{0, small + "parallelism.dp=2\x00cluster.nodes=4\x00simulation.ranks=full\x00training.global_batch=64\x00training.steps=3"},
		{0, small + "job.straggler_fraction=0.2\x00job.straggler_slowdown=0.3\x00seed=7\x00training.global_batch=64\x00training.steps=3"},
		{0, small + "simulation.network=flow\x00parallelism.schedule=1f1b\x00training.global_batch=64\x00training.steps=2"},
		{0, small + "training.fp8_recipe=MXFP8\x00training.eager_elementwise=ture"},
		{0, small + "model.mtp_depth=1\x00parallelism.pipeline_layout=Ett|tt|ttt|tmL\x00training.global_batch=32\x00training.steps=3"},
		{0, small + "model.mtp_depth=2\x00parallelism.schedule=interleaved\x00parallelism.virtual_stages=2\x00training.global_batch=32"},
		{0, small + "model.mtp_depth=1\x00parallelism.pipeline_layout=Et*4||t*4|mL\x00parallelism.recompute=full\x00training.global_batch=32"},
		{0, small + "parallelism.pipeline_layout=E(t|)*3t*5L\x00training.global_batch=32"},
		{0, small + "parallelism.schedule=dualpipe\x00training.global_batch=16\x00training.steps=3"},
		{0, small + "parallelism.schedule=dualpipe\x00model.mtp_depth=1\x00parallelism.recompute=full\x00training.global_batch=18"},
		{0, small + "training.attention=unfused\x00training.megatron_elementwise=true\x00training.eager_hbm_fraction=0.51\x00model.linear_bias=true\x00training.global_batch=32"},
		{0, small + "training.eager_hbm_fraction=1e-3\x00model.linear_bias=false\x00cluster.system=hgx-h20\x00training.global_batch=32"},
		{0, small + "training.eager_hbm_fraction=1.5\x00model.linear_bias=maybe"},
		{0, small + "model.attention_dropout=0.1\x00model.hidden_dropout=0.1\x00model.tied_embeddings=true\x00model.position_embedding=learned\x00training.global_batch=32"},
		{0, small + "model.attention_dropout=1\x00model.hidden_dropout=-0.5\x00model.tied_embeddings=1\x00model.position_embedding=sinusoid"},
		{0, small + "model.window=100\x00model.global_every=2\x00training.global_batch=32\x00training.steps=2"},
		{0, small + "model.window=7\x00model.global_every=0\x00parallelism.cp=2\x00cluster.nodes=4\x00parallelism.recompute=selective\x00training.global_batch=32"},
		{0, small + "model.window=-3\x00model.global_every=1"},
	} {
		f.Add(seed.which, seed.set)
	}
	names := scenarios.Names()
	for i, n := range names {
		if strings.Contains(n, "mixtral") {
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
		simulateChecked(t, sc, fmt.Sprintf("%s %q", file, sets))
	})
}
