package rl

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"trainsim/collective"
	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/sim"
	"trainsim/topology"
	"trainsim/units"
)

// The kinds of the RL replay's tasks.
const (
	kindPrefill sim.Kind = iota + 1
	kindDecode
	kindGenTP
	kindScore
	kindTrain
	kindRefit
	kindSwap
	kindGenHost
)

// Span is one phase of one step on one lane of the replay: an engine
// replica ("engine 3") or the training pool ("train").
type Span struct {
	Lane, Phase string
	Step        int
	Start, End  units.Seconds
}

// Memory is what one GPU holds in each phase.
type Memory struct {
	// Generation: the engine's weight shard and the KV cache at its
	// fullest.
	GenerationWeights, KVCache units.Bytes
	// Scoring: the largest scoring model's weight shard.
	Scoring units.Bytes
	// Training: the training replay's peak (weights, gradients, optimizer
	// state, activations).
	Training units.Bytes
	// Offloaded is the training state a colocated step moves to host
	// memory during generation (0 when both fit).
	Offloaded units.Bytes
}

// Result is one RL step, measured from its replay.
type Result struct {
	// Step is the steady-state time of one step. Generation is the slowest
	// engine's time from its first prefill to its last token; Scoring,
	// Training, Refit and Swap the training pool's time in each; Idle the
	// GPU-averaged time no phase ran. Colocated, the phases and Idle add
	// up to Step. Split, a GPU idles while the other pool works, and off
	// policy the pools work at once: the phases add up to Step + Overlap.
	Step, Generation, Scoring, Training, Refit, Swap, Idle, Overlap units.Seconds
	Samples                                                         int
	// Tokens is the prompt + response tokens of a step; TokensPerGPU
	// per second and GPU.
	Tokens             int
	TokensPerSecPerGPU float64
	GenGPUs, TrainGPUs int
	Replicas           int
	// Slots is the most sequences one engine ran at once; KVCapacity the
	// KV tokens an engine holds, KVBudget the memory it holds them in.
	Slots, KVCapacity int
	KVBudget          KVBudget
	// Decode, Prefill and GenComm split the slowest engine's generation;
	// DecodeHBM and DecodeTensor split its kernels' time by what bounded
	// them; Tail is its decode time waiting for the longest responses:
	// continuous, with the batch at most half its peak after the queue
	// emptied; static, with at most half of a batch still producing.
	// GenHost is its engine's host time between iterations (GPU idle).
	Decode, Prefill, GenComm, DecodeHBM, DecodeTensor, Tail, GenHost units.Seconds
	Iterations                                                       int
	// GenerationBound says what bounds generation; Bottleneck the step.
	GenerationBound, Bottleneck string
	// Utilisation: model FLOPs over the pool's peak in each phase, and the
	// HBM bandwidth generation used.
	GenerationMFU, GenerationHBM, ScoringMFU, TrainingMFU float64
	Memory                                                Memory
	// RefitBytes is the policy's 16-bit weights each engine replica
	// receives; TrainingStep one optimizer step of the policy, of which a
	// step runs OptimizerSteps.
	RefitBytes   units.Bytes
	TrainingStep units.Seconds
	// OptimizerOffload is what Config.CPUAdamBandwidth adds to each of the
	// policy's optimizer steps (PCIe both ways and CPU Adam); 0 without it.
	OptimizerOffload units.Seconds
	// OptimizerSwap is the part of a colocated step's offload/onload that
	// moves the optimizer state at Config.OptimizerSwapRate (both
	// directions); zero without one.
	OptimizerSwap  units.Seconds
	OptimizerSteps int
	// PromptsTime is the time to process Config.Prompts prompts.
	PromptsTime units.Seconds
	Feasible    bool
	Reason      string
	Notes       []string
	Timeline    []Span
	Tasks       int
	Events      int
	// TrainJob and TrainResult are the policy's optimizer step as the
	// training replay ran it: what a report shows as the training step.
	TrainJob    parallelism.Job
	TrainResult *parallelism.Result
}

// scorer is one scoring forward pass over the step's samples.
type scorer struct {
	name string
	m    model.Config
}

// Run replays the RL step c whose policy training job is v.
func Run(v parallelism.Valid, c Config) (*Result, error) {
	j := v.Job()
	if errs := c.Check(j); len(errs) > 0 {
		return nil, fmt.Errorf("rl: %w", errors.Join(fieldErrs(errs)...))
	}
	cm, coll, err := parallelism.Models(v)
	if err != nil {
		return nil, err
	}
	p := pricer{cm: cm, coll: coll, prec: j.Training.Precision, eager: j.Training.Eager, skew: j.Layout.Skew, capacity: j.Layout.CapacityFactor}
	gpus := j.Cluster.GPUs()
	genN, trainN := c.genGPUs(gpus), c.trainGPUs(gpus)
	policyN, criticN := c.policyGPUs(gpus), trainN
	if c.CriticGPUs > 0 {
		criticN = c.CriticGPUs
	}
	res := &Result{Samples: c.Samples(), GenGPUs: genN, TrainGPUs: trainN, Replicas: genN / c.GenTP, Feasible: true}
	e := j.Training.Precision.ElementBytes()
	policy := j.Model

	// Generation: every engine replica over its share of the responses.
	lengths := ResponseLengths(c.Samples(), c.ResponseMean, c.ResponseMax)
	generated := 0
	for _, l := range lengths {
		generated += l
	}
	res.Tokens = c.Samples()*c.PromptLen + generated
	res.KVBudget = c.kvBudget(j.Cluster.GPU, policy, j.Training.Precision)
	weights := res.KVBudget.Weights
	res.Memory.GenerationWeights = weights
	budget := res.KVBudget.KV
	kv := policy.KVBytesPerToken(c.GenTP, j.Training.Precision)
	res.KVCapacity = int(max(float64(budget), 0) / float64(kv))
	if res.KVCapacity < c.PromptLen+c.ResponseMax {
		res.Feasible = false
		res.Reason = fmt.Sprintf("generation: %s: room for %d KV tokens, less than one sequence of %d",
			res.KVBudget, res.KVCapacity, c.PromptLen+c.ResponseMax)
		res.KVCapacity = max(res.KVCapacity, 0)
		tj := c.trainingJob(j, policyN, policy)
		var err error
		if res.TrainResult, err = simulate(tj, "policy training"); err != nil {
			return nil, err
		}
		res.TrainJob = tj
		return res, nil
	}
	runs := make([]engineRun, res.Replicas)
	var calls [][]rolloutCall
	if c.RolloutRanks > 0 {
		var err error
		if calls, err = c.rolloutCalls(p, policy, lengths, res.Replicas, res.KVCapacity); err != nil {
			return nil, err
		}
		for e, cs := range calls {
			for _, k := range cs {
				runs[e].Segments = append(runs[e].Segments, k.run.Segments...)
				runs[e].Slots = max(runs[e].Slots, k.run.Slots)
				runs[e].PeakTokens = max(runs[e].PeakTokens, k.run.PeakTokens)
				runs[e].Tokens += k.run.Tokens
			}
		}
	} else {
		queues := deal(lengths, res.Replicas, c.Seed)
		for r := range runs {
			run, err := p.generate(policy, queues[r], c.EnginePrompt(), c.MaxBatch, res.KVCapacity, c.GenTP, c.Batching, c.HostOverhead, c.HostPerSeq)
			if err != nil {
				return nil, fmt.Errorf("rl: engine %d: %w", r, err)
			}
			runs[r] = run
		}
	}
	for _, run := range runs {
		res.Slots = max(res.Slots, run.Slots)
		res.Memory.KVCache = max(res.Memory.KVCache, units.Bytes(run.PeakTokens)*kv)
	}

	// Training: the policy's optimizer step on packed prompt + response
	// sequences, replayed by package parallelism; PPO's critic likewise.
	tj := c.trainingJob(j, policyN, policy)
	tres, err := simulate(tj, "policy training")
	if err != nil {
		return nil, err
	}
	res.TrainingStep = tres.StepTime
	res.TrainJob, res.TrainResult = tj, tres
	if d := SeqMultiple(tj.Layout, policy); !c.PadPacks && c.PackLen()%d != 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("padding: the packed training sequences of rl.prompt_len + rl.response_max = %d tokens are padded to %d, a multiple of %d (what sequence or context parallelism of the training layout divides), as the frameworks pad them; the padding is computed", c.PackLen(), tj.Model.SeqLen, d))
	}
	res.OptimizerSteps = int(math.Ceil(float64(c.Samples())/float64(c.TrainBatch))) * c.Epochs
	res.Memory.Training = tres.Memory.Peak
	state := tres.Memory.Weights + tres.Memory.Gradients + tres.Memory.Optimizer
	// grads and opt are the parts of state an offload "all" drops (the
	// gradients) and moves at OptimizerSwapRate (the optimizer state).
	grads, opt := tres.Memory.Gradients, tres.Memory.Optimizer
	trainFLOPs := float64(tres.ModelFLOPs) * float64(res.OptimizerSteps)
	if !tres.Feasible {
		res.Feasible, res.Reason = false, "policy training: "+tres.Reason
	}
	policyStep := tres.StepTime
	if c.CPUAdamBandwidth > 0 {
		var off units.Seconds
		off, res.Memory.Training, state = c.optimizerOffload(tj, tres)
		grads, opt = 0, 0
		res.OptimizerOffload = off
		policyStep += off
		res.TrainingStep = policyStep
		if ok, why := offloadFits(res.Memory.Training, j.Cluster.GPU.HBM, tres); ok {
			res.Feasible, res.Reason = true, ""
		} else {
			res.Feasible, res.Reason = false, "policy training: "+why
		}
	}
	var critic *parallelism.Result
	var criticStep units.Seconds
	if c.Critic != nil {
		cj := c.trainingJob(j, criticN, *c.Critic)
		if critic, err = simulate(cj, "critic training"); err != nil {
			return nil, err
		}
		criticStep = critic.StepTime
		peak := critic.Memory.Peak
		criticState := critic.Memory.Weights + critic.Memory.Gradients + critic.Memory.Optimizer
		criticGrads, criticOpt := critic.Memory.Gradients, critic.Memory.Optimizer
		feasible, reason := critic.Feasible, critic.Reason
		if c.CPUAdamBandwidth > 0 {
			var off units.Seconds
			off, peak, criticState = c.optimizerOffload(cj, critic)
			criticGrads, criticOpt = 0, 0
			criticStep += off
			feasible, reason = offloadFits(peak, j.Cluster.GPU.HBM, critic)
		}
		res.Memory.Training = max(res.Memory.Training, peak)
		state += criticState
		grads += criticGrads
		opt += criticOpt
		trainFLOPs += float64(critic.ModelFLOPs) * float64(res.OptimizerSteps)
		if !feasible && res.Feasible {
			res.Feasible, res.Reason = false, "critic training: "+reason
		}
	}
	if c.CPUAdamBandwidth > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("optimizer offload: the fp32 weights, Adam moments and fp32 gradients of each GPU's shard (%s of optimizer state per GPU for the policy) live in host memory; each policy optimizer step adds %s: the gradients of every micro-batch to the host and back to accumulate, the fp32 gradient down and the 16-bit weights back over PCIe%s, and CPU Adam streaming %d bytes per parameter at rl.cpu_adam_bandwidth %s (not overlapped with the backward pass; the 16-bit reduction buckets left on the GPU are not counted)",
			tres.Memory.Optimizer, res.OptimizerOffload, c.shareNote(), CPUAdamBytesPerParam, c.CPUAdamBandwidth))
	}

	// Scoring: forward passes over the packed samples on the training pool.
	scorers := []scorer{{"policy log-probabilities", policy}}
	if c.Reference != nil {
		scorers = append(scorers, scorer{"reference", *c.Reference})
	}
	if c.Reward != nil {
		scorers = append(scorers, scorer{"reward", *c.Reward})
	}
	if c.Critic != nil {
		scorers = append(scorers, scorer{"critic values", *c.Critic})
	}
	total := int(math.Ceil(float64(res.Tokens) / float64(c.PackLen())))
	scoreTimes := make([]units.Seconds, len(scorers))
	packNote := ""
	var scoreFLOPs float64
	for i, s := range scorers {
		tp := divisorTP(j.Layout.TP, s.m.Heads)
		groups := trainN / tp
		passes := math.Ceil(float64(total) / float64(groups) / float64(c.LogprobMicrobatch))
		work := passes
		if pp := j.Layout.PP; s.m.Name == policy.Name && pp > 1 {
			// The policy's shape runs in the training layout's pipeline
			// (Megatron's forward-only 1F1B schedule): each of the dp
			// replicas pushes its m micro-batches through pp stages of
			// 1/pp of the layers, m + pp − 1 stage times, where the
			// groups above would take ⌈m/pp⌉ whole passes. The same for
			// many micro-batches; up to twice as long when m ≈ pp.
			dp := max(trainN/(tp*pp), 1)
			m := math.Ceil(float64(total) / float64(dp) / float64(c.LogprobMicrobatch))
			passes = (m + float64(pp) - 1) / float64(pp)
			work = m / float64(pp)
		}
		ep := 1
		if s.m.Name == policy.Name {
			// The policy's shape runs in the training layout: its experts
			// over the training EP.
			ep = max(j.Layout.EP, 1)
		}
		k, err := p.forward(s.m, c.LogprobMicrobatch, c.PackLen(), tp, ep, true, true)
		if err != nil {
			return nil, fmt.Errorf("rl: scoring (%s): %w", s.name, err)
		}
		flops := k.FLOPs
		if ep > 1 && p.skew > 1 {
			// Model FLOPs are the balanced routing's: the hottest rank's
			// extra work is waiting, not useful work.
			q := p
			q.skew, q.capacity = 0, 0
			kb, err := q.forward(s.m, c.LogprobMicrobatch, c.PackLen(), tp, ep, true, true)
			if err != nil {
				return nil, fmt.Errorf("rl: scoring (%s): %w", s.name, err)
			}
			flops = kb.FLOPs
		}
		fill := 1.0
		if pp := j.Layout.PP; s.m.Name == policy.Name && c.padded(j.Layout) {
			// NeMo-RL's log-probability micro-batches: the step's samples
			// packed into bins of logprob_microbatch pack lengths, each
			// padded to the longest bin; a micro-batch costs that bin's
			// share of a full one (its tokens over the full one's).
			dp := max(trainN/(tp*pp), 1)
			capacity := c.PackLen() * c.LogprobMicrobatch
			bins, longest := padded(c.sampleLengths(c.Samples()), capacity, dp)
			m := math.Ceil(float64(bins) / float64(dp))
			passes, work = (m+float64(pp)-1)/float64(pp), m/float64(pp)
			fill = float64(longest) / float64(capacity)
			packNote = fmt.Sprintf("packing: each optimizer step's %d samples go into %d training micro-batches of %d tokens, the step's %d samples into %d log-probability micro-batches of %d tokens: packed (modified first-fit decreasing) and, under pipeline parallelism, every micro-batch padded to the longest bin (rl.pad_packs)",
				min(c.TrainBatch, c.Samples()), tj.Training.GlobalBatch, tj.Model.SeqLen, c.Samples(), bins, longest)
		}
		scoreTimes[i] = units.Seconds(passes*fill) * (k.Compute + k.Comm)
		scoreFLOPs += work * fill * float64(flops) * float64(trainN)
		w := units.Bytes(float64(s.m.Params())/float64(tp)) * e
		if s.m.Name == policy.Name {
			// The policy's shape (its log-probabilities, a reference copy):
			// sharded as the training layout holds it (pipeline stages,
			// experts over EP, ZeRO-3), the training replay's weights.
			w = tres.Memory.Weights
		}
		res.Memory.Scoring = max(res.Memory.Scoring, w)
		if c.ReferenceSwap && s.name == "reference" && s.m.Name == policy.Name {
			swap := (3 * w).Over(topology.PCIeRate(j.Cluster.GPU.Family))
			scoreTimes[i] += swap
			res.Notes = append(res.Notes, fmt.Sprintf("reference swap: the reference's weights live in host memory; each step the policy's %s shard goes to the host, the reference's comes in and the policy's comes back, %s over PCIe (rl.reference_swap)", w, swap))
		}
	}

	if packNote == "" && c.PadPacks {
		packNote = fmt.Sprintf("packing: each optimizer step's %d samples go into %d training micro-batches (modified first-fit decreasing, one bin each), %d tokens on average; without pipeline parallelism nothing is padded and the scoring passes take the step's tokens in packs of %d (rl.pad_packs)",
			min(c.TrainBatch, c.Samples()), tj.Training.GlobalBatch, tj.Model.SeqLen, c.PackLen())
	}
	if packNote != "" {
		res.Notes = append(res.Notes, packNote)
	}

	// Refit: the policy's 16-bit weights gathered from the training layout
	// and delivered to every engine in its layout.
	refit, note, err := c.refit(p, j, policy, genN, policyN)
	if err != nil {
		return nil, err
	}
	res.RefitBytes = units.Bytes(policy.Params()) * e
	res.Notes = append(res.Notes, note)

	// Swap: colocated, the training state that does not fit beside the
	// engine goes to host memory for generation and back for training.
	// Each byte crosses PCIe twice a step (out, then back in), one
	// direction at a time. With offload "all" the weights and the
	// optimizer state go (the gradients are dropped: nothing in them
	// outlives the optimizer step), and the engine's weights go out after
	// generation and come back before the next one (vLLM's sleep and
	// wake_up; its KV cache is discarded, not copied). The optimizer
	// state moves at OptimizerSwapRate when one is set.
	var swap units.Seconds
	if c.Placement == Colocated {
		pcie := topology.PCIeRate(j.Cluster.GPU.Family)
		room := j.Cluster.GPU.HBM - units.Bytes(float64(j.Cluster.GPU.HBM)*c.GenMemoryFraction)
		switch {
		case c.Offload == OffloadAll:
			res.Memory.Offloaded = state - grads
			pinned := res.Memory.Offloaded + res.Memory.GenerationWeights
			if c.OptimizerSwapRate > 0 {
				pinned -= opt
				res.OptimizerSwap = (2 * opt).Over(c.OptimizerSwapRate)
				swap = res.OptimizerSwap
			}
			swap += (2 * pinned).Over(pcie)
		case state > room:
			res.Memory.Offloaded = state - room
			swap = (2 * res.Memory.Offloaded).Over(pcie)
		}
	}

	var rollout *rolloutPlan
	if calls != nil {
		if rollout, err = c.rolloutScoring(p, j, calls, scorers); err != nil {
			return nil, err
		}
		scoreFLOPs = rollout.flops
	}
	if err := c.replay(res, runs, rollout, scorers, scoreTimes, policyStep, criticStep, refit, swap); err != nil {
		return nil, err
	}
	res.finish(c, j, runs, scoreFLOPs, trainFLOPs, genN, trainN)
	if rollout != nil {
		res.rolloutFinish(c, rollout, len(scorers))
	}
	if c.CriticGPUs > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("critic on its own GPUs: the policy trains on %d GPUs and the critic on %d at the same time (rl.critic_gpus); the training phase lasts until the slower of the two is done", policyN, criticN))
	}
	return res, nil
}

func fieldErrs[E error](errs []E) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// CPUAdamBytesPerParam is the host-memory traffic of an optimizer step of
// DeepSpeed's ZeRO-Offload per parameter of an offloaded shard. CPU Adam
// reads the fp32 gradient, weight and two moments (16 B) and writes back the
// weight and moments (12 B), one vectorised pass over the arrays, bound by
// memory bandwidth (Ren et al. 2021, ZeRO-Offload; DeepSpeed
// csrc/includes/cpu_adam.h Adam_Optimizer::Step_AVX). Before it, DeepSpeed
// v0.13.2 unscales the host's fp32 gradient partition in place whatever the
// scale (stage_1_and_2.py step → unscale_and_clip_grads: grad.data.mul_(1 /
// combined_scale), 1 with bf16 and no clipping; stage3.py
// unscale_and_clip_grads likewise on fp32_partitioned_groups_flat[].grad):
// one more pass, read and write 4 B each. Its fused 16-bit copy
// to the GPU is not used: ZeRO-2 and ZeRO-3 at v0.13.2 call
// optimizer.step() and then copy the fp32 partition into the GPU's 16-bit
// one (stage_1_and_2.py _optimizer_step, "the C++ side copy & synchronize
// is not working correctly"; stage3.py _reassign_or_swap_out_partitioned_
// parameters), a blocking copy_ that PyTorch converts on the CPU (ATen's
// copy_kernel_cuda: blocking transfers convert on the CPU), reading the
// fp32 weight and writing a 16-bit temporary (6 B), which the CUDA driver
// then stages through a pinned buffer because it is pageable (NVIDIA, "How
// to Optimize Data Transfers in CUDA C/C++", 2012: the driver copies
// pageable host data to a pinned array before the transfer; 4 B):
// 28 + 8 + 10 = 46 B.
const CPUAdamBytesPerParam = 46

// adamStateBytesPerParam is the optimizer state per parameter of a shard
// (fp32 master weight and two moments): the shard's parameter count is the
// replay's optimizer bytes over it.
const adamStateBytesPerParam = 12

// optimizerOffload prices one optimizer step of the training replay r of
// job t with its optimizer on the host: the PCIe traffic of DeepSpeed's
// ZeRO-Offload over the step's g micro-batches and CPU Adam over the shard at
// CPUAdamBandwidth. Per parameter of the shard (DeepSpeed
// deepspeed/runtime/zero/stage_1_and_2.py copy_grads_in_partition, with
// offload: async_accumulate_grad_in_cpu_via_gpu before the accumulation
// boundary, async_inplace_copy_grad_to_fp32_buffer_from_gpu at it): every
// micro-batch but the last copies its 16-bit gradient to the host (2 B), every
// one but the first brings the accumulated gradient back to add to (2 B), the
// last sends the fp32 gradient (4 B), and the updated 16-bit weight comes back
// after the CPU's step (2 B): 4g + 2 bytes, one direction at a time, not
// overlapped with the backward pass. ZeRO-3 accumulates in a host buffer of
// the gradient-accumulation type instead (deepspeed/runtime/zero/stage3.py
// partition_grads at v0.13.2: grad_partitions_flat_buffer of
// gradient_accumulation_dtype on the offload device): the first micro-batch
// sends its partition down, every later one brings the buffer up, adds and
// sends it back, and the boundary copies it into the optimizer's fp32
// gradient from the GPU: 2·a·g + 2 bytes with a the accumulation type's
// size (4 with fp32 gradients, training.fp32_grads; OpenRLHF's DeepSpeed
// config sets data_types.grad_accum_dtype fp32), 4g + 2 with 16-bit ones.
// It returns that time, the GPU's training
// memory without the optimizer state and the fp32 gradients (they live on
// the host), and the state a colocated step would offload (the weights: the
// rest is on the host already). With Config.OffloadPCIeShare GPUs behind
// one host link, all of them offloading in the same step of their
// synchronous data-parallel schedule, each moves its bytes at the x16 rate
// over that share (a DGX A100's four PCIe 4.0 switches each connect two
// GPUs to the CPU through one x16 uplink).
func (c Config) optimizerOffload(t parallelism.Job, r *parallelism.Result) (units.Seconds, units.Bytes, units.Bytes) {
	shard := float64(r.Memory.Optimizer) / adamStateBytesPerParam
	g := max(t.Training.GlobalBatch/max(t.Layout.DP*t.Layout.Microbatch, 1), 1)
	per := 4*float64(g) + 2
	if t.Layout.ZeRO >= 3 && !t.Training.Grads16 {
		per = 8*float64(g) + 2
	}
	pcie := units.Bytes(per * shard * float64(c.pcieShare())).Over(topology.PCIeRate(t.Cluster.GPU.Family))
	cpu := units.Bytes(CPUAdamBytesPerParam * shard).Over(c.CPUAdamBandwidth)
	return pcie + cpu, r.Memory.Peak - r.Memory.Optimizer - r.Memory.Gradients, r.Memory.Weights
}

// pcieShare is the number of GPUs whose offload traffic shares one host
// PCIe link at the same time (Config.OffloadPCIeShare, at least 1).
func (c Config) pcieShare() int { return max(c.OffloadPCIeShare, 1) }

// shareNote says, for the offload note, how many GPUs share a host link.
func (c Config) shareNote() string {
	if c.pcieShare() == 1 {
		return ""
	}
	return fmt.Sprintf(" (each GPU's share of a host link that %d offloading GPUs use at once, rl.offload_pcie_share)", c.pcieShare())
}

// offloadFits says whether a training replay whose optimizer is on the host
// fits in HBM, with the replay's reason rewritten when it does not.
func offloadFits(need, hbm units.Bytes, r *parallelism.Result) (bool, string) {
	if need <= hbm {
		return true, ""
	}
	m := r.Memory
	return false, fmt.Sprintf("out of memory with the optimizer offloaded: %s per GPU (weights %s, activations %s, transient %s), %s more than the %s of HBM",
		need, m.Weights, m.Activations, m.Transient, need-hbm, hbm)
}

// divisorTP is the largest divisor of tp that divides heads: the tensor
// parallelism a scoring model of heads runs with on the training layout.
func divisorTP(tp, heads int) int {
	for d := tp; d > 1; d-- {
		if tp%d == 0 && heads%d == 0 {
			return d
		}
	}
	return 1
}

// trainingJob is j training m on the pool of trainN GPUs, on packed
// sequences of prompt + response_max tokens: one optimizer step of
// train_batch samples, their tokens packed, the packs rounded up to a
// multiple of dp × microbatch. With PadPacks the packs are NeMo-RL's bins,
// under pipeline parallelism each padded to the longest (padded), else of
// the bins' mean length.
func (c Config) trainingJob(j parallelism.Job, trainN int, m model.Config) parallelism.Job {
	l := j.Layout
	t := j
	t.Model = m
	t.Model.SeqLen = c.PackLen()
	// The RL step's notes say once that the scenario's NICs were scaled
	// to its gpus_per_node (finish); the pool's replay would repeat it,
	// and of a one-node pool reshaped below, wrongly.
	t.Cluster.Network.Scaling = topology.NICScaling{}
	if trainN != j.Cluster.GPUs() {
		per := j.Cluster.GPUsPerNode
		if trainN%per == 0 {
			t.Cluster.Nodes = trainN / per
		} else {
			t.Cluster.Nodes, t.Cluster.GPUsPerNode = 1, trainN
		}
		// A topology file describes the whole cluster, not the pool.
		t.Options.Graph = nil
		t.Options.Network = parallelism.NetworkAnalytical
	}
	t.Layout.DP = trainN / (l.TP * l.PP * l.CP)
	tokens := float64(c.TrainBatch) * (float64(c.PromptLen) + float64(c.ResponseMean))
	packs := int(math.Ceil(tokens / float64(c.PackLen())))
	if c.PadPacks {
		// NeMo-RL's packing of the optimizer step's samples into bins of
		// the micro-batch's tokens: one bin is one micro-batch. Under
		// pipeline parallelism each is padded to the longest bin; without
		// it each runs at its own length, which the replay's uniform
		// micro-batches take as the bins' mean (the same tokens).
		bins := PackBins(c.sampleLengths(min(c.TrainBatch, c.Samples())), c.PackLen()*l.Microbatch, t.Layout.DP)
		tot, longest := 0, 0
		for _, b := range bins {
			tot += b
			longest = max(longest, b)
		}
		packs = len(bins)
		t.Layout.Microbatch = 1
		t.Model.SeqLen = longest
		if !c.padded(l) {
			t.Model.SeqLen = (tot + len(bins) - 1) / len(bins)
		}
	}
	// The frameworks pad a packed micro-batch's length up to what the
	// training layout divides (NeMo-RL: policy.make_sequence_length_divisible_by,
	// the tensor-parallel size in its configs); the padding is computed.
	d := SeqMultiple(t.Layout, m)
	t.Model.SeqLen = (t.Model.SeqLen + d - 1) / d * d
	unit := t.Layout.DP * t.Layout.Microbatch
	t.Training.GlobalBatch = (packs + unit - 1) / unit * unit
	t.Training.Steps = 1
	t.Training.Tokens = 0
	t.Variation = parallelism.Variation{}
	if l.Schedule == parallelism.Interleaved && (t.Training.GlobalBatch/unit)%l.PP != 0 {
		unit *= l.PP
		t.Training.GlobalBatch = (packs + unit - 1) / unit * unit
	}
	return t
}

// SeqMultiple is what a training layout l of model m needs a sequence's
// length to be a multiple of (the checks of parallelism.Job.Validate): tp
// under sequence parallelism and for a mixture-of-experts model (each rank
// holds seq_len ÷ cp ÷ tp tokens outside the tensor-parallel regions), and
// 2 × cp under context parallelism (the load-balanced split into 2 × cp
// chunks); both together make cp × lcm(2, tp). An RL step's packed
// sequences (prompt + response) are padded up to it, as NeMo-RL pads each
// batch to policy.make_sequence_length_divisible_by
// (NVIDIA-NeMo/RL@37b1837, nemo_rl/data/llm_message_utils.py,
// batched_message_log_to_flat_message); the inference engines shard heads,
// not tokens, so generation needs no such multiple.
func SeqMultiple(l parallelism.Layout, m model.Config) int {
	cp, two, tp := 1, 1, 1
	if l.CP > 1 {
		cp, two = l.CP, 2
	}
	if l.TP > 1 && (l.SequenceParallel || m.Experts > 0) {
		tp = l.TP
	}
	g := two
	for b := tp; b != 0; {
		g, b = b, g%b
	}
	return cp * two * tp / g
}

// padded says whether the policy's micro-batches are NeMo-RL's padded bins:
// PadPacks and pipeline parallelism in the training layout l.
func (c Config) padded(l parallelism.Layout) bool { return c.PadPacks && l.PP > 1 }

// simulate validates and replays a training job of the step.
func simulate(j parallelism.Job, what string) (*parallelism.Result, error) {
	v, errs := j.Validate()
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("rl: %s (%s, seq_len %d, global batch %d packed sequences on %d GPUs): %s", what, j.Model.Name, j.Model.SeqLen, j.Training.GlobalBatch, j.Cluster.GPUs(), strings.Join(msgs, "; "))
	}
	r, err := parallelism.Simulate(v)
	if err != nil {
		return nil, fmt.Errorf("rl: %s: %w", what, err)
	}
	return r, nil
}

// RefitBytes is what a refit moves to each engine replica: the policy's
// weights at the training precision's element size (16-bit).
func RefitBytes(m model.Config, p units.Precision) units.Bytes {
	return units.Bytes(m.Params()) * p.ElementBytes()
}

// replicatedNote names the tensors a vLLM engine of tensor parallelism tp
// keeps whole on every rank, when there are any.
func replicatedNote(m model.Config, tp int) string {
	r := m.EngineReplicatedParams()
	if tp <= 1 || r == 0 {
		return ""
	}
	return fmt.Sprintf(", with the %.3g G parameters vLLM keeps whole on every rank (latent down-projections, routers) in full", float64(r)/1e9)
}

// refit prices moving the policy's weights from the training layout to the
// engines: an all-gather over a training model-parallel group (tp × pp
// ranks, each holding 1/(tp·pp) of the weights) so that the group holds
// the whole model; colocated, each engine GPU then copies its 1/gen_tp shard
// from a GPU of its node (or itself) at HBM speed. Split, the training pool
// sends each engine GPU its shard: every engine GPU receives
// weights/gen_tp, the training GPUs send in parallel, each pair link
// carrying engines·weights / min(gen, train) bytes, over NVLink when both
// pools share one node and over the fabric otherwise.
func (c Config) refit(p pricer, j parallelism.Job, m model.Config, genN, trainN int) (units.Seconds, string, error) {
	bytes := RefitBytes(m, j.Training.Precision)
	l := j.Layout
	group := l.TP * l.PP
	if m.MoE() && l.EP > 1 {
		// The experts are spread over the expert-parallel group too, and
		// the export gathers each expert tensor over it: every training
		// GPU ends with the whole model (NeMo-RL's refit size of an expert
		// tensor is its shard × tp × ep, megatron_policy_worker.py
		// _calculate_refit_param_info at r0.6.0; NeMo-RL's refit blog,
		// 2025-08-12: "after this step each policy worker gets full model
		// parameters"). The dense layers' weights are already whole on the
		// EP group; gathering every byte over it is the bound.
		group *= l.EP
	}
	if l.ZeRO >= 3 {
		// ZeRO-3 shards the 16-bit weights over the data-parallel group
		// too: a whole copy is rebuilt from every training GPU (DeepSpeed's
		// hybrid engine gathers all layers' partitions before each
		// generate call, deepspeed/runtime/hybrid_engine.py generate();
		// OpenRLHF's broadcast to vLLM gathers each parameter,
		// GatheredParameters).
		group = trainN
	}
	per := j.Cluster.GPUsPerNode
	var t units.Seconds
	if group > 1 {
		k, err := p.coll.Time(collective.AllGather, bytes, collective.Placement{Ranks: group, PerNode: min(group, per)})
		if err != nil {
			return 0, "", fmt.Errorf("rl: refit all-gather: %w", err)
		}
		t += k.Time
	}
	// Each engine GPU takes in its shard, with the tensors vLLM keeps whole
	// on every rank (model.EngineReplicatedParams) in full.
	shard := units.Bytes(m.EngineParams(c.GenTP)) * j.Training.Precision.ElementBytes()
	if c.Placement == Colocated {
		if c.RefitRate > 0 {
			// The framework's handoff sets the pace: each engine GPU
			// takes in its shard at RefitRate.
			t += shard.Over(c.RefitRate)
			return t, fmt.Sprintf("refit: %s of 16-bit weights all-gathered over the %d training GPUs that hold a shard of them, then each engine GPU takes in its shard (%s: 1/%d of the weights%s) at rl.refit_rate %s", bytes, group, shard, c.GenTP, replicatedNote(m, c.GenTP), c.RefitRate), nil
		}
		// Read and write the shard in HBM.
		t += (2 * shard).Over(j.Cluster.GPU.HBMBandwidth.Scale(p.cm.Params.HBMFraction))
		return t, fmt.Sprintf("refit: %s of 16-bit weights all-gathered over the %d training GPUs that hold a shard of them, then each engine GPU copies its 1/%d in HBM", bytes, group, c.GenTP), nil
	}
	pairs := min(genN, trainN)
	link := units.Bytes(float64(shard) * float64(genN) / float64(pairs))
	place := collective.Placement{Ranks: 2, PerNode: 1}
	if genN+trainN <= per {
		place.PerNode = 2
	}
	k, err := p.coll.Time(collective.SendRecv, link, place)
	if err != nil {
		return 0, "", fmt.Errorf("rl: refit send: %w", err)
	}
	t += k.Time
	if c.RefitRate > 0 {
		t += shard.Over(c.RefitRate)
	}
	return t, fmt.Sprintf("refit: %s of 16-bit weights all-gathered over the %d training GPUs that hold a shard of them, then sent to %d engine replicas (%s per engine GPU) over %d pool-to-pool links of %s each", bytes, group, genN/c.GenTP, shard, pairs, link), nil
}
