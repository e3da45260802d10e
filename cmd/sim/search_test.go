package main

import (
	"encoding/json"
	"math"
	"strconv"
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

type searchJSON struct {
	Candidates, Replayed int
	Pruned               map[string]int
	PricePerGPUHour      float64   `json:"price_per_gpu_hour"`
	CostToTrain          []float64 `json:"cost_to_train"`
	Best, Front          []struct {
		StepTimeS    float64 `json:"step_time_s"`
		GPUs         int     `json:"gpus"`
		TimeToTrainS float64 `json:"time_to_train_s"`
		GPUHours     float64 `json:"gpu_hours"`
	}
}

func runSearch(t *testing.T, args ...string) searchJSON {
	t.Helper()
	small := []string{"--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=1", "--set", "training.global_batch=8", "--set", "training.tokens=1e10",
		"--set", "parallelism.pp=1", "--set", "parallelism.microbatch=1", "--set", "parallelism.virtual_stages=1", "--set", "parallelism.schedule=1f1b"}
	code, out, errs := runCLI(t, append(append([]string{"search", "--format", "json"}, args...), small...)...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	var got searchJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestSearchLimits: the Pareto front over node counts (more GPUs, less time
// to train, each entry the best of its node count); --max-gpus drops the
// larger node counts; --max-days and --max-cost keep exactly the layouts
// of the unconstrained ranking that meet them (the best first), pruning
// the others with their reason; --price-per-gpu-hour prices each layout;
// limits without training.tokens or a price, or negative, are bad input.
func TestSearchLimits(t *testing.T) {
	all := runSearch(t, "--top", "8", "--nodes", "1,2,4")
	if len(all.Front) < 2 {
		t.Fatalf("front %+v", all.Front)
	}
	for i := 1; i < len(all.Front); i++ {
		a, b := all.Front[i-1], all.Front[i]
		if b.GPUs <= a.GPUs || b.TimeToTrainS >= a.TimeToTrainS {
			t.Errorf("front not GPUs up, time to train down: %+v", all.Front)
		}
	}
	per := map[int]float64{} // each node count's best, from runs of one node count
	for _, n := range []string{"1", "2", "4"} {
		one := runSearch(t, "--top", "1", "--nodes", n)
		per[one.Best[0].GPUs] = one.Best[0].TimeToTrainS
	}
	for _, e := range all.Front {
		if per[e.GPUs] != e.TimeToTrainS {
			t.Errorf("front entry %d GPUs: %v s, that node count's best %v s", e.GPUs, e.TimeToTrainS, per[e.GPUs])
		}
	}

	capped := runSearch(t, "--top", "8", "--nodes", "1,2,4", "--max-gpus", "16")
	for _, e := range capped.Best {
		if e.GPUs > 16 {
			t.Errorf("--max-gpus 16: a layout on %d GPUs", e.GPUs)
		}
	}
	if capped.Candidates >= all.Candidates {
		t.Errorf("--max-gpus 16: %d candidates, %d without", capped.Candidates, all.Candidates)
	}

	ranked := runSearch(t, "--top", "12")
	days := ranked.Best[5].TimeToTrainS / 86400 // the written figure: the limit keeps that layout
	limited := runSearch(t, "--top", "12", "--max-days", strconv.FormatFloat(days, 'g', -1, 64))
	if limited.Pruned["max_days"] == 0 || len(limited.Best) != 6 {
		t.Fatalf("--max-days %g: %d best, pruned %v", days, len(limited.Best), limited.Pruned)
	}
	for i, e := range limited.Best {
		if e != ranked.Best[i] {
			t.Errorf("--max-days #%d: %+v, unconstrained %+v", i, e, ranked.Best[i])
		}
	}

	priced := runSearch(t, "--top", "12", "--objective", "cost", "--price-per-gpu-hour", "2.5")
	if priced.PricePerGPUHour != 2.5 || len(priced.CostToTrain) != len(priced.Best) {
		t.Fatalf("priced: %+v", priced)
	}
	for i, e := range priced.Best {
		if c := priced.CostToTrain[i]; math.Abs(c-2.5*e.GPUHours) > 1e-9*c {
			t.Errorf("#%d: cost %v, GPU-hours %v × 2.5", i, c, e.GPUHours)
		}
	}
	// The 4th layout's cost as the JSON writes it (12 significant digits,
	// units.Number): the limit compares at that precision and keeps it.
	budget := priced.CostToTrain[3]
	within := runSearch(t, "--top", "12", "--objective", "cost", "--price-per-gpu-hour", "2.5", "--max-cost", strconv.FormatFloat(budget, 'g', -1, 64))
	if within.Pruned["max_cost"] == 0 || len(within.Best) != 4 {
		t.Fatalf("--max-cost %g: %d best, pruned %v", budget, len(within.Best), within.Pruned)
	}

	for _, bad := range [][]string{
		{"--max-days", "3", "--set", "training.tokens=0"},
		{"--max-cost", "100", "--set", "training.tokens=1e10"},
		{"--price-per-gpu-hour", "-1"},
		{"--max-days", "-2"},
		// A negative limit or worker count was taken as "none" or the
		// default; a node count below 1 was blamed on the GPU limit.
		{"--max-gpus", "-5"},
		{"--workers", "-3"},
		{"--nodes", "-4"},
		{"--nodes", "0,1"},
	} {
		code, _, errs := runCLI(t, append([]string{"search", "--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=1", "--set", "training.global_batch=8",
			"--set", "parallelism.pp=1", "--set", "parallelism.microbatch=1", "--set", "parallelism.virtual_stages=1", "--set", "parallelism.schedule=1f1b"}, bad...)...)
		if code != exitBadInput || !strings.Contains(errs, bad[0]) {
			t.Errorf("%v: exit %d, %s", bad, code, errs)
		}
	}
}

// TestSearchNeedsTokens: every flag that prices or limits the run as a whole
// (--price-per-gpu-hour, --max-days, --max-cost) on a scenario without
// training.tokens is refused, exit 2, naming the key; the price is not
// silently left out of the ranking.
func TestSearchNeedsTokens(t *testing.T) {
	small := []string{"search", "--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=1", "--set", "training.global_batch=8", "--set", "training.tokens=0",
		"--set", "parallelism.pp=1", "--set", "parallelism.microbatch=1", "--set", "parallelism.virtual_stages=1", "--set", "parallelism.schedule=1f1b"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--price-per-gpu-hour", "2.5"}, "--price-per-gpu-hour: needs training.tokens, the tokens to train on (e.g. --set training.tokens=1e12)\n"},
		{[]string{"--price-per-gpu-hour", "2.5", "--format", "json"}, "--price-per-gpu-hour: needs training.tokens, the tokens to train on (e.g. --set training.tokens=1e12)\n"},
		{[]string{"--price-per-gpu-hour", "2.5", "--objective", "cost"}, "--price-per-gpu-hour: needs training.tokens, the tokens to train on (e.g. --set training.tokens=1e12)\n"},
		{[]string{"--max-days", "3"}, "--max-days: needs training.tokens\n"},
		{[]string{"--max-cost", "100", "--price-per-gpu-hour", "2.5"}, "--max-cost: needs training.tokens and --price-per-gpu-hour\n"},
	} {
		code, out, errs := runCLI(t, append(append([]string(nil), small...), c.args...)...)
		if code != exitBadInput || out != "" || errs != c.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}
