package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trainsim/scenarios"
)

// TestCalibrationFile runs the default scenario with its calibration in a
// file the scenario names (relative to the scenario): the same step as the
// same table written inline, the scenario's own keys winning over the
// file's, the merged values echoed in the report, a missing file reported at
// the scenario's line, and an out-of-range value in the file reported at the
// file's line: the job is validated once, after the merge.
func TestCalibrationFile(t *testing.T) {
	dir := t.TempDir()
	_, def := scenarios.Default()
	table := "[calibration]\ngemm_peak_fraction = 0.74\nnvlink_busbw = \"230GB/s\"\nnic_busbw = \"23.5GB/s\"\n"
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inline := write("inline.toml", string(def)+"\n"+table)
	os.MkdirAll(filepath.Join(dir, "site"), 0o755)
	write("site/a100.toml", table)
	viaFile := write("via-file.toml", string(def)+"\n[calibration]\nfile = \"site/a100.toml\"\n")
	overridden := write("override.toml", string(def)+"\n[calibration]\nfile = \"site/a100.toml\"\ngemm_peak_fraction = 0.6\n")

	step := func(path string, extra ...string) (float64, map[string]any) {
		t.Helper()
		args := []string{"run", "--format", "json"}
		if path != "" {
			args = append(args, path)
		}
		code, out, errs := runCLI(t, append(args, extra...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", path, code, errs)
		}
		var rep struct {
			StepTimeS   float64        `json:"step_time_s"`
			Calibration map[string]any `json:"calibration"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		return rep.StepTimeS, rep.Calibration
	}
	a, calA := step(inline)
	b, calB := step(viaFile)
	c, calC := step(overridden)
	plain, calPlain := step(inline, "--set", "calibration.gemm_peak_fraction=0.78", "--set", "calibration.nvlink_busbw=234GB/s", "--set", "calibration.nic_busbw=23GB/s")
	if a != b {
		t.Errorf("inline table %.6f s, same table from a file %.6f s", a, b)
	}
	if !(c > b) {
		t.Errorf("scenario's gemm_peak_fraction 0.6 over the file's 0.74 gives %.6f s, not slower than %.6f s", c, b)
	}
	if plain == a {
		t.Error("the calibration changed nothing")
	}
	if calA["gemm_peak_fraction"] != 0.74 || calA["file"] != nil || calB["file"] != "site/a100.toml" ||
		calB["nic_busbw_bytes_per_s"] != 23.5e9 || calC["gemm_peak_fraction"] != 0.6 || calPlain == nil {
		t.Errorf("echoed calibration: inline %v, file %v, override %v", calA, calB, calC)
	}
	if _, cal := step(""); cal != nil {
		t.Errorf("an uncalibrated run echoes %v", cal)
	}

	missing := write("missing.toml", string(def)+"\n[calibration]\nfile = \"nope.toml\"\n")
	write("site/bad.toml", "[calibration]\nnic_busbw = \"90GB/s\"\n")
	bad := write("bad.toml", string(def)+"\n[calibration]\nfile = \"site/bad.toml\"\n")
	write("site/typo.toml", "[calibration]\nnic_bus = \"20GB/s\"\n")
	typo := write("typo.toml", string(def)+"\n[calibration]\nfile = \"site/typo.toml\"\n")
	for _, tc := range []struct {
		path string
		want []string
	}{
		{missing, []string{fmt.Sprintf("missing.toml:%d: calibration.file", strings.Count(string(def)+"\n[calibration]\n", "\n")+1), "nope.toml"}},
		{bad, []string{"site/bad.toml:2: calibration.nic_busbw: must be at least 0.1 GB/s and at most the NIC rate"}},
		{typo, []string{"typo.toml:2", "calibration.nic_bus", "unknown key"}},
	} {
		code, _, errs := runCLI(t, "run", tc.path)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2", tc.path, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", filepath.Base(tc.path), w, errs)
			}
		}
	}
}
