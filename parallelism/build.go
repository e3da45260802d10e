package parallelism

import (
	"fmt"
	"sort"

	"trainsim/collective"
	"trainsim/compute"
	"trainsim/model"
	"trainsim/sim"
	"trainsim/topology"
	"trainsim/units"
)

// Task kinds, for accounting.
const (
	KindCompute sim.Kind = iota
	KindRecompute
	KindTP
	KindPP
	KindDP
	KindOptimizer
	KindBarrier
	numKinds
)

// stageStreams are the resources of one pipeline stage's GPU.
type stageStreams struct {
	main   sim.ResourceID // compute stream; blocking communication runs here too
	tp     sim.ResourceID // overlapped tensor-parallel communication
	ppNext sim.ResourceID // sends to the next virtual stage
	ppPrev sim.ResourceID // sends to the previous virtual stage
	dp     sim.ResourceID // overlapped data-parallel communication
}

// taskInfo is what the builder knows of a task beyond the engine's view.
type taskInfo struct {
	stage  int32
	tensor sim.Time // part of a compute task bound by tensor cores
	sent   [topology.NumTiers]units.Bytes
	tier   topology.Tier
}

// groupKind names the communicator a collective runs on.
type groupKind uint8

const (
	groupTP  groupKind = iota // the stage's tensor-parallel group
	groupDP                   // the stage's data-parallel group
	groupPP                   // a pipeline pair: the stage and its peer stage
	groupEmb                  // the first and last stage, sharing the embedding
)

// commSpec is a collective before it is priced: what it moves, over which
// group. It is priced per stage, since the stage decides which nodes (and
// leaves) the group spans.
type commSpec struct {
	op    collective.Op
	bytes units.Bytes
	group groupKind
	// gatherAfter adds an all-gather of gatherBytes over the TP group on the
	// receiving side (Megatron's pipeline scatter/gather), priced as a fixed
	// time.
	gatherAfter units.Bytes
	// perTensor splits the collective into one call per layer weight tensor
	// (bytes is then bytes per parameter), as ZeRO-3 gathers parameters.
	perTensor bool
	// backward marks a pipeline send to the previous stage.
	backward bool
}

// costs are the building blocks of a step, computed once.
type costs struct {
	attnFwd, mlpFwd, attnBwd, mlpBwd, core      sim.Time
	attnFwdT, mlpFwdT, attnBwdT, mlpBwdT, coreT sim.Time // tensor-core parts
	embFwd, embBwd, logitsFwd, logitsBwd        sim.Time
	embFwdT, embBwdT, logitsFwdT, logitsBwdT    sim.Time
	opts                                        []units.Seconds // per stage optimizer time

	tpComm          commSpec // one all-reduce, or one RS/AG with SP
	tpCount         int      // TP collectives per block per pass
	embAR           commSpec
	ppSend          commSpec
	zeroAG, zeroRS  commSpec    // ZeRO-3 gathers, ZeRO-2/3 reduce-scatters, per layer
	layerGradReduce commSpec    // one layer's bucket
	embBucket       [2]commSpec // embedding gradients: [0] first stage (token and position tables), [1] last (tied copy)
	embRS           [2]commSpec // the same, reduce-scattered every micro-batch under ZeRO-2/3
	embGather       [2]commSpec // the same tables' parameter all-gather (distributed optimizer)
	layerGather     commSpec    // one layer's parameter all-gather (distributed optimizer)
	gradReduce      []commSpec
	paramGather     []commSpec
	embGrad         []commSpec // per stage; zero bytes where there is none
}

type builder struct {
	j       Job
	pending [][]sim.TaskID // per stage: tasks the next main-stream task must wait for
	g       *sim.Graph
	cm      compute.Model
	coll    collective.Model
	c       costs
	st      []stageStreams
	info    []taskInfo
	acc     []accum
	layers  int // layers per chunk
	m       int // micro-batches
	priced  map[pricedKey]collective.Cost
	flow    *flowNet // nil in analytical mode
	err     error    // the first error met while building
	// contention is, per lane, compute time lost to overlapped
	// communication kernels issued so far, charged to the next compute.
	contention []sim.Time
	// reps is how many data-parallel replicas are simulated: 1 in the
	// symmetric replay, DP with ranks = "full". Per-GPU state is indexed by
	// lane = replica·PP + stage.
	reps int
	// joins collect, in full mode, the tasks of one data-parallel
	// collective across replicas, keyed by stage and sequence number.
	joins   map[joinKey][]sim.TaskID
	dpCalls []int // per lane: data-parallel collectives issued so far
}

type joinKey struct{ stage, seq int }

// stage and replica split a lane.
func (b *builder) stage(lane int) int   { return lane % b.j.Layout.PP }
func (b *builder) replica(lane int) int { return lane / b.j.Layout.PP }

type pricedKey struct {
	spec        commSpec
	stage, peer int
}

// accum is a compute task being coalesced on a stage's main stream.
type accum struct {
	open bool
	id   sim.TaskID
	kind sim.Kind
}

func toTime(s units.Seconds) sim.Time { return sim.FromSeconds(float64(s)) }

func (b *builder) sum(ops []model.Op) (sim.Time, sim.Time) {
	total, tensor, _ := b.cm.Sum(ops)
	return toTime(total), toTime(tensor)
}

// rank is the global rank of TP rank r, DP rank d, pipeline stage s in
// Megatron-LM's order.
func (j Job) rank(r, d, s int) int { return r + j.Layout.TP*(d+j.Layout.DP*s) }

func (j Job) node(rank int) int { return rank / j.Cluster.GPUsPerNode }

func (j Job) leaf(rank int) int {
	n := j.Cluster.Network.NodesPerLeaf
	if n < 1 {
		return 0
	}
	return j.node(rank) / n
}

// members returns the ranks of the representative group of kind g at stage
// s (TP rank 0, DP rank 0 where they are not the group's own dimension); for
// a pair, the stage and its peer.
func (j Job) members(g groupKind, s, peer int) []int {
	l := j.Layout
	var out []int
	switch g {
	case groupTP:
		for r := 0; r < l.TP; r++ {
			out = append(out, j.rank(r, 0, s))
		}
	case groupDP:
		for d := 0; d < l.DP; d++ {
			out = append(out, j.rank(0, d, s))
		}
	case groupPP, groupEmb:
		out = []int{j.rank(0, 0, s), j.rank(0, 0, peer)}
	}
	return out
}

// placement describes the representative group of kind g at stage s.
func (j Job) placement(g groupKind, s, peer int) collective.Placement {
	ms := j.members(g, s, peer)
	perNode := map[int]int{}
	leaves := map[int]bool{}
	for _, r := range ms {
		perNode[j.node(r)]++
		leaves[j.leaf(r)] = true
	}
	most := 0
	for _, c := range perNode {
		most = max(most, c)
	}
	return collective.Placement{Ranks: len(ms), PerNode: most, Leaves: len(leaves)}
}

// peerOf returns the stage a group of kind g at stage s pairs with.
func (b *builder) peerOf(spec commSpec, s int) int {
	p := b.j.Layout.PP
	g := spec.group
	switch {
	case g == groupEmb:
		if s == 0 {
			return p - 1
		}
		return 0
	case g == groupPP && spec.backward:
		return (s - 1 + p) % p
	case g == groupPP:
		return (s + 1) % p
	}
	return s
}

// price returns the analytical cost of spec at stage s with peer stage peer.
func (b *builder) price(spec commSpec, s, peer int) (collective.Cost, error) {
	key := pricedKey{spec, s, peer}
	if c, ok := b.priced[key]; ok {
		return c, nil
	}
	pl := b.j.placement(spec.group, s, peer)
	c, err := b.coll.Time(spec.op, spec.bytes, pl)
	if err != nil {
		return c, fmt.Errorf("pricing %s of %s: %w", spec.op, spec.bytes, err)
	}
	if spec.perTensor {
		// One collective per tensor of the layer's TP shard.
		var sum collective.Cost
		total := units.Bytes(0)
		for _, n := range b.j.Model.LayerTensors() {
			bytes := units.Bytes(float64(n)/float64(b.j.Layout.TP)) * spec.bytes
			one, err := b.coll.Time(spec.op, bytes, pl)
			if err != nil {
				return c, fmt.Errorf("pricing %s of %s: %w", spec.op, bytes, err)
			}
			total += bytes
			sum.Time += one.Time
			for t := range sum.Sent {
				sum.Sent[t] += one.Sent[t]
			}
			sum.Algorithm, sum.Bottleneck = one.Algorithm, one.Bottleneck
		}
		whole, err := b.coll.Time(spec.op, total, pl)
		if err != nil {
			return c, err
		}
		// In flow mode the bytes move as one transfer; the extra cost of
		// the separate calls stays a fixed latency.
		sum.Latency = sum.Time - (whole.Time - whole.Latency)
		c = sum
	}
	if spec.gatherAfter > 0 {
		ag, err := b.coll.Time(collective.AllGather, spec.gatherAfter, b.j.placement(groupTP, peer, peer))
		if err != nil {
			return c, fmt.Errorf("pricing the pipeline all-gather: %w", err)
		}
		c.Time += ag.Time
		c.Latency += ag.Time
		c.Sent[collective.NVLink] += ag.Sent[collective.NVLink]
	}
	b.priced[key] = c
	return c, nil
}

func (b *builder) prepare() error {
	j := b.j
	l := j.Layout
	b.priced = map[pricedKey]collective.Cost{}
	sh := model.Shard{TP: l.TP, Microbatch: l.Microbatch, SequenceParallel: l.SequenceParallel, Attention: j.Training.Attention, Precision: j.Training.Precision, UnfusedGradAccum: j.Training.UnfusedGradAccum, Grads16: j.Training.Grads16}
	attn, mlp := j.Model.LayerBlocks(sh)
	c := &b.c
	c.attnFwd, c.attnFwdT = b.sum(attn.Forward)
	c.mlpFwd, c.mlpFwdT = b.sum(mlp.Forward)
	c.attnBwd, c.attnBwdT = b.sum(attn.Backward)
	c.mlpBwd, c.mlpBwdT = b.sum(mlp.Backward)
	c.core, c.coreT = b.sum(attn.Core)
	ef, eb := j.Model.EmbeddingOps(sh)
	c.embFwd, c.embFwdT = b.sum(ef)
	c.embBwd, c.embBwdT = b.sum(eb)
	lf, lb := j.Model.LogitsOps(sh)
	c.logitsFwd, c.logitsFwdT = b.sum(lf)
	c.logitsBwd, c.logitsBwdT = b.sum(lb)

	e := j.Training.Precision.ElementBytes()
	act := units.Bytes(float64(l.Microbatch*j.Model.SeqLen*j.Model.Hidden)) * e
	if l.TP > 1 {
		c.tpComm, c.tpCount = commSpec{op: collective.AllReduce, bytes: act, group: groupTP}, 1
		if l.SequenceParallel {
			c.tpComm, c.tpCount = commSpec{op: collective.ReduceScatter, bytes: act, group: groupTP}, 2
		}
		c.embAR = commSpec{op: collective.AllReduce, bytes: act, group: groupTP}
	}
	if l.PP > 1 {
		// Megatron's scatter/gather optimisation: each TP rank sends its
		// 1/t slice; the receiver all-gathers it over NVLink (not needed
		// with sequence parallelism, where activations are already split).
		// Without it every TP rank sends the whole activation.
		c.ppSend = commSpec{op: collective.SendRecv, bytes: act / units.Bytes(l.TP), group: groupPP}
		if l.TP > 1 && !l.SequenceParallel {
			if l.NoPPScatterGather {
				c.ppSend.bytes = act
			} else {
				c.ppSend.gatherAfter = act
			}
		}
	}
	layerParams := float64(j.Model.LayerParams()) / float64(l.TP)
	// ZeRO-3 (DeepSpeed) gathers each parameter tensor with its own call.
	c.zeroAG = commSpec{op: collective.AllGather, bytes: weightBytesPerParam, group: groupDP, perTensor: true}
	c.zeroRS = commSpec{op: collective.ReduceScatter, bytes: units.Bytes(layerParams * shardedGradBytesPerParam), group: groupDP}
	gradOp := collective.AllReduce
	if l.ZeRO >= 1 {
		gradOp = collective.ReduceScatter
	}
	c.layerGradReduce = commSpec{op: gradOp, bytes: units.Bytes(layerParams * j.gradBytes()), group: groupDP}
	c.layerGather = commSpec{op: collective.AllGather, bytes: units.Bytes(layerParams * weightBytesPerParam), group: groupDP}
	embParams := float64(j.Model.Vocab) * float64(j.Model.Hidden) / float64(l.TP)
	posParams := float64(j.Model.SeqLen) * float64(j.Model.Hidden)
	for i, n := range [2]float64{embParams + posParams, embParams} {
		c.embBucket[i] = commSpec{op: gradOp, bytes: units.Bytes(n * j.gradBytes()), group: groupDP}
		c.embRS[i] = commSpec{op: collective.ReduceScatter, bytes: units.Bytes(n * shardedGradBytesPerParam), group: groupDP}
		c.embGather[i] = commSpec{op: collective.AllGather, bytes: units.Bytes(n * weightBytesPerParam), group: groupDP}
	}
	c.opts = make([]units.Seconds, l.PP)
	c.gradReduce = make([]commSpec, l.PP)
	c.paramGather = make([]commSpec, l.PP)
	c.embGrad = make([]commSpec, l.PP)
	for s := 0; s < l.PP; s++ {
		params := j.stageParams(s)
		shard := params
		if l.ZeRO >= 1 {
			shard /= float64(l.DP)
		}
		buffer := params // gradients held: all of the stage's, sharded too under ZeRO 2–3
		if l.ZeRO >= 2 {
			buffer = shard
		}
		t, _, _ := b.cm.Sum(model.OptimizerOps(shard, buffer, sh))
		c.opts[s] = t
		c.gradReduce[s] = commSpec{op: gradOp, bytes: units.Bytes(params * j.gradBytes()), group: groupDP}
		c.paramGather[s] = commSpec{op: collective.AllGather, bytes: units.Bytes(params * weightBytesPerParam), group: groupDP}
		if l.PP > 1 && (s == 0 || s == l.PP-1) {
			c.embGrad[s] = commSpec{op: collective.AllReduce, bytes: units.Bytes(embParams * j.gradBytes()), group: groupEmb}
		}
	}
	// Price every collective once up front, so that bad placements surface
	// here as errors rather than inside the replay.
	for s := 0; s < l.PP; s++ {
		for _, sp := range []commSpec{c.tpComm, c.embAR, c.zeroAG, c.zeroRS, c.layerGradReduce, c.layerGather, c.embBucket[0], c.embBucket[1], c.embRS[0], c.embRS[1], c.embGather[0], c.embGather[1], c.gradReduce[s], c.paramGather[s]} {
			if sp.bytes > 0 {
				if _, err := b.price(sp, s, s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// task adds a task and its side information.
func (b *builder) task(r sim.ResourceID, stage int, d sim.Time, k sim.Kind) sim.TaskID {
	id := b.g.AddTask(r, d, k)
	b.info = append(b.info, taskInfo{stage: int32(stage)})
	return id
}

// comp adds d of compute (tensor part tens) of kind k to stage s's main
// stream, merging it into the open compute task when it can.
func (b *builder) comp(s int, d, tens sim.Time, k sim.Kind) {
	if b.contention != nil {
		d += b.contention[s]
		b.contention[s] = 0
	}
	a := &b.acc[s]
	if a.open && a.kind == k && len(b.pending[s]) == 0 {
		b.g.Extend(a.id, d)
		b.info[a.id].tensor += tens
		return
	}
	id := b.mainTask(s, d, k)
	b.info[id].tensor = tens
	*a = accum{open: true, id: id, kind: k}
}

// mainTask adds a task to stage s's main stream that also waits for the
// stage's pending dependencies.
func (b *builder) mainTask(s int, d sim.Time, k sim.Kind) sim.TaskID {
	b.acc[s].open = false
	id := b.task(b.st[s].main, s, d, k)
	if len(b.pending[s]) > 0 {
		b.g.After(id, b.pending[s]...)
		b.pending[s] = b.pending[s][:0]
	}
	return id
}

// seal closes stage s's open compute task and returns the last task on its
// main stream, so that other tasks may depend on it.
func (b *builder) seal(s int) sim.TaskID {
	b.acc[s].open = false
	return b.g.Last(b.st[s].main)
}

// comm adds a communication task for spec, of kind k, to resource r of
// stage s. In flow mode the task's transfers go to the flow network and its
// own duration is only the collective's latency.
func (b *builder) comm(r sim.ResourceID, s int, spec commSpec, k sim.Kind) sim.TaskID {
	stage := b.stage(s)
	peer := b.peerOf(spec, stage)
	c, err := b.price(spec, stage, peer)
	if err != nil && b.err == nil {
		b.err = err
	}
	d := toTime(c.Time)
	if b.flow != nil {
		d = toTime(c.Latency)
	}
	var id sim.TaskID
	if r == b.st[s].main {
		id = b.mainTask(s, d, k)
	} else {
		id = b.task(r, s, d, k)
		// Running beside computation, its kernels take SMs from it.
		if b.contention != nil {
			b.contention[s] += sim.Time(b.cm.CommSlowdown() * float64(toTime(c.Time)))
		}
	}
	b.info[id].sent = c.Sent
	b.info[id].tier = c.Bottleneck
	if b.flow != nil {
		rep := -1
		if b.reps > 1 {
			rep = b.replica(s)
		}
		b.flow.register(id, spec, stage, peer, rep)
		b.g.Share(id)
	}
	if b.reps > 1 && spec.group == groupDP && spec.bytes > 0 {
		key := joinKey{stage, b.dpCalls[s]}
		b.dpCalls[s]++
		b.joins[key] = append(b.joins[key], id)
	}
	return id
}

// ppStream is where a pipeline send of stage s runs: its own stream when
// sends overlap computation, else the main stream, which then waits for it
// (Megatron-LM ≤ 2022 synchronised the device after every send/receive).
func (b *builder) ppStream(s int, own sim.ResourceID) sim.ResourceID {
	if b.j.Layout.PPOverlap {
		return own
	}
	return b.st[s].main
}

// block adds one block of a layer (the attention or the MLP half) of
// duration d and its tensor-parallel communication: serial on the main stream,
// or, with TPOverlap, on the TP stream alongside the block's GEMMs.
func (b *builder) block(s int, d, tens sim.Time, k sim.Kind) {
	l := b.j.Layout
	if l.TP == 1 {
		b.comp(s, d, tens, k)
		return
	}
	if l.TPOverlap {
		prev := b.seal(s)
		b.comp(s, d, tens, k)
		b.seal(s)
		for i := 0; i < b.c.tpCount; i++ {
			id := b.comm(b.st[s].tp, s, b.c.tpComm, KindTP)
			b.g.After(id, prev)
			b.pending[s] = append(b.pending[s], id)
		}
		return
	}
	b.comp(s, d, tens, k)
	for i := 0; i < b.c.tpCount; i++ {
		b.comm(b.st[s].main, s, b.c.tpComm, KindTP)
	}
}

// zeroGather adds a ZeRO-3 parameter all-gather for the next layer on the
// stage's DP stream; the layer's compute waits for it. The gather may run
// while the previous layer computes, not earlier: *released is the main-stream
// task that ended two layers back, after which that layer's parameters are
// freed. So at most two layers' parameters are gathered at once, as the
// memory model assumes.
func (b *builder) zeroGather(s int, released *sim.TaskID) {
	if b.j.Layout.ZeRO != 3 || b.j.Layout.DP == 1 {
		return
	}
	id := b.comm(b.st[s].dp, s, b.c.zeroAG, KindDP)
	b.g.After(id, *released)
	*released = b.seal(s)
	b.pending[s] = append(b.pending[s], id)
}

// zeroTableGather gathers, under ZeRO-3, embedding table i (0: the first
// stage's token and position tables, 1: the last stage's tied copy) before
// the pass that uses it; the next compute waits for it.
func (b *builder) zeroTableGather(s, i int) {
	if b.j.Layout.ZeRO != 3 || b.j.Layout.DP == 1 {
		return
	}
	prev := b.seal(s)
	id := b.comm(b.st[s].dp, s, b.c.embGather[i], KindDP)
	b.g.After(id, prev)
	b.pending[s] = append(b.pending[s], id)
}

// bucket adds an overlapped gradient reduction of cost c on stage s's DP
// stream after the work so far, when this is the step's last backward pass
// over those parameters and the layout overlaps gradient reduction.
func (b *builder) bucket(s int, lastMB bool, c commSpec, buckets *[]sim.TaskID) {
	l := b.j.Layout
	if !lastMB || !l.OverlapGradReduce || l.DP == 1 || l.ZeRO >= 2 {
		return
	}
	prev := b.seal(s)
	id := b.comm(b.st[s].dp, s, c, KindDP)
	b.g.After(id, prev)
	*buckets = append(*buckets, id)
}

// overlapParamGather reports whether the distributed optimizer's parameter
// all-gather is overlapped with the next step's forward pass, as
// Megatron-Core's --overlap-param-gather does; trainsim ties it to
// overlap_grad_reduce.
func (b *builder) overlapParamGather() bool {
	l := b.j.Layout
	return (l.ZeRO == 1 || l.ZeRO == 2) && l.DP > 1 && l.OverlapGradReduce
}

// paramGathers adds, at the start of a step on stage s, the per-layer
// all-gathers of the parameters the previous step's optimizer updated, in the
// order the forward pass needs them; the first micro-batch's forward through
// each layer waits for its gather. In steady state this is the overlap of one
// step's gathers with the next step's forward.
func (b *builder) paramGathers(s int, prevEnd []sim.TaskID) *gathers {
	if !b.overlapParamGather() {
		return nil
	}
	l := b.j.Layout
	g := &gathers{layers: make([][]sim.TaskID, l.VirtualStages), emb: [2]sim.TaskID{sim.None, sim.None}}
	add := func(spec commSpec) sim.TaskID {
		id := b.comm(b.st[s].dp, s, spec, KindDP)
		if prevEnd != nil {
			b.g.After(id, prevEnd[s])
		}
		return id
	}
	stage := b.stage(s)
	if stage == 0 {
		g.emb[0] = add(b.c.embGather[0])
	}
	for c := 0; c < l.VirtualStages; c++ {
		for layer := 0; layer < b.j.LayersOf(c*l.PP+stage); layer++ {
			g.layers[c] = append(g.layers[c], add(b.c.layerGather))
		}
	}
	if stage == l.PP-1 && l.PP*l.VirtualStages > 1 {
		g.emb[1] = add(b.c.embGather[1])
	}
	return g
}

// gathers are one stage's overlapped parameter all-gathers of a step: one per
// layer of each chunk, and the embedding tables where the stage holds them.
type gathers struct {
	layers [][]sim.TaskID // per chunk, per layer
	emb    [2]sim.TaskID
}

// embGradients reduces the embedding gradients of table i (0: the first
// stage's token and position tables, 1: the last stage's tied copy) after
// their backward: every micro-batch under ZeRO-2/3, else in the overlapped
// bucket of the last micro-batch (or with the blocking end-of-step
// reduction).
func (b *builder) embGradients(s, i int, lastMB bool, buckets *[]sim.TaskID) {
	l := b.j.Layout
	if l.ZeRO >= 2 && l.DP > 1 {
		prev := b.seal(s)
		rs := b.comm(b.st[s].dp, s, b.c.embRS[i], KindDP)
		b.g.After(rs, prev)
		return
	}
	b.bucket(s, lastMB, b.c.embBucket[i], buckets)
}

// stepIDs hold, for one training step, the cross-stage endpoints of every
// pass: the marker task that starts it and the send that ends it.
type stepIDs struct {
	fStart, fSend, bStart, bSend []sim.TaskID
}

// idx numbers the passes of a step: lane s (replica·PP + stage), chunk c,
// micro-batch i.
func (b *builder) idx(s, c, i int) int {
	l := b.j.Layout
	return b.replica(s)*l.PP*l.VirtualStages*b.m + (c*l.PP+b.stage(s))*b.m + i
}

// pass adds one forward or backward pass of micro-batch st.mb through chunk
// st.chunk on stage s.
func (b *builder) pass(s int, st step, ids *stepIDs, buckets *[]sim.TaskID, window *sim.TaskID, gath *gathers) {
	l, c := b.j.Layout, &b.c
	p, v := l.PP, l.VirtualStages
	vs := st.chunk*p + b.stage(s)
	lastVS := p*v - 1
	k := b.idx(s, st.chunk, st.mb)
	marker := b.mainTask(s, 0, KindPP)
	if st.forward {
		ids.fStart[k] = marker
		if vs == 0 {
			if gath != nil && st.mb == 0 {
				b.pending[s] = append(b.pending[s], gath.emb[0])
			}
			b.zeroTableGather(s, 0)
			b.comp(s, c.embFwd, c.embFwdT, KindCompute)
			if l.TP > 1 {
				b.comm(b.st[s].main, s, c.embAR, KindTP)
			}
		}
		for layer := 0; layer < b.j.LayersOf(vs); layer++ {
			b.zeroGather(s, window)
			if gath != nil && st.mb == 0 {
				b.pending[s] = append(b.pending[s], gath.layers[st.chunk][layer])
			}
			b.block(s, c.attnFwd, c.attnFwdT, KindCompute)
			b.block(s, c.mlpFwd, c.mlpFwdT, KindCompute)
		}
		if vs == lastVS {
			if gath != nil && st.mb == 0 && gath.emb[1] != sim.None {
				b.pending[s] = append(b.pending[s], gath.emb[1])
			}
			b.zeroTableGather(s, 1)
			b.comp(s, c.logitsFwd, c.logitsFwdT, KindCompute)
		}
		last := b.seal(s)
		if vs != lastVS {
			send := b.comm(b.ppStream(s, b.st[s].ppNext), s, c.ppSend, KindPP)
			b.g.After(send, last)
			ids.fSend[k] = send
		}
		return
	}
	ids.bStart[k] = marker
	lastMB := st.mb == b.m-1
	if vs == lastVS {
		b.zeroTableGather(s, 1)
		b.comp(s, c.logitsBwd, c.logitsBwdT, KindCompute)
		if l.TP > 1 {
			// The gradient of the logits' input, replicated over TP ranks.
			b.comm(b.st[s].main, s, c.embAR, KindTP)
		}
		if vs != 0 {
			// A single-chunk pipeline reduces its one table below.
			b.embGradients(s, 1, lastMB, buckets)
		}
	}
	for layer := 0; layer < b.j.LayersOf(vs); layer++ {
		b.zeroGather(s, window)
		switch l.Recompute {
		case RecomputeFull:
			b.block(s, c.attnFwd, c.attnFwdT, KindRecompute)
			b.block(s, c.mlpFwd, c.mlpFwdT, KindRecompute)
		case RecomputeSelective:
			b.comp(s, c.core, c.coreT, KindRecompute)
		}
		b.block(s, c.mlpBwd, c.mlpBwdT, KindCompute)
		b.block(s, c.attnBwd, c.attnBwdT, KindCompute)
		if l.ZeRO >= 2 && l.DP > 1 {
			// Sharded gradients are reduce-scattered after every
			// micro-batch: no rank holds the full gradient.
			prev := b.seal(s)
			rs := b.comm(b.st[s].dp, s, c.zeroRS, KindDP)
			b.g.After(rs, prev)
		} else {
			b.bucket(s, lastMB, c.layerGradReduce, buckets)
		}
	}
	if vs == 0 {
		b.zeroTableGather(s, 0)
		b.comp(s, c.embBwd, c.embBwdT, KindCompute)
		b.embGradients(s, 0, lastMB, buckets)
	}
	last := b.seal(s)
	if vs != 0 {
		back := c.ppSend
		back.backward = true
		send := b.comm(b.ppStream(s, b.st[s].ppPrev), s, back, KindPP)
		b.g.After(send, last)
		ids.bSend[k] = send
	}
}

// build unrolls the whole job into b.g: steps × stages × program.
func (b *builder) build() ([][]step, error) {
	l := b.j.Layout
	p, v := l.PP, l.VirtualStages
	progs := make([][]step, p)
	for s := 0; s < p; s++ {
		progs[s] = program(l.Schedule, p, v, b.m, s)
	}
	lanes := b.reps * p
	n := lanes * v * b.m
	ids := stepIDs{make([]sim.TaskID, n), make([]sim.TaskID, n), make([]sim.TaskID, n), make([]sim.TaskID, n)}
	barrierRes := b.g.AddResource("optimizer barrier")
	var prevEnd []sim.TaskID // per stage: what the next step must wait for
	for step := 0; step < b.j.Training.Steps; step++ {
		for i := range ids.fSend {
			ids.fSend[i], ids.bSend[i] = sim.None, sim.None
		}
		ends := make([]sim.TaskID, lanes)
		for s := 0; s < lanes; s++ {
			stage := b.stage(s)
			if prevEnd != nil {
				b.pending[s] = append(b.pending[s], prevEnd[s])
			}
			var buckets []sim.TaskID
			released := sim.None
			gath := b.paramGathers(s, prevEnd)
			for _, st := range progs[stage] {
				b.pass(s, st, &ids, &buckets, &released, gath)
			}
			// Gradient reduction that was not overlapped runs now, blocking.
			if l.DP > 1 && l.ZeRO < 2 && !l.OverlapGradReduce {
				b.comm(b.st[s].main, s, b.c.gradReduce[stage], KindDP)
			}
			if b.c.embGrad[stage].bytes > 0 {
				b.comm(b.st[s].main, s, b.c.embGrad[stage], KindDP)
			}
			last := b.seal(s)
			b.pending[s] = append(b.pending[s], buckets...)
			if dpLast := b.g.Last(b.st[s].dp); dpLast != sim.None {
				b.pending[s] = append(b.pending[s], dpLast)
			}
			ends[s] = last
		}
		// Cross-stage edges of this step's pipelines.
		for lane := 0; lane < lanes; lane++ {
			s, base := b.stage(lane), b.replica(lane)*p
			for c := 0; c < v; c++ {
				vs := c*p + s
				for i := 0; i < b.m; i++ {
					k := b.idx(lane, c, i)
					if vs > 0 {
						ps, pc := s-1, c
						if s == 0 {
							ps, pc = p-1, c-1
						}
						b.g.After(ids.fStart[k], ids.fSend[b.idx(base+ps, pc, i)])
					}
					if vs < p*v-1 {
						ns, nc := s+1, c
						if s == p-1 {
							ns, nc = 0, c+1
						}
						b.g.After(ids.bStart[k], ids.bSend[b.idx(base+ns, nc, i)])
					}
				}
			}
		}
		// Gradient clipping needs the global norm: every stage waits for all.
		barrier := b.task(barrierRes, 0, 0, KindBarrier)
		for s := 0; s < lanes; s++ {
			// The stage's main stream, including its pending gradient
			// buckets, must be done.
			marker := b.mainTask(s, 0, KindDP)
			b.g.After(barrier, marker, ends[s])
		}
		prevEnd = make([]sim.TaskID, lanes)
		for s := 0; s < lanes; s++ {
			// SM time still owed to overlapped communication is paid here,
			// so that it does not depend on whether another step follows.
			opt := b.mainTask(s, toTime(b.c.opts[b.stage(s)])+b.contention[s], KindOptimizer)
			b.contention[s] = 0
			b.g.After(opt, barrier)
			b.seal(s)
			if (l.ZeRO == 1 || l.ZeRO == 2) && l.DP > 1 && !b.overlapParamGather() {
				b.comm(b.st[s].main, s, b.c.paramGather[b.stage(s)], KindDP)
			}
			prevEnd[s] = b.seal(s)
		}
	}
	b.joinReplicas()
	return progs, b.err
}

// joinReplicas makes, in full mode, every data-parallel collective start on
// all replicas together, when the last of them is ready: a zero-length join
// task waits for every member's predecessors, and every member waits for it.
func (b *builder) joinReplicas() {
	if len(b.joins) == 0 {
		return
	}
	members := map[sim.TaskID]bool{}
	for _, ts := range b.joins {
		for _, t := range ts {
			members[t] = true
		}
	}
	preds := map[sim.TaskID][]sim.TaskID{}
	b.g.Edges(func(from, to sim.TaskID) {
		if members[to] {
			preds[to] = append(preds[to], from)
		}
	})
	keys := make([]joinKey, 0, len(b.joins))
	for k := range b.joins {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].stage != keys[j].stage {
			return keys[i].stage < keys[j].stage
		}
		return keys[i].seq < keys[j].seq
	})
	for _, k := range keys {
		ts := b.joins[k]
		join := b.task(b.g.AddResource("dp join"), int(b.info[ts[0]].stage), 0, KindBarrier)
		for _, t := range ts {
			b.g.After(join, preds[t]...)
			b.g.After(t, join)
		}
	}
}
