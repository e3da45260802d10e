package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"trainsim/rl"
	"trainsim/units"
)

func rlResult() (rl.Config, *rl.Result) {
	c := rl.Config{Algorithm: rl.PPO, Placement: rl.Colocated, Prompts: 1000, PromptsPerStep: 100}
	r := &rl.Result{Step: 10, Generation: 6, Scoring: 1, Training: 2.5, Refit: 0.5, Samples: 100, Tokens: 51200, TokensPerSecPerGPU: 640,
		GenGPUs: 8, TrainGPUs: 8, Replicas: 1, Slots: 100, KVCapacity: 60000, GenerationBound: "HBM bandwidth",
		Bottleneck: "generation, 60% of the step, bound by HBM bandwidth", GenerationMFU: 0.05, GenerationHBM: 0.7, ScoringMFU: 0.5, TrainingMFU: 0.4,
		RefitBytes: 2e9, OptimizerSteps: 1, TrainingStep: 2.5, PromptsTime: 100, Feasible: true,
		Timeline: []rl.Span{{Lane: "engine 0", Phase: "generation", Start: 0, End: 6}, {Lane: "train", Phase: "scoring", Start: 6, End: 7},
			{Lane: "train", Phase: "training", Start: 7, End: 9.5}, {Lane: "train", Phase: "refit", Start: 9.5, End: 10}},
		Memory: rl.Memory{GenerationWeights: units.Bytes(14e9), KVCache: units.Bytes(30e9)}}
	return c, r
}

func TestRLReport(t *testing.T) {
	c, r := rlResult()
	out := RLOf(c, r)
	var b bytes.Buffer
	if err := WriteRLText(&b, out); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{"RL step          ppo, colocated", "generation", "60.0%", "scoring", "training", "refit", "bottleneck     generation, 60% of the step", "engine 0  |ggg", "tttt"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	js, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{`"generation_s":6`, `"scoring_s":1`, `"training_s":2.5`, `"refit_s":0.5`, `"idle_s":0`, `"samples_per_step":100`, `"tokens_per_s_per_gpu":640`} {
		if !strings.Contains(string(js), f) {
			t.Errorf("JSON lacks %s: %s", f, js)
		}
	}
	rep := &Report{Scenario: "x", RL: out}
	if err := rep.check(); err != nil {
		t.Errorf("a sound RL object refused: %v", err)
	}
	rep.RL.IdleS = -1
	rep.RL.Utilisation.TrainingMFU = 1.5
	if err := rep.check(); err == nil || !strings.Contains(err.Error(), "rl.idle_s") || !strings.Contains(err.Error(), "rl.utilisation.training_mfu") {
		t.Errorf("negative idle and MFU > 1 not refused: %v", err)
	}
}

// TestRLKVBudgetNotNegative: an engine whose weights and profile take more
// than its share has no KV cache: the JSON's kv_budget.kv_cache says 0, as
// the text report and the infeasibility reason do, not the negative
// remainder; and the report refuses a negative one.
func TestRLKVBudgetNotNegative(t *testing.T) {
	c, r := rlResult()
	r.Feasible = false
	r.KVBudget = rl.KVBudget{Profile: rl.KVProfileVLLMV1, Device: 85e9, Fraction: 0.1, Weights: 15e9, Activation: 5e9, NonTorch: 0.6e9, KV: -12.1e9}
	out := RLOf(c, r)
	if out.KVBudget.KV != 0 {
		t.Errorf("kv_budget.kv_cache = %g, want 0 (nothing left)", out.KVBudget.KV)
	}
	var b bytes.Buffer
	if err := WriteRLText(&b, out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "→ 0 B for the KV cache") {
		t.Errorf("text: %s", b.String())
	}
	rep := &Report{Scenario: "x", RL: out}
	if err := rep.check(); err != nil {
		t.Errorf("refused: %v", err)
	}
	rep.RL.KVBudget.KV = -1
	if err := rep.check(); err == nil || !strings.Contains(err.Error(), "rl.kv_budget.kv_cache") {
		t.Errorf("a negative kv_budget.kv_cache not refused: %v", err)
	}
}
