// Package collective prices the communication operations of distributed
// training — all-reduce, reduce-scatter, all-gather and point-to-point
// send/receive — with the algorithms NCCL uses: rings (one channel per NIC the
// group owns on a node), double binary trees for latency-bound sizes, and an
// alpha-beta cost per algorithm step.
//
// A group is described by its Placement: how many ranks it has and how many
// of them sit on each node. The model assumes every GPU of a node runs a
// collective of the same kind at the same time (data-parallel groups of
// different tensor-parallel ranks do), so each GPU gets its share of the
// node's NICs. Bandwidths are the datasheet figures times an achievable
// fraction per link tier (see docs/model.md).
//
// This is the analytical fidelity: no contention between different
// collectives, no congestion in the fabric beyond a fixed oversubscription
// factor for groups that span more than one leaf switch.
package collective
