package parallelism

import "trainsim/topology"

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

// Options selects how the replay is done.
type Options struct {
	// Network is NetworkAnalytical or NetworkFlow.
	Network string
	// Ranks is RanksSymmetric or RanksFull.
	Ranks string
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
	// reference replays with sim.Run, every task its own event, instead of
	// sim.RunChains: the reference the fast replay is tested against.
	reference bool
}
