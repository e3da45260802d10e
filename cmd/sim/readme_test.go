package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeScenarioExamplesRun: each `sim run scenarios/...` line of the
// README's Use block is a claim that the built-in scenario, with the
// overrides shown, replays; an example that has become infeasible (exit 1,
// as `--set moe.skew=2` on the Mixtral scenario did once the hottest expert's
// activations were counted) or is refused (exit 2) fails here.
func TestReadmeScenarioExamplesRun(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, use, ok := strings.Cut(string(readme), "\n## Use\n")
	if !ok {
		t.Fatal("README.md has no ## Use section")
	}
	t.Chdir(filepath.Join("..", ".."))
	n := 0
	for _, line := range strings.Split(use, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		cmd, _, _ := strings.Cut(line, "#")
		args := strings.Fields(cmd)
		if len(args) < 3 || args[0] != "sim" || args[1] != "run" || !strings.HasPrefix(args[2], "scenarios/") {
			continue
		}
		n++
		var stdout, stderr bytes.Buffer
		if code := Main(args[1:], &stdout, &stderr); code != exitOK {
			t.Errorf("README example %q: exit %d: %s", strings.TrimSpace(cmd), code, stderr.String())
		}
	}
	if n < 3 {
		t.Errorf("found %d `sim run scenarios/...` examples in README.md's Use block, want at least 3", n)
	}
}
