package rl_test

import (
	"math"
	"os"
	"strings"
	"testing"

	"trainsim/parallelism"
	"trainsim/rl"
	"trainsim/scenario"
)

// loadScenario reads a scenario file with its --set overrides and returns
// the validated job and its [rl] table.
func loadScenario(tb testing.TB, file string, sets ...string) (parallelism.Valid, rl.Config) {
	tb.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	sc, err := scenario.Load(file, src, sets)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := sc.Validate()
	if err != nil {
		tb.Fatal(err)
	}
	return v, *sc.RL
}

func runScenario(t *testing.T, file string, sets ...string) *rl.Result {
	t.Helper()
	v, cfg := loadScenario(t, file, sets...)
	r, err := rl.Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestInstructGPTScenario: the InstructGPT-style step reports every phase,
// the phases add up to the step, and generation is said to be bound by HBM
// bandwidth or by the longest responses. Split placement and one-step
// off-policy change the step, and the notes say why.
func TestInstructGPTScenario(t *testing.T) {
	const file = "../scenarios/instructgpt-175b-ppo.toml"
	r := runScenario(t, file)
	if !r.Feasible {
		t.Fatalf("infeasible: %s", r.Reason)
	}
	for name, v := range map[string]float64{"generation": float64(r.Generation), "scoring": float64(r.Scoring), "training": float64(r.Training), "refit": float64(r.Refit)} {
		if !(v > 0) {
			t.Errorf("%s: %g", name, v)
		}
	}
	sum := r.Generation + r.Scoring + r.Training + r.Refit + r.Swap + r.Idle
	if math.Abs(float64(sum-r.Step)) > 1e-6*float64(r.Step) {
		t.Errorf("phases sum to %s, step %s", sum, r.Step)
	}
	if !strings.Contains(r.GenerationBound, "HBM") && !strings.Contains(r.GenerationBound, "longest") {
		t.Errorf("generation bound: %q", r.GenerationBound)
	}
	split := runScenario(t, file, "rl.placement=split", "rl.gen_gpus=128")
	off := runScenario(t, file, "rl.placement=split", "rl.gen_gpus=128", "rl.off_policy=1")
	if split.Step == r.Step || !(off.Step < split.Step) {
		t.Errorf("colocated %s, split %s, split one-step off-policy %s: want them different and off-policy faster", r.Step, split.Step, off.Step)
	}
	if !strings.Contains(strings.Join(off.Notes, " "), "slower pool") || !strings.Contains(strings.Join(split.Notes, " "), "each pool waits") {
		t.Errorf("notes do not say why: %q / %q", split.Notes, off.Notes)
	}
	col := runScenario(t, file, "rl.off_policy=1")
	if col.Step != r.Step || !strings.Contains(strings.Join(col.Notes, " "), "no effect colocated") {
		t.Errorf("colocated off-policy: step %s (on-policy %s), notes %q", col.Step, r.Step, col.Notes)
	}
}

func TestGRPOScenario(t *testing.T) {
	r := runScenario(t, "../scenarios/grpo-llama3-8b-h100.toml")
	if !r.Feasible || r.Samples != 2048 {
		t.Errorf("GRPO example: feasible %v, %d samples", r.Feasible, r.Samples)
	}
}

// BenchmarkGRPOScenario times the replay of the GRPO example (2048
// responses up to 3840 tokens on 16 engines): decode iterations are
// aggregated, so it stays in milliseconds.
func BenchmarkGRPOScenario(b *testing.B) {
	v, cfg := loadScenario(b, "../scenarios/grpo-llama3-8b-h100.toml")
	for b.Loop() {
		if _, err := rl.Run(v, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRolloutCalls times the GRPO example made in calls
// (rl.rollout_ranks): 8 ranks sending calls of 16 of its 2048 responses,
// of unequal lengths, to 8 engines, each call priced as its own engine run
// and scored before the rank's next one.
func BenchmarkRolloutCalls(b *testing.B) {
	v, cfg := loadScenario(b, "../scenarios/grpo-llama3-8b-h100.toml", "rl.placement=split", "rl.gen_gpus=8", "rl.rollout_ranks=8", "rl.max_batch=16", "rl.offload=overflow", "rl.optimizer_swap_rate=0B/s")
	for b.Loop() {
		if _, err := rl.Run(v, cfg); err != nil {
			b.Fatal(err)
		}
	}
}
