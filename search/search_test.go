package search

import (
	"testing"

	"trainsim/parallelism"
	"trainsim/scenario"
	"trainsim/scenarios"
)

// small is the default scenario shrunk to a search a test can replay
// exhaustively: GPT 1.7B on two DGX A100 nodes, 16 sequences per step.
func small(t *testing.T, sets ...string) parallelism.Job {
	t.Helper()
	name, src := scenarios.Default()
	sc, err := scenario.Load(name, src, append([]string{"model.preset=gpt-1.7b", "cluster.nodes=2", "training.global_batch=16", "parallelism.pp=1", "parallelism.microbatch=1", "parallelism.virtual_stages=1", "parallelism.schedule=1f1b"}, sets...))
	if err != nil {
		t.Fatal(err)
	}
	v, err := sc.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return v.Job()
}

func indices(es []Entry) []int {
	out := make([]int, len(es))
	for i, e := range es {
		out[i] = e.Index
	}
	return out
}

// TestPruningIsSafe: the pruned search finds the same best layouts, with the
// same step times, as a replay of every candidate that fits, for each
// objective, and replays fewer.
func TestPruningIsSafe(t *testing.T) {
	if testing.Short() {
		t.Skip("replays every candidate")
	}
	base := small(t)
	full, err := Run(base, Options{Top: 5, Exhaustive: true, Nodes: []int{2, 4}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Objectives() {
		ex := full
		if o != StepTime {
			if ex, err = Run(base, Options{Top: 5, Objective: o, Exhaustive: true, Nodes: []int{2, 4}}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Run(base, Options{Top: 5, Objective: o, Nodes: []int{2, 4}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Best) != 5 || !equalInts(indices(got.Best), indices(ex.Best)) {
			t.Fatalf("%s: pruned best %v, exhaustive %v", o, indices(got.Best), indices(ex.Best))
		}
		for i := range got.Best {
			if got.Best[i].Result.StepTime != ex.Best[i].Result.StepTime || got.Best[i].Bound > got.Best[i].Result.StepTime {
				t.Errorf("%s #%d: step %v (bound %v), exhaustive %v", o, i, got.Best[i].Result.StepTime, got.Best[i].Bound, ex.Best[i].Result.StepTime)
			}
		}
		if got.Candidates != ex.Candidates || got.Replayed >= ex.Replayed {
			t.Errorf("%s: %d candidates, %d replayed; exhaustive %d, %d", o, got.Candidates, got.Replayed, ex.Candidates, ex.Replayed)
		}
		if len(got.Front) == 0 || len(got.Front) != len(ex.Front) {
			t.Errorf("%s: front %d entries, exhaustive %d", o, len(got.Front), len(ex.Front))
		}
		t.Logf("%s: %d candidates, pruned %v, replayed %d (exhaustive %d); best step %v", o, got.Candidates, got.Pruned, got.Replayed, ex.Replayed, got.Best[0].Result.StepTime)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDeterministic: the result, counts included, is the same whatever the
// number of workers.
func TestDeterministic(t *testing.T) {
	base := small(t)
	var first *Result
	for _, w := range []int{1, 2, 7} {
		got, err := Run(base, Options{Top: 3, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = got
			continue
		}
		if !equalInts(indices(got.Best), indices(first.Best)) || got.Replayed != first.Replayed || got.Candidates != first.Candidates || len(got.Pruned) != len(first.Pruned) {
			t.Fatalf("workers %d: best %v replayed %d pruned %v; workers 1: %v %d %v", w, indices(got.Best), got.Replayed, got.Pruned, indices(first.Best), first.Replayed, first.Pruned)
		}
		for k, v := range first.Pruned {
			if got.Pruned[k] != v {
				t.Fatalf("workers %d: pruned %v, workers 1: %v", w, got.Pruned, first.Pruned)
			}
		}
		for i := range got.Best {
			if got.Best[i].Result.StepTime != first.Best[i].Result.StepTime {
				t.Fatalf("workers %d: step %v ≠ %v", w, got.Best[i].Result.StepTime, first.Best[i].Result.StepTime)
			}
		}
	}
}
