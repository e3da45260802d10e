package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTopologyFileLatencyUsed: in flow mode the link latencies of an
// explicit topology file set the collectives' fixed latency: the same file
// with every latency a thousand times larger gives a longer step, and one
// without latencies falls back to the cluster's generic latencies (the
// step the file's own, similar, latencies give is close to it).
func TestTopologyFileLatencyUsed(t *testing.T) {
	dir := t.TempDir()
	scen := string(readFile(t, "testdata/two-nodes-scenario.toml"))
	topo := string(readFile(t, "testdata/two-nodes.toml"))
	step := func(name, topoText string) float64 {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name+".toml"), []byte(topoText), 0o644); err != nil {
			t.Fatal(err)
		}
		sc := filepath.Join(dir, name+"-scenario.toml")
		if err := os.WriteFile(sc, []byte(strings.Replace(scen, `file = "two-nodes.toml"`, `file = "`+name+`.toml"`, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, "run", sc, "--format", "json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errs)
		}
		var rep struct {
			Step float64 `json:"step_time_s"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		return rep.Step
	}
	base := step("as-is", topo)
	slow := step("slow", strings.NewReplacer(`latency = "0.5us"`, `latency = "500us"`, `latency = "1us"`, `latency = "1000us"`).Replace(topo))
	var kept []string
	for _, line := range strings.Split(topo, "\n") {
		if !strings.HasPrefix(line, "latency") {
			kept = append(kept, line)
		}
	}
	none := step("none", strings.Join(kept, "\n"))
	if !(slow > base*1.05) {
		t.Errorf("link latencies ×1000: step %g s, as given %g s: the file's latencies are not used", slow, base)
	}
	if d := (base - none) / none; d < -0.05 || d > 0.05 {
		t.Errorf("as given %g s, without latencies (generic) %g s: want them within 5%%", base, none)
	}
}
