package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSearchTrace: sim search --trace writes the trace of the best layout,
// byte for byte the one sim run --trace writes with that layout set, the
// trace filters included; its help says so; bad filters and a trace over
// the scenario file are refused before the search.
func TestSearchTrace(t *testing.T) {
	small := []string{"--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=1", "--set", "training.global_batch=8",
		"--set", "parallelism.pp=1", "--set", "parallelism.microbatch=1", "--set", "parallelism.virtual_stages=1", "--set", "parallelism.schedule=1f1b"}
	for _, filters := range [][]string{nil, {"--trace-steps", "1"}, {"--trace-ranks", "0", "--trace-stages", "0"}} {
		t.Run(strings.Join(filters, " "), func(t *testing.T) {
			dir := t.TempDir()
			st, rt := filepath.Join(dir, "search.json"), filepath.Join(dir, "run.json")
			args := append(append([]string{"search", "--top", "2", "--format", "json", "--trace", st}, small...), filters...)
			code, out, errs := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("search: exit %d: %s", code, errs)
			}
			var res struct {
				Best []struct {
					Layout map[string]any `json:"layout"`
				} `json:"best"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Best) == 0 {
				t.Fatalf("search JSON: %v", err)
			}
			// The best layout as sim run keys (microbatches is derived).
			sets := append([]string(nil), small...)
			for k, v := range res.Best[0].Layout {
				if k != "microbatches" {
					sets = append(sets, "--set", fmt.Sprintf("parallelism.%s=%v", k, v))
				}
			}
			args = append(append([]string{"run", "--trace", rt, "-o", filepath.Join(dir, "r.txt")}, sets...), filters...)
			if code, _, errs := runCLI(t, args...); code != 0 {
				t.Fatalf("run: exit %d: %s", code, errs)
			}
			a, errA := os.ReadFile(st)
			b, errB := os.ReadFile(rt)
			if errA != nil || errB != nil || len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("search --trace (%d bytes, %v) differs from run --trace with its best layout (%d bytes, %v)", len(a), errA, len(b), errB)
			}
		})
	}
	if code, out, _ := runCLI(t, "search", "--help"); code != 0 || !strings.Contains(out, "trace of the best layout's replayed step(s)") || !strings.Contains(out, "--trace-steps") {
		t.Errorf("search --help: exit %d\n%s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"search", "--trace", filepath.Join(t.TempDir(), "t.json"), "--trace-stages", "x"}, `--trace-stages: "x" is not a stage or range of stages (e.g. 0,2-3)`},
		{[]string{"search", "--trace", filepath.Join(t.TempDir(), "t.json"), "--trace-steps", "-1"}, "--trace-steps: want 0 (all) or a positive count, not -1"},
		{[]string{"search", tiny, "--trace", tiny}, "--trace: " + tiny + " is also the input scenario; it would be overwritten (choose another file)"},
	} {
		code, out, errs := runCLI(t, c.args...)
		if code != exitBadInput || out != "" || errs != c.want+"\n" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}
