package parallelism

import (
	"math"

	"trainsim/collective"
	"trainsim/model"
	"trainsim/sim"
	"trainsim/topology"
	"trainsim/units"
)

// Emission: the plan's steps become tasks of the engine, lane by lane (a
// lane is one simulated GPU: a pipeline stage of one replica), with what the
// accounting needs to know of each task beside the engine's view (taskInfo).

// Task kinds, for accounting.
const (
	KindCompute sim.Kind = iota
	KindRecompute
	KindTP
	KindPP
	KindDP
	KindOptimizer
	KindBarrier
	// KindCP is context-parallel communication (ring attention's K/V
	// exchange); after KindBarrier so the older kinds keep their values.
	KindCP
	// KindEP is expert-parallel communication (the MoE all-to-alls).
	KindEP
	numKinds
)

// stageStreams are the resources of one lane's GPU.
type stageStreams struct {
	main   sim.ResourceID // compute stream; blocking communication runs here too
	tp     sim.ResourceID // overlapped tensor-parallel communication
	ppNext sim.ResourceID // sends to the next virtual stage
	ppPrev sim.ResourceID // sends to the previous virtual stage
	dp     sim.ResourceID // overlapped data-parallel communication
	// cp carries ring attention's overlapped K/V exchange; only with
	// context parallelism (otherwise the same as tp, never used).
	cp sim.ResourceID
}

// taskInfo is what emission knows of a task beyond the engine's view.
type taskInfo struct {
	tensor sim.Time // part of a compute task bound by tensor cores
	lane   int32
	// spec is a communication task's collective, -1 for other tasks: what
	// it sent (per tier crossed, docs/network.md, and in all) is the
	// pricer's cost of spec at the lane's stage (sentOf). An index rather
	// than the bytes keeps the per-task record small (24 bytes, not 80).
	spec specID
	tier topology.Tier
	// runFrom: for a task standing for a chain of members
	// (sim.Graph.Append), which has the last member's kind in the graph,
	// the first member of the back-to-back run of that kind the last member
	// ends; 0 when all its members are of that kind (then its run may
	// begin before it, as a one-member task's may).
	runFrom int32
}

// laneSums are what the accounting adds up over a lane's tasks that does
// not depend on when they ran: durations by kind (all, and on the main
// stream), the tensor-core part, blocking communication by bottleneck
// tier, bytes sent by kind and tier. With members (builder.members) the
// builder adds them up as it emits, in the order the accounting would
// (task order), so that the accounting need not visit every member.
type laneSums struct {
	total, busy [numKinds]sim.Time
	tensor      sim.Time
	tier        [topology.NumTiers]sim.Time
	sent        [numKinds][topology.NumTiers]units.Bytes
	bytes       [numKinds]units.Bytes
}

// traceInfo is what only the timeline needs of a task: a compute task's
// arithmetic work and the last layer it covers (label.layer the first),
// when coalesced over several. Kept beside taskInfo, and only when the job
// asks for the timeline, so that a plain run's memory does not grow.
type traceInfo struct {
	flops     units.FLOPs
	lastLayer int16
	label     passLabel // the pass the task belongs to
}

// passLabel says which pass a task belongs to, for the timeline.
type passLabel struct {
	step      int32
	mb, chunk int32 // -1 outside passes
	phase     int8  // 0 outside passes, 1 forward, 2 backward (B under zero-bubble), 3 weight gradient (W)
	// layer is the layer being emitted: the transformer layer's index in
	// the model (0-based), LayerEmbedding, LayerOutput, or LayerNone.
	layer int16
}

// builder emits one job's task graph.
type builder struct {
	j    Job
	pr   *pricer
	plan *plan
	g    *sim.Graph
	st   []stageStreams
	info []taskInfo
	// trace parallels info when the job asks for the timeline (else nil).
	trace []traceInfo
	acc   []accum
	// pending, per lane: tasks the next main-stream task must wait for.
	pending [][]sim.TaskID
	m       int // micro-batches
	tim     timing
	reps    replicas
	dur     durations
	// Per lane: the rank of its GPU, its stage, the index of its replica
	// among those replayed and that replica's data-parallel coordinate.
	laneRank, laneStage, laneReplica, laneDP []int
	err                                      error // the first error met while building
	// contention is, per lane, compute time lost to overlapped
	// communication kernels issued so far, charged to the next compute.
	contention []sim.Time
	// cur labels the tasks being added (timeline only: traceInfo.label).
	cur passLabel
	// commDur[spec·PP + stage] is the timing's duration of the collective
	// at that stage, once commOK says it is known (commCost).
	commDur []sim.Time
	commOK  []bool
	// chunks[vs] is chunk vs's layers (chunkSlots).
	chunks [][]slot
	// sameGPUs: dur is uniform (every GPU alike), so its calls can be
	// skipped; closedForm: tim is analytical (attach does nothing). They
	// save an interface call per task on the hot path.
	sameGPUs, closedForm bool
	// members: a layer's back-to-back kernels and blocking collectives on
	// a lane's main stream become members of one engine task
	// (sim.Graph.Append) instead of tasks of their own, from a pass's
	// marker to the next point another task waits for or on. The replay
	// is the same (sim.TestAppendEqualsUnrolled, TestFastReplayEqualsReference);
	// it is off where every task must be seen (timeline, flow network,
	// the reference replay). sums (per lane) is then what the accounting
	// adds up without timing.
	members bool
	sums    []laneSums
	// tpls are the step lists' templates (template), with members only:
	// indexed by layer kind, list, the lane's stage (its lane when GPUs
	// differ) and whether the first compute coalesces (templateIndex).
	tpls []template
	// period, when not nil, asks build for two training steps only: the
	// others are extrapolated from the second (stepPeriod).
	period *stepPeriod
	// within, when not nil, asks for fewer micro-batches (b.m), the
	// others inserted as copies of a steady period (mbPeriod).
	within *mbPeriod
	// rec, when not nil, records per lane the collectives added to the
	// byte sums, in order (for period or within).
	rec [][]tplComm
}

// The step lists of a layer kind (layerSteps.list).
const (
	listFwd = iota
	listBwd
	listRec
	listBIn
	listWgt
	numLists
)

// list returns step list which of ls.
func (ls *layerSteps) list(which int) []stepID {
	switch which {
	case listFwd:
		return ls.fwd
	case listBwd:
		return ls.bwd
	case listRec:
		return ls.rec
	case listBIn:
		return ls.bIn
	}
	return ls.wgt
}

// template is what emitting one step list does to a lane whose last
// main-stream task takes members (accum.chain), with nothing pending and no
// SM time owed to overlapped communication: the list's kernels and
// blocking collectives become members of that task, coalesced as comp
// coalesces them, and add up into the lane's sums. It is worked out once
// per list, stage (lane, when GPUs differ) and first coalescing, then
// repeated for every pass: a stage's repeated work built once. A list with
// an overlapped or data-parallel collective, or a step of no length, is not
// templated (state 2): it is emitted step by step.
type template struct {
	state uint8 // 0 not worked out yet, 1 ready, 2 emitted step by step
	// merge: the first compute step coalesces into the task's last member
	// (by first); d and kind are the members appended after it.
	merge bool
	first sim.Time
	d     []sim.Time
	kind  []sim.Kind
	// span is the start of the last member after the first's end: the
	// task's offsets must stay in 32 bits (sim.Graph.Append). change is
	// the last member whose kind differs from the one before it, 0 if none.
	span   sim.Time
	change int
	// What it adds to the lane's sums (laneSums): durations by kind (all
	// on the main stream), tensor-core time, blocking communication by
	// bottleneck tier, and each collective's cost in order (the bytes are
	// summed in floating point, so one by one as emission would).
	total  [numKinds]sim.Time
	tensor sim.Time
	tier   [topology.NumTiers]sim.Time
	comms  []tplComm
	// kinds and tiers list the non-zero entries of total and tier.
	kinds, tiers []tplSum
	// spec and tier of the last member, a collective (spec -1 otherwise);
	// open and openKind: the accum state after the list.
	spec     specID
	lastTier topology.Tier
	open     bool
	openKind sim.Kind
}

// tplSum is a non-zero entry of a template's sums: which (kind or tier)
// and how much.
type tplSum struct {
	i int
	d sim.Time
}

// tplComm is one collective of a template: its kind and cost.
type tplComm struct {
	k sim.Kind
	c *collective.Cost
}

// templated emits step list list of ls (steps) on lane from its template
// when the lane is in the state templates start from, and reports whether
// it did.
func (b *builder) templated(lane int, ls *layerSteps, list int, steps []stepID, k sim.Kind) bool {
	a := &b.acc[lane]
	if !a.chain || len(b.pending[lane]) > 0 || b.contention[lane] != 0 || int(a.id) != b.g.Tasks()-1 {
		return false
	}
	merge := a.open && a.kind == k
	key, keys := b.laneStage[lane], b.j.Layout.PP
	if !b.sameGPUs {
		key, keys = lane, len(b.laneStage)
	}
	i := ((int(ls.kind)*numLists+list)*keys + key) * 2
	if merge {
		i++
	}
	tp := &b.tpls[i]
	if tp.state == 0 {
		b.template(tp, lane, steps, k, merge)
	}
	if tp.state != 1 {
		return false
	}
	t := a.id
	if b.g.Duration(t)+tp.first+tp.span > math.MaxUint32 {
		return false // Append would refuse a member
	}
	if tp.merge {
		b.g.Extend(t, tp.first)
	}
	inf := &b.info[t]
	if n := len(tp.d); n > 0 {
		prev, base := b.g.Kind(t), b.g.Members(t)
		b.g.AppendAll(t, tp.d, tp.kind[n-1]) // t is the latest task, each d > 0, offsets checked
		switch {
		case tp.change > 0:
			inf.runFrom = int32(base + tp.change)
		case tp.kind[0] != prev:
			inf.runFrom = int32(base)
		}
	}
	inf.tensor += tp.tensor
	if len(tp.d) > 0 {
		inf.spec, inf.tier = tp.spec, tp.lastTier
	}
	sm := &b.sums[lane]
	for _, e := range tp.kinds {
		sm.total[e.i] += e.d
		sm.busy[e.i] += e.d
	}
	sm.tensor += tp.tensor
	for _, e := range tp.tiers {
		sm.tier[e.i] += e.d
	}
	for _, c := range tp.comms {
		for tier := range c.c.Sent {
			sm.sent[c.k][tier] += c.c.Sent[tier]
		}
		sm.bytes[c.k] += c.c.Bytes
	}
	if b.rec != nil {
		b.rec[lane] = append(b.rec[lane], tp.comms...)
	}
	a.open, a.kind = tp.open, tp.openKind
	return true
}

// template works out tp for steps emitted on lane with kind k, merge saying
// whether the lane's last member is open compute of kind k, the way emit,
// comp, commIn and member would emit them (state 2 where they would do
// anything else than coalesce or append a member).
func (b *builder) template(tp *template, lane int, steps []stepID, k sim.Kind, merge bool) {
	*tp = template{state: 2}
	stage := b.laneStage[lane]
	open, okind := merge, k
	out := template{state: 1, spec: -1}
	for _, id := range steps {
		st := &b.pr.steps[id]
		if st.overlap {
			return
		}
		if st.kind == model.Collective {
			if b.pr.specs[st.spec].group == groupDP {
				return
			}
			c, d := b.commCost(st.spec, stage)
			if b.err != nil {
				return
			}
			if !b.sameGPUs {
				d = b.dur.comm(lane, st.spec, d)
			}
			if d <= 0 {
				return
			}
			ck := b.progKind(st.spec)
			out.d, out.kind = append(out.d, d), append(out.kind, ck)
			out.total[ck] += d
			out.tier[c.Bottleneck] += d
			out.comms = append(out.comms, tplComm{k: ck, c: c})
			out.spec, out.lastTier = st.spec, c.Bottleneck
			open = false
			continue
		}
		d := st.d
		if !b.sameGPUs {
			d = b.dur.compute(lane, id, d)
		}
		out.tensor += st.tensor
		if open && okind == k {
			if len(out.d) == 0 {
				out.merge = true
				out.first += max(d, 0)
			} else {
				out.d[len(out.d)-1] += max(d, 0)
			}
			out.total[k] += max(d, 0)
			continue
		}
		if d <= 0 {
			return
		}
		out.d, out.kind = append(out.d, d), append(out.kind, k)
		out.total[k] += d
		out.spec, out.lastTier = -1, 0
		open, okind = true, k
	}
	for m := 0; m+1 < len(out.d); m++ {
		out.span += out.d[m]
	}
	for m := 1; m < len(out.d); m++ {
		if out.kind[m] != out.kind[m-1] {
			out.change = m
		}
	}
	for kind, d := range out.total {
		if d != 0 {
			out.kinds = append(out.kinds, tplSum{kind, d})
		}
	}
	for tier, d := range out.tier {
		if d != 0 {
			out.tiers = append(out.tiers, tplSum{tier, d})
		}
	}
	out.open, out.openKind = open, okind
	*tp = out
}

// accum is the last task on a lane's main stream: open when its (last)
// member is compute of kind kind that the next compute may be coalesced
// into; chain when it may take the next kernel or blocking collective as a
// member (nothing else waits for it or on it yet).
type accum struct {
	open  bool
	id    sim.TaskID
	kind  sim.Kind
	chain bool
}

// task adds a task and its side information.
func (b *builder) task(r sim.ResourceID, lane int, d sim.Time, k sim.Kind) sim.TaskID {
	id := b.g.AddTask(r, d, k)
	b.info = append(b.info, taskInfo{lane: int32(lane), spec: -1})
	if b.trace != nil {
		b.trace = append(b.trace, traceInfo{lastLayer: b.cur.layer, label: b.cur})
	}
	if b.sums != nil && k != KindBarrier {
		b.add(lane, r == b.st[lane].main, k, d)
	}
	return id
}

// add counts d of kind k on lane (its main stream or not) in b.sums.
func (b *builder) add(lane int, main bool, k sim.Kind, d sim.Time) {
	if d <= 0 {
		return
	}
	s := &b.sums[lane]
	s.total[k] += d
	if main {
		s.busy[k] += d
	}
}

// member appends d of kind k to lane's last main-stream task as a member of
// its own, when that task may take one (accum.chain), nothing is pending
// and d is positive; it reports whether it did.
func (b *builder) member(lane int, d sim.Time, k sim.Kind) bool {
	a := &b.acc[lane]
	if !a.chain || len(b.pending[lane]) > 0 {
		return false
	}
	prev := b.g.Kind(a.id)
	if !b.g.Append(a.id, d, k) {
		return false
	}
	inf := &b.info[a.id]
	if k != prev {
		inf.runFrom = int32(b.g.Members(a.id) - 1)
	}
	inf.spec, inf.tier = -1, 0
	b.add(lane, true, k, d)
	return true
}

// comp adds d of compute (tensor part tens) of kind k, step st, to lane's
// main stream, merging it into the open compute task when it can.
func (b *builder) comp(lane int, st stepID, d, tens sim.Time, k sim.Kind) {
	if !b.sameGPUs {
		d = b.dur.compute(lane, st, d)
	}
	if b.contention != nil {
		d += b.contention[lane]
		b.contention[lane] = 0
	}
	if b.sums != nil {
		b.sums[lane].tensor += tens
	}
	a := &b.acc[lane]
	if a.open && a.kind == k && len(b.pending[lane]) == 0 {
		b.g.Extend(a.id, d)
		b.info[a.id].tensor += tens
		if b.trace != nil {
			b.trace[a.id].flops += b.pr.steps[st].flops
			b.trace[a.id].lastLayer = b.cur.layer
		}
		if b.sums != nil {
			b.add(lane, true, k, d)
		}
		return
	}
	if b.member(lane, d, k) {
		b.info[a.id].tensor += tens
		a.open, a.kind = true, k
		return
	}
	id := b.mainTask(lane, d, k)
	b.info[id].tensor = tens
	if b.trace != nil {
		b.trace[id].flops = b.pr.steps[st].flops
	}
	*a = accum{open: true, id: id, kind: k, chain: b.members}
}

// mainTask adds a task to lane's main stream that also waits for the lane's
// pending dependencies.
func (b *builder) mainTask(lane int, d sim.Time, k sim.Kind) sim.TaskID {
	id := b.task(b.st[lane].main, lane, d, k)
	b.acc[lane] = accum{id: id}
	if len(b.pending[lane]) > 0 {
		b.g.After(id, b.pending[lane]...)
		b.pending[lane] = b.pending[lane][:0]
	}
	return id
}

// seal closes lane's open compute task and returns the last task on its
// main stream, so that other tasks may depend on it.
func (b *builder) seal(lane int) sim.TaskID {
	b.acc[lane].open, b.acc[lane].chain = false, false
	return b.g.Last(b.st[lane].main)
}

// comm adds a communication task for collective id, of kind k, to resource
// r of lane.
func (b *builder) comm(r sim.ResourceID, lane int, id specID, k sim.Kind) sim.TaskID {
	return b.commIn(r, lane, id, k, false)
}

// commIn is comm; inChain says the collective is a blocking one of a
// layer's program (emit), which may be a member of the lane's last task
// and may take the next kernels as members (builder.members).
func (b *builder) commIn(r sim.ResourceID, lane int, id specID, k sim.Kind, inChain bool) sim.TaskID {
	stage := b.laneStage[lane]
	sp := &b.pr.specs[id]
	c, d := b.commCost(id, stage)
	if !b.sameGPUs {
		d = b.dur.comm(lane, id, d)
	}
	main := r == b.st[lane].main
	inChain = inChain && main && sp.group != groupDP
	var t sim.TaskID
	if inChain && b.member(lane, d, k) {
		t = b.acc[lane].id
		b.acc[lane].open = false
	} else if main {
		t = b.mainTask(lane, d, k)
		b.acc[lane].chain = inChain && b.members
	} else {
		t = b.task(r, lane, d, k)
		// Running beside computation, its kernels take SMs from it (not
		// during its host time).
		if b.contention != nil {
			b.contention[lane] += sim.Time(b.pr.commSlowdown(id) * float64(toTime(c.Time-b.pr.hostOf(id, stage))))
		}
	}
	b.info[t].spec = id
	b.info[t].tier = c.Bottleneck
	if b.sums != nil {
		s := &b.sums[lane]
		if main && d > 0 {
			s.tier[c.Bottleneck] += d
		}
		for tier := range c.Sent {
			s.sent[k][tier] += c.Sent[tier]
		}
		s.bytes[k] += c.Bytes
		if b.rec != nil {
			b.rec[lane] = append(b.rec[lane], tplComm{k, c})
		}
	}
	if !b.closedForm {
		b.tim.attach(b.g, t, id, stage, b.pr.peerOf(sp, stage), b.reps.replicaArg(b.laneDP[lane]))
	}
	if sp.group == groupDP && sp.bytes > 0 {
		b.reps.collective(t, lane, stage)
	}
	return t
}

// commCost returns the cost of collective id at stage and the duration
// the timing gives it, each computed once per collective and stage (a
// replay issues the same few collectives hundreds of thousands of times).
func (b *builder) commCost(id specID, stage int) (*collective.Cost, sim.Time) {
	i := int(id)*b.j.Layout.PP + stage
	if i < len(b.commOK) && b.commOK[i] {
		return &b.pr.costs[i], b.commDur[i]
	}
	c, err := b.pr.price(id, stage)
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return &c, b.tim.duration(c)
	}
	for i >= len(b.commOK) {
		b.commOK = append(b.commOK, false)
		b.commDur = append(b.commDur, 0)
	}
	b.commOK[i], b.commDur[i] = true, b.tim.duration(c)
	return &b.pr.costs[i], b.commDur[i]
}

// emit adds the steps of one pass through one layer (ls's step list
// list) to lane; compute steps are of kind k.
func (b *builder) emit(lane int, ls *layerSteps, list int, k sim.Kind) {
	n := len(ls.list(list))
	for from := 0; from < n; {
		from = b.emitPart(lane, ls, list, k, from)
	}
}

// emitPart adds the steps of ls's step list list from step from on, up to
// and including the first compute step with collectives overlapped with it
// (issued, and left in the lane's pending dependencies), and returns the
// step after them (the list's length when it is done). DualPipe's paired
// passes (pairPasses) switch from one pass to the other there.
func (b *builder) emitPart(lane int, ls *layerSteps, list int, k sim.Kind, from int) int {
	steps := ls.list(list)
	if from == 0 && b.tpls != nil && len(steps) > 0 && b.templated(lane, ls, list, steps, k) {
		return len(steps)
	}
	for i := from; i < len(steps); i++ {
		st := &b.pr.steps[steps[i]]
		if st.kind == model.Collective {
			b.commIn(b.st[lane].main, lane, st.spec, b.progKind(st.spec), true)
			continue
		}
		if i+1 == len(steps) || !b.pr.steps[steps[i+1]].overlap {
			b.comp(lane, steps[i], st.d, st.tensor, k)
			continue
		}
		// Collectives overlapped with this compute: on the TP stream (the
		// CP stream for ring attention's exchange), from the moment it may
		// start; the next main-stream task waits for them.
		prev := b.seal(lane)
		b.comp(lane, steps[i], st.d, st.tensor, k)
		b.seal(lane)
		for i+1 < len(steps) && b.pr.steps[steps[i+1]].overlap {
			i++
			spec := b.pr.steps[steps[i]].spec
			r := b.st[lane].tp
			if b.pr.specs[spec].group == groupCP {
				r = b.st[lane].cp
			}
			t := b.comm(r, lane, spec, b.progKind(spec))
			b.g.After(t, prev)
			b.pending[lane] = append(b.pending[lane], t)
		}
		return i + 1
	}
	return len(steps)
}

// progKind is the task kind of a program collective: context-parallel
// communication for one over the CP group, tensor-parallel otherwise.
func (b *builder) progKind(id specID) sim.Kind {
	switch b.pr.specs[id].group {
	case groupCP:
		return KindCP
	case groupEP, groupETP:
		return KindEP
	}
	return KindTP
}

// ppStream is where a pipeline send of lane runs: its own stream when sends
// overlap computation, else the main stream, which then waits for it
// (Megatron-LM ≤ 2022 synchronised the device after every send/receive).
func (b *builder) ppStream(lane int, own sim.ResourceID) sim.ResourceID {
	if b.j.Layout.PPOverlap {
		return own
	}
	return b.st[lane].main
}

// zero3 reports whether parameters are gathered before every pass (ZeRO-3).
func (b *builder) zero3() bool { return b.j.Layout.ZeRO == 3 && b.j.Layout.DP > 1 }

// zeroGather adds, under ZeRO-3, the parameter all-gather of layer ls before
// a pass through it on lane's DP stream; the layer's compute waits for it. A
// transformer layer's gather may run while the previous layer computes, not
// earlier: *released is the main-stream task that ended two layers back,
// after which that layer's parameters are freed. So at most two layers'
// parameters are gathered at once, as the memory model assumes. A table is
// gathered after the work so far.
func (b *builder) zeroGather(lane int, ls *layerSteps, released *sim.TaskID) {
	if !b.zero3() {
		return
	}
	if ls.zeroGatherPerLayer {
		id := b.comm(b.st[lane].dp, lane, ls.zeroGather, KindDP)
		b.g.After(id, *released)
		*released = b.seal(lane)
		b.pending[lane] = append(b.pending[lane], id)
		return
	}
	prev := b.seal(lane)
	id := b.comm(b.st[lane].dp, lane, ls.zeroGather, KindDP)
	b.g.After(id, prev)
	b.pending[lane] = append(b.pending[lane], id)
}

// gradients reduces layer ls's gradients after its backward: every
// micro-batch under ZeRO-2/3 (no rank holds the full gradient), else in an
// overlapped bucket after the step's last backward through it (or with the
// blocking end-of-step reduction).
func (b *builder) gradients(lane int, ls *layerSteps, lastMB bool, buckets *[]sim.TaskID) {
	l := b.j.Layout
	if l.ZeRO >= 2 && l.DP > 1 {
		if l.ZeRO == 2 && !l.OverlapGradReduce {
			// DeepSpeed's ZeRO-2 without overlap_comm reduces each
			// bucket on the compute stream, the backward waiting.
			b.comm(b.st[lane].main, lane, ls.shardedRS, KindDP)
			return
		}
		prev := b.seal(lane)
		rs := b.comm(b.st[lane].dp, lane, ls.shardedRS, KindDP)
		b.g.After(rs, prev)
		return
	}
	if lastMB && l.OverlapGradReduce && ls.kind.MoE() && b.j.expertShardGroup() > 1 {
		// The routed experts' bucket, over the expert data-parallel group.
		prev := b.seal(lane)
		id := b.comm(b.st[lane].dp, lane, ls.expertGrad, KindDP)
		b.g.After(id, prev)
		*buckets = append(*buckets, id)
	}
	if !lastMB || !l.OverlapGradReduce || l.DP == 1 {
		return
	}
	prev := b.seal(lane)
	id := b.comm(b.st[lane].dp, lane, ls.gradReduce, KindDP)
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

// slot is one layer of a model chunk: its kind and its place in the gathers
// of the step (gathers.of).
type slot struct {
	ls    *layerSteps
	index int // the transformer layer's index in the chunk; the table otherwise
	// layer labels the slot's tasks: the transformer layer's index in the
	// model, or LayerEmbedding / LayerOutput.
	layer int16
}

// chunkSlots returns the layers of virtual stage vs (chunk), computed once
// per virtual stage; the caller must not change them.
func (b *builder) chunkSlots(vs int) []slot {
	if b.chunks == nil {
		b.chunks = make([][]slot, b.j.Layout.PP*b.j.Layout.VirtualStages)
	}
	if b.chunks[vs] == nil {
		b.chunks[vs] = b.chunk(vs, nil)
	}
	return b.chunks[vs]
}

// chunk returns the layers of virtual stage vs in forward order: the
// embedding on the first, its transformer layers, the output layer on the
// last.
func (b *builder) chunk(vs int, into []slot) []slot {
	p := b.plan
	into = into[:0]
	if vs == 0 {
		into = append(into, slot{&p.layers[model.EmbeddingLayer], 0, LayerEmbedding})
	}
	counts := b.j.StageLayers()
	first := 0
	for u := 0; u < vs; u++ {
		first += counts[u]
	}
	n := counts[vs]
	for i := 0; i < n; i++ {
		into = append(into, slot{&p.layers[b.j.Model.KindOf(first+i)], i, int16(first + i)})
	}
	if vs == b.j.Layout.PP*b.j.Layout.VirtualStages-1 {
		// The multi-token-prediction modules after the last layer (their
		// tasks labelled as layers after the model's), then the output
		// layer.
		for d := 0; d < b.j.Model.MTPDepth; d++ {
			into = append(into, slot{&p.layers[model.MTPLayer], n + d, int16(b.j.Model.Layers + d)})
		}
		into = append(into, slot{&p.layers[model.LogitsLayer], 1, LayerOutput})
	}
	return into
}

// paramGathers adds, at the start of a step on lane, the per-layer
// all-gathers of the parameters the previous step's optimizer updated, in the
// order the forward pass needs them; the first micro-batch's forward through
// each layer waits for its gather. In steady state this is the overlap of one
// step's gathers with the next step's forward.
func (b *builder) paramGathers(lane int, prevEnd []sim.TaskID) *gathers {
	if !b.overlapParamGather() {
		return nil
	}
	l := b.j.Layout
	g := &gathers{layers: make([][]sim.TaskID, l.ChunksPerGPU()), emb: [2]sim.TaskID{sim.None, sim.None}}
	add := func(spec specID) sim.TaskID {
		id := b.comm(b.st[lane].dp, lane, spec, KindDP)
		if prevEnd != nil {
			b.g.After(id, prevEnd[lane])
		}
		return id
	}
	stage := b.laneStage[lane]
	for c := 0; c < l.ChunksPerGPU(); c++ {
		vs := l.vsOf(stage, c)
		for _, sl := range b.chunkSlots(vs) {
			switch {
			case sl.ls.kind == model.EmbeddingLayer:
				g.emb[0] = add(sl.ls.gather)
			case sl.ls.kind == model.LogitsLayer:
				if l.PP*l.VirtualStages > 1 {
					g.emb[1] = add(sl.ls.gather)
				}
			default:
				g.layers[c] = append(g.layers[c], add(sl.ls.gather))
			}
		}
	}
	return g
}

// gathers are one lane's overlapped parameter all-gathers of a step: one per
// layer of each chunk, and the embedding tables where the stage holds them.
type gathers struct {
	layers [][]sim.TaskID // per chunk, per layer
	emb    [2]sim.TaskID  // the token and position tables; the output layer's tied copy
}

// of returns the gather slot sl of chunk c waits for, or sim.None.
func (g *gathers) of(c int, sl slot) sim.TaskID {
	switch sl.ls.kind {
	case model.EmbeddingLayer:
		return g.emb[0]
	case model.LogitsLayer:
		return g.emb[1]
	}
	return g.layers[c][sl.index]
}

// stepIDs hold, for one training step, the cross-stage endpoints of every
// pass: the marker task that starts it and the send that ends it.
type stepIDs struct {
	fStart, fSend, bStart, bSend []sim.TaskID
}

// idx numbers the passes of a step: lane, chunk c, micro-batch i (passOf
// on lane's own stage).
func (b *builder) idx(lane, c, i int) int { return b.passOf(lane, b.laneStage[lane], c, i) }

// passState is what one lane's passes of a step share.
type passState struct {
	buckets  []sim.TaskID // overlapped gradient buckets issued
	released sim.TaskID   // ZeRO-3's prefetch window (zeroGather)
	gath     *gathers
	slots    []slot
}

// passRun is one forward or backward pass being emitted (advance): its
// step, virtual stage and layers, and how far it has got.
type passRun struct {
	st    step
	vs    int
	k     int // its index in stepIDs
	slots []slot
	// next is the number of layers done; part the next part of the layer
	// (backward: 0 recomputation, 1 backward, 2 gradients); from the next
	// step of the list being emitted.
	next, part, from int
	// pend holds, while the other pass of a pair is emitted, the
	// overlapped collectives its next main-stream task must wait for.
	pend []sim.TaskID
}

// label sets the timeline label of the tasks r adds.
func (b *builder) label(r *passRun) {
	b.cur.mb, b.cur.chunk, b.cur.phase = int32(r.st.mb), int32(r.st.chunk), 2
	if r.st.forward {
		b.cur.phase = 1
	}
}

// unlabel ends a pass's label.
func (b *builder) unlabel() {
	b.cur.mb, b.cur.chunk, b.cur.phase, b.cur.layer = -1, -1, 0, LayerNone
}

// pass adds one forward or backward pass of micro-batch st.mb through chunk
// st.chunk on lane.
func (b *builder) pass(lane int, st step, ids *stepIDs, ps *passState) {
	l := b.j.Layout
	if st.weight {
		vs := l.vsOf(b.laneStage[lane], st.chunk)
		b.cur.mb, b.cur.chunk, b.cur.phase = int32(st.mb), int32(st.chunk), 3
		defer b.unlabel()
		// W: the weight gradients of every layer of the chunk, in backward
		// order, then their reduction; no pipeline traffic.
		b.mainTask(lane, 0, KindPP) // a pass of its own, not merged into the B before it
		b.acc[lane].chain = b.members
		ps.slots = b.chunkSlots(vs)
		last := st.mb == lastMB(l, b.m, st.chunk)
		for i := len(ps.slots) - 1; i >= 0; i-- {
			sl := ps.slots[i]
			b.cur.layer = sl.layer
			b.emit(lane, sl.ls, listWgt, KindCompute)
			if sl.ls.tied && vs == 0 {
				continue
			}
			b.gradients(lane, sl.ls, last, &ps.buckets)
		}
		return
	}
	defer b.unlabel()
	r := b.beginPass(lane, st, ids, ps)
	b.advance(lane, &r, ps, false)
	b.endPass(lane, &r, ids)
}

// beginPass adds the marker that starts a forward or backward pass (the
// task the pass's input from the neighbouring stage is waited for on) and
// returns the pass, ready for advance.
func (b *builder) beginPass(lane int, st step, ids *stepIDs, ps *passState) passRun {
	l := b.j.Layout
	r := passRun{st: st, vs: l.vsOf(b.laneStage[lane], st.chunk), k: b.idx(lane, st.chunk, st.mb)}
	b.label(&r)
	marker := b.mainTask(lane, 0, KindPP)
	b.acc[lane].chain = b.members // the marker gains edges in, none out
	r.slots = b.chunkSlots(r.vs)
	ps.slots = r.slots
	if st.forward {
		ids.fStart[r.k] = marker
	} else {
		ids.bStart[r.k] = marker
	}
	return r
}

// advance emits pass r's layers on lane: all of them, or with yield only up
// to the next compute step that has collectives overlapped with it (see
// emitPart); it reports whether the pass is done.
func (b *builder) advance(lane int, r *passRun, ps *passState, yield bool) bool {
	l := b.j.Layout
	b.label(r)
	defer func() { b.cur.layer = LayerNone }()
	if r.st.forward {
		for r.next < len(r.slots) {
			sl := r.slots[r.next]
			if r.from == 0 {
				b.zeroGather(lane, sl.ls, &ps.released)
				if ps.gath != nil && r.st.mb == firstMB(l, b.m, r.st.chunk) {
					if g := ps.gath.of(r.st.chunk, sl); g != sim.None {
						b.pending[lane] = append(b.pending[lane], g)
					}
				}
			}
			b.cur.layer = sl.layer
			done, stop := b.emitUntil(lane, sl.ls, listFwd, KindCompute, r, yield)
			if done {
				r.next++
			}
			if stop {
				return false
			}
		}
		return true
	}
	last := r.st.mb == lastMB(l, b.m, r.st.chunk)
	for r.next < len(r.slots) {
		sl := r.slots[len(r.slots)-1-r.next]
		b.cur.layer = sl.layer
		switch r.part {
		case 0:
			if r.from == 0 {
				b.zeroGather(lane, sl.ls, &ps.released)
			}
			done, stop := b.emitUntil(lane, sl.ls, listRec, KindRecompute, r, yield)
			if done {
				r.part = 1
			}
			if stop {
				return false
			}
		case 1:
			list := listBwd
			if r.st.split {
				// B only: the gradients are reduced after the W pass.
				list = listBIn
			}
			done, stop := b.emitUntil(lane, sl.ls, list, KindCompute, r, yield)
			if done {
				r.part = 2
			}
			if stop {
				return false
			}
		default:
			// One chunk holds the embedding too: the tied table's
			// gradient is reduced once, with the embedding's.
			if !r.st.split && !(sl.ls.tied && r.vs == 0) {
				b.gradients(lane, sl.ls, last, &ps.buckets)
			}
			r.next, r.part = r.next+1, 0
		}
	}
	return true
}

// emitUntil emits list list of ls for pass r: all of it, or with yield one
// part (emitPart), keeping its place in r.from. It reports whether the list
// is done, and whether the pass should stop there: with yield, after
// collectives overlapped with computation were issued (left pending).
func (b *builder) emitUntil(lane int, ls *layerSteps, list int, k sim.Kind, r *passRun, yield bool) (done, stop bool) {
	if !yield {
		b.emit(lane, ls, list, k)
		return true, false
	}
	n := len(ls.list(list))
	if n == 0 {
		return true, false
	}
	r.from = b.emitPart(lane, ls, list, k, r.from)
	if r.from < n {
		return false, true
	}
	r.from = 0
	return true, len(b.pending[lane]) > 0
}

// endPass sends pass r's output to the neighbouring stage: a forward pass's
// activations to the next virtual stage, a backward pass's gradient to the
// previous one (under DualPipe, the ranks in between are the other way
// round for direction 1).
func (b *builder) endPass(lane int, r *passRun, ids *stepIDs) {
	l := b.j.Layout
	last := b.seal(lane)
	next, prev := b.st[lane].ppNext, b.st[lane].ppPrev
	fwd, bwd := b.plan.ppSend, b.plan.ppBack
	if l.Schedule == DualPipe && r.st.chunk == 1 {
		// The same bytes, to the other neighbour (price.go's peerOf).
		next, prev = prev, next
		fwd, bwd = bwd, fwd
	}
	if r.st.forward {
		if r.vs != l.PP*l.VirtualStages-1 {
			send := b.comm(b.ppStream(lane, next), lane, fwd, KindPP)
			b.g.After(send, last)
			ids.fSend[r.k] = send
		}
		return
	}
	if r.vs != 0 {
		send := b.comm(b.ppStream(lane, prev), lane, bwd, KindPP)
		b.g.After(send, last)
		ids.bSend[r.k] = send
	}
}

// pairPasses emits DualPipe's overlapped chunk pair (F&B, arXiv:2412.19437
// §3.2.1, Figure 4): forward step f and backward step bw of different
// micro-batches, both started when both inputs have arrived (the pair's
// receives are committed and waited for together, as DualPipe's
// _forward_backward_chunk does), their layers then interleaved on the
// compute stream: each time one pass has issued a collective that runs
// beside computation (under moe.overlap the expert all-to-alls, under
// tp_overlap the TP collectives), the other pass's computation follows,
// and the first pass's next step waits for its collective. So each pass's
// all-to-all runs beside the other's computation, not only beside its own
// compute step before it. Each pass's send follows its own last step.
func (b *builder) pairPasses(lane int, f, bw step, ids *stepIDs, ps *passState) {
	defer b.unlabel()
	runs := [2]passRun{b.beginPass(lane, f, ids, ps), b.beginPass(lane, bw, ids, ps)}
	done := [2]bool{}
	for !done[0] || !done[1] {
		for i := range runs {
			if done[i] {
				continue
			}
			r := &runs[i]
			b.pending[lane] = append(b.pending[lane], r.pend...)
			r.pend = r.pend[:0]
			done[i] = b.advance(lane, r, ps, true)
			if !done[i] || len(b.pending[lane]) > 0 {
				r.pend = append(r.pend, b.pending[lane]...)
				b.pending[lane] = b.pending[lane][:0]
			}
			if done[i] {
				b.endPass(lane, r, ids)
			}
		}
	}
	for i := range runs {
		b.pending[lane] = append(b.pending[lane], runs[i].pend...)
	}
}

// build unrolls the whole job into b.g: steps × lanes × program, and returns
// each stage's program.
func (b *builder) build() ([][]step, error) {
	l := b.j.Layout
	p := l.PP
	progs := make([][]step, p)
	for s := 0; s < p; s++ {
		progs[s] = stageProgram(l, b.m, s)
	}
	lanes := len(b.laneRank)
	n := lanes * l.ChunksPerGPU() * b.m
	ids := stepIDs{make([]sim.TaskID, n), make([]sim.TaskID, n), make([]sim.TaskID, n), make([]sim.TaskID, n)}
	barrierRes := b.g.AddResource("optimizer barrier")
	var prevEnd []sim.TaskID // per lane: what the next step must wait for
	var ps passState
	steps := b.j.Training.Steps
	if b.period != nil {
		steps = 2
	}
	for step := 0; step < steps; step++ {
		if step == 1 && b.period != nil {
			b.period.start(b)
		}
		b.cur = passLabel{step: int32(step), mb: -1, chunk: -1, layer: LayerNone}
		for i := range ids.fSend {
			ids.fSend[i], ids.bSend[i] = sim.None, sim.None
		}
		ends := make([]sim.TaskID, lanes)
		for lane := 0; lane < lanes; lane++ {
			stage := b.laneStage[lane]
			if prevEnd != nil {
				b.pending[lane] = append(b.pending[lane], prevEnd[lane])
			}
			ps = passState{buckets: ps.buckets[:0], released: sim.None, gath: b.paramGathers(lane, prevEnd)}
			prog := progs[stage]
			for i := 0; i < len(prog); i++ {
				if b.within != nil {
					b.within.before(b, lane, i)
				}
				if prog[i].pair && i+1 < len(prog) {
					b.pairPasses(lane, prog[i], prog[i+1], &ids, &ps)
					i++
					continue
				}
				b.pass(lane, prog[i], &ids, &ps)
			}
			if b.within != nil {
				// The end of the passes ends period J on a single stage.
				b.within.before(b, lane, len(progs[stage]))
			}
			// Gradient reduction that was not overlapped runs now, blocking.
			if l.DP > 1 && l.ZeRO < 2 && !l.OverlapGradReduce {
				b.comm(b.st[lane].main, lane, b.plan.gradReduce[stage], KindDP)
			}
			if e := b.plan.expertGrad; e != nil && e[stage] >= 0 && b.j.expertShardGroup() > 1 && !l.OverlapGradReduce {
				b.comm(b.st[lane].main, lane, e[stage], KindDP)
			}
			if e := b.plan.embGrad[stage]; e >= 0 {
				b.comm(b.st[lane].main, lane, e, KindDP)
			}
			last := b.seal(lane)
			b.pending[lane] = append(b.pending[lane], ps.buckets...)
			if dpLast := b.g.Last(b.st[lane].dp); dpLast != sim.None {
				b.pending[lane] = append(b.pending[lane], dpLast)
			}
			ends[lane] = last
		}
		b.crossStage(&ids)
		// Gradient clipping needs the global norm: every stage waits for all.
		barrier := b.task(barrierRes, 0, 0, KindBarrier)
		if b.period != nil {
			b.period.barrier[step] = barrier
		}
		for lane := 0; lane < lanes; lane++ {
			// The lane's main stream, including its pending gradient
			// buckets, must be done.
			marker := b.mainTask(lane, 0, KindDP)
			b.g.After(barrier, marker, ends[lane])
		}
		prevEnd = make([]sim.TaskID, lanes)
		for lane := 0; lane < lanes; lane++ {
			stage := b.laneStage[lane]
			// SM time still owed to overlapped communication is paid here,
			// so that it does not depend on whether another step follows.
			os := b.plan.optimizer[stage]
			opt := b.mainTask(lane, b.dur.compute(lane, os, b.pr.steps[os].d)+b.contention[lane], KindOptimizer)
			b.contention[lane] = 0
			b.g.After(opt, barrier)
			b.seal(lane)
			if g := b.plan.persistGather; g != nil && g[stage] >= 0 {
				// DeepSpeed 2021's stage 3 re-gathers the tensors it keeps
				// gathered after every step (_post_step, zero3loops.go).
				b.comm(b.st[lane].main, lane, g[stage], KindDP)
			}
			if (l.ZeRO == 1 || l.ZeRO == 2) && l.DP > 1 && !b.overlapParamGather() {
				b.comm(b.st[lane].main, lane, b.plan.paramGather[stage], KindDP)
			}
			if e := b.plan.expertGather; e != nil && e[stage] >= 0 && l.ZeRO == 1 && b.j.expertShardGroup() > 1 {
				// The routed experts' parameter all-gather (distributed
				// optimizer) runs blocking after the optimizer, overlap or
				// not: an approximation (Megatron-Core overlaps it with the
				// next forward under --overlap-param-gather).
				b.comm(b.st[lane].main, lane, e[stage], KindDP)
			}
			prevEnd[lane] = b.seal(lane)
		}
	}
	b.reps.finish(b)
	return progs, b.err
}

// crossStage adds the edges between the passes of one step's pipelines: the
// forward of virtual stage vs waits for the forward send of vs − 1, the
// backward of vs for the backward send of vs + 1 (stage p − 1 of chunk c
// feeds stage 0 of chunk c + 1), within each replica.
func (b *builder) crossStage(ids *stepIDs) {
	l := b.j.Layout
	p, v := l.PP, l.VirtualStages
	if l.Schedule == DualPipe {
		b.crossStageDual(ids)
		return
	}
	for lane := range b.laneRank {
		s := b.laneStage[lane]
		for c := 0; c < v; c++ {
			vs := c*p + s
			for i := 0; i < b.m; i++ {
				k := b.idx(lane, c, i)
				if vs > 0 {
					ps, pc := s-1, c
					if s == 0 {
						ps, pc = p-1, c-1
					}
					b.g.After(ids.fStart[k], ids.fSend[b.passOf(lane, ps, pc, i)])
				}
				if vs < p*v-1 {
					ns, nc := s+1, c
					if s == p-1 {
						ns, nc = 0, c+1
					}
					b.g.After(ids.bStart[k], ids.bSend[b.passOf(lane, ns, nc, i)])
				}
			}
		}
	}
}

// crossStageDual is crossStage under DualPipe: direction 0 (chunk 0) runs
// forward from rank 0 to rank pp−1, direction 1 (chunk 1) from rank pp−1
// to rank 0, each on its own half of the micro-batches.
func (b *builder) crossStageDual(ids *stepIDs) {
	p := b.j.Layout.PP
	half := b.m / 2
	for lane := range b.laneRank {
		s := b.laneStage[lane]
		for c := 0; c < 2; c++ {
			up, down := s-1, s+1 // the ranks a forward pass comes from and a backward pass
			if c == 1 {
				up, down = s+1, s-1
			}
			for i := c * half; i < (c+1)*half; i++ {
				k := b.idx(lane, c, i)
				if up >= 0 && up < p {
					b.g.After(ids.fStart[k], ids.fSend[b.passOf(lane, up, c, i)])
				}
				if down >= 0 && down < p {
					b.g.After(ids.bStart[k], ids.bSend[b.passOf(lane, down, c, i)])
				}
			}
		}
	}
}

// passOf numbers the pass of micro-batch i through chunk c on stage s of
// lane's replica.
func (b *builder) passOf(lane, s, c, i int) int {
	l := b.j.Layout
	return b.laneReplica[lane]*l.PP*l.ChunksPerGPU()*b.m + (c*l.PP+s)*b.m + i
}
