package rl

import (
	"fmt"
	"math"

	"trainsim/parallelism"
	"trainsim/units"
)

// tailShare is the share of generation above which a step is said to be
// bound by its longest responses: the engines spent it decoding a batch at
// most half as full as it had been, after their queues emptied.
const tailShare = 0.25

// finish fills what follows from the replay: the slowest engine's split,
// what bounds generation and the step, utilisation, throughput and notes.
func (res *Result) finish(c Config, j parallelism.Job, runs []engineRun, scoreFLOPs, trainFLOPs float64, genN, trainN int) {
	slow, slowT := 0, units.Seconds(-1)
	var genFLOPs, genBytes float64
	for r, run := range runs {
		var t units.Seconds
		for _, s := range run.Segments {
			t += s.Cost.Compute + s.Cost.Comm + s.Cost.Host
			genFLOPs += float64(s.Cost.FLOPs) * float64(c.GenTP)
			genBytes += float64(s.Cost.Bytes) * float64(c.GenTP)
		}
		if t > slowT {
			slow, slowT = r, t
		}
	}
	run := runs[slow]
	lastAdmit := 0
	for i, s := range run.Segments {
		if s.Prefill {
			lastAdmit = i
		}
	}
	for i, s := range run.Segments {
		res.GenHost += s.Cost.Host
		if s.Prefill {
			res.Prefill += s.Cost.Compute
			res.GenComm += s.Cost.Comm
			continue
		}
		res.Decode += s.Cost.Compute
		res.GenComm += s.Cost.Comm
		res.DecodeHBM += s.Cost.HBM
		res.DecodeTensor += s.Cost.TensorCores
		res.Iterations += s.Iters
		switch {
		case c.Batching == Static && s.Iters > 0:
			res.Tail += (s.Cost.Compute + s.Cost.Comm + s.Cost.Host) * units.Seconds(float64(s.PaddedIters)/float64(s.Iters))
		case i > lastAdmit && 2*s.Batch <= run.Slots:
			res.Tail += s.Cost.Compute + s.Cost.Comm + s.Cost.Host
		}
	}
	gen := res.Generation
	switch {
	case gen > 0 && float64(res.Tail) > tailShare*float64(gen):
		res.GenerationBound = fmt.Sprintf("the longest responses: %.0f%% of generation decodes a batch at most half of whose sequences are still producing tokens, waiting for the last ones", 100*float64(res.Tail/gen))
	case res.GenHost > res.DecodeHBM && res.GenHost > res.DecodeTensor && res.GenHost > res.GenComm:
		res.GenerationBound = "the engine's host loop (scheduling and output processing between iterations, the GPU idle)"
	case res.GenComm > res.DecodeHBM && res.GenComm > res.DecodeTensor:
		res.GenerationBound = "tensor-parallel all-reduces (latency-bound, one per block per token)"
	case res.DecodeHBM >= res.DecodeTensor:
		res.GenerationBound = "HBM bandwidth (decode reads the weights and the KV cache every token)"
	default:
		res.GenerationBound = "tensor cores"
	}
	phases := []struct {
		name string
		t    units.Seconds
	}{{"generation", res.Generation}, {"scoring", res.Scoring}, {"training", res.Training}, {"refit", res.Refit}, {"offload/onload", res.Swap}}
	top := phases[0]
	for _, p := range phases[1:] {
		if p.t > top.t {
			top = p
		}
	}
	why := ""
	switch top.name {
	case "generation":
		why = ", bound by " + res.GenerationBound
	case "training":
		why = ", the training replay of the packed samples"
	case "offload/onload":
		why = ", the training state to host memory and back"
		if res.OptimizerSwap > res.Swap/2 {
			why = fmt.Sprintf(", %.0f%% of it the optimizer state's copies through pageable host memory (rl.optimizer_swap_rate %s); pinned host buffers would move it at the PCIe rate", 100*float64(res.OptimizerSwap/res.Swap), c.OptimizerSwapRate)
		}
	}
	if res.Step > 0 {
		res.Bottleneck = fmt.Sprintf("%s, %.0f%% of the step%s", top.name, 100*float64(top.t/res.Step), why)
	}
	peak := float64(j.Cluster.GPU.PeakDense16)
	if p, ok := j.Cluster.GPU.Peak(j.Training.Precision); ok {
		peak = float64(p)
	}
	if gen > 0 && peak > 0 {
		res.GenerationMFU = genFLOPs / (float64(gen) * float64(genN) * peak)
		res.GenerationHBM = genBytes / (float64(gen) * float64(genN) * float64(j.Cluster.GPU.HBMBandwidth))
	}
	if res.Scoring > 0 && peak > 0 {
		res.ScoringMFU = scoreFLOPs / (float64(res.Scoring) * float64(trainN) * peak)
	}
	if res.Training > 0 && peak > 0 {
		res.TrainingMFU = trainFLOPs / (float64(res.Training) * float64(trainN) * peak)
	}
	gpus := float64(genN)
	if c.Placement == Split {
		gpus += float64(trainN)
	}
	if res.Step > 0 {
		res.TokensPerSecPerGPU = float64(res.Tokens) / (float64(res.Step) * gpus)
	}
	if c.Prompts > 0 {
		res.PromptsTime = units.Seconds(math.Ceil(c.Prompts/float64(c.PromptsPerStep))) * res.Step
	}
	if n := j.Cluster.NICNote(); n != "" {
		// The hardware assumption of the scenario's cluster (its training
		// replays' notes are not the RL step's).
		res.Notes = append(res.Notes, n)
	}
	res.Notes = append(res.Notes,
		fmt.Sprintf("generation: %d engine replicas of tp %d, %s batching, at most %d sequences each (max_batch %d; the KV cache holds %d tokens per engine: %s); responses %d tokens on average, at most %d (quantiles max·u^p); decode iterations are aggregated between changes of the batch (one task per run of iterations and one for its all-reduces)",
			res.Replicas, c.GenTP, c.Batching, res.Slots, c.MaxBatch, res.KVCapacity, res.KVBudget, c.ResponseMean, c.ResponseMax),
		hostNote(c))
	switch {
	case c.Placement == Colocated && c.OffPolicy > 0:
		res.Notes = append(res.Notes, fmt.Sprintf("off_policy %d has no effect colocated: generation and training share every GPU, so generation of a later step cannot run beside training", c.OffPolicy))
	case c.Placement == Split && c.OffPolicy > 0:
		res.Notes = append(res.Notes, fmt.Sprintf("split, %d-step off-policy: the engines generate step n+%d while the training pool trains step n, so the step is the slower pool's time, not their sum", c.OffPolicy, c.OffPolicy))
	case c.Placement == Split:
		res.Notes = append(res.Notes, "split, on-policy: each pool waits for the other, so the step is their sum and each pool idles while the other works")
	}
	if c.Placement == Colocated && c.Offload == OffloadAll {
		res.Notes = append(res.Notes, fmt.Sprintf("colocated, offload all: the %s of training state per GPU (weights and optimizer state; the gradients are dropped and re-zeroed, not copied) goes to host memory over PCIe before generation and back after it, and the engine's %s of weights after generation and back before the next", res.Memory.Offloaded, res.Memory.GenerationWeights))
		if c.OptimizerSwapRate > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("optimizer swap: the optimizer state of that goes out and back at rl.optimizer_swap_rate %s each way (per-tensor copies into pageable host memory), %s of the offload/onload", c.OptimizerSwapRate, res.OptimizerSwap))
		}
	} else if res.Memory.Offloaded > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("colocated: %s of training state per GPU does not fit beside the engine's %.0f%% of HBM and is offloaded to host memory over PCIe before generation and back after it", res.Memory.Offloaded, 100*c.GenMemoryFraction))
	}
}

// hostNote says how the engine's host work is modelled.
func hostNote(c Config) string {
	const graphs = "generation assumes CUDA graphs: no host launch gaps between a decode iteration's kernels, each kernel paying only the kernel model's fixed launch-and-tail cost"
	if c.HostOverhead > 0 || c.HostPerSeq > 0 {
		return fmt.Sprintf("%s; the engine's host loop (scheduling, output processing, detokenisation) takes %s + %s per running sequence each iteration with the GPU idle (rl.engine_host_overhead, rl.engine_host_per_seq)", graphs, c.HostOverhead, c.HostPerSeq)
	}
	return graphs + "; the engine's scheduler and output processing on the host are taken as hidden (rl.engine_host_overhead and rl.engine_host_per_seq 0)"
}
