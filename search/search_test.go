package search

import (
	"slices"
	"testing"

	"trainsim/parallelism"
	"trainsim/scenario"
	"trainsim/scenarios"
)

// small is the default scenario shrunk to a search a test can replay
// exhaustively: GPT 1.7B on two DGX A100 nodes, 8 sequences per step.
func small(t *testing.T, sets ...string) parallelism.Job {
	t.Helper()
	name, src := scenarios.Default()
	sc, err := scenario.Load(name, src, append([]string{"model.preset=gpt-1.7b", "cluster.nodes=2", "training.global_batch=8", "parallelism.pp=1", "parallelism.microbatch=1", "parallelism.virtual_stages=1", "parallelism.schedule=1f1b"}, sets...))
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

// smallMoE is a mixture-of-experts search a test can replay exhaustively:
// Mixtral 8x7B cut to 4 layers of 1,024 tokens, on DGX H100 nodes, 8
// sequences per step, flash attention (so context parallelism is valid
// too).
func smallMoE(t *testing.T, sets ...string) parallelism.Job {
	t.Helper()
	return small(t, append([]string{"model.preset=mixtral-8x7b", "model.layers=4", "model.seq_len=1024", "cluster.system=dgx-h100",
		"training.attention=flash", "parallelism.sequence_parallel=true", "parallelism.zero=1"}, sets...)...)
}

// TestPruningIsSafe: for each objective, the pruned search finds the same
// best layouts, with the same step times, as a replay of every candidate
// that fits (ranked here by that objective, ties by index), and replays
// fewer; over two node counts, with the same Pareto front.
func TestPruningIsSafe(t *testing.T) {
	checkSafe(t, small(t), []int{1, 2})
}

// TestPruningIsSafeMoE is TestPruningIsSafe on a mixture-of-experts model,
// where expert parallelism (EP, ETP, moe.overlap) and context parallelism
// are enumerated too; the best layouts must include some with EP > 1.
func TestPruningIsSafeMoE(t *testing.T) {
	if testing.Short() {
		t.Skip("replays every candidate")
	}
	base := smallMoE(t, "cluster.nodes=1", "training.global_batch=4")
	checkSafe(t, base, []int{1})
	res, err := Run(base, Options{Top: 20})
	if err != nil {
		t.Fatal(err)
	}
	ep, cp := 0, 0
	for _, e := range res.Best {
		if e.Job.Layout.EP > 1 {
			ep++
		}
		if e.Job.Layout.CP > 1 {
			cp++
		}
	}
	if ep == 0 {
		t.Errorf("no layout with EP > 1 among the best 20")
	}
	t.Logf("best 20: %d with EP > 1, %d with CP > 1; best %+v", ep, cp, res.Best[0].Job.Layout)
}

func checkSafe(t *testing.T, base parallelism.Job, nodes []int) {
	t.Helper()
	all, err := Run(base, Options{Top: 1 << 30, Exhaustive: true, Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Objectives() {
		ex := slices.Clone(all.Best)
		for i := range ex {
			ex[i].Objective = objective(o, ex[i].Job, ex[i].Result.StepTime)
		}
		sortEntries(ex)
		got, err := Run(base, Options{Top: 5, Objective: o, Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Best) != 5 || !slices.Equal(indices(got.Best), indices(ex[:5])) {
			t.Fatalf("%s: pruned best %v, exhaustive %v", o, indices(got.Best), indices(ex[:5]))
		}
		for i := range got.Best {
			if got.Best[i].Result.StepTime != ex[i].Result.StepTime || got.Best[i].Bound > got.Best[i].Result.StepTime {
				t.Errorf("%s #%d: step %v (bound %v), exhaustive %v", o, i, got.Best[i].Result.StepTime, got.Best[i].Bound, ex[i].Result.StepTime)
			}
		}
		if got.Candidates != all.Candidates || got.Replayed >= all.Replayed {
			t.Errorf("%s: %d candidates, %d replayed; exhaustive %d, %d", o, got.Candidates, got.Replayed, all.Candidates, all.Replayed)
		}
		if len(nodes) > 1 && !slices.Equal(indices(got.Front), indices(all.Front)) {
			t.Errorf("%s: front %v, exhaustive %v", o, indices(got.Front), indices(all.Front))
		}
		t.Logf("%s: %d candidates, pruned %v, replayed %d (exhaustive %d); best step %v", o, got.Candidates, got.Pruned, got.Replayed, all.Replayed, got.Best[0].Result.StepTime)
	}
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
		if !slices.Equal(indices(got.Best), indices(first.Best)) || got.Replayed != first.Replayed || got.Candidates != first.Candidates || len(got.Pruned) != len(first.Pruned) {
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

// BenchmarkSearchDefault searches the default scenario (GPT-3 175B on 1024
// A100s, batch 1536): go test -run=^$ -bench='SearchDefault$' -benchtime=1x ./search/
func BenchmarkSearchDefault(b *testing.B) { benchSearch(b) }

// BenchmarkSearchDefaultFlash is the same with flash attention, where
// context parallelism is valid: go test -run=^$ -bench=SearchDefaultFlash
// -benchtime=1x ./search/
func BenchmarkSearchDefaultFlash(b *testing.B) { benchSearch(b, "training.attention=flash") }

// BenchmarkSearchMixtral searches scenarios/mixtral-8x7b-ep8.toml (Mixtral
// 8x7B on 64 H100s; EP, ETP and moe.overlap enumerated):
// go test -run=^$ -bench=SearchMixtral -benchtime=1x ./search/
func BenchmarkSearchMixtral(b *testing.B) {
	name, src, ok := scenarios.Lookup("mixtral-8x7b-ep8")
	if !ok {
		b.Fatal("no scenario mixtral-8x7b-ep8")
	}
	benchSearchSrc(b, name, src)
}

func benchSearch(b *testing.B, sets ...string) {
	name, src := scenarios.Default()
	benchSearchSrc(b, name, src, sets...)
}

func benchSearchSrc(b *testing.B, name string, src []byte, sets ...string) {
	sc, err := scenario.Load(name, src, sets)
	if err != nil {
		b.Fatal(err)
	}
	v, err := sc.Validate()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := Run(v.Job(), Options{Top: 5})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Candidates), "candidates")
		b.ReportMetric(float64(r.Replayed), "replayed")
		b.ReportMetric(float64(r.Best[0].Result.StepTime), "best-step-s")
	}
}

// TestMoERefusedAreInvalid: every candidate enumerate leaves out of a
// mixture-of-experts search (moeRefused) is one Job.Validate refuses, and
// the rest are listed with their numbers in enumeration order.
func TestMoERefusedAreInvalid(t *testing.T) {
	base := smallMoE(t, "cluster.nodes=1", "training.global_batch=4")
	refused, i := 0, 0
	kept, all, _ := enumerate(base, 1, nil, Degrees{}, nil)
	k := 0
	walk(base, 1, Degrees{}, func(c cand) {
		c.index = int32(i)
		i++
		if !moeRefused(base, &c) {
			if kept[k] != c {
				t.Fatalf("listed #%d: %+v, want %+v", k, kept[k], c)
			}
			k++
			return
		}
		refused++
		if _, errs := c.job(base).Validate(); len(errs) == 0 {
			t.Fatalf("%+v: left out but valid", c.job(base).Layout)
		}
	})
	if refused == 0 || k != len(kept) || i != all {
		t.Fatalf("%d refused, %d of %d listed, %d of %d numbered", refused, k, len(kept), i, all)
	}
	t.Logf("%d candidates, %d left out as invalid", all, refused)
}

// TestKeepAndFix: Options.Keep and Options.Fix restrict the search to the
// layouts they allow; the best of a restricted search is the best, among
// the allowed layouts, of an unrestricted exhaustive one (checked against
// the full ranking, not Run's own filter), and Fix gives the same best as
// the equivalent Keep while enumerating fewer candidates.
func TestKeepAndFix(t *testing.T) {
	base := small(t)
	all, err := Run(base, Options{Top: 1 << 20, Exhaustive: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fix  Degrees
		keep func(parallelism.Layout) bool
	}{
		{"tp 2", Degrees{TP: 2}, func(l parallelism.Layout) bool { return l.TP == 2 }},
		{"dp 4, micro-batch 2", Degrees{DP: 4, Microbatch: 2}, func(l parallelism.Layout) bool { return l.DP == 4 && l.Microbatch == 2 }},
		{"pp 2", Degrees{PP: 2}, func(l parallelism.Layout) bool { return l.PP == 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The full ranking's first allowed entry.
			i := slices.IndexFunc(all.Best, func(e Entry) bool { return tc.keep(e.Job.Layout) })
			if i < 0 {
				t.Fatal("no allowed layout fits")
			}
			want := all.Best[i]
			byKeep, err := Run(base, Options{Keep: tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			byFix, err := Run(base, Options{Fix: tc.fix})
			if err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string]*Result{"keep": byKeep, "fix": byFix} {
				if len(r.Best) != 1 || !tc.keep(r.Best[0].Job.Layout) || r.Best[0].Objective != want.Objective {
					t.Fatalf("%s: best %+v, want step %g (%+v)", name, r.Best, want.Objective, want.Job.Layout)
				}
			}
			if byKeep.Candidates != all.Candidates || byKeep.Pruned[PrunedExcluded] == 0 {
				t.Errorf("keep: %d candidates (want all %d), %d excluded", byKeep.Candidates, all.Candidates, byKeep.Pruned[PrunedExcluded])
			}
			if byFix.Candidates >= byKeep.Candidates || byFix.Pruned[PrunedExcluded] != 0 {
				t.Errorf("fix: %d candidates (keep %d), %d excluded", byFix.Candidates, byKeep.Candidates, byFix.Pruned[PrunedExcluded])
			}
		})
	}
}

// TestPipelineLayoutKept: a scenario's hand layout (gpt-1.7b's 24 layers
// and an MTP module as 2 stages, "Et*14|t*10mL") stays, unrolled, with
// the candidates of two virtual stages, which split as it says (14 and
// 10); the others split by the default rule; every replayed candidate is
// valid, and the exhaustive search finds the same best.
func TestPipelineLayoutKept(t *testing.T) {
	base := small(t, "model.mtp_depth=1", "parallelism.pp=2", "parallelism.pipeline_layout=Et*14|t*10mL")
	res, err := Run(base, Options{Top: 1 << 20, Exhaustive: true})
	if err != nil {
		t.Fatal(err)
	}
	two, other := 0, 0
	for _, e := range res.Best {
		l := e.Job.Layout
		if l.PP*l.VirtualStages == 2 {
			two++
			if l.PipelineLayout != "Etttttttttttttt|ttttttttttmL" || !slices.Equal(e.Job.StageLayers(), []int{14, 10}) {
				t.Errorf("%+v: layout %q, stages %v", l, l.PipelineLayout, e.Job.StageLayers())
			}
		} else {
			other++
			if l.PipelineLayout != "" {
				t.Errorf("pp %d × v %d keeps the layout %q", l.PP, l.VirtualStages, l.PipelineLayout)
			}
		}
	}
	if two == 0 || other == 0 {
		t.Errorf("%d candidates of two stages and %d others ranked: want both", two, other)
	}
	pruned, err := Run(base, Options{Top: 1})
	if err != nil {
		t.Fatal(err)
	}
	if pruned.Best[0].Index != res.Best[0].Index {
		t.Errorf("pruned best #%d, exhaustive best #%d", pruned.Best[0].Index, res.Best[0].Index)
	}
}
