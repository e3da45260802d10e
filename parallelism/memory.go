package parallelism

import (
	"fmt"
	"math"

	"trainsim/model"
	"trainsim/units"
)

// Memory is the memory one GPU needs, by part.
type Memory struct {
	Weights     units.Bytes
	Gradients   units.Bytes
	Optimizer   units.Bytes
	Activations units.Bytes
	// Transient is working memory that is live only briefly: the activations
	// of the one layer being recomputed or back-propagated beyond what is
	// stored, and the fp32 logits of the output layer.
	Transient units.Bytes
	// Peak is the sum of the parts.
	Peak units.Bytes
}

// Bytes per parameter of mixed-precision Adam training (Micikevicius et al.
// 2018; Rajbhandari et al. 2020): 16-bit weights, fp32 gradient buffer (as
// Megatron-LM keeps it with --accumulate-allreduce-grads-in-fp32, which the
// 18 B/parameter of Korthikanti et al. 2022, Fig. 1 implies; 16-bit with
// Training.Grads16), and fp32 master weights plus two Adam moments.
const (
	weightBytesPerParam = 2
	gradBytesPerParam   = 4
	grad16BytesPerParam = 2
	// fp8WeightCopyBytes is the FP8 weight and its transpose that FP8
	// training keeps per linear-layer weight.
	fp8WeightCopyBytes     = 2
	optimizerBytesPerParam = 12
)

// layerActivationBytes is the activation memory one transformer layer keeps
// for one micro-batch until its backward pass, per Korthikanti et al. 2022
// (§4, Eqs. 1–5; Table 2): sbh(34 + 5as/h) without parallelism; with tensor
// parallelism sbh(10 + 24/t + 5as/(ht)); with sequence parallelism as well
// sbh/t(34 + 5as/h); selective recomputation drops the 5as/h term; full
// recomputation keeps only the layer input, 2sbh (÷t with sequence
// parallelism). Generalised to any FFN width and GQA by scaling the parts
// that grow with them.
func (j Job) layerActivationBytes() units.Bytes { return j.activationBytes(0) }

// activationBytes is layerActivationBytes for a dense layer (routed = 0) or,
// routed > 0, an MoE layer whose Model.FFNHidden stands for its experts'
// MLP width per token, routed of it the routed experts'. Selective
// recomputation with modules other than the attention core frees what
// Megatron-Core's output-discarding checkpoint drops (model/recompute.go),
// each tensor at the bytes per element this count keeps it at (2, or 1 for
// an FP8 GEMM's input):
//   - layernorm: the outputs of the norms that are modules of their own,
//     each one saved GEMM input (sbh): multi-latent attention's input norm
//     and an MoE layer's pre-MLP norm;
//   - moe_act: the routed experts' activation output, the second expert
//     GEMM's input (routed/h sbh per byte);
//   - mla_up_proj: the attention core's Q, K and V, the up-projections'
//     outputs;
//   - mlp (normal checkpointing, dense layers only): everything inside the
//     MLP but its input.
func (j Job) activationBytes(routed float64) units.Bytes {
	m, l := j.Model, j.Layout
	s, b, h := float64(m.SeqLen), float64(l.Microbatch), float64(m.Hidden)
	a := float64(m.Heads)
	t := float64(l.TP)
	sbh := s * b * h
	// Context parallelism splits every sequence over cp ranks: each keeps
	// the activations of its s/cp tokens (Megatron-Core's context
	// parallelism; flash attention only, so every term below is linear in
	// s).
	cp := float64(max(l.CP, 1))
	if l.Recompute == RecomputeFull {
		if l.SequenceParallel {
			return units.Bytes(2 * sbh / t / cp)
		}
		return units.Bytes(2 * sbh / cp)
	}
	if l.Recompute == RecomputeOpSAC {
		return j.opSACActivationBytes()
	}
	// Korthikanti et al.'s count, tensor by tensor (2-byte activations, 1-byte
	// dropout masks), in units of sbh:
	//   kept whole by every TP rank without sequence parallelism (10): the
	//   two layer-norm inputs (4), the QKV and first-MLP GEMM inputs (4), the
	//   two dropout masks after the blocks (2);
	//   split over TP ranks (24 for GPT): Q and K (4), V (2), the output
	//   projection's input (2), the MLP activation's input and output (16).
	// With g KV heads of a, K and V shrink by g/a; the MLP parts scale with
	// ffn/4h, and a gated MLP keeps three ffn-wide tensors instead of two.
	replicated := 10.0
	ffnScale := float64(m.FFNHidden) / (4 * h)
	if m.GatedMLP {
		ffnScale *= 1.5
	}
	// Q, K, V and the projection input, each 2 B per element, in units of
	// h: with head_dim ≠ h/a or latent attention they are heads × d_qk
	// (Q), kv_heads × d_qk (K), kv_heads × d_v (V; every head under latent
	// attention) and heads × d_v (projection input) wide: 1, g, g, 1 for a
	// GPT or GQA block (g = kv_heads/a).
	d, dv := float64(m.HeadDim()), float64(m.VDim())
	kvHeads := float64(m.KVHeads)
	if m.MLA() {
		kvHeads = a
		// The query and KV latents: the RMSNorm inputs and the
		// up-projections' inputs, on every TP rank.
		replicated += 4 * float64(m.QLoRARank+m.KVLoRARank) / h
	}
	qw, kw, vw, ow := a*d/h, kvHeads*d/h, kvHeads*dv/h, a*dv/h
	split := 2*qw + 2*kw + 2*vw + 2*ow + 16*ffnScale
	if j.Training.Precision == units.FP8 {
		// Transformer Engine saves the inputs of FP8 GEMMs for the weight
		// gradient in FP8, one byte instead of two: the QKV and MLP-up
		// inputs (4 → 2), the projection input (2·ow → ow) and the
		// MLP-down input (2·ffn/h → ffn/h).
		replicated -= 2
		split -= ow + float64(m.FFNHidden)/h
	}
	// Attention core: softmax output (2as²b), dropout mask (as²b) and
	// dropout output (2as²b) = 5as²b. A flash-attention kernel keeps none of
	// them, only its output (counted above) and the fp32 log-sum-exp of each
	// head's scores row for the backward pass: 4as bytes per sequence (Dao et
	// al. 2022; its dropout mask is regenerated from the RNG state).
	core := 5 * a * s / h
	if j.Training.Attention == model.AttentionFlash {
		core = 4 * a / h
	}
	mods := l.modules()
	has := func(x model.RecomputeModule) bool { return l.Recompute == RecomputeSelective && mods.Has(x) }
	if has(model.ModuleCoreAttn) {
		core = 0
	}
	in := 2.0 // bytes per element of a saved GEMM input
	if j.Training.Precision == units.FP8 {
		in = 1
	}
	if has(model.ModuleLayernorm) {
		if m.MLA() {
			replicated -= in
		}
		if routed > 0 {
			replicated -= in
		}
	}
	if has(model.ModuleMoEAct) && routed > 0 {
		split -= in * routed / h
	}
	if has(model.ModuleMLAUpProj) && m.MLA() {
		split -= 2*qw + 2*kw + 2*vw
	}
	if has(model.ModuleMLP) && routed == 0 {
		// A dense MLP checkpointed whole keeps only its input (the
		// residual stream, the norm's input, counted above): its first
		// GEMM's input and the activation's input and output go.
		replicated -= in
		mlp := 16 * ffnScale
		if j.Training.Precision == units.FP8 {
			mlp -= float64(m.FFNHidden) / h
		}
		split -= mlp
	}
	if l.SequenceParallel {
		return units.Bytes(sbh / t * (replicated + split + core) / cp)
	}
	return units.Bytes(sbh * (replicated + split/t + core/t) / cp)
}

// opSACActivationBytes is what one dense layer keeps for one micro-batch
// under torchtitan's op-level selective checkpointing (model.RecomputeOpSAC):
// the block's input (the checkpoint's input, h wide), the kept matmul
// outputs, wq's (heads·d) and wv's (kv_heads·d), and with a gated MLP w1's
// (ffn) and w2's (h), without the gate w1's only, and the flash-attention
// kernel's output (heads·d_v) and fp32 log-sum-exp (4 B per head and
// token); every tensor of the 16-bit compute dtype (2 B per element, also
// under FP8, whose matmuls write 16-bit outputs). With tensor parallelism
// the head- and ffn-wide tensors are split over the TP ranks and the two
// row-parallel matmuls' outputs are partial sums on every rank; their
// reduce-scatter outputs (saved too) are left out. Per token, a Llama 3.1
// 8B layer: 2·(4h + kv_heads·d + ffn) + 4·heads = 63,616 B, against the
// 36·h = 147,456 B of selective recomputation's count.
func (j Job) opSACActivationBytes() units.Bytes {
	m, l := j.Model, j.Layout
	s, b, h := float64(m.SeqLen), float64(l.Microbatch), float64(m.Hidden)
	t := float64(l.TP)
	cp := float64(max(l.CP, 1))
	a, kv := float64(m.Heads), float64(m.KVHeads)
	d, dv := float64(m.HeadDim()), float64(m.VDim())
	const e = 2.0
	replicated := e * h // the block input
	split := e*(a*d+kv*d+a*dv) + 4*a
	if m.GatedMLP {
		replicated += e * h // w2's output
	}
	split += e * float64(m.FFNHidden) // w1's output
	if l.SequenceParallel {
		return units.Bytes(s * b * (replicated + split) / t / cp)
	}
	return units.Bytes(s * b * (replicated + split/t) / cp)
}

// stageLinearWeights returns the linear-layer weights one GPU of stage s
// holds: those of its layers' own (attention, dense MLP, shared experts,
// router, split over TP; the MTP modules' projections on the last stage)
// and its routed experts' (Experts/(EP·ETP) of them). FP8 training keeps
// these in FP8 as well (Job.stageMemory), and with Training.FP8Param only
// in FP8.
func (j Job) stageLinearWeights(s int) (dense, experts float64) {
	l := j.Layout
	layers := j.stageLayers(s)
	moe := j.stageMoELayers(s)
	linear := float64(layers-moe)*float64(j.Model.LinearWeights()) + float64(moe)*float64(j.Model.MoELinearWeights())
	if l.holdsLast(s) {
		// The MTP modules' projections M (2h × h each).
		linear += float64(j.Model.MTPDepth) * 2 * float64(j.Model.Hidden) * float64(j.Model.Hidden)
	}
	dense = linear / float64(l.TP)
	experts = float64(moe) * float64(j.Model.ExpertLinearWeights()) / float64(max(l.EP, 1)*max(l.ETP, 1))
	return dense, experts
}

// gatherBytes returns what the data-parallel parameter all-gather of stage
// s moves (ZeRO-1/2: the updated weights after the optimizer step): the
// stage's own parameters and its routed experts', 16-bit, and with FP8
// parameters (Training.FP8Param, Megatron-Core's --fp8-param-gather:
// "perform the param all-gather in fp8") the linear weights at one byte.
func (j Job) gatherBytes(s int) (params, experts units.Bytes) {
	p, e := j.stageParams(s)*weightBytesPerParam, j.stageExpertParams(s)*weightBytesPerParam
	if j.Training.Precision == units.FP8 && j.Training.FP8Param {
		dense, ex := j.stageLinearWeights(s)
		p -= (weightBytesPerParam - 1) * dense
		e -= (weightBytesPerParam - 1) * ex
	}
	return units.Bytes(p), units.Bytes(e)
}

// stageParams returns the parameters held by one GPU of pipeline stage s:
// its layers' share under tensor parallelism, plus the embedding table on the
// first stage and its tied copy on the last.
func (j Job) stageParams(s int) float64 {
	m, l := j.Model, j.Layout
	layers := j.stageLayers(s)
	p := float64(layers) * float64(m.LayerParams()) / float64(l.TP)
	if m.MoE() {
		// An MoE layer's own dense part (attention, router, shared
		// experts) instead of a dense layer's; its routed experts are
		// stageExpertParams.
		moe := j.stageMoELayers(s)
		p = (float64(layers-moe)*float64(m.LayerParams()) + float64(moe)*float64(m.MoEDenseParams())) / float64(l.TP)
	}
	last := l.holdsLast(s)
	if last {
		// The multi-token-prediction modules' norms and projection (their
		// blocks are among the stage's layers, stageLayers).
		p += float64(m.MTPDepth) * float64(m.MTPOwnParams()) / float64(l.TP)
	}
	emb := float64(m.Vocab) * float64(m.Hidden) / float64(l.TP)
	if l.holds(s, 0) {
		// The token table and, with learned absolute positions only, the
		// position table (EmbeddingParams).
		p += emb + float64(m.EmbeddingParams()-int64(m.Vocab)*int64(m.Hidden))
	}
	if last && l.PP > 1 {
		p += emb
	}
	return p
}

// stageMoELayers returns how many of stage s's transformer blocks (over
// all its chunks, the MTP modules' included) are MoE blocks.
func (j Job) stageMoELayers(s int) int {
	if !j.Model.MoE() {
		return 0
	}
	n := 0
	first := 0
	var counts []int
	if j.Layout.PipelineLayout != "" {
		counts = j.StageLayers()
	}
	last := j.Layout.PP*j.Layout.VirtualStages - 1
	for vs := 0; vs <= last; vs++ {
		var k int
		if counts != nil {
			k = counts[vs]
		} else {
			k = j.evenLayersOf(vs)
		}
		if j.Layout.holds(s, vs) {
			for i := first; i < first+k; i++ {
				if j.Model.KindOf(i).MoE() {
					n++
				}
			}
			if vs == last && j.Model.MTPBlockKind().MoE() {
				n += j.Model.MTPDepth
			}
		}
		first += k
	}
	return n
}

// stageExpertParams returns the routed experts' parameters one GPU of stage
// s holds: Experts/EP of each of its MoE layers, each split over ETP.
func (j Job) stageExpertParams(s int) float64 {
	return float64(j.stageMoELayers(s)) * float64(j.Model.ExpertParams()) / float64(max(j.Layout.EP, 1)*max(j.Layout.ETP, 1))
}

// expertShardGroup is the expert data-parallel degree of the expert
// sub-mesh, GPUs/(ETP·EP·PP): what the routed experts' gradients are
// reduced over and the distributed optimizer shards their state over
// (Megatron-Core's expert data-parallel group).
func (j Job) expertShardGroup() int {
	l := j.Layout
	return l.TP * max(l.CP, 1) * l.DP / (max(l.ETP, 1) * max(l.EP, 1))
}

// shardGroup is the size of the group a sharded optimizer (ZeRO ≥ 1) splits
// its state over: the data-parallel group, joined with the context-parallel
// one (Megatron-Core's distributed optimizer shards over the data-parallel
// group with CP, the group its gradients are reduced over).
func (j Job) shardGroup() int { return j.Layout.DP * max(j.Layout.CP, 1) }

// gradBytes is the size of one parameter's gradient in the gradient buffer
// and in the data-parallel reduction.
func (j Job) gradBytes() float64 {
	if j.Training.Grads16 {
		return grad16BytesPerParam
	}
	return gradBytesPerParam
}

// shardedGradBytes is what ZeRO-2/3 reduce-scatter per parameter after
// each micro-batch's backward pass: the 16-bit gradients, before the fp32
// optimizer update of the local shard, as DeepSpeed reduces them; fp32
// with Layout.ZeROFP32Reduce (PyTorch FSDP's reduce_dtype float32).
func (j Job) shardedGradBytes() float64 {
	if j.Layout.ZeROFP32Reduce {
		return gradBytesPerParam
	}
	return grad16BytesPerParam
}

// stageMemory returns the memory of one GPU of stage s, holding the
// activations of inFlightLayers layer passes at once (maxInFlightLayers).
func (j Job) stageMemory(s, inFlightLayers int) Memory {
	l := j.Layout
	params := j.stageParams(s)
	dp := float64(j.shardGroup())
	weights := params * weightBytesPerParam
	if j.Training.Precision == units.FP8 {
		// Transformer Engine keeps each linear weight cast to FP8, and its
		// transpose for the backward GEMMs, across the micro-batches of a step.
		dense, experts := j.stageLinearWeights(s)
		weights += fp8WeightCopyBytes * (dense + experts)
		if j.Training.FP8Param {
			// FP8 parameters: the linear weights have no 16-bit copy
			// (the routed experts' is added below, and taken off here).
			weights -= weightBytesPerParam * (dense + experts)
		}
	}
	mem := Memory{
		Weights:   units.Bytes(weights),
		Gradients: units.Bytes(params * j.gradBytes()),
		Optimizer: units.Bytes(params * optimizerBytesPerParam),
	}
	if l.ZeRO >= 1 {
		mem.Optimizer /= units.Bytes(dp * float64(j.copies()))
	}
	if experts := j.stageExpertParams(s); experts > 0 {
		// The routed experts: Experts/EP per rank, their optimizer state
		// sharded over the expert data-parallel group under ZeRO-1 (MoE
		// allows ZeRO ≤ 1); their FP8 copies are counted above.
		mem.Weights += units.Bytes(experts * weightBytesPerParam)
		mem.Gradients += units.Bytes(experts * j.gradBytes())
		opt := experts * optimizerBytesPerParam
		if l.ZeRO >= 1 {
			opt /= float64(j.expertShardGroup() * j.copies())
		}
		mem.Optimizer += units.Bytes(opt)
		mem.Peak = 0
	}
	if l.ZeRO >= 2 {
		mem.Gradients /= units.Bytes(dp)
	}
	if l.ZeRO >= 3 {
		mem.Weights /= units.Bytes(dp)
		// Two layers' parameters are gathered at a time (the one running
		// and the one prefetched).
		mem.Transient += units.Bytes(2 * float64(j.Model.LayerParams()) / float64(l.TP) * weightBytesPerParam)
	}
	act := j.stageLayerActivation(s)
	mem.Activations = units.Bytes(float64(inFlightLayers)) * act
	e := j.Training.Precision.ElementBytes()
	sbh := units.Bytes(float64(j.Model.SeqLen/max(l.CP, 1)*l.Microbatch*j.Model.Hidden)) * e
	if l.Recompute != RecomputeNone {
		// The layer being recomputed holds its full activations once;
		// under selective recomputation of output-discarding modules
		// only, what they freed of one layer, restored before its
		// backward pass.
		full := j
		full.Layout.Recompute = RecomputeNone
		if l.Recompute == RecomputeSelective && !l.modules().Has(model.ModuleCoreAttn) {
			mem.Transient += full.stageLayerActivation(s) - act
		} else {
			mem.Transient += full.layerActivationBytes()
		}
	}
	if l.holdsLast(s) {
		// The loss's working copies of the logits over this rank's
		// vocabulary slice (lossBytesPerLogit), and the final layer norm's
		// input; with multi-token prediction, each MTP module's logits too
		// (the main loss's softmax is kept for its backward while the
		// modules run their forward).
		heads := float64(1 + j.Model.MTPDepth)
		mem.Transient += units.Bytes(heads*j.lossBytesPerLogit()*float64(j.Model.SeqLen/max(l.CP, 1)*l.Microbatch)*float64(j.Model.Vocab)/float64(l.TP)) + sbh
		// An MTP module keeps, beyond its block's activations (counted
		// with the stage's layers), the inputs of its two norms, the
		// concatenation that is the projection's input (2h) and the
		// output norm's input: 5 sbh, whatever the recomputation (the
		// block is what is recomputed). Counted for one micro-batch in
		// flight, as the last stage of 1F1B holds.
		mem.Activations += units.Bytes(5 * float64(j.Model.MTPDepth) * float64(sbh))
	}
	mem.Activations += j.keptOutputBytes(s)
	mem.Peak = mem.Weights + mem.Gradients + mem.Optimizer + mem.Activations + mem.Transient
	return mem
}

// keptOutputBytes is what stage s holds, with Training.PPKeepOutputs and
// pp > 1, of its stage outputs kept until the step ends: for each of its
// virtual stages, every micro-batch's output, appended to the stage's
// output_chunks in forward_one_chunk and cleared only by the next step's
// clear_runtime_states (torch/distributed/pipelining/stage.py and
// schedules.py as of pytorch/pytorch PR #138504, 2024-10-21, which
// detaches the last stage's outputs after its backward but keeps them for
// the step's merged return, to PR #153383, 2025-05-13, which keeps them on
// the last stage only). A virtual stage's output is the micro-batch's
// hidden states, [mb, s/cp, h] split over tp under sequence parallelism;
// the last virtual stage's is the logits, [mb, s/cp, vocab/tp]; both
// 16-bit (2 B: the output layer is left in bf16 under FP8, torchao's
// Float8 skipping it as torchtitan converts the model). The count is the
// step's end; a stage's activation peak comes after its last forward in
// 1F1B once micro-batches ≥ pp, so all of them are counted.
func (j Job) keptOutputBytes(s int) units.Bytes {
	m, l := j.Model, j.Layout
	if !j.Training.PPKeepOutputs || l.PP < 2 {
		return 0
	}
	tokens := float64(m.SeqLen/max(l.CP, 1)) * float64(l.Microbatch)
	hidden := tokens * float64(m.Hidden) * keptOutputBytesPerElement
	if l.SequenceParallel {
		hidden /= float64(l.TP)
	}
	logits := tokens * float64(m.Vocab) / float64(l.TP) * keptOutputBytesPerElement
	last := l.PP*l.VirtualStages - 1
	total := 0.0
	for c := 0; c < l.ChunksPerGPU(); c++ {
		if l.vsOf(s, c) == last {
			total += logits
		} else {
			total += hidden
		}
	}
	return units.Bytes(total * float64(j.Microbatches()))
}

// keptOutputBytesPerElement is the 16-bit stage output's element size.
const keptOutputBytesPerElement = 2

// Bytes per element of the [tokens, vocabulary/tp] logits that the loss
// holds at once on the last pipeline stage.
const (
	// fusedLossBytesPerLogit: the fp32 logits of a fused vocab-parallel
	// cross-entropy (Megatron-Core's), which works on them in place.
	fusedLossBytesPerLogit = 4
	// eagerLossBytesPerLogit: PyTorch's eager cross_entropy on the fp32
	// upcast (log_softmax, then nll_loss: aten/src/ATen/native/LossNLL.cpp
	// cross_entropy_loss_symint, pytorch/pytorch@0321fa77). Its peak is at
	// the start of the backward pass: the fp32 log-probabilities
	// log_softmax saved, the dense fp32 gradient nll_loss's backward writes
	// (cuda/Loss.cu nll_loss_backward_out_cuda: zeros of the input's shape,
	// −1/N at each label), and the fp32 gradient log_softmax's backward
	// writes from them (4 + 4 + 4). The forward holds less: the 16-bit
	// logits, their fp32 copy and the log-probabilities (2 + 4 + 4); the
	// fp32 copy is not saved, and torchtitan frees the 16-bit logits before
	// the backward (train.py @9dec370: del pred).
	eagerLossBytesPerLogit = 12
	// eagerLossParallelBytesPerLogit: the same loss split over the
	// tensor-parallel ranks' vocabulary shards by PyTorch's loss_parallel
	// (torch/distributed/tensor/parallel/loss.py @02eef6b8, which torchtitan
	// enables whenever tp > 1): its backward fuses nll_loss's and log_softmax's
	// as (zeros_like(x) with −1 at the labels + exp(x)) × grad, holding the
	// saved log-probabilities, the zeros, exp(x) and their sum, then the
	// product (4 × 4).
	eagerLossParallelBytesPerLogit = 16
)

// lossBytesPerLogit is the bytes per element of this rank's logits slice
// that the loss holds at its peak: fusedLossBytesPerLogit, or with
// Training.EagerCrossEntropy eagerLossBytesPerLogit
// (eagerLossParallelBytesPerLogit when tp > 1).
func (j Job) lossBytesPerLogit() float64 {
	switch {
	case !j.Training.EagerCrossEntropy:
		return fusedLossBytesPerLogit
	case j.Layout.TP > 1:
		return eagerLossParallelBytesPerLogit
	}
	return eagerLossBytesPerLogit
}

// stageLayerActivation is the activation memory one layer of stage s keeps
// for one micro-batch, averaged over the stage's dense and MoE layers.
func (j Job) stageLayerActivation(s int) units.Bytes {
	act := j.layerActivationBytes()
	if moe := j.stageMoELayers(s); moe > 0 {
		// An MoE layer keeps, per token, the MLP activations of top_k ×
		// skew routed experts plus the shared experts, each ExpertFFN
		// wide: Korthikanti et al.'s count with that MLP width. The
		// permuted token copies beyond the one input the count has, and
		// the router's logits, are left out. The stage's layers are
		// averaged (in-flight passes count layers, not kinds).
		mj := j
		skew := max(j.Layout.Skew, 1)
		if cf := j.Layout.CapacityFactor; cf > 0 {
			skew = min(skew, cf)
		}
		mj.Model.FFNHidden = int(math.Round((float64(j.Model.TopK)*skew + float64(j.Model.SharedExperts)) * float64(j.Model.ExpertFFN())))
		routed := float64(j.Model.TopK) * skew * float64(j.Model.ExpertFFN())
		layers := j.stageLayers(s)
		act = units.Bytes((float64(layers-moe)*float64(act) + float64(moe)*float64(mj.activationBytes(routed))) / float64(layers))
	}
	return act
}

// infeasibleMemory returns why mem does not fit in hbm, or "".
func infeasibleMemory(stage int, mem Memory, hbm units.Bytes) string {
	if mem.Peak <= hbm {
		return ""
	}
	return fmt.Sprintf("out of memory: pipeline stage %d needs %s per GPU (weights %s, gradients %s, optimizer %s, activations %s, transient %s), %s more than the %s of HBM",
		stage, mem.Peak, mem.Weights, mem.Gradients, mem.Optimizer, mem.Activations, mem.Transient, mem.Peak-hbm, hbm)
}
