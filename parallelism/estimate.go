package parallelism

import (
	"fmt"
	"sync"

	"trainsim/collective"
	"trainsim/model"
	"trainsim/sim"
	"trainsim/units"
)

// Estimates without a replay: the memory a job needs (exactly what the
// replay reports, from the schedule's in-flight counts) and a lower bound on
// its step time, for a layout search to discard candidates before replaying
// them.

// PeakMemory returns the memory of the GPU that needs most and its pipeline
// stage, as Simulate reports it (Result.Memory, Result.MemoryStage), and
// whether it fits the GPU's HBM, computed from each stage's schedule program
// without a replay.
func PeakMemory(v Valid) (Memory, int, bool, error) {
	return NewEstimator().PeakMemory(v)
}

// StepLowerBound returns a time that the step time Simulate reports for v
// can never be below (see Estimator.StepLowerBound).
func StepLowerBound(v Valid) (units.Seconds, error) {
	return NewEstimator().StepLowerBound(v)
}

// Estimator computes PeakMemory and StepLowerBound for many jobs of one
// model on one kind of hardware (GPU, system, calibration, network
// fidelity), caching what layouts share: the in-flight layer counts of each
// schedule shape and the pass times of each layer kind for each shard. It
// is safe for concurrent use. Jobs that differ in model, hardware,
// calibration or simulation options need their own Estimator.
type Estimator struct {
	mu       sync.Mutex
	inFlight map[flightKey][]int
	trailing map[flightKey][][]int
	passes   map[meshPassKey]*passTimes
	dp       map[dpKey][2][model.NumLayerKinds]sim.Time
	// templates and colls serve the jobs whose pass times depend on the
	// mesh (passKeyOf): each shard's programs, each collective's price.
	templates map[passKey]*passTemplate
	colls     map[collKey]sim.Time
	ends      map[endKey][2][]sim.Time
}

// NewEstimator returns an empty Estimator.
func NewEstimator() *Estimator {
	return &Estimator{inFlight: map[flightKey][]int{}, trailing: map[flightKey][][]int{}, passes: map[meshPassKey]*passTimes{},
		dp: map[dpKey][2][model.NumLayerKinds]sim.Time{}, templates: map[passKey]*passTemplate{}, colls: map[collKey]sim.Time{}, ends: map[endKey][2][]sim.Time{}}
}

// trailingWeights returns, per stage, the chunks of the weight-gradient
// passes that close its schedule program (after its last backward pass),
// computed once per schedule shape.
func (e *Estimator) trailingWeights(j Job) [][]int {
	l := j.Layout
	k := flightKey{l.Schedule, l.PP, l.VirtualStages, j.Microbatches(), 0, 0, "", false}
	e.mu.Lock()
	got, ok := e.trailing[k]
	e.mu.Unlock()
	if ok {
		return got
	}
	out := make([][]int, l.PP)
	for s := range out {
		prog := program(l.Schedule, l.PP, l.VirtualStages, k.m, s)
		for i := len(prog) - 1; i >= 0 && prog[i].weight; i-- {
			out[s] = append(out[s], prog[i].chunk)
		}
	}
	e.mu.Lock()
	e.trailing[k] = out
	e.mu.Unlock()
	return out
}

type flightKey struct {
	sched         Schedule
	p, v, m, nLay int
	// mtp and layout place the blocks on the stages (blocksOf).
	mtp    int
	layout string
	// combined: Layout.combined1F1B (one more warm-up forward pass).
	combined bool
}

type passKey struct {
	model, gpu string
	sh         model.Shard
	tpOverlap  bool
	mtp        int
}

// passTimes is, per layer kind, the time one micro-batch's forward pass and
// its backward pass (recomputation included) keep a GPU's main stream busy
// for certain: the compute kernels, and in the analytical network the
// collectives that block it.
type passTimes struct {
	fwd, bwd [model.NumLayerKinds]sim.Time
	// wgt is the weight-gradient part of bwd (model.SplitWeightGrad): what
	// a zero-bubble schedule runs apart, off the backward chain.
	wgt [model.NumLayerKinds]sim.Time
	// bin is the rest of the backward (recomputation included), priced
	// apart as the replay prices it then.
	bin [model.NumLayerKinds]sim.Time
	// held is fwd, bwd, wgt and bin (in that order) with, in the analytical
	// network, the waits for overlapped collectives: the main-stream task
	// after a compute step with overlapped collectives waits for them, and
	// they start no earlier than the compute step may (after the main-stream
	// task before it). It bounds the main stream's time over a whole step,
	// where each pass starts after the task before it; the chains of the
	// pipeline's fill and drain use the plain times above, since a pass's
	// overlapped collectives may start before its input arrives.
	held [4][model.NumLayerKinds]sim.Time
}

// inFlightLayers returns, per stage, the most layer activations its
// schedule program holds at once (Job.inFlightLayers).
func (e *Estimator) inFlightLayers(j Job) []int {
	l := j.Layout
	k := flightKey{l.Schedule, l.PP, l.VirtualStages, j.Microbatches(), j.Model.Layers, j.Model.MTPDepth, l.PipelineLayout, l.combined1F1B()}
	e.mu.Lock()
	got, ok := e.inFlight[k]
	e.mu.Unlock()
	if ok {
		return got
	}
	out := make([]int, l.PP)
	for s := range out {
		out[s] = j.inFlightLayers(stageProgram(l, k.m, s), s)
	}
	e.mu.Lock()
	e.inFlight[k] = out
	e.mu.Unlock()
	return out
}

// PeakMemory is the package's PeakMemory with e's caches.
func (e *Estimator) PeakMemory(v Valid) (Memory, int, bool, error) {
	j, err := v.get()
	if err != nil {
		return Memory{}, 0, false, err
	}
	flight := e.inFlightLayers(j)
	var peak Memory
	stage := 0
	for s := 0; s < j.Layout.PP; s++ {
		mem := j.stageMemory(s, flight[s])
		if s == 0 || mem.Peak > peak.Peak {
			peak, stage = mem, s
		}
	}
	return peak, stage, peak.Peak <= j.Cluster.GPU.HBM, nil
}

// passKeyOf returns the key j's pass times are cached under, and whether
// they may be: the collectives of the layer programs (tensor-, context- and
// expert-parallel, expert tensor-parallel) then sit inside one node at
// every stage (their groups are aligned blocks of consecutive ranks that
// divide the node), so they cost the same in every layout and cluster
// size with this shard.
func passKeyOf(j Job) (passKey, bool) {
	l := j.Layout
	gpn := j.Cluster.GPUsPerNode
	k := passKey{j.Model.Name, j.Cluster.GPU.Name, j.Shard(), l.TPOverlap, j.Model.MTPDepth}
	intra := gpn%(l.TP*max(l.CP, 1)) == 0
	if j.Model.MoE() {
		intra = intra && gpn%(max(l.EP, 1)*max(l.ETP, 1)) == 0
	}
	return k, intra
}

// tstep is one step of a layer program as the bound reads it: a compute
// step's duration, or a collective (overlapped with the compute step before
// it, or on the main stream).
type tstep struct {
	d       sim.Time
	coll    bool
	op      collective.Op
	bytes   units.Bytes
	group   groupKind
	overlap bool
}

// passTemplate is a shard's layer programs, per layer kind: forward,
// recomputation, backward, and the backward split into its weight-gradient
// and input-gradient parts. Compute steps are priced; collectives are left
// to price where the job's groups sit.
type passTemplate [model.NumLayerKinds][5][]tstep

// collKey names a program collective's price: what it moves over which
// group of which mesh on how many nodes.
type collKey struct {
	op    collective.Op
	bytes units.Bytes
	group groupKind
	sizes [6]int // tp, cp, ep, dp, pp, etp
	nodes int
}

// template returns j's pass template, computed once per shard.
func (e *Estimator) template(j Job, k passKey) (*passTemplate, error) {
	e.mu.Lock()
	got, ok := e.templates[k]
	e.mu.Unlock()
	if ok {
		return got, nil
	}
	pr, err := newPricer(j)
	if err != nil {
		return nil, err
	}
	tpl := &passTemplate{}
	conv := func(ids []stepID) []tstep {
		out := make([]tstep, len(ids))
		for i, id := range ids {
			st := &pr.steps[id]
			out[i] = tstep{d: st.d, overlap: st.overlap}
			if st.kind == model.Collective {
				sp := &pr.specs[st.spec]
				out[i] = tstep{coll: true, op: sp.op, bytes: sp.bytes, group: sp.group, overlap: st.overlap}
			}
		}
		return out
	}
	for kind, layer := range j.Model.Programs(j.Shard()) {
		ip, wp := model.SplitWeightGrad(layer.Backward)
		for i, prog := range []model.Program{layer.Forward, layer.Recompute, layer.Backward, wp, ip} {
			tpl[kind][i] = conv(pr.compile(prog))
		}
	}
	e.mu.Lock()
	e.templates[k] = tpl
	e.mu.Unlock()
	return tpl, nil
}

// passTimesOf returns the pass times of j's shard, computed once per shard
// where passKeyOf allows it, otherwise once per shard and mesh, from the
// shard's template with each collective priced once per mesh.
func (e *Estimator) passTimesOf(j Job) (*passTimes, error) {
	k, intra := passKeyOf(j)
	l := j.Layout
	sizes := [6]int{l.TP, l.CP, l.EP, l.DP, l.PP, l.ETP}
	mk := meshPassKey{k, sizes, j.Cluster.Nodes}
	if intra {
		mk = meshPassKey{pass: k} // the same on every mesh
	}
	e.mu.Lock()
	got, ok := e.passes[mk]
	e.mu.Unlock()
	if ok {
		return got, nil
	}
	tpl, err := e.template(j, k)
	if err != nil {
		return nil, err
	}
	blocking := j.Options.Network == NetworkAnalytical
	var pr *pricer
	// cost is a collective's least duration over the pipeline stages: the
	// replay prices it at each stage, where its group sits.
	cost := func(st *tstep) (sim.Time, error) {
		ck := collKey{st.op, st.bytes, st.group, sizes, j.Cluster.Nodes}
		e.mu.Lock()
		d, ok := e.colls[ck]
		e.mu.Unlock()
		if ok {
			return d, nil
		}
		if pr == nil {
			if pr, err = newPricer(j); err != nil {
				return 0, err
			}
		}
		id := pr.spec(commSpec{op: st.op, bytes: st.bytes, group: st.group})
		for s := 0; s < l.PP; s++ {
			c, err := pr.price(id, s)
			if err != nil {
				return 0, err
			}
			if t := toTime(c.Time); s == 0 || t < d {
				d = t
			}
		}
		e.mu.Lock()
		e.colls[ck] = d
		e.mu.Unlock()
		return d, nil
	}
	// busy mirrors builder.emit: compute steps, and collectives it puts on
	// the main stream (those not overlapped with the compute before them).
	// plain is their sum; held also counts, for a compute step followed by
	// overlapped collectives (on the TP stream, ring attention's on the CP
	// stream, each stream running its tasks one at a time), that the next
	// main-stream step starts no earlier than the end of the main-stream
	// step before the compute plus the longer stream's collectives.
	busy := func(steps []tstep) (plain, held sim.Time, err error) {
		floor := sim.Time(-1)
		for i := 0; i < len(steps); i++ {
			st := &steps[i]
			d := st.d
			if st.coll {
				d = 0
				if blocking {
					if d, err = cost(st); err != nil {
						return 0, 0, err
					}
				}
			}
			last := held // no later than the end of the main-stream step before
			plain += d
			held = max(held, floor) + d
			floor = -1
			if st.coll {
				continue
			}
			var tp, cp sim.Time
			for i+1 < len(steps) && steps[i+1].overlap {
				i++
				if !blocking {
					continue
				}
				c, err := cost(&steps[i])
				if err != nil {
					return 0, 0, err
				}
				if steps[i].group == groupCP {
					cp += c
				} else {
					tp += c
				}
			}
			if w := max(tp, cp); last+w > held {
				floor = last + w
			}
		}
		// A wait left at the end of the pass falls in what follows it.
		return plain, held, nil
	}
	pt := &passTimes{}
	for kind := range tpl {
		var plain, held [5]sim.Time
		for i := range tpl[kind] {
			if plain[i], held[i], err = busy(tpl[kind][i]); err != nil {
				return nil, err
			}
		}
		f, r, b, w, bi := plain[0], plain[1], plain[2], plain[3], plain[4]
		fh, rh, bh, wh, bih := held[0], held[1], held[2], held[3], held[4]
		pt.fwd[kind], pt.bwd[kind], pt.wgt[kind], pt.bin[kind] = f, r+b, w, r+bi
		pt.held[0][kind], pt.held[1][kind], pt.held[2][kind], pt.held[3][kind] = fh, rh+bh, wh, rh+bih
	}
	e.mu.Lock()
	e.passes[mk] = pt
	e.mu.Unlock()
	return pt, nil
}

// meshPassKey is what pass times depend on: the shard's programs and,
// unless passKeyOf says they sit inside a node, the mesh and cluster size
// that place their collectives.
type meshPassKey struct {
	pass  passKey
	sizes [6]int
	nodes int
}

// StepLowerBound returns a time the step Simulate reports for v is never
// below, computed without a replay. Each GPU's main stream runs its kernels
// one at a time, so over S replayed steps stage s is busy at least S·W_s,
// W_s being its passes' kernels (and, in the analytical network, the
// tensor-parallel collectives that block the stream) for every
// micro-batch, plus its optimizer step; in the analytical network W_s also
// counts the waits for overlapped collectives (tensor-, context- and
// expert-parallel) that last longer than the compute they overlap: the
// main-stream task after them waits for them, and they start no earlier
// than the main-stream task before their compute ends. Its first forward
// pass cannot start before the first micro-batch has gone forward through
// virtual stages 0…s−1, one after the other (F_s), and after its last
// backward pass that micro-batch still goes backward through virtual stages
// s−1…0 (B_s) before the optimizer barrier lets stage s run its last
// optimizer step. Every other duration (communication, contention,
// waiting) only adds. So the step is at least max over s of W_s + (F_s +
// B_s)/S: with equal stages, the compute plus the (p−1)/(v·m) share of the
// pipeline bubble. In the analytical network W_s also holds the blocking
// end-of-step collectives (stepEnd), and under ZeRO-2 and -3 the stage's
// data-parallel stream runs, one at a time, every micro-batch's gradient
// reduce-scatters (and, ZeRO-3, parameter all-gathers) of its transformer
// layers, so the step is at least their sum too. Each collective is taken
// at its least price over the stages. Slow GPUs (Job.Variation) may also
// be fast ones, so with variation the bound is 0.
func (e *Estimator) StepLowerBound(v Valid) (units.Seconds, error) {
	j, err := v.get()
	if err != nil {
		return 0, err
	}
	if j.Variation.Set() {
		return 0, nil
	}
	pt, err := e.passTimesOf(j)
	if err != nil {
		return 0, err
	}
	cm, err := kernelModel(j)
	if err != nil {
		return 0, err
	}
	l := j.Layout
	p, nv := l.PP, l.VirtualStages
	m := sim.Time(j.Microbatches())
	// Per virtual stage: one micro-batch's forward and backward busy time.
	split := l.Schedule == ZBH1
	bwdOf := func(k model.LayerKind) sim.Time {
		if split {
			return pt.bin[k] + pt.wgt[k]
		}
		return pt.bwd[k]
	}
	hbwdOf := func(k model.LayerKind) sim.Time {
		if split {
			return pt.held[3][k] + pt.held[2][k]
		}
		return pt.held[1][k]
	}
	// fwd, bwd, wgt: the plain pass times (the pipeline's chains); hfwd,
	// hbwd, hwgt: with the waits for overlapped collectives (a stage's
	// whole step).
	fwd := make([]sim.Time, p*nv)
	bwd := make([]sim.Time, p*nv)
	wgt := make([]sim.Time, p*nv)
	hfwd := make([]sim.Time, p*nv)
	hbwd := make([]sim.Time, p*nv)
	hwgt := make([]sim.Time, p*nv)
	bin2 := make([]sim.Time, p*nv) // the input-gradient part (DualPipe's split passes)
	add := func(vs int, k model.LayerKind) {
		bin2[vs] += pt.bin[k]
		fwd[vs] += pt.fwd[k]
		bwd[vs] += bwdOf(k)
		wgt[vs] += pt.wgt[k]
		hfwd[vs] += pt.held[0][k]
		hbwd[vs] += hbwdOf(k)
		hwgt[vs] += pt.held[2][k]
	}
	// The layout read once, not per virtual stage (LayersOf parses a
	// pipeline layout at each call).
	counts := j.StageLayers()
	first := 0
	for vs := range fwd {
		n := counts[vs]
		if vs == 0 {
			add(vs, model.EmbeddingLayer)
		}
		for i := 0; i < n; i++ {
			add(vs, j.Model.KindOf(first+i))
		}
		first += n
		if vs == p*nv-1 {
			for range j.Model.MTPDepth {
				add(vs, model.MTPLayer)
			}
			add(vs, model.LogitsLayer)
		}
	}
	dp, err := e.dpStream(j)
	if err != nil {
		return 0, err
	}
	endBefore, endAfter, err := e.stepEnd(j)
	if err != nil {
		return 0, err
	}
	// Under a zero-bubble schedule the backward chain carries B only, and
	// stage s may run W passes after its last B (trailing[s] of them):
	// after that B, micro-batch m−1 still goes backward through s−1…0.
	trailing := make([]sim.Time, p)
	if split {
		for s, chunks := range e.trailingWeights(j) {
			for _, c := range chunks {
				trailing[s] += hwgt[c*p+s]
			}
		}
	}
	if first != j.Model.Layers {
		return 0, fmt.Errorf("parallelism: %d layers placed of %d", first, j.Model.Layers)
	}
	steps := sim.Time(j.Training.Steps)
	sh := j.Shard()
	var best sim.Time
	var pre, post sim.Time // F_s and B_s
	for s := 0; s < p; s++ {
		if s > 0 {
			pre += fwd[s-1]
			post += bwd[s-1]
			if split {
				post -= wgt[s-1]
			}
		}
		var w sim.Time
		if l.Schedule == DualPipe {
			// Half the micro-batches through each of the two stages the
			// GPU holds, at their plain times: a pair's collectives may
			// run beside the other pass's compute (pairPasses), and a
			// backward pass may be split or not. No share of the bubble
			// is claimed.
			for c := 0; c < 2; c++ {
				vs := l.vsOf(s, c)
				w += m / 2 * (fwd[vs] + min(bwd[vs], bin2[vs]+wgt[vs]))
			}
			pre, post = 0, 0
		} else if l.combined1F1B() {
			// Megatron-Core's combined 1F1B pairs passes as DualPipe does
			// (pairPasses): a pass's all-to-alls may run beside the other
			// pass's compute, so the plain times.
			for c := 0; c < nv; c++ {
				w += m * (fwd[c*p+s] + bwd[c*p+s])
			}
		} else {
			for c := 0; c < nv; c++ {
				w += m * (hfwd[c*p+s] + hbwd[c*p+s])
			}
		}
		shard, buffer := j.optimizerShard(s, j.stageParams(s))
		t, _, _ := cm.Sum(model.OptimizerOps(shard, buffer, sh))
		w += toTime(t)
		tail := trailing[s]
		if endBefore != nil {
			// The blocking end-of-step collectives: those before the
			// barrier follow the stage's last backward, like trailing
			// weight-gradient passes.
			w += endBefore[s] + endAfter[s]
			tail += endBefore[s]
		}
		best = max(best, steps*w+pre+max(0, post-tail))
		if dp != nil {
			// The data-parallel stream runs its collectives one at a time.
			best = max(best, steps*m*dp[s])
		}
	}
	return units.Seconds(best.Seconds() / float64(steps)), nil
}

// endKey names what a job's end-of-step blocking collectives depend on.
type endKey struct {
	model, gpu     string
	nodes, v, zero int
	sizes          [6]int // tp, cp, ep, dp, pp, etp
	ogr, grads16   bool
	precision      units.Precision
}

// stepEnd returns, per stage, the collectives the main stream runs
// blocking at the end of a step (builder.build), in the analytical network
// (nil otherwise): before the optimizer barrier, the gradient reduction and
// the routed experts' when gradients are not reduced overlapped; after the
// optimizer, the distributed optimizer's parameter all-gather when it is
// not overlapped, and the routed experts' under ZeRO-1. The tied
// embedding's gradient all-reduce is left out (a part suffices).
func (e *Estimator) stepEnd(j Job) (before, after []sim.Time, err error) {
	l := j.Layout
	if j.Options.Network != NetworkAnalytical {
		return nil, nil, nil
	}
	k := endKey{j.Model.Name, j.Cluster.GPU.Name, j.Cluster.Nodes, l.VirtualStages, l.ZeRO,
		[6]int{l.TP, l.CP, l.EP, l.DP, l.PP, l.ETP}, l.OverlapGradReduce, j.Training.Grads16, j.Training.Precision}
	e.mu.Lock()
	got, ok := e.ends[k]
	e.mu.Unlock()
	if ok {
		return got[0], got[1], nil
	}
	before, after = make([]sim.Time, l.PP), make([]sim.Time, l.PP)
	var pr *pricer
	add := func(into []sim.Time, s int, sp commSpec) error {
		if sp.bytes <= 0 {
			return nil
		}
		if pr == nil {
			if pr, err = newPricer(j); err != nil {
				return err
			}
		}
		c, err := pr.price(pr.spec(sp), s)
		if err != nil {
			return err
		}
		into[s] += toTime(c.Time)
		return nil
	}
	gradOp := l.gradReduceOp()
	edp := j.Model.MoE() && j.expertShardGroup() > 1
	for s := 0; s < l.PP; s++ {
		params, experts := j.stageParams(s), j.stageExpertParams(s)
		var errs [4]error
		if l.DP > 1 && l.ZeRO < 2 && !l.OverlapGradReduce {
			errs[0] = add(before, s, commSpec{op: gradOp, bytes: units.Bytes(params * j.gradBytes()), group: groupDP})
		}
		if experts > 0 && edp && !l.OverlapGradReduce {
			errs[1] = add(before, s, commSpec{op: gradOp, bytes: units.Bytes(experts * j.gradBytes()), group: groupEDP})
		}
		if (l.ZeRO == 1 || l.ZeRO == 2) && l.DP > 1 && !l.OverlapGradReduce {
			gather, _ := j.gatherBytes(s)
			errs[2] = add(after, s, commSpec{op: collective.AllGather, bytes: gather, group: groupDP})
		}
		if experts > 0 && edp && l.ZeRO == 1 {
			_, gather := j.gatherBytes(s)
			errs[3] = add(after, s, commSpec{op: collective.AllGather, bytes: gather, group: groupEDP})
		}
		for _, err := range errs {
			if err != nil {
				return nil, nil, err
			}
		}
	}
	e.mu.Lock()
	e.ends[k] = [2][]sim.Time{before, after}
	e.mu.Unlock()
	return before, after, nil
}

// dpKey names what a job's per-micro-batch data-parallel collectives
// depend on: the model's layers, the GPU, and where the groups sit.
type dpKey struct {
	model, gpu string
	nodes      int
	sizes      [6]int // tp, cp, ep, dp, pp, etp
	precision  units.Precision
	// loops and host: ZeRO-3's per-rank host loops and the host time per
	// kernel they are priced with (zero3loops.go).
	loops bool
	host  units.Seconds
}

// dpStream returns, per stage, the time the data-parallel stream is busy
// for each micro-batch under ZeRO-2 and -3 in the analytical network (nil
// otherwise): the
// reduce-scatter of each transformer layer's gradients after its backward
// pass and, under ZeRO-3, the all-gathers of its parameters before its
// forward and its backward pass (builder.gradients and zeroGather), each
// at its least price over the stages. The embedding and output layers'
// are left out (a lower bound needs only a part).
func (e *Estimator) dpStream(j Job) ([]sim.Time, error) {
	l := j.Layout
	if l.ZeRO < 2 || l.DP < 2 || j.Options.Network != NetworkAnalytical {
		// In the flow-level network a collective's time is the transfers'
		// (not the analytical price), so only the analytical replay's is
		// known here.
		return nil, nil
	}
	k := dpKey{j.Model.Name, j.Cluster.GPU.Name, j.Cluster.Nodes, [6]int{l.TP, l.CP, l.EP, l.DP, l.PP, l.ETP}, j.Training.Precision, j.zero3Loops(), j.Training.HostIssue}
	perLayer, ok := [2][model.NumLayerKinds]sim.Time{}, false
	e.mu.Lock()
	perLayer, ok = e.dp[k]
	e.mu.Unlock()
	if !ok {
		pr, err := newPricer(j)
		if err != nil {
			return nil, err
		}
		for kind, layer := range j.Model.Programs(j.Shard()) {
			lk := model.LayerKind(kind)
			if lk == model.EmbeddingLayer || lk == model.LogitsLayer || !j.Model.Uses(lk) {
				continue
			}
			gather, rs, _, _ := pr.zero3LayerSpecs(layer)
			for i, id := range []specID{rs, gather} {
				for s := 0; s < l.PP; s++ {
					c, err := pr.price(id, s)
					if err != nil {
						return nil, err
					}
					if d := toTime(c.Time); s == 0 || d < perLayer[i][kind] {
						perLayer[i][kind] = d
					}
				}
			}
		}
		e.mu.Lock()
		e.dp[k] = perLayer
		e.mu.Unlock()
	}
	out := make([]sim.Time, l.PP)
	first := 0
	for vs, n := range j.StageLayers() {
		for i := first; i < first+n; i++ {
			kind := j.Model.KindOf(i)
			out[vs%l.PP] += perLayer[0][kind]
			if l.ZeRO >= 3 {
				out[vs%l.PP] += 2 * perLayer[1][kind]
			}
		}
		first += n
	}
	return out, nil
}
