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
	AllToAll
)

// All-reduce algorithms a scenario may force; AlgorithmAuto picks the
// cheaper of ring and tree for each call, as NCCL's tuner does.
const (
	AlgorithmAuto = "auto"
	AlgorithmRing = "ring"
	AlgorithmTree = "tree"
)

// Algorithms lists the all-reduce algorithms a scenario may force
// (simulation.allreduce), in the order messages list them.
func Algorithms() []string { return []string{AlgorithmAuto, AlgorithmRing, AlgorithmTree} }

func (o Op) String() string {
	return [...]string{"all-reduce", "reduce-scatter", "all-gather", "send/recv", "all-to-all"}[o]
}

// The link tiers the analytical model prices: NVLink inside a node, the
// GPU's NIC share between nodes, and the leaf–spine uplinks for groups that
// span leaves of an oversubscribed fabric.
const (
	NVLink = topology.TierNVLink
	NIC    = topology.TierNIC
	Spine  = topology.TierSpine
)

// Placement describes a communicator group.
type Placement struct {
	// Ranks is the group size.
	Ranks int
	// PerNode is how many of the group's ranks share a node; Ranks/PerNode
	// nodes are spanned.
	PerNode int
	// Leaves is how many leaf switches the group's nodes hang off; more
	// than one means its inter-node traffic crosses the spine. Zero means
	// unknown: the count of nodes against NodesPerLeaf decides.
	Leaves int
	// Cross, when its Known is set, is what the caller found of the
	// traffic of every copy of the collective that runs at once (every
	// tensor-parallel rank's data-parallel ring, every pipeline pair of a
	// stage) on the cluster's template fabric. Without it, a group over
	// several leaves of an oversubscribed fabric is priced at the bound
	// where every NIC of the leaf sends across the spine at once.
	Cross Crossing
	// NodeCopies, when > 0, makes an all-to-all node-level (DeepEP's and
	// HybridEP's dispatch and combine): of each token's routed copies for
	// the group's other nodes, one per destination node crosses the
	// fabric and is forwarded there over NVLink. It is the expected
	// number of distinct nodes a token's copies reach over the copies per
	// token (model.Config.DestinationNodes / top-k); 0 is NCCL's pairwise
	// exchange.
	NodeCopies float64
}

// Crossing describes how a collective's transfers, all its concurrent
// copies together, use the leaf–spine tier (see docs/network.md).
type Crossing struct {
	Known bool
	// Flows is the most transfers that leave one leaf across the spine,
	// or enter one from it, at once: the streams that share that leaf's
	// uplinks (or downlinks), spread over the spines by ECMP hashing.
	Flows int
	// Sets is how many leaves send streams across the spine (the
	// collective waits for the slowest of them).
	Sets int
	// Share is the fraction of the group's inter-node bytes that cross a
	// spine, averaged over its ranks.
	Share float64
	// PXN is the fraction of the inter-node bytes that first hop over
	// NVLink to the GPU on the destination's rail (rail-optimized).
	PXN float64
	// Spray: the fabric spreads every stream evenly over all the spines
	// (adaptive routing, packet spraying) instead of hashing it onto one:
	// the Flows streams share all the leaf's uplinks evenly, with no
	// collisions.
	Spray bool
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
	// HalfBandwidthBytes sets the cost of NCCL's protocols for a step that
	// moves a chunk of c bytes at bandwidth B. The Simple protocol, built for
	// bandwidth, pays a pipeline fill of HalfBandwidthBytes/B per step (so it
	// reaches half its peak at c = HalfBandwidthBytes, as nccl-tests curves
	// do); the low-latency LL protocol sends data and flags together at half
	// the bandwidth. NCCL picks the faster, so a step costs
	// latency + (c + min(c, HalfBandwidthBytes))/B.
	HalfBandwidthBytes units.Bytes
	// AllReduce forces an all-reduce algorithm (AlgorithmRing or
	// AlgorithmTree); empty or AlgorithmAuto lets the cheaper win.
	AllReduce string
	// NVLinkAllReduce, when set, is the measured all-reduce inside one
	// NVLink domain: a ring all-reduce, reduce-scatter or all-gather whose
	// ranks share one node takes the measured time of its group size
	// (a reduce-scatter or all-gather half that of an all-reduce of the
	// same buffer: NCCL's ring all-reduce is the one followed by the
	// other over the same chunks) instead of the formula's.
	NVLinkAllReduce *AllReduceCurve
	// NVLinkAllToAll, when set, is the measured all-to-all inside one
	// NVLink domain: an all-to-all whose ranks share one node (NVLink
	// domain) takes the measured time of its group size instead of the
	// formula's.
	NVLinkAllToAll *AllToAllCurve
}

// DefaultParams returns the documented achievable fractions (docs/model.md).
func DefaultParams() Params {
	return Params{NVLinkFraction: 0.78, NICFraction: 0.92, HalfBandwidthBytes: 512 * units.KiB}
}

// SizeFactor is the share of the large-message bandwidth a step moving
// chunk bytes reaches under the faster of NCCL's protocols (see
// HalfBandwidthBytes): c / (c + min(c, HalfBandwidthBytes)).
func (p Params) SizeFactor(chunk units.Bytes) float64 {
	if p.HalfBandwidthBytes <= 0 || chunk <= 0 {
		return 1
	}
	return float64(chunk) / float64(chunk+min(chunk, p.HalfBandwidthBytes))
}

// Model prices collectives on one cluster.
type Model struct {
	Cluster topology.Cluster
	Params  Params
	// ECMP, when not nil, remembers ECMPSlowdown's results by their
	// arguments, for a caller that prices many collectives over one fabric
	// (a replay, a layout search): the same numbers, computed once.
	ECMP *ECMPMemo
}

// Cost is the price of one collective as seen by one rank.
type Cost struct {
	Time units.Seconds
	// Algorithm is the algorithm chosen ("ring", "tree", "direct").
	Algorithm string
	// Latency is the part of Time that is per-step latency rather than
	// bandwidth (what a flow-level model adds on top of the transfers).
	Latency units.Seconds
	// Bottleneck is the link tier whose bandwidth bounds the transfer.
	Bottleneck topology.Tier
	// Sent holds, per link tier, the bytes this rank sends that cross a
	// link of that tier (each byte once per tier it crosses; a byte to
	// another node crosses PCIe and the NIC tier, and the leaf–spine tier
	// when it changes leaf). Bytes is what the rank sends in all.
	Sent  [topology.NumTiers]units.Bytes
	Bytes units.Bytes
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
	nicTier := NIC
	leaves := p.Leaves
	if leaves == 0 && net.NodesPerLeaf > 0 {
		leaves = (p.Nodes() + net.NodesPerLeaf - 1) / net.NodesPerLeaf
	}
	// flowsPerNIC is how many of the collective's transfers one rank's NIC
	// share carries at once: one ring edge or send, or the n−k remote
	// shares of an all-to-all.
	flowsPerNIC := 1
	if op == AllToAll {
		flowsPerNIC = max(1, p.Ranks-min(p.PerNode, p.Ranks))
		if p.NodeCopies > 0 {
			flowsPerNIC = max(1, p.Nodes()-1) // one stream per destination node
		}
	}
	switch {
	case leaves > 1 && p.Cross.Known:
		// The transfers that cross the spine share their leaf's uplinks.
		// Under ECMP each is hashed onto one: the slowest stream is the
		// one on the most loaded uplink. Sprayed, the Flows streams share
		// all S uplinks evenly: each gets S·U/Flows at most.
		sh := topology.FabricOf(m.Cluster)
		if sh.Spines > 0 && p.Cross.Flows > 0 {
			up := sh.Uplink.Scale(m.Params.NICFraction)
			demand := float64(nic) / float64(flowsPerNIC)
			slow := 1.0
			if p.Cross.Spray {
				slow = math.Max(1, float64(p.Cross.Flows)*demand/(float64(sh.Spines)*float64(up)))
			} else {
				slow = m.ECMP.slowdown(p.Cross.Flows, sh.Spines, p.Cross.Sets, demand/float64(up))
			}
			if slow > 1 {
				nic = nic.Scale(1 / slow)
				nicTier = Spine
			}
		}
	case leaves > 1 && net.Oversubscription > 1:
		// Unknown traffic: the bound where every NIC of a leaf is busy with
		// its own group's traffic, so the uplinks give each
		// 1/oversubscription of its rate.
		nic = nic.Scale(1 / net.Oversubscription)
		nicTier = Spine
	}
	var sent [topology.NumTiers]units.Bytes
	if op == SendRecv {
		f := m.Params.SizeFactor(bytes)
		nic, nv = nic.Scale(f), nv.Scale(f)
		if p.Ranks > 1 && p.PerNode == 1 || p.Nodes() > 1 {
			sent[NIC] = bytes
			return Cost{Time: bytes.Over(nic) + net.Latency, Latency: net.Latency, Algorithm: "direct", Bottleneck: nicTier, Sent: p.tiers(sent), Bytes: bytes}, nil
		}
		sent[NVLink] = bytes
		return Cost{Time: bytes.Over(nv) + m.Cluster.NVLink.Latency, Latency: m.Cluster.NVLink.Latency, Algorithm: "direct", Bottleneck: NVLink, Sent: sent, Bytes: bytes}, nil
	}

	n := float64(p.Ranks)
	nodes := p.Nodes()
	if op == AllToAll && p.NodeCopies > 0 && nodes > 1 {
		// Node-level: of the buffer's (n−k)/n for other nodes, NodeCopies
		// of it crosses the fabric (one copy per destination node), each
		// to the GPU of the sender's local index. NVLink carries the
		// copies for the sender's own node and the forwarding of what a
		// GPU received to its node's other GPUs: by symmetry (every GPU
		// forwards as much as it receives for others) (k−1)/k of the
		// buffer. The kernels pipeline the two in chunks, so the slower
		// link bounds the time.
		k := float64(min(p.PerNode, p.Ranks))
		share := bytes / units.Bytes(n)
		f := m.Params.SizeFactor(share)
		inter := units.Bytes((n - k) / n * p.NodeCopies * float64(bytes))
		intra := units.Bytes((k - 1) / k * float64(bytes))
		t, tier := intra.Over(nv.Scale(f)), NVLink
		if ti := inter.Over(nic.Scale(f)); ti > t {
			t, tier = ti, nicTier
		}
		t += net.Latency
		sent[NVLink], sent[NIC] = intra, inter
		return Cost{Time: t, Latency: net.Latency, Algorithm: "node-level", Bottleneck: tier, Sent: p.tiers(sent), Bytes: intra + inter}, nil
	}
	if op == AllToAll {
		// Every rank sends S/n to each other rank directly: (k−1) shares
		// over NVLink to its node's ranks, n−k shares through its NIC.
		k := float64(min(p.PerNode, p.Ranks))
		share := bytes / units.Bytes(n)
		f := m.Params.SizeFactor(share)
		intra := units.Bytes(k-1) * share
		inter := units.Bytes(n-k) * share
		t := intra.Over(nv.Scale(f))
		lat := m.Cluster.NVLink.Latency
		tier := NVLink
		if inter > 0 {
			if ti := inter.Over(nic.Scale(f)); ti > t {
				t, tier = ti, nicTier
			}
			lat = net.Latency
		}
		t += lat
		if inter == 0 {
			formula := func(size units.Bytes) units.Seconds {
				s := size / units.Bytes(n)
				return (units.Bytes(k-1) * s).Over(nv.Scale(m.Params.SizeFactor(s))) + lat
			}
			if tm, ok := m.Params.NVLinkAllToAll.time(p.Ranks, bytes, formula); ok {
				t, lat = tm, min(lat, tm)
			}
		}
		sent[NVLink], sent[NIC] = intra, inter
		return Cost{Time: t, Latency: lat, Algorithm: "pairwise", Bottleneck: tier, Sent: p.tiers(sent), Bytes: intra + inter}, nil
	}
	// Bandwidth a ring sees per rank: NVLink inside the node; across nodes,
	// one channel per rank the group has on the node, each on that rank's
	// NIC share.
	bw, tier, alpha := nv, NVLink, m.Cluster.NVLink.Latency
	if nodes > 1 {
		inter := nic.Scale(float64(p.PerNode))
		if inter < nv {
			bw, tier = inter, nicTier
		}
		alpha = net.Latency
	}
	// Each ring step moves one rank's chunk of the buffer.
	steps := n - 1
	volume := (n - 1) / n // share of the buffer each rank sends per pass
	passes := 1.0
	if op == AllReduce {
		passes = 2
	}
	ringTime := func(passes float64, size units.Bytes) (units.Seconds, units.Seconds) {
		lat := units.Seconds(passes*steps) * alpha
		b := bw.Scale(m.Params.SizeFactor(size / units.Bytes(n)))
		return units.Seconds(passes*volume*float64(size)/float64(b)) + lat, lat
	}
	ring, ringLat := ringTime(passes, bytes)
	if nodes == 1 {
		formula := func(size units.Bytes) units.Seconds { t, _ := ringTime(2, size); return t }
		if t, ok := m.Params.NVLinkAllReduce.time(p.Ranks, bytes, formula); ok {
			if op != AllReduce {
				t /= 2
			}
			ring, ringLat = t, min(ringLat, t)
		}
	}
	bw = bw.Scale(m.Params.SizeFactor(bytes / units.Bytes(n)))
	c := Cost{Time: ring, Latency: ringLat, Algorithm: "ring", Bottleneck: tier}
	if op == AllReduce && nodes > 2 {
		// Double binary tree across nodes, chains inside them: bandwidth
		// like a ring's for large buffers, latency logarithmic in nodes.
		depth := math.Ceil(math.Log2(float64(nodes)))
		treeLat := units.Seconds(2*depth)*net.Latency + units.Seconds(2*float64(p.PerNode-1))*m.Cluster.NVLink.Latency
		tree := units.Seconds(2*float64(bytes)/float64(bw)) + treeLat
		forced := m.Params.AllReduce
		if forced == AlgorithmTree || (forced != AlgorithmRing && tree < ring) {
			c = Cost{Time: tree, Latency: treeLat, Algorithm: "tree", Bottleneck: tier}
		}
	}
	vol := units.Bytes(passes * volume * float64(bytes))
	if nodes > 1 {
		// One ring edge in PerNode leaves the node.
		inter := vol / units.Bytes(p.PerNode)
		c.Sent[NVLink], c.Sent[NIC] = vol-inter, inter
	} else {
		c.Sent[NVLink] = vol
	}
	c.Sent = p.tiers(c.Sent)
	c.Bytes = vol
	return c, nil
}

// tiers completes bytes sent on NVLink and through the NIC with the other
// tiers they cross: every byte through the NIC first crosses PCIe, the
// crossing share also the leaf–spine tier, and the PXN share NVLink first.
// Each byte counts once per tier it crosses (docs/network.md).
func (p Placement) tiers(sent [topology.NumTiers]units.Bytes) [topology.NumTiers]units.Bytes {
	inter := sent[NIC]
	sent[topology.TierPCIe] = inter
	if p.Cross.Known {
		sent[Spine] = units.Bytes(float64(inter) * p.Cross.Share)
		sent[NVLink] += units.Bytes(float64(inter) * p.Cross.PXN)
	} else if p.Leaves > 1 {
		sent[Spine] = inter
	}
	return sent
}
