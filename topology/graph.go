package topology

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"trainsim/units"
)

// The network graph of a cluster: GPUs, switches and NICs as vertices,
// directed links with a capacity and a latency as edges, and the route a
// transfer between two GPUs takes. Build makes the graph of a Cluster from
// its Network template; ReadGraph (file.go) reads an explicit one.

// LinkID indexes Graph.Links.
type LinkID int32

// Tier classifies links for reporting.
type Tier uint8

// The link tiers, from the GPU outwards.
const (
	// TierNVLink is a GPU <-> NVSwitch link (one per direction).
	TierNVLink Tier = iota
	// TierPCIe is a GPU <-> NIC link (the PCIe switch inside the node).
	TierPCIe
	// TierNIC is a NIC <-> leaf switch link.
	TierNIC
	// TierSpine is a leaf <-> spine switch link.
	TierSpine
)

// NumTiers is the number of tiers; a Tier indexes an array of this length.
const NumTiers = int(TierSpine) + 1

var tierNames = [NumTiers]string{"nvlink", "pcie", "nic", "leaf-spine"}

// String returns the tier's name as reports and topology files spell it:
// "nvlink", "pcie", "nic" or "leaf-spine".
func (t Tier) String() string {
	if int(t) < NumTiers {
		return tierNames[t]
	}
	return "tier(" + strconv.Itoa(int(t)) + ")"
}

// ParseTier returns the tier whose String is s.
func ParseTier(s string) (Tier, bool) {
	for i, n := range tierNames {
		if n == s {
			return Tier(i), true
		}
	}
	return 0, false
}

// VertexKind says what a vertex of the graph is.
type VertexKind uint8

// The vertex kinds.
const (
	VertexGPU VertexKind = iota
	// VertexNVSwitch stands for a node's whole NVSwitch fabric.
	VertexNVSwitch
	VertexNIC
	VertexLeaf
	VertexSpine
)

var kindNames = [...]string{"gpu", "nvswitch", "nic", "leaf", "spine"}

// String returns the kind's name as topology files spell it: "gpu",
// "nvswitch", "nic", "leaf" or "spine".
func (k VertexKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseVertexKind returns the kind whose String is s.
func ParseVertexKind(s string) (VertexKind, bool) {
	for i, n := range kindNames {
		if n == s {
			return VertexKind(i), true
		}
	}
	return 0, false
}

// Vertex is a GPU, a switch or a NIC.
type Vertex struct {
	Kind VertexKind
	// Name is unique in the graph, e.g. "node3/gpu5", "node3/nvswitch",
	// "node3/nic5", "leaf2", "spine7".
	Name string
	// Node is the node the vertex is inside, or -1 for a switch outside
	// nodes (leaves and spines).
	Node int
}

// GraphLink is one direction of a connection in a Graph; a cable or an
// NVLink bundle is two GraphLinks, one each way. (Link, in hardware.go, is
// the bandwidth and latency of a point-to-point connection as a System
// describes it.)
type GraphLink struct {
	// From and To index Graph.Vertices.
	From, To int32
	// Capacity is the rate the link carries in its direction.
	Capacity units.Bandwidth
	// Latency is the link's share of a small message's one-way latency.
	Latency units.Seconds
	Tier    Tier
}

// Graph is the network of a cluster. It is plain data, immutable once built:
// its methods may be called from many goroutines at once.
type Graph struct {
	Vertices []Vertex
	Links    []GraphLink

	// gpus is the vertex of each GPU, by global rank.
	gpus []int32
	// Compressed adjacency: the links leaving vertex v are
	// out[outStart[v]:outStart[v+1]], those entering it
	// in[inStart[v]:inStart[v+1]], each in increasing LinkID order.
	outStart, inStart []int32
	out, in           []LinkID
	// fab routes graphs made by Build; nil for graphs read from a file,
	// which are routed by breadth-first search.
	fab *fabric
}

// fabric holds the indexes that route a graph made by Build without a
// search: for each GPU, NIC and leaf, the IDs of the links it routes over.
type fabric struct {
	gpusPerNode, nicsPerNode int
	rail                     bool
	// spines is the number of spine switches; 0 with a single leaf.
	spines int
	// By global GPU rank: GPU->NVSwitch, NVSwitch->GPU, GPU->NIC and
	// NIC->GPU links, and the global index (node*nicsPerNode + k) of the
	// GPU's NIC.
	nvUp, nvDown, pcieUp, pcieDown []LinkID
	nicOf                          []int32
	// By global NIC index: NIC->leaf and leaf->NIC links, and the NIC's leaf.
	nicUp, nicDown []LinkID
	leafOf         []int32
	// By leaf*spines + spine: leaf->spine and spine->leaf links.
	spineUp, spineDown []LinkID
}

// PCIe rates, per direction, of the x16 link between a GPU and its NIC
// (through the node's PCIe switch): the PCI-SIG base specification's
// per-lane signalling rate × 16 lanes × 128b/130b encoding / 8 bits. Gen4
// (PCI Express Base Specification 4.0, 16 GT/s): 31.5 GB/s; Gen5 (5.0,
// 32 GT/s): 63.0 GB/s. Transaction-layer overheads, which lower what a
// transfer achieves, are left to the efficiency models.
const (
	pcieGen4x16 = units.Bandwidth(16e9 * 16 * 128 / 130 / 8)
	pcieGen5x16 = units.Bandwidth(32e9 * 16 * 128 / 130 / 8)
)

// pcieRate is the GPU<->NIC PCIe rate of a GPU family: A100 ("ampere") sits
// on PCIe Gen4 x16 (A100 datasheet); H100/H200 ("hopper") and B200
// ("blackwell") on Gen5 x16 (their datasheets), as do the ConnectX-7 NICs of
// DGX H100/H200/B200. An unknown family gets Gen4, the lower rate.
func pcieRate(family string) units.Bandwidth { return PCIeRate(family) }

// PCIeRate is the x16 PCIe rate per direction of a GPU of family: what a
// copy between its HBM and host memory moves at most.
func PCIeRate(family string) units.Bandwidth {
	switch family {
	case "hopper", "blackwell":
		return pcieGen5x16
	}
	return pcieGen4x16
}

// Shares of Network.Latency per hop of the longest NIC-to-NIC path,
// NIC->leaf->spine->leaf->NIC: 3/8 on each NIC<->leaf hop and 1/8 on each
// leaf<->spine hop, so that the four sum to Network.Latency. The split
// follows the estimate behind networkLatency (presets.go): most of a small
// message's latency is spent in the two NICs and their PCIe (0.6–1 us of
// 2 us), a switch hop adds a few hundred ns (1/8 of 2 us = 250 ns). A
// NIC-to-NIC path inside one leaf therefore takes 3/4 of Network.Latency.
// The GPU<->NIC PCIe links have no latency of their own: it is part of the
// NIC hops.
const (
	nicHopLatencyShare   = 3.0 / 8
	spineHopLatencyShare = 1.0 / 8
)

// maxSpines caps the number of spine switches Build creates.
const maxSpines = 16

// maxGraphLinks bounds the size of a built graph, so that indexes fit in
// int32 and a mistyped node count fails instead of exhausting memory.
const maxGraphLinks = 1 << 28

// Build returns the network graph of c, from its Network template.
//
// Inside every node: its GPUs; one NVSwitch vertex standing for the node's
// NVSwitch fabric, with a link each way to every GPU (capacity
// NVLink.Bandwidth, latency NVLink.Latency/2, so GPU to GPU costs
// NVLink.Latency); and NICsPerNode NICs. GPU i is attached to NIC
// i*NICsPerNode/GPUsPerNode by a PCIe link each way of capacity max(NIC
// line rate, PCIe x16 rate of the GPU family) and no latency.
//
// Fabric: with FatTree, leaf l serves nodes [l*NodesPerLeaf,
// (l+1)*NodesPerLeaf) and every NIC of those nodes connects to it; with
// RailOptimized, NIC k of node n connects to rail leaf (n/NodesPerLeaf) *
// NICsPerNode + k. NIC<->leaf links carry NICBandwidth each way.
// NodesPerLeaf 0 puts all nodes on one leaf (one leaf per rail).
//
// Spines: with more than one leaf there are S spine switches and every leaf
// has one uplink to each (a link each way). S is the number of down ports
// of a full leaf, D, divided by Oversubscription, rounded up, at least 1 and
// at most 16: as in a Clos of equal-speed ports where a leaf has D/o
// uplinks, capped so that the graph stays small (more spines only split the
// same capacity finer). D is npl*NICsPerNode for FatTree and npl for
// RailOptimized, with npl = NodesPerLeaf capped at Nodes. Each uplink
// carries D*NICBandwidth / (Oversubscription*S), so a full leaf's uplinks
// carry 1/Oversubscription of its down capacity. A single-leaf cluster has
// no spines.
//
// Latency: Network.Latency is split over the longest NIC-to-NIC path,
// 3/8 on each NIC<->leaf hop and 1/8 on each leaf<->spine hop, so that a
// path across a spine sums to Network.Latency and one within a leaf to 3/4
// of it.
//
// Vertices are laid out node by node (the node's GPUs, its NVSwitch, its
// NICs), then the leaves, then the spines; link IDs follow the same order
// and come in pairs, so that the reverse of link id is link id^1.
// Build returns every problem with c's network fields, by scenario key.
func Build(c Cluster) (*Graph, error) {
	if err := checkBuild(c); err != nil {
		return nil, err
	}
	net := c.Network
	G, K, N := c.GPUsPerNode, net.NICsPerNode, c.Nodes
	npl := net.NodesPerLeaf
	if npl == 0 || npl > N {
		npl = N
	}
	rail := net.Topology == RailOptimized
	shape := FabricOf(c)
	leaves, spines := shape.Leaves, shape.Spines
	if int64(N)*(4*int64(G)+2*int64(K)+1)+2*int64(leaves)*int64(spines) > maxGraphLinks {
		return nil, fmt.Errorf("cluster: %d nodes × (%d GPUs, %d NICs) make too large a network graph (more than %d links); fewer cluster.nodes, cluster.gpus_per_node or cluster.network.nics_per_node, or simulation.network = \"analytical\"", N, G, K, maxGraphLinks)
	}
	nv := N*(G+1+K) + leaves + spines
	nl := N*(4*G+2*K) + 2*leaves*spines

	g := &Graph{
		Vertices: make([]Vertex, 0, nv),
		Links:    make([]GraphLink, 0, nl),
		gpus:     make([]int32, N*G),
	}
	f := &fabric{
		gpusPerNode: G, nicsPerNode: K, rail: rail, spines: spines,
		nvUp: make([]LinkID, N*G), nvDown: make([]LinkID, N*G),
		pcieUp: make([]LinkID, N*G), pcieDown: make([]LinkID, N*G),
		nicOf: make([]int32, N*G),
		nicUp: make([]LinkID, N*K), nicDown: make([]LinkID, N*K),
		leafOf:  make([]int32, N*K),
		spineUp: make([]LinkID, leaves*spines), spineDown: make([]LinkID, leaves*spines),
	}
	g.fab = f

	nvCap, nvLat := c.NVLink.Bandwidth, c.NVLink.Latency/2
	pcieCap := shape.PCIe
	nicLat := units.Seconds(float64(net.Latency) * nicHopLatencyShare)
	spineLat := units.Seconds(float64(net.Latency) * spineHopLatencyShare)
	upCap := shape.Uplink

	// Vertex indexes are computed rather than looked up: node n's block
	// starts at n*(G+1+K); the leaves and spines follow the nodes.
	block := G + 1 + K
	leafBase := int32(N * block)
	spineBase := leafBase + int32(leaves)
	var buf []byte
	name := func(node int, part string, i int) string {
		buf = buf[:0]
		if node >= 0 {
			buf = append(buf, "node"...)
			buf = strconv.AppendInt(buf, int64(node), 10)
			buf = append(buf, '/')
		}
		buf = append(buf, part...)
		if i >= 0 {
			buf = strconv.AppendInt(buf, int64(i), 10)
		}
		return string(buf)
	}
	link := func(from, to int32, c units.Bandwidth, lat units.Seconds, t Tier) LinkID {
		g.Links = append(g.Links, GraphLink{From: from, To: to, Capacity: c, Latency: lat, Tier: t})
		return LinkID(len(g.Links) - 1)
	}

	for n := 0; n < N; n++ {
		base := int32(n * block)
		sw := base + int32(G)
		for i := 0; i < G; i++ {
			g.Vertices = append(g.Vertices, Vertex{Kind: VertexGPU, Name: name(n, "gpu", i), Node: n})
		}
		g.Vertices = append(g.Vertices, Vertex{Kind: VertexNVSwitch, Name: name(n, "nvswitch", -1), Node: n})
		for k := 0; k < K; k++ {
			g.Vertices = append(g.Vertices, Vertex{Kind: VertexNIC, Name: name(n, "nic", k), Node: n})
		}
		for i := 0; i < G; i++ {
			r := n*G + i
			gpu := base + int32(i)
			g.gpus[r] = gpu
			f.nvUp[r] = link(gpu, sw, nvCap, nvLat, TierNVLink)
			f.nvDown[r] = link(sw, gpu, nvCap, nvLat, TierNVLink)
		}
		for i := 0; i < G; i++ {
			r := n*G + i
			gpu := base + int32(i)
			k := f.localNIC(i)
			f.nicOf[r] = int32(n*K + k)
			nic := sw + 1 + int32(k)
			f.pcieUp[r] = link(gpu, nic, pcieCap, 0, TierPCIe)
			f.pcieDown[r] = link(nic, gpu, pcieCap, 0, TierPCIe)
		}
		for k := 0; k < K; k++ {
			x := n*K + k
			leaf := n / npl
			if rail {
				leaf = leaf*K + k
			}
			f.leafOf[x] = int32(leaf)
			nic := sw + 1 + int32(k)
			f.nicUp[x] = link(nic, leafBase+int32(leaf), net.NICBandwidth, nicLat, TierNIC)
			f.nicDown[x] = link(leafBase+int32(leaf), nic, net.NICBandwidth, nicLat, TierNIC)
		}
	}
	for l := 0; l < leaves; l++ {
		g.Vertices = append(g.Vertices, Vertex{Kind: VertexLeaf, Name: name(-1, "leaf", l), Node: -1})
	}
	for s := 0; s < spines; s++ {
		g.Vertices = append(g.Vertices, Vertex{Kind: VertexSpine, Name: name(-1, "spine", s), Node: -1})
	}
	for l := 0; l < leaves; l++ {
		for s := 0; s < spines; s++ {
			f.spineUp[l*spines+s] = link(leafBase+int32(l), spineBase+int32(s), upCap, spineLat, TierSpine)
			f.spineDown[l*spines+s] = link(spineBase+int32(s), leafBase+int32(l), upCap, spineLat, TierSpine)
		}
	}
	g.index()
	return g, nil
}

// checkBuild returns every problem with the fields of c that Build uses.
func checkBuild(c Cluster) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Nodes <= 0 {
		add("cluster.nodes: must be a positive integer, got %d", c.Nodes)
	}
	if c.GPUsPerNode <= 0 {
		add("cluster.gpus_per_node: must be a positive integer, got %d", c.GPUsPerNode)
	}
	if !(c.NVLink.Bandwidth > 0) || math.IsInf(float64(c.NVLink.Bandwidth), 0) {
		add("cluster.nvlink.bandwidth: must be positive and finite, got %g B/s", float64(c.NVLink.Bandwidth))
	}
	if !(c.NVLink.Latency >= 0) || math.IsInf(float64(c.NVLink.Latency), 0) {
		add("cluster.nvlink.latency: must be zero or positive and finite, got %g s", float64(c.NVLink.Latency))
	}
	net := c.Network
	if net.Topology != FatTree && net.Topology != RailOptimized {
		add("cluster.network.topology: %q is not supported (allowed: %q, %q)", net.Topology, FatTree, RailOptimized)
	}
	if !(net.NICBandwidth > 0) || math.IsInf(float64(net.NICBandwidth), 0) {
		add("cluster.network.nic_bandwidth: must be positive and finite, got %g B/s", float64(net.NICBandwidth))
	}
	if net.NICsPerNode <= 0 {
		add("cluster.network.nics_per_node: must be a positive integer, got %d", net.NICsPerNode)
	}
	if !(net.Latency >= 0) || math.IsInf(float64(net.Latency), 0) {
		add("cluster.network.latency: must be zero or positive and finite, got %g s", float64(net.Latency))
	}
	if !(net.Oversubscription >= 1) || math.IsInf(net.Oversubscription, 0) {
		add("cluster.network.oversubscription: must be at least 1 (1 = non-blocking) and finite, got %g", net.Oversubscription)
	}
	if net.NodesPerLeaf < 0 {
		add("cluster.network.nodes_per_leaf: must be a positive integer (0 = all nodes on one leaf), got %d", net.NodesPerLeaf)
	}
	return errors.Join(errs...)
}

// localNIC is the node-local index of the NIC local GPU i is attached to.
func (f *fabric) localNIC(i int) int { return i * f.nicsPerNode / f.gpusPerNode }

// index builds the compressed adjacency from g.Links.
func (g *Graph) index() {
	n := len(g.Vertices)
	g.outStart = make([]int32, n+1)
	g.inStart = make([]int32, n+1)
	for _, l := range g.Links {
		g.outStart[l.From+1]++
		g.inStart[l.To+1]++
	}
	for v := 0; v < n; v++ {
		g.outStart[v+1] += g.outStart[v]
		g.inStart[v+1] += g.inStart[v]
	}
	g.out = make([]LinkID, len(g.Links))
	g.in = make([]LinkID, len(g.Links))
	outAt := append([]int32(nil), g.outStart[:n]...)
	inAt := append([]int32(nil), g.inStart[:n]...)
	for id, l := range g.Links {
		g.out[outAt[l.From]] = LinkID(id)
		outAt[l.From]++
		g.in[inAt[l.To]] = LinkID(id)
		inAt[l.To]++
	}
}

// GPUs returns the number of GPUs in the graph.
func (g *Graph) GPUs() int { return len(g.gpus) }

// GPUVertex returns the index in Vertices of the GPU of global rank r.
func (g *Graph) GPUVertex(r int) int { return int(g.gpus[r]) }

// Out returns the links leaving vertex v, in increasing LinkID order. The
// slice is the graph's own: do not modify it.
func (g *Graph) Out(v int) []LinkID { return g.out[g.outStart[v]:g.outStart[v+1]] }

// In returns the links entering vertex v, in increasing LinkID order. The
// slice is the graph's own: do not modify it.
func (g *Graph) In(v int) []LinkID { return g.in[g.inStart[v]:g.inStart[v+1]] }

// Reverse returns the first link (lowest ID) that runs opposite to id, and
// false if there is none.
func (g *Graph) Reverse(id LinkID) (LinkID, bool) {
	l := g.Links[id]
	for _, r := range g.Out(int(l.To)) {
		if g.Links[r].To == l.From {
			return r, true
		}
	}
	return 0, false
}

// LinkName names a link by its endpoints, e.g. "node3/gpu5 ->
// node3/nvswitch" or "leaf2 -> spine7".
func (g *Graph) LinkName(id LinkID) string {
	l := g.Links[id]
	return g.Vertices[l.From].Name + " -> " + g.Vertices[l.To].Name
}

// Path returns the links a transfer from the GPU of global rank src to the
// GPU of rank dst crosses, in order: the first starts at src's vertex, the
// last ends at dst's, and each ends where the next starts. It is empty when
// src == dst. The result is deterministic; key (e.g. a flow or channel
// number) feeds the ECMP hash, so different flows between the same pair may
// take different spines. It panics if src or dst is not a rank of g.
//
// In a graph made by Build: inside a node, [GPU->NVSwitch, NVSwitch->GPU].
// Between nodes, rail-aligned as NCCL builds rings: out through the source
// GPU's NIC and in through the destination GPU's NIC, [GPU->NIC, NIC->leaf,
// (leaf->spine, spine->leaf,) leaf->NIC, NIC->GPU]. When the two NICs are
// on different leaves, the spine is h mod S, h the FNV-1a hash of src, dst
// and key (with its high bits folded into the low ones). When rail-optimized and the two GPUs are on different rails (their NICs
// have different node-local indexes), the transfer first crosses NVLink to
// the source node's GPU with the destination's local index and leaves
// through that GPU's NIC (NCCL's PXN), so it stays on one rail.
//
// In a graph read from a file: a shortest path by hop count, choosing among
// equal-cost next hops by the ECMP hash; it costs a breadth-first search.
func (g *Graph) Path(src, dst int, key uint64) []LinkID {
	if src == dst {
		g.checkRank(src)
		return []LinkID{}
	}
	if g.fab != nil {
		return g.AppendPath(make([]LinkID, 0, 8), src, dst, key)
	}
	return g.AppendPath(nil, src, dst, key)
}

// AppendPath appends Path(src, dst, key) to p and returns the result; with
// a p of capacity 8 it does not allocate for a graph made by Build.
func (g *Graph) AppendPath(p []LinkID, src, dst int, key uint64) []LinkID {
	g.checkRank(src)
	g.checkRank(dst)
	if src == dst {
		return p
	}
	if g.fab != nil {
		return g.fabricPath(p, src, dst, key)
	}
	return g.searchPath(p, src, dst, key)
}

func (g *Graph) checkRank(r int) {
	if r < 0 || r >= len(g.gpus) {
		panic(fmt.Sprintf("topology: GPU rank %d out of range [0, %d)", r, len(g.gpus)))
	}
}

// fabricPath routes src != dst in a graph made by Build.
func (g *Graph) fabricPath(p []LinkID, src, dst int, key uint64) []LinkID {
	f := g.fab
	G := f.gpusPerNode
	ns := src / G
	if ns == dst/G {
		return append(p, f.nvUp[src], f.nvDown[dst])
	}
	from := src
	if f.rail {
		if lj := dst % G; f.localNIC(src%G) != f.localNIC(lj) {
			from = ns*G + lj
			p = append(p, f.nvUp[src], f.nvDown[from])
		}
	}
	a, b := f.nicOf[from], f.nicOf[dst]
	p = append(p, f.pcieUp[from], f.nicUp[a])
	if la, lb := int(f.leafOf[a]), int(f.leafOf[b]); la != lb {
		s := int(ecmpHash(src, dst, key) % uint64(f.spines))
		p = append(p, f.spineUp[la*f.spines+s], f.spineDown[lb*f.spines+s])
	}
	return append(p, f.nicDown[b], f.pcieDown[dst])
}

// AppendSprayPath appends to p the links of the transfer from GPU src to GPU
// dst split evenly over every spine, and to w each link's share of the
// transfer: a path across leaves crosses every uplink of its source leaf and
// every downlink of its destination leaf at 1/S each (S spines), the other
// links at 1. It is the path of Path without the ECMP choice, the limit of
// perfect load balancing (packet spraying, adaptive routing). ok is false,
// and p and w are returned unchanged, for a graph read from a file, which
// has no spines to spread over (use Path).
func (g *Graph) AppendSprayPath(p []LinkID, w []float64, src, dst int) (_ []LinkID, _ []float64, ok bool) {
	g.checkRank(src)
	g.checkRank(dst)
	f := g.fab
	if f == nil {
		return p, w, false
	}
	n0 := len(p)
	if src == dst {
		return p, w, true
	}
	G := f.gpusPerNode
	ns := src / G
	if ns == dst/G {
		p = append(p, f.nvUp[src], f.nvDown[dst])
		return p, append(w, 1, 1), true
	}
	from := src
	if f.rail {
		if lj := dst % G; f.localNIC(src%G) != f.localNIC(lj) {
			from = ns*G + lj
			p = append(p, f.nvUp[src], f.nvDown[from])
		}
	}
	a, b := f.nicOf[from], f.nicOf[dst]
	p = append(p, f.pcieUp[from], f.nicUp[a])
	for range len(p) - n0 {
		w = append(w, 1)
	}
	if la, lb := int(f.leafOf[a]), int(f.leafOf[b]); la != lb {
		share := 1 / float64(f.spines)
		for s := range f.spines {
			p = append(p, f.spineUp[la*f.spines+s])
			w = append(w, share)
		}
		for s := range f.spines {
			p = append(p, f.spineDown[lb*f.spines+s])
			w = append(w, share)
		}
	}
	return append(p, f.nicDown[b], f.pcieDown[dst]), append(w, 1, 1), true
}

// searchPath routes src != dst in a graph read from a file: a breadth-first
// search from dst over incoming links gives every vertex's hop distance to
// dst, then the walk from src takes, at each vertex v, one of the links to a
// vertex one hop closer: the one at position mix(h, v) mod (their number) in
// increasing LinkID order, h = FNV-1a(src, dst, key). It returns p unchanged
// if dst cannot be reached (ReadGraph rejects such graphs).
func (g *Graph) searchPath(p []LinkID, src, dst int, key uint64) []LinkID {
	s, t := g.gpus[src], g.gpus[dst]
	dist := make([]int32, len(g.Vertices))
	for i := range dist {
		dist[i] = -1
	}
	queue := make([]int32, 1, len(g.Vertices))
	queue[0] = t
	dist[t] = 0
	for i := 0; i < len(queue) && dist[s] < 0; i++ {
		v := queue[i]
		for _, id := range g.In(int(v)) {
			if u := g.Links[id].From; dist[u] < 0 {
				dist[u] = dist[v] + 1
				queue = append(queue, u)
			}
		}
	}
	if dist[s] < 0 {
		return p
	}
	h := ecmpHash(src, dst, key)
	for v := s; v != t; {
		want := dist[v] - 1
		n := 0
		for _, id := range g.Out(int(v)) {
			if dist[g.Links[id].To] == want {
				n++
			}
		}
		k := int(fold(fnvUint64(h, uint64(v))) % uint64(n))
		for _, id := range g.Out(int(v)) {
			if dist[g.Links[id].To] != want {
				continue
			}
			if k == 0 {
				p = append(p, id)
				v = g.Links[id].To
				break
			}
			k--
		}
	}
	return p
}

// FNV-1a, 64-bit (Fowler, Noll, Vo; IETF draft-eastlake-fnv).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvUint64 continues the FNV-1a hash h over the 8 little-endian bytes of x.
func fnvUint64(h, x uint64) uint64 {
	for i := 0; i < 8; i++ {
		h ^= x & 0xff
		h *= fnvPrime
		x >>= 8
	}
	return h
}

// ecmpHash is the FNV-1a hash of src, dst and key, each as 8 little-endian
// bytes: the ECMP choice of a flow. The low k bits of an FNV hash depend only
// on the low k bits of each input byte, so that a choice mod 16 among spines
// would repeat across ranks 16 apart; folding the high half into the low one
// mixes every input bit into the bits a small modulus keeps.
func ecmpHash(src, dst int, key uint64) uint64 {
	return fold(fnvUint64(fnvUint64(fnvUint64(fnvOffset, uint64(src)), uint64(dst)), key))
}

// fold xors the high bits of h into its low ones.
func fold(h uint64) uint64 {
	h ^= h >> 32
	return h ^ h>>16
}

// PathLatency is the sum of the latencies of the links of p.
func (g *Graph) PathLatency(p []LinkID) units.Seconds {
	var s units.Seconds
	for _, id := range p {
		s += g.Links[id].Latency
	}
	return s
}

// PathBandwidth is the smallest capacity among the links of p (the rate a
// lone transfer gets), or +Inf for an empty path.
func (g *Graph) PathBandwidth(p []LinkID) units.Bandwidth {
	b := units.Bandwidth(math.Inf(1))
	for _, id := range p {
		b = min(b, g.Links[id].Capacity)
	}
	return b
}

// maxLatencySamples bounds the destinations Latencies routes to on each
// side of the node boundary, so that a large file costs a bounded number of
// path searches.
const maxLatencySamples = 256

// Latencies returns the one-way latencies of a small message that the
// graph's link latencies give, as the collective model's two generic
// latencies (cluster.nvlink.latency, cluster.network.latency) stand for
// them: intra is the longest path from GPU 0 to another GPU of its node,
// inter the longest from GPU 0 to a GPU of another node, each the sum of
// the latencies of its path's links, over at most 256 destinations each
// (the first GPU of each other node). ok is false when no link has a
// latency: the file gave none, and the generic latencies stand. A side with
// no destination (one GPU per node, one node) is 0 with hasIntra or
// hasInter false.
func (g *Graph) Latencies() (intra, inter units.Seconds, hasIntra, hasInter, ok bool) {
	for _, l := range g.Links {
		if l.Latency > 0 {
			ok = true
			break
		}
	}
	if !ok || len(g.gpus) < 2 {
		return 0, 0, false, false, ok
	}
	node0 := g.Vertices[g.gpus[0]].Node
	nIntra, nInter := 0, 0
	seenNode := map[int]bool{node0: true}
	var p []LinkID
	for r := 1; r < len(g.gpus) && (nIntra < maxLatencySamples || nInter < maxLatencySamples); r++ {
		node := g.Vertices[g.gpus[r]].Node
		switch {
		case node == node0 && nIntra < maxLatencySamples:
			nIntra++
			p = g.AppendPath(p[:0], 0, r, 0)
			intra, hasIntra = max(intra, g.PathLatency(p)), true
		case node != node0 && !seenNode[node] && nInter < maxLatencySamples:
			seenNode[node] = true
			nInter++
			p = g.AppendPath(p[:0], 0, r, 0)
			inter, hasInter = max(inter, g.PathLatency(p)), true
		}
	}
	return intra, inter, hasIntra, hasInter, ok
}
