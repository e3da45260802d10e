package topology

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"trainsim/units"
)

// testCluster is nodes DGX-A100-like nodes (A100, 300 GB/s NVLink with 1 us
// latency, 200 Gb/s NICs, 2 us fabric latency) on the given fabric.
func testCluster(topo string, nodes, gpus, nics, perLeaf int, oversub float64) Cluster {
	a100, _ := GPUPreset("a100-80gb")
	return Cluster{
		System: System{
			Name: "test", GPU: a100, GPUsPerNode: gpus,
			NVLink: Link{Bandwidth: 300 * units.GBps, Latency: units.Microsecond},
			Network: Network{
				Topology: topo, NICBandwidth: 200 * units.Gbps, NICsPerNode: nics,
				Latency: 2 * units.Microsecond, Oversubscription: oversub, NodesPerLeaf: perLeaf,
			},
		},
		Nodes: nodes,
	}
}

func mustBuild(t testing.TB, c Cluster) *Graph {
	t.Helper()
	g, err := Build(c)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return g
}

// near reports whether a and b agree to a relative 1e-12.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) }

func countKinds(g *Graph) map[VertexKind]int {
	n := map[VertexKind]int{}
	for _, v := range g.Vertices {
		n[v.Kind]++
	}
	return n
}

func TestBuildCounts(t *testing.T) {
	const nic = 200 * units.Gbps
	for _, tc := range []struct {
		name          string
		c             Cluster
		leaves, spine int
		links         int
		uplink        units.Bandwidth // capacity of each leaf<->spine link
	}{
		// 4 nodes × 8 GPUs: per node 8 GPUs + 1 NVSwitch + 8 NICs = 17
		// vertices and 2×8 NVLink + 2×8 PCIe + 2×8 NIC = 48 links.
		// Fat tree, 2 nodes per leaf: 16 down ports per leaf.
		{"fat-tree/o1", testCluster(FatTree, 4, 8, 8, 2, 1), 2, 16, 4*48 + 2*2*16, 16 * nic / 16},
		{"fat-tree/o4", testCluster(FatTree, 4, 8, 8, 2, 4), 2, 4, 4*48 + 2*2*4, 16 * nic / (4 * 4)},
		{"fat-tree/o1.5", testCluster(FatTree, 4, 8, 8, 2, 1.5), 2, 11, 4*48 + 2*2*11, 16 * nic / (1.5 * 11)},
		{"fat-tree/one-leaf", testCluster(FatTree, 4, 8, 8, 0, 1), 1, 0, 4 * 48, 0},
		{"fat-tree/leaf-larger-than-cluster", testCluster(FatTree, 4, 8, 8, 20, 1), 1, 0, 4 * 48, 0},
		{"fat-tree/partial-last-leaf", testCluster(FatTree, 5, 8, 8, 2, 1), 3, 16, 5*48 + 2*3*16, 16 * nic / 16},
		// Rail-optimized, 2 nodes per leaf: 2 groups × 8 rails = 16 leaves
		// of 2 down ports.
		{"rail/o1", testCluster(RailOptimized, 4, 8, 8, 2, 1), 16, 2, 4*48 + 2*16*2, 2 * nic / 2},
		{"rail/o4", testCluster(RailOptimized, 4, 8, 8, 2, 4), 16, 1, 4*48 + 2*16*1, 2 * nic / 4},
		{"rail/one-group", testCluster(RailOptimized, 4, 8, 8, 0, 1), 8, 4, 4*48 + 2*8*4, 4 * nic / 4},
		{"rail/one-rail", testCluster(RailOptimized, 4, 8, 1, 0, 1), 1, 0, 4 * (16 + 16 + 2), 0},
		// Four NICs for eight GPUs: 2×8 NVLink + 2×8 PCIe + 2×4 NIC = 40.
		{"fat-tree/4-nics", testCluster(FatTree, 4, 8, 4, 2, 1), 2, 8, 4*40 + 2*2*8, 8 * nic / 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			g := mustBuild(t, c)
			n := countKinds(g)
			want := map[VertexKind]int{
				VertexGPU: c.Nodes * c.GPUsPerNode, VertexNVSwitch: c.Nodes, VertexNIC: c.Nodes * c.Network.NICsPerNode,
				VertexLeaf: tc.leaves, VertexSpine: tc.spine,
			}
			for k, w := range want {
				if n[k] != w {
					t.Errorf("%d %s vertices, want %d", n[k], k, w)
				}
			}
			if g.GPUs() != c.GPUs() {
				t.Errorf("GPUs() = %d, want %d", g.GPUs(), c.GPUs())
			}
			if len(g.Links) != tc.links {
				t.Errorf("%d links, want %d", len(g.Links), tc.links)
			}
			for id, l := range g.Links {
				if l.Tier == TierSpine && !near(float64(l.Capacity), float64(tc.uplink)) {
					t.Errorf("%s: capacity %v, want down capacity / (oversubscription × spines) = %v", g.LinkName(LinkID(id)), l.Capacity, tc.uplink)
				}
			}
		})
	}
}

// TestUplinkCapacityRatio checks, a second way, that a full leaf's uplinks
// carry 1/oversubscription of its down capacity: by summing links.
func TestUplinkCapacityRatio(t *testing.T) {
	for _, topo := range []string{FatTree, RailOptimized} {
		for _, o := range []float64{1, 1.5, 2, 4, 8} {
			g := mustBuild(t, testCluster(topo, 8, 8, 8, 4, o))
			up := map[int32]float64{}   // leaf -> sum of leaf->spine capacity
			down := map[int32]float64{} // leaf -> sum of leaf->NIC capacity
			for _, l := range g.Links {
				switch {
				case g.Vertices[l.From].Kind == VertexLeaf && l.Tier == TierSpine:
					up[l.From] += float64(l.Capacity)
				case g.Vertices[l.From].Kind == VertexLeaf && l.Tier == TierNIC:
					down[l.From] += float64(l.Capacity)
				}
			}
			for leaf, d := range down {
				if !near(up[leaf]*o, d) {
					t.Errorf("%s o=%g: %s: uplinks %g B/s × %g ≠ down %g B/s", topo, o, g.Vertices[leaf].Name, up[leaf], o, d)
				}
			}
		}
	}
}

func TestReverseLinksExist(t *testing.T) {
	for _, c := range []Cluster{
		testCluster(FatTree, 4, 8, 8, 2, 1), testCluster(FatTree, 4, 8, 4, 2, 4),
		testCluster(RailOptimized, 4, 8, 8, 2, 1), testCluster(RailOptimized, 3, 8, 8, 2, 2),
	} {
		g := mustBuild(t, c)
		for id, l := range g.Links {
			r, ok := g.Reverse(LinkID(id))
			if !ok {
				t.Errorf("%s: %s has no reverse", c.Network.Topology, g.LinkName(LinkID(id)))
				continue
			}
			if r != LinkID(id)^1 {
				t.Errorf("the reverse of link %d is %d, not its pair %d", id, r, id^1)
			}
			rl := g.Links[r]
			if rl.Capacity != l.Capacity || rl.Latency != l.Latency || rl.Tier != l.Tier {
				t.Errorf("%s and its reverse differ: %+v vs %+v", g.LinkName(LinkID(id)), l, rl)
			}
		}
	}
}

// checkPath checks that p leads from GPU src to GPU dst link by link,
// visiting no vertex twice.
func checkPath(t testing.TB, g *Graph, src, dst int, p []LinkID) {
	t.Helper()
	if src == dst {
		if len(p) != 0 {
			t.Fatalf("Path(%d, %d) = %v, want empty", src, dst, p)
		}
		return
	}
	if len(p) == 0 {
		t.Fatalf("Path(%d, %d) is empty", src, dst)
	}
	at := int32(g.GPUVertex(src))
	seen := map[int32]bool{at: true}
	for i, id := range p {
		if id < 0 || int(id) >= len(g.Links) {
			t.Fatalf("Path(%d, %d)[%d] = %d is not a link", src, dst, i, id)
		}
		l := g.Links[id]
		if l.From != at {
			t.Fatalf("Path(%d, %d)[%d] = %s starts at %s, not where the path is (%s)", src, dst, i, g.LinkName(id), g.Vertices[l.From].Name, g.Vertices[at].Name)
		}
		if seen[l.To] {
			t.Fatalf("Path(%d, %d) visits %s twice", src, dst, g.Vertices[l.To].Name)
		}
		seen[l.To] = true
		at = l.To
	}
	if at != int32(g.GPUVertex(dst)) {
		t.Fatalf("Path(%d, %d) ends at %s, not at GPU %s", src, dst, g.Vertices[at].Name, g.Vertices[g.GPUVertex(dst)].Name)
	}
}

func pathString(g *Graph, p []LinkID) string {
	s := make([]string, len(p))
	for i, id := range p {
		s[i] = g.LinkName(id)
	}
	return strings.Join(s, ", ")
}

// TestPaths checks every pair of small clusters: the path chains, stays in
// the node over NVLink when it can, leaves through the right NIC, and
// crosses a spine exactly when the two NICs' leaves differ, where the leaves
// are worked out here from the template rules rather than read from the
// graph.
func TestPaths(t *testing.T) {
	for _, c := range []Cluster{
		testCluster(FatTree, 4, 8, 8, 2, 1), testCluster(FatTree, 4, 8, 8, 2, 4),
		testCluster(FatTree, 5, 8, 4, 2, 1), testCluster(FatTree, 4, 8, 8, 0, 1),
		testCluster(RailOptimized, 4, 8, 8, 2, 1), testCluster(RailOptimized, 4, 8, 8, 2, 4),
		testCluster(RailOptimized, 3, 8, 4, 2, 1), testCluster(RailOptimized, 4, 4, 8, 0, 1),
	} {
		name := fmt.Sprintf("%s/%dx%d/%dnics/npl%d/o%g", c.Network.Topology, c.Nodes, c.GPUsPerNode, c.Network.NICsPerNode, c.Network.NodesPerLeaf, c.Network.Oversubscription)
		t.Run(name, func(t *testing.T) {
			g := mustBuild(t, c)
			G, K := c.GPUsPerNode, c.Network.NICsPerNode
			npl := c.Network.NodesPerLeaf
			if npl == 0 {
				npl = c.Nodes
			}
			rail := c.Network.Topology == RailOptimized
			leafOf := func(rank, nicLocal int) string {
				l := rank / G / npl
				if rail {
					l = l*K + nicLocal
				}
				return fmt.Sprintf("leaf%d", l)
			}
			for src := 0; src < g.GPUs(); src++ {
				for dst := 0; dst < g.GPUs(); dst++ {
					for key := uint64(0); key < 3; key++ {
						p := g.Path(src, dst, key)
						checkPath(t, g, src, dst, p)
						if src == dst {
							continue
						}
						tiers := make([]Tier, len(p))
						for i, id := range p {
							tiers[i] = g.Links[id].Tier
						}
						if src/G == dst/G {
							if !reflect.DeepEqual(tiers, []Tier{TierNVLink, TierNVLink}) {
								t.Fatalf("same node %d -> %d: %s", src, dst, pathString(g, p))
							}
							continue
						}
						// The GPU that leaves the node: src, or with PXN the
						// source node's GPU with dst's local index.
						out := src
						srcNIC, dstNIC := (src%G)*K/G, (dst%G)*K/G
						if rail && srcNIC != dstNIC {
							out = src/G*G + dst%G
							if tiers[0] != TierNVLink || g.Links[p[1]].To != int32(g.GPUVertex(out)) {
								t.Fatalf("rail-optimized cross-rail %d -> %d does not start over NVLink to GPU %d: %s", src, dst, out, pathString(g, p))
							}
							tiers = tiers[2:]
							p = p[2:]
							srcNIC = dstNIC
						}
						want := []Tier{TierPCIe, TierNIC, TierNIC, TierPCIe}
						la, lb := leafOf(out, srcNIC), leafOf(dst, dstNIC)
						if la != lb {
							want = []Tier{TierPCIe, TierNIC, TierSpine, TierSpine, TierNIC, TierPCIe}
						}
						if !reflect.DeepEqual(tiers, want) {
							t.Fatalf("%d -> %d (leaves %s, %s): tiers %v, want %v: %s", src, dst, la, lb, tiers, want, pathString(g, p))
						}
						wantNIC := fmt.Sprintf("node%d/gpu%d -> node%d/nic%d", out/G, out%G, out/G, srcNIC)
						if g.LinkName(p[0]) != wantNIC {
							t.Fatalf("%d -> %d leaves by %s, want %s", src, dst, g.LinkName(p[0]), wantNIC)
						}
						if to := g.Vertices[g.Links[p[1]].To].Name; to != la {
							t.Fatalf("%d -> %d: reaches %s first, want %s", src, dst, to, la)
						}
						if from := g.Vertices[g.Links[p[len(p)-2]].From].Name; from != lb {
							t.Fatalf("%d -> %d: arrives from %s, want %s", src, dst, from, lb)
						}
						if wantIn := fmt.Sprintf("node%d/nic%d -> node%d/gpu%d", dst/G, dstNIC, dst/G, dst%G); g.LinkName(p[len(p)-1]) != wantIn {
							t.Fatalf("%d -> %d arrives by %s, want %s", src, dst, g.LinkName(p[len(p)-1]), wantIn)
						}
					}
				}
			}
		})
	}
}

func TestFatTreeCrossRailStaysOffNVLink(t *testing.T) {
	g := mustBuild(t, testCluster(FatTree, 4, 8, 8, 2, 1))
	p := g.Path(1, 3*8+5, 0) // node0/gpu1 -> node3/gpu5
	if got := g.LinkName(p[0]); got != "node0/gpu1 -> node0/nic1" {
		t.Errorf("fat tree leaves by %s, want its own NIC: %s", got, pathString(g, p))
	}
}

func TestECMP(t *testing.T) {
	g := mustBuild(t, testCluster(FatTree, 4, 8, 8, 2, 1)) // 16 spines
	src, dst := 0, 3*8                                     // node0/gpu0 -> node3/gpu0: leaf0 -> leaf1
	spineOf := func(p []LinkID) string {
		for _, id := range p {
			if v := g.Vertices[g.Links[id].To]; v.Kind == VertexSpine {
				return v.Name
			}
		}
		t.Fatalf("cross-leaf path without a spine: %s", pathString(g, p))
		return ""
	}
	seen := map[string]int{}
	for key := uint64(0); key < 256; key++ {
		a, b := g.Path(src, dst, key), g.Path(src, dst, key)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("key %d: two calls gave %s and %s", key, pathString(g, a), pathString(g, b))
		}
		seen[spineOf(a)]++
	}
	// 256 keys over 16 spines: a fair hash leaves none unused (the chance
	// of missing one is 16 × (15/16)^256 ≈ 1e-6).
	if len(seen) != 16 {
		t.Errorf("256 keys used %d of 16 spines: %v", len(seen), seen)
	}
	// Evenly: 16000 keys, 1000 per spine expected; a fair hash stays
	// within ±15% (5 standard deviations).
	load := map[string]int{}
	for key := uint64(0); key < 16000; key++ {
		load[spineOf(g.Path(src, dst, key))]++
	}
	for s, n := range load {
		if n < 850 || n > 1150 {
			t.Errorf("%s takes %d of 16000 keys, want about 1000", s, n)
		}
	}
	// Different pairs with the same key spread too.
	pairs := map[string]bool{}
	for s := 0; s < 16; s++ {
		pairs[spineOf(g.Path(s, 16+s, 0))] = true
	}
	if len(pairs) < 4 {
		t.Errorf("16 pairs with key 0 used only %d spines", len(pairs))
	}
}

func TestLatency(t *testing.T) {
	for _, topo := range []string{FatTree, RailOptimized} {
		c := testCluster(topo, 4, 8, 8, 2, 2)
		g := mustBuild(t, c)
		L, nv := float64(c.Network.Latency), float64(c.NVLink.Latency)
		for _, tc := range []struct {
			name     string
			src, dst int
			want     float64
		}{
			{"same node", 1, 6, nv},
			{"same leaf", 3, 8 + 3, 0.75 * L},
			{"cross spine", 3, 3*8 + 3, L},
		} {
			p := g.Path(tc.src, tc.dst, 7)
			if got := float64(g.PathLatency(p)); !near(got, tc.want) {
				t.Errorf("%s %s: latency %g s, want %g s: %s", topo, tc.name, got, tc.want, pathString(g, p))
			}
		}
		// NIC to NIC across a spine sums to Network.Latency: the PCIe links
		// add nothing.
		p := g.Path(3, 3*8+3, 7)
		if got := float64(g.PathLatency(p[1 : len(p)-1])); !near(got, L) {
			t.Errorf("%s: NIC-to-NIC latency across a spine %g s, want Network.Latency %g s", topo, got, L)
		}
	}
	// PXN adds the NVLink hop to the network path.
	c := testCluster(RailOptimized, 4, 8, 8, 2, 2)
	g := mustBuild(t, c)
	p := g.Path(1, 3*8+5, 0)
	if got, want := float64(g.PathLatency(p)), float64(c.NVLink.Latency+c.Network.Latency); !near(got, want) {
		t.Errorf("PXN path latency %g, want %g: %s", got, want, pathString(g, p))
	}
}

func TestLinkCapacities(t *testing.T) {
	for _, tc := range []struct {
		system string
		nic    units.Bandwidth
		pcie   units.Bandwidth
	}{
		{"dgx-a100-80gb", 200 * units.Gbps, 31.5076923076923 * units.GBps}, // Gen4 x16
		{"dgx-h100", 400 * units.Gbps, 63.0153846153846 * units.GBps},      // Gen5 x16
		{"dgx-b200", 400 * units.Gbps, 63.0153846153846 * units.GBps},
	} {
		s, ok := SystemPreset(tc.system)
		if !ok {
			t.Fatalf("no preset %q", tc.system)
		}
		g := mustBuild(t, Cluster{System: s, Nodes: 2})
		want := map[Tier]units.Bandwidth{TierNVLink: s.NVLink.Bandwidth, TierPCIe: tc.pcie, TierNIC: tc.nic}
		for id, l := range g.Links {
			if w := want[l.Tier]; math.Abs(float64(l.Capacity-w)) > 1e3 {
				t.Errorf("%s: %s (%s) capacity %v, want %v", tc.system, g.LinkName(LinkID(id)), l.Tier, l.Capacity, w)
			}
		}
	}
	// A NIC faster than PCIe: the PCIe link is not the bottleneck.
	c := testCluster(FatTree, 2, 8, 8, 0, 1)
	c.Network.NICBandwidth = 800 * units.Gbps
	g := mustBuild(t, c)
	if p := g.Path(0, 8, 0); g.PathBandwidth(p) != c.Network.NICBandwidth {
		t.Errorf("bottleneck %v, want the NIC rate %v: %s", g.PathBandwidth(p), c.Network.NICBandwidth, pathString(g, p))
	}
}

func TestNICAttachment(t *testing.T) {
	for _, tc := range []struct {
		gpus, nics int
		want       []int // NIC of each local GPU
	}{
		{8, 8, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{8, 4, []int{0, 0, 1, 1, 2, 2, 3, 3}},
		{8, 1, []int{0, 0, 0, 0, 0, 0, 0, 0}},
		{4, 8, []int{0, 2, 4, 6}},
	} {
		g := mustBuild(t, testCluster(FatTree, 2, tc.gpus, tc.nics, 0, 1))
		for i, k := range tc.want {
			p := g.Path(tc.gpus+i, i, 0) // node1/gpu i -> node0/gpu i
			if got, want := g.LinkName(p[0]), fmt.Sprintf("node1/gpu%d -> node1/nic%d", i, k); got != want {
				t.Errorf("%d GPUs, %d NICs: GPU %d leaves by %s, want %s", tc.gpus, tc.nics, i, got, want)
			}
		}
	}
}

func TestLinkNames(t *testing.T) {
	g := mustBuild(t, testCluster(FatTree, 8, 8, 8, 2, 1))
	if got := g.LinkName(g.Path(3*8+5, 3*8+6, 0)[0]); got != "node3/gpu5 -> node3/nvswitch" {
		t.Errorf("got %q", got)
	}
	names := map[string]bool{}
	for id := range g.Links {
		names[g.LinkName(LinkID(id))] = true
	}
	for _, want := range []string{"leaf2 -> spine7", "spine7 -> leaf2", "node3/nic5 -> leaf1", "node3/nvswitch -> node3/gpu5", "node3/gpu5 -> node3/nic5"} {
		if !names[want] {
			t.Errorf("no link named %q", want)
		}
	}
	if len(names) != len(g.Links) {
		t.Errorf("%d link names for %d links", len(names), len(g.Links))
	}
}

func TestTierString(t *testing.T) {
	for tier, want := range map[Tier]string{TierNVLink: "nvlink", TierPCIe: "pcie", TierNIC: "nic", TierSpine: "leaf-spine", 9: "tier(9)"} {
		if got := tier.String(); got != want {
			t.Errorf("Tier(%d).String() = %q, want %q", tier, got, want)
		}
		if back, ok := ParseTier(want); ok != (tier < 4) || (ok && back != tier) {
			t.Errorf("ParseTier(%q) = %v, %v", want, back, ok)
		}
	}
	for k := VertexGPU; k <= VertexSpine; k++ {
		if back, ok := ParseVertexKind(k.String()); !ok || back != k {
			t.Errorf("ParseVertexKind(%q) = %v, %v", k, back, ok)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	ok := testCluster(FatTree, 4, 8, 8, 2, 1)
	for _, tc := range []struct {
		name string
		edit func(c *Cluster)
		want []string
	}{
		{"zero nodes", func(c *Cluster) { c.Nodes = 0 }, []string{"cluster.nodes: must be a positive integer, got 0"}},
		{"zero gpus", func(c *Cluster) { c.GPUsPerNode = 0 }, []string{"cluster.gpus_per_node"}},
		{"zero nics", func(c *Cluster) { c.Network.NICsPerNode = 0 }, []string{"cluster.network.nics_per_node: must be a positive integer, got 0"}},
		{"negative nodes per leaf", func(c *Cluster) { c.Network.NodesPerLeaf = -1 }, []string{"cluster.network.nodes_per_leaf"}},
		{"oversubscription below 1", func(c *Cluster) { c.Network.Oversubscription = 0.5 }, []string{"cluster.network.oversubscription: must be at least 1"}},
		{"oversubscription NaN", func(c *Cluster) { c.Network.Oversubscription = math.NaN() }, []string{"cluster.network.oversubscription"}},
		{"oversubscription Inf", func(c *Cluster) { c.Network.Oversubscription = math.Inf(1) }, []string{"cluster.network.oversubscription"}},
		{"unknown topology", func(c *Cluster) { c.Network.Topology = "torus" }, []string{`cluster.network.topology: "torus" is not supported (allowed: "fat-tree", "rail-optimized")`}},
		{"no NIC bandwidth", func(c *Cluster) { c.Network.NICBandwidth = 0 }, []string{"cluster.network.nic_bandwidth"}},
		{"no NVLink bandwidth", func(c *Cluster) { c.NVLink.Bandwidth = 0 }, []string{"cluster.nvlink.bandwidth"}},
		{"negative latency", func(c *Cluster) { c.Network.Latency = -1 }, []string{"cluster.network.latency"}},
		{"too large", func(c *Cluster) { c.Nodes = 1 << 30 }, []string{"too large"}},
		{"too many NICs names the keys", func(c *Cluster) { c.Network.NICsPerNode = 1<<31 - 1 }, []string{"too large a network graph", "cluster.network.nics_per_node", `simulation.network = "analytical"`}},
		{"every problem at once", func(c *Cluster) { c.Nodes, c.Network.NICsPerNode, c.Network.Topology = -3, 0, "" },
			[]string{"cluster.nodes", "cluster.network.nics_per_node", "cluster.network.topology"}},
	} {
		c := ok
		tc.edit(&c)
		g, err := Build(c)
		if err == nil {
			t.Errorf("%s: no error (graph of %d vertices)", tc.name, len(g.Vertices))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestBuildDeterministic(t *testing.T) {
	c := testCluster(RailOptimized, 6, 8, 8, 4, 2)
	if a, b := mustBuild(t, c), mustBuild(t, c); !reflect.DeepEqual(a, b) {
		t.Error("two builds of the same cluster differ")
	}
}

func TestAdjacency(t *testing.T) {
	g := mustBuild(t, testCluster(RailOptimized, 4, 8, 8, 2, 1))
	out, in := 0, 0
	for v := range g.Vertices {
		for _, id := range g.Out(v) {
			if g.Links[id].From != int32(v) {
				t.Fatalf("Out(%d) holds %s", v, g.LinkName(id))
			}
		}
		for _, id := range g.In(v) {
			if g.Links[id].To != int32(v) {
				t.Fatalf("In(%d) holds %s", v, g.LinkName(id))
			}
		}
		out += len(g.Out(v))
		in += len(g.In(v))
	}
	if out != len(g.Links) || in != len(g.Links) {
		t.Errorf("adjacency lists hold %d out and %d in links, want %d", out, in, len(g.Links))
	}
}

// TestPresetCluster builds the default scenario's cluster, 128 DGX A100.
func TestPresetCluster(t *testing.T) {
	s, _ := SystemPreset("dgx-a100-80gb")
	c := Cluster{System: s, Nodes: 128}
	g := mustBuild(t, c)
	// 20 nodes per leaf: 7 leaves of 160 ports, 16 spines.
	n := countKinds(g)
	if g.GPUs() != 1024 || n[VertexLeaf] != 7 || n[VertexSpine] != 16 {
		t.Errorf("%d GPUs, %d leaves, %d spines; want 1024, 7, 16", g.GPUs(), n[VertexLeaf], n[VertexSpine])
	}
	if want := 128*(4*8+2*8) + 2*7*16; len(g.Links) != want {
		t.Errorf("%d links, want %d", len(g.Links), want)
	}
	for _, l := range g.Links {
		if l.Tier == TierSpine && !near(float64(l.Capacity), 250e9) { // 160 × 25 GB/s / 16
			t.Fatalf("uplink capacity %v, want 250 GB/s", l.Capacity)
		}
	}
	for _, pair := range [][2]int{{0, 1}, {0, 8}, {0, 1023}, {1023, 0}, {5, 20*8 + 2}, {17, 100*8 + 3}} {
		checkPath(t, g, pair[0], pair[1], g.Path(pair[0], pair[1], 3))
	}
}

func TestPathPanicsOutOfRange(t *testing.T) {
	g := mustBuild(t, testCluster(FatTree, 2, 2, 2, 0, 1))
	for _, r := range []int{-1, 4} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Path(0, %d) did not panic", r)
				}
			}()
			g.Path(0, r, 0)
		}()
	}
}

func TestAppendPathDoesNotAllocate(t *testing.T) {
	g := mustBuild(t, testCluster(RailOptimized, 8, 8, 8, 2, 1))
	buf := make([]LinkID, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		buf = g.AppendPath(buf[:0], 1, 7*8+6, 42)
	})
	if allocs != 0 {
		t.Errorf("AppendPath allocates %g times per call", allocs)
	}
}

func ExampleGraph_Path() {
	s, _ := SystemPreset("dgx-a100-80gb")
	g, err := Build(Cluster{System: s, Nodes: 64})
	if err != nil {
		panic(err)
	}
	// node0/gpu3 to node40/gpu3: the same rail, different leaves.
	p := g.Path(3, 40*8+3, 0)
	for _, id := range p {
		fmt.Printf("%-10s %-34s %v\n", g.Links[id].Tier, g.LinkName(id), g.Links[id].Latency)
	}
	fmt.Println("latency", g.PathLatency(p), "bottleneck", g.PathBandwidth(p))
	// Output:
	// pcie       node0/gpu3 -> node0/nic3           0 s
	// nic        node0/nic3 -> leaf0                750 ns
	// leaf-spine leaf0 -> spine7                    250 ns
	// leaf-spine spine7 -> leaf2                    250 ns
	// nic        leaf2 -> node40/nic3               750 ns
	// pcie       node40/nic3 -> node40/gpu3         0 s
	// latency 2 us bottleneck 25 GB/s
}

func BenchmarkBuild(b *testing.B) {
	s, _ := SystemPreset("dgx-a100-80gb")
	for _, nodes := range []int{128, 256} {
		b.Run(fmt.Sprintf("%dgpus", nodes*8), func(b *testing.B) {
			c := Cluster{System: s, Nodes: nodes}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPath(b *testing.B) {
	s, _ := SystemPreset("dgx-a100-80gb")
	for _, topo := range []string{FatTree, RailOptimized} {
		s.Network.Topology = topo
		g := mustBuild(b, Cluster{System: s, Nodes: 128})
		b.Run(topo, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				src := i % 1024
				g.Path(src, (src*7+301)%1024, uint64(i))
				i++
			}
		})
	}
	b.Run("append", func(b *testing.B) {
		g := mustBuild(b, Cluster{System: s, Nodes: 128})
		b.ReportAllocs()
		buf := make([]LinkID, 0, 8)
		i := 0
		for b.Loop() {
			src := i % 1024
			buf = g.AppendPath(buf[:0], src, (src*7+301)%1024, uint64(i))
			i++
		}
	})
}

// TestSprayPath: a sprayed path is the ECMP path with its one spine replaced
// by every spine at 1/S each; inside a leaf it is the ECMP path; a file graph
// has none.
func TestSprayPath(t *testing.T) {
	for _, topo := range []string{FatTree, RailOptimized} {
		g := mustBuild(t, testCluster(topo, 8, 8, 8, 2, 4))
		spines := g.fab.spines
		for _, pair := range [][2]int{{0, 9}, {0, 63}, {3, 60}, {5, 2}, {7, 7}} {
			src, dst := pair[0], pair[1]
			ecmp := g.Path(src, dst, 42)
			p, w, ok := g.AppendSprayPath(nil, nil, src, dst)
			if !ok || len(p) != len(w) {
				t.Fatalf("%s %d→%d: ok %v, %d links, %d weights", topo, src, dst, ok, len(p), len(w))
			}
			var rest []LinkID
			up, down := 0.0, 0.0
			for k, l := range p {
				switch {
				case g.Links[l].Tier != TierSpine:
					if w[k] != 1 {
						t.Errorf("%s %d→%d: weight %g on %s", topo, src, dst, w[k], g.LinkName(l))
					}
					rest = append(rest, l)
				case g.Vertices[g.Links[l].To].Kind == VertexSpine:
					up += w[k]
				default:
					down += w[k]
				}
			}
			var want []LinkID
			crosses := false
			for _, l := range ecmp {
				if g.Links[l].Tier == TierSpine {
					crosses = true
					continue
				}
				want = append(want, l)
			}
			if !slices.Equal(rest, want) {
				t.Errorf("%s %d→%d: spray %v, ECMP without spines %v", topo, src, dst, rest, want)
			}
			if crosses && (up != 1 || down != 1 || len(p)-len(rest) != 2*spines) {
				t.Errorf("%s %d→%d: %d spine links, weights up %g down %g; want %d at 1/%d", topo, src, dst, len(p)-len(rest), up, down, 2*spines, spines)
			}
			if !crosses && len(p) != len(rest) {
				t.Errorf("%s %d→%d: spine links on a path inside a leaf", topo, src, dst)
			}
		}
	}
	f := &Graph{gpus: []int32{0, 1}}
	if _, _, ok := f.AppendSprayPath(nil, nil, 0, 1); ok {
		t.Errorf("a graph without a fabric gave a spray path")
	}
}
