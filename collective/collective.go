package collective

import (
	"fmt"
	"math"

	"trainsim/topology"
	"trainsim/units"
)

// Op is a communication operation.
type Op uint8

// The operations.
const (
	AllReduce Op = iota
	ReduceScatter
	AllGather
	SendRecv
)

func (o Op) String() string {
	return [...]string{"all-reduce", "reduce-scatter", "all-gather", "send/recv"}[o]
}

// Tier is a class of link.
type Tier uint8

// The link tiers of the analytical model.
const (
	NVLink Tier = iota // GPU to NVSwitch, inside a node
	NIC                // GPU's NIC into the fabric, between nodes
)

func (t Tier) String() string { return [...]string{"nvlink", "nic"}[t] }

// Placement describes a communicator group.
type Placement struct {
	// Ranks is the group size.
	Ranks int
	// PerNode is how many of the group's ranks share a node; Ranks/PerNode
	// nodes are spanned.
	PerNode int
}

// Nodes returns the number of nodes the group spans.
func (p Placement) Nodes() int { return (p.Ranks + p.PerNode - 1) / p.PerNode }

// Params are the achievable fractions of datasheet link rates.
type Params struct {
	// NVLinkFraction is the NCCL bus bandwidth a large collective reaches
	// inside an NVSwitch node, as a fraction of the per-GPU NVLink rate.
	NVLinkFraction float64
	// NICFraction is the fraction of a NIC's line rate NCCL reaches.
	NICFraction float64
	// HalfBandwidthBytes is the per-rank message size at which NCCL reaches
	// half of its large-message bus bandwidth: below a few MiB the pipeline
	// of chunks through the ring never fills (nccl-tests curves). Effective
	// bandwidth is B·S/(S+HalfBandwidthBytes) for a per-step chunk S.
	HalfBandwidthBytes units.Bytes
}

// DefaultParams returns the documented achievable fractions (docs/model.md).
func DefaultParams() Params {
	return Params{NVLinkFraction: 0.78, NICFraction: 0.92, HalfBandwidthBytes: 512 * units.KiB}
}

// sizeFactor is the share of the large-message bandwidth a step moving
// chunk bytes reaches.
func (p Params) sizeFactor(chunk units.Bytes) float64 {
	if p.HalfBandwidthBytes <= 0 {
		return 1
	}
	return float64(chunk) / float64(chunk+p.HalfBandwidthBytes)
}

// Model prices collectives on one cluster.
type Model struct {
	Cluster topology.Cluster
	Params  Params
}

// Cost is the price of one collective as seen by one rank.
type Cost struct {
	Time units.Seconds
	// Algorithm is the algorithm chosen ("ring", "tree", "direct").
	Algorithm string
	// Bottleneck is the link tier whose bandwidth bounds the transfer.
	Bottleneck Tier
	// Sent holds the bytes this rank sends on each tier.
	Sent [2]units.Bytes
}

// Time prices op on a buffer of size bytes (the full buffer: the all-reduce
// input, the reduce-scatter input, the all-gather output, the message) over
// group p.
func (m Model) Time(op Op, bytes units.Bytes, p Placement) (Cost, error) {
	if p.Ranks < 1 || p.PerNode < 1 || p.PerNode > m.Cluster.GPUsPerNode {
		return Cost{}, fmt.Errorf("collective: invalid placement %+v on %d GPUs per node", p, m.Cluster.GPUsPerNode)
	}
	if p.Ranks == 1 && op != SendRecv || bytes <= 0 {
		return Cost{Algorithm: "none"}, nil
	}
	nv := m.Cluster.NVLink.Bandwidth.Scale(m.Params.NVLinkFraction)
	nic := m.Cluster.NICBandwidthPerGPU().Scale(m.Params.NICFraction)
	net := m.Cluster.Network
	if p.Nodes() > net.NodesPerLeaf && net.NodesPerLeaf > 0 && net.Oversubscription > 1 {
		nic = nic.Scale(1 / net.Oversubscription)
	}
	if op == SendRecv {
		f := m.Params.sizeFactor(bytes)
		nic, nv = nic.Scale(f), nv.Scale(f)
		if p.Ranks > 1 && p.PerNode == 1 || p.Nodes() > 1 {
			return Cost{Time: bytes.Over(nic) + net.Latency, Algorithm: "direct", Bottleneck: NIC, Sent: [2]units.Bytes{0, bytes}}, nil
		}
		return Cost{Time: bytes.Over(nv) + m.Cluster.NVLink.Latency, Algorithm: "direct", Bottleneck: NVLink, Sent: [2]units.Bytes{bytes, 0}}, nil
	}

	n := float64(p.Ranks)
	nodes := p.Nodes()
	// Bandwidth a ring sees per rank: NVLink inside the node; across nodes,
	// one channel per rank the group has on the node, each on that rank's
	// NIC share.
	bw, tier, alpha := nv, NVLink, m.Cluster.NVLink.Latency
	if nodes > 1 {
		inter := nic.Scale(float64(p.PerNode))
		if inter < nv {
			bw, tier = inter, NIC
		}
		alpha = net.Latency
	}
	// Each ring step moves one rank's chunk of the buffer.
	bw = bw.Scale(m.Params.sizeFactor(bytes / units.Bytes(n)))
	steps := n - 1
	volume := (n - 1) / n // share of the buffer each rank sends per pass
	passes := 1.0
	if op == AllReduce {
		passes = 2
	}
	ring := units.Seconds(passes*volume*float64(bytes)/float64(bw)) + units.Seconds(passes*steps)*alpha
	c := Cost{Time: ring, Algorithm: "ring", Bottleneck: tier}
	if op == AllReduce && nodes > 2 {
		// Double binary tree across nodes, chains inside them: bandwidth
		// like a ring's for large buffers, latency logarithmic in nodes.
		depth := math.Ceil(math.Log2(float64(nodes)))
		tree := units.Seconds(2*float64(bytes)/float64(bw)) +
			units.Seconds(2*depth)*net.Latency + units.Seconds(2*float64(p.PerNode-1))*m.Cluster.NVLink.Latency
		if tree < ring {
			c = Cost{Time: tree, Algorithm: "tree", Bottleneck: tier}
		}
	}
	sent := units.Bytes(passes * volume * float64(bytes))
	if nodes > 1 {
		// One ring edge in PerNode leaves the node.
		inter := sent / units.Bytes(p.PerNode)
		c.Sent = [2]units.Bytes{sent - inter, inter}
	} else {
		c.Sent = [2]units.Bytes{sent, 0}
	}
	return c, nil
}
