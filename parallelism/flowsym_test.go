package parallelism

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/topology"
)

// flowRun replays j and returns its result and flow network.
func flowRun(t testing.TB, j Job) (*Result, *flowNet) {
	t.Helper()
	r := replayedFor(t, j)
	return r.result(), r.fn
}

// near says whether a and b agree to floating-point rounding.
func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// TestSymmetryReductionIsExact: the flow network reduced to one
// representative per class of identical copies gives the unreduced replay's
// step, breakdown, per-tier bytes and utilisation, and every link's bytes and
// time at capacity, on fabrics where copies contend on shared uplinks (4:1
// oversubscription, leaves that split data-parallel groups unevenly) and on
// non-blocking ones, for several layouts, ZeRO stages and fabrics.
func TestSymmetryReductionIsExact(t *testing.T) {
	cases := []struct {
		name          string
		nodes, perLef int
		oversub       float64
		rail          bool
		routing       string
		l             Layout
	}{
		{"tp8 pp2 dp4, 4 leaves, 4:1", 8, 2, 4, false, RoutingSpray, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}},
		{"tp4 pp2 dp8 zero-1 overlapped, uneven leaves, 4:1", 8, 3, 4, false, RoutingSpray, Layout{TP: 4, PP: 2, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeSelective, SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true}},
		{"tp2 pp1 dp32 zero-3, 1:1", 8, 4, 1, false, RoutingSpray, Layout{TP: 2, PP: 1, DP: 32, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 3}},
		{"tp8 pp4 dp4 interleaved, uneven leaves, 4:1", 16, 5, 4, false, RoutingSpray, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: Interleaved, VirtualStages: 2, Recompute: RecomputeFull}},
		{"tp1 pp4 dp16 zero-2 (data-parallel rings inside nodes), 4:1", 8, 3, 4, false, RoutingSpray, Layout{TP: 1, PP: 4, DP: 16, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 2}},
		{"tp4 pp2 dp8 rail-optimized, 4:1", 8, 2, 4, true, RoutingSpray, Layout{TP: 4, PP: 2, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 1}},
		{"tp8 pp2 dp4 one leaf, ECMP", 8, 8, 1, false, RoutingECMP, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}},
	}
	m, ok := model.Preset("gpt-7.5b")
	if !ok {
		t.Fatal("no gpt-7.5b preset")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := gpt3Job(t, c.nodes, c.l, c.l.DP*c.l.PP*2)
			j.Model = m
			j.Cluster.Network.Oversubscription = c.oversub
			j.Cluster.Network.NodesPerLeaf = c.perLef
			if c.rail {
				j.Cluster.Network.Topology = topology.RailOptimized
			}
			j.Options.Network, j.Options.Routing = NetworkFlow, c.routing
			j.Options.FlowCopies = FlowCopiesClasses
			red, rn := flowRun(t, j)
			j.Options.FlowCopies = FlowCopiesAll
			all, an := flowRun(t, j)
			if rn.red == nil || an.red != nil {
				t.Fatalf("reduction applied: classes %v, all %v", rn.red != nil, an.red != nil)
			}
			if rn.flows != an.flows || rn.sims >= an.sims {
				t.Errorf("%d transfers in %d flows reduced, %d in %d unreduced: want the same transfers in fewer flows", rn.flows, rn.sims, an.flows, an.sims)
			}
			if !near(float64(red.StepTime), float64(all.StepTime)) {
				t.Errorf("step %v reduced, %v unreduced", red.StepTime, all.StepTime)
			}
			if got, want := fmt.Sprint(red.Breakdown), fmt.Sprint(all.Breakdown); got != want {
				t.Errorf("breakdown\n%s reduced\n%s unreduced", got, want)
			}
			if len(red.Links) != len(all.Links) {
				t.Fatalf("tiers %v reduced, %v unreduced", red.Links, all.Links)
			}
			for i, a := range all.Links {
				r := red.Links[i]
				if r.Tier != a.Tier || !near(float64(r.Bytes), float64(a.Bytes)) || !near(r.BusyFraction, a.BusyFraction) {
					t.Errorf("tier %s: %v bytes %.12f busy reduced, %s %v bytes %.12f busy unreduced", r.Tier, r.Bytes, r.BusyFraction, a.Tier, a.Bytes, a.BusyFraction)
				}
			}
			spine, spineSat := 0.0, int64(0)
			for l, link := range an.topo.Links {
				rb, ab := rn.linkBytes(topology.LinkID(l)), an.linkBytes(topology.LinkID(l))
				if !near(rb, ab) {
					t.Errorf("link %s: %g bytes reduced, %g unreduced", an.topo.LinkName(topology.LinkID(l)), rb, ab)
				}
				if rs, as := rn.linkSaturated(topology.LinkID(l)), an.linkSaturated(topology.LinkID(l)); rs != as {
					t.Errorf("link %s: %d ns at capacity reduced, %d unreduced", an.topo.LinkName(topology.LinkID(l)), rs, as)
				}
				if link.Tier == topology.TierSpine {
					spine += ab
					spineSat += an.linkSaturated(topology.LinkID(l))
				}
			}
			if c.routing == RoutingSpray && spine == 0 {
				t.Errorf("no traffic crossed a spine: the case tests no contention there")
			}
			if c.oversub > 1 && spineSat == 0 {
				t.Errorf("no spine link ran at capacity: the case tests no contention there")
			}
			t.Logf("%d transfers as %d flows (%d unreduced); %d link classes; step %v", rn.flows, rn.sims, an.sims, len(rn.red.tier), red.StepTime)
		})
	}
}

// flowAtScale is GPT-3 175B, TP8 PP16, on nodes DGX A100 nodes with the
// batch scaled to keep 192 micro-batches per pipeline (1536 sequences per
// 128 nodes, the default scenario's), in flow mode with the default
// routing (auto: spray on the DGX A100's InfiniBand fabric).
func flowAtScale(b testing.TB, nodes int, copies string) Job {
	j := gpt3Job(b, nodes, Layout{TP: 8, PP: 16, DP: nodes / 16, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536*nodes/128)
	j.Options.Network, j.Options.Routing, j.Options.FlowCopies = NetworkFlow, RoutingAuto, copies
	return j
}

func benchFlow(b *testing.B, nodes int, copies string) {
	j := flowAtScale(b, nodes, copies)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		res, err := simulateJob(j)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.StepTime), "step-s")
	}
}

// BenchmarkFlow16k: 16,384 GPUs (2,048 nodes), reduced by symmetry; run
// with -cpu 1 -benchtime 1x.
func BenchmarkFlow16k(b *testing.B) { benchFlow(b, 2048, FlowCopiesClasses) }

// BenchmarkFlow16kUnreduced: the same, every copy simulated.
func BenchmarkFlow16kUnreduced(b *testing.B) { benchFlow(b, 2048, FlowCopiesAll) }

// BenchmarkFlow98k: 98,304 GPUs (12,288 nodes), reduced by symmetry.
func BenchmarkFlow98k(b *testing.B) { benchFlow(b, 12288, FlowCopiesClasses) }

// BenchmarkFlow98kUnreduced: the same, every copy simulated.
func BenchmarkFlow98kUnreduced(b *testing.B) { benchFlow(b, 12288, FlowCopiesAll) }

// TestSymmetryReductionFallsBack: where paths depend on the task (ECMP
// across spines, a graph read from a file) or tasks carry one replica's
// copies (the full replay), every copy is simulated and the note says why.
func TestSymmetryReductionFallsBack(t *testing.T) {
	m, ok := model.Preset("gpt-7.5b")
	if !ok {
		t.Fatal("no gpt-7.5b preset")
	}
	base := func() Job {
		j := gpt3Job(t, 8, Layout{TP: 4, PP: 2, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 32)
		j.Model = m
		j.Cluster.Network.NodesPerLeaf, j.Cluster.Network.Oversubscription = 2, 4
		j.Options.Network, j.Options.FlowCopies = NetworkFlow, FlowCopiesClasses
		return j
	}
	ecmp := base()
	ecmp.Options.Routing = RoutingECMP
	full := base()
	full.Options.Routing, full.Options.Ranks = RoutingSpray, RanksFull

	src, err := os.ReadFile("../cmd/sim/testdata/two-nodes.toml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := topology.ReadGraph("two-nodes.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	file := gpt3Job(t, 2, Layout{TP: 2, PP: 1, DP: 2, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 8)
	fm, _ := model.Preset("gpt-1.7b")
	file.Model = fm
	file.Cluster.System.GPUsPerNode, file.Cluster.Network.NICsPerNode = 2, 2
	file.Options.Network, file.Options.Graph, file.Options.Routing = NetworkFlow, g, RoutingSpray

	for name, c := range map[string]struct {
		j   Job
		why string
	}{
		"ecmp across spines": {ecmp, "under ECMP routing"},
		"full replay":        {full, "full replay"},
		"file graph":         {file, "graph read from a file"},
	} {
		res, fn := flowRun(t, c.j)
		if fn.red != nil {
			t.Errorf("%s: reduced", name)
			continue
		}
		note := ""
		for _, n := range res.Notes {
			if strings.HasPrefix(n, "flow-level network") {
				note = n
			}
		}
		if !strings.Contains(note, "every copy simulated") || !strings.Contains(note, c.why) {
			t.Errorf("%s: note %q, want it to say every copy was simulated because of %q", name, note, c.why)
		}
	}
	// On a file graph spray routing changes nothing: it has no spines.
	a, _ := flowRun(t, file)
	file.Options.Routing = RoutingECMP
	b, _ := flowRun(t, file)
	if a.StepTime != b.StepTime {
		t.Errorf("file graph: spray %v, ECMP %v", a.StepTime, b.StepTime)
	}
}

// TestRoutingFollowsTransport: `auto` (and empty) routing sprays on
// InfiniBand, where NCCL enables adaptive routing by default, and hashes
// (ECMP) on RoCE; an explicit routing wins.
func TestRoutingFollowsTransport(t *testing.T) {
	for _, c := range []struct{ transport, routing, want string }{
		{topology.TransportInfiniBand, RoutingAuto, RoutingSpray},
		{topology.TransportInfiniBand, "", RoutingSpray},
		{"", RoutingAuto, RoutingSpray},
		{topology.TransportRoCE, RoutingAuto, RoutingECMP},
		{topology.TransportRoCE, "", RoutingECMP},
		{topology.TransportInfiniBand, RoutingECMP, RoutingECMP},
		{topology.TransportRoCE, RoutingSpray, RoutingSpray},
	} {
		j := gpt3Job(t, 8, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 8)
		j.Cluster.Network.Transport, j.Options.Routing = c.transport, c.routing
		if got := j.routing(); got != c.want {
			t.Errorf("transport %q, routing %q: %q, want %q", c.transport, c.routing, got, c.want)
		}
	}
	// Every built-in system is InfiniBand (their datasheets' compute NICs).
	for _, s := range topology.SystemPresets() {
		if s.Network.Transport != topology.TransportInfiniBand {
			t.Errorf("%s: transport %q", s.Name, s.Network.Transport)
		}
	}
}
