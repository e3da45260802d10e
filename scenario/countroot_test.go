package scenario

import (
	"strings"
	"testing"
)

// TestCountRootNoCascade: a node or GPU count out of range (one that parses,
// so that the job is resolved from it) is reported alone: the dp derived
// from it, the GPU-count product with a dp given, the expert sub-mesh and
// the generation engines that read it say nothing of their own. A problem
// independent of it is still reported. Both paths are covered: Load's (a
// decoding problem beside it) and Scenario.Validate's (none).
func TestCountRootNoCascade(t *testing.T) {
	const nodes = `--set: cluster.nodes: must be an integer from 1 to 1048576, got 2000000`
	rl := []string{"rl.algorithm=grpo", "rl.prompts_per_step=8", "rl.prompt_len=64", "rl.response_max=128"}
	tests := []struct {
		name string
		sets []string
		want []string
	}{
		{"nodes past the bound, dp derived", []string{"cluster.nodes=2000000"}, []string{nodes}},
		{"nodes past the bound, dp given", []string{"cluster.nodes=2000000", "parallelism.dp=4"}, []string{nodes}},
		{"negative nodes, dp given", []string{"cluster.nodes=-3", "parallelism.dp=4"},
			[]string{`--set: cluster.nodes: must be a positive integer, got -3`}},
		{"too many GPUs in all", []string{"cluster.nodes=1048576", "cluster.gpus_per_node=20"},
			[]string{`--set: cluster.nodes: 1048576 nodes × 20 GPUs = 20971520 GPUs, more than the 16777216 allowed`}},
		{"gpus_per_node past the bound", []string{"cluster.gpus_per_node=2000000"},
			[]string{`--set: cluster.gpus_per_node: must be an integer from 1 to 1048576, got 2000000`}},
		{"with a decoding problem (Load's path)", []string{"cluster.nodes=2000000", "cluster.nodez=1"},
			[]string{`--set: cluster.nodez: unknown key; did you mean "nodes"?`, nodes}},
		{"an independent problem is still reported", []string{"cluster.nodes=2000000", "training.global_batch=0"},
			[]string{nodes, `--set: training.global_batch: must be a positive integer, got 0`}},
		{"the generation engines", append([]string{"cluster.nodes=2000000"}, rl...), []string{nodes}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Load("x.toml", []byte(base), tc.sets)
			if err == nil {
				_, err = sc.Validate()
			}
			if err == nil {
				t.Fatalf("no error, want:\n%s", strings.Join(tc.want, "\n"))
			}
			got := strings.Split(strings.TrimSpace(err.Error()), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestLongNameClipped: an unknown preset's name of 100,000 characters, and
// an unknown key as long, are echoed cut to 80 characters ending in "…".
func TestLongNameClipped(t *testing.T) {
	long := strings.Repeat("x", 100000)
	cut := strings.Repeat("x", 79) + "…"
	tests := []struct {
		name, set, prefix string
	}{
		{"model preset", "model.preset=" + long, `--set: model.preset: no built-in model called "` + cut + `"; `},
		{"system", "cluster.system=" + long, `--set: cluster.system: no built-in system called "` + cut + `"; `},
		{"unknown key", long + "=1", `--set: ` + cut + `: unknown key`},
	}
	for _, tt := range tests {
		_, err := Load("x.toml", []byte(base), []string{tt.set})
		if err == nil {
			t.Fatalf("%s: no error", tt.name)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, tt.prefix) || len(msg) > 2000 {
			t.Errorf("%s: %d bytes: %.300s", tt.name, len(msg), msg)
		}
	}
}
