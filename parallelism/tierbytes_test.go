package parallelism

import (
	"math"
	"testing"

	"trainsim/topology"
)

// networkCases are layouts whose collectives cross leaves in several ways:
// pipeline sends between stages under different leaves, data-parallel
// rings over several leaves, tensor-parallel groups inside and across
// nodes, rail-optimized fabrics (PXN hops), and every replica replayed.
func networkCases(t *testing.T) map[string]Job {
	t.Helper()
	cases := map[string]Job{}
	// The case: GPT-3 175B on 64 DGX A100 nodes, 4:1 (fewer
	// micro-batches, to keep the test short).
	a := gpt3Job(t, 64, Layout{TP: 8, PP: 16, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 64)
	a.Cluster.Network.Oversubscription = 4
	cases["tp8-pp16-dp4 4:1"] = a
	r := a
	r.Cluster.Network.Topology = topology.RailOptimized
	cases["tp8-pp16-dp4 4:1 rail"] = r
	// Small leaves: DP rings over four leaves, two ranks a node.
	b := gpt3Job(t, 16, Layout{TP: 4, PP: 4, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 1, OverlapGradReduce: true}, 32)
	b.Cluster.Network.NodesPerLeaf = 2
	b.Cluster.Network.Oversubscription = 2
	cases["tp4-pp4-dp8 npl2 2:1"] = b
	br := b
	br.Cluster.Network.Topology = topology.RailOptimized
	cases["tp4-pp4-dp8 npl2 2:1 rail"] = br
	f := b
	f.Options.Ranks = RanksFull
	cases["tp4-pp4-dp8 npl2 2:1 full"] = f
	// Tensor parallelism across nodes.
	c := gpt3Job(t, 8, Layout{TP: 16, PP: 4, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 8)
	c.Cluster.Network.NodesPerLeaf = 2
	c.Cluster.Network.Oversubscription = 3
	cases["tp16-pp4 npl2 3:1"] = c
	// Context parallelism across nodes: ring attention's sends, and the
	// joined CP × DP gradient reduction.
	cp := llama2Long(t, 4, RecomputeNone)
	cp.Model.SeqLen, cp.Model.Layers, cp.Training.GlobalBatch = 16384, 2, 16
	cp.Layout.TP = 2
	cp.Layout.DP = 128 / (2 * 4)
	cp.Cluster.Network.NodesPerLeaf = 4
	cp.Cluster.Network.Oversubscription = 2
	cases["cp4-tp2 npl4 2:1"] = cp
	return cases
}

// TestTierBytesAgree: both network modes report the same bytes per link
// tier. The analytical model derives them from its formulas and the mesh
// placement; the flow-level network counts what it routed on the graph.
func TestTierBytesAgree(t *testing.T) {
	for name, j := range networkCases(t) {
		t.Run(name, func(t *testing.T) {
			a := simulate(t, j)
			j.Options.Network = NetworkFlow
			f := simulate(t, j)
			bytes := func(r *Result) map[string]float64 {
				m := map[string]float64{}
				for _, l := range r.Links {
					m[l.Tier] = float64(l.Bytes)
				}
				return m
			}
			ab, fb := bytes(a), bytes(f)
			for tier := 0; tier < topology.NumTiers; tier++ {
				n := topology.Tier(tier).String()
				if x, y := ab[n], fb[n]; math.Abs(x-y) > 1e-6*math.Max(x, y) {
					t.Errorf("%s: analytical %.6g B, flow %.6g B", n, x, y)
				}
			}
			if ab["leaf-spine"] == 0 {
				t.Errorf("no leaf-spine bytes in %v", ab)
			}
		})
	}
}

// TestOversubscribedModesAgree: on oversubscribed fabrics the analytical
// step time is within 5% of the flow-level network's (what the analytical
// spine model cannot see: other collectives sharing the uplinks at the same
// time, and the rates of the flows after the slowest ones' neighbours end).
func TestOversubscribedModesAgree(t *testing.T) {
	cases := networkCases(t)
	cases["dp-heavy 8:1"] = dpHeavy(t, 8, NetworkAnalytical)
	for name, j := range cases {
		a := simulate(t, j)
		j.Options.Network = NetworkFlow
		f := simulate(t, j)
		e := float64(a.StepTime/f.StepTime) - 1
		t.Logf("%s: analytical %.4f s, flow %.4f s (%+.2f%%)", name, a.StepTime, f.StepTime, 100*e)
		if math.Abs(e) > 0.05 {
			t.Errorf("%s: analytical %v vs flow %v (%+.1f%%)", name, a.StepTime, f.StepTime, 100*e)
		}
	}
}
