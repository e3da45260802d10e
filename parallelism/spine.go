package parallelism

import (
	"sync"

	"trainsim/collective"
	"trainsim/mesh"
	"trainsim/topology"
)

// CrossingMemo remembers, for jobs on one kind of cluster (a layout search:
// same system and network, any layout and node count), how the concurrent
// copies of each collective cross the spine, by everything crossing reads:
// the fabric's shape, the device mesh's sizes and placement, the
// collective, its group kind, stage and peer. It does not change any
// result. The zero value is ready to use; it is safe for concurrent use.
type CrossingMemo struct {
	mu sync.Mutex
	m  map[crossingKey]collective.Crossing
}

type crossingKey struct {
	fab              topology.Fabric
	sizes            mesh.Sizes
	place            mesh.Placement
	op               collective.Op
	g                groupKind
	s, peer, perNode int
}

// get returns the remembered crossing of the arguments, or computes it
// with f; a nil memo just computes it.
func (c *CrossingMemo) get(j Job, fab topology.Fabric, op collective.Op, g groupKind, s, peer, perNode int, f func() collective.Crossing) collective.Crossing {
	if c == nil {
		return f()
	}
	l := j.Layout
	k := crossingKey{fab: fab, sizes: mesh.Sizes{TP: l.TP, CP: l.CP, EP: l.EP, DP: l.DP, PP: l.PP, ETP: max(l.ETP, 1)},
		place: mesh.Placement{GPUsPerNode: j.Cluster.GPUsPerNode, NodesPerLeaf: j.Cluster.Network.NodesPerLeaf},
		op:    op, g: g, s: s, peer: peer, perNode: perNode}
	c.mu.Lock()
	got, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return got
	}
	got = f()
	c.mu.Lock()
	if c.m == nil {
		c.m = map[crossingKey]collective.Crossing{}
	}
	c.m[k] = got
	c.mu.Unlock()
	return got
}

// The analytical model's view of the leaf–spine tier. A collective whose
// group spans nodes under more than one leaf runs, in the cluster, as many
// copies at once (every tensor-parallel rank's data-parallel ring, every
// (TP, DP) rank's pipeline send): the copies' transfers that change leaf
// share that leaf's uplinks, which ECMP hashing spreads over the spines
// (or, under spray routing, which they share evenly).
// crossing enumerates those transfers — the copies the flow-level network
// instantiates (flownet.go), with collective.Transfers' ring channels, on
// the template fabric's routes — and counts, for the collective model, the
// most flows that leave or enter one leaf across the spine and the share of
// the inter-node bytes that cross.

// placementAt describes the representative group of kind g at stage s and,
// when any of its concurrent copies crosses the spine, how all of them do.
// The representative's own group may stay under one leaf while other
// copies cross (a pipeline send between stages whose leaf boundary falls
// inside a stage: the pairs of some data-parallel ranks change leaf, the
// others do not); its Leaves is then raised to 2, since the task stands for
// every copy and waits for the crossing ones, and its bytes per tier count
// them.
func (p *pricer) placementAt(op collective.Op, g groupKind, s, peer int) collective.Placement {
	key := placeKey{op, g, s, peer}
	if pl, ok := p.places[key]; ok {
		return pl
	}
	pl := p.placementOf(op, g, s, peer)
	if p.places == nil {
		p.places = map[placeKey]collective.Placement{}
	}
	p.places[key] = pl
	return pl
}

// placementOf is placementAt, worked out.
func (p *pricer) placementOf(op collective.Op, g groupKind, s, peer int) collective.Placement {
	pl := placement(p.mesh, g, s, peer)
	fab := topology.FabricOf(p.j.Cluster)
	if fab.Leaves > 1 && (pl.Leaves > 1 || pl.Nodes() > 1) {
		pl.Cross = p.j.Options.Crossings.get(p.j, fab, op, g, s, peer, pl.PerNode, func() collective.Crossing {
			return crossing(p.mesh, fab, op, g, s, peer, pl.PerNode)
		})
		pl.Cross.Spray = p.j.routing() == RoutingSpray
		if pl.Cross.Sets > 0 {
			pl.Leaves = max(pl.Leaves, 2)
		}
	}
	return pl
}

// crossing counts the spine traffic of every copy of collective op over
// groups of kind g at stage s that runs at once.
func crossing(m *mesh.Mesh, fab topology.Fabric, op collective.Op, g groupKind, s, peer, perNode int) collective.Crossing {
	var inter, cross, pxn float64
	up := make([]int, fab.Leaves)
	down := make([]int, fab.Leaves)
	for _, grp := range concurrentCopies(m, g, s, peer) {
		for _, tr := range collective.Transfers(op, 1, grp, perNode) {
			r := fab.Route(tr.Src, tr.Dst)
			if !r.Inter {
				continue
			}
			b := float64(tr.Bytes)
			inter += b
			if r.PXN {
				pxn += b
			}
			if r.Crosses() {
				cross += b
				up[r.From]++
				down[r.To]++
			}
		}
	}
	c := collective.Crossing{Known: true}
	if inter > 0 {
		c.Share, c.PXN = cross/inter, pxn/inter
	}
	for _, n := range up {
		c.Flows = max(c.Flows, n)
		if n > 0 {
			c.Sets++
		}
	}
	for _, n := range down {
		c.Flows = max(c.Flows, n)
	}
	return c
}

// concurrentCopies lists the member lists of every copy of the collective
// of kind g at stage s that runs at once in the cluster (each in ring
// order), as the flow-level network instantiates them.
func concurrentCopies(m *mesh.Mesh, g groupKind, s, peer int) [][]int {
	var out [][]int
	cps, dps, tps := m.Size(mesh.CP), m.Size(mesh.DP), m.Size(mesh.TP)
	switch g {
	case groupTP:
		for c := 0; c < cps; c++ {
			for d := 0; d < dps; d++ {
				out = append(out, m.Group(m.Rank(mesh.Coord{mesh.CP: c, mesh.DP: d, mesh.PP: s}), mesh.TP))
			}
		}
	case groupDP:
		for r := 0; r < tps; r++ {
			grp := members(m, groupDP, s, peer)
			for i, x := range grp {
				grp[i] = m.Shift(x, mesh.TP, r)
			}
			out = append(out, grp)
		}
	case groupCP:
		for d := 0; d < dps; d++ {
			for r := 0; r < tps; r++ {
				for c := 0; c < cps; c++ {
					src := m.Rank(mesh.Coord{mesh.TP: r, mesh.CP: c, mesh.DP: d, mesh.PP: s})
					out = append(out, []int{src, m.Shift(src, mesh.CP, 1)})
				}
			}
		}
	case groupEP, groupEDP:
		d := mesh.EP
		if g == groupEDP {
			d = mesh.DP
		}
		e := m.Expert()
		for _, grp := range e.Groups(d) {
			if e.Coord(grp[0])[mesh.PP] == s {
				out = append(out, grp)
			}
		}
	case groupPP, groupEmb:
		for c := 0; c < cps; c++ {
			for d := 0; d < dps; d++ {
				for r := 0; r < tps; r++ {
					src := m.Rank(mesh.Coord{mesh.TP: r, mesh.CP: c, mesh.DP: d, mesh.PP: s})
					out = append(out, []int{src, m.Shift(src, mesh.PP, peer-s)})
				}
			}
		}
	}
	return out
}
