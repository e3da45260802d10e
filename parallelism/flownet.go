package parallelism

import (
	"fmt"
	"sort"

	"trainsim/collective"
	"trainsim/flow"
	"trainsim/mesh"
	"trainsim/sim"
	"trainsim/topology"
	"trainsim/units"
)

// flowNet is the flow-level network of simulation.network = "flow": it turns
// each communication task into the transfers its collective makes, on the
// paths the topology graph gives them, and lets them share every link max-min
// fairly (package flow). It implements sim.Network.
//
// Under the symmetric replay one task stands for the same collective in every
// replica. Its transfers are instantiated for every copy that crosses the
// fabric — each TP rank's data-parallel ring, each (TP, DP) rank's pipeline
// send — so that copies contend on NICs and spine links as they do in the
// cluster. A collective confined to one node (a tensor-parallel group inside
// an NVSwitch) is instantiated once, as one ring edge: its copies are
// symmetric and use disjoint links. Where no path depends on the task, the
// copies are then reduced to one weighted representative per class of
// identical ones, exactly (flowsym.go).
type flowNet struct {
	topo *topology.Graph
	net  *flow.Network
	// mesh places the groups; specs are the job's collectives (read only).
	mesh  *mesh.Mesh
	specs []commSpec
	// Per task (indexed by TaskID; -1 or zero where not a network task).
	spec      []int32 // index into specs
	remaining []int32 // transfers still in flight
	flowSpecs []flowSpec
	specIndex map[flowSpec]int32
	path      []flow.LinkID
	pathT     []topology.LinkID
	pathW     []float64
	done      []sim.TaskID
	params    collective.Params
	// coll prices a collective analytically (the measured all-reduce and
	// all-to-all inside a node, MeasuredStretch).
	coll  collective.Model
	flows int
	// spray routes transfers across every spine (simulation.routing);
	// classes asks for the symmetry reduction (simulation.flow_copies).
	spray, classes bool
	// caps are the links' capacities; net is built on them, or on their
	// classes', at the first transfer.
	caps []float64
	// red is the symmetry reduction (flowsym.go), nil when every copy is
	// simulated.
	red      *reduction
	prepared bool
	// unreduced says why every copy is simulated although classes was
	// asked for.
	unreduced string
	// sims counts the flows simulated (representatives, in the reduction).
	sims int
	// bottleneck records, per task, the link tier that bounded its last
	// transfer (-1: none), for the accounting.
	bottleneck []int8
	// transfers caches, per spec, the transfers of all its copies; inflate
	// is their protocol stretch, stands the GPUs' sends one simulated
	// transfer stands for (0: the transfers are every copy's own).
	transfers [][]collective.Transfer
	inflate   []float64
	stands    []float64
}

type flowSpec struct {
	spec        specID
	stage, peer int
	// replica is the data-parallel replica the task belongs to in full
	// mode, whose transfers it carries; -1 in the symmetric replay, where
	// the task carries every copy.
	replica int
}

// newFlowNet builds j's network graph (or takes Options.Graph) for the
// collectives pr prices.
func newFlowNet(j Job, pr *pricer) (*flowNet, error) {
	topo := j.Options.Graph
	if topo == nil {
		var err error
		if topo, err = topology.Build(j.Cluster); err != nil {
			return nil, fmt.Errorf("building the network graph: %w", err)
		}
	}
	if topo.GPUs() != j.Cluster.GPUs() {
		return nil, fmt.Errorf("the network graph has %d GPUs, the cluster %d", topo.GPUs(), j.Cluster.GPUs())
	}
	p := pr.coll.Params
	caps := make([]float64, len(topo.Links))
	for i, l := range topo.Links {
		frac := p.NICFraction
		if l.Tier == topology.TierNVLink {
			frac = p.NVLinkFraction
		}
		caps[i] = float64(l.Capacity) * frac
	}
	return &flowNet{
		topo: topo, caps: caps, params: p, coll: pr.coll, mesh: pr.mesh, specs: pr.specs,
		specIndex: map[flowSpec]int32{},
		spray:     j.routing() == RoutingSpray,
		classes:   j.Options.FlowCopies != FlowCopiesAll,
	}, nil
}

// duration is a communication task's own part: the collective's latency;
// its transfers take the rest.
func (f *flowNet) duration(c collective.Cost) sim.Time { return toTime(c.Latency) }

// attach registers task t as moving collective spec between stage s and
// peer, and marks it as a network task.
func (f *flowNet) attach(g *sim.Graph, t sim.TaskID, spec specID, s, peer, replica int) {
	f.register(t, spec, s, peer, replica)
	g.Share(t)
}

// register records that task t moves collective spec between stage s and
// peer.
func (f *flowNet) register(t sim.TaskID, spec specID, s, peer, replica int) {
	for int(t) >= len(f.spec) {
		f.spec = append(f.spec, -1)
		f.remaining = append(f.remaining, 0)
		f.bottleneck = append(f.bottleneck, -1)
	}
	key := flowSpec{spec, s, peer, replica}
	i, ok := f.specIndex[key]
	if !ok {
		i = int32(len(f.flowSpecs))
		f.flowSpecs = append(f.flowSpecs, key)
		f.specIndex[key] = i
		f.transfers = append(f.transfers, nil)
		f.inflate = append(f.inflate, 1)
		f.stands = append(f.stands, 0)
	}
	f.spec[t] = i
}

// copies returns the member lists of every instance of the collective that
// must be simulated, and the members per node of one.
func (f *flowNet) copies(fs flowSpec) ([][]int, int) {
	m := f.mesh
	group := f.specs[fs.spec].group
	rep := members(m, group, fs.stage, fs.peer)
	sp := m.Span(rep)
	if sp.Nodes == 1 {
		if d := fs.replica; d > 0 && group != groupDP {
			// The replica's own group: same shape, its own GPUs.
			for i, r := range rep {
				rep[i] = m.Shift(r, mesh.DP, d)
			}
		}
		return [][]int{rep}, sp.MostPerNode
	}
	var out [][]int
	// Every context-parallel rank runs the same collectives (its own TP
	// group, its own pipeline sends); the data-parallel group already
	// spans CP (members).
	cps := m.Size(mesh.CP)
	switch group {
	case groupTP:
		for c := 0; c < cps; c++ {
			for d := 0; d < m.Size(mesh.DP); d++ {
				out = append(out, m.Group(m.Rank(mesh.Coord{mesh.CP: c, mesh.DP: d, mesh.PP: fs.stage}), mesh.TP))
			}
		}
	case groupDP:
		for r := 0; r < m.Size(mesh.TP); r++ {
			out = append(out, members(m, groupDP, fs.stage, fs.peer))
			for i, x := range out[len(out)-1] {
				out[len(out)-1][i] = m.Shift(x, mesh.TP, r)
			}
		}
	case groupCP:
		// Ring attention: every rank sends to the next of its CP ring at
		// once, one pair per hop, in every (TP, DP) position.
		for d := 0; d < m.Size(mesh.DP); d++ {
			for r := 0; r < m.Size(mesh.TP); r++ {
				for c := 0; c < cps; c++ {
					src := m.Rank(mesh.Coord{mesh.TP: r, mesh.CP: c, mesh.DP: d, mesh.PP: fs.stage})
					out = append(out, []int{src, m.Shift(src, mesh.CP, 1)})
				}
			}
		}
	case groupEP, groupEDP, groupETP:
		// Every group of the expert sub-mesh at this stage.
		d := mesh.EP
		switch group {
		case groupEDP:
			d = mesh.DP
		case groupETP:
			d = mesh.TP
		}
		e := m.Expert()
		for _, g := range e.Groups(d) {
			if e.Coord(g[0])[mesh.PP] == fs.stage {
				out = append(out, g)
			}
		}
	case groupPP, groupEmb:
		for c := 0; c < cps; c++ {
			for d := 0; d < m.Size(mesh.DP); d++ {
				for r := 0; r < m.Size(mesh.TP); r++ {
					src := m.Rank(mesh.Coord{mesh.TP: r, mesh.CP: c, mesh.DP: d, mesh.PP: fs.stage})
					out = append(out, []int{src, m.Shift(src, mesh.PP, fs.peer-fs.stage)})
				}
			}
		}
	}
	return out, sp.MostPerNode
}

// transfersOf returns the transfers of every simulated copy of spec i, their
// bytes already stretched by the small-message protocol overhead that the
// analytical model's size factor stands for.
func (f *flowNet) transfersOf(i int32) []collective.Transfer {
	if trs := f.transfers[i]; trs != nil {
		return trs
	}
	fs := f.flowSpecs[i]
	groups, perNode := f.copies(fs)
	sp := f.specs[fs.spec]
	if sp.tensors != nil {
		// The per-tensor calls move the layer's whole shard; their extra
		// latency is in the task's fixed part.
		sp.bytes *= units.Bytes(sp.shardParams)
	}
	chunk := sp.bytes
	if n := len(groups[0]); sp.op != collective.SendRecv && n > 0 {
		chunk /= units.Bytes(n)
	}
	inflate := units.Bytes(1 / f.params.SizeFactor(chunk))
	oneNode := len(groups) > 0 && f.mesh.Span(groups[0]).Nodes == 1
	intra := len(groups) == 1 && oneNode
	if oneNode {
		// The measured time inside a node (collective.A100AllReduce,
		// collective.NVLink5AllToAll, collective.HopperCollectives).
		inflate *= units.Bytes(f.coll.MeasuredStretch(sp.op, sp.bytes, len(groups[0])))
	}
	// In full mode a data-parallel ring inside one node is split between
	// the replicas' tasks edge by edge, so it is not shortened.
	shortcut := intra && !(fs.replica >= 0 && sp.group == groupDP)
	trs := []collective.Transfer{}
	for _, g := range groups {
		if fs.replica >= 0 && !intra && sp.group != groupDP && f.mesh.Coord(g[0])[mesh.DP] != fs.replica {
			continue // another replica's copy, carried by its own task
		}
		one := collective.Transfers(sp.op, sp.bytes, g, perNode)
		if shortcut && len(one) > 0 {
			// Each GPU sends len(one)/senders of the transfers; the kept
			// ones stand for one GPU's share, counted for every GPU of the
			// lane (tierBytes).
			perGPU := float64(len(one)) / float64(senders(one))
			if sp.op == collective.AllToAll {
				// One rank's n − 1 shares stand for the symmetric
				// exchange: they load its NVLink up-link as every rank's
				// load its own.
				var first []collective.Transfer
				for _, tr := range one {
					if tr.Src == g[0] {
						first = append(first, tr)
					}
				}
				one = first
			} else {
				one = one[:1] // one edge stands for the symmetric ring
			}
			f.stands[i] = perGPU / float64(len(one))
		}
		for _, tr := range one {
			if fs.replica >= 0 && sp.group == groupDP && f.mesh.Coord(tr.Src)[mesh.DP] != fs.replica {
				continue // the ring edges leaving the other replicas' ranks
			}
			if sp.group == groupEmb && f.mesh.Coord(tr.Src)[mesh.PP] != fs.stage {
				continue // the peer stage's task sends the other half
			}
			tr.Bytes *= inflate
			trs = append(trs, tr)
		}
	}
	f.transfers[i], f.inflate[i] = trs, float64(inflate)
	return trs
}

// prepare builds the flow network, reduced by symmetry where that applies,
// once every task is registered (at the first call from the engine).
func (f *flowNet) prepare() {
	if f.prepared {
		return
	}
	f.prepared = true
	if f.classes {
		f.red, f.unreduced = f.reduce()
	}
	if f.red == nil {
		f.net = flow.New(f.caps)
		return
	}
	caps := make([]float64, len(f.red.tier))
	for l, c := range f.red.linkClass {
		if c >= 0 {
			caps[c] = f.caps[l]
		}
	}
	f.net = flow.New(caps)
}

// Start begins the transfers of task t.
func (f *flowNet) Start(now sim.Time, t sim.TaskID) {
	f.prepare()
	if f.red != nil {
		for _, r := range f.red.reps[f.spec[t]] {
			f.net.AddWeighted(int64(now), r.path, r.weight, r.bytes, 0, int32(t))
			f.remaining[t]++
			f.flows += r.copies
			f.sims++
		}
	}
	for i, tr := range f.transfersOf(f.spec[t]) {
		if f.red != nil {
			break
		}
		pathT, w := f.sprayPath(tr.Src, tr.Dst, uint64(t)<<16|uint64(i))
		f.path = f.path[:0]
		for _, l := range pathT {
			f.path = append(f.path, flow.LinkID(l))
		}
		if !f.spray {
			w = nil
		}
		f.net.AddWeighted(int64(now), f.path, w, float64(tr.Bytes), 0, int32(t))
		f.remaining[t]++
		f.flows++
		f.sims++
	}
	if f.remaining[t] == 0 {
		// Nothing to move (a group of one): done at once.
		f.net.Add(int64(now), nil, 0, 0, int32(t))
		f.remaining[t] = 1
	}
}

// Next returns when the next transfer finishes.
func (f *flowNet) Next() (sim.Time, bool) {
	f.prepare()
	at, ok := f.net.Next()
	return sim.Time(at), ok
}

// Advance finishes transfers up to now and returns the tasks all of whose
// transfers are done, recording the link tier that bounded each.
func (f *flowNet) Advance(now sim.Time) []sim.TaskID {
	f.prepare()
	f.done = f.done[:0]
	for _, fin := range f.net.Advance(int64(now)) {
		t := sim.TaskID(fin.Group)
		if fin.Bottleneck >= 0 {
			f.bottleneck[t] = int8(f.linkTier(fin.Bottleneck))
		}
		f.remaining[t]--
		if f.remaining[t] == 0 {
			f.done = append(f.done, t)
		}
	}
	sort.Slice(f.done, func(i, k int) bool { return f.done[i] < f.done[k] })
	return f.done
}

// tiers overwrites, in info, the bottleneck tier of every task whose
// transfers the network saw bound by a link.
func (f *flowNet) tiers(info []taskInfo) {
	for t, tier := range f.bottleneck {
		if tier >= 0 {
			info[t].tier = topology.Tier(tier)
		}
	}
}

// links reports the load of every link tier and the busiest links over a
// replay of length span (seconds) covering steps steps; bytes are per step.
// They count the simulated copies only (see flowNet) and include the
// small-message protocol overhead.
func (f *flowNet) links(span float64, steps int) (tiers []LinkStats, busiest []LinkStats) {
	var bytes [topology.NumTiers]float64
	var util [topology.NumTiers]float64
	var used [topology.NumTiers]int
	f.prepare()
	// The two busiest links of each tier, so that a saturated spine shows
	// even when NIC links move more bytes: links that ran at capacity
	// longest first (they are the ones that held transfers back), then the
	// busiest, then by name. Only those are named.
	type cand struct {
		id        topology.LinkID
		b, u, sat float64
	}
	before := func(a, c cand) bool {
		if a.sat != c.sat {
			return a.sat > c.sat
		}
		if a.u != c.u {
			return a.u > c.u
		}
		return f.topo.LinkName(a.id) < f.topo.LinkName(c.id)
	}
	var best [topology.NumTiers][]cand
	for i, l := range f.topo.Links {
		b := f.linkBytes(topology.LinkID(i))
		if b == 0 {
			continue
		}
		u := b / (float64(l.Capacity) * span)
		bytes[l.Tier] += b
		util[l.Tier] += u
		used[l.Tier]++
		sat := float64(f.linkSaturated(topology.LinkID(i))) * 1e-9 / span
		c, top := cand{topology.LinkID(i), b, u, sat}, best[l.Tier]
		switch {
		case len(top) < 2:
			top = append(top, c)
		case before(c, top[1]):
			top[1] = c
		default:
			continue
		}
		if len(top) == 2 && before(top[1], top[0]) {
			top[0], top[1] = top[1], top[0]
		}
		best[l.Tier] = top
	}
	var all []cand
	for i := 0; i < topology.NumTiers; i++ {
		t := topology.Tier(i)
		all = append(all, best[t]...)
		if used[t] == 0 {
			continue
		}
		tiers = append(tiers, LinkStats{Tier: t.String(), Bytes: units.Bytes(bytes[t] / float64(steps)), BusyFraction: util[t] / float64(used[t])})
	}
	sort.SliceStable(all, func(a, c int) bool { return before(all[a], all[c]) })
	for _, c := range all {
		busiest = append(busiest, LinkStats{Tier: f.topo.Links[c.id].Tier.String(), Link: f.topo.LinkName(c.id), Bytes: units.Bytes(c.b / float64(steps)), BusyFraction: c.u, SaturatedFraction: c.sat})
	}
	return tiers, busiest
}

// linkTier is the tier of link l of the flow network (a class of links in the
// reduction).
func (f *flowNet) linkTier(l flow.LinkID) topology.Tier {
	if f.red != nil {
		return f.red.tier[l]
	}
	return f.topo.Links[l].Tier
}

// linkBytes is the bytes topology link l has carried so far.
func (f *flowNet) linkBytes(l topology.LinkID) float64 {
	if f.red != nil {
		c := f.red.linkClass[l]
		if c < 0 {
			return 0
		}
		return f.net.LinkBytes(c)
	}
	return f.net.LinkBytes(flow.LinkID(l))
}

// linkSaturated is the ns during which topology link l carried at least
// 99.9% of its capacity so far.
func (f *flowNet) linkSaturated(l topology.LinkID) int64 {
	if f.red != nil {
		c := f.red.linkClass[l]
		if c < 0 {
			return 0
		}
		return f.net.LinkSaturated(c)
	}
	return f.net.LinkSaturated(flow.LinkID(l))
}

// note describes the flow network for the report.
func (f *flowNet) note() string {
	s := fmt.Sprintf("flow-level network: %d transfers shared the links of a %d-link graph max-min fairly; collectives inside one node were simulated for one representative group", f.flows, len(f.topo.Links))
	if f.spray {
		s += "; transfers between leaves were spread evenly over the spines"
	}
	if f.red != nil {
		s += fmt.Sprintf("; by symmetry, %d representative flows on %d classes of links stood for them exactly", f.sims, len(f.red.tier))
	} else if f.unreduced != "" {
		s += "; every copy simulated: " + f.unreduced
	}
	return s
}
