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
	// DriverReserved is the part of HBM the CUDA driver does not report as
	// the device's total (cudaMemGetInfo, torch.cuda.mem_get_info: what
	// vLLM multiplies by gpu_memory_utilization); 0 where no source gives
	// the reported total.
	DriverReserved units.Bytes
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

// DeviceMemory is the device's total memory as the CUDA driver reports it:
// the HBM less DriverReserved.
func (g GPU) DeviceMemory() units.Bytes { return g.HBM - g.DriverReserved }

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

// Link-layer transports of the inter-node network. They decide how the
// switches spread traffic over equal-cost paths by default: NCCL turns on
// adaptive-routing-capable transfers on InfiniBand ports and leaves them
// off on RoCE (NVIDIA/nccl src/transport/net_ib.cc @ v2.19.1-1: "Enable
// ADAPTIVE_ROUTING by default on IB networks", ar = link layer is
// InfiniBand; NCCL_IB_ADAPTIVE_ROUTING overrides it, see NCCL's
// environment-variable guide), and InfiniBand subnet managers enable
// adaptive routing on the switches (NVIDIA InfiniBand Cluster Bring-up
// Procedure v1.0, "Adaptive Routing": "AR is enabled by default in the
// opensm.conf file"). RoCE fabrics hash flows over paths (ECMP) unless
// the operator configures otherwise.
const (
	TransportInfiniBand = "infiniband"
	TransportRoCE       = "roce"
)

// Transports lists the transports a scenario may name
// (cluster.network.transport), in the order messages list them.
func Transports() []string { return []string{TransportInfiniBand, TransportRoCE} }

// Families lists the GPU families that have kernel-efficiency constants
// (cluster.gpu.family; compute.ParamsFor), in the order messages list them.
func Families() []string { return []string{"ampere", "hopper", "blackwell"} }

// AdaptiveRouting reports whether the fabric spreads traffic over equal-cost
// paths adaptively by default: InfiniBand (see TransportInfiniBand).
func (n Network) AdaptiveRouting() bool { return n.Transport != TransportRoCE }

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
	// Transport is TransportInfiniBand or TransportRoCE (empty:
	// InfiniBand, as every built-in system).
	Transport string
	// File names an explicit topology (see ReadGraph) to use instead of the
	// template in the flow-level network; the caller loads it.
	File string
	// Scaling records a NICsPerNode scaled from a system built for another
	// number of GPUs per node (System.WithGPUsPerNode); zero when the count
	// is the system's own or was stated. It changes no figure, only what
	// the report says was assumed (System.NICNote).
	Scaling NICScaling
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

// The physical ranges of the hardware figures: a value outside them is a
// typo (312FLOP/s for 312TFLOP/s) or a unit slip, and would price kernels
// and transfers beyond the engine's range or past any sense. Cluster.Validate
// refuses them; the scenario key table states them.
const (
	MinPeak             units.FLOPRate  = 1e12  // 1 TFLOP/s
	MaxPeak             units.FLOPRate  = 1e17  // 100 PFLOP/s
	MinBandwidth        units.Bandwidth = 1e9   // 1 GB/s
	MaxBandwidth        units.Bandwidth = 1e14  // 100 TB/s
	MaxLatency          units.Seconds   = 10e-3 // 10 ms (at least 0)
	MinHBM              units.Bytes     = units.GiB
	MaxHBM              units.Bytes     = 100 * units.TiB
	MaxOversubscription                 = 1000
	// MaxSMs bounds the streaming multiprocessors of a GPU: 1024, about
	// seven times B200's 148 (its preset). The kernel model reads the SM
	// count only for wave quantisation, so 10⁸ SMs ran, each GEMM a
	// fraction of one wave, at a step of 8.5 days and an MFU of 0.001%.
	MaxSMs = 1024
	// MaxNodes and MaxGPUsPerNode bound the cluster's shape, and MaxGPUs
	// its size: 2^20 nodes, 2^20 GPUs in one node (a pool the RL step
	// lays out as one node), 2^24 GPUs in all, eighty times the largest
	// clusters built (about 200,000 GPUs in 2025). sim search over 10^9
	// nodes (8·10^9 GPUs) enumerated their divisors one by one for minutes.
	MaxNodes       = 1 << 20
	MaxGPUsPerNode = 1 << 20
	MaxGPUs        = 1 << 24
)

// GPUs returns the total GPU count.
func (c Cluster) GPUs() int { return c.Nodes * c.GPUsPerNode }

// NICBandwidthPerGPU is each GPU's share of its node's NIC bandwidth.
func (s System) NICBandwidthPerGPU() units.Bandwidth {
	return units.Bandwidth(float64(s.Network.NICBandwidth) * float64(s.Network.NICsPerNode) / float64(s.GPUsPerNode))
}

// CountsOK reports whether the cluster's node and GPU counts are within the
// bounds Validate checks: 1–MaxNodes nodes of 1–MaxGPUsPerNode GPUs, at most
// MaxGPUs in all. A GPU count from counts that are not is no one's choice.
func (c Cluster) CountsOK() bool {
	return c.Nodes >= 1 && c.Nodes <= MaxNodes && c.GPUsPerNode >= 1 && c.GPUsPerNode <= MaxGPUsPerNode &&
		c.Nodes*c.GPUsPerNode <= MaxGPUs
}

// Validate returns every problem with the cluster description, each naming
// the scenario key and the rule.
func (c Cluster) Validate() []field.Error {
	var errs []field.Error
	add := func(key, format string, a ...any) { errs = append(errs, field.Errorf(key, format, a...)) }
	if c.Nodes <= 0 {
		add("cluster.nodes", "must be a positive integer, got %d", c.Nodes)
	} else if c.Nodes > MaxNodes {
		add("cluster.nodes", "must be an integer from 1 to %d, got %d", MaxNodes, c.Nodes)
	}
	if c.GPUsPerNode <= 0 {
		add("cluster.gpus_per_node", "must be a positive integer, got %d", c.GPUsPerNode)
	} else if c.GPUsPerNode > MaxGPUsPerNode {
		add("cluster.gpus_per_node", "must be an integer from 1 to %d, got %d", MaxGPUsPerNode, c.GPUsPerNode)
	}
	if c.Nodes > 0 && c.Nodes <= MaxNodes && c.GPUsPerNode > 0 && c.GPUsPerNode <= MaxGPUsPerNode && !c.CountsOK() {
		errs = append(errs, field.Errorf("cluster.nodes", "%d nodes × %d GPUs = %d GPUs, more than the %d allowed", c.Nodes, c.GPUsPerNode, c.Nodes*c.GPUsPerNode, MaxGPUs).Using("cluster.gpus_per_node"))
	}
	inRange := func(key string, v, lo, hi float64, show func(float64) string) {
		if !(v >= lo && v <= hi) {
			add(key, "%s is outside the physical range %s–%s", show(v), show(lo), show(hi))
		}
	}
	flops := func(x float64) string { return units.FLOPRate(x).String() }
	bw := func(x float64) string { return units.Bandwidth(x).String() }
	inRange("cluster.gpu.peak", float64(c.GPU.PeakDense16), float64(MinPeak), float64(MaxPeak), flops)
	if c.GPU.PeakDenseFP8 != 0 {
		inRange("cluster.gpu.peak_fp8", float64(c.GPU.PeakDenseFP8), float64(MinPeak), float64(MaxPeak), flops)
	}
	if !slices.Contains(Families(), c.GPU.Family) {
		add("cluster.gpu.family", "%q is not a GPU family with kernel-efficiency constants (allowed: %s)", c.GPU.Family, field.Quote(Families()))
	}
	if c.GPU.SMs < 1 {
		add("cluster.gpu.sms", "must be a positive integer, got %d", c.GPU.SMs)
	} else if c.GPU.SMs > MaxSMs {
		add("cluster.gpu.sms", "%d is outside the physical range 1–%d", c.GPU.SMs, MaxSMs)
	}
	if c.Network.NodesPerLeaf < 1 {
		add("cluster.network.nodes_per_leaf", "must be a positive integer, got %d", c.Network.NodesPerLeaf)
	}
	inRange("cluster.gpu.hbm", float64(c.GPU.HBM), float64(MinHBM), float64(MaxHBM), func(x float64) string { return units.Bytes(x).String() })
	inRange("cluster.gpu.hbm_bandwidth", float64(c.GPU.HBMBandwidth), float64(MinBandwidth), float64(MaxBandwidth), bw)
	inRange("cluster.nvlink.bandwidth", float64(c.NVLink.Bandwidth), float64(MinBandwidth), float64(MaxBandwidth), bw)
	inRange("cluster.network.nic_bandwidth", float64(c.Network.NICBandwidth), float64(MinBandwidth), float64(MaxBandwidth), bw)
	lat := func(x float64) string { return units.Seconds(x).String() }
	inRange("cluster.nvlink.latency", float64(c.NVLink.Latency), 0, float64(MaxLatency), lat)
	inRange("cluster.network.latency", float64(c.Network.Latency), 0, float64(MaxLatency), lat)
	if !(c.Network.Oversubscription <= MaxOversubscription) && c.Network.Oversubscription >= 1 {
		add("cluster.network.oversubscription", "%g is outside the physical range 1–%g", c.Network.Oversubscription, float64(MaxOversubscription))
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
	if t := c.Network.Transport; t != "" && !slices.Contains(Transports(), t) {
		add("cluster.network.transport", "%q is not supported (allowed: %s)", t, field.Quote(Transports()))
	}
	return errs
}
