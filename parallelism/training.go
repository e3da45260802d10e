package parallelism

import (
	"trainsim/model"
	"trainsim/units"
)

// Training is what one optimizer step and the whole run process.
type Training struct {
	GlobalBatch int // sequences per step
	Precision   units.Precision
	// UnfusedGradAccum adds each weight gradient into the fp32 gradient
	// buffer with a separate kernel per weight and micro-batch, as
	// Megatron-LM did before --gradient-accumulation-fusion (2021); false,
	// the default, lets the weight-gradient GEMM accumulate into the buffer.
	// Scenario key training.grad_accum_fusion (its negation).
	UnfusedGradAccum bool
	// Grads16 keeps gradients in 16 bit: the gradient buffer, its
	// accumulation and the data-parallel reduction (Megatron-LM's default
	// with --fp16 unless --accumulate-allreduce-grads-in-fp32 is given;
	// it forces fp32 with bf16). False, the default, keeps them in fp32.
	// Scenario key training.fp32_grads (its negation).
	Grads16 bool
	// GradAccumCast accumulates each micro-batch's 16-bit weight gradients
	// into the fp32 buffer through an fp32 temporary, two kernels per
	// weight, as DeepSpeed's BF16_Optimizer does (model.Shard.GradAccumCast);
	// read only with UnfusedGradAccum and fp32 gradients. Scenario key
	// training.grad_accum_cast.
	GradAccumCast bool
	// Eager runs the layers' element-wise work as Hugging Face
	// transformers' eager modules launch it, one kernel per tensor
	// operation (model.Shard.Eager). Scenario key
	// training.eager_elementwise.
	Eager bool
	// MegatronElementwise adds the memory-bound kernels Megatron-LM's
	// 2021–23 unfused-attention layer runs besides the fused ones the op
	// list holds (model.Shard.MegatronKernels). Scenario key
	// training.megatron_elementwise.
	MegatronElementwise bool
	// EagerCrossEntropy computes the loss as PyTorch's eager
	// cross_entropy on the fp32 upcast of the logits (torchtitan, Hugging
	// Face transformers), which holds more of the [tokens, vocab] logits
	// at once than a fused vocab-parallel cross-entropy: memory only
	// (Job.lossBytesPerLogit). Scenario key training.eager_cross_entropy.
	EagerCrossEntropy bool
	// PPKeepOutputs keeps every micro-batch's stage output on each
	// pipeline stage until the step ends, as torch.distributed.pipelining
	// did before pytorch/pytorch PR #153383 (2025-05-13: the output_chunks
	// list of each stage): the 16-bit hidden states, and on the last
	// virtual stage the 16-bit logits: memory only
	// (Job.keptOutputBytes). Scenario key training.pp_keep_outputs.
	PPKeepOutputs bool
	Tokens        float64 // tokens of the whole run, for time-to-train
	Steps         int     // steps replayed event by event
	// Attention is how the attention core runs: model.AttentionUnfused or
	// model.AttentionFlash.
	Attention model.Attention
	// FlashKernel is the library whose kernel runs flash attention:
	// model.FlashFused ("" too) or model.FlashFA2. Scenario key
	// training.flash_kernel.
	FlashKernel model.FlashKernel
	// FP8Recipe is the FP8 scaling recipe (read only in FP8).
	FP8Recipe model.FP8Recipe
	// FP8Param keeps the linear layers' weights in FP8 only, with no
	// 16-bit copy, and all-gathers them in FP8 after the optimizer step
	// (Megatron-Core's --fp8-param-gather, TransformerConfig.fp8_param;
	// Job.stageMemory, Job.gatherBytes). Read only in FP8. Scenario key
	// training.fp8_param.
	FP8Param bool
	// HostIssue is the host time the framework spends to issue one kernel
	// (compute.Params.HostIssue); 0 keeps the GPU family's, eager
	// PyTorch's 10 µs. Scenario key training.host_issue, which the
	// Transformer Engine stacks (megatron-core-2024, nemo-24.07) set.
	HostIssue units.Seconds
	// EagerHBMFraction is the share of the datasheet HBM bandwidth the
	// kernels PyTorch launches one tensor operation at a time reach
	// (compute.Params.EagerHBMFraction, model.Op.Eager); 0 keeps the GPU
	// family's HBMFraction for them. Scenario key
	// training.eager_hbm_fraction.
	EagerHBMFraction float64
}
