package topology

import (
	"slices"

	"trainsim/field"
	"trainsim/units"
)

// GPU holds the datasheet figures of one accelerator.
type GPU struct {
	Name string
	// Family selects the kernel-efficiency curves ("ampere", "hopper", "blackwell").
	Family string
	// PeakDense16 is the dense (no sparsity) FP16/BF16 tensor-core peak.
	PeakDense16 units.FLOPRate
	// PeakDenseFP8 is the dense FP8 tensor-core peak; zero where the GPU has no FP8.
	PeakDenseFP8 units.FLOPRate
	HBM          units.Bytes
	HBMBandwidth units.Bandwidth
	SMs          int
	// Source cites the datasheet the figures come from.
	Source string
}

// Peak returns the dense tensor-core peak at precision p, and false if the GPU
// does not support p.
func (g GPU) Peak(p units.Precision) (units.FLOPRate, bool) {
	switch p {
	case units.FP16, units.BF16:
		return g.PeakDense16, g.PeakDense16 > 0
	case units.FP8:
		return g.PeakDenseFP8, g.PeakDenseFP8 > 0
	}
	return 0, false
}

// Link is a point-to-point connection: bandwidth per direction and the
// one-way latency of a message.
type Link struct {
	Bandwidth units.Bandwidth
	Latency   units.Seconds
}

// Fabric names of the inter-node network.
const (
	FatTree       = "fat-tree"
	RailOptimized = "rail-optimized"
)

// Fabrics lists the fabrics a scenario may name
// (cluster.network.topology), in the order messages list them.
func Fabrics() []string { return []string{FatTree, RailOptimized} }

// Families lists the GPU families that have kernel-efficiency constants
// (cluster.gpu.family; compute.ParamsFor), in the order messages list them.
func Families() []string { return []string{"ampere", "hopper", "blackwell"} }

// Network is the inter-node fabric as a node sees it.
type Network struct {
	// Topology is FatTree or RailOptimized.
	Topology string
	// NICBandwidth is the line rate of one NIC, per direction.
	NICBandwidth units.Bandwidth
	NICsPerNode  int
	// Latency is the end-to-end latency of a small message across the fabric
	// (NIC, switches and cables).
	Latency units.Seconds
	// Oversubscription is the ratio of leaf down-link to up-link capacity;
	// 1 is a full-bisection (non-blocking) fabric.
	Oversubscription float64
	// NodesPerLeaf is how many nodes one leaf switch (one rail leaf, when
	// rail-optimized) connects; traffic between nodes of different leaves
	// crosses the spine.
	NodesPerLeaf int
	// File names an explicit topology (see ReadGraph) to use instead of the
	// template in the flow-level network; the caller loads it.
	File string
}

// System is a node type: its GPUs, their NVLink/NVSwitch domain and its NICs.
type System struct {
	Name        string
	GPU         GPU
	GPUsPerNode int
	// NVLink is the per-GPU, per-direction NVLink bandwidth through the
	// node's NVSwitches, and its latency.
	NVLink  Link
	Network Network
	// Source cites the system datasheet.
	Source string
}

// Cluster is a number of identical nodes on one fabric.
type Cluster struct {
	System
	Nodes int
}

// GPUs returns the total GPU count.
func (c Cluster) GPUs() int { return c.Nodes * c.GPUsPerNode }

// NICBandwidthPerGPU is each GPU's share of its node's NIC bandwidth.
func (s System) NICBandwidthPerGPU() units.Bandwidth {
	return units.Bandwidth(float64(s.Network.NICBandwidth) * float64(s.Network.NICsPerNode) / float64(s.GPUsPerNode))
}

// Validate returns every problem with the cluster description, each naming
// the scenario key and the rule.
func (c Cluster) Validate() []field.Error {
	var errs []field.Error
	add := func(key, format string, a ...any) { errs = append(errs, field.Errorf(key, format, a...)) }
	if c.Nodes <= 0 {
		add("cluster.nodes", "must be a positive integer, got %d", c.Nodes)
	}
	if c.GPUsPerNode <= 0 {
		add("cluster.gpus_per_node", "must be a positive integer, got %d", c.GPUsPerNode)
	}
	if c.GPU.PeakDense16 <= 0 {
		add("cluster.gpu.peak", "must be positive")
	}
	if !slices.Contains(Families(), c.GPU.Family) {
		add("cluster.gpu.family", "%q is not a GPU family with kernel-efficiency constants (allowed: %s)", c.GPU.Family, field.Quote(Families()))
	}
	if c.GPU.SMs < 1 {
		add("cluster.gpu.sms", "must be a positive integer, got %d", c.GPU.SMs)
	}
	if c.Network.NodesPerLeaf < 1 {
		add("cluster.network.nodes_per_leaf", "must be a positive integer, got %d", c.Network.NodesPerLeaf)
	}
	if c.GPU.HBM <= 0 {
		add("cluster.gpu.hbm", "must be positive")
	}
	if c.GPU.HBMBandwidth <= 0 {
		add("cluster.gpu.hbm_bandwidth", "must be positive")
	}
	if c.NVLink.Bandwidth <= 0 {
		add("cluster.nvlink.bandwidth", "must be positive")
	}
	if c.Network.NICBandwidth <= 0 {
		add("cluster.network.nic_bandwidth", "must be positive")
	}
	if c.Network.NICsPerNode <= 0 {
		add("cluster.network.nics_per_node", "must be a positive integer, got %d", c.Network.NICsPerNode)
	}
	if c.Network.Oversubscription < 1 {
		add("cluster.network.oversubscription", "must be at least 1 (1 = non-blocking), got %g", c.Network.Oversubscription)
	}
	if !slices.Contains(Fabrics(), c.Network.Topology) {
		add("cluster.network.topology", "%q is not supported (allowed: %s)", c.Network.Topology, field.Quote(Fabrics()))
	}
	return errs
}
