// Package topology describes the hardware a training job runs on: GPUs,
// nodes and the fabric between them, as plain data plus pure functions.
//
// A GPU holds datasheet figures (dense tensor-core peaks per precision, HBM
// capacity and bandwidth, SM count, and the family that selects
// kernel-efficiency curves elsewhere). A System is a node type: its GPUs,
// their NVLink/NVSwitch domain (bandwidth per GPU per direction, latency) and
// its inter-node Network (fat-tree or rail-optimized, NIC line rate and count,
// end-to-end latency, oversubscription, nodes per leaf switch). A Cluster is a
// number of identical nodes; Validate reports every problem with one, by
// scenario key. Built-in GPUs and systems (GPUPreset, SystemPreset and the
// listing functions) cite the datasheet or reference architecture each figure
// comes from, and name the few figures that are modelling estimates rather
// than datasheet values (link latencies).
//
// A Graph is the cluster's network as explicit data: GPUs, each node's
// NVSwitch fabric, PCIe links to the NICs, NICs, leaf and spine switches, with
// directed links of a capacity, a latency and a reporting tier; Build makes
// it from the fat-tree or rail-optimized template, ReadGraph from a TOML file,
// and Path routes a transfer deterministically (ECMP by hash).
//
// The package does no simulation and holds no state: it neither times
// transfers nor shares bandwidth between them (packages collective and flow
// do), and it does not place ranks on GPUs (parallelism does). What it leaves
// out of the hardware: achieved rather than peak rates (kernel and NCCL
// efficiencies are modelled elsewhere), clocks, power and thermal throttling,
// host memory, storage and its network, switch buffers and congestion
// control, adaptive routing, and failures.
// Heterogeneous clusters (mixed node types) are not described.
package topology
