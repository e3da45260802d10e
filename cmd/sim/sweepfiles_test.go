package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSweepFilesBesideSweep: a calibration.file set in a sweep file is read
// beside the sweep file, not the base scenario, and reaches every point; one
// that cannot be read stops the sweep with exit 2 before any point runs.
func TestSweepFilesBesideSweep(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	for _, d := range []string{"base", "sweeps"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("base/b.toml", string(readFile(t, "../../scenarios/gpt3-175b.toml")))
	write("sweeps/cal.toml", "[calibration]\ngemm_peak_fraction = 0.5\n")
	sw := write("sweeps/s.toml", "base = \"../base/b.toml\"\n[model]\npreset = \"gpt-1.7b\"\n[cluster]\nnodes = 8\n[parallelism]\npp = 1\n[calibration]\nfile = \"cal.toml\"\n[grid]\n\"parallelism.tp\" = [8]\n")
	out := filepath.Join(dir, "out")
	sweepOK(t, "sweep", sw, "--out", out)
	res := string(readFile(t, filepath.Join(out, "results.jsonl")))
	if !strings.Contains(res, `"gemm_peak_fraction":0.5`) || !strings.Contains(res, `"feasible":true`) {
		t.Errorf("the point did not use sweeps/cal.toml:\n%.600s", res)
	}
	sw2 := write("sweeps/s2.toml", strings.Replace(string(readFile(t, sw)), "cal.toml", "missing.toml", 1))
	out2 := filepath.Join(dir, "out2")
	code, _, errs := runCLI(t, "sweep", sw2, "--out", out2)
	if code != 2 || !strings.Contains(errs, "s2.toml:9: calibration.file:") {
		t.Errorf("unreadable calibration.file: exit %d, stderr %q; want exit 2 at s2.toml:9", code, errs)
	}
	if _, err := os.Stat(filepath.Join(out2, "results.jsonl")); err == nil {
		t.Error("points ran although the calibration file cannot be read")
	}
	code, _, errs = runCLI(t, "run", "--set", "foo.bar=1")
	if code != 2 || !strings.HasPrefix(errs, "--set: foo: unknown key") {
		t.Errorf("--set foo.bar=1: exit %d, stderr %q; want it placed at --set", code, errs)
	}
}
