package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/sim -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; rerun with -update if the change is intended.\ngot:\n%s", name, got)
	}
}

// TestDefaultReportGolden pins the default scenario's JSON and text reports.
func TestDefaultReportGolden(t *testing.T) {
	code, out, errs := runCLI(t, "run", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "default.json", out)
	code, out, errs = runCLI(t, "run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "default.txt", out)
}

// TestDefaultAgainstPublished checks the default against the Megatron-LM
// README (2021): about 32 s per step and 138 TFLOP/s per GPU counting
// recomputation, within the 10% the flagship issue asks for.
func TestDefaultAgainstPublished(t *testing.T) {
	_, out, _ := runCLI(t, "run", "--format", "json")
	var rep struct {
		StepTimeS            float64 `json:"step_time_s"`
		HardwareFLOPsPerGPUS float64 `json:"hardware_flops_per_gpu_s"`
		GPUs                 int     `json:"gpus"`
		Feasible             bool    `json:"feasible"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.GPUs != 1024 || !rep.Feasible {
		t.Fatalf("default: %d GPUs, feasible %v", rep.GPUs, rep.Feasible)
	}
	if e := rep.StepTimeS/32 - 1; math.Abs(e) > 0.10 {
		t.Errorf("step %.2f s is %+.1f%% from the published 32 s", rep.StepTimeS, 100*e)
	}
	// 138 TFLOP/s is the same measurement as the step time, inverted: a step
	// within ±10% is a throughput within -9.1%..+11.1%.
	if e := rep.HardwareFLOPsPerGPUS/138e12 - 1; e > 1/0.9-1 || e < 1/1.1-1 {
		t.Errorf("%.1f TFLOP/s per GPU is %+.1f%% from the published 138", rep.HardwareFLOPsPerGPUS/1e12, 100*e)
	}
}

// TestCaseScenarioReplays: the scenario sim validate --scenario prints, run by
// sim run, predicts what sim validate reports for that case.
func TestCaseScenarioReplays(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "case.toml")
	if code, _, errs := runCLI(t, "validate", "--scenario", "korthikanti22-175b-full-recompute", "-o", file); code != 0 {
		t.Fatalf("validate --scenario: exit %d: %s", code, errs)
	}
	_, out, errs := runCLI(t, "run", file, "--format", "json")
	var rep struct {
		StepTimeS float64 `json:"step_time_s"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v; stderr: %s", err, errs)
	}
	_, vout, _ := runCLI(t, "validate", "--group", "Korthikanti2022-Table5", "--format", "json")
	var vrep struct {
		Results []struct {
			ID        string  `json:"id"`
			Predicted float64 `json:"predicted"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(vout), &vrep); err != nil {
		t.Fatal(err)
	}
	for _, r := range vrep.Results {
		if r.ID == "korthikanti22-175b-full-recompute" && r.Predicted != rep.StepTimeS {
			t.Errorf("sim run of the case's scenario: %.6g s; sim validate: %.6g s", rep.StepTimeS, r.Predicted)
		}
	}
}

func TestDeterministicOutput(t *testing.T) {
	for _, format := range []string{"json", "csv", "text"} {
		_, a, _ := runCLI(t, "run", "--format", format, "--set", "parallelism.schedule=interleaved", "--set", "parallelism.virtual_stages=2")
		_, b, _ := runCLI(t, "run", "--format", format, "--set", "parallelism.schedule=interleaved", "--set", "parallelism.virtual_stages=2")
		if a != b || a == "" {
			t.Errorf("%s: two runs differ or are empty", format)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[model]\npreset = \"gpt3-175b\"\n[cluster]\nsystem = \"dgx-a100-80gb\"\nnodes = 128\n[cluster.nvlink]\nbandwidth = \"300GiB\"\n[parallelism]\ntp = 8\npp = 16\n[training]\nglobal_batch = 1536\n"), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string // substrings
		stdout []string
	}{
		{"default runs", []string{"run"}, 0, nil, []string{"Step time", "Bottleneck"}},
		{"divisibility", []string{"run", "--set", "parallelism.tp=5"}, 2, []string{"--set", "parallelism.tp", "does not divide"}, nil},
		{"unknown key", []string{"run", "--set", "parallelism.tpp=4"}, 2, []string{"unknown key", `did you mean "tp"`}, nil},
		{"bad unit names file and line", []string{"run", bad}, 2, []string{"bad.toml:7", "cluster.nvlink.bandwidth"}, nil},
		{"missing file", []string{"run", filepath.Join(dir, "nope.toml")}, 2, []string{"nope.toml"}, nil},
		{"bad format", []string{"run", "--format", "xml"}, 2, []string{"--format"}, nil},
		{"trace to a bad path", []string{"run", "--trace", filepath.Join(dir, "no", "such", "t.json")}, 2, []string{"--trace"}, nil},
		{"out of memory", []string{"run", "--set", "parallelism.recompute=none", "--set", "parallelism.pp=8", "--set", "cluster.nodes=64"}, 1, []string{"out of memory"}, []string{"INFEASIBLE"}},
		{"unknown verb", []string{"frobnicate"}, 2, []string{"unknown command"}, nil},
		{"sweep needs --out", []string{"sweep", "x.toml"}, 2, []string{"--out"}, nil},
		{"presets", []string{"presets"}, 0, nil, []string{"gpt3-175b", "dgx-h100", "h200", "a100-40gb"}},
		{"explicit topology file", []string{"run", "testdata/two-nodes-scenario.toml"}, 0, nil, []string{"gpu0 -> sw0", "leaf0 -> nic"}},
		{"topology file needs flow", []string{"run", "testdata/two-nodes-scenario.toml", "--set", "simulation.network=analytical"}, 2, []string{"two-nodes-scenario.toml:14: cluster.network.file"}, nil},
		{"topology file GPU count", []string{"run", "testdata/two-nodes-scenario.toml", "--set", "cluster.nodes=4", "--set", "parallelism.dp=4"}, 2, []string{"has 4 GPUs, the cluster 8"}, nil},
		{"flow mode", []string{"run", "--set", "simulation.network=flow"}, 0, nil, []string{"leaf-spine", "Busiest links"}},
		{"forced tree", []string{"run", "--set", "simulation.allreduce=tree"}, 0, nil, []string{"Step time"}},
		{"bad algorithm", []string{"run", "--set", "simulation.allreduce=butterfly"}, 2, []string{"simulation.allreduce", "not an algorithm"}, nil},
		{"case scenario", []string{"validate", "--scenario", "sc21-t1-76.1b"}, 0, nil, []string{"tp = 8", "grad_accum_fusion = false", "fp32_grads = false"}},
		{"unknown case", []string{"validate", "--scenario", "no-such-case"}, 2, []string{"--scenario", "no case", "korthikanti22-175b-full-recompute"}, nil},
		{"unplayable case", []string{"validate", "--cases", "../../validation/testdata/unplayable.toml", "--scenario", "v100-unplayable"}, 2, []string{"not replayable", "V100"}, nil},
		// Layout unknown: the layout rule's pick (the search's fastest), written out.
		{"layout-rule case scenario", []string{"validate", "--scenario", "megatron-readme-2021jan-145b"}, 0, nil, []string{"tp = 8", "pp = 8", "dp = 24"}},
		{"bad gradient key", []string{"run", "--set", "training.fp32_grads=yes"}, 2, []string{"training.fp32_grads", "want true or false"}, nil},
		{"held-out cases", []string{"validate", "--cases", "../../validation/testdata/heldout-example.toml"}, 0, nil, []string{"Smith2022-MT-NLG", "mt-nlg-530b-2240gpu", "60.10"}},
		{"held-out case scenario", []string{"validate", "--cases", "../../validation/testdata/heldout-example.toml", "--scenario", "mt-nlg-530b-2240gpu"}, 0, nil, []string{"pp = 35", "global_batch = 1920"}},
		{"missing cases file", []string{"validate", "--cases", "nope.toml"}, 2, []string{"--cases", "nope.toml"}, nil},
		{"calibration file named by --set", []string{"run", "--set", "calibration.file=nope.toml"}, 2, []string{"--set: calibration.file", "nope.toml"}, nil},
		{"replay too large", []string{"run", "--set", "training.global_batch=100000000"}, 2, []string{"training.global_batch", "the replay would unroll", "more than the 40000000"}, nil},
		// 1000 steps: two built, the others extrapolated (periodic replay).
		{"many steps, periodic", []string{"run", "--set", "training.steps=1000"}, 0, nil, []string{"Step time"}},
		// ZeRO-3's overlapped gathers fail the periodic check when run:
		// the full replay is refused then, exit 2, the same message.
		{"many steps, fall-back too large", []string{"run", "--set", "training.steps=1000", "--set", "parallelism.zero=3"}, 2, []string{"--set: training.steps: the replay would unroll about 2.33e+08 tasks", "more than the 40000000", "4.4 GB"}, nil},
		// A periodic replay adds every further step's sums again: 2^31−1
		// steps would take days, refused at once.
		// Fractions and rates so small that kernels or copies would run
		// past the engine's range: refused at the key, not by the engine.
		{"vanishing GEMM fraction", []string{"run", "--set", "calibration.gemm_peak_fraction=1e-300"}, 2, []string{"--set: calibration.gemm_peak_fraction: must be a fraction in [0.01, 1], got 1e-300"}, nil},
		{"vanishing eager HBM fraction", []string{"run", "--set", "training.eager_hbm_fraction=1e-300"}, 2, []string{"--set: training.eager_hbm_fraction: must be a fraction in [0.01, 1]"}, nil},
		{"vanishing refit rate", []string{"run", "../../scenarios/instructgpt-175b-ppo.toml", "--set", "rl.refit_rate=1e-300GB/s"}, 2, []string{"--set: rl.refit_rate: must be 0 (the hardware's rate) or from 1MB/s to 1PB/s"}, nil},
		// sim search replaces the layout: a scenario whose own layout is
		// not a valid job on its cluster starts from a neutral one, said
		// in the header; a problem the layout does not decide, or a dp the
		// file gives, stays an error.
		{"search from a neutral layout", []string{"search", "--top", "1", "--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=2", "--set", "parallelism.pp=3", "--set", "training.global_batch=64"}, 0, nil, []string{"the scenario's own layout is not a valid job here; the search starts from TP 1 × PP 1 instead", "parallelism.dp: defaults to GPUs", "#1  step"}},
		{"search: not a layout problem", []string{"search", "--top", "1", "--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=2", "--set", "parallelism.pp=3", "--set", "training.global_batch=0"}, 2, []string{"training.global_batch: must be a positive integer"}, nil},
		{"search: a given dp", []string{"search", "--top", "1", "--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=2", "--set", "parallelism.pp=3", "--set", "parallelism.dp=5", "--set", "training.global_batch=64"}, 2, []string{"≠ 16 GPUs", "sim search starts from the scenario as a valid job", "parallelism.dp"}, nil},
		// 10^9 nodes: the search enumerated the divisors of 8·10^9 GPUs
		// one by one for minutes; and 1e300 s printed every digit.
		{"search --nodes past the range", []string{"search", "--nodes", "1000000000"}, 2, []string{"--nodes: node counts must be from 1 to 1048576 (cluster.nodes' range), got 1000000000"}, nil},
		{"nodes past the range", []string{"run", "--set", "cluster.nodes=1048577"}, 2, []string{"--set: cluster.nodes: must be an integer from 1 to 1048576, got 1048577"}, nil},
		{"host issue of 1e300 s", []string{"run", "--set", "training.host_issue=1e300s"}, 2, []string{"--set: training.host_issue: 1.157e+295 days is outside the physical range 0–10 ms"}, nil},
		{"capacity factor below 1", []string{"run", "../../scenarios/mixtral-8x7b-ep8.toml", "--set", "moe.capacity_factor=0.2"}, 2, []string{"--set: moe.capacity_factor: must be 0 (dropless) or from 1 to 1000"}, nil},
		// A seed past 2^63 − 1 was "a string" through --set and invalid
		// TOML in a file; --seed took up to 2^64 − 1.
		{"seed past 2^63-1 by --set", []string{"run", "--set", "seed=9223372036854775808"}, 2, []string{"--set: seed: must be an integer from 0 to 9223372036854775807 (2^63 − 1), got 9223372036854775808"}, nil},
		{"seed past 2^63-1 by --seed", []string{"run", "--seed", "18446744073709551615"}, 2, []string{`invalid argument "18446744073709551615" for "--seed" flag: must be an integer from 0 to 9223372036854775807`}, nil},
		{"negative --seed", []string{"run", "--seed", "-1"}, 2, []string{`for "--seed" flag: must be an integer from 0 to 9223372036854775807`}, nil},
		{"fractional sweep --seed", []string{"sweep", "x.toml", "--out", "o", "--seed", "1.5"}, 2, []string{`for "--seed" flag: must be an integer from 0`}, nil},
		// 2^31−1 tokens made one attention kernel 14 years long: refused
		// at the key with its range, not by the engine.
		{"huge seq_len", []string{"run", "--set", "model.seq_len=2147483647"}, 2, []string{"--set: model.seq_len: must be an integer from 1 to 16777216, got 2147483647"}, nil},
		{"huge vocab", []string{"run", "--set", "model.vocab=2147483647"}, 2, []string{"--set: model.vocab: must be an integer from 1 to 16777216"}, nil},
		// Sizes in range whose product is not: the micro-batches repeated
		// past the replayed ones ran past the engine's range unchecked and
		// wrapped to a negative step ("no fp16 peak … or empty step").
		{"step past the engine's range", []string{"run", "--set", "model.seq_len=16777216", "--set", "cluster.gpu.peak=1TFLOP/s"}, 2, []string{"engine's range", "would end at 1.32e+10 s", "model.seq_len", "cluster.gpu.peak"}, nil},
		// prompt + response that tp does not divide under sequence
		// parallelism: padded, as the frameworks pad (was refused naming
		// parallelism.sequence_parallel, not the rl.* keys).
		{"rl pack padded to tp", []string{"run", "../../scenarios/instructgpt-175b-ppo.toml", "--set", "rl.response_max=257", "--set", "rl.response_mean=200"}, 0, nil, []string{"seq 520", "rl.prompt_len + rl.response_max = 513 tokens are padded to 520, a multiple of 8"}},
		{"vanishing CPU Adam bandwidth", []string{"run", "../../scenarios/instructgpt-175b-ppo.toml", "--set", "rl.cpu_adam_bandwidth=1e-300GB/s"}, 2, []string{"--set: rl.cpu_adam_bandwidth: must be 0"}, nil},
		// The scenario's name states its cluster; --nodes replaces it, and
		// the header says so.
		{"search header names --nodes", []string{"search", "--set", "model.preset=gpt-1.7b", "--set", "parallelism.pp=1", "--nodes", "1", "--top", "1"}, 0, nil, []string{"node counts searched: 1 (--nodes), not the scenario's cluster.nodes"}},
		{"many steps, periodic too many", []string{"run", "--set", "training.steps=2147483647"}, 2, []string{"--set: training.steps: 2147483647 steps stand for about", "periodic replay may stand for"}, nil},
		// The whole-run Monte Carlo plays every checkpoint: a 1 ms interval
		// (or the best interval of a free write) would take hours.
		{"checkpoint every millisecond", []string{"run", "--set", "job.checkpoint_interval=1ms"}, 2, []string{"job.checkpoint_interval: a checkpoint every 1 ms", "checkpoints over 1000 runs"}, nil},
		{"free checkpoint write", []string{"run", "--set", "job.checkpoint_write=0s", "--set", "job.gpu_mtbf=50000h"}, 2, []string{"job.checkpoint_interval: a checkpoint every", "job.checkpoint_write, 0 s here"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errs)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q", s)
				}
			}
		})
	}
}

func TestOutputFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	if code, _, errs := runCLI(t, "run", "--format", "csv", "-o", path); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "scenario,") {
		t.Fatalf("CSV: %q", data)
	}
}

// TestTrace: --trace writes a Chrome/Perfetto trace of the replay: valid
// JSON, a named process per pipeline stage, complete events on the streams,
// none overlapping on one stream, the last ending at the step time.
func TestTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.json")
	code, out, errs := runCLI(t, "run", "--format", "json", "--trace", path, "--set", "parallelism.pp=4", "--set", "cluster.nodes=4", "--set", "training.global_batch=16", "--set", "model.preset=gpt-18.4b", "--set", "parallelism.pp=2", "--set", "parallelism.dp=2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		StepTimeS float64 `json:"step_time_s"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name string          `json:"name"`
			Ph   string          `json:"ph"`
			Ts   float64         `json:"ts"`
			Dur  float64         `json:"dur"`
			Pid  int             `json:"pid"`
			Tid  int             `json:"tid"`
			Args json.RawMessage `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatalf("trace is not JSON: %v", err)
	}
	processes, complete := 0, 0
	end := map[[2]int]float64{}
	last := 0.0
	for _, e := range tr.TraceEvents {
		switch e.Ph {
		case "M":
			if e.Name == "process_name" {
				processes++
			}
		case "X":
			complete++
			k := [2]int{e.Pid, e.Tid}
			if e.Ts < end[k]-1e-6 {
				t.Fatalf("events overlap on pid %d tid %d at %g µs", e.Pid, e.Tid, e.Ts)
			}
			end[k] = e.Ts + e.Dur
			last = max(last, end[k])
		}
	}
	if processes != 2 || complete == 0 {
		t.Errorf("%d processes (want 2 stages), %d events", processes, complete)
	}
	if math.Abs(last/1e6/rep.StepTimeS-1) > 1e-6 {
		t.Errorf("trace ends at %g s, step is %g s", last/1e6, rep.StepTimeS)
	}
}

// TestWholeJobCLI: the whole run from the command line — the job object with
// 0 < goodput < 1 and p50 ≤ p90 ≤ p99, the same seed the same bytes, another
// seed other quantiles — and stragglers attributed in the report.
func TestWholeJobCLI(t *testing.T) {
	args := []string{"run", "--set", "job.gpu_mtbf=50000h", "--set", "job.checkpoint_interval=30min", "--set", "job.checkpoint_write=60s",
		"--set", "job.restart=10min", "--set", "job.runs=200", "--format", "json"}
	code, a, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, b, _ := runCLI(t, args...)
	_, c, _ := runCLI(t, append(args, "--seed", "2")...)
	if a != b {
		t.Error("same seed, different reports")
	}
	var rep struct {
		Whole struct {
			P50     float64 `json:"p50_s"`
			P90     float64 `json:"p90_s"`
			P99     float64 `json:"p99_s"`
			Goodput float64 `json:"goodput"`
		} `json:"job"`
	}
	var other = rep
	if err := json.Unmarshal([]byte(a), &rep); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(c), &other); err != nil {
		t.Fatal(err)
	}
	w := rep.Whole
	if !(w.Goodput > 0 && w.Goodput < 1) || !(w.P50 > 0 && w.P50 <= w.P90 && w.P90 <= w.P99) {
		t.Errorf("job %+v", w)
	}
	if other.Whole.P50 == w.P50 && other.Whole.P90 == w.P90 {
		t.Error("seed 2 gave the same quantiles")
	}
	code, text, _ := runCLI(t, "run", "--set", "job.straggler_fraction=0.01", "--set", "job.straggler_slowdown=0.2", "--set", "job.runs=10")
	if code != 0 || !strings.Contains(text, "Stragglers       10 slow GPUs") || !strings.Contains(text, "stragglers") {
		t.Errorf("exit %d:\n%s", code, text)
	}
}
