package parallelism

import (
	"trainsim/collective"
	"trainsim/mesh"
	"trainsim/topology"
	"trainsim/units"
)

// Both network modes report, per link tier, the same quantity
// (docs/network.md): the bytes all GPUs of the cluster send in one step
// that cross a link of that tier, each byte once per tier it crosses,
// without the small-message protocol overhead. The analytical model
// derives them from each collective's formula (collective.Cost.Sent and
// the spine crossing of its placement); the flow-level network counts them
// from the transfers it routed on the graph, below.

// senders is how many distinct ranks send among trs.
func senders(trs []collective.Transfer) int {
	seen := map[int]bool{}
	for _, t := range trs {
		seen[t.Src] = true
	}
	return max(1, len(seen))
}

// vertexLevel orders vertex kinds from the GPUs up to the spines; a link
// that climbs (GPU→NVSwitch, GPU→NIC, NIC→leaf, leaf→spine) is where a
// transfer enters its tier, so counting climbing links counts each byte
// once per tier.
func vertexLevel(k topology.VertexKind) int {
	switch k {
	case topology.VertexGPU:
		return 0
	case topology.VertexNVSwitch, topology.VertexNIC:
		return 1
	case topology.VertexLeaf:
		return 2
	}
	return 3
}

// tierBytes counts, per tier, the bytes per step the network tasks' transfers
// carried (see above). lane gives each task's lane and gpus the GPUs a lane
// stands for: a transfer that stands for a symmetric intra-node collective
// counts for every GPU of its lane.
func (f *flowNet) tierBytes(lane func(t int) int, gpus []float64, steps int) [topology.NumTiers]units.Bytes {
	var out [topology.NumTiers]float64
	var path []topology.LinkID
	for t, i := range f.spec {
		if i < 0 {
			continue
		}
		trs := f.transfersOf(i)
		w := 1 / f.inflate[i]
		if st := f.stands[i]; st > 0 {
			w *= st * gpus[lane(t)]
		}
		add := func(trs []collective.Transfer, w float64) {
			for _, tr := range trs {
				path = f.topo.AppendPath(path[:0], tr.Src, tr.Dst, 0)
				var seen [topology.NumTiers]bool
				for _, l := range path {
					lk := f.topo.Links[l]
					if vertexLevel(f.topo.Vertices[lk.From].Kind) < vertexLevel(f.topo.Vertices[lk.To].Kind) {
						seen[lk.Tier] = true
					}
				}
				for tier, ok := range seen {
					if ok {
						out[tier] += float64(tr.Bytes) * w
					}
				}
			}
		}
		add(trs, w)
		fs := f.flowSpecs[i]
		if g := f.specs[fs.spec].gatherAfter; g > 0 {
			// Megatron's all-gather after a scattered pipeline send, which
			// this network prices as a fixed time (price.go): one TP group
			// of the receiving stage, standing for its lane's GPUs.
			grp := f.mesh.Group(f.mesh.Shift(stageRank(f.mesh, fs.peer), mesh.DP, max(fs.replica, 0)), mesh.TP)
			add(collective.Transfers(collective.AllGather, g, grp, f.mesh.Span(grp).MostPerNode), gpus[lane(t)]/float64(len(grp)))
		}
	}
	var b [topology.NumTiers]units.Bytes
	for tier := range out {
		b[tier] = units.Bytes(out[tier] / float64(steps))
	}
	return b
}
