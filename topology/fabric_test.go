package topology

import (
	"fmt"
	"testing"
)

// TestFabricRouteMatchesGraph: the fabric's shape and routes, computed
// without a graph, agree with the graph Build makes: the leaves a transfer
// enters and leaves by, whether it crosses a spine, whether it hops over
// NVLink first (PXN), and the number and capacity of the uplinks.
func TestFabricRouteMatchesGraph(t *testing.T) {
	for _, c := range []Cluster{
		testCluster(FatTree, 4, 8, 8, 2, 1), testCluster(FatTree, 5, 8, 4, 2, 4),
		testCluster(FatTree, 4, 8, 8, 0, 1), testCluster(FatTree, 6, 4, 4, 4, 3),
		testCluster(RailOptimized, 4, 8, 8, 2, 4), testCluster(RailOptimized, 3, 8, 4, 2, 1),
		testCluster(RailOptimized, 4, 4, 8, 0, 1),
	} {
		name := fmt.Sprintf("%s/%dx%d/%dnics/npl%d/o%g", c.Network.Topology, c.Nodes, c.GPUsPerNode, c.Network.NICsPerNode, c.Network.NodesPerLeaf, c.Network.Oversubscription)
		t.Run(name, func(t *testing.T) {
			g := mustBuild(t, c)
			f := FabricOf(c)
			kinds := countKinds(g)
			if kinds[VertexLeaf] != f.Leaves || kinds[VertexSpine] != f.Spines {
				t.Fatalf("fabric %d leaves %d spines, graph %d and %d", f.Leaves, f.Spines, kinds[VertexLeaf], kinds[VertexSpine])
			}
			for _, l := range g.Links {
				if l.Tier == TierSpine && !near(float64(l.Capacity), float64(f.Uplink)) {
					t.Fatalf("uplink %v, fabric says %v", l.Capacity, f.Uplink)
				}
				if l.Tier == TierPCIe && !near(float64(l.Capacity), float64(f.PCIe)) {
					t.Fatalf("pcie %v, fabric says %v", l.Capacity, f.PCIe)
				}
			}
			leafIndex := map[int32]int{}
			for v, x := range g.Vertices {
				if x.Kind == VertexLeaf {
					leafIndex[int32(v)] = len(leafIndex)
				}
			}
			for src := 0; src < g.GPUs(); src++ {
				for dst := 0; dst < g.GPUs(); dst++ {
					if src == dst {
						continue
					}
					p := g.Path(src, dst, 7)
					want := Route{From: -1, To: -1}
					for i, id := range p {
						l := g.Links[id]
						switch {
						case l.Tier == TierNVLink && i == 0 && len(p) > 2:
							want.PXN = true
						case l.Tier == TierNIC && g.Vertices[l.From].Kind == VertexNIC:
							want.Inter, want.From = true, leafIndex[l.To]
						case l.Tier == TierNIC:
							want.To = leafIndex[l.From]
						}
					}
					if got := f.Route(src, dst); got != want {
						t.Fatalf("%d -> %d: Route %+v, graph path %s", src, dst, got, pathString(g, p))
					}
				}
			}
		})
	}
}
