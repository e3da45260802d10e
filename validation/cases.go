package validation

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"trainsim/scenario"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
	"trainsim/units"
)

// Metric names what a case's prediction is compared on.
type Metric string

// The metrics, in the units the reports show them in.
const (
	// StepTime is the wall-clock of one optimizer step, in seconds.
	StepTime Metric = "step_time_s"
	// HardwareTFLOPs is FLOP/s per GPU counting recomputation, in TFLOP/s,
	// as the SC21 paper and the Megatron-LM README (2021) count them.
	HardwareTFLOPs Metric = "hardware_tflops_per_gpu"
	// ModelTFLOPs is FLOP/s per GPU without recomputation, in TFLOP/s.
	ModelTFLOPs Metric = "model_tflops_per_gpu"
	// TokensPerGPU is tokens per second per GPU.
	TokensPerGPU Metric = "tokens_per_s_per_gpu"
	// MFU is model FLOPs utilisation, in percent of the dense peak.
	MFU Metric = "mfu_pct"
	// LayerForward and LayerBackward are the time of one transformer layer's
	// forward and backward pass for one micro-batch, in milliseconds.
	LayerForward  Metric = "layer_forward_ms"
	LayerBackward Metric = "layer_backward_ms"
)

// Label is a short human name for the metric, with its unit.
func (m Metric) Label() string {
	switch m {
	case StepTime:
		return "step time (s)"
	case HardwareTFLOPs:
		return "TFLOP/s/GPU incl. recompute"
	case ModelTFLOPs:
		return "model TFLOP/s/GPU"
	case TokensPerGPU:
		return "tokens/s/GPU"
	case MFU:
		return "MFU (%)"
	case LayerForward:
		return "layer fwd (ms)"
	case LayerBackward:
		return "layer bwd (ms)"
	case RLStep:
		return "RL step (s)"
	case RLGeneration:
		return "generation (s)"
	case RLTraining:
		return "training (s)"
	case RLEpoch:
		return "epoch (h)"
	}
	return string(m)
}

// Auto marks a recomputation policy the source does not give: the replay
// picks the least recomputation that fits in memory.
const Auto = "auto"

// Knobs is a case's parallel layout as the replay uses it.
type Knobs struct {
	TP, PP, DP, Microbatch int
	// CP, EP and ETP are the context-, expert- and expert-tensor-parallel
	// degrees (1 when the case has none).
	CP, EP, ETP int
	// MoEOverlap overlaps the MoE all-to-alls with computation.
	MoEOverlap bool
	// DispatchFP8 sends the dispatch and the combine's gradient in FP8.
	DispatchFP8      bool
	Schedule         parallelism.Schedule
	VirtualStages    int
	SequenceParallel bool
	// Recompute is "none", "selective", "full", or Auto.
	Recompute string
	// RecomputeModules is, with Recompute "selective", the modules it
	// re-runs (parallelism.recompute_modules; "": the attention core).
	RecomputeModules  string
	ZeRO              int
	OverlapGradReduce bool
	TPOverlap         bool
	PPOverlap         bool
	// PPScatterGather is Megatron-LM's pipeline scatter/gather, which
	// Megatron-Core dropped in 2023.
	PPScatterGather bool
	// PipelineLayout is the per-stage placement (Megatron-Core's string,
	// parallelism.pipeline_layout); "" is the remainder rule.
	PipelineLayout string
	// ZeRO1AllReduce reduces a ZeRO-1 layout's gradients with an
	// all-reduce (parallelism.zero1_allreduce).
	ZeRO1AllReduce bool
	// ZeROFP32Reduce reduce-scatters a ZeRO-2/3 layout's gradients in
	// fp32 (parallelism.zero_fp32_reduce: PyTorch FSDP's reduce_dtype).
	ZeROFP32Reduce bool
}

// String is a compact description: "TP8 PP8 DP1 mb1 interleaved×3 SP selective ZeRO-0".
func (k Knobs) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "TP%d PP%d DP%d", k.TP, k.PP, k.DP)
	if k.CP > 1 {
		fmt.Fprintf(&b, " CP%d", k.CP)
	}
	if k.EP > 1 {
		fmt.Fprintf(&b, " EP%d", k.EP)
	}
	if k.ETP > 1 {
		fmt.Fprintf(&b, " ETP%d", k.ETP)
	}
	fmt.Fprintf(&b, " mb%d %s", k.Microbatch, k.Schedule)
	if k.Schedule == parallelism.Interleaved {
		fmt.Fprintf(&b, "×%d", k.VirtualStages)
	}
	if k.SequenceParallel {
		b.WriteString(" SP")
	}
	fmt.Fprintf(&b, " %s", k.Recompute)
	if k.RecomputeModules != "" {
		fmt.Fprintf(&b, "(%s)", strings.ReplaceAll(k.RecomputeModules, " ", ""))
	}
	if k.ZeRO > 0 {
		fmt.Fprintf(&b, " ZeRO-%d", k.ZeRO)
	}
	if k.MoEOverlap {
		b.WriteString(" a2a-overlap")
	}
	if k.DispatchFP8 {
		b.WriteString(" fp8-dispatch")
	}
	return b.String()
}

// Shape is a model's shape as the case gives it (zero: not given).
type Shape struct {
	Layers, Hidden, Heads, KVHeads, FFNHidden, SeqLen, Vocab int
	// HeadDim is the attention head width where the case gives it.
	HeadDim int
	// The mixture-of-experts fields: routed experts (0: dense), experts
	// per token, one expert's width, shared experts, leading dense layers.
	Experts, TopK, MoEFFN, SharedExperts, DenseLayers int
	// MTPDepth is the multi-token-prediction modules the run trains.
	MTPDepth int
}

// LayerRow is one row of a per-layer timing table (Korthikanti et al. 2022,
// Table 4): a recomputation / sequence-parallel choice and the measured
// forward and backward time of one layer.
type LayerRow struct {
	Name                  string
	Recompute             parallelism.Recompute
	SequenceParallel      bool
	ForwardMS, BackwardMS float64
}

// Case is one published measurement and how it is replayed.
type Case struct {
	ID, Group, Confidence, Source string
	// ModelName is the model as the source names it.
	ModelName string
	Shape     Shape
	// Preset is the built-in model whose shape filled the fields the source
	// does not give ("" when every field was given).
	Preset string
	// LinearBias marks a model built from the source's fields alone (no
	// preset) that the source names as a GPT model: its linear layers carry
	// biases (the GPT-name rule, docs/model.md §7.27), and it trains with
	// NeMo's GPT-3 properties: dropout 0.1 on the attention and the hidden
	// states, a learned position table, a tied output layer (§7.28).
	LinearBias bool
	// System is the built-in node type; GPUs and Nodes size the cluster.
	System      string
	GPUs, Nodes int
	// Generation is "a100" or "h100": the hardware and software era the
	// attention and overlap rules follow.
	Generation  string
	Knobs       Knobs
	GlobalBatch int
	Precision   units.Precision
	// FP8Recipe is the FP8 scaling recipe the source names ("" where it
	// names none: Megatron-Core's default, delayed).
	FP8Recipe model.FP8Recipe
	Attention model.Attention
	// Year is the first year the source names (its software's date); 0
	// when it names none.
	Year int
	// GradAccumFusion is false for software from before Megatron-LM's
	// gradient-accumulation fusion (sources of 2021 and earlier).
	GradAccumFusion bool
	// FP32Grads is false for fp16 runs of sources of 2021 and earlier,
	// whose Megatron-LM kept gradients in 16 bit by default.
	FP32Grads bool
	// RecomputeDefault is the recomputation the framework that produced the
	// number uses by default ("none" for Megatron-LM, Megatron-Core and NeMo 24.07);
	// an unknown policy starts from it.
	RecomputeDefault string
	// Stack is the software stack (software.stack) the case's source and
	// date map to; the scenario names it.
	Stack string
	// spUnknown is set when the source leaves sequence parallelism unknown:
	// the stack's default, else tp > 1, decides it.
	spUnknown bool
	spSource  string
	// fsdp is set when the case's sharding names PyTorch FSDP (zero or
	// sharding_strategy: FULL_SHARD, SHARD_GRAD_OP, fully_shard, FSDP) or
	// it gives Composer's FSDP mixed-precision mode; fsdpReduce is that
	// mode's gradient-reduction width ("16" for PURE, "32" for DEFAULT
	// and FULL, "" when not given).
	fsdp       bool
	fsdpReduce string
	// noShard is set when the case states FSDP's NO_SHARD: zero 0 that
	// the stack's default does not replace.
	noShard bool
	// compile is the case's compile field (torch.compile), as given.
	compile any
	// Eager runs the layers' element-wise work one PyTorch kernel per
	// tensor operation (training.eager_elementwise): a torchtitan or
	// Accelerate run without torch.compile.
	Eager bool
	// EagerCE computes the loss as PyTorch's eager cross-entropy on the
	// fp32 logits (training.eager_cross_entropy): the pytorch-fsdp stack's,
	// but not llm-foundry's fused one.
	EagerCE bool
	// PPKeepOutputs keeps every micro-batch's stage output until the step
	// ends (training.pp_keep_outputs): torchtitan under pipeline
	// parallelism, on torch.distributed.pipelining.
	PPKeepOutputs bool
	// FlashKernel is the flash-attention kernel the rules read from the
	// case's Transformer Engine era on Hopper (training.flash_kernel); ""
	// leaves the stack's.
	FlashKernel string
	// free is set when the source leaves tp or pp unknown: the layout is
	// the fastest the search finds within what the source states
	// (layoutsearch.go); nil otherwise.
	free *freeLayout
	// GPUsPerNode overrides the system's GPUs per node (one NVLink domain)
	// where a rule gives the domain size, for a run on part of one node, or
	// where the source states another node size (0: the system's).
	GPUsPerNode int
	// NICsPerNode is the inter-node NICs per node the source states (its
	// per-node inter-node bandwidth over the system's NIC bandwidth); 0
	// keeps the system's.
	NICsPerNode int
	// NVLinkGBps is the NVLink bandwidth per direction of a GPU whose NVLink
	// differs from its node's (the A800's 200 GB/s); 0 keeps the node's.
	NVLinkGBps float64
	// HBM is the GPU memory the source states where it differs from the
	// system's GPU (cluster.gpu.hbm); 0 keeps the system's.
	HBM units.Bytes
	// perNode is the node size while the GPU count waits for the layout
	// (gpus unknown); 0 once the cluster is sized.
	perNode int
	// Metric and Measured are what the prediction is compared with.
	Metric   Metric
	Measured float64
	// Rows holds the per-layer table when the case is one (Metric is then
	// LayerForward, and each row is scored forward and backward).
	Rows []LayerRow
	// Replayable is false when the case cannot be replayed (layout unknown,
	// model shape incomplete, no measured metric); Why says why.
	Replayable bool
	// Scored is false for cases that are listed only; Why says why.
	Scored bool
	Why    string
	// Assumptions lists the rules this case needed, each naming the value
	// the source gave and the value the replay used.
	Assumptions []string
}

// Rules returns the general rules that fill what a source leaves unknown;
// they are the same for every case, and reports print them.
func Rules() []string {
	return []string{
		"hardware: a GPU named A100 → system dgx-a100-80gb (dgx-a100-40gb where 40GB, or a DGX A100's 320GB, is stated; a stated size wins over the system's), H100 → dgx-h100, H200 → dgx-h200, H800 → hgx-h800, B200 → dgx-b200, GB200 → gb200-nvl72 when the GPUs are whole 72-GPU NVLink domains; a GB200 run whose system description counts the NVL72 racks it ran on (MLPerf's system_name \"Tyche (8x NVIDIA GB200 NVL72)\" with its number_of_nodes, mlcommons/training_results_v5.0 @0fdc28f0 systems/*.json) → racks of GPUs ÷ racks used GPUs each when the racks divide the GPUs into whole nodes of at most 72 GPUs (512 GPUs on 8 racks → 64 per rack), one NIC per GPU; else a GB200 run of Megatron-Bridge's or NeMo's (release 25.04 or later) performance scripts on 4-GPU nodes that are not → racks of segment × 4 GPUs, the segment those scripts give Slurm (Megatron-Bridge executors.py @ 5776a6d9, NeMo scripts/performance/utils.py @ v2.3.0: the node count up to 18, else its largest divisor up to 18: 256 GPUs → 64 per rack), one NIC per GPU; else not replayed (the domain size is not stated); a vendor, cloud or MLPerf-style system naming one of them (\"NVIDIA DGX H100 (Eos)\", \"Azure ND H100 v5\", \"8x A100 80GB SXM\", \"dgxh100_n64\") or documenting one (AWS p4d → A100 40GB with 400 Gb/s per node, p4de → A100 80GB with 400 Gb/s, p5 → H100, p5e/p5en → H200; Azure ND A100 v4 / ND96asr → A100 40GB, NDm A100 v4 / ND96amsr → A100 80GB; Google a2-highgpu/megagpu → A100 40GB, a2-ultragpu → A100 80GB, a3-highgpu/megagpu/edgegpu → H100, a3-ultragpu → H200; Selene → DGX A100 80GB; Eos → DGX H100) → that GPU's DGX/HGX node, said in the case (also for a PCIe or NVL card, replayed on the SXM node, and for a GPU name followed by more than a size, a form factor or a note in parentheses, \"A100-class GPUs\"); the gpu field first, then system, system_name, accelerator, accelerator_model_name, node, node_type, instance, instance_type, machine, platform, cluster; A800 → dgx-a100-80gb with its 200 GB/s NVLink per direction (cluster.nvlink.bandwidth); a per-GPU memory size the field that names the GPU states, other than the system's GPU's and between half and twice it (\"H100 96GB HBM2e\" of Meta's Grand Teton, \"H100 NVL 94GB\", \"H200 141GB\"; a node's total such as a DGX H100's 640GB is not a GPU's) → cluster.gpu.hbm that size (N GB read as N GiB, as the presets read a marketed size: the 80 GB H100 is 80 GiB), the preset's compute, bandwidth and driver reservation kept (the A100's 40GB and 80GB parts are the two systems above); any other GPU (V100, H20, GH200, TPU, MI250X) → not replayed; gpus, nodes, gpus_per_node, tp, pp, dp, cp and ep: a count followed by a space or a note (\"1024 (128 nodes)\") is the count, \"1,024\" or \"8-way\" is not; gpus unknown → nodes × gpus_per_node when nodes is given, else tp·pp·dp·cp when dp is given, else not replayed; fewer GPUs than a node → one node of that many GPUs (cluster.gpus_per_node); a stated gpus_per_node other than the system's → that node size; otherwise nodes = GPUs / gpus_per_node (8); H200, H800, B200 and GB200 cases follow the H100 (Megatron-Core era) rules below",
		"network: a stated inter-node bandwidth per node (inter_node_Gbps_per_node…), else the cloud system's documented one (above) → nics_per_node = that ÷ the system's NIC bandwidth (200 Gb/s HDR on DGX A100, 400 Gb/s NDR on DGX H100 and H200) when it divides into whole NICs; otherwise the system's one NIC per GPU (8 on its 8; a node size other than the system's keeps that ratio: the scenario scales the NICs to cluster.gpus_per_node, docs/scenario.md)",
		"software stack: the source and its date pick software.stack, and the case takes from the stack (scenario/software.go, which documents each) every behaviour it does not state itself — overlaps, pipeline scatter/gather, gradient accumulation fusion and precision, attention kernel, distributed optimizer, default recomputation, sequence parallelism: a source naming one of PyTorch's own FSDP trainers (torchtitan, llm-foundry, Composer, Hugging Face Accelerate, PyTorch FSDP / FSDP2), or a sharding stated in FSDP's words (zero below) or Composer's FSDP mixed-precision mode → pytorch-fsdp (ZeRO-3 with per-block gathers and reduce-scatters beside the computation, fp32 reduce-scatters, flash attention by FlashAttention-2 (flash_kernel fa2: PyTorch SDPA's flash backend, llm-foundry's flash-attn 2 or Triton kernel, not the cuDNN kernel Transformer Engine picks on Hopper), eager PyTorch kernels: scenario/software.go); ZeRO-3 dated 2021 or earlier → deepspeed-zero3-2021; Megatron-DeepSpeed (or both DeepSpeed and Megatron) named → megatron-deepspeed; Megatron-Bridge → megatron-core-2024 (it trains with Megatron-Core); NeMo → nemo-24.07; other H100, H800, B200 and GB200 cases → megatron-core-2024; A100 cases dated before 2021-04-09 (the SC21 paper, arXiv 2104.04473, introduced the pipeline scatter/gather) → megatron-lm-2021-01, dated 2021 (the first year the source names) → megatron-lm-2021, later → megatron-lm-2022. The stack's precision is not used (see precision)",
		"model: shape fields as given (a count followed by a note, \"12288 (provider ffn_hidden_size …)\", is the count; ffn is ffn_hidden); experts, experts_per_token, moe_ffn, shared_experts, head_dim as given; moe_layers \"all …\" → no dense layers, \"all except the first N …\" → N dense layers, another form → not replayed; the built-in model preset that matches every given field (then, if none does, every field but seq_len; preferring a preset whose name appears in the case's model name, then name order) fills the fields the source leaves unknown and the structure it does not describe (SwiGLU MLP, multi-head latent attention, sliding-window attention: GPT-OSS's 128-token window on alternate layers, docs/model.md §7.42); no preset matches and the source names a GPT model (the name begins with GPT, not GPT-OSS) → linear biases (Megatron-Core's add_bias_linear default; NeMo's build_transformer_config reads cfg.get('bias', True), and no GPT-3 configuration of NeMo-Framework-Launcher sets it; docs/model.md §7.27); kv_heads naming MLA with no matching MLA preset → not replayed; a required field unknown and no match → not scored",
		"multi-token prediction: a run that trains an MTP module (a row labelled \"w/ MTP\", or a model with an mtp field whose row does not say \"w/o MTP\") → model.mtp_depth as the mtp field states (\"depth N\"), else 1 (DeepSeek-V3's, arXiv:2412.19437 §2.2, and Megatron-Bridge's recipe default); a \"w/o MTP\" row → 0",
		"pipeline layout: as the case states (pipeline_layout, Megatron-Core's string); else a Megatron-Bridge DeepSeek-V3 run with a (pp, vp) its recipe lists (deepseek_v3.py @ 5776a6d9: (4,1) 16/16/13, (8,1) and (4,2) 8/8/5, (16,1), (8,2) and (4,4) 4/4/1 decoder layers on the first, each middle and the last virtual stage) → that layout, the embedding in the first stage, the MTP modules and the loss in the last; otherwise the replay's even split (the remainder one layer each to virtual stages 1, 2, …, each MTP module counted as a layer of the last virtual stage, which runs it; docs/model.md §3.1)",
		"precision: FP8 → fp8; PyTorch's Float8 (torchao's Float8Linear, torchtitan's Float8: dynamic scaling from each tensor's current amax) → fp8 with fp8_recipe tensorwise; bf16 named → bf16 (amp_bf16 too); otherwise (16-bit, mixed, fp16, half, unknown) fp16 on A100 (Megatron-LM 2021–22 ran --fp16) and bf16 on H100. FP8 recipe (training.fp8_recipe): FP8-MX or MXFP8 named → mxfp8, FP8-CS or current scaling → tensorwise, 1×128 / 128×128 blocks → blockwise, otherwise Megatron-Core's default, delayed",
		"microbatch: unknown → 1 (a count followed by a note is the count)",
		"cp: as given, unknown → 1; ep: as given (a mixture-of-experts case without it → not replayed); etp: as given, unknown → tp (Megatron-Core's default expert_tensor_parallel_size); fsdp > 0 → not replayed (Megatron FSDP is not modelled)",
		"global_batch: a ramp \"A -> B …\" → B, the batch most of the run goes at",
		"moe.overlap: on when ep_overlap says true (Megatron-Bridge's moe_a2a_overlap) or the schedule is DeepSeek's DualPipe",
		"moe.dispatch_fp8: on when dispatch_precision names FP8, or for DeepSeek's own framework (the DualPipe schedule) training in FP8 (DeepSeek-V3 §3.3.4: the activations before the up-projections and the gradients before the down-projections are dispatched in FP8, the combines kept in BF16)",
		"schedule: a vp naming DualPipe → dualpipe (DeepSeek-V3 §3.2.1: each GPU holds stages s and pp−1−s, micro-batches fed in at both ends, forward and backward chunks of different micro-batches overlapped)",
		"sequence_parallel: unknown → the stack's default where it sets one (megatron-deepspeed: off), else on when tp > 1, else off",
		"interleave (or vp where interleave is absent): \"yes, N …\" or an integer N → interleaved with N model chunks; \"yes\" without a count → interleaved with the largest v in {2, 3, 4} such that layers % (pp·v) = 0 and micro-batches % pp = 0, else 1f1b; \"no\", \"not stated\", \"unknown\", false → 1f1b; pp = 1 → 1f1b",
		"zero: \"ZeRO-N …\" → N; PyTorch FSDP's words in zero (else sharding_strategy): FULL_SHARD, FSDP2's fully_shard or FSDP alone → 3 (FULL_SHARD is FSDP's default sharding_strategy), SHARD_GRAD_OP → 2, NO_SHARD → 0, hybrid sharding (HYBRID_SHARD, HSDP: sharded inside a group, replicated across) → not replayed; unknown → the stack's (1 for megatron-core-2024 and nemo-24.07: the distributed optimizer that --overlap-param-gather requires and NeMo's distributed_fused_adam is), else 0; a torchtitan run with pp > 1 read as 3 → 1: torchtitan turns FSDP's reshard_after_forward off for every block and the root whenever pipeline parallelism is on (apply_fsdp, torchtitan/parallelisms/parallelize_llama.py @9dec370; the \"default\" of the later fsdp_reshard_after_forward option, 5940ddeb 2025-02-06, is the same), and torch.distributed.pipelining runs every micro-batch's backward with reshard_after_backward and gradient sync off, the unsharded gradients accumulated in the fp32 reduce_dtype, and reduce-scatters them once after the stage's last backward (stage.py backward_maybe_with_nosync, pytorch/pytorch PR #134052, 2024-08): full 16-bit weights and full gradients through the step, one all-gather and one reduce-scatter per step, the combination FSDP2's set_reshard_after_backward PR calls ZeRO-1 (pytorch/pytorch PR #124319)",
		"data-parallel implementation: stack megatron-lm-2021 or -2021-01 with pp = 1 and no ZeRO → overlap_grad_reduce true (Megatron-LM's authors ran those with PyTorch DDP, --DDP-impl torch, in examples/sc21/run_table_1.sh; it all-reduces buckets during the last micro-batch's backward pass) — for megatron-lm-2021-01 only when a step has one micro-batch (global batch = dp × micro-batch): its training.py (@152aab304d) asserts --DDP-impl local whenever there are more, a restriction lifted on 2021-02-26 (merge torch_ddp); with pp > 1 the stack's false (--DDP-impl local: one all-reduce after the backward pass)",
		"gradient precision: the stack's fp32_grads (false for the 2021 Megatron-LM, Megatron-DeepSpeed and ZeRO-3 stacks: 16-bit gradient buffer and reduction, the default with --fp16); nemo-24.07 false (grad_sync_dtype=bf16 in NeMo-Framework-Launcher 24.07's H100 training examples and NVIDIA's DGX Cloud Benchmarking GPT-3 175B configuration); a bf16 or FP8 run of another stack → fp32_grads true whatever the stack says (Megatron-LM forces fp32 accumulation and reduction with bf16); Composer's FSDP mixed precision (fsdp_mixed_precision, llm-foundry's \"MP Mode\") PURE → fp32_grads false and zero_fp32_reduce false (reduce_dtype = the 16-bit precision), DEFAULT or FULL → fp32 (mosaicml/composer@fb1dd382 composer/trainer/mosaic_fsdp_utils.py get_mixed_precision); the pytorch-fsdp stack otherwise reduce-scatters in fp32 (zero_fp32_reduce: torchtitan's training.mixed_precision_reduce default float32, torchtitan/config_manager.py @9dec370); a bf16 Megatron-DeepSpeed run with ZeRO-1 → zero1_allreduce true (DeepSpeed's pipeline engine runs bf16 through BF16_Optimizer, microsoft/DeepSpeed PR #1801, whose _bf16_reduce_grads all-reduces the fp32 gradients before each rank updates its shard)",
		"recompute: \"full …\", \"yes …\", true, \"on\", activation or gradient checkpointing, --checkpoint-activations, \"activation recomputation\" → full; \"selective …\" or --recompute-activations (Megatron-LM sets granularity selective for it) → selective; \"none\", \"no …\", false, \"off\" → none; unknown → the framework's default if it fits in memory, else the least more that fits (none, then selective, then full; the case says which). Defaults (the stack's recompute): Megatron-LM and Megatron-Core none (--recompute-granularity unset); nemo-24.07 none too (activations_checkpoint_granularity: null in every GPT-3 and Llama configuration of NeMo-Framework-Launcher's 24.07 tag, conf/training/gpt3/*.yaml and conf/training/llama/*.yaml, and in NVIDIA's DGX Cloud Benchmarking GPT-3 175B configuration; the selective of conf/training/gpt3/175b.yaml and 20b.yaml lasted from 5aeb4ab8 to 5d011e3b, 2023); Megatron-Bridge none (its performance configurations list the modules they recompute). Megatron-Core's recompute modules named by their own names (\"selective modules layernorm, moe_act\", \"mla_up_proj\", \"mla_up_proj, mlp\", as Megatron-Bridge's performance configurations list them) → selective with parallelism.recompute_modules set to them (the attention core is then not recomputed, as in Megatron-Core, whose recompute_modules replaces its default [\"core_attn\"]); DeepSeek-V3's own words (\"RMSNorm and MLA up-projection recomputed in backward\", §3.2.4: every RMSNorm and the MLA up-projections recomputed, their outputs not kept) → selective with recompute_modules layernorm, mla_up_proj; other module lists in other words → none: cheap kernels; torchtitan's op-level selective checkpointing (\"selective op\", selective_ac_option 'op') → op_sac (torchtitan @9dec370 parallelize_llama.py _save_list: wq, wv, w1, w2 and the flash-attention outputs kept, wk, wo, w3 and the memory-bound kernels re-run); a checkpoint of every Nth layer only (torchtitan's \"selective layer\", selective_ac_option N) → not replayed (no policy expresses it)",
		"attention kernel of a Transformer Engine stack (megatron-core-2024, nemo-24.07) on Hopper (H100, H200, H800), read from the source and notes: TE prefers cuDNN's fused attention to flash-attn on sm90 only from NVIDIA/TransformerEngine commit 32db39288 (2023-12-07, first released in v1.2 of 2023-12-15; attention.py \"Select FusedAttention on sm90 and FlashAttention on others for performance\"); before it TE ran flash-attn whenever flash-attn supported the shape (v1.1 and TE @09ba8427: the flash-attn branch comes before the fused one). So a stated NVTE_FUSED_ATTN=0 (TE's cuDNN attention switched off), a stated Transformer Engine version before 1.2 (release_v0.8, v1.1) or commit dated before 2023-12-07, or a source dated before 2023-12-07 → TE ran flash-attn; its version as stated (flash-attn 2.x, flash_attn==1.x, \"flash-attention 2\"), else FlashAttention-1 for a source dated before flash-attn 2.0.0 (2023-07-17), else FlashAttention-2 under NVTE_FUSED_ATTN=0 with TE v1.3 or later (whose setup.py requires flash-attn ≥ 2.0.6) → FlashAttention-2: training.flash_kernel fa2 (docs/model.md §7.49, §7.53); FlashAttention-1 or a version not stated → the fused kernel's rate, said in the case (no H100 measurement of FlashAttention-1 is published); everything else (TE v1.2 or later, or the era unknown) → fused",
		"eager element-wise kernels: a torchtitan or Hugging Face Accelerate run without torch.compile (compile false, 0, unknown or absent: torchtitan's training.compile defaults to false; an integer other than 0 or 1 is read as unknown, and said) → training.eager_elementwise true (torchtitan/models/llama/model.py and models/norms.py @9dec370: RMSNorm on x.float() in pieces, rotary embedding through fp32 complex numbers, F.silu(w1 x) · w3 x, one kernel per tensor operation); compile true, 1, \"1\" or a text starting yes / true / on / torch.compile / compiled → the fused kernels (Inductor fuses them)",
		"loss: the pytorch-fsdp stack computes it as PyTorch's eager cross-entropy on the fp32 logits (training.eager_cross_entropy true: torchtitan's loss_fn, cross_entropy(pred.flatten(0, 1).float(), …), not compiled at train.py @9dec370 (e8977b007, 2024-12-18, turned its compilation off) and upcast in the model at @3faaa1a0; Hugging Face transformers' ForCausalLMLoss, logits.float(), src/transformers/loss/loss_utils.py @0114da07); memory only; a source naming llm-foundry → false (its MPT loss is flash-attn's fused cross-entropy, loss_fn 'fused_crossentropy' by default, llmfoundry/models/mpt/modeling_mpt.py @5e85bd62)",
		"pipeline outputs: a torchtitan run with pp > 1 → training.pp_keep_outputs true: torch.distributed.pipelining appends every micro-batch's stage output to the stage's output_chunks, emptied only by the next step's clear_runtime_states, on every stage from PR #138504 (2024-10-21, which keeps the last stage's outputs, detached, for the step's merged return) to PR #153383 (2025-05-13, the last stage only) (torch/distributed/pipelining/stage.py forward_one_chunk, schedules.py step); memory only",
		"dp: as given; unknown → GPUs / (tp·pp·cp); tp \"none …\" → 1",
		"metric: iteration_s when numeric → step time; else tflops_per_gpu → FLOP/s per GPU counting recomputation (SC21, README 2021), or model FLOP/s per GPU where the case also gives an MFU (README 2024); else tokens_per_s_per_gpu → tokens/s per GPU (NeMo); else model_tflops_per_gpu → model FLOP/s per GPU (NVIDIA's model FLOPs, no recompute); else mfu → MFU; else gpu_hours_per_trillion_tokens → tokens/s per GPU = 10¹² / (GPU-hours × 3600)",
		"error: (predicted − measured) / measured, for every metric; MAE is the mean of |error|, bias the mean of error",
		"model-parallel size: tp and pp unknown, model_parallel_size (tp·pp) stated → tp the largest power of two dividing it and the heads, at most a node's GPUs, pp the rest when it divides the layers (tensor parallelism inside a server, pipeline parallelism across: Narayanan et al. 2021 §3.3, Takeaway #1, and the January-2021 README's GPT-3 175B example, 8-way tensor × 16-way pipeline); the layout rule below then picks only what is still unknown",
		"layout: tp or pp unknown (the model, GPU count, hardware and global batch known) → the layout search's fastest (objective step time; package search) over the layouts the case's stack can express, with the case's nodes, keeping every degree and knob the case states (tp, pp, dp, cp, ep, etp, microbatch, interleave, sequence_parallel, recompute, zero) and the stack's overlaps, ZeRO and sequence-parallel default; schedules 1f1b and interleaved (1f1b only for megatron-lm-2021-01, which predates the interleaved schedule); recompute unknown → the framework's default or more; published benchmark runs (MLPerf submissions, framework performance tables) publish their fastest configuration, so the fastest layout stands for the unstated one; the case names the layout picked",
		"scoring: a case whose confidence is low is listed but not scored; a prediction the simulator finds infeasible is still scored (the measured run did run)",
		"per-layer table (Korthikanti 2022, Table 4): each row replayed with parallelism.LayerTimes, recompute from the row name (full / selective / none), sequence parallelism when the name says sequence; forward and backward scored separately",
	}
}

// Cases returns every case of the embedded published.toml, then of
// moe-cp.toml, mapped to its replay plan, in file order.
func Cases() ([]Case, error) {
	var all []Case
	ids := map[string]string{}
	for _, name := range []string{publishedFile, moeCPFile} {
		raws, err := readEmbedded(name)
		if err != nil {
			return nil, err
		}
		cases, err := mapCases(name, raws)
		if err != nil {
			return nil, err
		}
		for _, c := range cases {
			if other, dup := ids[c.ID]; dup {
				return nil, fmt.Errorf("%s: case id %q is also in %s", name, c.ID, other)
			}
			ids[c.ID] = name
		}
		all = append(all, cases...)
	}
	return all, nil
}

// ParseCases reads src, a file called name in published.toml's format (the
// same [[case]] tables and rules), and maps its cases to their replay plans,
// in file order: how runs kept outside the built-in folder are checked.
func ParseCases(name string, src []byte) ([]Case, error) {
	raws, err := parsePublished(name, src)
	if err != nil {
		return nil, err
	}
	return mapCases(name, raws)
}

func mapCases(publishedFile string, raws []rawCase) ([]Case, error) {
	seen := map[string]bool{}
	cases := make([]Case, 0, len(raws))
	for i, r := range raws {
		if r.ID == "" {
			return nil, fmt.Errorf("%s: case %d has no id", publishedFile, i+1)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("%s: duplicate case id %q", publishedFile, r.ID)
		}
		seen[r.ID] = true
		c, err := mapCase(r)
		if err != nil {
			return nil, fmt.Errorf("%s: case %q: %w", publishedFile, r.ID, err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// mapper collects the assumptions one case needs.
type mapper struct {
	c *Case
}

func (m mapper) assume(format string, a ...any) {
	m.c.Assumptions = append(m.c.Assumptions, fmt.Sprintf(format, a...))
}

// unplayable marks the case as listed only, keeping the first reason.
func (m mapper) unplayable(format string, a ...any) {
	if m.c.Replayable || m.c.Why == "" {
		m.c.Why = fmt.Sprintf(format, a...)
	}
	m.c.Replayable, m.c.Scored = false, false
}

// mapCase applies the rules to one raw case.
func mapCase(r rawCase) (Case, error) {
	c := Case{
		ID: r.ID, Group: r.Group, Confidence: r.Confidence, Source: r.Source,
		Replayable: true, Scored: true,
	}
	m := mapper{&c}
	name, _ := r.Model["name"].(string)
	c.ModelName = name
	if err := m.hardware(r.Hardware); err != nil {
		return c, err
	}
	m.shape(r.Model)
	m.layout(r.Parallelism)
	m.sizeCluster(r.Parallelism)
	m.precision(r.Parallelism["precision"])
	m.dispatch(r.Parallelism["dispatch_precision"])
	if err := m.metric(r.Measured); err != nil {
		return c, err
	}
	m.software()
	m.stack()
	m.teFlashKernel(r.Source + " " + r.Notes)
	if c.Replayable && strings.EqualFold(c.Confidence, "low") {
		c.Scored = false
		c.Why = "confidence low"
		if r.ConfidenceNote != "" {
			c.Why += ": " + r.ConfidenceNote
		}
	}
	if usesMTP(r) {
		m.mtp(r.Model["mtp"])
	}
	m.pipelineLayout(r)
	return c, nil
}

// mtpDepthText finds "depth N" in an mtp field.
var mtpDepthText = regexp.MustCompile(`(?i)depth\s*(\d+)`)

// mtp sets the multi-token-prediction depth of a case whose run trains
// MTP modules: the depth the mtp field states ("MTP depth 1 in the
// paper"), else 1, the DeepSeek-V3 report's (arXiv:2412.19437 §2.2) and
// Megatron-Bridge's DeepSeek-V3 recipe default (mtp_num_layers = 1,
// src/megatron/bridge/recipes/deepseek/deepseek_v3.py @ 5776a6d9).
func (m mapper) mtp(field any) {
	d := 1
	if n, ok := field.(int64); ok && n > 0 {
		d = int(n)
	} else if g := mtpDepthText.FindStringSubmatch(text(field)); g != nil {
		if n, err := strconv.Atoi(g[1]); err == nil && n > 0 {
			d = n
		}
	}
	m.c.Shape.MTPDepth = d
	m.assume("multi-token prediction → model.mtp_depth %d (%s)", d, show(field))
}

// deepSeekV3RecipeLayout is Megatron-Bridge's DeepSeek-V3 pipeline
// layout for (pp, vp) (set_deepseek_v3_pipeline_model_parallel_layout,
// src/megatron/bridge/recipes/deepseek/deepseek_v3.py @ 5776a6d9, which
// its performance configurations call with layout=None): per virtual
// stage, the decoder layers of the first, the middle ones and the last;
// the embedding goes first in the first, the MTP modules and the loss
// last in the last. ok is false for a (pp, vp) the recipe does not list.
// A function, not a package-level map: no package-level mutable state.
func deepSeekV3RecipeLayout(pp, vp int) (split [3]int, ok bool) {
	switch [2]int{pp, vp} {
	case [2]int{4, 1}:
		return [3]int{16, 16, 13}, true
	case [2]int{8, 1}, [2]int{4, 2}:
		return [3]int{8, 8, 5}, true
	case [2]int{16, 1}, [2]int{8, 2}, [2]int{4, 4}:
		return [3]int{4, 4, 1}, true
	}
	return split, false
}

// pipelineLayout sets the case's pipeline layout: the one it states
// (parallelism.pipeline_layout, Megatron-Core's string), else, for a
// Megatron-Bridge DeepSeek-V3 run, its recipe's for the case's pp and vp;
// otherwise none (the replay's remainder rule, the MTP modules on the last
// stage).
func (m mapper) pipelineLayout(r rawCase) {
	c := m.c
	if !c.Replayable || c.free != nil {
		return
	}
	k := &c.Knobs
	if t, _ := r.Parallelism["pipeline_layout"].(string); strings.TrimSpace(t) != "" {
		// As written: the layout's letters are case-sensitive (E, L).
		k.PipelineLayout = strings.TrimSpace(t)
		m.assume("pipeline layout %q (as the case states)", k.PipelineLayout)
		return
	}
	name := strings.ToLower(c.ModelName)
	if !strings.Contains(strings.ToLower(r.Source), "megatron-bridge") || !strings.Contains(name, "deepseek") || !strings.Contains(name, "v3") || c.Shape.Layers != 61 {
		return
	}
	split, ok := deepSeekV3RecipeLayout(k.PP, k.VirtualStages)
	if !ok {
		m.assume("pipeline layout: Megatron-Bridge's DeepSeek-V3 recipe has none for pp %d, vp %d → the remainder rule", k.PP, k.VirtualStages)
		return
	}
	n := k.PP * k.VirtualStages
	stages := make([]string, n)
	for i := range stages {
		t := split[1]
		switch i {
		case 0:
			t = split[0]
		case n - 1:
			t = split[2]
		}
		stages[i] = strings.Repeat("t", t)
	}
	stages[0] = "E" + stages[0]
	stages[n-1] += strings.Repeat("m", c.Shape.MTPDepth) + "L"
	k.PipelineLayout = strings.Join(stages, "|")
	m.assume("pipeline layout: Megatron-Bridge's DeepSeek-V3 recipe for pp %d, vp %d (deepseek_v3.py @ 5776a6d9): %d decoder layers with the embedding first, %d on each middle stage, %d with the MTP modules and the loss last", k.PP, k.VirtualStages, split[0], split[1], split[2])
}

// usesMTP reports whether the case's run trains a multi-token-prediction
// module: a row labelled "w/ MTP", or a model with an mtp field whose row
// does not say "w/o MTP" (the paper's own run).
func usesMTP(r rawCase) bool {
	where := strings.ToLower(r.Source + " " + r.Notes)
	switch {
	case strings.Contains(where, "w/ mtp"):
		return true
	case strings.Contains(where, "w/o mtp"):
		return false
	}
	if r.Model["mtp"] == nil {
		return false
	}
	// An mtp field that says the module is off: false, 0, "none",
	// "disabled", "no …", "depth 0".
	switch v := r.Model["mtp"].(type) {
	case bool:
		return v
	case int64:
		return v > 0
	}
	t := text(r.Model["mtp"])
	if g := mtpDepthText.FindStringSubmatch(t); g != nil && g[1] == "0" {
		return false
	}
	if slices.Contains([]string{"none", "off", "false", "0"}, t) {
		return false
	}
	return !strings.HasPrefix(t, "no ") && !strings.HasPrefix(t, "disabled")
}

// systemFields are the hardware fields, besides gpu, that may name the GPU or
// the system (MLPerf's system descriptions: system_name,
// accelerator_model_name); read in this order when gpu names none.
var systemFields = []string{"system", "system_name", "accelerator", "accelerator_model_name", "node", "node_type", "instance", "instance_type", "machine", "platform", "cluster"}

// hardware maps the GPU name to a system preset and sizes the cluster.
func (m mapper) hardware(h map[string]any) error {
	c := m.c
	// A vendor or cloud system ("NVIDIA DGX H100 (Eos)", "Azure ND H100 v5",
	// "A100-class GPUs", "p4d.24xlarge") is read as the GPU it names or
	// documents, on that GPU's DGX/HGX node; the case says so.
	field := "gpu"
	g, named, ok := identifyGPU(hardwareText(h["gpu"]))
	for _, k := range systemFields {
		if ok {
			break
		}
		if g, named, ok = identifyGPU(hardwareText(h[k])); ok {
			field, named = k, false
		}
	}
	switch {
	case !ok || g.system == "":
		m.unplayable("hardware %s has no built-in system", show(h["gpu"]))
		return nil
	case g.system == "gb200-nvl72":
		// One NVL72 rack is one NVLink domain of 72 GPUs; a run on a
		// number of GPUs that is not whole racks (or whose domain size
		// the source does not give) has no built-in system.
		n, ok := integer(h["gpus"])
		if domain, k, racks := statedGB200Domain(h, n); domain > 0 && domain != 72 {
			// The system description states the racks the run used.
			c.GPUsPerNode, c.NICsPerNode = domain, domain
			m.assume("hardware %s %s: %d GPUs on %d GB200 NVL72 racks → racks of %d used GPUs each (the NVLink domain), one 400 Gb/s NIC per GPU", k, show(h[k]), n, racks, domain)
		} else if !ok || n%72 != 0 {
			domain := perfScriptGB200Domain(c.Source, n, h["gpus_per_node"])
			if domain == 0 {
				m.unplayable("hardware %s: %s GPUs are not whole 72-GPU NVLink domains (gb200-nvl72), and the source does not state the domain size", show(h[field]), show(h["gpus"]))
				return nil
			}
			c.GPUsPerNode, c.NICsPerNode = domain, domain
			m.assume("hardware %s: %d GPUs on GB200 NVL72 racks of %d used GPUs each (the performance scripts' Slurm executor asks --segment %d of its 4-GPU nodes: %d nodes, or their largest divisor up to a rack's 18), one 400 Gb/s NIC per GPU", show(h[field]), n, domain, domain/4, n/4)
		}
	}
	c.System, c.Generation, c.NVLinkGBps = g.system, g.generation, g.nvlinkGBps
	if g.nvlinkGBps > 0 {
		named = false // another GPU's node
		m.assume("hardware %s %s: NVLink %v GB/s per direction (cluster.nvlink.bandwidth)", field, show(h[field]), g.nvlinkGBps)
	}
	if err := m.statedHBM(field, h[field]); err != nil {
		return err
	}
	if pcie.MatchString(hardwareText(h[field])) {
		// A PCIe or NVL card: no NVSwitch node and a lower clock than the
		// SXM part; replayed on the SXM node all the same, and said.
		named = false
	}
	if !named {
		m.assume("hardware %s %s → %s (the GPU it names or its maker documents, on that GPU's DGX/HGX node)", field, show(h[field]), c.System)
	}
	perNode := 8
	if n, ok := leading(h["gpus_per_node"]); ok && n > 0 {
		perNode = n
	}
	if c.System == "gb200-nvl72" {
		perNode = systemGPUsPerNode(c.System)
		if c.GPUsPerNode > 0 {
			perNode = c.GPUsPerNode
		}
	}
	m.network(h, g.nodeGbps)
	// A count followed by a note ("1024 (128 nodes)") is the count.
	gpus, ok := leading(h["gpus"])
	if nodes, nok := leading(h["nodes"]); !ok && nok && nodes > 0 {
		// Only the node count given: whole nodes.
		gpus, ok = nodes*perNode, true
		m.assume("hardware: gpus %s → %d (nodes %d × %d GPUs per node)", show(h["gpus"]), gpus, nodes, perNode)
	}
	if !ok {
		if _, isText := h["gpus"].(string); isText || h["gpus"] == nil {
			// Unknown: tp·pp·dp·cp once the layout is read (sizeCluster).
			c.perNode = perNode
			return nil
		}
	}
	if !ok || gpus < 1 {
		return fmt.Errorf("hardware.gpus: want a positive integer, got %s", show(h["gpus"]))
	}
	m.place(gpus, perNode)
	return nil
}

// place sizes the cluster for gpus GPUs on nodes of perNode.
func (m mapper) place(gpus, perNode int) {
	c := m.c
	c.GPUs = gpus
	if gpus < perNode && c.System != "gb200-nvl72" {
		// A run on part of one node: that node with only its GPUs.
		c.GPUsPerNode, perNode = gpus, gpus
		m.assume("hardware: %d GPUs, fewer than a node → one node of %d GPUs (cluster.gpus_per_node)", gpus, gpus)
	}
	if gpus%perNode != 0 {
		m.unplayable("%d GPUs are not whole nodes of %d", gpus, perNode)
		return
	}
	if sys := systemGPUsPerNode(c.System); perNode != sys {
		// A node size the source states that differs from the system's.
		c.GPUsPerNode = perNode
	}
	c.Nodes = gpus / perNode
}

// systemGPUsPerNode is a built-in system's GPUs per node: 72 on a GB200
// NVL72 rack, 8 on the DGX/HGX nodes.
func systemGPUsPerNode(system string) int {
	if system == "gb200-nvl72" {
		return 72
	}
	return 8
}

// maxDerivedGPUs bounds a GPU count derived from the layout (far above any
// published run), so that a malformed file cannot overflow it.
const maxDerivedGPUs = 1 << 24

// sizeCluster sizes the cluster of a case that gives neither its GPUs nor
// its nodes: tp·pp·dp·cp GPUs when the layout gives every factor.
func (m mapper) sizeCluster(p map[string]any) {
	c, k := m.c, m.c.Knobs
	if c.GPUs > 0 || c.perNode == 0 || !c.Replayable {
		return
	}
	if c.free != nil {
		m.unplayable("gpus unknown and layout unknown (tp %s, pp %s): the cluster's size is not stated", show(p["tp"]), show(p["pp"]))
		return
	}
	if _, ok := leading(p["dp"]); !ok {
		m.unplayable("gpus unknown and dp %s: the cluster's size is not stated", show(p["dp"]))
		return
	}
	gpus := 1
	for _, f := range []int{k.TP, k.PP, k.DP, max(k.CP, 1)} {
		if f < 1 || gpus > maxDerivedGPUs/f {
			m.unplayable("gpus unknown and tp·pp·dp·cp (%d·%d·%d·%d) is not a cluster size", k.TP, k.PP, k.DP, k.CP)
			return
		}
		gpus *= f
	}
	m.assume("hardware: gpus unknown → %d (tp·pp·dp·cp)", gpus)
	m.place(gpus, c.perNode)
}

// gpuSystem is a GPU the hardware text can name and the built-in node it is
// replayed on.
type gpuSystem struct {
	system, generation string
	// nodeGbps is the system's documented inter-node bandwidth per node
	// where it differs from the DGX node's (0: the DGX node's).
	nodeGbps float64
	// nvlinkGBps is the GPU's NVLink bandwidth per direction where it
	// differs from the node's (0: the node's).
	nvlinkGBps float64
}

// namedSystems are vendor and cloud systems whose names do not spell out the
// GPU, each with the GPU its maker documents for it (checked before the GPU
// names, in order; the text is lower-cased, with '-', '_' and '.' read as
// spaces):
//   - AWS EC2 P4d: 8 × A100 40 GB; P4de: 8 × A100 80 GB, both with 400 Gb/s
//     of EFA per node (4 × 100 Gb/s); P5: 8 × H100 80 GB; P5e/P5en: 8 × H200
//     (aws.amazon.com/ec2/instance-types/p4 and /p5);
//   - Azure ND A100 v4 (ND96asr_v4): 8 × A100 40 GB; NDm A100 v4
//     (ND96amsr_A100_v4): 8 × A100 80 GB (learn.microsoft.com, "ND A100 v4
//     series", "NDm A100 v4 series");
//   - Google Cloud A2 (a2-highgpu, a2-megagpu): A100 40 GB; a2-ultragpu: A100
//     80 GB; A3 (a3-highgpu, a3-megagpu, a3-edgegpu): H100 80 GB; a3-ultragpu:
//     H200 (cloud.google.com/compute/docs/gpus, "A2", "A3" machine series);
//   - NVIDIA Selene: DGX A100 nodes with 80 GB A100s (Narayanan et al. 2021,
//     §5: "80-GB A100 GPUs" on Selene); NVIDIA Eos: DGX H100 nodes (NVIDIA,
//     "NVIDIA Eos", 2023: 576 DGX H100 systems).
var namedSystems = []struct {
	re  *regexp.Regexp
	gpu gpuSystem
}{
	{regexp.MustCompile(`\bp4de\b`), gpuSystem{system: "dgx-a100-80gb", generation: "a100", nodeGbps: 400}},
	{regexp.MustCompile(`\bp4d\b`), gpuSystem{system: "dgx-a100-40gb", generation: "a100", nodeGbps: 400}},
	{regexp.MustCompile(`\bp5en?\b`), gpuSystem{system: "dgx-h200", generation: "h200"}},
	{regexp.MustCompile(`\bp5\b`), gpuSystem{system: "dgx-h100", generation: "h100"}},
	{regexp.MustCompile(`\bnd96amsr\b|\bndm a100\b`), gpuSystem{system: "dgx-a100-80gb", generation: "a100"}},
	{regexp.MustCompile(`\bnd96asr\b|\bnd a100\b`), gpuSystem{system: "dgx-a100-40gb", generation: "a100"}},
	{regexp.MustCompile(`\ba2 ultragpu\b`), gpuSystem{system: "dgx-a100-80gb", generation: "a100"}},
	{regexp.MustCompile(`\ba2 (highgpu|megagpu)\b`), gpuSystem{system: "dgx-a100-40gb", generation: "a100"}},
	{regexp.MustCompile(`\ba3 ultragpu\b`), gpuSystem{system: "dgx-h200", generation: "h200"}},
	{regexp.MustCompile(`\ba3 (highgpu|megagpu|edgegpu)\b`), gpuSystem{system: "dgx-h100", generation: "h100"}},
	{regexp.MustCompile(`\bselene\b`), gpuSystem{system: "dgx-a100-80gb", generation: "a100"}},
	{regexp.MustCompile(`\beos\b`), gpuSystem{system: "dgx-h100", generation: "h100"}},
}

// gpuNames are the GPU names a hardware text may contain (lower-cased, '-',
// '_' and '.' read as spaces), most specific first: "gh200" and "gb200"
// before "h200" and "b200".
var gpuNames = []struct {
	re  *regexp.Regexp
	gpu gpuSystem
}{
	// Grace Hopper (GH200): an H100-class GPU on a Grace CPU over NVLink-C2C,
	// 96–144 GB: no built-in node.
	{regexp.MustCompile(`gh200`), gpuSystem{}},
	{regexp.MustCompile(`gb200`), gpuSystem{system: "gb200-nvl72", generation: "b200"}},
	{regexp.MustCompile(`b200`), gpuSystem{system: "dgx-b200", generation: "b200"}},
	{regexp.MustCompile(`h800`), gpuSystem{system: "hgx-h800", generation: "h800"}},
	{regexp.MustCompile(`h200`), gpuSystem{system: "dgx-h200", generation: "h200"}},
	// The A800 is an A100 whose NVLink is capped at 400 GB/s (200 GB/s per
	// direction; NVIDIA A800 40GB/80GB product brief, 2022), replayed on the
	// DGX A100 node with that NVLink.
	{regexp.MustCompile(`a800`), gpuSystem{system: "dgx-a100-80gb", generation: "a100", nvlinkGBps: 200}},
	{regexp.MustCompile(`a100`), gpuSystem{system: "dgx-a100-80gb", generation: "a100"}},
	{regexp.MustCompile(`h100`), gpuSystem{system: "dgx-h100", generation: "h100"}},
}

// a100Is40GB matches an A100 text that states the 40 GB part: "40GB" per GPU,
// or a DGX A100's 320 GB in all (8 × 40 GB; the 80 GB system is the 640 GB
// one, NVIDIA DGX A100 datasheet).
var a100Is40GB = regexp.MustCompile(`(^|[^0-9])(40|320) ?gb\b`)

// a100Is80GB matches an A100 text that states the 80 GB part (80 GB per GPU,
// 640 GB in a DGX A100).
var a100Is80GB = regexp.MustCompile(`(^|[^0-9])(80|640) ?gb\b`)

// plainGPU matches what may follow a GPU's own name for the text to be that
// GPU plainly: memory sizes and SXM form factors, then the end or a note in
// parentheses ("A100 80GB (Selene)", "A100-SXM4-80GB (DGX A100)", "H100").
var plainGPU = regexp.MustCompile(`^(\s*(\d+ ?gb|sxm\d?))*\s*(\(.*)?$`)

// pcie matches a PCIe or NVL card ("A100 PCIe 40GB", "H100 NVL").
var pcie = regexp.MustCompile(`\b(pcie|nvl)\b`)

// hardwareText is a hardware field's text as the GPU rules read it:
// lower-cased, with '-', '_' and '.' as spaces.
func hardwareText(v any) string {
	return strings.NewReplacer("-", " ", "_", " ", ".", " ").Replace(text(v))
}

// identifyGPU finds the GPU a hardware text names, directly or through a
// vendor or cloud system; named is true when the text starts with the GPU's
// own name and no more than a size, a form factor or a note in parentheses
// ("A100 80GB (Selene)", "H100 (DGX-H100)"). A system that
// documents its GPU wins over a GPU name later in the text ("Azure ND A100
// v4" is the 40 GB part), and a stated A100 memory size wins over both.
func identifyGPU(s string) (g gpuSystem, named, ok bool) {
	var byName *gpuSystem
	at := -1
	for i, n := range gpuNames {
		if loc := n.re.FindStringIndex(s); loc != nil {
			byName, at = &gpuNames[i].gpu, loc[0]
			if at == 0 && !plainGPU.MatchString(s[loc[1]:]) {
				// "A100-class GPUs": the name, then more than a size,
				// a form factor or a note in parentheses.
				at = -1
			}
			break
		}
	}
	switch {
	case byName != nil && (at == 0 || byName.system == ""):
		g, named, ok = *byName, at == 0, true
	default:
		for _, n := range namedSystems {
			if n.re.MatchString(s) {
				g, ok = n.gpu, true
				break
			}
		}
		if !ok && byName != nil {
			g, ok = *byName, true
		}
	}
	if g.generation == "a100" {
		switch {
		case a100Is40GB.MatchString(s):
			g.system = "dgx-a100-40gb"
		case a100Is80GB.MatchString(s):
			g.system = "dgx-a100-80gb"
		}
	}
	return g, named, ok
}

// gpuSize matches a per-GPU memory size stated in a hardware text, in GB
// or GiB ("H100 96GB HBM2e", "H200 141GB", "A100-SXM4-80GB"); a bandwidth
// ("400 Gb/s") is not one.
var gpuSize = regexp.MustCompile(`(?:^|[^0-9.])(\d+(?:\.\d+)?) ?gi?b(?:$|[^/a-z0-9])`)

// statedHBM gives the case the GPU memory its hardware field states where
// that differs from the system preset's GPU (H100 96 GB HBM2e of Meta's
// Grand Teton, H100 NVL 94 GB, H200 141 GB): cluster.gpu.hbm, nothing else
// (the preset's compute, bandwidth and driver reservation stay). A size is
// read as the presets read a marketed one, N GB as N GiB (the 80 GB H100 is
// 80 GiB there), and only between half and twice the preset's: a node's
// total (a DGX H100's 640 GB) is not a GPU's. The A100's 40 GB and 80 GB
// parts are two systems (identifyGPU), so their stated sizes match.
func (m mapper) statedHBM(field string, v any) error {
	c := m.c
	g := gpuSize.FindStringSubmatch(text(v))
	if g == nil {
		return nil
	}
	sys, ok := topology.SystemPreset(c.System)
	if !ok {
		return fmt.Errorf("hardware %s: system %q is not built in", field, c.System)
	}
	n, err := strconv.ParseFloat(g[1], 64)
	if err != nil {
		return fmt.Errorf("hardware %s %s: size %q: %w", field, show(v), g[1], err)
	}
	size, preset := units.Bytes(n)*units.GiB, sys.GPU.HBM
	if size == preset || size < preset/2 || size >= 2*preset {
		return nil
	}
	c.HBM = size
	m.assume("hardware %s %s: %g GB stated → cluster.gpu.hbm %g GiB (%s's GPU has %g; a marketed GB read as GiB, as the presets do); compute and bandwidth of the preset", field, show(v), n, n, c.System, float64(preset/units.GiB))
	return nil
}

// nvl72Racks matches a system description that counts its GB200 NVL72
// racks, as MLPerf's system descriptions name a system
// ("Tyche (8x NVIDIA GB200 NVL72)", "Carina (39x NVIDIA GB200 NVL72)" in
// mlcommons/training_results_v5.0 systems/*.json), in hardwareText's form.
var nvl72Racks = regexp.MustCompile(`\b(\d+) ?(?:x|×) ?(?:nvidia )?gb200 nvl72\b`)

// statedGB200Domain is the NVLink domain, in GPUs, of a GB200 run whose
// hardware fields (gpu, then systemFields) state the NVL72 racks its GPUs
// filled: the GPUs over the racks, when the racks divide them, the share is
// at most a rack's 72 GPUs and whole nodes of the stated gpus_per_node
// (each rack then runs that many GPUs, its other trays idle). It returns the
// domain, the field that states the racks and their count; 0 when no field
// states them or the count does not fit.
func statedGB200Domain(h map[string]any, gpus int) (domain int, field string, racks int) {
	if gpus <= 0 {
		return 0, "", 0
	}
	for _, k := range append([]string{"gpu"}, systemFields...) {
		g := nvl72Racks.FindStringSubmatch(hardwareText(h[k]))
		if g == nil {
			continue
		}
		r, err := strconv.Atoi(g[1])
		if err != nil || r <= 0 || gpus%r != 0 || gpus/r > 72 {
			return 0, "", 0
		}
		d := gpus / r
		if per, ok := integer(h["gpus_per_node"]); ok && (per <= 0 || d%per != 0) {
			return 0, "", 0
		}
		return d, k, r
	}
	return 0, "", 0
}

// perfScriptGB200Domain is the NVLink domain, in GPUs, of a run of
// NVIDIA's performance scripts on GB200 whose GPUs are not whole NVL72
// racks: Megatron-Bridge's Slurm executor (scripts/performance/utils/
// executors.py @ 5776a6d9, "add --segment flag to sbatch if job uses
// GB200"), and NeMo's from release 25.04 (NVIDIA/NeMo
// scripts/performance/utils.py slurm_executor @ v2.3.0 2b03b748, added by
// 96578928a7 "GB200 LLM performance scripts tuning", 2025-04-07; moved to
// executors.py by the 25.07 refactor), ask for segments of `nodes` 4-GPU
// nodes when there are at most 18 (a rack's compute trays), else of the
// largest divisor of the node count up to 18; Slurm places each segment in
// one rack, so the segment is the NVLink domain. 0 when the source is
// neither Megatron-Bridge nor a NeMo release of 25.04 or later, the nodes
// are not stated as 4-GPU ones or the GPUs are not whole nodes.
func perfScriptGB200Domain(source string, gpus int, perNode any) int {
	if !segmentingScripts(source) {
		return 0
	}
	if n, ok := integer(perNode); !ok || n != 4 || gpus < 4 || gpus%4 != 0 {
		return 0
	}
	nodes := gpus / 4
	if nodes <= 18 {
		return nodes * 4
	}
	for seg := 18; seg > 0; seg-- {
		if nodes%seg == 0 {
			return seg * 4
		}
	}
	return 0
}

// nemoRelease matches a NeMo container release named in a source
// ("NeMo 25.04", "release NeMo 25.02"), lower-cased.
var nemoRelease = regexp.MustCompile(`nemo (\d{2})\.(\d{2})`)

// segmentingScripts reports whether a source's runs came from performance
// scripts whose Slurm executor asks for GB200 segments: Megatron-Bridge's,
// or NeMo's from release 25.04 (the first whose scripts have it).
func segmentingScripts(source string) bool {
	s := strings.ToLower(source)
	if strings.Contains(s, "megatron-bridge") {
		return true
	}
	for _, m := range nemoRelease.FindAllStringSubmatch(s, -1) {
		if m[1]+"."+m[2] >= "25.04" {
			return true
		}
	}
	return false
}

// nicGbps is the NIC bandwidth of each built-in system's node, in Gb/s
// (HDR InfiniBand on DGX A100, NDR on DGX H100; see topology's presets).
var nicGbps = map[string]float64{"dgx-a100-80gb": 200, "dgx-a100-40gb": 200, "dgx-h100": 400, "dgx-h200": 400}

// network applies a node's stated inter-node bandwidth: a hardware field
// inter_node_Gbps_per_node (or one that starts so, e.g. vTrain's
// inter_node_Gbps_per_node_sim_config) gives the NICs per node as that
// bandwidth over the system's NIC bandwidth, when it divides into whole
// NICs; otherwise the system's NIC count stays.
func (m mapper) network(h map[string]any, systemGbps float64) {
	c := m.c
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	nic := nicGbps[c.System]
	whole := func(v float64) (int, bool) {
		if nic <= 0 || v <= 0 {
			return 0, false
		}
		n := v / nic
		return int(n), n >= 1 && n == float64(int(n))
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "inter_node_Gbps_per_node") {
			continue
		}
		v, ok := number(h[k])
		n, fits := whole(v)
		if !ok || !fits {
			continue
		}
		c.NICsPerNode = n
		m.assume("hardware: %s = %v Gb/s per node → %d NICs of %v Gb/s per node", k, v, c.NICsPerNode, nic)
		return
	}
	// A cloud system's documented bandwidth per node, where the source
	// states none.
	if n, fits := whole(systemGbps); fits {
		c.NICsPerNode = n
		m.assume("hardware: the system's %v Gb/s per node → %d NICs of %v Gb/s per node", systemGbps, n, nic)
	}
}

// sourceYear is the first year (2000–2099) a source text names.
var sourceYear = regexp.MustCompile(`\b20\d\d\b`)

// sourceDate is the first full date (YYYY-MM-DD) a source text names.
var sourceDate = regexp.MustCompile(`\b20\d\d-\d\d-\d\d\b`)

// scatterGatherSince is the first public description of Megatron-LM's
// pipeline scatter/gather: the SC21 paper (Narayanan et al., arXiv
// 2104.04473 v1, 2021-04-09), which introduced it. Megatron-LM software a
// source dates before it sends whole activations between stages.
const scatterGatherSince = "2021-04-09"

// software dates the case by its source: the first year (and full date)
// the source names.
func (m mapper) software() {
	c := m.c
	if y := sourceYear.FindString(c.Source); y != "" {
		c.Year, _ = strconv.Atoi(y)
	}
}

// stack names the software stack (software.stack) of the case's source and
// date, and takes from it the behaviours the case does not state (see
// scenario/software.go, which documents each stack):
//   - ZeRO-3 from a source dated 2021 or earlier → deepspeed-zero3-2021;
//   - a source that names Megatron-DeepSpeed, or both DeepSpeed and
//     Megatron (MT-NLG: "Using DeepSpeed and Megatron to Train…") →
//     megatron-deepspeed;
//   - Megatron-Bridge → megatron-core-2024; NeMo → nemo-24.07; other
//     H100, H800 and B200 cases → megatron-core-2024;
//   - A100 cases: dated before the SC21 paper → megatron-lm-2021-01, dated
//     2021 → megatron-lm-2021, later → megatron-lm-2022.
//
// Two rules then refine the stack for the case: Megatron-LM 2021 runs with
// pp = 1 and no ZeRO used PyTorch DDP (overlapped bucket all-reduce), and a
// bf16 or FP8 run keeps fp32 gradients whatever the stack says of fp16.
func (m mapper) stack() {
	c := m.c
	src := strings.ToLower(c.Source)
	old := c.Year > 0 && c.Year <= 2021
	deepspeed := strings.Contains(src, "megatron-deepspeed") || strings.Contains(src, "deepspeed") && strings.Contains(src, "megatron")
	why := ""
	fsdpSource := fsdpTrainer.FindString(src)
	switch {
	case fsdpSource != "" || c.fsdp:
		// PyTorch's own FSDP trainers, or a sharding stated in FSDP's
		// words.
		c.Stack, why = "pytorch-fsdp", "sharding stated in PyTorch FSDP's words"
		if fsdpSource != "" {
			why = "source names " + fsdpSource
		}
	case c.Knobs.ZeRO == 3 && old:
		c.Stack, why = "deepspeed-zero3-2021", fmt.Sprintf("ZeRO-3, source dated %d", c.Year)
	case deepspeed:
		c.Stack, why = "megatron-deepspeed", "source names Megatron-DeepSpeed"
	case strings.Contains(src, "megatron-bridge"):
		// Megatron-Bridge (NVIDIA-NeMo/Megatron-Bridge) trains with
		// Megatron-Core.
		c.Stack, why = "megatron-core-2024", "source names Megatron-Bridge (Megatron-Core)"
	case strings.Contains(src, "nemo"):
		c.Stack, why = "nemo-24.07", "source names NeMo"
	case c.Generation != "a100":
		c.Stack, why = "megatron-core-2024", strings.ToUpper(c.Generation)
	case old:
		c.Stack, why = "megatron-lm-2021", fmt.Sprintf("A100, source dated %d", c.Year)
		if d := sourceDate.FindString(c.Source); d != "" && d < scatterGatherSince {
			c.Stack, why = "megatron-lm-2021-01", fmt.Sprintf("A100, source dated %s, before %s", d, scatterGatherSince)
		}
	default:
		c.Stack, why = "megatron-lm-2022", "A100, source dated after 2021"
	}
	if !c.Replayable {
		return
	}
	set, err := m.applyStack()
	if err != nil {
		m.unplayable("%v", err)
		return
	}
	if c.spUnknown && c.free == nil {
		m.assume("sequence_parallel %s → %v (tp %d)", c.spSource, c.Knobs.SequenceParallel, c.Knobs.TP)
	}
	note := fmt.Sprintf("software: %s → stack %s (%s)", why, c.Stack, strings.Join(set, ", "))
	k := &c.Knobs
	if c.free != nil {
		// The layout search applies the rule below to each pp it tries.
		c.free.ogrPP1 = strings.HasPrefix(c.Stack, "megatron-lm-2021") && k.ZeRO == 0
		c.free.ogrOneMicrobatch = c.Stack == "megatron-lm-2021-01"
		c.free.ogr = k.OverlapGradReduce
		c.free.oneFOneBOnly = c.Stack == "megatron-lm-2021-01"
	} else if strings.HasPrefix(c.Stack, "megatron-lm-2021") && k.PP == 1 && k.ZeRO == 0 {
		if c.Stack != "megatron-lm-2021-01" || k.DP*k.Microbatch == c.GlobalBatch {
			k.OverlapGradReduce = true
			note += "; overlap_grad_reduce true (PyTorch DDP, pp 1)"
		} else {
			note += "; overlap_grad_reduce false (several micro-batches per step: Megatron-LM of January 2021 allowed only its local DDP then)"
		}
	}
	// Megatron-LM forces fp32 gradient accumulation and reduction for bf16
	// (arguments.py); NeMo's distributed_fused_adam reduces in the
	// grad_sync_dtype its stack gives.
	on, odd := compiled(c.compile)
	if odd {
		m.assume("compile %s: neither 0 nor 1 → unknown (torchtitan's training.compile defaults to false)", show(c.compile))
	}
	if eagerTrainer.MatchString(src) && !on {
		// torchtitan's Llama (torchtitan/models/llama/model.py and
		// models/norms.py @9dec370: RMSNorm on x.float() in pieces,
		// rotary embedding through fp32 complex numbers, F.silu(w1 x) ·
		// w3 x) and Accelerate's Hugging Face models run their
		// element-wise work one eager kernel per tensor operation unless
		// torch.compile fuses it; torchtitan's training.compile defaults
		// to false (config_manager.py @9dec370).
		c.Eager = true
		note += fmt.Sprintf("; eager_elementwise true (compile %s: the model's own PyTorch modules, one kernel per tensor operation)", show(c.compile))
	}
	if c.EagerCE && fusedLossTrainer.MatchString(src) {
		// llm-foundry's MPT computes its loss with flash-attn's fused
		// cross-entropy unless a YAML sets loss_fn: torch_crossentropy
		// (llmfoundry/models/mpt/modeling_mpt.py @5e85bd62, the default
		// 'fused_crossentropy'; b2a43a14 the same; none of the benchmark's
		// mpt-*.yaml sets it).
		c.EagerCE = false
		note += "; eager_cross_entropy false (llm-foundry: flash-attn's fused cross-entropy, loss_fn 'fused_crossentropy' by default)"
	}
	if c.Stack == "pytorch-fsdp" && k.ZeRO == 3 && k.PP > 1 && c.free == nil && torchtitanSource.MatchString(src) {
		// torchtitan keeps each pipeline stage's FSDP parameters gathered
		// from the first micro-batch's forward (apply_fsdp @9dec370:
		// reshard_after_forward = False whenever pp is enabled), and
		// torch.distributed.pipelining turns off resharding after
		// backward and the gradient reduce-scatter for every micro-batch's
		// backward, accumulating the unsharded gradients (in the fp32
		// reduce_dtype) and reduce-scattering them after the stage's last
		// backward (stage.py backward_maybe_with_nosync, pytorch/pytorch
		// PR #134052): FSDP2's own description of that combination is
		// ZeRO-1 (PR #124319) — full 16-bit weights and full gradients
		// through the step, the optimizer state sharded, one parameter
		// all-gather and one reduce-scatter per step.
		k.ZeRO = 1
		note += fmt.Sprintf("; zero 1 (torchtitan under pp %d: FSDP2 with reshard_after_forward false and pipelining's per-micro-batch no-sync / no-reshard-after-backward, FSDP2's \"ZeRO-1\")", k.PP)
	}
	if c.Stack == "pytorch-fsdp" && k.PP > 1 && torchtitanSource.MatchString(src) {
		// torch.distributed.pipelining appends every micro-batch's stage
		// output to output_chunks and empties it at the next step
		// (stage.py forward_one_chunk, schedules.py step: PR #138504 to
		// PR #153383).
		c.PPKeepOutputs = true
		note += "; pp_keep_outputs true (torch.distributed.pipelining keeps each micro-batch's stage output, the last stage's logits, until the step ends)"
	}
	if c.fsdpReduce == "16" {
		// Composer's PURE mixed precision reduces in the training
		// precision whatever the stack says.
		c.FP32Grads, k.ZeROFP32Reduce = false, false
		note += "; fp32_grads false, zero_fp32_reduce false (FSDP mixed_precision PURE: reduce_dtype = the 16-bit precision)"
	} else if c.Precision != units.FP16 && !c.FP32Grads && c.Stack != "nemo-24.07" {
		c.FP32Grads = true
		note += fmt.Sprintf("; fp32_grads true (%s)", c.Precision)
	}
	// DeepSpeed's pipeline engine runs bf16 through BF16_Optimizer
	// (microsoft/DeepSpeed PR #1801, 56c522386: its only bf16 path there),
	// whose ZeRO-1 all-reduces the fp32 gradients before each rank updates
	// its shard.
	if c.Stack == "megatron-deepspeed" && c.Precision == units.BF16 && k.ZeRO == 1 {
		k.ZeRO1AllReduce = true
		note += "; zero1_allreduce true (bf16 ZeRO-1 under DeepSpeed's pipeline engine: BF16_Optimizer all-reduces the fp32 gradients)"
	}
	m.assume("%s", note)
}

// teHopperFusedSince is the day Transformer Engine began to prefer cuDNN's
// fused attention to flash-attn on sm90 (NVIDIA/TransformerEngine 32db39288,
// "Integrate cuDNN frontend v1 to fused attention (#497)", 2023-12-07, which
// carries 225b560e9 "change selection logic to prefer fused attn on sm90";
// first release v1.2, 2023-12-15). Before it DotProductAttention returned
// flash-attn's result whenever flash-attn supported the shape (v1.1 and TE
// @09ba8427, attention.py: the flash-attn branch precedes the fused one).
const teHopperFusedSince = "2023-12-07"

// flashAttn2Since is flash-attn 2.0.0's release (Dao-AILab/flash-attention,
// 2023-07-17; Dao 2023, arXiv 2307.08691): a run before it had only
// FlashAttention-1.
const flashAttn2Since = "2023-07-17"

var (
	// teVersionRe reads a stated Transformer Engine version ("Transformer
	// Engine release_v0.8", "TE v1.1") from lower-cased text.
	teVersionRe = regexp.MustCompile(`(?:transformer engine|\bte) (?:release_)?v?(\d+)\.(\d+)`)
	// teCommitRe reads a stated Transformer Engine commit and its date
	// ("Transformer Engine @09ba8427 (2023-10-01)").
	teCommitRe = regexp.MustCompile(`(?:transformer engine|\bte) @[0-9a-f]{7,40} \((20\d\d-\d\d-\d\d)\)`)
	// flashAttnRe reads a stated flash-attn major version ("flash-attn
	// 2.0.8", "flash_attn==1.0.5", "flash-attention 2").
	flashAttnRe = regexp.MustCompile(`flash[-_ ]?att(?:n|ention)[- ]?(?:==?)? ?v?(\d)\b`)
	// fusedAttnOffRe reads NVTE_FUSED_ATTN=0, which switches TE's cuDNN
	// attention off.
	fusedAttnOffRe = regexp.MustCompile(`nvte_fused_attn ?= ?0\b`)
)

// teFlashKernel reads which flash-attention kernel a Transformer Engine
// stack ran on Hopper from the case's software era (text: its source and
// notes): FlashAttention-2 → training.flash_kernel fa2. FlashAttention-1 has
// no published H100 rate, so it keeps the fused rate and says so; a case
// whose era is not stated keeps the stack's fused kernel silently.
func (m mapper) teFlashKernel(text string) {
	c := m.c
	if !c.Replayable || (c.Stack != "megatron-core-2024" && c.Stack != "nemo-24.07") {
		return
	}
	switch c.Generation {
	case "h100", "h200", "h800":
	default:
		return
	}
	t := strings.ToLower(text)
	date := sourceDate.FindString(c.Source)
	var why string
	teOld, teNew := false, false
	if v := teVersionRe.FindStringSubmatch(t); v != nil {
		major, _ := strconv.Atoi(v[1])
		minor, _ := strconv.Atoi(v[2])
		teOld = major == 0 || major == 1 && minor < 2
		teNew = major > 1 || major == 1 && minor >= 3
		why = "Transformer Engine " + v[0][strings.LastIndex(v[0], " ")+1:]
	} else if v := teCommitRe.FindStringSubmatch(t); v != nil {
		teOld = v[1] < teHopperFusedSince
		why = strings.TrimSpace(v[0][strings.Index(v[0], "@"):])
		why = "Transformer Engine " + why
	}
	switch {
	case fusedAttnOffRe.MatchString(t):
		why = "NVTE_FUSED_ATTN=0 (TE's cuDNN attention off)"
	case teOld:
		why += fmt.Sprintf(", before TE preferred cuDNN's fused attention on sm90 (%s, v1.2)", teHopperFusedSince)
	case why == "" && date != "" && date < teHopperFusedSince:
		why = fmt.Sprintf("source dated %s, before TE preferred cuDNN's fused attention on sm90 (%s, v1.2)", date, teHopperFusedSince)
	default:
		return
	}
	major := 0
	if v := flashAttnRe.FindStringSubmatch(t); v != nil {
		major, _ = strconv.Atoi(v[1])
	}
	src := fmt.Sprintf("flash-attn %d stated", major)
	switch {
	case major != 0:
	case date != "" && date < flashAttn2Since:
		major, src = 1, fmt.Sprintf("dated before flash-attn 2.0.0 (%s)", flashAttn2Since)
	case teNew:
		major, src = 2, "TE v1.3 and later require flash-attn ≥ 2.0.6"
	}
	switch major {
	case 2:
		c.FlashKernel = string(model.FlashFA2)
		m.assume("attention kernel: %s → TE runs flash-attn; %s → FlashAttention-2: flash_kernel fa2", why, src)
	case 1:
		m.assume("attention kernel: %s → TE runs flash-attn; %s → FlashAttention-1, which has no published H100 rate → flash_kernel fused (the fused kernel's rate: too fast for this run)", why, src)
	default:
		m.assume("attention kernel: %s → TE runs flash-attn, version not stated → flash_kernel fused", why)
	}
}

// fsdpTrainer matches a source that names one of PyTorch's own FSDP
// trainers: torchtitan, MosaicML's llm-foundry or Composer, Hugging Face
// Accelerate, or PyTorch FSDP / FSDP2 itself (lower-cased text).
var fsdpTrainer = regexp.MustCompile(`torchtitan|llm-foundry|llm foundry|mosaicml/composer|\bcomposer\b|huggingface/accelerate|hugging face accelerate|pytorch fsdp|\bfsdp2\b`)

// eagerTrainer matches a source whose trainer runs the model's own eager
// PyTorch modules: torchtitan, Hugging Face Accelerate.
var eagerTrainer = regexp.MustCompile(`torchtitan|huggingface/accelerate|hugging face accelerate`)

// fusedLossTrainer matches a source whose trainer's loss is a fused
// cross-entropy kernel rather than PyTorch's eager one on fp32 logits:
// llm-foundry (flash-attn's CrossEntropyLoss, its MPT default).
var fusedLossTrainer = regexp.MustCompile(`llm-foundry|llm foundry`)

// torchtitanSource matches a source that names torchtitan (lower-cased
// text).
var torchtitanSource = regexp.MustCompile(`torchtitan`)

// compiled reports whether a compile field says torch.compile was on:
// true, 1, or a text that is 1 or starts with yes / true / on /
// torch.compile / compiled. An integer is read as the boolean-ish fields
// with integers are (mtp, interleave): 0 is off, 1 is on; another integer
// is no flag at all, and odd is then true (the field says something the
// rule cannot read: compile is then unknown, as when it is absent).
func compiled(v any) (on, odd bool) {
	switch x := v.(type) {
	case bool:
		return x, false
	case int64:
		if x != 0 && x != 1 {
			return false, true
		}
		return x == 1, false
	}
	s := text(v)
	if s == "1" {
		return true, false
	}
	for _, w := range []string{"yes", "true", "on", "torch.compile", "compiled"} {
		if strings.HasPrefix(s, w) {
			return true, false
		}
	}
	return false, false
}

// applyStack gives the case the behaviours its stack sets and the source
// does not state: overlaps, pipeline scatter/gather, gradient accumulation
// and precision, the attention kernel, the distributed optimizer (zero,
// where the source gives none) and the framework's default recomputation
// (used where the source gives none). The stack's precision is not used:
// the precision rule reads the case's own. It returns what it set.
func (m mapper) applyStack() ([]string, error) {
	c := m.c
	k := &c.Knobs
	values, ok := scenario.StackSettings(c.Stack)
	if !ok {
		return nil, fmt.Errorf("software stack %q is not built in", c.Stack)
	}
	c.RecomputeDefault = string(parallelism.RecomputeNone)
	var set []string
	for _, kv := range values {
		key, v := kv[0], strings.Trim(kv[1], `"`)
		flag := v == "true"
		switch key {
		case "parallelism.pp_overlap":
			k.PPOverlap = flag
		case "parallelism.tp_overlap":
			k.TPOverlap = flag
		case "parallelism.overlap_grad_reduce":
			k.OverlapGradReduce = flag
		case "parallelism.pp_scatter_gather":
			k.PPScatterGather = flag
		case "training.grad_accum_fusion":
			c.GradAccumFusion = flag
		case "training.fp32_grads":
			c.FP32Grads = flag
		case "training.attention":
			c.Attention = model.Attention(v)
		case "parallelism.recompute":
			c.RecomputeDefault = v
			continue
		case "parallelism.zero":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("software stack %s: zero %q: %w", c.Stack, v, err)
			}
			if k.ZeRO != 0 || n == 0 || c.noShard {
				continue
			}
			k.ZeRO = n
			if c.Stack == "pytorch-fsdp" {
				m.assume("zero unknown → %d (stack %s: FSDP's default sharding, FULL_SHARD)", n, c.Stack)
				continue
			}
			m.assume("zero unknown → %d (stack %s: the distributed optimizer)", n, c.Stack)
			continue
		case "training.precision":
			continue
		case "parallelism.zero_fp32_reduce":
			k.ZeROFP32Reduce = flag
		case "training.eager_cross_entropy":
			c.EagerCE = flag
		case "training.host_issue", "training.megatron_elementwise", "parallelism.async_tp_allreduce", "training.grad_accum_cast", "training.eager_hbm_fraction", "parallelism.zero3_rank_loops", "training.flash_kernel":
			// The scenario names the stack (software.stack), which sets
			// these when the case is loaded; nothing to copy.
		case "parallelism.sequence_parallel":
			if c.free != nil {
				c.free.spStackSet, c.free.spStackFlag = true, flag
			}
			if !c.spUnknown {
				continue
			}
			k.SequenceParallel = flag && k.TP > 1
			m.assume("sequence_parallel %s → %v (stack %s)", c.spSource, k.SequenceParallel, c.Stack)
			c.spUnknown = false
			continue
		default:
			return nil, fmt.Errorf("software stack %s sets %s, which sim validate's rules do not map", c.Stack, key)
		}
		set = append(set, key[strings.Index(key, ".")+1:]+" "+v)
	}
	return set, nil
}

// shape reads the model shape; fields the source leaves out, and the
// structure a case does not describe (gated MLP, latent attention), come
// from the matching built-in preset.
func (m mapper) shape(raw map[string]any) {
	c := m.c
	type fieldRef struct {
		key      string
		dst      *int
		required bool
		get      func(model.Config) int
	}
	s := &c.Shape
	fields := []fieldRef{
		{"layers", &s.Layers, true, func(p model.Config) int { return p.Layers }},
		{"hidden", &s.Hidden, true, func(p model.Config) int { return p.Hidden }},
		{"heads", &s.Heads, true, func(p model.Config) int { return p.Heads }},
		{"seq_len", &s.SeqLen, true, func(p model.Config) int { return p.SeqLen }},
		{"vocab", &s.Vocab, true, func(p model.Config) int { return p.Vocab }},
		{"kv_heads", &s.KVHeads, false, func(p model.Config) int { return p.KVHeads }},
		{"ffn_hidden", &s.FFNHidden, false, func(p model.Config) int { return p.FFNHidden }},
		{"head_dim", &s.HeadDim, false, func(p model.Config) int { return p.HeadDim() }},
	}
	// The mixture-of-experts fields, compared with a preset as given
	// (experts = 0 is a dense model).
	moe := []fieldRef{
		{"experts", &s.Experts, false, func(p model.Config) int { return p.Experts }},
		{"experts_per_token", &s.TopK, false, func(p model.Config) int { return p.TopK }},
		{"moe_ffn", &s.MoEFFN, false, func(p model.Config) int {
			if p.MoE() {
				return p.ExpertFFN()
			}
			return 0
		}},
		{"shared_experts", &s.SharedExperts, false, func(p model.Config) int { return p.SharedExperts }},
		{"moe_layers", &s.DenseLayers, false, func(p model.Config) int { return p.DenseLayers }},
	}
	var missing []fieldRef
	for _, f := range fields {
		v, ok := leading(raw[f.key])
		if f.key == "ffn_hidden" && !ok {
			// moe-cp.toml names it ffn.
			v, ok = leading(raw["ffn"])
		}
		if ok && v > 0 {
			*f.dst = v
		} else if f.required {
			missing = append(missing, f)
		}
	}
	given := map[string]bool{}
	for _, f := range moe {
		v, ok := integer(raw[f.key])
		if f.key == "moe_layers" {
			v, ok = denseLayers(raw[f.key])
			if !ok && raw[f.key] != nil {
				m.unplayable("moe_layers %s: not a form trainsim represents (\"all …\" or \"all except the first N\")", show(raw[f.key]))
				return
			}
		}
		if ok && v >= 0 {
			*f.dst = v
			given[f.key] = true
		}
	}
	if s.Experts == 0 {
		s.TopK, s.MoEFFN, s.SharedExperts, s.DenseLayers = 0, 0, 0, 0
	}
	mla := strings.Contains(text(raw["kv_heads"]), "mla")
	// Presets that agree with every field the source gives; then, if none
	// does, with every field but seq_len (a training choice, not a shape).
	agree := func(p model.Config, skipSeq bool) bool {
		for _, f := range fields {
			if *f.dst != 0 && f.get(p) != *f.dst && !(skipSeq && f.key == "seq_len") {
				return false
			}
		}
		for _, f := range moe {
			if given[f.key] && f.get(p) != *f.dst {
				return false
			}
		}
		// A preset with grouped-query attention or a non-4h MLP cannot
		// stand for a source that gives neither: it would add a shape the
		// source does not describe. Latent attention likewise.
		if s.KVHeads == 0 && p.KVHeads != p.Heads && !p.MLA() {
			return false
		}
		if s.FFNHidden == 0 && p.FFNHidden != 4*p.Hidden {
			return false
		}
		return p.MLA() == mla
	}
	var match []model.Config
	for _, skipSeq := range []bool{false, true} {
		for _, p := range model.Presets() {
			if agree(p, skipSeq) {
				match = append(match, p)
			}
		}
		if len(match) > 0 {
			break
		}
	}
	var named []model.Config
	for _, p := range match {
		if strings.Contains(alnum(c.ModelName), alnum(p.Name)) {
			named = append(named, p)
		}
	}
	if len(named) > 0 {
		match = named
	}
	names := make([]string, len(missing))
	for i, f := range missing {
		names[i] = f.key
	}
	if len(match) == 0 {
		switch {
		case len(missing) > 0:
			m.unplayable("model %s unknown and no built-in preset matches the given shape", strings.Join(names, ", "))
		case mla:
			m.unplayable("latent attention (kv_heads %s) without its sizes as numbers, and no built-in preset matches", show(raw["kv_heads"]))
		case gptNamed(c.ModelName) && s.Experts == 0:
			// Built from its fields alone, a model gets no linear biases;
			// a GPT model has them (docs/model.md §7.27).
			c.LinearBias = true
			m.assume("model: no preset matches and the name says GPT → linear biases (Megatron-Core's add_bias_linear default, core_v0.8.0 transformer_config.py; NeMo's build_transformer_config: add_bias_linear = cfg.get('bias', True), nemo/collections/nlp/models/language_modeling/megatron_base_model.py @7ed5455; no GPT-3 configuration of NeMo-Framework-Launcher sets bias), and NeMo's GPT-3 training properties (launcher_scripts/conf/training/gpt3/*.yaml: hidden_dropout 0.1, attention_dropout 0.1; NeMo's defaults: position_embedding_type learned_absolute, share_embeddings_and_output_weights True, megatron_base_model.py @7ed5455)")
		}
		return
	}
	sort.Slice(match, func(i, j int) bool { return match[i].Name < match[j].Name })
	p := match[0]
	c.Preset = p.Name
	if len(missing) == 0 {
		return
	}
	var filled []string
	for _, f := range missing {
		*f.dst = f.get(p)
		filled = append(filled, fmt.Sprintf("%s %s → %d", f.key, show(raw[f.key]), *f.dst))
	}
	m.assume("model: %s (from preset %s, the matching preset)", strings.Join(filled, ", "), p.Name)
}

// gptNamed reports whether a source names its model as a GPT model ("GPT3-5B",
// "GPT 1.7B", "GPT-3 175B"): a Megatron-Core or NeMo GPT, whose linear layers
// carry biases unless a configuration turns them off. GPT-OSS (a mixture of
// experts with its own preset) is left to its preset.
func gptNamed(name string) bool {
	n := alnum(name)
	return strings.HasPrefix(n, "gpt") && !strings.HasPrefix(n, "gptoss")
}

// leadingNumber matches a count written before a note: "12288 (provider
// ffn_hidden_size; …)", "1 (perf config)". The count must end at a space, a
// parenthesis or the text's end, so "1,024", "1.5" and "2-4" are not read
// as 1 or 2.
var leadingNumber = regexp.MustCompile(`^\s*(\d+)(?:\s|\(|$)`)

// leading returns v as an int when it is an integer or a string that
// starts with one.
func leading(v any) (int, bool) {
	if n, ok := integer(v); ok {
		return n, true
	}
	if s, ok := v.(string); ok {
		if g := leadingNumber.FindStringSubmatch(s); g != nil {
			n, err := strconv.Atoi(g[1])
			return n, err == nil
		}
	}
	return 0, false
}

// firstDense matches "all except the first 3 (first 3 layers dense)".
var firstDense = regexp.MustCompile(`^all except the first (\d+)\b`)

// denseLayers reads moe_layers: "all …" → 0 leading dense layers, "all
// except the first N …" → N.
func denseLayers(v any) (int, bool) {
	s := text(v)
	if g := firstDense.FindStringSubmatch(s); g != nil {
		n, err := strconv.Atoi(g[1])
		return n, err == nil
	}
	if s == "all" || strings.HasPrefix(s, "all ") && !strings.HasPrefix(s, "all except") {
		return 0, true
	}
	return 0, false
}

// layout maps the [case.parallelism] table to knobs.
func (m mapper) layout(p map[string]any) {
	c := m.c
	k := &c.Knobs
	tp, okTP := leading(p["tp"])
	if !okTP && strings.HasPrefix(text(p["tp"]), "none") {
		// "none ('train DeepSeek-V3 without using costly Tensor
		// Parallelism')": no tensor parallelism.
		tp, okTP = 1, true
	}
	pp, okPP := leading(p["pp"])
	if !okTP || !okPP {
		// The layout rule (layoutsearch.go): the search picks what is
		// unknown at replay; until then tp and pp stand at what is stated,
		// else 1.
		c.free = &freeLayout{tpSource: show(p["tp"]), ppSource: show(p["pp"])}
		if mp, ok := leading(p["model_parallel_size"]); ok && !okTP && !okPP {
			if t, q, ok := m.splitModelParallel(mp); ok {
				tp, pp, okTP, okPP = t, q, true, true
				m.assume("tp %s, pp %s, model_parallel_size %d → TP %d × PP %d (tensor parallelism inside a node, pipeline parallelism across nodes: Narayanan et al. 2021, §3.3, Takeaway #1, as the same README's GPT-3 175B example runs, 8-way tensor × 16-way pipeline)", show(p["tp"]), show(p["pp"]), mp, t, q)
			}
		}
		if okTP {
			c.free.tp = tp
		} else {
			tp = 1
		}
		if okPP {
			c.free.pp = pp
		} else {
			pp = 1
		}
	}
	k.TP, k.PP = tp, pp
	gb, ok := integer(p["global_batch"])
	if !ok {
		// A batch ramp "3072 -> 15360 … then 15360": the batch most of
		// the run goes at, the last one named.
		if g := batchRamp.FindStringSubmatch(text(p["global_batch"])); g != nil {
			gb, ok = leading(g[1])
			if ok {
				m.assume("global_batch %s → %d (the batch after the ramp)", show(p["global_batch"]), gb)
			}
		}
	}
	if !ok {
		m.unplayable("global batch %s", show(p["global_batch"]))
		return
	}
	c.GlobalBatch = gb
	k.CP, k.EP, k.ETP = 1, 1, 1
	if cp, ok := leading(p["cp"]); ok && cp > 0 {
		k.CP = cp
	} else if p["cp"] != nil {
		m.assume("cp %s → 1", show(p["cp"]))
	}
	if ep, ok := leading(p["ep"]); ok && ep > 0 {
		k.EP = ep
	} else if c.Shape.Experts > 0 {
		m.unplayable("mixture-of-experts model with ep %s", show(p["ep"]))
		return
	}
	if etp, ok := leading(p["etp"]); ok && etp > 0 {
		k.ETP = etp
	} else if c.Shape.Experts > 0 && p["etp"] != nil {
		// Megatron-Core's expert_tensor_parallel_size defaults to the
		// tensor-parallel size.
		k.ETP = tp
		if c.free != nil && c.free.tp == 0 {
			c.free.etpIsTP = true // per tp tried
			m.assume("etp %s → tp (Megatron-Core's default)", show(p["etp"]))
		} else {
			m.assume("etp %s → %d (Megatron-Core's default: tp)", show(p["etp"]), tp)
		}
	}
	if dp, ok := leading(p["dp"]); ok {
		k.DP = dp
		if c.free != nil {
			c.free.dp = dp
		}
	} else if c.free != nil {
		k.DP = 0 // the search's: GPUs / (tp·pp·cp)
	} else {
		k.DP = c.GPUs / max(tp*pp*k.CP, 1)
		m.assume("dp %s → %d (GPUs / (tp·pp·cp))", show(p["dp"]), k.DP)
	}
	if mb, ok := leading(p["microbatch"]); ok && mb > 0 {
		k.Microbatch = mb
		if c.free != nil {
			c.free.mb = mb
		}
	} else if c.free != nil {
		k.Microbatch = 1 // the search's
	} else {
		k.Microbatch = 1
		m.assume("microbatch %s → 1", show(p["microbatch"]))
	}
	if f, ok := leading(p["fsdp"]); ok && f > 0 {
		m.unplayable("fsdp %s: Megatron FSDP is not modelled", show(p["fsdp"]))
		return
	}
	switch v := p["sequence_parallel"].(type) {
	case bool:
		k.SequenceParallel = v
		if c.free != nil {
			c.free.spStated = true
		}
	default:
		// Decided with the stack (applyStack): its default, else tp > 1.
		k.SequenceParallel = tp > 1
		if text(v) != "varies per row" {
			c.spUnknown, c.spSource = true, show(v)
		}
	}
	vp := p["vp"]
	dual := strings.Contains(text(vp), "dualpipe")
	if dual {
		// DualPipe (DeepSeek-V3 §3.2.1): the schedule itself, whose
		// paired chunks overlap the all-to-alls with the other
		// micro-batch's computation (moe.overlap marks them as running
		// beside computation).
		k.MoEOverlap = true
		m.assume("vp %s → schedule dualpipe with moe.overlap (each GPU holds stages s and pp−1−s, half the micro-batches fed in at each end, forward and backward chunks of different micro-batches paired so that one's all-to-alls run beside the other's computation; arXiv:2412.19437 §3.2.1)", show(vp))
		vp = int64(1)
	}
	iv := p["interleave"]
	if iv == nil && vp != nil {
		if v, ok := integer(vp); ok {
			vp = int64(v)
		} else {
			vp = text(vp)
		}
		iv = vp
	}
	if c.free != nil {
		c.free.interleave(iv)
		k.Schedule, k.VirtualStages = parallelism.OneFOneB, 1 // the search's
	} else {
		m.schedule(iv)
	}
	if dual && c.free == nil {
		k.Schedule, k.VirtualStages = parallelism.DualPipe, 1
	}
	if strings.Contains(text(p["ep_overlap"]), "true") {
		k.MoEOverlap = true
	}
	c.compile = p["compile"]
	m.recompute(p["recompute"])
	if z := zeroStage.FindStringSubmatch(text(p["zero"])); z != nil {
		k.ZeRO = int(z[1][0] - '0')
	} else if n, ok := integer(p["zero"]); ok {
		k.ZeRO = n
	} else {
		m.fsdpSharding(p)
	}
	m.fsdpReduce(p["fsdp_mixed_precision"])
}

// fsdpHybrid matches PyTorch FSDP's hybrid sharding (HYBRID_SHARD,
// _HYBRID_SHARD_ZERO2, FSDP2's HSDP: sharded inside a group, replicated
// across groups), which trainsim does not model.
var fsdpHybrid = regexp.MustCompile(`hybrid[\s_-]*shard|\bhsdp\b`)

// fsdpFull and fsdpGradOp match PyTorch FSDP's full sharding (FSDP1's
// FULL_SHARD, FSDP2's fully_shard, or FSDP named alone: FULL_SHARD is
// FSDP1's default sharding_strategy) and its SHARD_GRAD_OP (parameters
// kept gathered between forward and backward: ZeRO-2); fsdpNone matches
// NO_SHARD (DDP).
var (
	fsdpGradOp = regexp.MustCompile(`shard[\s_-]*grad[\s_-]*op`)
	fsdpNone   = regexp.MustCompile(`no[\s_-]*shard`)
	fsdpFull   = regexp.MustCompile(`full[\s_-]*shard|fully[\s_-]*shard|\bfsdp\d?\b`)
)

// fsdpSharding reads a zero field (else sharding_strategy) that names
// PyTorch FSDP's sharding instead of a ZeRO stage: FULL_SHARD,
// fully_shard or FSDP → ZeRO-3, SHARD_GRAD_OP → ZeRO-2, NO_SHARD → 0; a
// hybrid sharding (HYBRID_SHARD, HSDP) is not replayed. The case is then
// a PyTorch FSDP run (the stack rule).
func (m mapper) fsdpSharding(p map[string]any) {
	c, k := m.c, &m.c.Knobs
	key := "zero"
	s := text(p[key])
	if s == "" || strings.HasPrefix(s, "unknown") {
		key = "sharding_strategy"
		s = text(p[key])
	}
	if s == "" {
		return
	}
	switch {
	case fsdpHybrid.MatchString(s):
		m.unplayable("%s %s: FSDP's hybrid sharding (sharded inside a group, replicated across) is not modelled", key, show(p[key]))
		return
	case fsdpGradOp.MatchString(s):
		k.ZeRO = 2
	case fsdpNone.MatchString(s):
		k.ZeRO, c.noShard = 0, true
	case fsdpFull.MatchString(s):
		k.ZeRO = 3
	default:
		return
	}
	c.fsdp = true
	m.assume("%s %s → zero %d (PyTorch FSDP: FULL_SHARD / fully_shard = ZeRO-3, SHARD_GRAD_OP = ZeRO-2, NO_SHARD = 0)", key, show(p[key]), k.ZeRO)
}

// fsdpReduce reads Composer's FSDP mixed_precision mode (llm-foundry's "MP
// Mode"): PURE reduces the gradients in the 16-bit training precision,
// DEFAULT in fp32 (reduce_dtype = float32), FULL in fp32 too
// (mosaicml/composer@fb1dd382 composer/trainer/mosaic_fsdp_utils.py,
// get_mixed_precision).
func (m mapper) fsdpReduce(v any) {
	c := m.c
	switch s := text(v); {
	case strings.HasPrefix(s, "pure"):
		c.fsdpReduce = "16"
	case strings.HasPrefix(s, "default"), strings.HasPrefix(s, "full"):
		c.fsdpReduce = "32"
	default:
		return
	}
	c.fsdp = true
}

// splitModelParallel splits a stated model-parallel size (tp·pp, tp and pp
// unknown) as the Megatron-LM authors did: tensor parallelism up to the
// GPUs of one server, pipeline parallelism across servers (Narayanan et al.
// 2021, "Efficient Large-Scale Language Model Training on GPU Clusters
// Using Megatron-LM", §3.3, Takeaway #1; the January 2021 README's GPT-3
// 175B example, examples/pretrain_gpt3_175B.sh@152aab304d: 8-way tensor ×
// 16-way pipeline). tp is the largest power of two that divides mp and the
// attention heads and fits a node; pp = mp/tp must divide the layers
// (Megatron's even split). ok is false when no such split exists (the
// search then chooses).
func (m mapper) splitModelParallel(mp int) (tp, pp int, ok bool) {
	c := m.c
	node := systemGPUsPerNode(c.System)
	if c.GPUsPerNode > 0 {
		node = c.GPUsPerNode
	}
	if mp < 1 || c.Shape.Layers < 1 {
		return 0, 0, false
	}
	tp = 1
	for t := 2; t <= min(mp, node); t *= 2 {
		if mp%t == 0 && (c.Shape.Heads == 0 || c.Shape.Heads%t == 0) {
			tp = t
		}
	}
	pp = mp / tp
	if c.Shape.Layers%pp != 0 {
		return 0, 0, false
	}
	return tp, pp, true
}

// batchRamp matches a ramped global batch "3072 -> 15360 … then 15360" and
// captures the last count.
var batchRamp = regexp.MustCompile(`->\s*(\d+)`)

// schedule applies the interleave rule.
func (m mapper) schedule(v any) {
	c := m.c
	k := &c.Knobs
	k.Schedule, k.VirtualStages = parallelism.OneFOneB, 1
	count, yes := 0, false
	switch x := v.(type) {
	case int64:
		count, yes = int(x), x > 1
	case bool:
		yes = x
	case string:
		s := text(x)
		if strings.HasPrefix(s, "yes") {
			yes = true
			if g := leadingCount.FindStringSubmatch(s); g != nil {
				if _, err := fmt.Sscan(g[1], &count); err != nil {
					count = 0
				}
			}
		}
	}
	if !yes {
		// An explicit "no", false or 1 needs no rule; "not stated",
		// "unknown" or a missing field does.
		_, isInt := v.(int64)
		_, isBool := v.(bool)
		if k.PP > 1 && !isInt && !isBool && !explicitNo.MatchString(text(v)) {
			m.assume("interleave %s → 1f1b", show(v))
		}
		return
	}
	if k.PP < 2 {
		m.assume("interleave %s with pp 1 → 1f1b (no pipeline)", show(v))
		return
	}
	if count > 1 {
		k.Schedule, k.VirtualStages = parallelism.Interleaved, count
		return
	}
	mbs := 0
	if d := k.DP * k.Microbatch; d > 0 {
		mbs = c.GlobalBatch / d
	}
	for vs := 4; vs >= 2; vs-- {
		if c.Shape.Layers > 0 && c.Shape.Layers%(k.PP*vs) == 0 && mbs%k.PP == 0 {
			k.Schedule, k.VirtualStages = parallelism.Interleaved, vs
			m.assume("interleave %s → interleaved×%d (largest v in {2,3,4} with layers %% (pp·v) = 0 and micro-batches %% pp = 0)", show(v), vs)
			return
		}
	}
	m.assume("interleave %s → 1f1b (no v in {2,3,4} divides layers %d by pp %d with micro-batches %d %% pp = 0)", show(v), c.Shape.Layers, k.PP, mbs)
}

// cheapModules matches the recomputed modules that use Megatron-Core's
// output-discarding checkpoint (--recompute-modules layernorm, moe_act,
// mla_up_proj; DeepSeek-V3 §3.3 'RMSNorm and MLA up-projection'), as
// opposed to the attention core (core_attn) that trainsim's selective
// policy re-runs by default; recompute reads Megatron-Core's own names as
// parallelism.recompute_modules, DeepSeek-V3's words as layernorm and
// mla_up_proj, other words as none.
var cheapModules = regexp.MustCompile(`^(selective modules? )?((layernorm|rmsnorm|moe_act|mla_up_proj|mla up-projection|mlp)(, | and )?)+( \(.*\)| recomputed.*)?$`)

// recompute applies the recomputation rule.
func (m mapper) recompute(v any) {
	k := &m.c.Knobs
	if b, ok := v.(bool); ok {
		// recompute = true / false: activation checkpointing on or off;
		// "on" checkpoints whole layers (full), as before selective
		// recomputation existed.
		k.Recompute = string(parallelism.RecomputeNone)
		if b {
			k.Recompute = string(parallelism.RecomputeFull)
		}
		return
	}
	s := text(v)
	if cheapModules.MatchString(s) { // text lower-cases
		if strings.Contains(s, "rmsnorm") && strings.Contains(s, "up-projection") {
			// DeepSeek-V3's own framework: "we recompute all RMSNorm
			// operations and MLA up-projections during back-propagation"
			// (arXiv:2412.19437 §3.2.4) — what Megatron-Core's layernorm and
			// mla_up_proj modules do (free the outputs, re-run the kernels
			// before the backward pass).
			k.Recompute = string(parallelism.RecomputeSelective)
			k.RecomputeModules = "layernorm, mla_up_proj"
			m.assume("recompute %s → selective, recompute_modules %q (DeepSeek-V3 §3.2.4: all RMSNorms and the MLA up-projections recomputed in the backward pass, their outputs not kept)", show(v), k.RecomputeModules)
			return
		}
		// Megatron-Core's selective granularity with these modules in
		// place of its default core_attn (transformer_config.py
		// recompute_modules @ core_v0.15.0): the modules named by
		// Megatron-Core's own names (as Megatron-Bridge's performance
		// configurations give them), in parallelism.recompute_modules'
		// order.
		var mods []string
		for _, n := range model.RecomputeModuleNames() {
			if n != model.ModuleCoreAttn && regexp.MustCompile(`\b`+string(n)+`\b`).MatchString(s) {
				mods = append(mods, string(n))
			}
		}
		if len(mods) == 0 || strings.Contains(s, "rmsnorm") || strings.Contains(s, "up-projection") {
			k.Recompute = string(parallelism.RecomputeNone)
			m.assume("recompute %s → none (not Megatron-Core's module names: DeepSeek's own framework's norms and up-projections, recomputed cheaply; trainsim's selective policy re-runs the attention core)", show(v))
			return
		}
		k.Recompute = string(parallelism.RecomputeSelective)
		k.RecomputeModules = strings.Join(mods, ", ")
		m.assume("recompute %s → selective, recompute_modules %q (Megatron-Core's output-discarding modules)", show(v), k.RecomputeModules)
		return
	}
	s = strings.ReplaceAll(s, "_", "-")
	switch {
	case everyNthLayer.MatchString(s):
		// torchtitan's "selective layer" AC (selective_ac_option N):
		// every Nth block checkpointed whole, the others keep their
		// activations — a share of full recomputation trainsim's
		// policies do not express.
		m.unplayable("recompute %s: checkpointing every Nth layer is not modelled", show(v))
		return
	case strings.HasPrefix(s, "selective op"), strings.HasPrefix(s, "selective-op"), strings.Contains(s, "op-level sac"), strings.Contains(s, "selective-ac-option 'op'"):
		// torchtitan's op-level selective AC keeps the outputs of the
		// ops in its save list (mm, the SDPA kernels, reduce-scatter,
		// abs, max) but every second mm's, and recomputes the rest
		// (torchtitan/parallelisms/parallelize_llama.py @9dec370 and
		// @3faaa1a0, _save_list, _custom_policy): trainsim's op_sac
		// policy (docs/model.md §7.54).
		k.Recompute = string(parallelism.RecomputeOpSAC)
		m.assume("recompute %s → op_sac (torchtitan's op-level SAC: wq, wv, w1, w2 and flash-attention outputs kept with the layer input; wk, wo, w3 and the memory-bound kernels re-run)", show(v))
	case strings.HasPrefix(s, "selective"),
		// Megatron-LM's --recompute-activations sets
		// recompute_granularity = 'selective' (megatron/training/
		// arguments.py@f2e5db402c, lines 220–221).
		strings.Contains(s, "recompute-activations"):
		k.Recompute = string(parallelism.RecomputeSelective)
	case strings.HasPrefix(s, "full"),
		// "yes", "activation checkpointing", "checkpoint-activations",
		// "gradient checkpointing", "on": Megatron-LM's
		// --checkpoint-activations, DeepSpeed's activation checkpointing
		// and PyTorch's checkpoint wrapper each recompute a whole layer
		// (full), as before selective recomputation existed.
		strings.HasPrefix(s, "yes"), s == "true", s == "on", s == "enabled",
		strings.Contains(s, "checkpointing"), strings.Contains(s, "checkpoint-activations"),
		strings.Contains(s, "activation recomputation"), strings.Contains(s, "recompute-granularity full"):
		k.Recompute = string(parallelism.RecomputeFull)
	case s == "none" || s == "no" || s == "false" || s == "off" || s == "disabled" || strings.HasPrefix(s, "none ") || strings.HasPrefix(s, "no "):
		k.Recompute = string(parallelism.RecomputeNone)
	case s == "varies per row":
		k.Recompute = string(parallelism.RecomputeNone)
	default:
		k.Recompute = Auto
	}
}

// everyNthLayer matches a recomputation of every Nth layer only
// (torchtitan's "selective layer" activation checkpointing,
// selective_ac_option = N).
var everyNthLayer = regexp.MustCompile(`^selective[ -]layer|every (second|other|\d+(st|nd|rd|th)?) layer`)

// dispatch applies the FP8-dispatch rule: a dispatch_precision naming FP8,
// or DeepSeek's own framework (the DualPipe schedule) training in FP8, which
// dispatches in FP8 (DeepSeek-V3 §3.3.4, "Low-Precision Communication": the
// activations before the MoE up-projections are quantised to FP8 before the
// dispatch, likewise the activation gradients before the down-projections;
// the combines stay in BF16).
func (m mapper) dispatch(v any) {
	c := m.c
	k := &c.Knobs
	switch {
	case strings.HasPrefix(text(v), "fp8"):
		k.DispatchFP8 = true
		m.assume("dispatch_precision %s → moe.dispatch_fp8 (the dispatch and the combine's gradient in FP8 with 1×128 scales, the combines in BF16)", show(v))
	case k.Schedule == parallelism.DualPipe && c.Precision == units.FP8 && k.EP > 1:
		k.DispatchFP8 = true
		m.assume("DualPipe (DeepSeek's framework) with FP8 training → moe.dispatch_fp8 (arXiv:2412.19437 §3.3.4: the dispatch and the combine's gradient in FP8 with 1×128 scales, the combines in BF16)")
	}
}

// precision applies the precision rule.
func (m mapper) precision(v any) {
	c := m.c
	s := text(v)
	switch {
	case strings.Contains(s, "fp8"), strings.Contains(s, "float8"):
		c.Precision = units.FP8
		if !strings.Contains(s, "fp8") {
			// PyTorch's name for it (torchao's Float8Linear, which
			// torchtitan's Float8 converts nn.Linear to): dynamic
			// scaling, each tensor's scale from its own current amax —
			// Transformer Engine's current (tensorwise) scaling
			// (torchao/float8 @ eab345c: ScalingType.DYNAMIC the default
			// for input, weight and gradient).
			c.FP8Recipe = model.FP8Tensorwise
			m.assume("precision %s → fp8 with fp8_recipe tensorwise (torchao's Float8Linear: dynamic per-tensor scaling from the current amax)", show(v))
			return
		}
		// The recipe the text names first ("FP8-CS (alt FP8-MX)" ran
		// FP8-CS, the alternative is another row's).
		at := len(s)
		for _, r := range []struct {
			names  []string
			recipe model.FP8Recipe
		}{
			{[]string{"fp8-mx", "mxfp8"}, model.FP8MX},
			{[]string{"fp8-cs", "current scaling"}, model.FP8Tensorwise},
			{[]string{"1x128", "128x128", "blockwise"}, model.FP8Blockwise},
		} {
			for _, n := range r.names {
				if i := strings.Index(s, n); i >= 0 && i < at {
					at, c.FP8Recipe = i, r.recipe
				}
			}
		}
	case strings.Contains(s, "bf16"):
		c.Precision = units.BF16
	case c.Generation != "a100":
		c.Precision = units.BF16
		m.assume("precision %s → bf16 (%s)", show(v), strings.ToUpper(c.Generation))
	default:
		c.Precision = units.FP16
		if s == "" || strings.HasPrefix(s, "unknown") {
			m.assume("precision %s → fp16 (A100)", show(v))
		}
	}
}

// metric picks the measured figure the prediction is compared with. A
// figure that is a number but not positive (iteration_s = -60.1) is an error
// in the file, not a measurement: scoring it gave errors such as −187%.
func (m mapper) metric(meas map[string]any) error {
	for _, k := range []string{"iteration_s", "tflops_per_gpu", "tokens_per_s_per_gpu", "model_tflops_per_gpu", "mfu", "gpu_hours_per_trillion_tokens"} {
		if x, ok := number(meas[k]); ok && x <= 0 {
			return fmt.Errorf("measured.%s: want a positive number, got %s", k, show(meas[k]))
		}
		// TOML's nan and inf are numbers too, but no measurement: they
		// were skipped, and the case scored on another figure or none.
		if x, ok := meas[k].(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
			return fmt.Errorf("measured.%s: want a positive finite number, got %v", k, x)
		}
	}
	m.pickMetric(meas)
	return nil
}

// pickMetric sets the case's metric and measured figure from meas.
func (m mapper) pickMetric(meas map[string]any) {
	c := m.c
	if rows, ok := meas["layer_ms"].(map[string]any); ok {
		c.Metric = LayerForward
		for name, v := range rows {
			arr, ok := v.([]any)
			if !ok || len(arr) < 2 {
				continue
			}
			f, ok1 := number(arr[0])
			b, ok2 := number(arr[1])
			if !ok1 || !ok2 {
				continue
			}
			row := LayerRow{Name: name, ForwardMS: f, BackwardMS: b, Recompute: parallelism.RecomputeNone}
			switch {
			case strings.Contains(name, "full"):
				row.Recompute = parallelism.RecomputeFull
			case strings.Contains(name, "selective"):
				row.Recompute = parallelism.RecomputeSelective
			}
			row.SequenceParallel = strings.Contains(name, "sequence")
			c.Rows = append(c.Rows, row)
		}
		rank := map[parallelism.Recompute]int{parallelism.RecomputeNone: 0, parallelism.RecomputeSelective: 1, parallelism.RecomputeFull: 2}
		sort.Slice(c.Rows, func(i, j int) bool {
			a, b := c.Rows[i], c.Rows[j]
			if rank[a.Recompute] != rank[b.Recompute] {
				return rank[a.Recompute] < rank[b.Recompute]
			}
			if a.SequenceParallel != b.SequenceParallel {
				return !a.SequenceParallel
			}
			return a.Name < b.Name
		})
		if len(c.Rows) == 0 {
			m.unplayable("layer_ms has no [forward, backward] rows")
		}
		return
	}
	if x, ok := number(meas["iteration_s"]); ok {
		c.Metric, c.Measured = StepTime, x
		return
	}
	if x, ok := number(meas["tflops_per_gpu"]); ok {
		c.Metric, c.Measured = HardwareTFLOPs, x
		if _, hasMFU := number(meas["mfu"]); hasMFU {
			c.Metric = ModelTFLOPs
		}
		return
	}
	if x, ok := number(meas["tokens_per_s_per_gpu"]); ok {
		c.Metric, c.Measured = TokensPerGPU, x
		return
	}
	if x, ok := number(meas["model_tflops_per_gpu"]); ok {
		c.Metric, c.Measured = ModelTFLOPs, x
		return
	}
	if x, ok := number(meas["mfu"]); ok {
		c.Metric, c.Measured = MFU, x
		return
	}
	if x, ok := number(meas["gpu_hours_per_trillion_tokens"]); ok && x > 0 {
		c.Metric, c.Measured = TokensPerGPU, 1e12/(x*3600)
		m.assume("gpu_hours_per_trillion_tokens %s → %.0f tokens/s per GPU (10¹² / (GPU-hours × 3600))", show(meas["gpu_hours_per_trillion_tokens"]), c.Measured)
		return
	}
	m.unplayable("no measured metric")
}
