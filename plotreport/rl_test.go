package plotreport

import (
	"strings"
	"testing"

	"trainsim/report"
)

// TestRLBlocks: a run with an RL step shows its phases (table and stacked
// bar) and the replayed steps as a timeline before the optimizer step.
func TestRLBlocks(t *testing.T) {
	rep := &report.Report{Scenario: "rl", GPUs: 8, Feasible: true, StepTimeS: 2.5, RL: &report.RL{
		Algorithm: "grpo", Placement: "colocated", StepS: 10, GenerationS: 6, ScoringS: 1, TrainingS: 2.5, RefitS: 0.5, Feasible: true,
		SamplesPerStep: 64, OptimizerSteps: 1, Bottleneck: "generation, 60% of the step",
		Timeline: []report.RLSpan{{Lane: "engine 0", Phase: "generation", Step: 0, StartS: 0, EndS: 6}, {Lane: "train", Phase: "training", Step: 0, StartS: 7, EndS: 9.5}},
	}}
	d := RunDocument("r.json", rep)
	md := string(d.Markdown())
	for _, want := range []string{"## RL step", "| generation | 6 s | 60.0% |", "| training | 2.5 s | 25.0% |", "**Bottleneck:** generation, 60% of the step", "| 0 | engine 0 | generation | 0 s | 6 s |", "rl-step.png"} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	if strings.Index(md, "## RL step") > strings.Index(md, "## Key figures") {
		t.Error("the RL step should come before the optimizer step's figures")
	}
	if _, err := Render(d, HTML); err != nil {
		t.Error(err)
	}
}
