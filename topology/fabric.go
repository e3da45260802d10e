package topology

import (
	"math"

	"trainsim/units"
)

// Fabric is the shape of a cluster's template fabric (the one Build makes)
// as a cost model needs it without building the graph: how many leaves and
// spines, the capacity of one uplink, and where a transfer between two GPUs
// leaves and enters the leaf level.
type Fabric struct {
	// Leaves and Spines count the switches; Spines is 0 with one leaf.
	Leaves, Spines int
	// Ports is a full leaf's number of down ports (NICs).
	Ports int
	// Uplink is the capacity of one leaf→spine link, and of each
	// spine→leaf link: Ports × NIC rate / (oversubscription × Spines).
	Uplink units.Bandwidth
	// PCIe is the capacity of one GPU↔NIC link.
	PCIe units.Bandwidth

	gpusPerNode, nicsPerNode, nodesPerLeaf int
	rail                                   bool
}

// FabricOf returns the shape of the fabric Build makes for c (the rules are
// Build's; see there).
func FabricOf(c Cluster) Fabric {
	net := c.Network
	npl := net.NodesPerLeaf
	if npl == 0 || npl > c.Nodes {
		npl = c.Nodes
	}
	npl = max(npl, 1)
	groups := (c.Nodes + npl - 1) / npl
	rail := net.Topology == RailOptimized
	f := Fabric{Leaves: groups, Ports: npl * net.NICsPerNode,
		PCIe:        max(net.NICBandwidth, pcieRate(c.GPU.Family)),
		gpusPerNode: c.GPUsPerNode, nicsPerNode: net.NICsPerNode, nodesPerLeaf: npl, rail: rail}
	if rail {
		f.Leaves, f.Ports = groups*net.NICsPerNode, npl
	}
	if f.Leaves > 1 && net.Oversubscription >= 1 {
		f.Spines = int(math.Ceil(float64(f.Ports) / net.Oversubscription))
		f.Spines = max(1, min(f.Spines, maxSpines))
		f.Uplink = units.Bandwidth(float64(net.NICBandwidth) * float64(f.Ports) / (net.Oversubscription * float64(f.Spines)))
	}
	return f
}

// Route is where a transfer between two GPUs goes on a template fabric.
type Route struct {
	// Inter: the transfer leaves its node (through a NIC).
	Inter bool
	// PXN: on a rail-optimized fabric, it first hops over NVLink to the
	// GPU of its node on the destination's rail.
	PXN bool
	// From and To are the leaves it enters the fabric by and leaves it
	// by (-1 when it stays in its node); they differ when it crosses a
	// spine.
	From, To int
}

// Crosses reports whether the transfer goes through a spine.
func (r Route) Crosses() bool { return r.Inter && r.From != r.To }

// Route returns where a transfer from GPU src to GPU dst goes, as Build's
// graph routes it (Graph.Path), without the spine choice.
func (f Fabric) Route(src, dst int) Route {
	G, K := f.gpusPerNode, f.nicsPerNode
	ns, nd := src/G, dst/G
	if ns == nd || G < 1 || K < 1 {
		return Route{From: -1, To: -1}
	}
	nic := func(gpu int) int { return (gpu % G) * K / G }
	leaf := func(node, k int) int {
		l := node / f.nodesPerLeaf
		if f.rail {
			l = l*K + k
		}
		return l
	}
	r := Route{Inter: true}
	from := src
	if f.rail && nic(src) != nic(dst) {
		r.PXN = true
		from = ns*G + dst%G
	}
	r.From, r.To = leaf(ns, nic(from)), leaf(nd, nic(dst))
	return r
}
