package parallelism

import (
	"fmt"

	"trainsim/collective"
	"trainsim/compute"
	"trainsim/mesh"
	"trainsim/model"
	"trainsim/sim"
	"trainsim/units"
)

// Pricing: every step of the layer programs and every collective the layout
// adds (pipeline sends, gradient reductions, parameter gathers) gets an index
// once, and its duration on this hardware is computed once per index (and,
// for a collective, per pipeline stage, since the stage decides where its
// group sits). Emission then looks prices up by index; nothing is hashed on
// the replay's hot path.

// groupKind names the communicator a collective runs on.
type groupKind uint8

const (
	groupTP  groupKind = iota // the stage's tensor-parallel group
	groupDP                   // the stage's data-parallel group
	groupPP                   // a pipeline pair: the stage and its peer stage
	groupEmb                  // the first and last stage, sharing the embedding
	// groupCP is the stage's context-parallel group: ring attention's
	// send/recv to the next rank of the ring, priced over the whole ring
	// (a step of the ring lasts as long as its slowest hop).
	groupCP
	// groupEP is the stage's expert-parallel group (expert sub-mesh): the
	// MoE all-to-alls.
	groupEP
	// groupEDP is the stage's expert data-parallel group (expert
	// sub-mesh): the routed experts' gradient reduction.
	groupEDP
	// groupETP is the stage's expert tensor-parallel group (expert
	// sub-mesh): the gather and scatter of the tokens around the expert
	// GEMMs.
	groupETP
)

// specID indexes pricer.specs.
type specID int32

// stepID indexes pricer.steps.
type stepID int32

// commSpec is a collective before it is priced: what it moves, over which
// group.
type commSpec struct {
	op    collective.Op
	bytes units.Bytes
	group groupKind
	// gatherAfter adds an all-gather of gatherAfter bytes over the TP group
	// on the receiving side (Megatron's pipeline scatter/gather), priced as
	// a fixed time.
	gatherAfter units.Bytes
	// tensors splits the collective into one call per weight tensor (bytes
	// is then bytes per parameter, and each tensor's count is split over
	// the TP ranks), as ZeRO-3 gathers parameters; shardParams is their
	// sum on one TP rank, the bytes moved in all being bytes × shardParams.
	tensors     []int64
	shardParams float64
	// host is host time each call of the collective (each tensor where
	// tensors lists them) spends before its transfer can start, and
	// hostBeside host time the host spends while the transfer runs, which
	// lengthens the call only where it is the longer: ZeRO-3's per-rank
	// loops of DeepSpeed 2021 (zero3loops.go), a fixed latency.
	host, hostBeside units.Seconds
	// backward marks a pipeline send to the previous stage.
	backward bool
	// nodeLevel marks an expert all-to-all of the flex dispatcher
	// (model.Step.NodeLevel): priced with collective.Placement.NodeCopies,
	// its kernels taking Layout.FlexSMs SMs from overlapped computation.
	nodeLevel bool
}

// pricedStep is one step of a layer program, priced.
type pricedStep struct {
	kind model.StepKind
	// d and tensor are a compute step's duration and its tensor-core part.
	d, tensor sim.Time
	// flops is a compute step's arithmetic work (for the trace).
	flops units.FLOPs
	// spec is a collective step's collective.
	spec specID
	// overlap: a collective that runs beside the compute step before it
	// (the step is Overlappable and the layout overlaps its group).
	overlap bool
}

// layerSteps is one layer kind, compiled: its passes as step indices and the
// collectives the layout runs on its parameters.
type layerSteps struct {
	kind          model.LayerKind
	fwd, bwd, rec []stepID
	// bIn and wgt are the backward split into the input gradient (B) and
	// the weight gradient (W), compiled for a zero-bubble schedule only.
	bIn, wgt           []stepID
	tied               bool
	gradReduce         specID // the gradient bucket (ZeRO 0–1)
	shardedRS          specID // the per-micro-batch reduce-scatter (ZeRO 2–3)
	gather             specID // the parameter all-gather (distributed optimizer; ZeRO-3 tables)
	zeroGather         specID // ZeRO-3's before-each-pass gather (per tensor where listed)
	zeroGatherPerLayer bool   // zeroGather runs with the one-layer prefetch window
	// persist and persistParams are the layer's tensors that ZeRO-3 keeps
	// gathered (DeepSpeed's persistence threshold, zero3loops.go) and their
	// parameters on one TP rank; 0 without Layout.ZeRO3RankLoops.
	persist       int
	persistParams float64
	expertGrad    specID // the routed experts' gradient bucket (MoE; -1 otherwise)
}

// pricer turns steps and collectives into durations on one job's hardware.
// It holds no task graph: what it computes depends only on the job.
type pricer struct {
	j     Job
	mesh  *mesh.Mesh
	cm    compute.Model
	coll  collective.Model
	steps []pricedStep
	specs []commSpec
	// costs[spec·PP + stage] is the spec priced at stage; ok says which
	// are filled.
	costs []collective.Cost
	ok    []bool
	// hosts[spec·PP + stage] is the part of costs' Time that is host time
	// (commSpec.host, hostBeside), during which no kernel takes SMs.
	hosts []units.Seconds
	// places remembers placementAt's results: many collectives share an
	// operation, group, stage and peer, and finding how their copies
	// cross the spine enumerates every copy's transfers.
	places map[placeKey]collective.Placement
}

// placeKey is what placementAt's result depends on besides the job.
type placeKey struct {
	op      collective.Op
	g       groupKind
	s, peer int
}

func toTime(s units.Seconds) sim.Time { return sim.FromSeconds(float64(s)) }

// sum prices a run of kernels as one task: their summed time, rounded once.
func (p *pricer) sum(ops []model.Op) (sim.Time, sim.Time) {
	total, tensor, _ := p.cm.Sum(ops)
	return toTime(total), toTime(tensor)
}

// spec registers a collective and returns its index.
func (p *pricer) spec(s commSpec) specID {
	p.specs = append(p.specs, s)
	return specID(len(p.specs) - 1)
}

// compile registers the steps of program prog, priced, and returns their
// indices.
func (p *pricer) compile(prog model.Program) []stepID {
	out := make([]stepID, 0, len(prog))
	for _, st := range prog {
		ps := pricedStep{kind: st.Kind}
		switch st.Kind {
		case model.Compute:
			ps.d, ps.tensor = p.sum(st.Ops)
			for _, op := range st.Ops {
				ps.flops += op.FLOPs
			}
		case model.Collective:
			ps.spec = p.spec(commSpec{op: collOp(st.Comm), bytes: st.Bytes, group: groupOf(st.Group, st.Expert), nodeLevel: st.NodeLevel && st.Comm == model.AllToAll})
			ps.overlap = st.Async || st.Overlappable && p.overlaps(st.Group)
		}
		p.steps = append(p.steps, ps)
		out = append(out, stepID(len(p.steps)-1))
	}
	return out
}

// computeStep registers a compute step of duration d priced elsewhere (the
// optimizer) and returns its index.
func (p *pricer) computeStep(d sim.Time) stepID {
	p.steps = append(p.steps, pricedStep{kind: model.Compute, d: d})
	return stepID(len(p.steps) - 1)
}

// commSlowdown is the share of the SMs collective spec id's kernels take
// from computation running beside them: the flex dispatcher's own SM
// count (Layout.FlexSMs) for its all-to-alls, compute.Model.CommSlowdown
// (NCCL's channels) for the rest.
func (p *pricer) commSlowdown(id specID) float64 {
	if p.specs[id].nodeLevel && p.cm.GPU.SMs > 0 {
		return min(1, float64(p.j.Layout.FlexSMs())/float64(p.cm.GPU.SMs))
	}
	return p.cm.CommSlowdown()
}

// overlaps reports whether the layout overlaps collectives over dimension d
// with computation: TP collectives under tp_overlap; ring attention's
// exchange always (it is how context parallelism runs); the MoE
// all-to-alls, which the layer program marks only under moe.overlap.
func (p *pricer) overlaps(d mesh.Dim) bool {
	return d == mesh.TP && p.j.Layout.TPOverlap || d == mesh.CP || d == mesh.EP
}

// collOp maps a program's collective to the collective model's.
func collOp(o model.CommOp) collective.Op {
	switch o {
	case model.ReduceScatter:
		return collective.ReduceScatter
	case model.AllGather:
		return collective.AllGather
	case model.SendRecv:
		return collective.SendRecv
	case model.AllToAll:
		return collective.AllToAll
	}
	return collective.AllReduce
}

// groupOf maps a mesh dimension, of the expert sub-mesh when expert, to
// the communicator kind the builder prices.
func groupOf(d mesh.Dim, expert bool) groupKind {
	if expert && d == mesh.TP {
		return groupETP
	}
	switch d {
	case mesh.DP:
		return groupDP
	case mesh.CP:
		return groupCP
	case mesh.EP:
		return groupEP
	}
	return groupTP
}

// peerOf returns the stage a collective of spec at stage s pairs with.
func (p *pricer) peerOf(sp *commSpec, s int) int {
	pp := p.j.Layout.PP
	switch {
	case sp.group == groupEmb:
		if s == 0 {
			return pp - 1
		}
		return 0
	case sp.group == groupPP && sp.backward:
		return (s - 1 + pp) % pp
	case sp.group == groupPP:
		return (s + 1) % pp
	}
	return s
}

// hostOf is the host time in the cost of collective id at stage s (0 where
// it was not priced by price, as in a plan written by hand).
func (p *pricer) hostOf(id specID, s int) units.Seconds {
	if i := int(id)*p.j.Layout.PP + s; i < len(p.hosts) {
		return p.hosts[i]
	}
	return 0
}

// callHost is the time the host adds to one call of sp whose transfer
// takes transfer: all of host, and of hostBeside what outlasts the
// transfer.
func (sp *commSpec) callHost(transfer units.Seconds) units.Seconds {
	return sp.host + max(0, sp.hostBeside-transfer)
}

// price returns the analytical cost of collective id at stage s.
func (p *pricer) price(id specID, s int) (collective.Cost, error) {
	i := int(id)*p.j.Layout.PP + s
	for i >= len(p.costs) {
		p.costs = append(p.costs, collective.Cost{})
		p.ok = append(p.ok, false)
	}
	if p.ok[i] {
		return p.costs[i], nil
	}
	sp := &p.specs[id]
	var host units.Seconds // the host time in c.Time
	peer := p.peerOf(sp, s)
	pl := p.placementAt(sp.op, sp.group, s, peer)
	if sp.nodeLevel && p.j.Model.TopK > 0 {
		pl.NodeCopies = p.j.flexSpan(pl).Destinations / float64(p.j.Model.TopK)
	}
	c, err := p.coll.Time(sp.op, sp.bytes, pl)
	if err != nil {
		return c, fmt.Errorf("pricing %s of %s: %w", sp.op, sp.bytes, err)
	}
	if sp.tensors != nil {
		// One collective per tensor of the layer's TP shard.
		var sum collective.Cost
		total := units.Bytes(0)
		for _, n := range sp.tensors {
			bytes := units.Bytes(float64(n)/float64(p.j.Layout.TP)) * sp.bytes
			one, err := p.coll.Time(sp.op, bytes, pl)
			if err != nil {
				return c, fmt.Errorf("pricing %s of %s: %w", sp.op, bytes, err)
			}
			total += bytes
			h := sp.callHost(one.Time)
			host += h
			sum.Time += one.Time + h
			for t := range sum.Sent {
				sum.Sent[t] += one.Sent[t]
			}
			sum.Bytes += one.Bytes
			sum.Algorithm, sum.Bottleneck = one.Algorithm, one.Bottleneck
		}
		whole, err := p.coll.Time(sp.op, total, pl)
		if err != nil {
			return c, err
		}
		// In flow mode the bytes move as one transfer; the extra cost of
		// the separate calls stays a fixed latency.
		sum.Latency = sum.Time - (whole.Time - whole.Latency)
		c = sum
	}
	if sp.tensors == nil {
		host = sp.callHost(c.Time)
		c.Time += host
		c.Latency += host
	}
	if sp.gatherAfter > 0 {
		ag, err := p.coll.Time(collective.AllGather, sp.gatherAfter, p.placementAt(collective.AllGather, groupTP, peer, peer))
		if err != nil {
			return c, fmt.Errorf("pricing the pipeline all-gather: %w", err)
		}
		c.Time += ag.Time
		c.Latency += ag.Time
		for t := range c.Sent {
			c.Sent[t] += ag.Sent[t]
		}
		c.Bytes += ag.Bytes
	}
	p.costs[i], p.ok[i] = c, true
	if host > 0 {
		for i >= len(p.hosts) {
			p.hosts = append(p.hosts, 0)
		}
		p.hosts[i] = host
	}
	return c, nil
}
