package parallelism

import (
	"trainsim/collective"
	"trainsim/topology"
)

// Network fidelities.
const (
	NetworkAnalytical = "analytical"
	NetworkFlow       = "flow"
)

// Networks lists the network fidelities (simulation.network), in the order
// messages list them.
func Networks() []string { return []string{NetworkAnalytical, NetworkFlow} }

// Rank modes.
const (
	RanksSymmetric = "symmetric"
	RanksFull      = "full"
)

// RankModes lists the rank modes (simulation.ranks), in the order messages
// list them.
func RankModes() []string { return []string{RanksSymmetric, RanksFull} }

// Routings of the flow-level network: how a transfer between leaves picks
// its spine.
const (
	// RoutingECMP: one spine per transfer, chosen by a hash (ECMP).
	RoutingECMP = "ecmp"
	// RoutingSpray: every transfer split evenly over all spines (packet
	// spraying, adaptive routing: perfect load balancing).
	RoutingSpray = "spray"
	// RoutingAuto follows the fabric: RoutingSpray on InfiniBand, where
	// NCCL turns on adaptive routing by default, RoutingECMP on RoCE
	// (topology.Network.AdaptiveRouting).
	RoutingAuto = "auto"
)

// Routings lists the routings (simulation.routing).
func Routings() []string { return []string{RoutingAuto, RoutingECMP, RoutingSpray} }

// routing resolves j.Options.Routing: RoutingAuto (also when empty) by the
// cluster's transport.
func (j Job) routing() string {
	switch r := j.Options.Routing; {
	case r == RoutingECMP || r == RoutingSpray:
		return r
	case j.Cluster.Network.AdaptiveRouting():
		return RoutingSpray
	}
	return RoutingECMP
}

// Flow copy modes: how many copies of a collective the flow-level network
// simulates.
const (
	// FlowCopiesClasses: one representative per class of identical copies,
	// weighted by the class's multiplicity on each link (exact; see
	// docs/network.md). It applies where the routing is symmetric (spray, or
	// no transfer crosses a spine); elsewhere every copy is simulated.
	FlowCopiesClasses = "classes"
	// FlowCopiesAll: every copy simulated (the unreduced replay).
	FlowCopiesAll = "all"
)

// FlowCopyModes lists the flow copy modes (simulation.flow_copies).
func FlowCopyModes() []string { return []string{FlowCopiesClasses, FlowCopiesAll} }

// Options selects how the replay is done.
type Options struct {
	// Network is NetworkAnalytical or NetworkFlow.
	Network string
	// Ranks is RanksSymmetric or RanksFull.
	Ranks string
	// Routing is RoutingAuto (also when empty), RoutingECMP or
	// RoutingSpray: how a transfer across spines is routed (flow mode) and
	// priced (the analytical spine model).
	Routing string
	// FlowCopies is FlowCopiesClasses (also when empty) or FlowCopiesAll.
	FlowCopies string
	// AllReduce forces the all-reduce algorithm: "auto" (the cheaper of
	// ring and tree per call, as NCCL's tuner does), "ring" or "tree".
	AllReduce string
	// Graph is the explicit topology loaded from Cluster.Network.File, for
	// the flow-level network; nil builds one from the cluster's template.
	Graph *topology.Graph
	// Timeline asks Simulate to return every task's interval (for traces).
	Timeline bool
	// Seed seeds every random draw of the replay (which GPUs are slow): the
	// scenario's seed.
	Seed uint64
	// ECMP, when not nil, is shared by the replays of jobs on one fabric
	// (a layout search) to price the spine's ECMP collisions once per
	// distinct collective; it does not change any result. Nil: each replay
	// keeps its own.
	ECMP *collective.ECMPMemo
	// Crossings, when not nil, is shared the same way to work out once
	// how each collective's concurrent copies cross the spine; it does not
	// change any result. Nil: each replay works it out.
	Crossings *CrossingMemo
	// reference replays with sim.Run, every task its own event, instead of
	// sim.RunChains: the reference the fast replay is tested against.
	reference bool
	// noPeriodic turns the periodic replay of training steps off
	// (stepPeriod): every step is emitted and run.
	noPeriodic bool
	// periodicUnlike tries the periodic replay of micro-batches on
	// replicas of GPUs of different speeds too (for tests: it falls back).
	periodicUnlike bool
}
