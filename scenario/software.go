package scenario

import (
	"fmt"
	"sort"
	"strings"
)

// A software stack is a documented bundle of framework behaviours that
// today each need their own key: how pipeline sends synchronise, whether
// activations are scattered between stages, gradient accumulation and
// precision, the attention kernel, the distributed optimizer and its
// overlaps, the recomputation a framework turns on by default. A scenario
// names its stack with software.stack; a key the scenario gives itself
// overrides what the stack says.

// stack is one software stack: the keys it sets, as TOML values, and where
// each behaviour is documented.
type stack struct {
	name, doc string
	values    [][2]string // key, TOML value
}

// stacks lists the built-in software stacks.
func stacks() []stack {
	megatron2021 := [][2]string{
		{"parallelism.pp_overlap", "false"},          // torch.cuda.synchronize() after every batch of p2p ops
		{"parallelism.overlap_grad_reduce", "false"}, // --DDP-impl local: one all-reduce after the backward pass
		{"training.grad_accum_fusion", "false"},      // --gradient-accumulation-fusion came later in 2021
		{"training.fp32_grads", "false"},             // --fp16 without --accumulate-allreduce-grads-in-fp32
		{"training.precision", `"fp16"`},
		{"training.attention", `"unfused"`},
		// The layer's kernels besides the fused ones: the QKV bias add and
		// its gradient, the context permute copies, the scores' alpha
		// multiplies, the split's cat, the output and MLP bias gradients,
		// apex's layer-norm γ/β pass, the residual-gradient adds
		// (megatron/model/transformer.py, megatron/mpu/layers.py @e270f68).
		{"training.megatron_elementwise", "true"},
		// PyTorch 1.8's own kernels (NGC 20.12) where the 2021 layer has no
		// fused one of its own (the attention dropout, the kernels above but
		// apex's γ/β pass) run at the rate SC21's fusion experiment gives:
		// 5.84 and 8.09 GB of unfused traffic per layer pass took 5.52 and
		// 8.00 ms more (Narayanan et al. 2021 §5.8, GPT-3 175B 113 → 135
		// and 530B 133 → 148 TFLOP/s per GPU): 52% and 50% of 2039 GB/s
		// (docs/model.md §7.24).
		{"training.eager_hbm_fraction", "0.51"},
	}
	megatron2022 := [][2]string{
		{"training.megatron_elementwise", "true"},
		// LinearWithGradAccumulationAndAsyncCommunication: the column-
		// parallel layers' input-gradient all-reduce beside their wgrad GEMM,
		// on unless --no-async-tensor-model-parallel-allreduce
		// (megatron/mpu/layers.py @7fccd6a, May 2022).
		{"parallelism.async_tp_allreduce", "true"},
		{"parallelism.pp_overlap", "false"},
		{"parallelism.overlap_grad_reduce", "false"},
		{"parallelism.pp_scatter_gather", "true"},
		{"training.grad_accum_fusion", "true"},
		{"training.fp32_grads", "true"},
		{"training.precision", `"fp16"`},
		{"training.attention", `"unfused"`},
	}
	core2024 := [][2]string{
		{"parallelism.pp_overlap", "true"},
		{"parallelism.pp_scatter_gather", "false"},
		{"parallelism.overlap_grad_reduce", "true"},
		{"parallelism.tp_overlap", "true"},
		{"parallelism.zero", "1"},
		{"training.grad_accum_fusion", "true"},
		{"training.fp32_grads", "true"},
		{"training.precision", `"bf16"`},
		{"training.attention", `"flash"`},
		// Transformer Engine's modules cost the host ≈ 2.7× an eager PyTorch
		// operator per call (NVIDIA/TransformerEngine issue #2053, TE of
		// August 2025: te.Linear 99.66 µs vs torch.nn.Linear 37.08 µs on
		// GB200, 90.53 vs 33.17 µs on GH200, forward, one GEMM each); its
		// CPU-overhead reductions (PRs #2377, #2400, November 2025) are
		// not in release 2.9, the one Megatron-Bridge 25.11 pins.
		{"training.host_issue", `"27us"`},
	}
	// Megatron-DeepSpeed (microsoft/Megatron-DeepSpeed, 2021–2023): Megatron's
	// model code under DeepSpeed's engine. The pipeline engine
	// (microsoft/DeepSpeed deepspeed/runtime/pipe/engine.py@195563a:
	// is_pipe_partitioned = is_model_parallel, sends as a PartitionedTensor
	// over the tensor-parallel group) splits each stage's output over the
	// tensor-parallel ranks before the send and gathers it after — Megatron's
	// scatter/gather — and waits for each send; autograd accumulates every weight gradient into the
	// module's 16-bit .grad (a separate add per micro-batch), and the engine
	// all-reduces those 16-bit gradients after the backward pass
	// (communication_data_type defaults to the training precision); its
	// validation configs in vTrain (config/validation/multi/*.json) set
	// use_gradient_bucket false. It had no sequence parallelism: the
	// fork's GPT layers are Megatron-LM's of 2021 (before Korthikanti et
	// al. 2022 added it), and vTrain's replica of the layers it measured
	// (VIA-Research/vTrain src/model/layers.py@f8dda84) replicates the
	// layer norms and dropouts on every tensor-parallel rank.
	megatronDeepSpeed := [][2]string{
		{"parallelism.sequence_parallel", "false"},
		{"parallelism.pp_overlap", "false"},
		{"parallelism.pp_scatter_gather", "true"},
		{"parallelism.overlap_grad_reduce", "false"},
		{"parallelism.tp_overlap", "false"},
		{"training.grad_accum_fusion", "false"},
		{"training.fp32_grads", "false"},
		{"training.precision", `"fp16"`},
		{"training.attention", `"unfused"`},
		// The fork's layer is Megatron-LM's transformer.py with the same
		// unmerged kernels (vTrain's replica, src/model/gpt_modeling.py
		// @f8dda84, too); the asynchronous input-gradient all-reduce is not
		// there: megatron/arguments.py @c08e2cc2 turns it off whenever
		// --deepspeed is given.
		{"training.megatron_elementwise", "true"},
		// DeepSpeed's bf16 path (BF16_Optimizer, the only one its pipeline
		// engine has for bf16: microsoft/DeepSpeed PR #1801, 56c522386)
		// accumulates each micro-batch's bf16 gradients into fp32 through
		// an fp32 temporary; fp16 runs keep 16-bit gradients, unaffected.
		{"training.grad_accum_cast", "true"},
	}
	// DeepSpeed ZeRO-3 as the SC21 paper's Table 2 ran it (2021): no tensor
	// or pipeline parallelism, parameters, gradients and optimizer state
	// sharded over all GPUs, each parameter tensor gathered before use and
	// the gradients reduce-scattered as the backward pass produces them
	// (overlap_comm), fp16, unfused attention, full recomputation.
	zero3 := [][2]string{
		{"parallelism.zero", "3"},
		{"parallelism.overlap_grad_reduce", "true"},
		{"parallelism.recompute", `"full"`},
		{"training.grad_accum_fusion", "false"},
		{"training.fp32_grads", "false"},
		{"training.precision", `"fp16"`},
		{"training.attention", `"unfused"`},
		// DeepSpeed v0.3.13–v0.4.x: per-rank host loops in every gather and
		// reduce-scatter, persistent small tensors re-gathered after each
		// step (deepspeed/runtime/zero/partition_parameters.py,
		// stage3.py; docs/model.md §7.48).
		{"parallelism.zero3_rank_loops", "true"},
	}
	// NeMo 24.07 (NVIDIA/NeMo-Framework-Launcher, tag 24.07): every H100
	// training example, BF16 and FP8 (examples/training/gpt/h100/*.sh,
	// examples/training/llama/h100/*.sh), passes
	// +training.model.optim.grad_sync_dtype=bf16 — distributed_fused_adam's
	// gradient buffer and reduction in bf16 — as does NVIDIA's own benchmark
	// of GPT-3 175B (NVIDIA/dgxc-benchmarking v24.11.1 and v25.04
	// nemo_megatron gpt3_175b_hydra.yaml); every GPT-3 and Llama
	// configuration of the tag (conf/training/gpt3/*.yaml,
	// conf/training/llama/*.yaml) sets activations_checkpoint_granularity:
	// null, so the default recomputation is Megatron-Core's, none (the
	// selective of 2023, 5aeb4ab8 to 5d011e3b, is gone by then).
	// PyTorch's own FSDP trainers (torchtitan, MosaicML llm-foundry /
	// Composer, Hugging Face Accelerate): every parameter, gradient and
	// optimizer state sharded over the data-parallel ranks, each block's
	// parameters all-gathered before its forward and backward and its
	// gradients reduce-scattered as the backward pass produces them, on
	// streams of their own (FSDP1's FULL_SHARD with backward prefetch,
	// torch/distributed/fsdp; FSDP2's fully_shard, which torchtitan
	// @9dec370 applies per transformer block). The gradient reduction is
	// fp32: torchtitan's training.mixed_precision_reduce defaults to
	// "float32" (torchtitan/config_manager.py @9dec370) and Composer's
	// DEFAULT mixed precision sets reduce_dtype float32
	// (mosaicml/composer@fb1dd382 composer/trainer/mosaic_fsdp_utils.py,
	// get_mixed_precision). Attention through PyTorch's SDPA flash kernel
	// (torchtitan) or FlashAttention / its Triton port (llm-foundry's
	// attn_impl): FlashAttention-2 on Hopper, not cuDNN (training.flash_kernel
	// fa2; docs/model.md §7.49); autograd's own accumulation into .grad (no fused
	// weight-gradient accumulation); pipeline sends of
	// torch.distributed.pipelining are asynchronous (batch_isend_irecv).
	// Kernels are eager PyTorch operators (no Transformer Engine), so the
	// host cost per kernel stays at training.host_issue's default.
	fsdp := [][2]string{
		{"parallelism.zero", "3"},
		{"parallelism.zero_fp32_reduce", "true"},
		{"parallelism.overlap_grad_reduce", "true"},
		{"parallelism.pp_overlap", "true"},
		{"parallelism.pp_scatter_gather", "false"},
		{"parallelism.tp_overlap", "false"},
		{"training.grad_accum_fusion", "false"},
		{"training.fp32_grads", "true"},
		{"training.precision", `"bf16"`},
		{"training.attention", `"flash"`},
		{"training.flash_kernel", `"fa2"`},
		// The loss is PyTorch's eager cross_entropy on the fp32 logits:
		// torchtitan's loss_fn (train.py @9dec370, its compilation
		// commented out) and Hugging Face transformers' ForCausalLMLoss
		// (src/transformers/loss/loss_utils.py @0114da07); memory only
		// (docs/model.md §7.57).
		{"training.eager_cross_entropy", "true"},
	}
	nemo2407 := make([][2]string, 0, len(core2024))
	for _, kv := range core2024 {
		if kv[0] == "training.fp32_grads" {
			kv[1] = "false"
		}
		nemo2407 = append(nemo2407, kv)
	}
	return []stack{
		{name: "megatron-deepspeed", values: megatronDeepSpeed,
			doc: "Megatron-DeepSpeed (Microsoft's fork under DeepSpeed's engine, 2021–2023): no sequence parallelism, blocking pipeline sends split over the tensor-parallel ranks (DeepSpeed's partitioned sends), autograd's unfused accumulation into 16-bit gradients (with bf16: BF16_Optimizer's per-micro-batch cast and add into fp32 gradients, grad_accum_cast), one data-parallel all-reduce after the backward pass, fp16, unfused attention with the layer's unmerged element-wise kernels (megatron_elementwise)"},
		{name: "deepspeed-zero3-2021", values: zero3,
			doc: "DeepSpeed ZeRO-3 of 2021 (the SC21 paper's Table 2 baseline): everything sharded over data parallelism, per-tensor parameter gathers, gradient reduce-scatter overlapped with the backward pass, per-rank host loops in every gather and reduce-scatter (zero3_rank_loops), fp16 with 16-bit gradients, unfused attention, full recomputation"},
		{name: "megatron-lm-2021-01", values: append(append([][2]string(nil), megatron2021...), [2]string{"parallelism.pp_scatter_gather", "false"}),
			doc: "Megatron-LM as of January 2021 (the README's GPT-3 175B run): blocking pipeline sends, whole activations between stages (the scatter/gather came with the SC21 paper, April 2021), one data-parallel all-reduce after the backward pass, unfused gradient accumulation, fp16 with 16-bit gradients, unfused attention with the layer's unmerged element-wise kernels (megatron_elementwise), PyTorch 1.8's own kernels at 51% of the HBM bandwidth (eager_hbm_fraction, from the SC21 paper's fusion experiment)"},
		{name: "megatron-lm-2021", values: append(append([][2]string(nil), megatron2021...), [2]string{"parallelism.pp_scatter_gather", "true"}),
			doc: "Megatron-LM of the SC21 paper (Narayanan et al. 2021): as megatron-lm-2021-01 with the pipeline scatter/gather"},
		{name: "megatron-lm-2022", values: megatron2022,
			doc: "Megatron-LM of Korthikanti et al. 2022: blocking pipeline sends with scatter/gather, gradient-accumulation fusion, fp32 gradients, fp16, unfused attention with the layer's unmerged element-wise kernels (megatron_elementwise), the column-parallel layers' input-gradient all-reduce beside their weight-gradient GEMM (async_tp_allreduce)"},
		{name: "megatron-core-2024", values: core2024,
			doc: "Megatron-Core (2024 README): overlapped pipeline sends of whole activations, the distributed optimizer (ZeRO-1) with overlapped gradient reduce-scatter and parameter all-gather, TP communication overlap, bf16, flash attention, fp32 gradients, 27 µs of host time per kernel (Transformer Engine's modules, TransformerEngine issue #2053)"},
		{name: "pytorch-fsdp", values: fsdp,
			doc: "PyTorch's own FSDP (FSDP1 FULL_SHARD, FSDP2 fully_shard) as torchtitan, MosaicML llm-foundry / Composer and Hugging Face Accelerate train with it: ZeRO-3 sharding over data parallelism with per-block parameter gathers and gradient reduce-scatters beside the computation, fp32 gradient reduce-scatters (zero_fp32_reduce: torchtitan's mixed_precision_reduce and Composer's DEFAULT mixed precision), bf16, flash attention by FlashAttention-2 (flash_kernel fa2: PyTorch SDPA's flash backend, which PyTorch ranks before cuDNN's except in 2.5.0, and llm-foundry's flash-attn 2 or Triton kernels), eager PyTorch kernels (no Transformer Engine), the loss as PyTorch's eager cross-entropy on fp32 logits (eager_cross_entropy: torchtitan, Hugging Face transformers), asynchronous pipeline sends, no fused gradient accumulation"},
		{name: "nemo-24.07", values: nemo2407,
			doc: "NeMo 24.07: megatron-core-2024 with NeMo's 16-bit gradient reduction (grad_sync_dtype=bf16 in every H100 training example of NeMo-Framework-Launcher's 24.07 tag and in NVIDIA's DGX Cloud Benchmarking GPT-3 175B configuration) and no recomputation (activations_checkpoint_granularity null in every GPT-3 and Llama configuration of that tag)"},
	}
}

// StackNames lists the built-in software stacks.
func StackNames() []string {
	var out []string
	for _, s := range stacks() {
		out = append(out, s.name)
	}
	sort.Strings(out)
	return out
}

// stackByName returns the stack called name.
func stackByName(name string) (stack, bool) {
	for _, s := range stacks() {
		if s.name == name {
			return s, true
		}
	}
	return stack{}, false
}

// stackDoc is the software.stack key's documentation: every stack and what
// it sets.
func stackDoc() string {
	var parts []string
	for _, s := range stacks() {
		var kv []string
		for _, v := range s.values {
			kv = append(kv, fmt.Sprintf("`%s = %s`", v[0], v[1]))
		}
		parts = append(parts, fmt.Sprintf("`%s`: %s (%s)", s.name, s.doc, strings.Join(kv, ", ")))
	}
	return "a bundle of framework behaviours; keys the scenario gives override it. " + strings.Join(parts, "; ")
}

// applyStack gives every key the named stack sets, and the scenario does
// not, the stack's value, as if the file had written it.
func (d *decoder) applyStack() {
	if !d.given(keyStack) {
		return
	}
	st, ok := stackByName(d.set.stack)
	if !ok {
		d.unknownPreset(keyStack, "software stack", d.set.stack, StackNames())
		return
	}
	for _, kv := range st.values {
		k, ok := d.schema.keys[kv[0]]
		if !ok || k.value == nil || d.given(kv[0]) {
			continue
		}
		v, err := parseSetValue(kv[1], false)
		if err == nil {
			err = k.value.decode(v)
		}
		if err != nil {
			d.add(keyStack, fmt.Sprintf("stack %s: %s: %v", st.name, kv[0], err))
		}
	}
}

// StackSettings returns the keys the named built-in software stack sets,
// each with its TOML value, in the stack's order; false when no stack has
// that name. sim validate's rules pick a stack per case and take its
// behaviours from here.
func StackSettings(name string) ([][2]string, bool) {
	st, ok := stackByName(name)
	if !ok {
		return nil, false
	}
	return append([][2]string(nil), st.values...), true
}
