package parallelism

import (
	"fmt"
	"strings"

	"trainsim/collective"
	"trainsim/mesh"
)

// CollectiveModel returns the model the replay prices v's collectives with:
// the cluster (with an explicit topology's latencies in flow mode), the
// achievable fractions and the calibration (calibration.nvlink_busbw,
// calibration.nic_busbw), and a forced all-reduce algorithm.
func CollectiveModel(v Valid) (collective.Model, error) {
	j, err := v.get()
	if err != nil {
		return collective.Model{}, err
	}
	return collective.Model{Cluster: latencyCluster(j), Params: collectiveParams(j)}, nil
}

// GroupNames lists the groups GroupPlacement knows.
func GroupNames() []string { return []string{"tp", "dp", "pp", "cp", "ep"} }

// GroupPlacement returns where the representative group of the layout's
// dimension name sits on the cluster (that of pipeline stage 0, as the
// replay prices it): "tp", "dp" (the data-parallel group, joined with CP
// when there is one), "pp" (stage 0 and stage 1, the pair a pipeline send
// connects), "cp" or "ep".
func GroupPlacement(v Valid, name string) (collective.Placement, error) {
	j, err := v.get()
	if err != nil {
		return collective.Placement{}, err
	}
	m, err := j.mesh()
	if err != nil {
		return collective.Placement{}, err
	}
	var g groupKind
	switch strings.ToLower(name) {
	case "tp":
		g = groupTP
	case "dp":
		g = groupDP
	case "cp":
		g = groupCP
	case "ep":
		g = groupEP
	case "pp":
		if j.Layout.PP < 2 {
			return collective.Placement{}, fmt.Errorf("group pp: the layout has one pipeline stage")
		}
		sp := m.Span([]int{stageRank(m, 0), stageRank(m, 1)})
		return collective.Placement{Ranks: sp.Ranks, PerNode: sp.MostPerNode, Leaves: sp.Leaves}, nil
	default:
		return collective.Placement{}, fmt.Errorf("group %q is none of %s", name, strings.Join(GroupNames(), ", "))
	}
	p := placement(m, g, 0, 0)
	if p.Ranks < 2 {
		// One GPU runs no collective: a table of it would show only
		// zeros (busbw = algbw × 0).
		n := strings.ToLower(name)
		return collective.Placement{}, fmt.Errorf("group %s: the layout has %s = 1 (parallelism.%s), a group of one GPU: no collective runs over it", n, n, n)
	}
	return p, nil
}

// ContiguousPlacement is a group of n consecutive ranks from rank 0, filling
// nodes in order: how nccl-tests' mpirun -np n places its ranks.
func ContiguousPlacement(v Valid, n int) (collective.Placement, error) {
	j, err := v.get()
	if err != nil {
		return collective.Placement{}, err
	}
	c := j.Cluster
	if n < 1 || n > c.GPUs() {
		return collective.Placement{}, fmt.Errorf("%d GPUs: the cluster has %d", n, c.GPUs())
	}
	m, err := mesh.New(mesh.Sizes{TP: 1, CP: 1, EP: 1, DP: c.GPUs(), PP: 1, ETP: 1}, mesh.DefaultOrder,
		mesh.Placement{GPUsPerNode: c.GPUsPerNode, NodesPerLeaf: c.Network.NodesPerLeaf})
	if err != nil {
		return collective.Placement{}, err
	}
	members := make([]int, n)
	for i := range members {
		members[i] = i
	}
	sp := m.Span(members)
	return collective.Placement{Ranks: sp.Ranks, PerNode: sp.MostPerNode, Leaves: sp.Leaves}, nil
}
