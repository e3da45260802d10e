package validation

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"trainsim/model"
	"trainsim/rl"
	"trainsim/scenario"
	"trainsim/units"
)

// The RL validation: published RL post-training steps (data/rl.toml, in
// published.toml's [[case]] layout with an [rl] table) replayed through the
// same path as a user's scenario with an [rl] table: scenario.Load, then
// rl.Run.

const rlFile = "data/rl.toml"

// RLGroup selects the RL table alone (sim validate --group rl).
const RLGroup = "rl"

// The RL metrics.
const (
	// RLStep is the wall-clock of one RL step, in seconds.
	RLStep Metric = "rl_step_s"
	// RLGeneration and RLTraining are the published split of a step:
	// generation (with the scoring passes where the source counts them in
	// it) and training (with the refit), in seconds.
	RLGeneration Metric = "rl_generation_s"
	RLTraining   Metric = "rl_training_s"
	// RLEpoch is the time of one pass over a data set, in hours.
	RLEpoch Metric = "rl_epoch_h"
)

type rawRLCase struct {
	ID          string         `toml:"id"`
	Group       string         `toml:"group"`
	Confidence  string         `toml:"confidence"`
	Source      string         `toml:"source"`
	Notes       string         `toml:"notes"`
	Model       map[string]any `toml:"model"`
	Hardware    map[string]any `toml:"hardware"`
	Parallelism map[string]any `toml:"parallelism"`
	RL          map[string]any `toml:"rl"`
	Measured    map[string]any `toml:"measured"`
	Derived     map[string]any `toml:"derived"`
}

// RLRules returns the rules that fill what the RL sources leave unknown,
// the same for every case.
func RLRules() []string {
	return []string{
		"model: the case's model name → the built-in preset of that family and size (Llama-3.1-8B → llama3-8b, the same shape; Llama-2-7B/13B/70B → llama2-*; OPT-13B/30B/66B → opt-*; OPT-like-175B → opt-175b; DeepSpeed-Chat's 350M critic and reward → opt-350m; Qwen3-32B → qwen3-32b; Qwen3-30B-A3B and DeepSeek-V3 → qwen3-30b-a3b and deepseek-v3 when this build has those mixture-of-experts presets); a model no preset has → not scored",
		"hardware: H100 → dgx-h100; A100 40GB → dgx-a100-40gb; A100 80GB → dgx-a100-80gb; A800-SXM-80GB → dgx-a100-80gb with NVLink at 200 GB/s per direction (NVIDIA's A800 datasheet: 400 GB/s); H20 → hgx-h20 (NVIDIA's HGX H20 product brief as reproduced: 148 TFLOP/s BF16 dense, 96 GB HBM3 at 4.0 TB/s, NVLink 900 GB/s, 8 per board; one 400 Gb/s NIC per GPU assumed, topology/presets.go); another GPU → not scored",
		"verl one-step-off: the table of docs/advance/one_step_off.md (volcengine/verl at 648e3c95c, 2025-07-17, PR #2591 after the recipe's PR #2231) gives no batch, lengths or layout; its colocate rows are the baselines of the recipe's scripts of that commit, recipe/one_step_off_policy/dapo_7b_math_fsdp2_colocate.sh and dapo_7b_math_megatron_colocate.sh (2 nodes × 8 GPUs; 512 prompts per step, 12 (FSDP2) and 16 (Megatron) responses each, PPO mini-batches of 32 prompts; prompts ≤ 2048 and responses ≤ 8192 tokens, DAPO's overlong penalty from 4096; vLLM TP 2 at gpu_memory_utilization 0.80, chunked prefill, max_num_batched_tokens 10240; actor parameters and optimizer offloaded; FSDP2 with Ulysses SP 4 and fsdp_size 2, or Megatron TP 2 × PP 2; gradient checkpointing), but the doc's FSDP2 row states 20,480-token responses, which its script does not (it is not that script's run), and neither the doc nor the scripts give the mean response length, which sets the decode time (the source data is a W&B project) → listed, not scored; this build also has no Qwen2.5-Math-7B preset (model rule)",
		"DeepSpeed-Chat benchmark settings (DeepSpeed-Chat's table, and OpenRLHF's benchmark, which states it ran them with 1024-token caps): prompts and answers at fixed lengths, the caps (BenckmarkSetting.md: prompts and answers of fixed length); OpenRLHF's engines get their prompts unpadded (the OpenRLHF engine prompts rule)",
		"OpenRLHF engine prompts: OpenRLHF's benchmark follows DeepSpeed-Chat's benchmark settings, which fix its data (BenckmarkSetting.md: 40% of Dahoas/rm-static, Dahoas/full-hh-rlhf, Dahoas/synthetic-instruct-gptj-pairwise, yitingxie/rlhf-reward-datasets, openai/webgpt_comparisons, stanfordnlp/SHP), and names only other differences (benchmark/README.md at dbdd43b0: the 1024-token caps, the reward model initialised from the actor, no hybrid engine); its DeepSpeed-Chat runs (benchmark/deepspeed-chat/llama_7b.sh) take the first five, the ones OpenRLHF's prompt loader reads (openrlhf/datasets/prompts_dataset.py preprocess_data at dbdd43b0: a 'prompt' field, WebGPT's question; SHP's has none). OpenRLHF hands vLLM each prompt with its padding stripped, truncated at the cap (experience_maker.py _generate_vllm), while scoring pads a call's batch to its longest prompt + response and training a micro-batch to its longest sample (replay_buffer.py zero_pad_sequences); the replay has no padding to the longest, so scoring and training stay at the caps, that padding's limit. Mean prompt tokens with the Llama 2 tokenizer (Touvron et al. 2023, arXiv 2307.09288, Table 6: tokens per example − tokens per response, the whole dialogue before the answer; for the single-turn sets that is Table 6's prompt column): Anthropic Helpful 163.1 and Harmless 106.1, 148 over their 122,387 + 43,966 comparisons (Dahoas/rm-static and full-hh-rlhf are HH's dialogues; yitingxie/rlhf-reward-datasets, in HH's Human/Assistant format, its origin not stated in the sources read, is taken as HH); WebGPT 48.3; synthetic GPT-J 13.0. The blend's probabilities are not published → the engine's prompts at the HH mean, the longest component, 148 tokens (rl.engine_prompt_len): at most what any blend gives; one mean, not a spread",
		"prompt length otherwise not published → 256 tokens (DeepSpeed-Chat's fixed prompt length, the one published in the file); the responses' cap is then max_total − 256 where only the total is capped",
		"response length: a mean of prompt + response published (NeMo-RL's G-Average Seq len) → mean response = that − the prompt; lengths spread as rl.response_mean's quantiles",
		"generation engine TP: as published, or as the case's role split reads it from an example script (OpenRLHF 70B: 2 engines × TP2); otherwise the smallest power of two whose 16-bit weight shard is at most half of a GPU's HBM, at most gpus_per_node (DeepSpeed-Chat's run_13b.sh uses 2 for 13B on 40 GB, which this gives)",
		"engine memory and batch: vLLM's gpu_memory_utilization as published, else its default 0.9; max_num_seqs 256 (vLLM's default); DeepSpeed-Chat's hybrid engine generates fixed-length answers as a static batch",
		"OpenRLHF (2024) engine batch: each actor rank sends its micro-rollout batch (generation_micro_batch prompts) to one vLLM engine in a blocking call (RemoteExperienceMaker._generate_vllm: llm = vllm_engines[rank % engines]; ray.get(llm.generate.remote(...)); the prompts dataloader yields micro_rollout_batch_size prompts per make_experience), and an engine is a synchronous Ray actor that serves one call at a time → rl.max_batch = generation_micro_batch",
		"engine host loop: vLLM before 0.6 (OpenRLHF's 0.3.1) runs a synchronous loop, schedule → run → copy the sampled tokens → process outputs, the GPU idle meanwhile; the output processing grows with the batch: 0.2 ms at batch 1, 3.4 ms at batch 32 (vLLM issue #6913, the asynchronous output processor RFC, 2024, Llama 3 70B on 4 H100s) → rl.engine_host_per_seq 0.1 ms ((3.4 − 0.2) ÷ 31), no fixed part for the scheduler (rl.engine_host_overhead 0: no batch-resolved measurement of the scheduler's own time; an engine of TP > 1 adds its Ray workers' step, the Ray TP worker rule); consistent with the ~4 ms GPU bubble per decode step of vLLM issue #6854 (the multi-step scheduling RFC) at a batch of ~40, and with the v0.6 blog (2024-09-05: scheduling 29% of the time against 38% on the GPU, Llama 3 8B on an H100). DeepSpeed-Chat's hybrid engine → 0 (no published figure)",
		"NeMo-RL reference swap: the reference policy's weights stay in host memory and the Megatron policy worker swaps them in for the reference log-probabilities (nemo_rl/models/policy/workers/megatron_policy_worker.py use_reference_model at r0.6.0: the policy's state dict copied to the CPU, the reference's applied to the model, the policy's applied back) → rl.reference_swap: three crossings of PCIe of the policy's weight shard per step",
		"NeMo-RL engine loop: vLLM V1 without async scheduling (NeMo-RL v0.5's vLLM 0.11.2 and v0.6's 0.17.1, pyproject.toml at v0.5.0 and v0.6.0; --async-scheduling off) still runs schedule → execute → update per iteration → rl.engine_host_overhead 3.7 ms per iteration, derived from NeMo-RL's own v0.3 blog (2025-07-21; its table quoted in NVIDIA-NeMo/RL issue #959): Llama 3.1 8B on one 8-H100 node (examples/configs/grpo_math_8B_megatron.yaml at v0.3.0: 64 × 32 samples, 4096 tokens, PP2, vLLM TP1 at 0.6; vLLM 0.9.0's LLM class, replayed with the engine rules below: rl.kv_profile \"vllm-v1\", 16384 profile tokens, max_num_seqs 1024) generates in 58 s with 795 tokens per response on average, and this replay of that set-up generates in 42.9 s over 4064 iterations: (58 − 42.9) ÷ 4064 = 3.7 ms (4.3 ms before the KV budget rule: 41.6 s over 3831 iterations with the whole 60% of 80 GiB less the weights for the cache). Checked, not fitted, on the blog's Llama 3.1 70B row (grpo_math_70B_megatron.yaml: 8 nodes, TP4 PP4, vLLM TP4, 398 tokens per response): generation 84 s published, 84.6 s replayed (70.5 s without the loop). Of the size of vLLM issue #6854's ~4 ms bubble per decode step and #10634's 5–6 ms gap at batch 256",
		"NeMo-RL refit: an engine GPU takes in its shard of the new weights at 2.5 GB/s (rl.refit_rate), the median of NeMo-RL's own refit times in its v0.3 blog (2025-07-21, step-time breakdown after the refit optimizations of its 2025-08-12 refit blog: CUDA IPC handles, then vLLM's load_weights): Llama 3.1 8B 16 GB per engine GPU (vLLM TP1) in 5 s = 3.2 GB/s, Qwen3 32B 16 GB in 7 s = 2.3 GB/s (vLLM TP4 assumed, as NeMo-RL's Qwen3-32B recipe; TP8 would give 1.1 GB/s and the same median), Llama 3.1 70B 35 GB (vLLM TP4, the blog's command line) in 14 s = 2.5 GB/s; v0.5 (the scored cases) may have sped it up further",
		"NeMo-RL colocated: the policy's training state goes to host memory before generation and comes back after it, and vLLM sleeps (weights to host, KV cache dropped) after generation and wakes before the next (nemo_rl/algorithms/grpo.py refit_policy_generation: offload_before_refit, offload_after_refit, prepare_for_generation; finish_generation) → rl.offload = \"all\": the weights over PCIe at the system's rate (Megatron-Core's param_and_grad_buffer offload_to_cpu copies them into pinned memory), the gradients dropped and re-zeroed, not copied (offload_to_cpu frees the gradient buffer)",
		"NeMo-RL optimizer swap: the colocated offload moves the optimizer state tensor by tensor with a synchronous .to() into pageable host memory, out in offload_before_refit and back in prepare_for_training, every step (megatron_policy_worker.py move_optimizer at r0.6.0; NVIDIA-NeMo/RL PR #2248: 'per-tensor pageable allocations … synchronous memcpy on every step') → rl.optimizer_swap_rate 1.57 GB/s each way: NVIDIA-NeMo/RL issue #3976's Nsight trace of offload_before_refit on an H100 (Megatron distributed optimizer, Qwen2.5-0.5B): 4.94 GB of Device→Pageable copies (510 tensors) in 3.76 s of the offload (2.75 s of copy time, 1.8 GB/s; the same host's 1 GiB pageable copy 16.1 GB/s, pinned 55 GB/s). 4.94 GB for 0.494 B parameters is 10 B per parameter (the precision-aware optimizer's 16-bit master remainders and two fp32 moments, NeMo-RL's default), so the offload took 3.76 s ÷ 0.494e9 = 7.6 ns per parameter, which is 12 B ÷ 7.6 ns = 1.57 GB/s of the replay's 12 B per parameter (fp32 master weights and two moments). The way back (pageable → device, not traced there) is taken at the same rate; of the size of NeMo-RL PR #1404's measurement: moving the optimizer out and back took ~12 s per step for Qwen3-30B-A3B and ~9 s for Qwen3-235B (13 → ~1 s and 10 → 1 s once it stopped)",
		"NeMo-RL KV budget: NeMo-RL v0.5 runs vLLM 0.11.2 and v0.6 vLLM 0.17.1 (pyproject.toml at v0.5.0 and v0.6.0), both V1 engines that size the KV cache in Worker.determine_available_memory (vllm/v1/worker/gpu_worker.py): total × gpu_memory_utilization less the weights, the PyTorch peak of the profile run and the non-torch memory that grew during it (NCCL's buffers are in the baseline since vLLM PR #25359, 2025-09; the CUDA-graph estimate of PR #30515 is off by default before 0.21) → rl.kv_profile = \"vllm-v1\": the H100's total as CUDA reports it, 79.22 GiB (vLLM PR #10511's logs), the profile's forward of max_num_batched_tokens tokens and its sampler over min(max_num_seqs, tokens) sequences (rl.SamplerBytesPerLogit, 38 B per logit: vllm/v1/sample/ops/topk_topp_sampler.py apply_top_k_top_p with the dummy run's top-k and top-p, and PyTorch's sort scratch, aten/src/ATen/native/cuda/Sort.cu), 0.61 GiB of non-torch increase (vLLM issue #30942's log). max_num_batched_tokens: NeMo-RL sets none (vllm_worker.py llm_kwargs at v0.5.0 and v0.6.0); vLLM's LLM class (vllm_async_engine false) takes 16384 on an H100 (EngineArgs defaults for UsageContext.LLM_CLASS on a GPU of ≥ 70 GiB that is not an A100), AsyncLLM (true) is built with UsageContext.ENGINE_CONTEXT, which has no entry, and keeps SchedulerConfig's 2048 → rl.max_batched_tokens 16384 or the profile's default 2048",
		"NeMo-RL engine batch: NeMo-RL sets no max_num_seqs (vllm_worker.py llm_kwargs, examples/configs at v0.5.0 and v0.6.0), so vLLM's defaults hold: its LLM class (vllm_async_engine false) takes 1024 on a GPU of ≥ 70 GiB that is not an A100 (EngineArgs batch defaults for UsageContext.LLM_CLASS), AsyncLLM (true), built with UsageContext.ENGINE_CONTEXT, which has no entry, keeps SchedulerConfig.DEFAULT_MAX_NUM_SEQS, 128 → rl.max_batch 1024 or 128 (instead of the 256 of the engine memory and batch rule)",
		"OpenRLHF KV budget: vLLM 0.3.1 (the benchmark's engine) sizes the KV cache in Worker.profile_num_available_blocks (vllm/worker/worker.py; vLLM PR #2031, 2023-12): total × gpu_memory_utilization − (total − free) after one profiling forward of max_num_batched_tokens = max(max_model_len, 2048) tokens in max_num_seqs sequences, so everything the device then holds comes off: the weights, the profile's activation peak (cached by PyTorch's allocator), and memory outside it, 1.79 GiB at TP 1 and 3.58 GiB at TP 2 with NCCL (vLLM PR #10511's logs) → rl.kv_profile = \"vllm-0.3\" (no reported total for the A100 the A800 maps to: 80 GiB). Not binding: OpenRLHF's engines run 4 to 16 sequences",
		"NeMo-RL packing: sequence packing is on by default (policy.sequence_packing.enabled, examples/configs/grpo_math_1B.yaml at r0.6.0): each optimizer step's samples go into bins of train_mb_tokens = max_total_sequence_length × train_micro_batch_size, the step's samples for the log-probabilities into bins of logprob_mb_tokens = max_total_sequence_length × logprob_batch_size, by modified first-fit decreasing (nemo_rl/data/packing/algorithms.py), the bin count a multiple of the data-parallel ranks (distributed/batched_data_dict.py shard_by_batch_size); one bin is one micro-batch (micro_batch_size 1), and with pipeline parallelism every micro-batch is padded to the longest bin (models/megatron/data.py _get_pack_sequence_parameters_for_megatron: pad_packed_seq_to = max_seq_len_in_batch when pipeline_model_parallel_size > 1) → rl.pad_packs",
		"NeMo-RL training stack: the Megatron-Core policy worker builds its model through Megatron-Bridge with Transformer Engine's modules → software.stack megatron-core-2024 (27 µs of host time per kernel, Megatron-Core's overlaps, flash attention), with what NeMo-RL's configuration sets instead: grad_reduce_in_fp32 false (examples/configs/grpo_math_1B.yaml at r0.6.0, distributed_data_parallel_config, passed to DistributedDataParallelConfig in nemo_rl/models/megatron/setup.py) → training.fp32_grads false; no tp_comm_overlap set (Megatron-Core's default off) → parallelism.tp_overlap false; attention: every scored NeMo-RL case trains and computes its log-probabilities on the Megatron policy (its recipe sets dtensor_cfg.enabled false, megatron_cfg.enabled true: examples/configs/recipes/llm/performance/*.yaml at v0.5.0 and v0.6.0), whose Transformer Engine (2.8.0 at v0.5.0, ≥ 2.9 and < 2.12 at v0.6.0: pyproject.toml) chooses cuDNN's fused attention over flash-attn on Hopper whenever both can run (transformer_engine/pytorch/attention/dot_product_attention/utils.py get_attention_backend, v2.8 to v2.11: \"Disabling FlashAttention to give FusedAttention preference on Hopper+\"), and neither the recipes nor NeMo-RL set megatron_cfg.attention_backend or an NVTE_*_ATTN variable (Megatron-Core's attention_backend auto leaves the choice to TE) → training.flash_kernel stays fused (docs/model.md §7.55). NeMo-RL's DTensor (FSDP2) policy would run FlashAttention-2 instead (dtensor_policy_worker.py at v0.5.0 and v0.6.0: attn_implementation \"flash_attention_2\" with sequence packing, NeMo-RL's default; SDPA without the cuDNN backend under activation checkpointing otherwise), but no scored case uses it",
		"training layout: NeMo-RL as published (Megatron-Core, distributed optimizer → zero 1); DeepSpeed-Chat and OpenRLHF (DeepSpeed ZeRO, layout unknown) → tp 1, pp 1, the smallest ZeRO stage of 2 and 3 whose training fits in memory, full activation checkpointing (their example scripts enable gradient checkpointing); micro-batch as published, else 1",
		"DeepSpeed's gradient reduction: DeepSpeed-Chat and OpenRLHF leave ZeRO's overlap_comm unset (DeepSpeed-Chat training/utils/ds_utils.py get_train_ds_config; OpenRLHF openrlhf/utils/deepspeed_utils.py at dbdd43b0 sets only \"auto\" keys, which DeepSpeed drops, deepspeed/runtime/config_utils.py), and DeepSpeed defaults it to false below stage 3 (deepspeed/runtime/zero/config.py overlap_comm_valid, v0.9.0 to v0.13.2), reducing each bucket on the compute stream (stage_1_and_2.py average_tensor) → parallelism.overlap_grad_reduce false: ZeRO-2's per-micro-batch reduce-scatter blocking (ZeRO-3 overlaps, its default)",
		"framework: DeepSpeed ZeRO training of Hugging Face models (DeepSpeed-Chat, OpenRLHF) → training.grad_accum_fusion false (ZeRO's backward hooks copy each weight gradient into its reduction bucket, a kernel apart from the weight-gradient GEMM); attention unfused for DeepSpeed-Chat's OPT (Hugging Face's OPT attention of 2023), flash for OpenRLHF (it states flash-attn 2.3.6); training.eager_elementwise true for both: they train (and score with) the Hugging Face modules themselves, whose element-wise work runs one PyTorch kernel per tensor operation (transformers v4.38, the version OpenRLHF pins at dbdd43b0: modeling_llama.py's LlamaRMSNorm in fp32 pieces, apply_rotary_pos_emb, act_fn(gate)·up; modeling_opt.py's query scaling, dropout apart from the residual add, softmax upcast to fp32 and cast back), not the fused kernels of Megatron-LM",
		"OpenRLHF optimizer offload: its example scripts at the benchmark's commit (examples/scripts/train_ppo_llama_ray.sh and train_ppo_llama_ray_70b.sh at dbdd43b0) train with --adam_offload (DeepSpeed ZeRO-Offload: fp32 weights, Adam moments and gradients in host memory, CPU Adam) → rl.cpu_adam_bandwidth 51.2 GB/s: the host memory of the DGX A100 the hardware rule maps the A800 node to (NVIDIA DGX A100 datasheet: 2 × AMD EPYC 7742; AMD: 8 channels of DDR4-3200 per socket, 204.8 GB/s) shared by its 8 GPUs' processes, 409.6 ÷ 8; the host streams 46 bytes per parameter (rl.CPUAdamBytesPerParam: CPU Adam's 28, DeepSpeed v0.13.2's in-place unscaling of the fp32 gradient before it, run whatever the scale, 8, the fp32 weight converted to 16 bit on the CPU and staged through a pinned buffer for the copy back, 10); each micro-batch's gradients cross PCIe 4.0 x16 to be accumulated on the host and the 16-bit weights come back (DeepSpeed's offload path, model.md §9); under ZeRO-3 in fp32, the accumulation type OpenRLHF's DeepSpeed config sets (openrlhf/utils/deepspeed_utils.py get_train_ds_config: data_types.grad_accum_dtype fp32)",
		"OpenRLHF offload PCIe: an 8-GPU A100 server (the hardware rule's DGX A100 for the A800 node) connects its GPUs to the CPUs through four PCIe 4.0 switches, two GPUs, two InfiniBand NICs and one x16 uplink each (as the NCCL topology file of Azure's ND A100 v4, an 8-GPU HGX A100 server, lists it: Azure/azhpc-images topology/ndv4-topo.xml at 4a4565a, four PCIe bridges of link_width 16 at 16 GT/s, each over two GPUs and two NICs; GPUs in PCI bus order pair up 0–1, 2–3, 4–5, 6–7); OpenRLHF creates the actor's group first, then the critic's, each in a placement group of all its GPUs on one node (examples/train_ppo_ray.py and openrlhf/trainer/ray/launcher.py PPORayActorGroup at dbdd43b0), and Ray hands out a node's GPUs from the lowest free index (ray-project/ray src/ray/common/scheduling/resource_instance_set.cc NodeResourceInstanceSet::TryAllocate: a whole-GPU demand takes the first free instances in order), so a role of an even number of GPUs fills whole switches and both GPUs of a switch offload at once (their data-parallel ranks step together) → rl.offload_pcie_share 2 when the actor's and the critic's GPU counts are even, 1 otherwise",
		"Ray TP worker: vLLM 0.3.1 (OpenRLHF's benchmark) runs a tensor-parallel engine's other GPUs as Ray workers (OpenRLHF's openrlhf/trainer/ray/vllm_engine.py at dbdd43b0 starts a TP > 1 engine on a placement group of one GPU per rank; vLLM ≥ 0.2.7 keeps one worker in the driver, PR #2221) and schedules a Ray task on each of them every iteration (LLMEngine._run_workers), which vLLM PR #3763 (\"Eliminate parallel worker per-step task scheduling overhead\", 2024-03; merged as PR #4894, 2024-05, after the benchmark) removes: on A100-80GB with Llama 2 7B at TP 2, 2000 generated tokens of one request took 24.2 s before and 20.2 s after → 2 ms per iteration ((24.2 − 20.2) ÷ 2000) → rl.engine_host_overhead 2 ms for OpenRLHF's engines of TP > 1 (TP 1 has no workers: 0)",
		"batch: DeepSpeed-Chat's per-step batch is not published (the largest under a cap of 1024 pairs) → 1024 prompts per step, one PPO epoch, one optimizer step; OpenRLHF: 1024 prompts per step, optimizer steps of 128 (train_batch_size 128)",
		"placement: colocated as published; OpenRLHF's Ray split → generation on the vLLM GPUs, training on the actor's and critic's GPUs; the reference and reward GPUs are left out of the modelled cluster, which is one node (their forwards are priced on a GPU of the training system, below)",
		"OpenRLHF experience (2024): each actor rank takes micro_rollout_batch_size prompts, sends them to vLLM engine rank mod engines in a blocking call, then asks the reference, reward and critic for their forwards (Ray calls to their own GPUs, at once) while computing the policy's log-probabilities itself, and waits for all of them before its next prompts (openrlhf/trainer/ppo_utils/experience_maker.py RemoteExperienceMaker.make_experience and _generate_vllm at dbdd43b0; all prompts went to vLLM at once only from PR #507, 2024-11) → rl.rollout_ranks = the actor's GPUs, calls of the generation micro-batch (rl.max_batch), rl.logprob_microbatch = the generation micro-batch (each forward takes the call's whole batch)",
		"OpenRLHF roles: the actor starts the critic's fit as a remote call and trains its own model meanwhile, then broadcasts the weights to vLLM and waits for the critic (openrlhf/trainer/ray/ppo_actor.py ActorPPOTrainer.ppo_train at dbdd43b0) → rl.critic_gpus = the critic's GPUs: each trains on its own share, at once",
		"DeepSpeed-Chat epoch: 135,317,504 tokens / 512 tokens per sample = 264,292 samples; time = ⌈samples / 1024⌉ steps",
		"OpenRLHF's 'Generation' latency is its experience making (generation, then reference, reward and critic forwards) → compared with generation + scoring; 'Training' → training + refit",
		"scoring: a case whose confidence is low, whose prompts per step or batch are unknown, whose mean response length is not published (verl's one-step-off table, the verl one-step-off rule), or whose model or GPU has no preset is listed but not scored; groups with fewer than two scored cases have no MAE target",
	}
}

// RLCheck is the RL table of the validation report.
type RLCheck struct {
	Rules   []string  `json:"rules"`
	Groups  []Summary `json:"groups"`
	Results []Result  `json:"results"`
}

// rlPlan is a case mapped to a scenario, or the reason it is not scored.
type rlPlan struct {
	raw         rawRLCase
	scenario    string
	why         string
	layout      string
	gpus        int
	assumptions []string
	// epochSamples is the samples of one pass over the data (RLEpoch).
	epochSamples float64
	// zero3 is the scenario with ZeRO-3, tried when ZeRO-2 does not fit.
	zero3 string
}

// readRL decodes the embedded rl.toml.
func readRL() ([]rawRLCase, error) {
	src, err := data.ReadFile(rlFile)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", rlFile, err)
	}
	return parseRL(rlFile, src)
}

// parseRL decodes a file in rl.toml's format.
func parseRL(name string, src []byte) ([]rawRLCase, error) {
	return decodeCases[rawRLCase](name, src, "id, group, confidence, source, notes and the tables model, hardware, parallelism, rl, measured, derived")
}

// rlPreset maps a case's model name to a preset.
func rlPreset(name string) (string, bool) {
	n := strings.ToLower(name)
	switch {
	case strings.HasPrefix(n, "llama-3.1-8b"):
		return "llama3-8b", true
	case strings.HasPrefix(n, "llama-2-7b"):
		return "llama2-7b", true
	case strings.HasPrefix(n, "llama-2-13b"):
		return "llama2-13b", true
	case strings.HasPrefix(n, "llama-2-70b"):
		return "llama2-70b", true
	case strings.HasPrefix(n, "opt-13b"):
		return "opt-13b", true
	case strings.HasPrefix(n, "opt-30b"):
		return "opt-30b", true
	case strings.HasPrefix(n, "opt-66b"):
		return "opt-66b", true
	case strings.HasPrefix(n, "opt-like-175b"), strings.HasPrefix(n, "opt-175b"):
		return "opt-175b", true
	case strings.HasPrefix(n, "opt-350m"):
		return "opt-350m", true
	case strings.HasPrefix(n, "qwen3-32b"):
		return "qwen3-32b", true
	}
	// Mixture-of-experts models: scored once a preset of that name exists.
	for _, moe := range []string{"qwen3-30b-a3b", "deepseek-v3"} {
		if strings.HasPrefix(n, moe) {
			if _, ok := model.Preset(moe); ok {
				return moe, true
			}
		}
	}
	return "", false
}

// rlSystem maps a case's GPU to a system preset and any NVLink override.
func rlSystem(gpu string) (system, nvlink string, ok bool) {
	switch g := strings.ToUpper(gpu); {
	case strings.Contains(g, "H100"):
		return "dgx-h100", "", true
	case strings.Contains(g, "A100") && strings.Contains(g, "40GB"):
		return "dgx-a100-40gb", "", true
	case strings.Contains(g, "A100"):
		return "dgx-a100-80gb", "", true
	case strings.Contains(g, "A800"):
		return "dgx-a100-80gb", "200GB/s", true
	case h20Name.MatchString(g):
		return "hgx-h20", "", true
	}
	return "", "", false
}

// h20Name matches the H20 by itself (not the H200, nor a longer name).
var h20Name = regexp.MustCompile(`(^|[^0-9A-Z])H20($|[^0-9A-Z])`)

// genTPRule is the engine TP a source does not give: the smallest power of
// two whose 16-bit weight shard is at most half of hbm, at most perNode.
func genTPRule(preset string, hbm units.Bytes, perNode int) int {
	m, _ := model.Preset(preset)
	tp := 1
	for tp < perNode && 2*float64(m.Params())/float64(tp) > float64(hbm)/2 {
		tp *= 2
	}
	for tp > 1 && m.Heads%tp != 0 {
		tp /= 2
	}
	return tp
}

func num(m map[string]any, key string) (float64, bool) { return number(m[key]) }

func intOf(m map[string]any, key string) (int, bool) {
	x, ok := number(m[key])
	if !ok || x != math.Trunc(x) {
		return 0, false
	}
	return int(x), true
}

// planRL maps a case to its scenario, or says why it is not scored.
func planRL(c rawRLCase) rlPlan {
	p := rlPlan{raw: c}
	gpus, _ := intOf(c.Hardware, "gpus")
	p.gpus = gpus
	if strings.EqualFold(c.Confidence, "low") {
		p.why = "confidence low"
		return p
	}
	if strings.HasPrefix(c.Group, "verl") {
		// The verl one-step-off rule: the recipe's scripts give the batch
		// and layout of the colocate rows, nothing gives the mean response.
		sys, _, _ := rlSystem(fmt.Sprint(c.Hardware["gpu"]))
		p.why = fmt.Sprintf("mean response length not published (verl one-step-off rule; hardware → %s); no preset for %v", sys, c.Model["name"])
		return p
	}
	prompts, ok := intOf(c.RL, "prompts_per_step")
	if !ok && !strings.HasPrefix(c.Group, "DeepSpeed-Chat") {
		p.why = "prompts per step not published"
		return p
	}
	policy, ok := rlPreset(fmt.Sprint(c.Model["name"]))
	if !ok {
		p.why = fmt.Sprintf("no preset for %v (model rule)", c.Model["name"])
		if strings.Contains(strings.ToLower(fmt.Sprint(c.Model["name"])), "a3b") || strings.Contains(strings.ToLower(fmt.Sprint(c.Model["name"])), "deepseek") {
			p.why = fmt.Sprintf("no preset for the mixture-of-experts model %v in this build (model rule)", c.Model["name"])
		}
		return p
	}
	system, nvlink, ok := rlSystem(fmt.Sprint(c.Hardware["gpu"]))
	if !ok {
		p.why = fmt.Sprintf("no system preset for the %v GPU", c.Hardware["gpu"])
		return p
	}
	sysInfo, _ := scenarioSystem(system)
	per := 8
	hbm := sysInfo
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	assume := func(format string, a ...any) { p.assumptions = append(p.assumptions, fmt.Sprintf(format, a...)) }
	algo := strings.ToLower(fmt.Sprint(c.RL["algorithm"]))
	prompt := 256
	var respMax, respMean int
	genTP, hasGenTP := intOf(c.RL, "gen_tp")
	rayWorkers := false // an OpenRLHF vLLM 0.x engine: its TP workers are Ray actors
	memFrac, hasMem := num(c.RL, "vllm_gpu_memory_utilization")
	logprobMB, hasLogprob := intOf(c.RL, "logprob_micro_batch")
	micro, _ := intOf(c.RL, "train_micro_batch")
	var layout, rlKeys, cluster, training, software strings.Builder
	nodes := max(gpus/per, 1)
	switch {
	case strings.HasPrefix(c.Group, "NeMo-RL"):
		total, ok1 := intOf(c.RL, "max_total_seq_len")
		avg, ok2 := num(c.Measured, "g_avg_seq_len_tokens")
		tp, ok3 := intOf(c.Parallelism, "tp")
		pp, ok4 := intOf(c.Parallelism, "pp")
		if !(ok1 && ok2 && ok3 && ok4) {
			p.why = "sequence lengths or training layout not published"
			return p
		}
		assume("prompt 256 tokens (prompt rule)")
		respMax = total - prompt
		respMean = int(math.Round(avg)) - prompt
		assume("mean response %d = G-Average Seq len %.0f − 256 (response rule)", respMean, avg)
		sp, _ := c.Parallelism["sequence_parallel"].(bool)
		rec := "none"
		if strings.Contains(fmt.Sprint(c.Parallelism["recompute"]), "full") {
			rec = "full"
		}
		fmt.Fprintf(&layout, "tp = %d\npp = %d\nmicrobatch = %d\nsequence_parallel = %t\nrecompute = %q\nzero = 1\ntp_overlap = false\n", tp, pp, max(micro, 1), sp, rec)
		software.WriteString("\n[software]\nstack = \"megatron-core-2024\"\n")
		training.WriteString("fp32_grads = false\n")
		assume("Megatron-Core training stack, 16-bit gradient reduction, no TP communication overlap, cuDNN's fused attention (Transformer Engine's choice on Hopper: NeMo-RL training stack rule)")
		p.layout = fmt.Sprintf("train TP%d PP%d, gen TP%d", tp, pp, genTP)
		if ep, ok := intOf(c.Parallelism, "ep"); ok && ep > 1 {
			// The training layout's expert parallelism, as published.
			fmt.Fprintf(&layout, "ep = %d\n", ep)
			p.layout = fmt.Sprintf("train TP%d PP%d EP%d, gen TP%d", tp, pp, ep, genTP)
		}
		fmt.Fprintf(&rlKeys, "algorithm = %q\nreward = \"none\"\nreference = \"policy\"\n", algo)
		gens, _ := intOf(c.RL, "generations_per_prompt")
		train, _ := intOf(c.RL, "train_global_batch")
		fmt.Fprintf(&rlKeys, "prompts_per_step = %d\ngenerations_per_prompt = %d\ntrain_batch = %d\n", prompts, gens, train)
		if strings.Contains(fmt.Sprint(c.RL["placement"]), "split") {
			gg, _ := intOf(c.RL, "gen_gpus")
			fmt.Fprintf(&rlKeys, "placement = \"split\"\ngen_gpus = %d\n", gg)
		}
		if strings.Contains(fmt.Sprint(c.RL["off_policy"]), "1-step") {
			rlKeys.WriteString("off_policy = 1\n")
		}
		if !strings.Contains(fmt.Sprint(c.RL["placement"]), "split") {
			rlKeys.WriteString("offload = \"all\"\n")
			assume("offload all: NeMo-RL's policy offload and vLLM sleep/wake around generation (offload rule)")
			rlKeys.WriteString("optimizer_swap_rate = \"1.57GB/s\"\n")
			assume("optimizer state to pageable host memory and back at 7.6 ns per parameter, 1.57 GB/s of the replay's 12 B per parameter (NeMo-RL optimizer swap rule)")
		}
		rlKeys.WriteString("refit_rate = \"2.5GB/s\"\n")
		assume("refit at 2.5 GB/s per engine GPU (NeMo-RL refit rule)")
		rlKeys.WriteString("engine_host_overhead = \"3.7ms\"\n")
		assume("vLLM V1 engine loop 3.7 ms per iteration (NeMo-RL engine loop rule)")
		rlKeys.WriteString("kv_profile = \"vllm-v1\"\n")
		if async, _ := c.RL["vllm_async_engine"].(bool); !async {
			rlKeys.WriteString("max_batch = 1024\n")
			assume("engine batch 1024, vLLM's max_num_seqs for its LLM class on an H100 (NeMo-RL engine batch rule)")
			rlKeys.WriteString("max_batched_tokens = 16384\n")
			assume("vLLM V1 KV budget: the H100's 79.22 GiB less the weights, the profile run's peak (a forward of 16384 tokens, the LLM class's max_num_batched_tokens on an H100) and 0.61 GiB outside PyTorch (NeMo-RL KV budget rule)")
		} else {
			rlKeys.WriteString("max_batch = 128\n")
			assume("engine batch 128, vLLM's max_num_seqs for AsyncLLM (NeMo-RL engine batch rule)")
			assume("vLLM V1 KV budget: the H100's 79.22 GiB less the weights, the profile run's peak (a forward of 2048 tokens, AsyncLLM's max_num_batched_tokens) and 0.61 GiB outside PyTorch (NeMo-RL KV budget rule)")
		}
		rlKeys.WriteString("reference_swap = true\n")
		assume("reference weights swapped in from host memory (NeMo-RL reference swap rule)")
		rlKeys.WriteString("pad_packs = true\n")
		if pp > 1 {
			assume("micro-batches packed and padded to the longest pack under pipeline parallelism (NeMo-RL packing rule)")
		} else {
			assume("training micro-batches are the packing's bins (NeMo-RL packing rule)")
		}
	case strings.HasPrefix(c.Group, "DeepSpeed-Chat"):
		respMax, respMean = 256, 256
		prompts = 1024
		assume("1024 prompts per step, one optimizer step (batch rule)")
		fmt.Fprintf(&layout, "tp = 1\npp = 1\nmicrobatch = 1\nrecompute = \"full\"\nzero = %%ZERO%%\noverlap_grad_reduce = false\n")
		training.WriteString("grad_accum_fusion = false\nattention = \"unfused\"\neager_elementwise = true\n")
		assume("DeepSpeed ZeRO with Hugging Face OPT: unfused gradient accumulation, attention and element-wise kernels (framework rule)")
		fmt.Fprintf(&rlKeys, "algorithm = \"ppo\"\ncritic = \"opt-350m\"\nreward = \"opt-350m\"\nreference = \"policy\"\n")
		fmt.Fprintf(&rlKeys, "prompts_per_step = 1024\ntrain_batch = 1024\nbatching = \"static\"\n")
		p.epochSamples = 135317504.0 / 512
	case strings.HasPrefix(c.Group, "OpenRLHF"):
		roles := fmt.Sprint(c.RL["gpu_roles_interpreted"])
		get := func(role string) int {
			m := regexp.MustCompile(role + ` (\d+)`).FindStringSubmatch(roles)
			if m == nil {
				return 0
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		vllm, actor, critic := get("vLLM"), get("actor"), get("critic")
		if m := regexp.MustCompile(`x TP(\d+)`).FindStringSubmatch(roles); m != nil && !hasGenTP {
			genTP, _ = strconv.Atoi(m[1])
			hasGenTP = true
			assume("gen_tp %d, as the case's role split reads the example script", genTP)
		}
		if vllm == 0 || actor == 0 || critic == 0 {
			p.why = "GPU roles not readable"
			return p
		}
		maxP, _ := intOf(c.RL, "max_prompt_len")
		respMax, _ = intOf(c.RL, "max_response_len")
		respMean, prompt = respMax, maxP
		assume("prompts of %d and responses of %d tokens, the caps (DeepSpeed-Chat benchmark settings rule)", prompt, respMax)
		enginePrompt := OpenRLHFEnginePrompt()
		if enginePrompt < prompt {
			fmt.Fprintf(&rlKeys, "engine_prompt_len = %d\n", enginePrompt)
			assume("the engines get the prompts unpadded, %d tokens on average (Anthropic HH's mean, Llama 2 Table 6); scoring and training padded at the caps (OpenRLHF engine prompts rule)", enginePrompt)
		}
		per = vllm + actor + critic
		nodes = 1
		assume("one node of %d GPUs: vLLM %d + actor %d + critic %d (placement rule; reference and reward GPUs left out)", per, vllm, actor, critic)
		fmt.Fprintf(&cluster, "gpus_per_node = %d\n", per)
		fmt.Fprintf(&layout, "tp = 1\npp = 1\nmicrobatch = %d\nrecompute = \"full\"\nzero = %%ZERO%%\noverlap_grad_reduce = false\n", max(micro, 1))
		training.WriteString("grad_accum_fusion = false\neager_elementwise = true\n")
		assume("DeepSpeed ZeRO with Hugging Face Llama: unfused gradient accumulation and element-wise kernels; flash attention, as stated (framework rule)")
		train, _ := intOf(c.RL, "train_global_batch")
		fmt.Fprintf(&rlKeys, "algorithm = \"ppo\"\ncritic = \"policy\"\nreward = \"policy\"\nreference = \"policy\"\n")
		fmt.Fprintf(&rlKeys, "prompts_per_step = %d\ntrain_batch = %d\nplacement = \"split\"\ngen_gpus = %d\n", prompts, train, vllm)
		if gmb, ok := intOf(c.RL, "generation_micro_batch"); ok {
			fmt.Fprintf(&rlKeys, "max_batch = %d\n", gmb)
			assume("engine batch %d = the generation micro-batch, one blocking call at a time (OpenRLHF engine batch rule)", gmb)
			fmt.Fprintf(&rlKeys, "rollout_ranks = %d\n", actor)
			logprobMB, hasLogprob = gmb, true
			assume("experience in calls: %d actor ranks, each generates %d prompts, then waits for their reference, reward, critic and log-probability forwards (each model on its own GPUs) before its next call (OpenRLHF experience rule)", actor, gmb)
		}
		fmt.Fprintf(&rlKeys, "critic_gpus = %d\n", critic)
		assume("the critic trains on its %d GPUs while the actor trains on its %d (OpenRLHF role rule)", critic, actor)
		rlKeys.WriteString("cpu_adam_bandwidth = \"51.2GB/s\"\n")
		assume("Adam offload to the host, CPU Adam at 51.2 GB/s of host memory per GPU (OpenRLHF optimizer offload rule)")
		if actor%2 == 0 && critic%2 == 0 {
			rlKeys.WriteString("offload_pcie_share = 2\n")
			assume("each PCIe switch's x16 uplink shared by the two offloading GPUs behind it (OpenRLHF offload PCIe rule)")
		}
		if strings.Contains(fmt.Sprint(c.RL["generation_engine"]), "vLLM 0.") {
			rlKeys.WriteString("kv_profile = \"vllm-0.3\"\n")
			assume("vLLM 0.3 KV budget: the memory the device holds after the profile run (weights, its activation peak at max(prompt + response, 2048) tokens, memory outside PyTorch) comes off the engine's share (OpenRLHF KV budget rule)")
			rlKeys.WriteString("engine_host_per_seq = \"100us\"\n")
			assume("vLLM < 0.6: 0.1 ms of host loop per running sequence per iteration (engine host loop rule)")
			rayWorkers = true
		}
	default:
		p.why = "no mapping for this group"
		return p
	}
	if !hasGenTP {
		genTP = genTPRule(policy, hbm, per)
		assume("gen_tp %d (engine TP rule)", genTP)
	}
	if rayWorkers && genTP > 1 {
		rlKeys.WriteString("engine_host_overhead = \"2ms\"\n")
		assume("vLLM's Ray workers at gen TP %d: 2 ms per iteration to schedule the workers' step (Ray TP worker rule)", genTP)
	}
	if !hasMem {
		memFrac = 0.9
	}
	if !hasLogprob {
		logprobMB = 1
	}
	w("name = %q\nseed = 1\n%s\n[model]\npreset = %q\n\n[cluster]\nsystem = %q\nnodes = %d\n%s", c.ID, software.String(), policy, system, nodes, cluster.String())
	if nvlink != "" {
		w("nvlink.bandwidth = %q\n", nvlink)
	}
	// The [training] global batch is not used by the RL step; one
	// micro-batch per GPU is a valid one.
	w("\n[parallelism]\n%s\n[training]\nglobal_batch = %d   # unused by the RL step\nprecision = \"bf16\"\n%s\n[rl]\n%s", layout.String(), nodes*per*max(micro, 1), training.String(), rlKeys.String())
	w("prompt_len = %d\nresponse_max = %d\nresponse_mean = %d\ngen_tp = %d\ngen_memory_fraction = %g\nlogprob_microbatch = %d\n", prompt, respMax, respMean, genTP, memFrac, logprobMB)
	if p.epochSamples > 0 {
		w("prompts = %.0f\n", p.epochSamples)
	}
	text := b.String()
	if p.layout == "" {
		p.layout = fmt.Sprintf("train ZeRO, gen TP%d", genTP)
	}
	p.scenario = strings.ReplaceAll(text, "%ZERO%", "2")
	if strings.Contains(text, "%ZERO%") {
		p.zero3 = strings.ReplaceAll(text, "%ZERO%", "3")
	}
	return p
}

// scenarioSystem returns the HBM of a system preset's GPU.
func scenarioSystem(name string) (units.Bytes, bool) {
	s, err := scenario.Load("system.toml", []byte(fmt.Sprintf("[model]\npreset = \"gpt3-125m\"\n[cluster]\nsystem = %q\nnodes = 1\n[training]\nglobal_batch = 8\n", name)), nil)
	if err != nil {
		return 0, false
	}
	return s.Job.Cluster.GPU.HBM, true
}

// evaluateRL replays one planned case.
func evaluateRL(p rlPlan) []Result {
	c := p.raw
	base := Result{ID: c.ID, Group: c.Group, GPUs: p.gpus, Layout: p.layout, Assumptions: append([]string{}, p.assumptions...)}
	measured := func(key string) (float64, bool) { return num(c.Measured, key) }
	var rows []Result
	add := func(m Metric, v float64) {
		r := base
		r.Metric, r.Measured = m, v
		rows = append(rows, r)
	}
	if h, ok := num(c.Derived, "e2e_hours"); ok && p.epochSamples > 0 {
		add(RLEpoch, h)
	} else if s, ok := measured("step_time_s"); ok {
		add(RLStep, s)
	}
	if g, ok := measured("generation_s"); ok {
		add(RLGeneration, g)
	}
	if t, ok := measured("training_s"); ok {
		add(RLTraining, t)
	}
	if len(rows) == 0 {
		r := base
		r.Metric, r.Why = RLStep, "no measured step time"
		return []Result{r}
	}
	if p.why != "" {
		for i := range rows {
			rows[i].Why = p.why
		}
		return rows
	}
	res, zero3, err := p.replay()
	switch {
	case zero3:
		for i := range rows {
			rows[i].Assumptions = append(rows[i].Assumptions, "ZeRO-3 (ZeRO-2 does not fit: training layout rule)")
		}
	case p.zero3 != "" && (err != nil || res.Feasible):
		for i := range rows {
			rows[i].Assumptions = append(rows[i].Assumptions, "ZeRO-2 (training layout rule)")
		}
	}
	for i := range rows {
		r := &rows[i]
		if err != nil {
			r.Why = "replay failed: " + err.Error()
			continue
		}
		r.Scored, r.Replayed = true, true
		if !res.Feasible {
			r.Infeasible = res.Reason
		}
		var pred float64
		switch r.Metric {
		case RLStep:
			pred = float64(res.Step)
		case RLEpoch:
			pred = float64(res.PromptsTime) / 3600
		case RLGeneration:
			pred = float64(res.Generation)
			if strings.HasPrefix(c.Group, "OpenRLHF") {
				pred += float64(res.Scoring)
			}
		case RLTraining:
			pred = float64(res.Training)
			if strings.HasPrefix(c.Group, "OpenRLHF") {
				pred += float64(res.Refit)
			}
		}
		*r = compare(*r, pred)
	}
	return rows
}

// replay replays the plan's scenario or, where that does not fit and the
// plan has a ZeRO-3 one that replays, the ZeRO-3 scenario (the training
// layout rule); zero3 says the latter was taken. res and err are the
// ZeRO-2 scenario's otherwise.
func (p rlPlan) replay() (res *rl.Result, zero3 bool, err error) {
	res, err = replayRL(p.scenario)
	if err == nil && !res.Feasible && p.zero3 != "" {
		if r3, err3 := replayRL(p.zero3); err3 == nil {
			return r3, true, nil
		}
	}
	return res, false, err
}

// replayRL loads, validates and runs a scenario with an [rl] table.
func replayRL(text string) (*rl.Result, error) {
	sc, err := scenario.Load("rl-case.toml", []byte(text), nil)
	if err != nil {
		return nil, err
	}
	v, err := sc.Validate()
	if err != nil {
		return nil, err
	}
	return rl.Run(v, *sc.RL)
}

// CheckRL replays every case of the embedded rl.toml.
func CheckRL(workers int) (*RLCheck, error) {
	raws, err := readRL()
	if err != nil {
		return nil, err
	}
	plans := make([]rlPlan, len(raws))
	for i, c := range raws {
		plans[i] = planRL(c)
	}
	out := make([][]Result, len(plans))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(workers, 1))
	for i := range plans {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = evaluateRL(plans[i])
		}(i)
	}
	wg.Wait()
	chk := &RLCheck{Rules: RLRules(), Results: []Result{}}
	for _, rs := range out {
		chk.Results = append(chk.Results, rs...)
	}
	// Summaries: the step (or epoch) per group; the published phase splits
	// per group apart.
	var steps, phases []Result
	for _, r := range chk.Results {
		if r.Metric == RLGeneration || r.Metric == RLTraining {
			p := r
			p.Group += " (phases)"
			phases = append(phases, p)
			continue
		}
		steps = append(steps, r)
	}
	g1, _ := Summarize(steps)
	g2, _ := Summarize(phases)
	chk.Groups = append(g1, g2...)
	return chk, nil
}

// RLScenarioOf returns the scenario an RL case is replayed with.
func RLScenarioOf(id string) ([]byte, bool, error) {
	raws, err := readRL()
	if err != nil {
		return nil, false, err
	}
	for _, c := range raws {
		if c.ID != id {
			continue
		}
		p := planRL(c)
		if p.why != "" {
			return nil, true, fmt.Errorf("case %q is %w: %s", id, ErrNotReplayable, p.why)
		}
		if p.zero3 != "" {
			// The layout rule: ZeRO-3 where ZeRO-2 does not fit, as the
			// validation replays it.
			if _, zero3, _ := p.replay(); zero3 {
				return []byte(p.zero3), true, nil
			}
		}
		return []byte(p.scenario), true, nil
	}
	return nil, false, nil
}

// PreferenceSet is one row of the Llama 2 paper's statistics of human
// preference data (Touvron et al. 2023, arXiv 2307.09288, Table 6), in
// tokens of the Llama 2 tokenizer: per example (the whole dialogue with
// the response), per prompt (a turn's) and per response.
type PreferenceSet struct {
	Name                       string
	Comparisons                int
	PerExample, Prompt, Answer float64
}

// RLPrompt is the mean tokens an RL prompt of the set has: the dialogue
// before the last response, per example − per response (single-turn
// sets: Table 6's prompt column, as its sums show).
func (s PreferenceSet) RLPrompt() float64 { return s.PerExample - s.Answer }

// Llama2Table6 holds the Table 6 rows of the sets DeepSpeed-Chat's
// benchmark data draws on that OpenRLHF's prompt loader reads.
var Llama2Table6 = []PreferenceSet{
	{"Anthropic Helpful", 122387, 251.5, 17.7, 88.4},
	{"Anthropic Harmless", 43966, 152.5, 15.7, 46.4},
	{"OpenAI WebGPT", 13333, 237.2, 48.3, 188.9},
	{"Synthetic GPT-J", 33139, 123.3, 13.0, 110.3},
}

// OpenRLHFEnginePrompt is the OpenRLHF engine prompts rule: the mean
// prompt of Anthropic's HH sets (Dahoas/rm-static, Dahoas/full-hh-rlhf,
// yitingxie/rlhf-reward-datasets), weighted by their comparisons, the
// longest of the blend's components, rounded to a token.
func OpenRLHFEnginePrompt() int {
	var sum, n float64
	for _, s := range Llama2Table6 {
		if strings.HasPrefix(s.Name, "Anthropic") {
			sum += s.RLPrompt() * float64(s.Comparisons)
			n += float64(s.Comparisons)
		}
	}
	return int(math.Round(sum / n))
}
