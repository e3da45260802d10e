package parallelism

import (
	"fmt"

	"trainsim/collective"
	"trainsim/mesh"
)

// The device mesh decides where every group sits; this file only asks it.
// No rank is computed here: ranks and groups come from package mesh.

// mesh returns j's device mesh: its layout's degrees in Megatron-Core's
// default rank order, placed on the cluster's nodes and leaves.
func (j Job) mesh() (*mesh.Mesh, error) {
	l := j.Layout
	m, err := mesh.New(mesh.Sizes{TP: l.TP, CP: l.CP, EP: l.EP, DP: l.DP, PP: l.PP, ETP: max(l.ETP, 1)}, mesh.DefaultOrder,
		mesh.Placement{GPUsPerNode: j.Cluster.GPUsPerNode, NodesPerLeaf: j.Cluster.Network.NodesPerLeaf})
	if err != nil {
		return nil, fmt.Errorf("device mesh: %w", err)
	}
	return m, nil
}

// stageRank is the representative rank of pipeline stage s: TP, CP and DP
// rank 0.
func stageRank(m *mesh.Mesh, s int) int { return m.Rank(mesh.Coord{mesh.PP: s}) }

// members returns the ranks of the representative group of kind g at stage
// s; for a pair, the stage's and its peer's.
func members(m *mesh.Mesh, g groupKind, s, peer int) []int {
	rep := stageRank(m, s)
	switch g {
	case groupTP:
		return m.Group(rep, mesh.TP)
	case groupDP:
		if m.Size(mesh.CP) > 1 {
			// Gradients are reduced over the joined CP × DP group, as
			// Megatron-Core does with context parallelism (every CP rank
			// holds the whole layer's weights and a gradient of its own
			// tokens; parallel_state's data-parallel group "with CP").
			return m.Group(rep, mesh.CP, mesh.DP)
		}
		return m.Group(rep, mesh.DP)
	case groupCP:
		return m.Group(rep, mesh.CP)
	case groupEP:
		return m.Expert().Group(rep, mesh.EP)
	case groupEDP:
		return m.Expert().Group(rep, mesh.DP)
	case groupETP:
		return m.Expert().Group(rep, mesh.TP)
	}
	return []int{rep, stageRank(m, peer)}
}

// placement describes the representative group of kind g at stage s.
func placement(m *mesh.Mesh, g groupKind, s, peer int) collective.Placement {
	sp := m.Span(members(m, g, s, peer))
	return collective.Placement{Ranks: sp.Ranks, PerNode: sp.MostPerNode, Leaves: sp.Leaves}
}
