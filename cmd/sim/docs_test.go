package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestReportFieldsDocumented: every field of the JSON report and every CSV
// column is named in docs/scenario.md, the reference users read. The reports
// come from runs that between them fill every optional field: the default,
// a calibrated run with a calibration file, an infeasible one, a flow-mode
// run whose links run at capacity, one with a stack's behaviours and a
// mixture of experts under the flex dispatcher.
func TestReportFieldsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "scenario.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	site := filepath.Join(dir, "site.toml")
	if err := os.WriteFile(site, []byte("[calibration]\nhbm_fraction = 0.8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := [][]string{
		{"run", "--format", "json"},
		{"run", "--format", "json", "--set", "calibration.file=" + site, "--set", "calibration.gemm_peak_fraction=0.7",
			"--set", "calibration.flash_fraction=0.5", "--set", "calibration.kernel_overhead=5us", "--set", "calibration.comm_sms=4",
			"--set", "calibration.nvlink_busbw=200GB/s", "--set", "calibration.nic_busbw=20GB/s",
			"--set", `calibration.gemm=[{m=2048, n=4608, k=12288, tflops="200TFLOP/s"}]`},
		{"run", "--format", "json", "--set", "parallelism.recompute=none", "--set", "parallelism.pp=8", "--set", "cluster.nodes=64"},
		{"run", "--format", "json", "../../scenarios/gpt3-13b-dp-heavy.toml", "--set", "simulation.network=flow", "--set", "cluster.network.oversubscription=8"},
		// The framework behaviours of the stacks (layout.zero_fp32_reduce,
		// layout.zero3_rank_loops, training.flash_kernel, software_stack).
		{"run", "--format", "json", "--set", "software.stack=pytorch-fsdp", "--set", "parallelism.zero3_rank_loops=true", "--set", "cluster.system=dgx-h100"},
		// A mixture of experts under the flex dispatcher (layout.moe, its
		// dispatch_sync_s and the flex fields).
		{"run", "--format", "json", "../../scenarios/mixtral-8x7b-ep8.toml", "--set", "moe.dispatcher=flex"},
	}
	fields := map[string]bool{}
	var collect func(v any)
	collect = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				fields[k] = true
				collect(e)
			}
		case []any:
			for _, e := range x {
				collect(e)
			}
		}
	}
	for _, args := range runs {
		code, out, errs := runCLI(t, args...)
		if code > 1 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var rep map[string]any
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		collect(rep)
	}
	_, csv, _ := runCLI(t, "run", "--format", "csv")
	for _, col := range strings.Split(strings.SplitN(csv, "\n", 2)[0], ",") {
		fields[col] = true
	}
	for _, want := range []string{"calibration", "file", "kernel_overhead_s", "reason", "saturated_fraction", "measured_gemms",
		"software_stack", "zero_fp32_reduce", "zero3_rank_loops", "flash_kernel", "moe", "dispatch_sync_s", "ep_nodes", "destination_nodes"} {
		if !fields[want] {
			t.Errorf("no run filled %q: the runs miss an optional field", want)
		}
	}
	var missing []string
	for f := range fields {
		if !strings.Contains(string(doc), "`"+f+"`") {
			missing = append(missing, f)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/scenario.md does not name these report fields: %v", missing)
	}
}
