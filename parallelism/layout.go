package parallelism

// Schedule is a pipeline schedule.
type Schedule string

// The pipeline schedules trainsim replays.
const (
	GPipe       Schedule = "gpipe"
	OneFOneB    Schedule = "1f1b"
	Interleaved Schedule = "interleaved"
	// ZBH1 is the zero-bubble schedule ZB-H1 (Qi et al. 2024, "Zero Bubble
	// Pipeline Parallelism", ICLR, §2.1): 1F1B with each backward split
	// into the input gradient (B) and the weight gradient (W), the W passes
	// deferred to fill the cool-down bubble.
	ZBH1 Schedule = "zb-h1"
	// DualPipe is DeepSeek-V3's bidirectional schedule (arXiv:2412.19437
	// §3.2.1; dualpipe.go): each GPU holds stages s and pp−1−s, half the
	// micro-batches enter at each end, forward and backward chunks of
	// different micro-batches are paired so that one's communication runs
	// beside the other's compute, and some weight gradients are deferred.
	DualPipe Schedule = "dualpipe"
)

// Schedules lists the pipeline schedules (parallelism.schedule), in the order
// messages and the scenario reference list them.
func Schedules() []Schedule { return []Schedule{GPipe, OneFOneB, Interleaved, ZBH1, DualPipe} }

// Recompute is an activation recomputation policy (Korthikanti et al. 2022).
type Recompute string

// The recomputation policies.
const (
	RecomputeNone      Recompute = "none"
	RecomputeSelective Recompute = "selective" // re-run the attention core only
	RecomputeFull      Recompute = "full"      // re-run each layer's forward
	// RecomputeOpSAC is torchtitan's op-level selective checkpointing
	// (model.RecomputeOpSAC).
	RecomputeOpSAC Recompute = "op_sac"
)

// RecomputePolicies lists the recomputation policies (parallelism.recompute),
// in the order messages and the scenario reference list them.
func RecomputePolicies() []Recompute {
	return []Recompute{RecomputeNone, RecomputeSelective, RecomputeFull, RecomputeOpSAC}
}

// SearchedRecomputes lists the policies a layout search tries, from the
// least recomputation to the most: Korthikanti et al.'s three. op_sac is
// one framework's policy (torchtitan's), replayed where a run states it.
func SearchedRecomputes() []Recompute {
	return []Recompute{RecomputeNone, RecomputeSelective, RecomputeFull}
}

// Dispatcher is how the MoE layer's tokens reach their experts
// (moe.dispatcher).
type Dispatcher string

// The dispatchers.
const (
	// DispatcherAllToAll is NCCL's pairwise all-to-all (Megatron-Core's
	// "alltoall" token dispatcher): every routed copy for a GPU of another
	// node goes through the sender's NIC.
	DispatcherAllToAll Dispatcher = "alltoall"
	// DispatcherFlex is a node-level dispatch (Megatron-Core's "flex"
	// dispatcher with DeepEP or HybridEP): a token crosses the fabric once
	// to each destination node, to the GPU of the sender's local index,
	// which forwards it over NVLink to its experts' GPUs; the combine
	// mirrors it, reducing a node's partial outputs before they go back.
	DispatcherFlex Dispatcher = "flex"
)

// Dispatchers lists the MoE dispatchers (moe.dispatcher).
func Dispatchers() []Dispatcher { return []Dispatcher{DispatcherAllToAll, DispatcherFlex} }

// DefaultFlexSMs is the SMs the flex dispatcher's kernels take when
// moe.dispatcher_sms is not set: Megatron-Core's moe_deepep_num_sms
// default (20, TransformerConfig in megatron/core/transformer/
// transformer_config.py), which DeepEP's Buffer also defaults to.
const DefaultFlexSMs = 20

// ZeROStages lists the optimizer-sharding stages (parallelism.zero; see
// Layout.ZeRO).
func ZeROStages() []int { return []int{0, 1, 2, 3} }

// Flex reports whether the layout runs the node-level (flex) dispatcher.
func (l Layout) Flex() bool { return l.Dispatcher == DispatcherFlex }

// FlexSMs is the SMs the flex dispatcher's kernels take (DispatcherSMs,
// else DefaultFlexSMs).
func (l Layout) FlexSMs() int {
	if l.DispatcherSMs > 0 {
		return l.DispatcherSMs
	}
	return DefaultFlexSMs
}

// Layout is how a training job is split over the GPUs.
type Layout struct {
	TP, PP, DP, CP, EP int
	// ETP is the expert tensor-parallel degree (parallelism.etp; 0 or 1:
	// none): each expert's MLP split over ETP ranks of the expert
	// sub-mesh (etp × ep × expert-dp × pp).
	ETP int
	// Skew is the hottest expert-parallel rank's routed tokens over the
	// mean (moe.skew; 0 or 1: balanced).
	Skew float64
	// CapacityFactor caps each expert's tokens at this multiple of the
	// balanced share, dropping the rest (moe.capacity_factor; 0: dropless).
	CapacityFactor float64
	// MoEOverlap overlaps the MoE all-to-alls with computation
	// (moe.overlap).
	MoEOverlap bool
	// DispatchFP8 sends the token dispatch and the combine's gradient in
	// FP8 (moe.dispatch_fp8; DeepSeek-V3 §3.3.4).
	DispatchFP8 bool
	// Dispatcher is the MoE token dispatcher (moe.dispatcher; empty:
	// DispatcherAllToAll).
	Dispatcher Dispatcher
	// DispatcherSMs is the SMs the flex dispatcher's kernels take from
	// computation while they run beside it (moe.dispatcher_sms; 0:
	// DefaultFlexSMs). Read with DispatcherFlex only.
	DispatcherSMs int
	// Microbatch is the micro-batch size in sequences.
	Microbatch int
	Schedule   Schedule
	// VirtualStages is the number of model chunks per GPU (interleaved schedule).
	VirtualStages    int
	SequenceParallel bool
	Recompute        Recompute
	// RecomputeModules names, with Recompute = selective, the modules it
	// re-runs (model.ParseModules: "layernorm, moe_act"); "" is
	// Megatron-Core's default, the attention core (core_attn).
	RecomputeModules string
	// ZeRO is the optimizer-sharding stage: 0 none, 1 optimizer state (the
	// distributed optimizer), 2 also gradients, 3 also parameters.
	ZeRO int
	// OverlapGradReduce overlaps the data-parallel gradient reduction with the
	// backward pass of the last micro-batch.
	OverlapGradReduce bool
	// TPOverlap overlaps tensor-parallel communication with GEMMs.
	TPOverlap bool
	// AsyncTPAllReduce runs each column-parallel layer's input-gradient
	// all-reduce beside its weight-gradient GEMM (Megatron-LM's
	// --async-tensor-model-parallel-allreduce; model.Shard.AsyncDgrad).
	// No effect with sequence parallelism, context parallelism or TP 1.
	// Scenario key parallelism.async_tp_allreduce.
	AsyncTPAllReduce bool
	// PPOverlap runs pipeline sends beside computation; when false a stage
	// waits for its own sends, as Megatron-LM did until 2022 (it called
	// torch.cuda.synchronize() after each batch of point-to-point ops).
	PPOverlap bool
	// NoPPScatterGather sends whole activations between pipeline stages from
	// every TP rank, as Megatron-Core does since 2023; false, the default,
	// is Megatron-LM's scatter/gather (a 1/t slice each, all-gathered over
	// NVLink by the receiver). Without TP or with sequence parallelism the
	// two are the same. Scenario key parallelism.pp_scatter_gather (its
	// negation).
	NoPPScatterGather bool
	// ZeRO1AllReduce reduces the gradients of a ZeRO-1 layout with an
	// all-reduce, every rank receiving every reduced gradient and updating
	// its shard of the optimizer state, instead of a reduce-scatter, as
	// DeepSpeed's BF16_Optimizer does in its pipeline engine
	// (_bf16_reduce_grads → buffered_allreduce_fallback over the fp32
	// gradients, deepspeed/runtime/pipe/engine.py @56c522386). The
	// parameters' all-gather after the step is unchanged. Read only with
	// ZeRO = 1. Scenario key parallelism.zero1_allreduce.
	ZeRO1AllReduce bool
	// ZeROFP32Reduce reduce-scatters ZeRO-2/3's per-micro-batch gradients
	// in fp32 (PyTorch FSDP with reduce_dtype float32: torchtitan's
	// training.mixed_precision_reduce default, torchtitan/config_manager.py
	// @9dec370; Composer's DEFAULT mixed precision, mosaicml/composer
	// @fb1dd382 composer/trainer/mosaic_fsdp_utils.py get_mixed_precision);
	// false: the 16-bit gradients, as DeepSpeed reduces them (its
	// communication_data_type defaults to the training precision). Read
	// only with ZeRO = 2 or 3. Scenario key parallelism.zero_fp32_reduce.
	ZeROFP32Reduce bool
	// ZeRO3RankLoops prices ZeRO-3 as DeepSpeed 0.3–0.4 (2021) ran it on
	// PyTorch ≤ 1.8: every parameter gather and gradient reduce-scatter
	// loops over the data-parallel ranks on the host (one view per rank in
	// DeepSpeed's Python, one copy kernel per rank in c10d's list-form
	// collective), tensors under DeepSpeed's persistence threshold stay
	// gathered, and after every optimizer step those are re-gathered with a
	// Python loop over tensors and ranks (zero3loops.go). Read only with
	// ZeRO = 3. Scenario key parallelism.zero3_rank_loops.
	ZeRO3RankLoops bool
	// PipelineLayout places the transformer layers, the embedding, the
	// loss and the multi-token-prediction modules on the virtual stages by
	// hand, in Megatron-Core's string form ("Etttt|(tttt|)*14tmL";
	// parallelism.pipeline_layout, pipelinelayout.go); "" is the remainder
	// rule of LayersOf.
	PipelineLayout string
}
