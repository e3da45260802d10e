package parallelism

import (
	"fmt"

	"trainsim/collective"
	"trainsim/model"
	"trainsim/units"
)

// DeepSpeed's stage 3 of 2021 (v0.3.13–v0.4.x) on PyTorch ≤ 1.8 issues its
// collectives through per-rank host loops (Layout.ZeRO3RankLoops):
//
//   - a parameter gather (partition_parameters.py _allgather_param) narrows
//     the flat output buffer once per rank in Python, and c10d's list-form
//     all_gather (ProcessGroupNCCL::allgather) gathers into a flat buffer of
//     its own and copies it out with one copy_ per rank;
//   - a gradient reduce-scatter, one per parameter tensor
//     (_reduce_scatter_gradients → _reduce_scatter_gradient), takes a view
//     and a narrow of the gradient per rank, and c10d's list-form
//     reduce_scatter copies each of the N inputs into its flat buffer;
//   - tensors under stage3_param_persistence_threshold (100,000 elements by
//     default, runtime/zero/constants.py) are not released after use, so
//     no pass gathers them, but _post_step re-gathers all of them after
//     every optimizer step with _allgather_params: one coalesced list-form
//     all_gather (N copies), then for every such tensor and every rank a
//     narrow, a view, a narrow and a copy_ from Python.
//
// A view or narrow is a framework call without a kernel (compute.Params
// HostCall), a copy_ a kernel (HostIssue). The host time is charged to the
// collective it belongs to: stage 3 synchronises the device before each
// gather (torch.cuda.synchronize() in _allgather_param and
// _synchronize_communication), so the GPU does not run ahead of it.

// zero3PersistenceThreshold is DeepSpeed's default
// stage3_param_persistence_threshold (ZERO_OPTIMIZATION_PARAM_PERSISTENCE_
// THRESHOLD_DEFAULT, deepspeed/runtime/zero/constants.py at v0.3.13 and
// v0.4.0): a parameter with fewer elements stays gathered.
const zero3PersistenceThreshold = 100000

// Host calls per rank of each looped collective: framework calls without a
// kernel (views) and copy kernels.
const (
	gatherViewsPerRank  = 1 // flat_tensor.narrow
	rsViewsPerRank      = 2 // param.grad.view(-1).narrow
	persistViewsPerRank = 3 // partitions[i].narrow, replicated.view(-1).narrow
	copiesPerRank       = 1 // c10d's copy_ (or _allgather_params' copy_)
)

// zero3Loops reports whether ZeRO-3's collectives carry DeepSpeed 2021's
// per-rank host loops.
func (j Job) zero3Loops() bool {
	l := j.Layout
	return l.ZeRO3RankLoops && l.ZeRO == 3 && l.DP > 1
}

// zero3Host is the host time of the per-rank loops of one looped collective
// over n ranks: views calls without a kernel and copies kernels per rank.
func (p *pricer) zero3Host(n, views, copies int) units.Seconds {
	cp := p.cm.Params
	return units.Seconds(n) * (units.Seconds(views)*cp.HostCall + units.Seconds(copies)*cp.HostIssue)
}

// zero3Split splits a layer's tensors (counts before the TP split) into
// those gathered before each pass and the persistent ones (with the
// per-rank loops; without them every tensor is gathered): it returns the
// gathered tensors, their parameters on one TP rank, and the persistent
// tensors' count and parameters on one TP rank.
func (j Job) zero3Split(tensors []int64) (gathered []int64, gatheredParams float64, persist int, persistParams float64) {
	tp := float64(j.Layout.TP)
	gathered = make([]int64, 0, len(tensors))
	for _, n := range tensors {
		shard := float64(n) / tp
		if j.zero3Loops() && shard < zero3PersistenceThreshold {
			persist++
			persistParams += shard
			continue
		}
		gathered = append(gathered, n)
		gatheredParams += shard
	}
	return gathered, gatheredParams, persist, persistParams
}

// zero3LayerSpecs registers a layer's ZeRO-3 collectives: the gather before
// each pass (per tensor where the layer lists its tensors) and the gradient
// reduce-scatter (one per tensor with the per-rank loops, else one per
// layer). persist and persistParams are the layer's persistent tensors and
// their parameters on one TP rank (zero3Split; 0 without the loops).
func (p *pricer) zero3LayerSpecs(layer model.Layer) (gather, rs specID, persist int, persistParams float64) {
	j := p.j
	n := layer.Params
	loops := j.zero3Loops()
	rsSpec := commSpec{op: collective.ReduceScatter, bytes: units.Bytes(n * j.shardedGradBytes()), group: groupDP}
	gatherSpec := commSpec{op: collective.AllGather, bytes: units.Bytes(n * weightBytesPerParam), group: groupDP}
	if loops {
		// The gather's views come after the device is synchronised and
		// before the collective; c10d issues its copies after the NCCL
		// kernel, while it runs. The reduce-scatter's views and c10d's
		// copies into its flat input both come before the NCCL kernel.
		gatherSpec.host = p.zero3Host(j.Layout.DP, gatherViewsPerRank, 0)
		gatherSpec.hostBeside = p.zero3Host(j.Layout.DP, 0, copiesPerRank)
		rsSpec.host = p.zero3Host(j.Layout.DP, rsViewsPerRank, copiesPerRank)
	}
	if layer.Tensors != nil {
		gathered, gp, np, pp := j.zero3Split(layer.Tensors)
		persist, persistParams = np, pp
		if !loops {
			gp = n // every tensor gathered: the layer's whole shard
		}
		gatherSpec.bytes, gatherSpec.tensors, gatherSpec.shardParams = weightBytesPerParam, gathered, gp
		if loops {
			// One reduce-scatter per parameter tensor, persistent or not.
			rsSpec.bytes, rsSpec.tensors, rsSpec.shardParams = units.Bytes(j.shardedGradBytes()), layer.Tensors, n
		}
	}
	return p.spec(gatherSpec), p.spec(rsSpec), persist, persistParams
}

// zero3PersistSpec is the re-gather of the persistent tensors after the
// optimizer step: tensors of them, params parameters on one rank, gathered
// in one coalesced list-form all_gather and copied out tensor by tensor and
// rank by rank on the host.
func (p *pricer) zero3PersistSpec(tensors int, params float64) specID {
	n := p.j.Layout.DP
	sp := commSpec{op: collective.AllGather, bytes: units.Bytes(params * weightBytesPerParam), group: groupDP}
	// c10d's copies run beside the coalesced transfer; the Python loop
	// over tensors and ranks follows it (its copies need the data).
	sp.hostBeside = p.zero3Host(n, 0, copiesPerRank)
	sp.host = units.Seconds(tensors) * p.zero3Host(n, persistViewsPerRank, copiesPerRank)
	return p.spec(sp)
}

// zero3LoopsNote describes, for the report, the host time of DeepSpeed
// 2021's per-rank loops in j ("" where they do not apply): per gather and
// per reduce-scatter call, and the persistent tensors' re-gather per step.
func (j Job) zero3LoopsNote() (string, error) {
	if !j.zero3Loops() {
		return "", nil
	}
	p, err := newPricer(j)
	if err != nil {
		return "", err
	}
	n := j.Layout.DP
	gathered, persist := 0, 0
	progs := j.Model.Programs(j.Shard())
	for i := 0; i < j.Model.Layers; i++ {
		g, _, np, _ := j.zero3Split(progs[j.Model.KindOf(i)].Tensors)
		gathered += len(g)
		persist += np
	}
	g := p.zero3Host(n, gatherViewsPerRank, 0)
	copies := p.zero3Host(n, 0, copiesPerRank)
	rs := p.zero3Host(n, rsViewsPerRank, copiesPerRank)
	per := units.Seconds(persist) * p.zero3Host(n, persistViewsPerRank, copiesPerRank)
	return fmt.Sprintf("ZeRO-3 per-rank host loops (parallelism.zero3_rank_loops, DeepSpeed 2021 on PyTorch ≤ 1.8), in the DP time: over %d ranks each parameter gather costs %s of host time before its transfer and %s of copies beside it (%d gathered tensors in the transformer layers, gathered before the forward and again before the recompute and backward), each gradient reduce-scatter %s (one per parameter tensor), and the re-gather of the %d tensors under %d elements after the optimizer step %s",
		n, g, copies, gathered, rs, persist, zero3PersistenceThreshold, per), nil
}
