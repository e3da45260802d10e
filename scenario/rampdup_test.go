package scenario

import (
	"strings"
	"testing"

	"trainsim/scenarios"
)

// TestRampNoRepeat: a problem of the job itself (a straggler rule, a bad
// precision) is reported once, on its own key, and not again inside a
// job.ramp entry whose job shares it; a problem of the phase's own batch is
// still reported on job.ramp, once per phase.
func TestRampNoRepeat(t *testing.T) {
	const ramp = `job.ramp=[{global_batch = 512, tokens = 1e9}]`
	tests := []struct {
		name string
		sets []string
		want []string
	}{
		{"straggler problem, good phase",
			[]string{"job.straggler_fraction=0.01", ramp},
			[]string{"scenarios/gpt3-175b.toml: job.straggler_slowdown: must be positive when job.straggler_fraction is (0.01): how much longer a slow GPU's kernels take, e.g. 0.2"}},
		{"straggler problem and a phase of its own",
			[]string{"job.straggler_fraction=0.01", `job.ramp=[{global_batch = 512, tokens = 1e9}, {global_batch = 100, tokens = 1e9}]`},
			[]string{
				"scenarios/gpt3-175b.toml: job.straggler_slowdown: must be positive when job.straggler_fraction is (0.01): how much longer a slow GPU's kernels take, e.g. 0.2",
				"--set: job.ramp: entry 2: global_batch 100: training.global_batch: 100 is not divisible by dp × microbatch (8 × 1)",
			}},
		{"phase only",
			[]string{`job.ramp=[{global_batch = 100, tokens = 1e9}]`},
			[]string{"--set: job.ramp: entry 1: global_batch 100: training.global_batch: 100 is not divisible by dp × microbatch (8 × 1)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, src := scenarios.Default()
			sc, err := Load(name, src, tc.sets)
			if err == nil {
				_, err = sc.Validate()
			}
			if err == nil {
				t.Fatalf("no error, want:\n%s", strings.Join(tc.want, "\n"))
			}
			if got := err.Error(); got != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
		})
	}
}
