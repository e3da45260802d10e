package parallelism

import (
	"math"
	"testing"

	"trainsim/model"
)

// TestVariationDraw: the number of slow GPUs is round(fraction × GPUs), the
// draw depends on the seed only, and without spread every factor is 1 or
// 1 + slowdown.
func TestVariationDraw(t *testing.T) {
	v := Variation{SlowFraction: 0.01, Slowdown: 0.2}
	a, n := v.draw(1024, 7)
	b, _ := v.draw(1024, 7)
	c, _ := v.draw(1024, 8)
	if n != 10 {
		t.Errorf("%d slow GPUs of 1024 at 1%%, want 10", n)
	}
	count, same := 0, true
	for i := range a {
		if a[i] != 1 && a[i] != 1.2 {
			t.Fatalf("factor %g", a[i])
		}
		if a[i] != 1 {
			count++
		}
		same = same && a[i] == c[i]
		if a[i] != b[i] {
			t.Fatalf("same seed, GPU %d: %g vs %g", i, a[i], b[i])
		}
	}
	if count != 10 || same {
		t.Errorf("%d slow; seeds 7 and 8 alike: %v", count, same)
	}
}

// TestStragglerClassesExact: replaying one replica per class of equally slow
// replicas gives exactly the step of replaying every replica (analytical
// mode), over layouts with and without pipelines, ZeRO and overlap.
func TestStragglerClassesExact(t *testing.T) {
	layouts := []Layout{
		{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull},
		{TP: 4, PP: 2, DP: 8, Microbatch: 1, Schedule: Interleaved, VirtualStages: 2, Recompute: RecomputeSelective, SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true, PPOverlap: true},
		{TP: 2, PP: 1, DP: 16, Microbatch: 2, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 3},
	}
	for i, l := range layouts {
		j := gpt3Job(t, l.TP*l.PP*l.DP/8, l, l.DP*l.PP*4)
		m, _ := model.Preset("gpt-7.5b")
		j.Model = m
		j.Variation = Variation{SlowFraction: 0.05, Slowdown: 0.3}
		j.Options.Seed = 3
		classes := simulate(t, j)
		j.Options.Ranks = RanksFull
		full := simulate(t, j)
		if classes.StepTime != full.StepTime {
			t.Errorf("layout %d: classes %v (%d replicas) vs full %v", i, classes.StepTime, classes.Stragglers.Replicas, full.StepTime)
		}
		if classes.Stragglers.Replicas >= l.DP && l.DP > 4 {
			t.Errorf("layout %d: %d replicas replayed of %d: no reduction", i, classes.Stragglers.Replicas, l.DP)
		}
	}
}

// TestStragglersSlowTheStep: 1% of the default's GPUs 20% slower slow the
// step by far more than the average slowdown (0.2%), since every group
// waits for its slowest member, and the report says what the uniform step
// was.
func TestStragglersSlowTheStep(t *testing.T) {
	j := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	base := simulate(t, j)
	j.Variation = Variation{SlowFraction: 0.01, Slowdown: 0.2}
	j.Options.Seed = 1
	res := simulate(t, j)
	if res.Stragglers == nil || res.Stragglers.SlowGPUs != 10 {
		t.Fatalf("stragglers %+v", res.Stragglers)
	}
	if math.Abs(res.Stragglers.UniformStep/float64(base.StepTime)-1) > 1e-12 {
		t.Errorf("uniform step %v vs %v", res.Stragglers.UniformStep, base.StepTime)
	}
	slow := float64(res.StepTime/base.StepTime) - 1
	if slow < 10*0.002 {
		t.Errorf("step %.4g s vs %.4g s uniform: +%.2f%%, want well above the 0.2%% average", float64(res.StepTime), float64(base.StepTime), 100*slow)
	}
	if slow > 0.2+1e-9 {
		t.Errorf("step +%.2f%%, more than the stragglers' own 20%%", 100*slow)
	}
	t.Logf("1%% of GPUs 20%% slower: step %.3f s vs %.3f s (+%.1f%%), %d replicas replayed", float64(res.StepTime), float64(base.StepTime), 100*slow, res.Stragglers.Replicas)
}

// BenchmarkReplayStragglers: the default with 1% of its GPUs 20% slower:
// the classes of replicas replayed, plus the uniform replay for comparison.
// Run with -cpu 1.
func BenchmarkReplayStragglers(b *testing.B) {
	j := gpt3Job(b, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	j.Variation = Variation{SlowFraction: 0.01, Slowdown: 0.2}
	j.Options.Seed = 1
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := simulateJob(j); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSlowLinks: slow NICs lengthen the data-parallel collectives that cross
// nodes through them; every replica is replayed; with every NIC slow by 1
// each such collective takes exactly twice its price, so the exposed DP time
// of a blocking reduction doubles.
func TestSlowLinks(t *testing.T) {
	l := Layout{TP: 8, PP: 1, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}
	j := gpt3Job(t, 4, l, 16)
	m, _ := model.Preset("gpt-1.7b")
	j.Model = m
	base := simulate(t, j)
	j.Variation = Variation{LinkFraction: 1, LinkSlowdown: 1}
	j.Options.Seed = 4
	all := simulate(t, j)
	if all.Stragglers == nil || all.Stragglers.SlowLinks != 32 || all.Stragglers.Replicas != 4 {
		t.Fatalf("stragglers %+v", all.Stragglers)
	}
	if r := float64(all.Comm["dp"].Total / base.Comm["dp"].Total); math.Abs(r-2) > 1e-6 {
		t.Errorf("DP transfer time ×%.6f with every NIC twice as slow, want ×2", r)
	}
	if all.Comm["tp"].Total != base.Comm["tp"].Total {
		t.Errorf("TP inside the node changed: %v vs %v", all.Comm["tp"].Total, base.Comm["tp"].Total)
	}
	j.Variation = Variation{LinkFraction: 0.05, LinkSlowdown: 1}
	some := simulate(t, j)
	if !(some.StepTime > base.StepTime && some.StepTime <= all.StepTime) {
		t.Errorf("step: uniform %v, 5%% slow NICs %v, all slow %v", base.StepTime, some.StepTime, all.StepTime)
	}
}
