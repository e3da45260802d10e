package model

import (
	"fmt"
	"math"
	"slices"

	"trainsim/units"
)

// OpClass says which unit of the GPU an operation keeps busy.
type OpClass uint8

// The classes of operations.
const (
	// GEMM is a (batched) matrix multiplication on the tensor cores.
	GEMM OpClass = iota
	// Memory is an element-wise or reduction kernel bound by HBM bandwidth
	// (layer norm, softmax, dropout, GeLU, residual adds, the optimizer).
	Memory
	// FlashAttention is a fused attention kernel: tensor-core work that never
	// writes the s×s score matrix to HBM.
	FlashAttention
	// SkinnyGEMM is a matrix multiplication with a few rows (a decode
	// iteration's batch of tokens against a weight matrix), which
	// libraries run as split-K GEMV-style kernels that stream the weights:
	// priced as a roofline, no tile quantization.
	SkinnyGEMM
	// HostSync is no kernel: the host blocks until the GPU has produced
	// values it needs on the host (a device-to-host copy and an event
	// synchronisation), then issues the calls that follow. The GPU runs
	// nothing of it: the kernel model prices it at zero and the host issue
	// bound (compute.Model.SumHost) at Op.Wait plus Op.HostCalls calls, so
	// a step of it alone is time the GPU waits for its host.
	HostSync
)

// Op is one kernel as it runs on one GPU, after the parallel split.
type Op struct {
	Name  string
	Class OpClass
	// GEMM shape: Batch independent products of an M×K by a K×N matrix.
	Batch, M, N, K int
	// FLOPs is the arithmetic work; for a GEMM 2·Batch·M·N·K.
	FLOPs units.FLOPs
	// Bytes is the HBM traffic (read plus written).
	Bytes units.Bytes
	// Causal marks a flash-attention kernel that skips the masked half.
	Causal bool
	// Window, on a flash-attention kernel over the whole sequence (M = N =
	// s), is the sliding window it computes (keys per query, the query
	// itself included; 0: none): FLOPs then count the window's (query,
	// key) pairs, and the kernel model prices the tiles the kernel runs
	// (model.WindowTiles).
	Window int
	// Backward marks a flash-attention backward kernel, whose tiles
	// differ from the forward's.
	Backward bool
	// Linear marks the GEMMs of linear layers (projections, MLP), the ones
	// FP8 training (Transformer Engine) runs in FP8; attention products and
	// the output layer stay in 16-bit.
	Linear bool
	// WeightGrad marks the kernels of the weight gradient (a linear layer's
	// wgrad GEMM and its accumulation into the gradient buffer, the
	// embedding table's gradient): what a zero-bubble schedule's W pass
	// runs apart from the input gradient (B).
	WeightGrad bool
	// Launches is how many kernels the host issues for this op (0 counts as
	// one). A grouped expert GEMM is Batch launches: Megatron-Core's
	// TEGroupedMLP (megatron/core/transformer/moe/experts.py) runs the
	// local experts through Transformer Engine's GroupedLinear, whose
	// general_grouped_gemm calls nvte_multi_stream_cublas_gemm, one cuBLASLt
	// GEMM per expert spread over a few streams
	// (transformer_engine/pytorch/module/grouped_linear.py,
	// transformer_engine/common/gemm/cublaslt_gemm.cu). Only the host issue
	// bound (compute.Model.SumHost) reads it.
	Launches int
	// IssueEach is the host time to issue each of its launches where it
	// differs from the GPU family's per-kernel cost (compute.Params
	// HostIssue): 0 means that default. Only the host issue bound reads it.
	IssueEach units.Seconds
	// HostCalls is how many framework calls the host makes for this op
	// that launch no kernel (compute.Params.HostCall each): after a
	// weight-gradient GEMM, one per parameter tensor it produces (see
	// dgradWgrad). Only the host issue bound reads it.
	HostCalls int
	// Wait, on a HostSync op, is how long the host blocks before it can
	// issue anything more: the device-to-host copies it waits for.
	Wait units.Seconds
	// Eager marks a kernel PyTorch itself launches for one tensor
	// operation (an ATen element-wise kernel, a reduction or a copy) where
	// the framework runs no fused kernel of its own: the attention dropout
	// of the unfused core and the kernels of megatronKernels. The kernel
	// model prices it at compute.Params.EagerHBMFraction where that is set
	// (training.eager_hbm_fraction), else as any memory-bound kernel.
	Eager bool
	// Slowdown is a fraction of the kernel's priced time it takes more:
	// a fused attention kernel that applies dropout (AttnDropoutCost).
	// Only the flash-attention class reads it.
	Slowdown float64
	// FA2 marks a flash-attention kernel that runs FlashAttention-2
	// (Shard.FlashKernel = FlashFA2) instead of the family's fused kernel:
	// the kernel model prices it at FlashAttention-2's measured share of
	// the fused kernel's rate (compute.Params.FA2Fwd, FA2Bwd). Only the
	// flash-attention class reads it.
	FA2 bool
}

// AttnDropoutCost is the share of a fused attention kernel's time that
// dropout on its probabilities adds: cuDNN's fused attention through
// Transformer Engine, forward plus backward, H200, sbhd, head_dim 128,
// 0.594 ms without dropout and 0.614 ms with p = 0.1
// (NVIDIA/TransformerEngine issue #3312): +3.4%. The random numbers are
// drawn inside the kernel (Philox), so the cost does not depend on p > 0.
// docs/model.md §7.28.
const AttnDropoutCost = 0.614/0.594 - 1

// GroupedGEMMIssue is the host time per expert GEMM of Transformer
// Engine's grouped GEMM (GroupedLinear → general_grouped_gemm →
// nvte_multi_stream_cublas_gemm, one cuBLASLt call per expert spread over
// a few streams): TransformerEngine PR #3134 (2026-06, "Single-launch
// CUTLASS grouped GEMM for per-tensor NVFP4", benchmarks/linear/
// benchmark_grouped_linear.py on SM100) times that multi-stream path at
// 0.267 ms for 8 experts of 128 tokens (N = K = 2048, operands prepared,
// GEMM only) against 0.069 ms for one CUTLASS kernel doing the same eight
// products: the per-expert calls add (0.267 − 0.069)/8 ≈ 25 µs each beyond
// the GEMM work. It is a host-side cost (the cuBLASLt call per expert and
// the stream hand-offs), taken as the same on every GPU as HostIssue is.
const GroupedGEMMIssue = 25 * units.Microsecond

// Kernels is the number of kernel launches the host issues for o (none
// for a HostSync).
func (o Op) Kernels() int {
	if o.Class == HostSync {
		return 0
	}
	return max(o.Launches, 1)
}

// D2HCopyLatency is the time one small device-to-host cudaMemcpyAsync takes
// from its submission to its completion: 5–7 µs per call, measured for
// many small copies (Wu et al., "DualPath: Breaking the Storage Bandwidth
// Bottleneck in Agentic LLM Inference", arXiv:2602.21548, 2026, §5.2);
// the middle of that range. docs/model.md §7.47.
const D2HCopyLatency = 6 * units.Microsecond

// DispatchSync is the host synchronisation in an MoE layer's forward
// before its dispatch (docs/model.md §7.47). Megatron-Core's all-to-all
// dispatcher copies the token counts it needs as Python values to the host
// on a side stream after the count all-gather and blocks on that copy's
// event before the all-to-all (MoEAlltoAllTokenDispatcher.
// _maybe_dtoh_and_synchronize, cuda_sync_point "before_ep_alltoall",
// megatron/core/transformer/moe/token_dispatcher.py @ core_v0.15.0, the
// same through core_v0.19.0): with EP or expert TP > 1 it copies four
// tensors (tokens_per_expert, input_splits, output_splits,
// output_splits_tp; num_out_tokens is a Python int when dropless), one
// after the other on that stream, without them one; after the wait the
// host issues the two all-to-alls (tokens and routing probabilities)
// before the GPU can start them. DeepEP's normal-mode dispatch, under the
// flex dispatcher, spins on the host until its notify kernel has written
// the received counts into mapped host memory (Buffer::intranode_dispatch
// and internode_dispatch, csrc/deep_ep.cpp @ v1.2.1, l. 449–466 and
// 816–832; Megatron-Core passes no num_worst_tokens, fused_a2a.py @
// core_v0.15.0), then launches the dispatch: one transfer, one call.
// Token dropping padded to capacity skips the copy; the replay has no key
// for that padding (moe.capacity_factor alone still synchronises).
func (c Config) DispatchSync(sh Shard) Op {
	copies, calls := 4, 2
	switch {
	case sh.FlexDispatch:
		copies, calls = 1, 1
	case sh.ep()*sh.etp() == 1:
		copies, calls = 1, 0
	}
	return Op{Name: "moe dispatch sync", Class: HostSync, Wait: units.Seconds(copies) * D2HCopyLatency, HostCalls: calls}
}

func gemm(name string, batch, m, n, k int, elem units.Bytes) Op {
	b, mf, nf, kf := float64(batch), float64(m), float64(n), float64(k)
	return Op{
		Name: name, Class: GEMM, Batch: batch, M: m, N: n, K: k,
		FLOPs: units.FLOPs(2 * b * mf * nf * kf),
		Bytes: units.Bytes(b*(mf*kf+kf*nf+mf*nf)) * elem,
	}
}

func memop(name string, bytes units.Bytes) Op {
	return Op{Name: name, Class: Memory, Bytes: bytes}
}

// eagerop is a memory-bound kernel PyTorch launches for one tensor
// operation (Op.Eager).
func eagerop(name string, bytes units.Bytes) Op {
	o := memop(name, bytes)
	o.Eager = true
	return o
}

// Attention selects how the attention core (scores, softmax, context) runs.
type Attention string

// Attention implementations.
const (
	// AttentionUnfused materialises the s×s scores: two batched GEMMs with a
	// fused scale-mask-softmax and a dropout kernel between them, as
	// Megatron-LM ran it in 2021–2022.
	AttentionUnfused Attention = "unfused"
	// AttentionFlash is a fused flash-attention kernel (Dao et al. 2022).
	AttentionFlash Attention = "flash"
)

// Attentions lists the attention implementations a scenario may name
// (training.attention), in the order messages list them.
func Attentions() []Attention { return []Attention{AttentionUnfused, AttentionFlash} }

// FlashKernel is which library's kernel runs a flash-attention core
// (training.flash_kernel).
type FlashKernel string

// Flash-attention kernels.
const (
	// FlashFused is the GPU family's fused attention kernel, the one its
	// flash-attention rate (compute.Params.FlashFraction) stands for:
	// Transformer Engine's choice, cuDNN's fused attention on Hopper and
	// Blackwell (it prefers it to FlashAttention-2 on sm90 and later).
	FlashFused FlashKernel = "fused"
	// FlashFA2 is FlashAttention-2 (Dao 2023; the flash-attn 2.x package,
	// PyTorch SDPA's flash backend), whose kernels use Ampere's mma.sync
	// instructions on every family: no Hopper wgmma or TMA.
	FlashFA2 FlashKernel = "fa2"
)

// FlashKernels lists the flash-attention kernels a scenario may name
// (training.flash_kernel), in the order messages list them.
func FlashKernels() []FlashKernel { return []FlashKernel{FlashFused, FlashFA2} }

// FP8Recipe is Transformer Engine's FP8 scaling recipe (Megatron-Core's
// --fp8-recipe, default delayed, megatron/training/arguments.py @
// core_v0.15.0). Only the grouped expert GEMMs read it: with delayed scaling
// Transformer Engine quantises all experts' inputs in one fused kernel
// (nvte_multi_cast_transpose); with the others it quantises each expert's
// split with its own kernel (multi_quantize_impl in
// transformer_engine/pytorch/csrc/extensions/cast.cpp: "Currently only have
// fused kernel for FP8 delayed scaling").
type FP8Recipe string

// The FP8 recipes.
const (
	FP8Delayed    FP8Recipe = "delayed"    // per-tensor scales from an amax history
	FP8Tensorwise FP8Recipe = "tensorwise" // per-tensor current scaling
	FP8MX         FP8Recipe = "mxfp8"      // MXFP8: one scale per 32 elements (Blackwell)
	FP8Blockwise  FP8Recipe = "blockwise"  // 1×128 activation, 128×128 weight blocks
)

// FP8Recipes lists the recipes a scenario may name (training.fp8_recipe).
func FP8Recipes() []FP8Recipe { return []FP8Recipe{FP8Delayed, FP8Tensorwise, FP8MX, FP8Blockwise} }

// Shard is how one layer's work is split over the GPUs that share it.
type Shard struct {
	TP               int  // tensor-parallel degree
	Microbatch       int  // sequences per micro-batch
	SequenceParallel bool // layer norms and dropouts split over TP ranks
	Attention        Attention
	// FlashKernel is the library whose kernel runs the flash-attention
	// core ("" is FlashFused); read only with AttentionFlash.
	FlashKernel FlashKernel
	Precision   units.Precision
	// FP8Recipe is the FP8 scaling recipe ("" is FP8Delayed); read only
	// when Precision is FP8.
	FP8Recipe FP8Recipe
	// UnfusedGradAccum writes each weight gradient in 16 bit and adds it
	// into the fp32 gradient buffer with a separate kernel, as Megatron-LM
	// did before gradient-accumulation fusion (2021); false lets the
	// weight-gradient GEMM accumulate into the fp32 buffer itself.
	UnfusedGradAccum bool
	// Grads16 keeps the gradient buffer in 16 bit instead of fp32.
	Grads16 bool
	// GradAccumCast adds each unfused 16-bit weight gradient into an fp32
	// buffer in two kernels, a cast to an fp32 temporary and then the add,
	// as DeepSpeed's BF16_Optimizer.update_hp_grads does after every
	// micro-batch's backward pass (deepspeed/runtime/bf16_optimizer.py
	// @56c522386, microsoft/DeepSpeed PR #1801). Read only with
	// UnfusedGradAccum and fp32 gradients (not Grads16).
	GradAccumCast bool
	// Eager runs the layer's element-wise work as Hugging Face
	// transformers' eager PyTorch modules do, one kernel per tensor
	// operation (eagerElementwise), instead of the fused kernels of
	// Megatron-LM / Transformer Engine.
	Eager bool
	// Recompute is what the backward pass re-runs of the forward
	// (Layer.Recompute).
	Recompute Recompute
	// Modules is what selective recomputation re-runs (recompute.go; 0:
	// the attention core, Megatron-Core's default).
	Modules Modules
	// CP is the context-parallel degree: each rank holds s/CP tokens of
	// every sequence (two mirrored chunks of s/2CP, for causal load
	// balancing) and runs the attention core as CP blocks of ring attention
	// (Liu et al. 2023; Megatron-Core/Transformer Engine's
	// AttnFuncWithCPAndKVP2P). 0 or 1: none.
	CP int
	// PP is the number of pipeline stages (0 counts as 1): at 1 the
	// output layer and the embedding share one stage, where a tied table
	// takes the output layer's dummy gradient (EmbeddingOps).
	PP int
	// EP is the expert-parallel degree: each rank holds Experts/EP of an
	// MoE layer's routed experts.
	EP int
	// Skew is the hottest expert-parallel rank's routed tokens over the
	// mean (1: balanced routing; 0 means 1). The replayed rank is the
	// hottest: its all-to-alls move and its experts compute Skew × the
	// mean, and every rank waits for it at the combine.
	Skew float64
	// ETP is the expert tensor-parallel degree: each expert's MLP is split
	// over the ETP ranks of the expert sub-mesh, which all-gather the
	// tokens they received before the expert GEMMs and reduce-scatter the
	// results after them. 0 or 1: none.
	ETP int
	// CapacityFactor caps the tokens an expert takes at CapacityFactor ×
	// the balanced share, dropping the rest (Switch Transformer, Fedus et
	// al. 2021 §2.1; Megatron-Core's --moe-expert-capacity-factor); 0 is
	// dropless.
	CapacityFactor float64
	// MoEOverlap runs each all-to-all beside compute (moe.overlap).
	MoEOverlap bool
	// DispatchFP8 sends the forward dispatch and the backward's gradient
	// of the combine in FP8 (moe.dispatch_fp8): FP8DispatchBytes.
	DispatchFP8 bool
	// FlexDispatch runs the dispatch and combine all-to-alls node-level
	// (moe.dispatcher = "flex": DeepEP, HybridEP): Step.NodeLevel.
	FlexDispatch bool
	// MegatronKernels adds the memory-bound kernels of Megatron-LM's
	// 2021–22 unfused-attention layer that the op list merges
	// (megatronKernels).
	MegatronKernels bool
	// AsyncDgrad runs each column-parallel layer's input-gradient
	// all-reduce beside its weight-gradient GEMM (Megatron-LM's
	// --async-tensor-model-parallel-allreduce; no effect with sequence
	// parallelism).
	AsyncDgrad bool
}

func (sh Shard) ep() int  { return max(sh.EP, 1) }
func (sh Shard) etp() int { return max(sh.ETP, 1) }

// load is the hottest expert-parallel rank's tokens over the balanced
// share: the skew, capped by the capacity factor when tokens are dropped.
func (sh Shard) load() float64 {
	l := 1.0
	if sh.Skew > 0 {
		l = sh.Skew
	}
	if sh.CapacityFactor > 0 {
		l = min(l, sh.CapacityFactor)
	}
	return l
}

// MoETokens is the tokens one rank routes in an MoE layer per micro-batch:
// its s/cp tokens of each sequence, split over the TP ranks by sequence
// parallelism (which Megatron-Core requires of MoE with TP > 1).
func (c Config) MoETokens(sh Shard) int {
	return sh.Microbatch * c.SeqLen / sh.cp() / sh.TP
}

// DispatchBytes is the buffer one rank's token dispatch all-to-all sends,
// per micro-batch: each of its MoETokens tokens to top_k experts, h
// elements each, scaled by the hottest rank's load (Skew, capped by the
// capacity factor; the share for its own experts stays local; the
// collective model sends the other ep − 1 shares). The combine all-to-all
// returns as many.
func (c Config) DispatchBytes(sh Shard) units.Bytes {
	return c.dispatchElements(sh) * sh.Precision.ElementBytes()
}

// dispatchElements is the elements one rank's dispatch sends per
// micro-batch (DispatchBytes at one byte an element).
func (c Config) dispatchElements(sh Shard) units.Bytes {
	return units.Bytes(float64(c.MoETokens(sh)) * float64(c.TopK) * float64(c.Hidden) * sh.load())
}

// FP8DispatchBytes is DispatchBytes with one byte per element and one
// fp32 scale per 128 elements: DeepSeek-V3 quantizes the activations
// before the MoE up-projections to FP8 and dispatches them so, and the
// activation gradients before the down-projections likewise, keeping both
// combines (forward and backward) in BF16 (arXiv:2412.19437 §3.3.4
// "Low-Precision Communication"; 1×128 tiles with one scaling factor each,
// §3.3.2 "Fine-Grained Quantization").
func (c Config) FP8DispatchBytes(sh Shard) units.Bytes {
	return c.dispatchElements(sh) * (1 + 4.0/128)
}

// ExpertTokens is the tokens each local expert of the hottest rank
// computes per micro-batch: the EP group's MoETokens per rank, top_k copies
// each, spread over the experts, times the load, gathered from the ETP
// ranks of the expert sub-mesh.
func (c Config) ExpertTokens(sh Shard) int {
	n := float64(sh.etp()) * float64(sh.ep()) * float64(c.MoETokens(sh)) * float64(c.TopK) * sh.load() / float64(max(c.Experts, 1))
	return max(int(math.Round(n)), 1)
}

// ExpertGatherBytes is the all-gather output (and reduce-scatter input)
// over the expert tensor-parallel group: the ETP ranks' received tokens,
// h elements each. 0 without ETP.
func (c Config) ExpertGatherBytes(sh Shard) units.Bytes {
	if sh.etp() == 1 {
		return 0
	}
	return units.Bytes(float64(sh.etp())) * c.DispatchBytes(sh)
}

// MoEBlock returns the kernels of one MoE layer's MLP on one rank, in the
// order they run, split where its all-to-alls go: the router (layer norm,
// router GEMM, top-k, permutation of the token copies), the routed experts
// (a grouped GEMM over the Experts/EP local experts, each on
// ExpertTokens — ETP·EP·T·top_k·load/Experts: the EP group's T tokens per
// rank, top_k copies each, spread evenly over the experts, times the
// hottest rank's load, gathered over ETP — and ExpertFFN/ETP wide; the
// activation, the down GEMM), the shared experts (a dense MLP
// SharedExperts × ExpertFFN wide, split over TP on the all-gathered tokens,
// like a dense MLP), and the combine (un-permutation and bias-dropout-add).
// Backward lists are the same parts' backward kernels.
func (c Config) MoEBlock(sh Shard) (router, experts, shared, combine Block) {
	e := sh.Precision.ElementBytes()
	T := c.MoETokens(sh)
	h := c.Hidden
	k := c.TopK
	fe := c.ExpertFFN()
	tok := func(n int, w float64) units.Bytes { return units.Bytes(float64(n)*w) * e }
	ln := memop("layernorm", tok(T, 2*float64(h)))
	lnBwd := memop("layernorm-bwd", tok(T, 3*float64(h)))
	rg := gemm("router", 1, T, c.Experts, h, e)
	// Softmax and top-k over the router's logits in fp32 (read, write,
	// read again for the selection).
	topk := memop("router-topk", units.Bytes(float64(T)*float64(c.Experts)*4*3))
	topkBwd := memop("router-topk-bwd", units.Bytes(float64(T)*float64(c.Experts)*4*3))
	// Kernels the host issues (Megatron-Core 0.15 with --moe-router-fusion
	// and --moe-permute-fusion, as Megatron-Bridge's MoE providers set
	// them; megatron/core/transformer/moe/router.py, moe_utils.py,
	// token_dispatcher.py @ core_v0.15.0): the router's fused top-k
	// (fused_topk_with_score_function), and for its load-balancing loss
	// the fused scores, routing_map.sum, the fused loss, its scaling and
	// its logging tracker's add: 6; backward the three fused kernels'
	// gradients: 3.
	topk.Launches, topkBwd.Launches = 6, 3
	// Permutation: read the T tokens, write top_k copies grouped by expert:
	// Transformer Engine's fused permute (transformer_engine/pytorch/
	// permutation.py: make_row_id_map's three Triton passes, then
	// permute_with_mask_map).
	perm := memop("moe-permute", tok(T, float64(h)*float64(1+k)))
	perm.Launches = 4
	router.Forward = []Op{ln, rg, topk, perm}
	if sh.ep() > 1 {
		// The dispatcher's preprocess (MoEAlltoAllTokenDispatcher.
		// preprocess): routing_map.sum, .long(), the input splits' sum, the
		// gathered counts' slice (.contiguous()) and three sums (output
		// splits, TP splits, tokens per local expert): 8 kernels reading the
		// T × E routing map, then 5 device-to-host copies of the splits
		// (_maybe_dtoh_and_synchronize): 13 launches.
		pre := memop("moe-dispatch-preprocess", units.Bytes(float64(T)*float64(c.Experts)))
		pre.Launches = 13
		router.Forward = []Op{ln, rg, topk, pre, perm}
	}
	router.Backward = append([]Op{memop("moe-permute-bwd", tok(T, float64(h)*float64(1+k))), topkBwd}, dgradWgrad(rg, sh)...)
	router.Backward = append(router.Backward, lnBwd)
	if !sh.Eager {
		// The residual stream's two gradients summed (coreKernels).
		router.Backward = append(router.Backward, memop("residual-grad-add", tok(T, 3*float64(h))))
	}

	local := max(c.Experts/sh.ep(), 1)
	perExpert := c.ExpertTokens(sh)
	fe /= sh.etp()
	up := fe
	if c.GatedMLP {
		up = 2 * fe
	}
	fc1 := linear(gemm("expert-up", local, perExpert, up, h, e))
	fc2 := linear(gemm("expert-down", local, perExpert, h, fe, e))
	act := units.Bytes(float64(local)*float64(perExpert)*float64(fe)) * e
	gelu, geluBwd := memop("expert-activation", act*2), memop("expert-activation-bwd", act*3)
	if c.GatedMLP {
		gelu, geluBwd = memop("expert-activation", act*3), memop("expert-activation-bwd", act*5)
	}
	fc1.Launches, fc2.Launches = local, local
	fc1.IssueEach, fc2.IssueEach = GroupedGEMMIssue, GroupedGEMMIssue
	experts.Forward = []Op{fc1, gelu, fc2}
	experts.Backward = append(dgradWgrad(fc2, sh), geluBwd)
	experts.Backward = append(experts.Backward, dgradWgrad(fc1, sh)...)
	if sh.Precision == units.FP8 {
		// Transformer Engine's FP8 casts around the expert GEMMs, as for a
		// dense MLP (LayerBlocks) but with no layer norm to fuse the first
		// one into: the dispatched tokens arrive in 16 bit, so both GEMM
		// inputs get a cast-transpose (read 2 B, write 1 + 1 B per
		// element), and in the backward each output gradient too.
		rows := units.Bytes(float64(local) * float64(perExpert))
		in, mid, grads := memop("expert-fp8-cast", 4*rows*units.Bytes(h)), memop("expert-fp8-cast", 4*rows*units.Bytes(fe)), memop("expert-fp8-cast-bwd", 4*rows*units.Bytes(h+up))
		if sh.FP8Recipe != "" && sh.FP8Recipe != FP8Delayed {
			// One quantisation kernel per local expert's split
			// (GroupedLinear's tex.split_quantize), for each GEMM input
			// and, backward, each of the two output gradients.
			in.Launches, mid.Launches, grads.Launches = local, local, 2*local
		}
		experts.Forward = []Op{in, fc1, gelu, mid, fc2}
		experts.Backward = append([]Op{grads}, experts.Backward...)
	}
	if c.LinearBias && !sh.Eager {
		c.expertBiasKernels(sh, &experts, local, perExpert, up)
	}
	if sh.ep() > 1 && local > 1 {
		// Megatron-Core's all-to-all dispatcher permutes twice: before the
		// dispatch by expert (moe-permute), and after it, since the tokens
		// arrive grouped by source rank, once more by local expert
		// (dispatch_postprocess → sort_chunks_by_idxs); the combine sorts
		// them back before its all-to-all (combine_preprocess), and the
		// backward runs both sorts again on the gradients
		// (megatron/core/transformer/moe/token_dispatcher.py,
		// MoEAlltoAllTokenDispatcher, @ core_v0.15.0). Each reads and writes
		// the received token copies, h elements each.
		recv := units.Bytes(2*float64(local)*float64(perExpert)*float64(h)) * e
		// Forward, Transformer Engine's fused sort is two kernels
		// (_make_chunk_sort_map_kernel, _sort_chunks_by_map_kernel); its
		// backward reuses the map: one.
		sort, unsort := memop("moe-sort-chunks", recv), memop("moe-unsort-chunks", recv)
		sort.Launches, unsort.Launches = 2, 2
		experts.Forward = append(append([]Op{sort}, experts.Forward...), unsort)
		experts.Backward = append(append([]Op{memop("moe-unsort-chunks-bwd", recv)}, experts.Backward...), memop("moe-sort-chunks-bwd", recv))
	}

	if c.SharedExperts > 0 {
		full := sh.Microbatch * c.SeqLen / sh.cp()
		sf := c.SharedExperts * c.ExpertFFN() / sh.TP
		sup := sf
		if c.GatedMLP {
			sup = 2 * sf
		}
		s1 := linear(gemm("shared-up", 1, full, sup, h, e))
		s2 := linear(gemm("shared-down", 1, full, h, sf, e))
		sa := units.Bytes(float64(full)*float64(sf)) * e
		g, gb := memop("shared-activation", sa*2), memop("shared-activation-bwd", sa*3)
		if c.GatedMLP {
			g, gb = memop("shared-activation", sa*3), memop("shared-activation-bwd", sa*5)
		}
		shared.Forward = []Op{s1, g, s2}
		shared.Backward = append(dgradWgrad(s2, sh), gb)
		shared.Backward = append(shared.Backward, dgradWgrad(s1, sh)...)
		if sh.Precision == units.FP8 {
			// The same casts around the shared experts' GEMMs.
			n := units.Bytes(full)
			shared.Forward = []Op{memop("shared-fp8-cast", 4*n*units.Bytes(h)), s1, g, memop("shared-fp8-cast", 4*n*units.Bytes(sf)), s2}
			shared.Backward = append([]Op{memop("shared-fp8-cast-bwd", 4*n*units.Bytes(h+sup))}, shared.Backward...)
		}
	}
	hs := tok(T, float64(h))
	combine.Forward = []Op{memop("moe-unpermute", tok(T, float64(h)*float64(1+k))), memop("bias-dropout-add", 3*hs+hs/e)}
	combine.Backward = []Op{memop("bias-dropout-add-bwd", 2*hs+hs/e), memop("moe-unpermute-bwd", tok(T, float64(h)*float64(1+k)))}
	return router, experts, shared, combine
}

// expertBiasKernels adds the kernels the routed experts' linear biases run
// in a Megatron-Core TEGroupedMLP (core_v0.15.0 (0d7e02bd),
// megatron/core/transformer/moe/experts.py; docs/model.md §7.29) on local
// experts of perExpert tokens each, up the first GEMM's output width:
//   - the second GEMM's bias (linear_fc2, skip_bias_add=True: Transformer
//     Engine returns it unapplied) is added by _apply_bias in PyTorch, per
//     local expert t + b·p (the expert's routing probabilities p), then
//     torch.cat: forward a product writing the expert's rows and an add
//     reading two and writing one per expert, and the cat reading and
//     writing them once (6 row-widths of h, 2·local + 1 launches);
//     backward, per expert, the bias gradient Σ(g·p) and the probabilities'
//     Σ(g·b), each a product (read, write) and a reduction (read), and the
//     split's backward concatenating the rows' gradient (read, write): 8
//     row-widths, 4·local + 1 launches;
//   - the first GEMM's bias (linear_fc1, skip_bias_add=False) is applied
//     inside Transformer Engine's GroupedLinear, whose backward takes its
//     gradient in the weight-gradient grouped GEMM (16 bit) or in the fused
//     bgrad_quantize of the delayed, tensorwise and MXFP8 recipes, and only
//     under the other recipes (blockwise) as a separate grad_output.sum per
//     expert reading the tokens × up output gradient
//     (transformer_engine/pytorch/module/grouped_linear.py @ v2.9
//     (70f53666), _GroupedLinear.backward, l.300–330 and 419).
//
// Elements are priced at the compute precision's width.
func (c Config) expertBiasKernels(sh Shard, experts *Block, local, perExpert, up int) {
	e := sh.Precision.ElementBytes()
	rows := units.Bytes(float64(local)*float64(perExpert)) * e
	h := units.Bytes(c.Hidden)
	add := memop("expert-down-bias-add", 6*rows*h)
	add.Launches = 2*local + 1
	grad := memop("expert-down-bias-grad", 8*rows*h)
	grad.Launches = 4*local + 1
	experts.Forward = append(experts.Forward, add)
	bwd := []Op{grad}
	if sh.Precision == units.FP8 && sh.FP8Recipe == FP8Blockwise {
		// The fc1 bias gradient, after the fc2 and activation backward.
		up := memop("expert-up-bias-grad", rows*units.Bytes(up))
		up.Launches = local
		i := slices.IndexFunc(experts.Backward, func(o Op) bool { return o.Name == "expert-activation-bwd" })
		experts.Backward = insertOps(experts.Backward, i+1, up)
	}
	experts.Backward = append(bwd, experts.Backward...)
}

// cp returns the context-parallel degree, at least 1.
func (sh Shard) cp() int { return max(sh.CP, 1) }

// MegatronKernelsIdle says why Shard.MegatronKernels adds no kernel to c's
// layer, "" when it adds them: the eager list replaces them, and flash
// attention, latent attention and ring attention run other kernels than the
// unfused layer they were read from. The op list and the report both ask it.
func (c Config) MegatronKernelsIdle(sh Shard) string {
	switch {
	case sh.Eager:
		return "eager_elementwise replaces them"
	case sh.Attention == AttentionFlash:
		return "flash attention"
	case c.MLA():
		return "latent attention"
	case sh.cp() > 1:
		return fmt.Sprintf("cp %d", sh.cp())
	}
	return ""
}

// EagerKernelsIdle says why compute.Params.EagerHBMFraction
// (training.eager_hbm_fraction) changes nothing in c's layer, "" when it
// does: the layer has no kernel PyTorch launches on its own (Op.Eager).
func (c Config) EagerKernelsIdle(sh Shard) string {
	attn, mlp := c.LayerBlocks(sh)
	for _, b := range []Block{attn, mlp} {
		for _, ops := range [][]Op{b.Forward, b.Backward} {
			for _, o := range ops {
				if o.Eager {
					return ""
				}
			}
		}
	}
	if sh.MegatronKernels {
		return "flash attention, megatron_elementwise idle (" + c.MegatronKernelsIdle(sh) + ")"
	}
	return "flash attention and no megatron_elementwise"
}

// GradAccumCastIdle says why Shard.GradAccumCast changes nothing, "" when
// it does: it prices an unfused accumulation into fp32 gradients only.
func (sh Shard) GradAccumCastIdle() string {
	switch {
	case !sh.UnfusedGradAccum:
		return "grad_accum_fusion"
	case sh.Grads16:
		return "16-bit gradients"
	}
	return ""
}

// AsyncDgradIdle says why Shard.AsyncDgrad changes nothing, "" when it
// does: it needs a tensor-parallel all-reduce (TP > 1, no sequence
// parallelism, whose all-gather and reduce-scatter overlap on their own)
// and one attention step (no ring attention).
func (sh Shard) AsyncDgradIdle() string {
	switch {
	case sh.TP <= 1:
		return "tp 1"
	case sh.SequenceParallel:
		return "sequence parallel"
	case sh.cp() > 1:
		return fmt.Sprintf("cp %d", sh.cp())
	}
	return ""
}

// KVBlockBytes is the K and V of one context-parallel chunk on one
// tensor-parallel rank: b·(s/cp)·2·(kv_heads/t)·head_dim elements, what each
// step of ring attention passes to the next rank of the CP group.
func (c Config) KVBlockBytes(sh Shard) units.Bytes {
	kvHeads := max(c.KVHeads/sh.TP, 1)
	width := 2 * kvHeads * c.HeadDim()
	if c.MLA() {
		// Latent attention passes each head's expanded key and value.
		width = max(c.Heads/sh.TP, 1) * (c.HeadDim() + c.VDim())
	}
	return units.Bytes(float64(sh.Microbatch*c.SeqLen/sh.cp())*float64(width)) * sh.Precision.ElementBytes()
}

// Block is a run of kernels between two tensor-parallel communication points.
type Block struct {
	Forward, Backward []Op
	// Core holds the ops that selective recomputation re-runs (the attention
	// core); nil for blocks without one. With context parallelism it is one
	// op per ring-attention step, CoreBackward likewise for the backward.
	Core, CoreBackward []Op
	// CoreAt and CoreBackwardAt are where Core and CoreBackward start in
	// Forward and Backward.
	CoreAt, CoreBackwardAt int
}

// LayerBlocks returns one transformer layer split at its tensor-parallel
// communication points: the attention block and the MLP block. The backward
// lists hold the kernels of the backward pass, in the order they run.
func (c Config) LayerBlocks(sh Shard) (attn, mlp Block) { return c.layerBlocks(sh, 0) }

// layerBlocks is LayerBlocks with the attention over a sliding window of w
// keys (0: full causal attention). Only the fused (flash) attention kernel
// skips the pairs outside the window; the unfused core computes and masks
// the whole s × s score matrix whatever the window, as Megatron-Core's
// unfused path does with its mask. The flash kernel's HBM traffic (Q, K, V
// and the output, once each) and the layer's activations do not change.
func (c Config) layerBlocks(sh Shard, w int) (attn, mlp Block) {
	e := sh.Precision.ElementBytes()
	t := sh.TP
	cp := sh.cp()
	// With context parallelism every rank holds s/cp tokens of each
	// sequence: every token-wise kernel shrinks by cp.
	tokens := sh.Microbatch * c.SeqLen / cp
	h := c.Hidden
	// Element-wise work on the full hidden state is split over TP ranks only
	// with sequence parallelism; otherwise every rank repeats it.
	ewTokens := tokens
	if sh.SequenceParallel {
		ewTokens = tokens / t
	}
	hs := units.Bytes(float64(ewTokens)*float64(h)) * e // one activation tensor, bytes
	heads := c.Heads / t
	kvHeads := c.KVHeads / t
	if kvHeads < 1 {
		kvHeads = 1
	}
	d := c.HeadDim()
	qkvN := (heads + 2*kvHeads) * d
	ffn := c.FFNHidden / t
	s := c.SeqLen
	b := sh.Microbatch

	ln := memop("layernorm", 2*hs)
	lnBwd := memop("layernorm-bwd", 3*hs)
	// Bias, dropout and residual add, fused (Megatron's bias_dropout_add):
	// read the block output and the residual, write the sum and a 1-byte mask.
	bda := memop("bias-dropout-add", 3*hs+hs/e)
	bdaBwd := memop("bias-dropout-add-bwd", 2*hs+hs/e)

	dv := c.VDim()
	qkv := linear(gemm("qkv", 1, tokens, qkvN, h, e))
	proj := linear(gemm("attn-out", 1, tokens, h, heads*dv, e))
	inProj := []Op{qkv}
	if c.MLA() {
		// Multi-head latent attention (DeepSeek-V2 §2.1; Megatron-Core's
		// MLASelfAttention): the down-projections to the query and KV
		// latents are replicated on every TP rank, their RMSNorms
		// (read, write) follow, and the up-projections are split over
		// the heads.
		qkvN = heads * (d + d + dv)
		inProj = nil
		if c.QLoRARank > 0 {
			inProj = append(inProj,
				linear(gemm("q-down", 1, tokens, c.QLoRARank, h, e)),
				memop("q-latent-norm", units.Bytes(2*float64(tokens)*float64(c.QLoRARank))*e),
				linear(gemm("q-up", 1, tokens, heads*d, c.QLoRARank, e)))
		} else {
			inProj = append(inProj, linear(gemm("q", 1, tokens, heads*d, h, e)))
		}
		inProj = append(inProj,
			linear(gemm("kv-down", 1, tokens, c.KVLoRARank+c.QKRopeDim, h, e)),
			memop("kv-latent-norm", units.Bytes(2*float64(tokens)*float64(c.KVLoRARank))*e),
			linear(gemm("kv-up", 1, tokens, heads*(c.QKNopeDim+dv), c.KVLoRARank, e)))
	}
	attn.Forward = append([]Op{ln}, inProj...)
	var core, coreBwd []Op
	switch sh.Attention {
	case AttentionFlash:
		if cp > 1 {
			// Ring attention, load-balanced (Megatron-Core's context
			// parallelism): the rank's s/cp queries meet the s/cp keys of
			// each of the cp chunks in turn. Each step does half the work
			// of an unmasked (s/cp)×(s/cp) block: the diagonal step is
			// causal; in the others either half the queries see all the
			// keys or all the queries see half of them (each rank holds
			// chunks i and 2cp−1−i). So every step is priced as a causal
			// (s/cp)×(s/cp) block, and the cp steps sum to 1/cp of the
			// causal attention of the whole sequence. Transformer
			// Engine's copies and corrections around the ring (K/V packing,
			// half-chunk copies, the softmax and output corrections, dQ and
			// dK/dV accumulation: O(s/cp·h) bytes per step) are left out;
			// priced from bytes they were examined and not kept
			// (docs/model.md §7.68).
			//
			// With a sliding window each step is priced by the pairs it
			// computes on the busiest rank (ringStepPairs), scaled as
			// the unwindowed step is (the causal square's FLOPs for
			// WindowPairs(s, s) pairs); a step with none, a block
			// wholly outside the window, is the zero Op: no kernel.
			sc := s / cp
			f := Op{
				Name: "flash-attention-cp", Class: FlashAttention, Batch: b * heads, M: sc, N: sc, K: d,
				FLOPs: units.FLOPs(2 * float64(b*heads) * float64(sc) * float64(sc) * float64(d+dv)),
				Bytes: units.Bytes(float64(b*heads)*float64(sc)*float64(2*d+2*dv)) * e, Causal: true,
			}
			f.Slowdown = c.attnDropoutSlowdown(sh)
			f.FA2 = sh.FlashKernel == FlashFA2
			var steps []float64
			if w > 0 && w < s {
				steps = ringStepPairs(s, cp, w)
			}
			for k := range cp {
				fk := f
				if steps != nil {
					fk.FLOPs = units.FLOPs(2 * float64(b*heads) * float64(d+dv) * float64(s) * float64(s) * steps[k] / WindowPairs(s, s))
				}
				fb := fk
				fb.Name = "flash-attention-cp-bwd"
				fb.Backward = true
				fb.FLOPs = fk.FLOPs * 2.5
				fb.Bytes = fk.Bytes * 2
				if fk.FLOPs == 0 {
					fk, fb = Op{}, Op{}
				}
				core = append(core, fk)
				coreBwd = append(coreBwd, fb)
			}
			break
		}
		f := Op{
			Name: "flash-attention", Class: FlashAttention, Batch: b * heads, M: s, N: s, K: d,
			FLOPs: units.FLOPs(2 * float64(b*heads) * float64(s) * float64(s) * float64(d+dv)),
			Bytes: units.Bytes(float64(b*heads)*float64(s)*float64(2*d+2*dv)) * e, Causal: true,
		}
		if w > 0 && w < s {
			// A sliding window: the causal square's FLOPs scaled by the
			// share of the causal pairs the window keeps, the useful
			// work. The kernel skips only the tiles wholly outside the
			// window and computes the others whole, so its time follows
			// the tiles: compute.Model prices them from Window
			// (docs/model.md §7.44).
			f.FLOPs = units.FLOPs(float64(f.FLOPs) * WindowPairs(s, w) / WindowPairs(s, s))
			f.Window = w
		}
		f.Slowdown = c.attnDropoutSlowdown(sh)
		f.FA2 = sh.FlashKernel == FlashFA2
		fb := f
		fb.Name = "flash-attention-bwd"
		fb.Backward = true
		// The backward recomputes the scores: 2.5× the forward's products
		// (five s×s×d products instead of two).
		fb.FLOPs = f.FLOPs * 2.5
		fb.Bytes = f.Bytes * 2
		core, coreBwd = []Op{f}, []Op{fb}
	default:
		scores := units.Bytes(float64(b*heads)*float64(s)*float64(s)) * e
		qk := gemm("attn-scores", b*heads, s, s, d, e)
		sm := memop("scale-mask-softmax", 2*scores)
		// torch.nn.Dropout on the probabilities: PyTorch's own kernel.
		drop := eagerop("attn-dropout", 2*scores+scores/e)
		av := gemm("attn-context", b*heads, s, dv, s, e)
		core = []Op{qk, sm, drop, av}
		coreBwd = []Op{
			gemm("attn-context-dgrad", b*heads, s, s, dv, e), gemm("attn-context-wgrad", b*heads, s, dv, s, e),
			eagerop("attn-dropout-bwd", 2*scores+scores/e), memop("softmax-bwd", 3*scores),
			gemm("attn-scores-dgrad-q", b*heads, s, d, s, e), gemm("attn-scores-dgrad-k", b*heads, s, d, s, e),
		}
	}
	attn.CoreAt = len(attn.Forward)
	attn.Forward = append(attn.Forward, core...)
	attn.Forward = append(attn.Forward, proj)
	attn.Core, attn.CoreBackward = core, coreBwd
	attn.Backward = append([]Op{bdaBwd}, dgradWgrad(proj, sh)...)
	attn.CoreBackwardAt = len(attn.Backward)
	attn.Backward = append(attn.Backward, coreBwd...)
	for i := len(inProj) - 1; i >= 0; i-- {
		if op := inProj[i]; op.Class == GEMM {
			attn.Backward = append(attn.Backward, dgradWgrad(op, sh)...)
		} else {
			attn.Backward = append(attn.Backward, memop(op.Name+"-bwd", op.Bytes*3/2))
		}
	}
	attn.Backward = append(attn.Backward, lnBwd)
	attn.Forward = append(attn.Forward, bda)

	up := ffn
	if c.GatedMLP {
		up = 2 * ffn
	}
	fc1 := linear(gemm("mlp-up", 1, tokens, up, h, e))
	fc2 := linear(gemm("mlp-down", 1, tokens, h, ffn, e))
	act := units.Bytes(float64(tokens)*float64(ffn)) * e
	gelu := memop("activation", act*2)
	geluBwd := memop("activation-bwd", act*3)
	if c.GatedMLP {
		gelu = memop("activation", act*3)
		geluBwd = memop("activation-bwd", act*5)
	}
	mlp.Forward = []Op{ln, fc1, gelu, fc2, bda}
	mlp.Backward = append([]Op{bdaBwd}, dgradWgrad(fc2, sh)...)
	mlp.Backward = append(mlp.Backward, geluBwd)
	mlp.Backward = append(mlp.Backward, dgradWgrad(fc1, sh)...)
	mlp.Backward = append(mlp.Backward, lnBwd)
	if sh.Eager {
		c.eagerElementwise(sh, &attn, &mlp, tokens, ewTokens, heads, kvHeads)
	} else if sh.MegatronKernels && c.MegatronKernelsIdle(sh) == "" {
		c.megatronKernels(sh, &attn, &mlp, tokens, hs, heads*d, qkvN, ffn)
	} else {
		c.coreKernels(sh, &attn, &mlp, tokens, hs, up)
	}
	if sh.Precision == units.FP8 {
		// Transformer Engine's FP8 casts around each linear layer. Forward:
		// the inputs of QKV and the first MLP GEMM are cast inside the
		// layer norm, which also writes a transposed FP8 copy for the
		// weight gradient (1 B per element); the other two inputs get a
		// separate cast-transpose (read 2 B, write 1 + 1 B). Backward: each
		// output gradient is cast and transposed (read 2 B, write 1 + 1 B).
		elems := func(n int) units.Bytes { return units.Bytes(float64(tokens) * float64(n)) }
		attn.Forward = append(attn.Forward, memop("fp8-cast", elems(h)+4*elems(heads*dv)))
		mlp.Forward = append(mlp.Forward, memop("fp8-cast", elems(h)+4*elems(ffn)))
		attn.Backward = append(attn.Backward, memop("fp8-cast-bwd", 4*(elems(qkvN)+elems(h))))
		mlp.Backward = append(mlp.Backward, memop("fp8-cast-bwd", 4*(elems(up)+elems(h))))
	}
	return attn, mlp
}

// eagerElementwise rewrites a layer's element-wise kernels as Hugging Face
// transformers' eager modules launch them, one PyTorch kernel per tensor
// operation, each priced by its bytes (read + written) like any
// memory-bound kernel, and each paying the kernel model's fixed cost.
// Read from the modules of transformers v4.38 (the version OpenRLHF pinned
// at its benchmark commit dbdd43b0, requirements.txt transformers==4.38.1):
// src/transformers/models/llama/modeling_llama.py and
// src/transformers/models/opt/modeling_opt.py.
//
// Gated-MLP (Llama-family) models, n = tokens × h elements of e bytes:
//   - LlamaRMSNorm.forward: .to(float32) (read e, write 4), .pow(2) (4, 4),
//     .mean(-1) (read 4), × rsqrt (read 4, write 4), .to(input_dtype) (4,
//     e), × weight (e, e): 6 kernels, (28 + 4e)·n bytes, against a fused
//     norm's 2e·n. Its autograd backward, kernel by kernel: the weight
//     product's input gradient (2e) and weight gradient (a product and a
//     reduction, 4e), the cast back to fp32 (e + 4), the rsqrt product's
//     input gradient (8) and its reduction path (16), the mean's expand (4),
//     pow's 2x·g (12), the sum of the two gradients of x (12) and the cast
//     to 16 bit (4 + e): 9 kernels, (60 + 8e)·n bytes against a fused 3e·n.
//   - apply_rotary_pos_emb on q and k (m = tokens × heads·d, then × kv
//     heads·d): q·cos, rotate_half's negation of one half and torch.cat,
//     ·sin, and the sum: 5 kernels, 10e·m; backward likewise 5 kernels,
//     10e·m (the two products' gradients, the cat's slices and the
//     negation, and the sum of the two paths). The layer programs have no
//     rotary kernel of their own (Megatron-Core's fused rotary, its
//     apply_rope_fusion, is small beside the attention and left out), so
//     all of it is added.
//   - LlamaMLP: act_fn(gate_proj(x)) * up_proj(x): SiLU (read e, write e)
//     and the product (2e, e) over f = tokens × ffn elements, 5e·f against a
//     fused 3e·f; backward the product's two gradients (3e·f each) and
//     SiLU's (3e·f), against a fused 5e·f.
//
// Other (OPT-family) models: q_proj(x) * scaling, a kernel of its own
// (2e over the query, and the same backward); each residual branch's
// dropout then the residual add as two kernels (2e + 1 and 3e per element)
// instead of one fused bias-dropout-add; and, with the unfused attention,
// the mask added to the scores (2e per score), a softmax upcast to fp32
// (read e, write 4) and the cast back (4, e) instead of one fused
// scale-mask-softmax (2e); backward the cast's and softmax's in fp32
// (e + 4, 12, 4 + e) instead of 3e.
//
// An MoE layer takes the attention block as above; its router norm and
// expert activations keep their fused kernels.
func (c Config) eagerElementwise(sh Shard, attn, mlp *Block, tokens, ewTokens, heads, kvHeads int) {
	e := float64(sh.Precision.ElementBytes())
	n := float64(ewTokens) * float64(c.Hidden)
	op := func(name string, perElem, elems float64) Op {
		return memop(name, units.Bytes(perElem*elems))
	}
	// swap replaces the op named name in ops with repl (kept in order).
	swap := func(ops []Op, name string, repl ...Op) []Op {
		for i, o := range ops {
			if o.Name == name {
				out := append(append(append([]Op(nil), ops[:i]...), repl...), ops[i+1:]...)
				return out
			}
		}
		return ops
	}
	if c.GatedMLP {
		norm := []Op{op("rmsnorm-cast-fp32", e+4, n), op("rmsnorm-pow", 8, n), op("rmsnorm-mean", 4, n),
			op("rmsnorm-scale", 8, n), op("rmsnorm-cast-back", 4+e, n), op("rmsnorm-weight", 2*e, n)}
		normBwd := []Op{op("rmsnorm-weight-bwd", 2*e, n), op("rmsnorm-weight-grad", 4*e, n), op("rmsnorm-cast-back-bwd", e+4, n),
			op("rmsnorm-scale-bwd", 8, n), op("rmsnorm-scale-grad", 16, n), op("rmsnorm-mean-bwd", 4, n),
			op("rmsnorm-pow-bwd", 12, n), op("rmsnorm-grad-sum", 12, n), op("rmsnorm-cast-fp32-bwd", 4+e, n)}
		var rope, ropeBwd []Op
		for _, w := range []struct {
			name  string
			heads int
		}{{"q", heads}, {"k", kvHeads}} {
			m := float64(tokens) * float64(w.heads*c.HeadDim())
			for _, k := range []struct {
				name string
				per  float64
			}{{"cos", 2 * e}, {"neg", e}, {"cat", 2 * e}, {"sin", 2 * e}, {"add", 3 * e}} {
				rope = append(rope, op("rope-"+w.name+"-"+k.name, k.per, m))
				ropeBwd = append(ropeBwd, op("rope-"+w.name+"-"+k.name+"-bwd", k.per, m))
			}
		}
		// The norm leads the block; the rotary follows the projections,
		// before the attention core. Backward: the rotary's gradients after
		// the core's, then the projections' and the norm's.
		attn.Forward = swap(attn.Forward, "layernorm", norm...)
		attn.CoreAt += len(norm) - 1
		attn.Forward = insertOps(attn.Forward, attn.CoreAt, rope...)
		attn.CoreAt += len(rope)
		attn.Backward = insertOps(attn.Backward, attn.CoreBackwardAt+len(attn.CoreBackward), ropeBwd...)
		attn.Backward = swap(attn.Backward, "layernorm-bwd", normBwd...)
		f := float64(tokens) * float64(c.FFNHidden/max(sh.TP, 1))
		mlp.Forward = swap(mlp.Forward, "layernorm", norm...)
		mlp.Forward = swap(mlp.Forward, "activation", op("silu", 2*e, f), op("silu-mul", 3*e, f))
		mlp.Backward = swap(mlp.Backward, "activation-bwd", op("silu-mul-bwd-up", 3*e, f), op("silu-mul-bwd-gate", 3*e, f), op("silu-bwd", 3*e, f))
		mlp.Backward = swap(mlp.Backward, "layernorm-bwd", normBwd...)
		return
	}
	q := float64(tokens) * float64(heads*c.HeadDim())
	scale := op("q-scaling", 2*e, q)
	// After the q projection (the first op after the norm).
	attn.Forward = insertOps(attn.Forward, 2, scale)
	attn.CoreAt++
	drop, add := op("dropout", 2*e+1, n), op("residual-add", 3*e, n)
	dropBwd, addBwd := op("dropout-bwd", 2*e+1, n), op("residual-grad-add", 3*e, n)
	for _, b := range []*Block{attn, mlp} {
		b.Forward = swap(b.Forward, "bias-dropout-add", drop, add)
		b.Backward = swap(b.Backward, "bias-dropout-add-bwd", addBwd, dropBwd)
	}
	attn.CoreBackwardAt++ // the bias-dropout-add's gradient became two kernels
	// The scaling's gradient comes before the norm's, the block's last.
	attn.Backward = insertOps(attn.Backward, len(attn.Backward)-1, op("q-scaling-bwd", 2*e, q))
	if sh.Attention == AttentionFlash || sh.cp() > 1 {
		return
	}
	scores := float64(sh.Microbatch*heads) * float64(c.SeqLen) * float64(c.SeqLen)
	sm := []Op{op("attn-mask-add", 2*e, scores), op("softmax-fp32", e+4, scores), op("softmax-cast", 4+e, scores)}
	smBwd := []Op{op("softmax-cast-bwd", e+4, scores), op("softmax-fp32-bwd", 12, scores), op("softmax-grad-cast", 4+e, scores)}
	attn.Core = swap(attn.Core, "scale-mask-softmax", sm...)
	attn.CoreBackward = swap(attn.CoreBackward, "softmax-bwd", smBwd...)
	attn.Forward = swap(attn.Forward, "scale-mask-softmax", sm...)
	attn.Backward = swap(attn.Backward, "softmax-bwd", smBwd...)
}

// insertOps returns a copy of ops with ins inserted before ops[at] (ops
// itself is left as it is).
func insertOps(ops []Op, at int, ins ...Op) []Op {
	return append(append(append([]Op(nil), ops[:at]...), ins...), ops[at:]...)
}

// megatronKernels adds the kernels Megatron-LM's 2021–22 transformer layer
// (the unfused-attention ParallelTransformerLayer) runs besides the op
// list's, each priced by its bytes (read + written) like any memory-bound
// kernel: see docs/model.md §7.15.
func (c Config) megatronKernels(sh Shard, attn, mlp *Block, tokens int, hs units.Bytes, ctx, qkvN, ffn int) {
	e := sh.Precision.ElementBytes()
	per := func(n int) units.Bytes { return units.Bytes(float64(tokens)*float64(n)) * e }
	// Each is a kernel PyTorch launches (Op.Eager) but apex's γ/β pass of
	// the layer norm's backward, an apex kernel.
	// Forward: the QKV bias add after its GEMM (before the core), the
	// context's permute copy after the core (before the output projection).
	at := slices.IndexFunc(attn.Forward, func(o Op) bool { return o.Name == "qkv" })
	if at < 0 {
		return
	}
	attn.Forward = insertOps(attn.Forward, at+1, eagerop("qkv-bias-add", 2*per(qkvN)))
	attn.CoreAt++
	attn.Forward = insertOps(attn.Forward, attn.CoreAt+len(attn.Core), eagerop("context-permute", 2*per(ctx)))
	// Backward: the output bias's gradient (a reduction of the incoming
	// gradient) after the bias-dropout-add's, the permute's backward copy
	// before the core's gradients, the two alpha multiplies of the scores'
	// baddbmm and the split's cat after them, the QKV bias gradient, and
	// after the layer norm's backward apex's γ/β pass and the residual
	// gradient add.
	attn.Backward = insertOps(attn.Backward, 1, eagerop("attn-out-bias-grad", hs))
	attn.CoreBackwardAt++
	attn.Backward = insertOps(attn.Backward, attn.CoreBackwardAt, eagerop("context-permute-bwd", 2*per(ctx)))
	attn.CoreBackwardAt++
	end := attn.CoreBackwardAt + len(attn.CoreBackward)
	attn.Backward = insertOps(attn.Backward, end, eagerop("scores-alpha-q", 2*per(ctx)), eagerop("scores-alpha-k", 2*per(ctx)),
		eagerop("qkv-split-cat", 2*per(qkvN)), eagerop("qkv-bias-grad", per(qkvN)))
	attn.Backward = append(attn.Backward, memop("layernorm-gamma-beta", 2*hs), eagerop("residual-grad-add", 3*hs))
	mlp.Backward = insertOps(mlp.Backward, 1, eagerop("mlp-out-bias-grad", hs))
	g := slices.IndexFunc(mlp.Backward, func(o Op) bool { return o.Name == "activation-bwd" })
	if g >= 0 {
		mlp.Backward = insertOps(mlp.Backward, g+1, eagerop("mlp-up-bias-grad", per(ffn)))
	}
	mlp.Backward = append(mlp.Backward, memop("layernorm-gamma-beta", 2*hs), eagerop("residual-grad-add", 3*hs))
}

// attnDropoutSlowdown is the fused attention's extra time for dropout on
// its probabilities (AttnDropoutCost) where the framework runs it inside
// the kernel: Megatron-LM / Megatron-Core with Transformer Engine or
// FlashAttention-2, not Hugging Face's eager modules.
func (c Config) attnDropoutSlowdown(sh Shard) float64 {
	if c.AttnDropout > 0 && !sh.Eager {
		return AttnDropoutCost
	}
	return 0
}

// coreKernels adds the memory-bound kernels a Megatron-Core (Transformer
// Engine) layer runs besides the op list's, each priced by its bytes (read +
// written) like any memory-bound kernel (docs/model.md §7.22; read from
// Megatron-LM core_v0.8.0 (baf94af3), megatron/core/transformer/transformer_layer.py,
// attention.py, mlp.py, fusions/fused_bias_dropout.py and fused_bias_gelu.py):
//   - the residual-gradient add, once per block: the block's input feeds
//     both the layer norm fused into the next linear layer
//     (TELayerNormColumnParallelLinear; the spec's input_layernorm is an
//     IdentityOp) and the bias-dropout-add as its residual, so autograd
//     sums the two gradients (read 2, write 1: 3 per element of the
//     block's input, hs);
//   - with linear biases (Config.LinearBias), the bias gradients of the
//     layers that return their bias to a fused kernel instead of adding
//     it in their GEMM (skip_bias_add=True: the output projection, the
//     first and the second MLP layer): the bias enters the compiled
//     bias-dropout-add or GeLUFunction broadcast over the tokens, and its
//     gradient is the sum over the tokens of the output gradient, a
//     reduction reading it once (hs for the two output biases, tokens ×
//     up for the first MLP layer's, up its output width per rank: ffn/t,
//     twice that for a gated MLP). The QKV layer adds its bias
//     inside Transformer Engine's GEMM (skip_bias_add=False) and takes its
//     gradient in the weight-gradient GEMM's epilogue (cuBLASLt BGRADB:
//     TransformerEngine v1.8 pytorch/module/layernorm_linear.py l.636–643,
//     common/gemm/cublaslt_gemm.cu l.190): not priced apart.
//
// Megatron-LM's 2021–22 layer has these kernels too (megatronKernels, which
// adds them with its other unmerged kernels), and the eager list prices
// Hugging Face's modules itself.
func (c Config) coreKernels(sh Shard, attn, mlp *Block, tokens int, hs units.Bytes, up int) {
	attn.Backward = append(attn.Backward, memop("residual-grad-add", 3*hs))
	mlp.Backward = append(mlp.Backward, memop("residual-grad-add", 3*hs))
	if !c.LinearBias {
		return
	}
	e := sh.Precision.ElementBytes()
	attn.Backward = insertOps(attn.Backward, 1, memop("attn-out-bias-grad", hs))
	attn.CoreBackwardAt++
	mlp.Backward = insertOps(mlp.Backward, 1, memop("mlp-out-bias-grad", hs))
	if g := slices.IndexFunc(mlp.Backward, func(o Op) bool { return o.Name == "activation-bwd" }); g >= 0 {
		mlp.Backward = insertOps(mlp.Backward, g+1, memop("mlp-up-bias-grad", units.Bytes(float64(tokens)*float64(up))*e))
	}
}

// dgradWgrad returns the kernels of a linear layer's backward pass: the
// input gradient (M×N by N×K) and the weight gradient (K×M by M×N), which
// lands in the gradient buffer (g bytes per weight: 4 in fp32, e with
// Grads16). Fused, the weight-gradient GEMM reads and writes that buffer (2g
// per weight instead of writing e); unfused, it writes a 16-bit gradient that
// a separate kernel adds into the buffer (reading e + g and writing g), or,
// with Shard.GradAccumCast and an fp32 buffer, two kernels: a cast to an
// fp32 temporary (reading e, writing 4) and the add (reading 8, writing 4).
func dgradWgrad(f Op, sh Shard) []Op {
	e := sh.Precision.ElementBytes()
	g := units.Bytes(4)
	if sh.Grads16 {
		g = e
	}
	d := gemm(f.Name+"-dgrad", f.Batch, f.M, f.K, f.N, e)
	w := gemm(f.Name+"-wgrad", f.Batch, f.K, f.N, f.M, e)
	d.Linear, w.Linear = f.Linear, f.Linear
	d.Launches, w.Launches = f.Launches, f.Launches
	d.IssueEach, w.IssueEach = f.IssueEach, f.IssueEach
	w.WeightGrad = true
	// Each weight the GEMM produces a gradient for is its own parameter
	// tensor (a grouped expert GEMM: one per local expert, Transformer
	// Engine's GroupedLinear holding weight0 … weightN−1), and each costs
	// the host its per-parameter backward bookkeeping, which launches no
	// kernel: Transformer Engine returns a placeholder gradient
	// (torch.empty in handle_custom_ddp_from_mcore, module/grouped_linear.py
	// and linear.py @ release_v2.9), autograd's AccumulateGrad node takes it
	// and runs the post-accumulation hook Megatron-Core's DDP registers on
	// every parameter (_make_backward_post_hook: param.grad = None,
	// register_grad_ready; distributed_data_parallel.py @ core_v0.15.0).
	w.HostCalls = max(f.Batch, 1)
	weights := units.Bytes(float64(f.Batch) * float64(f.K) * float64(f.N))
	if sh.UnfusedGradAccum {
		acc := memop(f.Name+"-grad-accum", weights*(e+2*g))
		if sh.GradAccumCast && sh.GradAccumCastIdle() == "" {
			// hp_grad.add_(lp.grad.to(fp32)): the cast reads e and writes
			// a 4-byte temporary, the add reads it and the buffer (8) and
			// writes the buffer (4): two kernels.
			acc = memop(f.Name+"-grad-accum", weights*(e+4+8+4))
			acc.Launches = 2
		}
		acc.WeightGrad = true
		return []Op{d, w, acc}
	}
	w.Bytes += weights * (2*g - e)
	return []Op{d, w}
}

func linear(o Op) Op {
	o.Linear = true
	return o
}

// EmbeddingOps returns the forward and backward kernels of the token and
// position embedding lookup for one micro-batch on one TP rank (the table is
// split over the vocabulary, Megatron's VocabParallelEmbedding).
//
// The table's gradient is dense (docs/model.md §7.22): PyTorch's embedding
// backward (F.embedding, which Megatron-Core's VocabParallelEmbedding calls,
// core_v0.8.0 megatron/core/tensor_parallel/layers.py l.234) allocates the
// whole V/t × h gradient zeroed (at::zeros in aten's cuda/Embedding.cu
// embedding_dense_backward_cuda up to 3072 tokens, in EmbeddingBackwardKernel.cu
// embedding_backward_cuda_kernel above) before it adds the tokens' rows in, and the
// framework adds that gradient into its gradient buffer (Megatron-Core's DDP
// hook, param.main_grad.add_(param.grad.data), distributed_data_parallel.py
// l.224): the zeroing writes e per table element, the add reads e + g and
// writes g (g: 4 with fp32 gradients, e with Grads16) — every micro-batch.
func (c Config) EmbeddingOps(sh Shard) (fwd, bwd []Op) {
	e := sh.Precision.ElementBytes()
	g := units.Bytes(4)
	if sh.Grads16 {
		g = e
	}
	hs := units.Bytes(float64(sh.Microbatch*c.SeqLen/sh.cp())*float64(c.Hidden)) * e
	table := units.Bytes(float64(c.Vocab/max(sh.TP, 1)) * float64(c.Hidden))
	zero := memop("embedding-grad-zero", table*e)
	grad := memop("embedding-bwd", 3*hs)
	acc := memop("embedding-grad-accum", table*(e+2*g))
	// The table's gradient; the first layer passes no input gradient on.
	zero.WeightGrad, grad.WeightGrad, acc.WeightGrad = true, true, true
	fwd, bwd = []Op{memop("embedding", 3*hs)}, []Op{zero, grad}
	if c.TiedEmbeddings && sh.PP <= 1 && !sh.Eager && !sh.MegatronKernels {
		// Tied and on one stage, Megatron-Core's output layer returns a
		// zeroed dummy gradient for the shared weight (zero_out_wgrad:
		// its weight gradient went into main_grad in the GEMM), which
		// autograd sums with the lookup's before the hook: write e
		// (zeros), read 2e and write e (the sum) per table element.
		d := memop("embedding-tied-dummy-grad", 4*table*e)
		d.WeightGrad = true
		bwd = append(bwd, d)
	}
	bwd = append(bwd, acc)
	if c.Position == PositionLearned {
		// The learned absolute table (Megatron-Core's
		// LanguageModelEmbedding, HF's GPT-2/OPT learned positions): its
		// lookup (read and write the s × h rows per sequence, 2X) and the
		// add to the token embedding (3X); backward, the add passes its
		// gradient to both without a kernel, and the s × h table's
		// gradient is dense like the token table's: zeroed (e), the
		// tokens' rows added in (3X), added into the buffer (e + 2g).
		pt := units.Bytes(float64(c.SeqLen) * float64(c.Hidden))
		pz := memop("position-grad-zero", pt*e)
		pg := memop("position-bwd", 3*hs)
		pa := memop("position-grad-accum", pt*(e+2*g))
		pz.WeightGrad, pg.WeightGrad, pa.WeightGrad = true, true, true
		fwd = append(fwd, memop("position-embedding", 2*hs), memop("position-add", 3*hs))
		bwd = append(bwd, pz, pg, pa)
	}
	if c.HiddenDropout > 0 {
		// Embedding dropout (Megatron's embedding_dropout, the hidden
		// dropout probability), after the scatter to sequence-parallel
		// ranks: read and write X, a 1-byte mask per element; backward
		// the same.
		x := hs
		if sh.SequenceParallel {
			x /= units.Bytes(max(sh.TP, 1))
		}
		fwd = append(fwd, memop("embedding-dropout", 2*x+x/e))
		bwd = append([]Op{memop("embedding-dropout-bwd", 2*x+x/e)}, bwd...)
	}
	return fwd, bwd
}

// LogitsOps returns the output layer (logits GEMM against the shared
// embedding, split over the vocabulary) and the cross-entropy loss for one
// micro-batch on one TP rank.
func (c Config) LogitsOps(sh Shard) (fwd, bwd []Op) {
	e := sh.Precision.ElementBytes()
	tokens := sh.Microbatch * c.SeqLen / sh.cp()
	v := c.Vocab / sh.TP
	logits := gemm("logits", 1, tokens, v, c.Hidden, e)
	// Megatron's vocab-parallel cross-entropy, kernel by kernel, over the
	// n = T·V/t logits: the cast to fp32 (read e, write 4 B), the row max
	// (read 4), subtracting it in place (read 4, write 4), exp in place
	// (read 4, write 4), the row sum (read 4) and the division that leaves the
	// softmax for the backward pass (read 4, write 4); backward, the softmax
	// times the incoming gradient in place (read 4, write 4) and the cast
	// back to 16 bit for the output layer (read 4, write e). The loss
	// gathers and all-reduces touch O(T) values and are left out.
	n := units.Bytes(float64(tokens) * float64(v))
	fwd = []Op{logits,
		memop("cross-entropy-cast", n*(e+4)),
		memop("cross-entropy-max", n*4),
		memop("cross-entropy-sub", n*8),
		memop("cross-entropy-exp", n*8),
		memop("cross-entropy-sum", n*4),
		memop("cross-entropy-softmax", n*8),
	}
	bwd = append([]Op{memop("cross-entropy-bwd", n*8), memop("cross-entropy-bwd-cast", n*(4+e))}, dgradWgrad(logits, sh)...)
	return fwd, bwd
}

// OptimizerOps returns the kernels of one mixed-precision Adam step, as
// Megatron-LM's fp16/bf16 optimizer runs it, over the shard parameters this
// GPU updates, params being all the parameters whose gradients it holds
// (equal without a distributed optimizer). Per shard parameter, with g the
// gradient buffer's bytes per element (4, or e with Shard.Grads16):
//   - 16-bit gradients only: copy into fp32 main gradients (read g, write 4);
//   - fp16 only (loss scaling): unscale and check for inf/NaN in place
//     (read 4, write 4);
//   - gradient norm for clipping (read 4);
//   - fused Adam: read gradient, master weight and two moments (16 B), write
//     master weight and moments (12 B);
//   - copy the master weights back to the 16-bit weights (read 4, write e).
//
// Then the gradient buffer of all params is zeroed for the next step (write
// g). fp32 gradients in fp16: 50 B per parameter; in bf16: 42 B.
func OptimizerOps(shard, params float64, sh Shard) []Op {
	e := float64(sh.Precision.ElementBytes())
	g := 4.0
	if sh.Grads16 {
		g = e
	}
	var ops []Op
	if sh.Grads16 {
		ops = append(ops, memop("grad-to-fp32", units.Bytes((g+4)*shard)))
	}
	if sh.Precision == units.FP16 {
		ops = append(ops, memop("unscale", units.Bytes(8*shard)))
	}
	return append(ops,
		memop("grad-norm", units.Bytes(4*shard)),
		memop("adam", units.Bytes(28*shard)),
		memop("params-to-16bit", units.Bytes((4+e)*shard)),
		memop("zero-grad", units.Bytes(g*params)),
	)
}

// FLOPsPerStep is the model FLOPs of one training step without recomputation
// (forward plus backward, 3× the forward), for batch sequences:
// 72·B·s·l·h²·(1 + s/6h) + 6·B·s·h·V for GPT, which is the SC21 paper's Eq. 3
// without the recomputed forward (its 96 becomes 72 on the layer terms; the
// logits were never recomputed), generalised to GQA, gated MLPs and any FFN
// width. MFU is measured against this.
func (c Config) FLOPsPerStep(batch int) units.FLOPs {
	return 3 * c.ForwardFLOPs(batch)
}

// ForwardFLOPs is the matrix-multiply FLOPs of one forward pass over batch
// sequences: projections, attention scores and context, MLP, and logits,
// and the multi-token-prediction modules' (mtpForwardFLOPs): model FLOPs
// count the MTP modules' work, as Megatron-Bridge's count does.
func (c Config) ForwardFLOPs(batch int) units.FLOPs {
	b, s, h := float64(batch), float64(c.SeqLen), float64(c.Hidden)
	var n [NumLayerKinds]float64
	for i := range c.Layers {
		n[c.KindOf(i)]++
	}
	per := func(k LayerKind) float64 { return c.layerForwardFLOPs(b, k) }
	layers := n[TransformerLayer]*per(TransformerLayer) + n[MoELayer]*per(MoELayer) +
		n[LocalTransformerLayer]*per(LocalTransformerLayer) + n[LocalMoELayer]*per(LocalMoELayer)
	return units.FLOPs(layers + 2*b*s*h*float64(c.Vocab) + c.mtpForwardFLOPs(b, s, per(c.MTPBlockKind())))
}

// layerForwardFLOPs is the matrix-multiply FLOPs of one layer of kind k's
// forward pass over b sequences. Attention: its linear layers (2 FLOPs per
// weight and token), and the scores and context products over the whole
// s × s square (the SC21 convention: causal masking is not discounted),
// heads × (head_dim + value dim) wide; a local layer's square is scaled by
// the share of the causal pairs its window keeps (CoreFraction), so that a
// local and a global layer are counted alike against the pairs they
// compute. A mixture-of-experts layer: the router (h × experts), each token
// through top_k experts and the shared experts; a dense one its MLP.
func (c Config) layerForwardFLOPs(b float64, k LayerKind) float64 {
	s, h := float64(c.SeqLen), float64(c.Hidden)
	m := float64(c.mlpMatrices())
	core := 2 * b * s * s * float64(c.Heads) * float64(c.HeadDim()+c.VDim())
	if f := c.CoreFraction(k); f < 1 {
		core *= f
	}
	attn := 2*b*s*float64(c.attnLinearWeights()) + core
	if !k.MoE() {
		return attn + 2*m*b*s*h*float64(c.FFNHidden)
	}
	fe := float64(c.ExpertFFN())
	return attn + 2*b*s*h*float64(c.Experts) + 2*m*b*s*h*fe*float64(c.TopK+c.SharedExperts)
}
