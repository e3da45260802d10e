// Package rl replays one step of reinforcement-learning post-training of a
// language model (PPO or GRPO, as InstructGPT, DeepSpeed-Chat, OpenRLHF,
// verl and NeMo-RL run it) on the event engine: generation (prefill and
// decode iterations of every inference-engine replica, each decode
// iteration a task whose kernels read the weights and the KV cache, with the
// tensor-parallel all-reduces of every layer priced on the topology),
// scoring (forward passes of the reference, reward and critic models and of
// the policy's log-probabilities), training (the training replay of package
// parallelism on the packed prompt + response tokens) and refit (the new
// weights moved from the training layout to the generation engines, as
// collectives). Phases are measured from the replay.
package rl

import (
	"cmp"
	"fmt"

	"trainsim/field"
	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/units"
)

// Algorithm is the RL algorithm: which models a step runs.
type Algorithm string

// The algorithms.
const (
	// PPO (Schulman et al. 2017; Ouyang et al. 2022) scores with a
	// reference, a reward model and a critic, and trains the policy and the
	// critic.
	PPO Algorithm = "ppo"
	// GRPO (Shao et al. 2024, DeepSeekMath §4.1) has no critic: several
	// generations per prompt, advantages from their group's rewards.
	GRPO Algorithm = "grpo"
)

// Algorithms lists the algorithms a scenario may name.
func Algorithms() []Algorithm { return []Algorithm{PPO, GRPO} }

// Placement is where the roles run.
type Placement string

// The placements.
const (
	// Colocated time-shares every GPU between generation, scoring and
	// training (DeepSpeed-Chat's hybrid engine, verl and NeMo-RL's
	// colocated mode).
	Colocated Placement = "colocated"
	// Split gives generation and training their own GPUs (OpenRLHF's Ray
	// placement, NeMo-RL's non-colocated mode).
	Split Placement = "split"
)

// Placements lists the placements a scenario may name.
func Placements() []Placement { return []Placement{Colocated, Split} }

// Batching is how an inference engine fills its batch.
type Batching string

// The batching modes.
const (
	// Continuous batching (Yu et al. 2022, Orca; vLLM) admits a waiting
	// sequence as soon as one finishes and the KV cache has room.
	Continuous Batching = "continuous"
	// Static batching runs a batch until its longest response is done:
	// finished sequences stay in the batch as padding (Hugging Face
	// generate, DeepSpeed-Chat's hybrid engine).
	Static Batching = "static"
)

// Batchings lists the batching modes a scenario may name.
func Batchings() []Batching { return []Batching{Continuous, Static} }

// Offload is what a colocated step moves to host memory while the engines
// generate.
type Offload string

// The offload policies.
const (
	// OffloadOverflow moves only the training state that does not fit
	// beside the engine's share of HBM.
	OffloadOverflow Offload = "overflow"
	// OffloadAll moves the training state (weights and optimizer) to
	// host memory before generation and back after it, and the engine's
	// weights to host memory after generation and back before the next
	// (NeMo-RL's colocated GRPO: the policy's offload_before_refit /
	// offload_after_refit and vLLM's sleep / wake_up around every
	// generation). The gradients are dropped, not copied: between two
	// optimizer steps they hold nothing the next step needs (it zeroes
	// them first), and Megatron-Core's offload frees the gradient buffer
	// and re-allocates it zeroed (param_and_grad_buffer.py
	// offload_to_cpu / reload_from_cpu).
	OffloadAll Offload = "all"
)

// Offloads lists the offload policies a scenario may name.
func Offloads() []Offload { return []Offload{OffloadOverflow, OffloadAll} }

// MaxHostOverhead bounds rl.engine_host_overhead.
const MaxHostOverhead = units.Seconds(1)

// minRate is the least a given refit, optimizer-swap or CPU Adam rate may
// be: 1 MB/s. Slower is a unit slip (1e-300GB/s priced the step past the
// engine's 146-year range, refused then without the key).
const minRate units.Bandwidth = 1e6

// Config is one RL step. The policy is the training job's model; its
// layout, cluster, precision and calibration are the job's.
type Config struct {
	Algorithm Algorithm
	// Critic, Reward and Reference are the other models; nil: none (a
	// rule-based reward; no KL penalty; GRPO's lack of a critic).
	Critic, Reward, Reference *model.Config
	// PromptsPerStep prompts, GenerationsPerPrompt responses each.
	PromptsPerStep, GenerationsPerPrompt int
	// PromptLen is the tokens of every prompt; ResponseMean and ResponseMax
	// the responses' mean and longest length in tokens.
	PromptLen, ResponseMean, ResponseMax int
	// EnginePromptLen is the mean tokens of a prompt as the inference
	// engine sees it, padding stripped, when that is shorter than the
	// PromptLen that scoring and training see (padded shapes); 0: PromptLen.
	EnginePromptLen int
	// TrainBatch is the samples per optimizer step (PPO's mini-batch); the
	// step's samples are trained in ⌈samples/TrainBatch⌉ optimizer steps,
	// Epochs times over.
	TrainBatch, Epochs int
	Placement          Placement
	// GenGPUs is the generation pool of a split placement (the rest of
	// the cluster trains); all GPUs when colocated.
	GenGPUs int
	// OffPolicy is the depth k: generation of step n+k overlaps training
	// of step n (0: on-policy).
	OffPolicy int
	// GenTP is the inference engine's tensor-parallel degree.
	GenTP    int
	Batching Batching
	// MaxBatch is the most sequences an engine runs at once (vLLM's
	// max_num_seqs); the KV cache may allow fewer.
	MaxBatch int
	// GenMemoryFraction is the share of the device's memory (as the CUDA
	// driver reports it) the engine may take for its weights, profile and
	// KV cache (vLLM's gpu_memory_utilization).
	GenMemoryFraction float64
	// KVProfile is what the engine takes from that share before its KV
	// cache ("" or KVProfileNone: the weights only).
	KVProfile KVProfile
	// MaxBatchedTokens is the engine's max_num_batched_tokens, the tokens
	// of its profile forward; 0: the profile's default (vLLM 0.3:
	// max(prompt_len + response_max, 2048); V1: 2048).
	MaxBatchedTokens int
	// HostOverhead is the engine's host time per iteration (prefill or
	// decode) during which its GPUs wait: the scheduler, the sampled
	// tokens' copy to the host, output processing and detokenisation of a
	// synchronous engine loop. 0: an engine that hides them (CUDA graphs
	// and an overlapped scheduler).
	HostOverhead units.Seconds
	// HostPerSeq is the engine's host time per iteration for each
	// sequence the iteration runs (building its inputs, processing its
	// sampled token), also with the GPUs idle.
	HostPerSeq units.Seconds
	// Offload is what a colocated step moves to host memory during
	// generation.
	Offload Offload
	// RefitRate is the rate at which an engine GPU takes in its shard of
	// the new weights at a refit, the framework's handoff included (CUDA
	// IPC handles, the engine's load_weights); 0: at the hardware's rate
	// (an HBM copy colocated, the link split), no software cost.
	RefitRate units.Bandwidth
	// OptimizerSwapRate > 0 is the rate, each direction, at which an
	// offload "all" moves each GPU's optimizer state to host memory and
	// back: NeMo-RL copies every state tensor with a synchronous .to()
	// into freshly allocated pageable host memory (move_optimizer), far
	// below the PCIe rate the weights get from pinned buffers. 0: the
	// optimizer state crosses PCIe at the system's rate like the weights.
	OptimizerSwapRate units.Bandwidth
	// ReferenceSwap keeps a policy-shaped reference model's weights in
	// host memory and swaps them with the policy's for each reference pass
	// (NeMo-RL's Megatron policy worker, use_reference_model): the policy's
	// weight shard to the host, the reference's to the GPU, and the
	// policy's back, three crossings of PCIe per step.
	ReferenceSwap bool
	// CPUAdamBandwidth > 0 offloads the training's optimizer to the host
	// (DeepSpeed ZeRO-Offload, OpenRLHF's --adam_offload): the fp32 master
	// weights, the Adam moments and the fp32 gradients of each GPU's shard
	// live in host memory; every optimizer step sends the shard's 16-bit
	// gradients to the host and its updated 16-bit weights back over PCIe,
	// and the CPU updates the shard streaming CPUAdamBytesPerParam bytes
	// per parameter at this host-memory bandwidth (per GPU). 0: the
	// optimizer runs on the GPU.
	CPUAdamBandwidth units.Bandwidth
	// OffloadPCIeShare is how many GPUs send their optimizer-offload
	// traffic through one host PCIe link at the same time (their PCIe
	// switch's one x16 uplink to the CPU): the offload's PCIe part runs at
	// the x16 rate over OffloadPCIeShare. 0 or 1: each GPU has its link to
	// itself.
	OffloadPCIeShare int
	// LogprobMicrobatch is the packed sequences per scoring forward pass.
	LogprobMicrobatch int
	// PadPacks packs the samples as NeMo-RL does (PackBins: each
	// optimizer step's samples into micro-batches of the pack length, the
	// step's samples into scoring micro-batches of LogprobMicrobatch pack
	// lengths, the bin count a multiple of the data-parallel ranks) and,
	// when the training layout has pipeline parallelism, pads every
	// micro-batch of the policy's training and log-probability passes to
	// the longest bin (a pipeline needs one shape); without pipeline
	// parallelism the training's micro-batches are the bins at their mean
	// length (the scoring passes keep the token count). false: the packs
	// are the tokens over the pack length.
	PadPacks bool
	// CriticGPUs > 0 (split placement, PPO) trains the critic on its own
	// CriticGPUs of the training pool at the same time as the policy on the
	// rest (OpenRLHF's Ray roles: the actor starts the critic's fit as a
	// remote call and trains its own model meanwhile). 0: both train on the
	// whole pool, the critic after the policy.
	CriticGPUs int
	// RolloutRanks > 0 (split placement) makes experience as OpenRLHF's
	// RemoteExperienceMaker does: RolloutRanks actor ranks each send their
	// samples in blocking calls of MaxBatch to engine rank % replicas and
	// score each call's samples (every scoring model on its own GPUs at
	// once) before sending the next; training starts when every rank is
	// done. 0: every prompt is queued on the engines at once and the
	// samples are scored on the training pool after generation.
	RolloutRanks int
	// Prompts is a number of prompts to report the processing time of (0:
	// none).
	Prompts float64
	// Seed orders the responses in the engines' queues.
	Seed uint64
}

// Samples is the responses generated per step.
func (c Config) Samples() int { return c.PromptsPerStep * c.GenerationsPerPrompt }

// Limits of the [rl] table, to keep a replay bounded.
const (
	MaxSamples   = 1 << 20
	MaxTokens    = 1 << 20
	MaxReplicas  = 1024
	MaxOffPolicy = 8
	// MaxPCIeShare bounds rl.offload_pcie_share: the GPUs behind one
	// PCIe switch uplink (2 on a DGX A100, at most the GPUs of a node).
	MaxPCIeShare = 16
)

// Check returns the problems of c for the job j, each naming its key.
func (c Config) Check(j parallelism.Job) []field.Error {
	var errs []field.Error
	add := func(key, format string, a ...any) { errs = append(errs, field.Errorf(key, format, a...)) }
	pos := func(key string, v, hi int) {
		if v < 1 || v > hi {
			add(key, "must be an integer from 1 to %d, got %d", hi, v)
		}
	}
	pos("rl.prompts_per_step", c.PromptsPerStep, MaxSamples)
	pos("rl.generations_per_prompt", c.GenerationsPerPrompt, MaxSamples)
	if c.PromptsPerStep > 0 && c.GenerationsPerPrompt > 0 && c.Samples() > MaxSamples {
		add("rl.generations_per_prompt", "prompts_per_step × generations_per_prompt must be at most %d, got %d", MaxSamples, c.Samples())
	}
	pos("rl.prompt_len", c.PromptLen, MaxTokens)
	pos("rl.response_max", c.ResponseMax, MaxTokens)
	if c.EnginePromptLen < 0 || c.EnginePromptLen > c.PromptLen {
		errs = append(errs, field.Errorf("rl.engine_prompt_len", "must be 0 (prompt_len) or from 1 to %d (prompt_len), got %d", c.PromptLen, c.EnginePromptLen).Using("rl.prompt_len"))
	}
	if c.ResponseMean < 1 || c.ResponseMean > c.ResponseMax {
		errs = append(errs, field.Errorf("rl.response_mean", "must be from 1 to response_max (%d), got %d", c.ResponseMax, c.ResponseMean).Using("rl.response_max"))
	}
	pos("rl.train_batch", c.TrainBatch, MaxSamples)
	pos("rl.epochs", c.Epochs, 64)
	pos("rl.gen_tp", c.GenTP, 1024)
	pos("rl.max_batch", c.MaxBatch, MaxSamples)
	pos("rl.logprob_microbatch", c.LogprobMicrobatch, 1024)
	if c.OffPolicy < 0 || c.OffPolicy > MaxOffPolicy {
		add("rl.off_policy", "must be from 0 to %d, got %d", MaxOffPolicy, c.OffPolicy)
	}
	if !(c.GenMemoryFraction > 0 && c.GenMemoryFraction <= 1) {
		add("rl.gen_memory_fraction", "must be in (0, 1], got %g", c.GenMemoryFraction)
	}
	switch c.KVProfile {
	case "", KVProfileNone, KVProfileVLLM03, KVProfileVLLMV1:
	default:
		add("rl.kv_profile", "must be one of %v, got %q", KVProfiles(), c.KVProfile)
	}
	if c.MaxBatchedTokens < 0 || c.MaxBatchedTokens > MaxTokens {
		add("rl.max_batched_tokens", "must be from 0 (the profile's default) to %d, got %d", MaxTokens, c.MaxBatchedTokens)
	} else if c.MaxBatchedTokens > 0 && cmp.Or(c.KVProfile, KVProfileNone) == KVProfileNone {
		errs = append(errs, field.Errorf("rl.max_batched_tokens", "sizes the profile run of rl.kv_profile %q or %q only, got kv_profile %q", KVProfileVLLM03, KVProfileVLLMV1, KVProfileNone).Using("rl.kv_profile"))
	}
	if !(c.Prompts >= 0 && c.Prompts <= 1e15) {
		add("rl.prompts", "must be from 0 to 1e15, got %g", c.Prompts)
	}
	switch c.Algorithm {
	case PPO:
		if c.Critic == nil {
			add("rl.critic", "ppo needs a critic (a model preset name)")
		}
	case GRPO:
		if c.Critic != nil {
			add("rl.critic", "grpo has no critic; leave it out")
		}
	default:
		add("rl.algorithm", "must be one of %v, got %q", Algorithms(), c.Algorithm)
	}
	gpus := j.Cluster.GPUs()
	per := max(j.Cluster.GPUsPerNode, 1)
	switch c.Placement {
	case Colocated:
	case Split:
		train := gpus - c.GenGPUs
		switch {
		case c.GenGPUs < 1 || train < 1:
			add("rl.gen_gpus", "a split placement needs generation GPUs from 1 to %d (the rest train), got %d", gpus-1, c.GenGPUs)
		case c.GenGPUs%per != 0 && gpus > per:
			add("rl.gen_gpus", "must be a multiple of gpus_per_node (%d) on a cluster of several nodes, got %d", per, c.GenGPUs)
		case train%(j.Layout.TP*j.Layout.PP*j.Layout.CP) != 0:
			errs = append(errs, field.Errorf("rl.gen_gpus", "leaves %d training GPUs, not a multiple of tp × pp × cp = %d", train, j.Layout.TP*j.Layout.PP*j.Layout.CP).Using("parallelism.tp", "parallelism.pp"))
		}
	default:
		add("rl.placement", "must be one of %v, got %q", Placements(), c.Placement)
	}
	switch c.Batching {
	case Continuous, Static:
	default:
		add("rl.batching", "must be one of %v, got %q", Batchings(), c.Batching)
	}
	switch c.Offload {
	case "", OffloadOverflow, OffloadAll: // "": overflow, the zero value
	default:
		add("rl.offload", "must be one of %v, got %q", Offloads(), c.Offload)
	}
	if !(c.HostOverhead >= 0 && c.HostOverhead <= MaxHostOverhead) {
		add("rl.engine_host_overhead", "must be from 0 to %s per iteration, got %s", MaxHostOverhead, c.HostOverhead)
	}
	if !(c.RefitRate == 0 || c.RefitRate >= minRate && c.RefitRate <= 1e15) {
		add("rl.refit_rate", "must be 0 (the hardware's rate) or from 1MB/s to 1PB/s, got %s", c.RefitRate)
	}
	if !(c.OptimizerSwapRate == 0 || c.OptimizerSwapRate >= minRate && c.OptimizerSwapRate <= 1e15) {
		add("rl.optimizer_swap_rate", "must be 0 (the PCIe rate) or from 1MB/s to 1PB/s, got %s", c.OptimizerSwapRate)
	} else if c.OptimizerSwapRate > 0 && c.Offload != OffloadAll {
		errs = append(errs, field.Errorf("rl.optimizer_swap_rate", "moves the optimizer state of rl.offload = %q only, got offload %q", OffloadAll, cmp.Or(c.Offload, OffloadOverflow)).Using("rl.offload"))
	}
	if !(c.CPUAdamBandwidth == 0 || c.CPUAdamBandwidth >= minRate && c.CPUAdamBandwidth <= 1e15) {
		add("rl.cpu_adam_bandwidth", "must be 0 (the optimizer on the GPU) or from 1MB/s to 1PB/s, got %s", c.CPUAdamBandwidth)
	}
	if c.OffloadPCIeShare < 0 || c.OffloadPCIeShare > MaxPCIeShare {
		add("rl.offload_pcie_share", "must be from 0 or 1 (each GPU its own PCIe link to the host) to %d, got %d", MaxPCIeShare, c.OffloadPCIeShare)
	}
	if c.OffloadPCIeShare > 1 && c.CPUAdamBandwidth == 0 {
		errs = append(errs, field.Errorf("rl.offload_pcie_share", "prices the optimizer offload's PCIe traffic; set rl.cpu_adam_bandwidth too or leave it out").Using("rl.cpu_adam_bandwidth"))
	}
	if c.CriticGPUs < 0 || c.CriticGPUs > MaxReplicas {
		add("rl.critic_gpus", "must be from 0 (the critic on the whole training pool) to %d, got %d", MaxReplicas, c.CriticGPUs)
	}
	if c.RolloutRanks < 0 || c.RolloutRanks > MaxReplicas {
		add("rl.rollout_ranks", "must be from 0 (all prompts queued at once) to %d, got %d", MaxReplicas, c.RolloutRanks)
	}
	if c.CriticGPUs > 0 && c.Placement != Split {
		errs = append(errs, field.Errorf("rl.critic_gpus", "needs placement = \"split\" (colocated, every GPU trains both models), got %q", c.Placement).Using("rl.placement"))
	}
	if c.CriticGPUs > 0 && c.Algorithm == GRPO {
		errs = append(errs, field.Errorf("rl.critic_gpus", "grpo has no critic; leave it out").Using("rl.algorithm"))
	}
	if c.RolloutRanks > 0 && c.Placement != Split {
		errs = append(errs, field.Errorf("rl.rollout_ranks", "needs placement = \"split\" (the ranks score on their own GPUs while the engines generate), got %q", c.Placement).Using("rl.placement"))
	}
	if !(c.HostPerSeq >= 0 && c.HostPerSeq <= MaxHostOverhead/1000) {
		add("rl.engine_host_per_seq", "must be from 0 to %s per sequence and iteration, got %s", MaxHostOverhead/1000, c.HostPerSeq)
	}
	if len(errs) > 0 {
		return errs
	}
	gen := c.genGPUs(gpus)
	if gen%c.GenTP != 0 {
		errs = append(errs, field.Errorf("rl.gen_tp", "must divide the %d generation GPUs, got %d", gen, c.GenTP).Using("rl.gen_gpus", "cluster.nodes", "cluster.gpus_per_node"))
	} else if gen/c.GenTP > MaxReplicas {
		errs = append(errs, field.Errorf("rl.gen_tp", "gives %d engine replicas, more than the %d a replay holds", gen/c.GenTP, MaxReplicas).Using("rl.gen_gpus", "cluster.nodes", "cluster.gpus_per_node"))
	}
	if c.GenTP > 1 && j.Model.Heads%c.GenTP != 0 {
		errs = append(errs, field.Errorf("rl.gen_tp", "must divide the policy's %d heads, got %d", j.Model.Heads, c.GenTP).Using("model.heads"))
	}
	if c.GenTP > per && c.GenTP%per != 0 {
		add("rl.gen_tp", "above gpus_per_node (%d) it must be a multiple of it, got %d", per, c.GenTP)
	}
	if c.CriticGPUs > 0 {
		train := c.trainGPUs(gpus)
		mp := j.Layout.TP * j.Layout.PP * j.Layout.CP
		switch {
		case c.CriticGPUs >= train:
			errs = append(errs, field.Errorf("rl.critic_gpus", "must leave the policy some of the %d training GPUs, got %d", train, c.CriticGPUs).Using("rl.gen_gpus"))
		case c.CriticGPUs%mp != 0 || (train-c.CriticGPUs)%mp != 0:
			errs = append(errs, field.Errorf("rl.critic_gpus", "must split the %d training GPUs into multiples of tp × pp × cp = %d, got %d", train, mp, c.CriticGPUs).Using("parallelism.tp", "parallelism.pp"))
		}
	}
	if c.RolloutRanks > 0 && c.Samples()/c.RolloutRanks/max(c.MaxBatch, 1) > MaxSamples/64 {
		add("rl.rollout_ranks", "gives %d calls per rank, more than the %d a replay holds", c.Samples()/c.RolloutRanks/max(c.MaxBatch, 1), MaxSamples/64)
	}
	if c.PromptLen+c.ResponseMax > MaxTokens {
		add("rl.response_max", "prompt_len + response_max must be at most %d tokens, got %d", MaxTokens, c.PromptLen+c.ResponseMax)
	}
	return errs
}

// genGPUs is the generation pool's size on a cluster of gpus.
func (c Config) genGPUs(gpus int) int {
	if c.Placement == Split {
		return c.GenGPUs
	}
	return gpus
}

// trainGPUs is the training pool's size.
func (c Config) trainGPUs(gpus int) int {
	if c.Placement == Split {
		return gpus - c.GenGPUs
	}
	return gpus
}

// policyGPUs is the part of the training pool that trains the policy: all
// of it, or what the critic's own GPUs leave.
func (c Config) policyGPUs(gpus int) int {
	return c.trainGPUs(gpus) - c.CriticGPUs
}

// PackLen is the tokens of one packed training sequence: the longest
// sample, prompt + response_max.
func (c Config) PackLen() int { return c.PromptLen + c.ResponseMax }

// EnginePrompt is the prompt length the inference engine prefills and
// attends to: EnginePromptLen, else PromptLen.
func (c Config) EnginePrompt() int {
	if c.EnginePromptLen > 0 {
		return c.EnginePromptLen
	}
	return c.PromptLen
}

func (c Config) String() string {
	prompt := fmt.Sprint(c.PromptLen)
	if c.EnginePrompt() != c.PromptLen {
		prompt = fmt.Sprintf("%d (engine %d)", c.PromptLen, c.EnginePrompt())
	}
	return fmt.Sprintf("%s %d×%d samples, prompt %s, response mean %d max %d, %s", c.Algorithm, c.PromptsPerStep, c.GenerationsPerPrompt, prompt, c.ResponseMean, c.ResponseMax, c.Placement)
}
