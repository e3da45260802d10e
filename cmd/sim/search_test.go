package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSearchJSON: sim search --format json prints one object with the
// counts and the best run reports, best first; bad flags are bad input.
func TestSearchJSON(t *testing.T) {
	small := []string{"--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=1", "--set", "training.global_batch=8",
		"--set", "parallelism.pp=1", "--set", "parallelism.microbatch=1", "--set", "parallelism.virtual_stages=1", "--set", "parallelism.schedule=1f1b"}
	code, out, errs := runCLI(t, append([]string{"search", "--format", "json", "--top", "3", "--nodes", "1,2"}, small...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Candidates, Replayed int
		Pruned               map[string]int
		Best, Front          []struct {
			StepTimeS float64 `json:"step_time_s"`
			GPUs      int     `json:"gpus"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Candidates == 0 || got.Replayed == 0 || len(got.Best) != 3 || len(got.Front) == 0 {
		t.Fatalf("%+v", got)
	}
	for i := 1; i < len(got.Best); i++ {
		if got.Best[i].StepTimeS < got.Best[i-1].StepTimeS {
			t.Errorf("best not sorted: %+v", got.Best)
		}
	}
	code, _, errs = runCLI(t, append([]string{"search", "--objective", "speed"}, small...)...)
	if code != exitBadInput || !strings.Contains(errs, "--objective") {
		t.Errorf("bad objective: exit %d, %s", code, errs)
	}
}
