package parallelism

import (
	"math"
	"testing"

	"trainsim/collective"
	"trainsim/topology"
	"trainsim/units"
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
	// The default scenario (GPT-3 175B, TP8 PP16 DP8 on 128 nodes, leaves
	// of 20 nodes): stage s holds nodes 8s…8s+7, so the leaf boundaries at
	// nodes 20, 60 and 100 cut stages 2, 7 and 12 — their data-parallel
	// rings straddle two leaves — and the pipeline sends of stages 1↔2,
	// 2↔3, 6↔7, 7↔8, 11↔12 and 12↔13 cross for half the data-parallel
	// ranks only (the representative pair of stages 1→2 stays in leaf 0).
	d := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	cases["default 1:1"] = d
	d4 := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 256)
	d4.Cluster.Network.Oversubscription = 4
	cases["default 4:1 batch 256"] = d4
	for name, j := range cases {
		// The ECMP spine model; TestOversubscribedModesAgree adds spray.
		j.Options.Routing = RoutingECMP
		cases[name] = j
	}
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
	dh := dpHeavy(t, 8, NetworkAnalytical)
	dh.Options.Routing = RoutingECMP
	cases["dp-heavy 8:1"] = dh
	// Oversubscribed enough that sprayed rings fill the uplinks too.
	dh32 := dpHeavy(t, 32, NetworkAnalytical)
	dh32.Options.Routing = RoutingECMP
	cases["dp-heavy 32:1"] = dh32
	n8 := cases["tp4-pp4-dp8 npl2 2:1"]
	n8.Cluster.Network.Oversubscription = 8
	cases["tp4-pp4-dp8 npl2 8:1"] = n8
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	for _, name := range names {
		// The same cases sprayed over the spines (adaptive routing).
		j := cases[name]
		j.Options.Routing = RoutingSpray
		cases[name+" spray"] = j
	}
	steps := map[string]units.Seconds{}
	for name, j := range cases {
		a := simulate(t, j)
		steps[name] = a.StepTime
		j.Options.Network = NetworkFlow
		f := simulate(t, j)
		e := float64(a.StepTime/f.StepTime) - 1
		t.Logf("%s: analytical %.4f s, flow %.4f s (%+.2f%%)", name, a.StepTime, f.StepTime, 100*e)
		if math.Abs(e) > 0.05 {
			t.Errorf("%s: analytical %v vs flow %v (%+.1f%%)", name, a.StepTime, f.StepTime, 100*e)
		}
	}
	// The spray model is exercised: sprayed, the DP-heavy rings fill the
	// uplinks at 32:1 (not at 8:1).
	if lo, hi := steps["dp-heavy 8:1 spray"], steps["dp-heavy 32:1 spray"]; !(hi > 1.2*lo) {
		t.Errorf("dp-heavy sprayed: 32:1 %v vs 8:1 %v, want ≥ 20%% slower", hi, lo)
	}
}

// TestCrossingStraddlingLeaves works the default scenario's spine crossings
// out by hand (TP8 PP16 DP8 on 128 nodes, leaves of 20 nodes; stage s on
// nodes 8s…8s+7, data-parallel rank d of a stage on node 8s+d, TP rank r on
// its GPU r).
func TestCrossingStraddlingLeaves(t *testing.T) {
	j := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	m, err := j.mesh()
	if err != nil {
		t.Fatal(err)
	}
	fab := topology.FabricOf(j.Cluster)
	for _, c := range []struct {
		name        string
		op          collective.Op
		g           groupKind
		s, peer     int
		flows, sets int
		share       float64
	}{
		// Stage 1 (nodes 8–15) → stage 2 (16–23): node 8+d sends to 16+d,
		// which is under leaf 1 for d = 4…7: 4 nodes × 8 GPUs = 32 of the
		// 64 pairs leave leaf 0. The representative pair (node 8 → 16)
		// stays in leaf 0.
		{"pp 1→2", collective.SendRecv, groupPP, 1, 2, 32, 1, 0.5},
		// Backward, stage 2 → 1: the same 32 pairs the other way.
		{"pp 2→1", collective.SendRecv, groupPP, 2, 1, 32, 1, 0.5},
		// Stage 4 (32–39) → 5 (40–47): every pair crosses into leaf 2.
		{"pp 4→5", collective.SendRecv, groupPP, 4, 5, 64, 1, 1},
		// Stage 3 (24–31) → 4 (32–39): all under leaf 1.
		{"pp 3→4", collective.SendRecv, groupPP, 3, 4, 0, 0, 0},
		// Stage 2's data-parallel ring per TP rank: nodes 16…23 in order,
		// edges 19→20 (leaf 0 → 1) and 23→16 (leaf 1 → 0) cross: 2 of 8
		// edges, each the same bytes; 8 TP copies, so 8 streams leave each
		// of the two leaves.
		{"dp stage 2", collective.AllReduce, groupDP, 2, 2, 8, 2, 2.0 / 8},
	} {
		got := crossing(m, fab, c.op, c.g, c.s, c.peer, 1)
		if got.Flows != c.flows || got.Sets != c.sets || math.Abs(got.Share-c.share) > 1e-12 {
			t.Errorf("%s: flows %d, sets %d, share %v; want %d, %d, %v", c.name, got.Flows, got.Sets, got.Share, c.flows, c.sets, c.share)
		}
	}
	// The pricer sees the crossing half of stage 1's sends although its
	// representative pair stays in one leaf.
	p := &pricer{j: j, mesh: m}
	if pl := p.placementAt(collective.SendRecv, groupPP, 1, 2); pl.Leaves < 2 || pl.Cross.Share != 0.5 {
		t.Errorf("stage 1 → 2 placement %+v, want two leaves and half the bytes crossing", pl)
	}
}
