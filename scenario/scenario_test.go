package scenario

import (
	"errors"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/scenarios"
	"trainsim/units"
)

// base is a small scenario on the built-in presets; tests append to it or
// replace lines of it.
const base = `name = "test"

[model]
preset = "gpt3-175b"

[cluster]
system = "dgx-a100-80gb"
nodes = 128

[parallelism]
tp = 8
pp = 16

[training]
global_batch = 1536
`

// custom describes everything without presets.
const custom = `[model]
layers = 24
hidden = 2048
heads = 16
seq_len = 2048
vocab = 50304

[cluster]
nodes = 2
gpus_per_node = 4

[cluster.gpu]
family = "ampere"
peak = "100TFLOP/s"
hbm = "32GiB"
hbm_bandwidth = "1TB/s"
sms = 80

[cluster.nvlink]
bandwidth = "100GB/s"
latency = "1us"

[cluster.network]
topology = "rail-optimized"
nic_bandwidth = "100Gb/s"
nics_per_node = 4
latency = "3us"
nodes_per_leaf = 16

[training]
global_batch = 64
`

func TestDefault(t *testing.T) {
	name, src := scenarios.Default()
	sc, err := Load(name, src, nil)
	if err != nil {
		t.Fatalf("the default scenario does not load:\n%v", err)
	}
	j := sc.Job
	l := j.Layout
	checks := []struct {
		what      string
		got, want any
	}{
		{"file", sc.File, "scenarios/gpt3-175b.toml"},
		{"name", sc.Name, "GPT-3 175B, 1024 x A100-80GB"},
		{"seed", sc.Seed, uint64(1)},
		{"gpus", j.Cluster.GPUs(), 1024},
		{"tp, pp, dp, cp, ep", [5]int{l.TP, l.PP, l.DP, l.CP, l.EP}, [5]int{8, 16, 8, 1, 1}},
		{"layers", j.Model.Layers, 96},
		{"hidden", j.Model.Hidden, 12288},
		{"kv_heads", j.Model.KVHeads, 96},
		{"ffn_hidden", j.Model.FFNHidden, 4 * 12288},
		{"schedule", l.Schedule, parallelism.OneFOneB},
		{"recompute", l.Recompute, parallelism.RecomputeFull},
		{"overlap_grad_reduce", l.OverlapGradReduce, false},
		{"precision", j.Training.Precision, units.FP16},
		{"attention (auto on A100)", j.Training.Attention, model.AttentionUnfused},
		{"grad_accum_fusion", !j.Training.UnfusedGradAccum, false},
		{"fp32_grads", !j.Training.Grads16, false},
		{"tokens", j.Training.Tokens, 300e9},
		{"global_batch", j.Training.GlobalBatch, 1536},
		{"microbatches", j.Microbatches(), 192},
		{"steps", j.Training.Steps, 1},
		{"network", j.Options.Network, parallelism.NetworkAnalytical},
		{"ranks", j.Options.Ranks, parallelism.RanksSymmetric},
		{"hbm", j.Cluster.GPU.HBM, 80 * units.GiB},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		name  string
		file  string // the scenario; base when empty
		extra string // appended to the file
		sets  []string
		check func(sc *Scenario) []any // pairs of got, want
	}{
		{name: "defaults", check: func(sc *Scenario) []any {
			l, tr := sc.Job.Layout, sc.Job.Training
			return []any{
				sc.Seed, uint64(1),
				l.DP, 8, l.Microbatch, 1, l.Schedule, parallelism.OneFOneB, l.VirtualStages, 1,
				l.Recompute, parallelism.RecomputeNone, l.ZeRO, 0, l.OverlapGradReduce, true,
				l.TPOverlap, false, l.SequenceParallel, false,
				tr.Precision, units.BF16, tr.Attention, model.AttentionFlash, tr.Tokens, 0.0, tr.Steps, 1,
				tr.UnfusedGradAccum, false, tr.Grads16, false, tr.GradAccumCast, false,
			}
		}},
		{name: "2021 gradients", sets: []string{"training.grad_accum_fusion=false", "training.fp32_grads=false"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Training.UnfusedGradAccum, true, sc.Job.Training.Grads16, true, sc.Job.Layout.NoPPScatterGather, false}
		}},
		{name: "BF16_Optimizer accumulation", sets: []string{"training.grad_accum_cast=true"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Training.GradAccumCast, true, sc.Job.Training.UnfusedGradAccum, false}
		}},
		{name: "Megatron-Core pipeline sends", sets: []string{"parallelism.pp_scatter_gather=false"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Layout.NoPPScatterGather, true}
		}},
		{name: "name from the file name", file: strings.Replace(base, `name = "test"`, "", 1), check: func(sc *Scenario) []any {
			return []any{sc.Name, "x"}
		}},
		{name: "set tp", sets: []string{"parallelism.tp=4"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Layout.TP, 4, sc.Job.Layout.DP, 16}
		}},
		{name: "set nodes and seed", sets: []string{"cluster.nodes=256", "seed = 7"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Cluster.GPUs(), 2048, sc.Job.Layout.DP, 16, sc.Seed, uint64(7)}
		}},
		{name: "set a bare string", sets: []string{"parallelism.schedule=interleaved", "parallelism.recompute=selective"}, check: func(sc *Scenario) []any {
			l := sc.Job.Layout
			return []any{l.Schedule, parallelism.Interleaved, l.VirtualStages, 2, l.Recompute, parallelism.RecomputeSelective}
		}},
		{name: "set a quoted string and a number as a name", sets: []string{`parallelism.schedule="gpipe"`, "name=2024"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Layout.Schedule, parallelism.GPipe, sc.Name, "2024"}
		}},
		{name: "set a unit", sets: []string{"cluster.gpu.hbm=40GiB", "cluster.network.nic_bandwidth = 400Gb/s"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Cluster.GPU.HBM, 40 * units.GiB, sc.Job.Cluster.Network.NICBandwidth, 50 * units.GBps}
		}},
		{name: "set floats", sets: []string{"training.tokens=1e12", "cluster.network.oversubscription=2"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Training.Tokens, 1e12, sc.Job.Cluster.Network.Oversubscription, 2.0}
		}},
		{name: "set overrides the file", extra: "\n[simulation]\nranks = \"symmetric\"\n", sets: []string{"training.precision=fp16", "parallelism.tp=2", "parallelism.tp=1"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Training.Precision, units.FP16, sc.Job.Layout.TP, 1}
		}},
		{name: "calibration", sets: []string{`calibration.gemm=[{m=2048, n=4608, k=12288, tflops="200TFLOP/s"}]`, "calibration.nic_busbw=20GB/s", "calibration.gemm_peak_fraction=0.7"}, check: func(sc *Scenario) []any {
			c := sc.Job.Calibration
			return []any{len(c.GEMMs), 1, c.GEMMs[0].N, 4608, float64(c.GEMMs[0].Rate), 200e12, float64(*c.NICBusBandwidth), 20e9, *c.GEMMPeakFraction, 0.7}
		}},
		{name: "set an inline table", sets: []string{`cluster.gpu={hbm="40GiB", sms=100}`}, check: func(sc *Scenario) []any {
			g := sc.Job.Cluster.GPU
			return []any{g.HBM, 40 * units.GiB, g.SMs, 100, g.PeakDense16, 312 * units.TFLOPs}
		}},
		{name: "file overrides the model preset; kv_heads and ffn_hidden follow", extra: "", file: strings.Replace(base, `preset = "gpt3-175b"`, "preset = \"gpt3-175b\"\nheads = 64\nhidden = 8192\nlayers = 48\ngated_mlp = true", 1), check: func(sc *Scenario) []any {
			m := sc.Job.Model
			return []any{m.Heads, 64, m.KVHeads, 64, m.Hidden, 8192, m.FFNHidden, 4 * 8192, m.Layers, 48, m.SeqLen, 2048, m.GatedMLP, true, m.Name, "gpt3-175b"}
		}},
		{name: "explicit kv_heads and ffn_hidden", file: strings.Replace(base, `preset = "gpt3-175b"`, "preset = \"gpt3-175b\"\nkv_heads = 8\nffn_hidden = 32768", 1), check: func(sc *Scenario) []any {
			return []any{sc.Job.Model.KVHeads, 8, sc.Job.Model.FFNHidden, 32768}
		}},
		{name: "GPU preset over a system", extra: "", file: strings.Replace(base, "nodes = 128", "nodes = 128\ngpu.preset = \"a100-80gb\"\ngpu.hbm = \"64GiB\"", 1), check: func(sc *Scenario) []any {
			g := sc.Job.Cluster.GPU
			return []any{g.Name, "a100-80gb", g.HBM, 64 * units.GiB, sc.Job.Cluster.GPUsPerNode, 8}
		}},
		{name: "dotted keys and inline tables in the file", file: strings.Replace(base, "nodes = 128", "nodes = 128\nnvlink = { bandwidth = \"450GB/s\", latency = \"0.5us\" }\nnetwork.latency = \"3us\"", 1), check: func(sc *Scenario) []any {
			c := sc.Job.Cluster
			return []any{c.NVLink.Bandwidth, 450 * units.GBps, c.NVLink.Latency, units.Seconds(0.5e-6), c.Network.Latency, 3 * units.Microsecond}
		}},
		{name: "everything explicit, no presets", file: custom, check: func(sc *Scenario) []any {
			j := sc.Job
			return []any{
				j.Model.Name, "custom", j.Model.KVHeads, 16, j.Model.FFNHidden, 8192,
				j.Cluster.Name, "custom", j.Cluster.GPU.Name, "custom", j.Cluster.GPUs(), 8, j.Layout.DP, 8,
				j.Cluster.Network.Oversubscription, 1.0, j.Cluster.Network.Topology, "rail-optimized",
				j.Cluster.GPU.HBMBandwidth, units.Bandwidth(1e12),
			}
		}},
		{name: "explicit dp", extra: "", sets: []string{"parallelism.dp=8", "parallelism.tp=8"}, check: func(sc *Scenario) []any {
			return []any{sc.Job.Layout.DP, 8}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.file
			if src == "" {
				src = base
			}
			sc, err := Load("scenarios/x.toml", []byte(src+tc.extra), tc.sets)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			pairs := tc.check(sc)
			for i := 0; i+1 < len(pairs); i += 2 {
				if pairs[i] != pairs[i+1] {
					t.Errorf("value %d = %v, want %v", i/2, pairs[i], pairs[i+1])
				}
			}
		})
	}
}

// replace returns base with the line holding old replaced by repl.
func replace(old, repl string) string {
	if !strings.Contains(base, old) {
		panic("base has no " + old)
	}
	return strings.Replace(base, old, repl, 1)
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		sets []string
		// want lists fragments that the error lines must contain, in order,
		// one fragment per line; the first len(want) lines are checked and
		// there must be no more lines than that.
		want []string
	}{
		{
			name: "unknown key with suggestion",
			src:  replace("pp = 16", "pp = 16\ntpp = 2"),
			want: []string{`x.toml:13: parallelism.tpp: unknown key; did you mean "tp"?`},
		},
		{
			name: "unknown key in upper case",
			src:  replace("pp = 16", "pp = 16\nTP = 2"),
			want: []string{`x.toml:13: parallelism.TP: unknown key; did you mean "tp"?`},
		},
		{
			name: "unknown key without a close match lists what is allowed",
			src:  replace("pp = 16", "pp = 16\nfoo = 2"),
			want: []string{`x.toml:13: parallelism.foo: unknown key; allowed: tp, pp, dp, cp, ep, etp, microbatch, schedule`},
		},
		{
			name: "unknown table",
			src:  base + "\n[modle]\nlayers = 2\n",
			want: []string{`x.toml:17: modle: unknown key; did you mean "model"?`},
		},
		{
			name: "unknown calibration key",
			src:  base + "\n[calibration]\nx = 1\n",
			want: []string{`x.toml:18: calibration.x: unknown key; allowed: gemm_peak_fraction, hbm_fraction, flash_fraction, kernel_overhead, comm_sms, nvlink_busbw, nic_busbw`},
		},
		{
			name: "unknown top-level table lists calibration",
			src:  base + "\n[calibrate]\nx = 1\n",
			want: []string{`x.toml:17: calibrate: unknown key; allowed: name, seed, model, cluster, parallelism, moe, training, simulation, calibration, software, job`},
		},
		{
			name: "bad unit",
			src:  replace("nodes = 128", "nodes = 128\n[cluster.gpu]\nhbm = \"80GB/s\""),
			want: []string{`x.toml:10: cluster.gpu.hbm: "80GB/s": unit "GB/s" is not a size (want B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)`},
		},
		{
			name: "bare number for a unit",
			src:  replace("nodes = 128", "nodes = 128\nnvlink.latency = 2"),
			want: []string{`x.toml:9: cluster.nvlink.latency: want a string with a unit such as "1us", got the integer 2`},
		},
		{
			name: "bad unit in an inline table points at its line",
			src:  replace("nodes = 128", "nodes = 128\ngpu = { peak = \"312TB/s\" }"),
			want: []string{`x.toml:9: cluster.gpu.peak: "312TB/s": unit "TB/s" is not a FLOP rate`},
		},
		{
			name: "wrong kinds of values",
			src: strings.Replace(replace("tp = 8", "tp = \"8\"\nsequence_parallel = 1"), `name = "test"`, "name = 3\nseed = -1", 1) +
				"[cluster.network]\noversubscription = nan\n",
			want: []string{
				`x.toml:1: name: want a string, got the integer 3`,
				`x.toml:2: seed: must be an integer from 0 to 9223372036854775807 (2^63 − 1), got -1`,
				`x.toml:12: parallelism.tp: want an integer, got the string "8"`,
				`x.toml:13: parallelism.sequence_parallel: want true or false, got the integer 1`,
				`x.toml:19: cluster.network.oversubscription: want a finite number, got NaN`,
			},
		},
		{
			name: "seed past 2^63 − 1 in a file",
			src:  strings.Replace(base, `name = "test"`, "name = \"test\"\nseed = 9223372036854775808", 1),
			want: []string{`x.toml:2: seed: must be an integer from 0 to 9223372036854775807 (2^63 − 1), got 9223372036854775808`},
		},
		{
			name: "seed past 2^64 through --set",
			src:  base,
			sets: []string{"seed=18446744073709551616"},
			want: []string{`--set: seed: must be an integer from 0 to 9223372036854775807 (2^63 − 1), got 18446744073709551616`},
		},
		{
			name: "seed not an integer",
			src:  base,
			sets: []string{"seed=1.5"},
			want: []string{`--set: seed: must be an integer from 0 to 9223372036854775807 (2^63 − 1), got the number 1.5`},
		},
		{
			name: "seed a quoted number",
			src:  base,
			sets: []string{`seed="7"`},
			want: []string{`--set: seed: must be an integer from 0 to 9223372036854775807 (2^63 − 1), got the string "7"`},
		},
		{
			name: "any integer past TOML's 64 bits names its key",
			src:  replace("tp = 8", "tp = 99999999999999999999"),
			want: []string{`x.toml:11: parallelism.tp: 99999999999999999999 is past TOML's 64-bit integers (−9223372036854775808 to 9223372036854775807)`},
		},
		{
			name: "count out of range",
			src:  replace("tp = 8", "tp = 10_000_000_000"),
			want: []string{`x.toml:11: parallelism.tp: 10000000000 is out of range (at most 2147483647)`},
		},
		{
			name: "a table written as a value",
			src:  "simulation = 3\n" + base,
			want: []string{`x.toml:1: simulation: want a table ([simulation]), got the integer 3`},
		},
		{
			name: "dropout out of range, unknown position encoding",
			src:  replace(`preset = "gpt3-175b"`, "preset = \"gpt3-175b\"\nattention_dropout = 1.5\nhidden_dropout = -0.1\nposition_embedding = \"sinusoid\""),
			want: []string{
				`x.toml:5: model.attention_dropout: a dropout probability must be in [0, 1), got 1.5`,
				`x.toml:6: model.hidden_dropout: a dropout probability must be in [0, 1), got -0.1`,
				`x.toml:7: model.position_embedding: unknown position encoding "sinusoid" (learned, rope, alibi or none)`,
			},
		},
		{
			name: "missing model keys without a preset",
			src:  replace(`preset = "gpt3-175b"`, "layers = 96\nhidden = 12288"),
			want: []string{
				`x.toml:3: model.heads: required when model.preset is not given`,
				`x.toml:3: model.seq_len: required when model.preset is not given`,
				`x.toml:3: model.vocab: required when model.preset is not given`,
			},
		},
		{
			name: "missing cluster keys without a system",
			src:  strings.Replace(strings.Replace(custom, "gpus_per_node = 4\n", "", 1), "latency = \"1us\"\n", "", 1),
			want: []string{
				`x.toml:8: cluster.gpus_per_node: required when cluster.system is not given`,
				`x.toml:18: cluster.nvlink.latency: required when cluster.system is not given`,
			},
		},
		{
			name: "missing GPU keys without a system or a GPU preset",
			src:  strings.Replace(strings.Replace(custom, "sms = 80\n", "", 1), "hbm = \"32GiB\"\n", "", 1),
			want: []string{
				`x.toml:12: cluster.gpu.hbm: required when neither cluster.system nor cluster.gpu.preset is given`,
				`x.toml:12: cluster.gpu.sms: required when neither cluster.system nor cluster.gpu.preset is given`,
			},
		},
		{
			name: "required keys with no table at all",
			src:  "[model]\npreset = \"gpt3-175b\"\n",
			want: []string{
				`x.toml: cluster.nodes: required (the number of nodes)`,
				`x.toml: cluster.gpus_per_node: required when cluster.system is not given`,
				`x.toml: cluster.nvlink.bandwidth: required`,
				`x.toml: cluster.nvlink.latency: required`,
				`x.toml: cluster.network.topology: required`,
				`x.toml: cluster.network.nic_bandwidth: required`,
				`x.toml: cluster.network.nics_per_node: required`,
				`x.toml: cluster.network.latency: required`,
				`x.toml: cluster.network.nodes_per_leaf: required`,
				`x.toml: cluster.gpu.family: required when neither cluster.system nor cluster.gpu.preset is given`,
				`x.toml: cluster.gpu.peak: required when neither cluster.system nor cluster.gpu.preset is given`,
				`x.toml: cluster.gpu.hbm: required`,
				`x.toml: cluster.gpu.hbm_bandwidth: required`,
				`x.toml: cluster.gpu.sms: required`,
				`x.toml: training.global_batch: required (sequences per step)`,
			},
		},
		{
			name: "unknown presets",
			src:  replace(`preset = "gpt3-175b"`, `preset = "gpt3-175"`) + "[cluster.gpu]\npreset = \"a100\"\n",
			want: []string{
				`x.toml:4: model.preset: no built-in model called "gpt3-175"; did you mean "gpt3-175b"?`,
				`x.toml:17: cluster.gpu.preset: no built-in GPU called "a100"; allowed: a100-40gb, a100-80gb`,
			},
		},
		{
			name: "divisibility points at the line that set tp",
			src:  replace("nodes = 128", "nodes = 80\ngpus_per_node = 8") + "", // 640 GPUs = 5 × 16 × 8
			sets: []string{"parallelism.tp=5"},
			want: []string{
				`--set: parallelism.tp: 5 does not divide model.heads (96)`,
				`--set: parallelism.tp: 5 does not divide model.ffn_hidden (49152)`,
			},
		},
		{
			name: "too many stages in the file",
			src:  replace("tp = 8\npp = 16", "tp = 8\npp = 128") + "\n[cluster.network]\noversubscription = 0.5\n",
			sets: []string{"cluster.nodes=128"},
			want: []string{
				`x.toml:12: parallelism.pp: model.layers (96) is fewer than pp × virtual_stages (128 × 1): a pipeline stage would hold no layer`,
				`x.toml:18: cluster.network.oversubscription: must be at least 1`,
			},
		},
		{
			name: "dp does not divide",
			src:  replace("nodes = 128", "nodes = 100"),
			want: []string{`x.toml:10: parallelism.dp: defaults to GPUs / (tp × pp × cp), but the 800 GPUs (cluster.nodes × gpus_per_node) are not divisible by tp(8) × pp(16) × cp(1)`},
		},
		{
			name: "set errors",
			sets: []string{"parallelism.tp", "=4", "parallelism.tpp=4", "parallelism..tp=1", "parallelism.pp=", "parallelism.pp=1 2", "job.runs=abc"},
			want: []string{
				`--set: "parallelism.tp": want KEY=VALUE`,
				`--set: "=4": want KEY=VALUE`,
				`--set: parallelism.tpp: unknown key; did you mean "tp"?`,
				`--set: parallelism..tp: not a dotted key path`,
				`--set: parallelism.pp: empty value`,
				`--set: parallelism.pp: want an integer, got the string "1 2"`,
				`--set: job.runs: want an integer, got the string "abc"`,
			},
		},
		{
			name: "set cannot inject a second key",
			sets: []string{"parallelism.pp=4\nparallelism.tp = 1"},
			want: []string{`--set: parallelism.pp: want an integer, got the string "4\nparallelism.tp = 1"`},
		},
		{
			name: "job keys",
			src:  base + "\n[job]\ngpu_mtbf = 50000\nruns = 100\nrunz = 1\npreset = \"llama3\"\n",
			want: []string{
				`x.toml:18: job.gpu_mtbf: want a string with a unit such as "50000h", got the integer 50000`,
				`x.toml:20: job.runz: unknown key; did you mean "runs"?`,
				`x.toml:21: job.preset: no built-in failure profile called "llama3"; did you mean "llama3-16k"?`,
			},
		},
		{
			name: "dualpipe conditions",
			src:  strings.Replace(replace("pp = 16", "pp = 16\nschedule = \"dualpipe\"\nvirtual_stages = 2"), "global_batch = 1536", "global_batch = 200", 1),
			want: []string{
				`x.toml:14: parallelism.virtual_stages: 2 model chunks: "dualpipe" runs its own two per GPU (stages s and pp−1−s); virtual_stages must be 1`,
				`x.toml:17: training.global_batch: "dualpipe" needs an even micro-batch count of at least 2 × pp (32), half fed in at each end of the pipeline; global_batch / (dp × microbatch) = 200 / (8 × 1) = 25`,
			},
		},
		{
			name: "dualpipe with an odd pp",
			src:  strings.Replace(replace("pp = 16", "pp = 3\nschedule = \"dualpipe\""), "nodes = 128", "nodes = 3", 1),
			want: []string{
				`x.toml:13: parallelism.schedule: "dualpipe" needs an even pp ≥ 2 (each GPU holds stages s and pp−1−s), got pp = 3`,
			},
		},
		{
			name: "several errors at once, sorted by line",
			src:  "seeed = 1\n" + replace("tp = 8", "tp = 5\nschedule = \"zigzag\"") + "\n[simulation]\nnetwork = \"packet\"\n",
			sets: []string{"training.precision=fp4"},
			want: []string{
				`x.toml:1: seeed: unknown key; did you mean "seed"?`,
				`x.toml:11: parallelism.dp: defaults to GPUs / (tp × pp × cp)`,
				`x.toml:12: parallelism.tp: 5 does not divide model.heads (96)`,
				`x.toml:12: parallelism.tp: 5 does not divide model.ffn_hidden (49152)`,
				`x.toml:13: parallelism.schedule: "zigzag" is not a schedule`,
				`x.toml:20: simulation.network: "packet" is not a fidelity (allowed: "analytical", "flow")`,
				`--set: training.precision: "fp4" is not supported`,
			},
		},
		{
			name: "invalid TOML",
			src:  base + "\n[parallelism\n",
			sets: []string{"x"},
			want: []string{
				`x.toml:18: invalid TOML: `,
				`--set: "x": want KEY=VALUE`,
			},
		},
		{
			name: "duplicate key",
			src:  replace("tp = 8", "tp = 8\ntp = 4"),
			want: []string{`x.toml:12: invalid TOML: `},
		},
		{
			name: "model validation",
			src:  replace(`preset = "gpt3-175b"`, "preset = \"gpt3-175b\"\nhidden = 1000\nexperts = -1"),
			want: []string{`x.toml:5: model.hidden: 1000 is not divisible by heads (96)`, `x.toml:6: model.experts:`},
		},
		{
			name: "non-positive counts",
			src:  replace("nodes = 128", "nodes = 128\ngpu.sms = 0\nnetwork.nodes_per_leaf = -2"),
			want: []string{`x.toml:9: cluster.gpu.sms: must be a positive integer, got 0`, `x.toml:10: cluster.network.nodes_per_leaf: must be a positive integer, got -2`},
		},
		{
			// 6 + 14·6 + 5 = 95 of GPT-3's 96 layers.
			name: "pipeline layout short of the layers",
			src:  replace("pp = 16", "pp = 16\npipeline_layout = \"Etttttt|(tttttt|)*14tttttL\""),
			want: []string{`x.toml:13: parallelism.pipeline_layout: "Etttttt|(tttttt|)*14tttttL" places 95 transformer layers (t); model.layers is 96: the stages' layers must add up to it`},
		},
		{
			name: "pipeline layout with too few stages",
			src:  replace("pp = 16", "pp = 16\npipeline_layout = \"Et*48|t*48L\""),
			want: []string{`x.toml:13: parallelism.pipeline_layout: "Et*48|t*48L" has 2 stages; pp × virtual_stages = 16 × 1 = 16 (stages are separated by |)`},
		},
		{
			name: "pipeline layout without the MTP module",
			src:  replace("pp = 16", "pp = 16\npipeline_layout = \"Etttttt|(tttttt|)*14ttttttL\""),
			sets: []string{"model.mtp_depth=1"},
			want: []string{`parallelism.pipeline_layout: "Etttttt|(tttttt|)*14ttttttL" places 0 multi-token-prediction modules (m); model.mtp_depth is 1`},
		},
		{
			name: "pipeline layout with an unknown letter",
			src:  replace("pp = 16", "pp = 16\npipeline_layout = \"Ett|x\""),
			want: []string{`x.toml:13: parallelism.pipeline_layout: "Ett|x": unknown letter 'x' in stage 1; allowed: E (embedding), t (transformer layer), m (multi-token-prediction module), L (loss)`},
		},
		{
			name: "negative mtp_depth",
			src:  replace("preset = \"gpt3-175b\"", "preset = \"gpt3-175b\"\nmtp_depth = -1"),
			want: []string{`x.toml:5: model.mtp_depth: must not be negative, got -1`},
		},
		{
			name: "negative window",
			src:  replace("preset = \"gpt3-175b\"", "preset = \"gpt3-175b\"\nwindow = -1"),
			want: []string{`x.toml:5: model.window: must be 0 (no sliding window) or a positive number of tokens, got -1`},
		},
		{
			name: "global_every 1",
			src:  replace("preset = \"gpt3-175b\"", "preset = \"gpt3-175b\"\nwindow = 128\nglobal_every = 1"),
			want: []string{`x.toml:6: model.global_every: must be 0 (every layer windowed) or at least 2 (layers N, 2N, … keep full attention), got 1; for no windowed layer set model.window = 0`},
		},
		{
			name: "recompute_modules needs selective recomputation",
			src:  replace("pp = 16", "pp = 16\nrecompute_modules = \"core_attn\""),
			want: []string{`x.toml:13: parallelism.recompute_modules: "core_attn" is read with recompute = "selective" only (recompute is "none")`},
		},
		{
			name: "recompute_modules names a module that does not exist",
			src:  replace("pp = 16", "pp = 16\nrecompute = \"selective\"\nrecompute_modules = \"layernorm, moe\""),
			want: []string{`x.toml:14: parallelism.recompute_modules: "moe" is not a module (allowed: "core_attn", "layernorm", "moe_act", "mla_up_proj", "mlp", separated by commas)`},
		},
		{
			name: "moe_act needs experts",
			src:  replace("pp = 16", "pp = 16\nrecompute = \"selective\"\nrecompute_modules = \"moe_act\""),
			want: []string{`x.toml:14: parallelism.recompute_modules: moe_act needs a mixture-of-experts model (model.experts is 0)`},
		},
		{
			name: "mla_up_proj needs latent attention",
			src:  replace("pp = 16", "pp = 16\nrecompute = \"selective\"\nrecompute_modules = \"layernorm,mla_up_proj\""),
			want: []string{`x.toml:14: parallelism.recompute_modules: mla_up_proj needs multi-latent attention (model.kv_lora_rank is 0)`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if src == "" {
				src = base
			}
			sc, err := Load("scenarios/x.toml", []byte(src), tc.sets)
			if err != nil && sc != nil {
				t.Errorf("Load returned a scenario with an error")
			}
			if err == nil {
				_, err = sc.Validate()
			}
			if err == nil {
				t.Fatalf("Load and Validate succeeded (%+v), want errors:\n%s", sc.Job.Layout, strings.Join(tc.want, "\n"))
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is a %T, not an ErrorList", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(list) {
				t.Errorf("%d lines for %d errors", len(lines), len(list))
			}
			for i, w := range tc.want {
				if i >= len(lines) || !strings.Contains(lines[i], w) {
					t.Errorf("error %d does not contain %q; errors:\n%v", i, w, err)
					break
				}
			}
			if len(lines) > len(tc.want) {
				t.Errorf("%d more errors than expected:\n%v", len(lines)-len(tc.want), err)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "scenarios/x.toml", Line: 12, Key: "parallelism.tp", Msg: "3 does not divide model.heads (96)"}, "scenarios/x.toml:12: parallelism.tp: 3 does not divide model.heads (96)"},
		{Error{File: "x.toml", Key: "training.global_batch", Msg: "required"}, "x.toml: training.global_batch: required"},
		{Error{File: "x.toml", Line: 3, Msg: "invalid TOML: oops"}, "x.toml:3: invalid TOML: oops"},
		{Error{File: SetFile, Key: "parallelism.tp", Msg: "m"}, "--set: parallelism.tp: m"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}

	sc, err := Load("x.toml", []byte(replace("tp = 8", "tp = 5")), []string{"parallelism.pp=3"})
	if err == nil {
		_, err = sc.Validate()
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) failed", err)
	}
	if e.File != "x.toml" || e.Line == 0 || e.Key == "" {
		t.Errorf("first error %+v lacks a file, line or key", e)
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		file, rest, _ := strings.Cut(l, ": ")
		key, msg, _ := strings.Cut(rest, ": ")
		if (file != SetFile && !strings.HasPrefix(file, "x.toml:")) || !strings.Contains(key, ".") || msg == "" {
			t.Errorf("%q is not of the form file:line: key: msg", l)
		}
	}
}

func TestKeyLines(t *testing.T) {
	src := `# comment [not.a.table]
name = "a # not a comment"
multi = """
fake = 1
[fake]
"""
lit = '''
x = 1'''
arr = [
  1, # comment
  "]",
  2,
]

[model] # comment
preset = "p"
"quoted.key" = 1
a.b . c = 2

[[servers]]
host = 'h'
[ cluster . gpu ]
peak = "1TFLOP/s"
inline = { x = 1, y = [1,
  2] }
after = 3
`
	got := keyLines([]byte(src))
	want := map[string]int{
		"name": 2, "multi": 3, "lit": 7, "arr": 9,
		"model": 15, "model.preset": 16, `model."quoted.key"`: 17, "model.a": 18, "model.a.b": 18, "model.a.b.c": 18,
		"servers": 20, "servers.host": 21, "cluster": 22, "cluster.gpu": 22, "cluster.gpu.peak": 23,
		"cluster.gpu.inline": 24, "cluster.gpu.after": 26,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("line of %s = %d, want %d", k, got[k], w)
		}
	}
	for _, k := range []string{"fake", "x", "not.a.table"} {
		if l, ok := got[k]; ok {
			t.Errorf("%s found on line %d; it is not a key", k, l)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"tp", "pp", "dp", "microbatch", "schedule", "virtual_stages"}
	for in, want := range map[string]string{
		"tpp": "tp", "TP": "tp", "micro_batch": "microbatch", "shedule": "schedule",
		"virtual_stage": "virtual_stages", "x": "", "zzzzzz": "",
	} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	_, def := scenarios.Default()
	f.Add(string(def), "parallelism.tp=4")
	f.Add(base, "")
	f.Add(custom, "cluster.nodes=4")
	f.Add(base+"\n[job]\nruns = 1\n", "job.runs=2")
	f.Add("[model\n", "=")
	f.Add("a = \"\"\"\n[x]\n", "a.b.c=\"")
	f.Add(replace("tp = 8", "tp = 0\npp = -1\ncp = 2147483647"), "parallelism.dp=2147483647")
	f.Add(replace("nodes = 128", "nodes = 128\ngpu = { hbm = 80 }"), "cluster.gpu={}")
	f.Add(string(def), "training.eager_hbm_fraction=0.51\x00model.linear_bias=true\x00cluster.system=hgx-h20")
	f.Add(string(def), "training.eager_hbm_fraction=nan\x00model.linear_bias=maybe")
	f.Add(string(def), "model.attention_dropout=0\x00model.tied_embeddings=false\x00model.position_embedding=rope")
	f.Add(string(def), "model.hidden_dropout=nan\x00model.position_embedding=LEARNED")
	if _, grpo, ok := scenarios.Lookup("grpo-llama3-8b-h100"); ok {
		f.Add(string(grpo), "rl.kv_profile=vllm-0.3\x00rl.max_batched_tokens=0\x00rl.engine_prompt_len=100")
		f.Add(string(grpo), "rl.kv_profile=none\x00rl.max_batched_tokens=-1\x00rl.engine_prompt_len=257")
	}
	f.Fuzz(func(t *testing.T, src, set string) {
		var sets []string
		if set != "" {
			sets = strings.Split(set, "\x00")
		}
		sc, err := Load("f.toml", []byte(src), sets)
		if err != nil {
			if sc != nil {
				t.Fatalf("a scenario and an error")
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a non-empty ErrorList", err)
			}
			return
		}
		// Load found nothing wrong in decoding and resolving: validation
		// either accepts the job or says what is wrong, each problem placed.
		if _, err := sc.Validate(); err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Validate error %v is not a non-empty ErrorList", err)
			}
			for _, e := range list {
				if e.Key == "" || e.File == "" {
					t.Fatalf("validation problem %q is not placed at a key", e)
				}
			}
		}
	})
}
