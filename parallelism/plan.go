package parallelism

import (
	"fmt"

	"trainsim/collective"
	"trainsim/model"
	"trainsim/units"
)

// plan is a job's step, priced and indexed: the compiled layer programs and
// the collectives the layout adds around them. It is computed once per job
// (newPlan) and read by emission.
type plan struct {
	layers [model.NumLayerKinds]layerSteps
	// ppSend is a pipeline send to the next virtual stage; ppBack the same
	// to the previous one.
	ppSend, ppBack specID
	// Per stage: the blocking end-of-step gradient reduction, the
	// distributed optimizer's blocking parameter all-gather, the tied
	// embedding's gradient all-reduce between the first and last stage
	// (-1 where there is none), and the optimizer step.
	gradReduce, paramGather, embGrad []specID
	optimizer                        []stepID
	// expertGrad and expertGather are, per stage, the blocking gradient
	// reduction and (ZeRO-1) parameter all-gather of the routed experts
	// over the expert data-parallel group; -1 where the stage has none.
	expertGrad, expertGather []specID
	// persistGather is, per stage, ZeRO-3's re-gather of the tensors it
	// keeps gathered, after the optimizer step (Layout.ZeRO3RankLoops;
	// -1 where there is none).
	persistGather []specID
}

// DispatchSync is the host's wait before each MoE layer's dispatch, per
// layer and forward pass (model.Config.DispatchSync priced on j's kernel
// model: the GPU idle while the host waits for the token counts and issues
// the dispatch; docs/model.md §7.47); 0 for a dense model.
func (j Job) DispatchSync() (units.Seconds, error) {
	if !j.Model.MoE() {
		return 0, nil
	}
	cm, err := kernelModel(j)
	if err != nil {
		return 0, fmt.Errorf("dispatch sync: %w", err)
	}
	t, _, _ := cm.Sum([]model.Op{j.Model.DispatchSync(j.Shard())})
	return t, nil
}

// Shard is how the job splits one layer's work over its GPUs.
func (j Job) Shard() model.Shard {
	l := j.Layout
	return model.Shard{TP: l.TP, Microbatch: l.Microbatch, SequenceParallel: l.SequenceParallel,
		Attention: j.Training.Attention, FlashKernel: j.Training.FlashKernel, Precision: j.Training.Precision, FP8Recipe: j.Training.FP8Recipe,
		UnfusedGradAccum: j.Training.UnfusedGradAccum, Grads16: j.Training.Grads16, GradAccumCast: j.Training.GradAccumCast, Eager: j.Training.Eager,
		Recompute: model.Recompute(l.Recompute), Modules: l.modules(), CP: l.CP, PP: l.PP, EP: l.EP, Skew: l.Skew,
		ETP: l.ETP, CapacityFactor: l.CapacityFactor, MoEOverlap: l.MoEOverlap, DispatchFP8: l.DispatchFP8, FlexDispatch: l.Flex(), MegatronKernels: j.Training.MegatronElementwise, AsyncDgrad: l.AsyncTPAllReduce}
}

// modules is the set of modules selective recomputation re-runs; a list
// that does not parse (refused by Validate) is the default set.
func (l Layout) modules() model.Modules {
	m, err := model.ParseModules(l.RecomputeModules)
	if err != nil {
		return 0
	}
	return m
}

// gradReduceOp is the data-parallel gradient reduction: an all-reduce, or
// under ZeRO ≥ 1 a reduce-scatter (each rank keeps its shard), except that
// ZeRO-1 with ZeRO1AllReduce all-reduces.
func (l Layout) gradReduceOp() collective.Op {
	if l.ZeRO >= 1 && !(l.ZeRO == 1 && l.ZeRO1AllReduce) {
		return collective.ReduceScatter
	}
	return collective.AllReduce
}

// newPlan compiles j's layer programs and the layout's collectives into p and
// prices every collective once at every stage, so that a bad placement
// surfaces here as an error rather than inside the replay.
func newPlan(p *pricer) (*plan, error) {
	j := p.j
	l := j.Layout
	sh := j.Shard()
	pl := &plan{}
	gradOp := l.gradReduceOp()
	var up []specID // priced up front at every stage
	for kind, layer := range j.Model.Programs(sh) {
		if !j.Model.Uses(model.LayerKind(kind)) {
			continue // a dense model has no MoE layer, a model without MTP or windows none of those
		}
		ls := layerSteps{
			kind: model.LayerKind(kind),
			fwd:  p.compile(layer.Forward),
			bwd:  p.compile(layer.Backward),
			rec:  p.compile(layer.Recompute),
			tied: layer.Tied,
		}
		if l.Schedule == ZBH1 || l.Schedule == DualPipe {
			in, w := model.SplitWeightGrad(layer.Backward)
			ls.bIn, ls.wgt = p.compile(in), p.compile(w)
		}
		n := layer.Params
		ls.gradReduce = p.spec(commSpec{op: gradOp, bytes: units.Bytes(n * j.gradBytes()), group: groupDP})
		ls.gather = p.spec(commSpec{op: collective.AllGather, bytes: units.Bytes(n * weightBytesPerParam), group: groupDP})
		// ZeRO-3 (DeepSpeed) gathers each parameter tensor with its own
		// call; with its 2021 per-rank loops the small tensors persist and
		// each gradient tensor is reduce-scattered on its own.
		ls.zeroGather, ls.shardedRS, ls.persist, ls.persistParams = p.zero3LayerSpecs(layer)
		ls.zeroGatherPerLayer = layer.Tensors != nil
		if !ls.zeroGatherPerLayer && !j.zero3Loops() {
			ls.zeroGather = ls.gather
		}
		for _, ids := range [][]stepID{ls.fwd, ls.bwd, ls.rec, ls.bIn, ls.wgt} {
			for _, id := range ids {
				if p.steps[id].kind == model.Collective {
					up = append(up, p.steps[id].spec)
				}
			}
		}
		up = append(up, ls.zeroGather, ls.shardedRS, ls.gradReduce, ls.gather)
		ls.expertGrad = -1
		if layer.ExpertParams > 0 {
			// The routed experts' gradients, over the expert data-parallel
			// group (the expert sub-mesh's dp).
			ls.expertGrad = p.spec(commSpec{op: gradOp, bytes: units.Bytes(layer.ExpertParams * j.gradBytes()), group: groupEDP})
			up = append(up, ls.expertGrad)
		}
		pl.layers[kind] = ls
	}

	e := j.Training.Precision.ElementBytes()
	act := units.Bytes(float64(l.Microbatch*j.Model.SeqLen/max(l.CP, 1)*j.Model.Hidden)) * e
	send := commSpec{op: collective.SendRecv, group: groupPP}
	if l.PP > 1 {
		// Megatron's scatter/gather optimisation: each TP rank sends its
		// 1/t slice; the receiver all-gathers it over NVLink (not needed
		// with sequence parallelism, where activations are already split).
		// Without it every TP rank sends the whole activation.
		send.bytes = act / units.Bytes(l.TP)
		if l.TP > 1 && !l.SequenceParallel {
			if l.NoPPScatterGather {
				send.bytes = act
			} else {
				send.gatherAfter = act
			}
		}
	}
	pl.ppSend = p.spec(send)
	send.backward = true
	pl.ppBack = p.spec(send)

	embParams := float64(j.Model.Vocab) * float64(j.Model.Hidden) / float64(l.TP)
	pl.gradReduce = make([]specID, l.PP)
	pl.paramGather = make([]specID, l.PP)
	pl.embGrad = make([]specID, l.PP)
	pl.optimizer = make([]stepID, l.PP)
	for s := 0; s < l.PP; s++ {
		params := j.stageParams(s)
		shard, buffer := j.optimizerShard(s, params)
		t, _, _ := p.cm.Sum(model.OptimizerOps(shard, buffer, sh))
		pl.optimizer[s] = p.computeStep(toTime(t))
		pl.gradReduce[s] = p.spec(commSpec{op: gradOp, bytes: units.Bytes(params * j.gradBytes()), group: groupDP})
		gather, expertGather := j.gatherBytes(s)
		pl.paramGather[s] = p.spec(commSpec{op: collective.AllGather, bytes: gather, group: groupDP})
		pl.embGrad[s] = -1
		pl.expertGrad = append(pl.expertGrad, -1)
		pl.expertGather = append(pl.expertGather, -1)
		if experts := j.stageExpertParams(s); experts > 0 {
			pl.expertGrad[s] = p.spec(commSpec{op: gradOp, bytes: units.Bytes(experts * j.gradBytes()), group: groupEDP})
			pl.expertGather[s] = p.spec(commSpec{op: collective.AllGather, bytes: expertGather, group: groupEDP})
			up = append(up, pl.expertGrad[s], pl.expertGather[s])
		}
		if l.PP > 1 && (s == 0 || s == l.PP-1) {
			pl.embGrad[s] = p.spec(commSpec{op: collective.AllReduce, bytes: units.Bytes(embParams * j.gradBytes()), group: groupEmb})
		}
	}
	pl.persistGather = make([]specID, l.PP)
	for s := range pl.persistGather {
		pl.persistGather[s] = -1
	}
	if j.zero3Loops() {
		tensors, params := make([]int, l.PP), make([]float64, l.PP)
		first := 0
		for vs, n := range j.StageLayers() {
			for i := first; i < first+n; i++ {
				ls := &pl.layers[j.Model.KindOf(i)]
				tensors[vs%l.PP] += ls.persist
				params[vs%l.PP] += ls.persistParams
			}
			first += n
		}
		for s := range pl.persistGather {
			if tensors[s] > 0 {
				pl.persistGather[s] = p.zero3PersistSpec(tensors[s], params[s])
				up = append(up, pl.persistGather[s])
			}
		}
	}
	for s := 0; s < l.PP; s++ {
		for _, id := range append(up, pl.gradReduce[s], pl.paramGather[s]) {
			if p.specs[id].bytes > 0 {
				if _, err := p.price(id, s); err != nil {
					return nil, err
				}
			}
		}
	}
	return pl, nil
}

// optimizerShard returns the parameters stage s's optimizer step updates on
// one GPU and the gradients it reads, of the stage's params (stageParams).
func (j Job) optimizerShard(s int, params float64) (shard, buffer float64) {
	l := j.Layout
	shard = params
	// Under DualPipe a sharded optimizer splits the state of both copies
	// of a parameter over the ranks that hold them (Job.copies).
	copies := 1
	if l.ZeRO >= 1 {
		copies = j.copies()
		shard /= float64(j.shardGroup() * copies)
	}
	buffer = params // gradients held: all of the stage's, sharded too under ZeRO 2–3
	if l.ZeRO >= 2 {
		buffer = shard
	}
	if experts := j.stageExpertParams(s); experts > 0 {
		shard += experts / float64(j.expertShardGroup()*copies)
		buffer += experts
	}
	return shard, buffer
}
