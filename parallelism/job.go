package parallelism

import (
	"math"

	"trainsim/field"
	"trainsim/model"
	"trainsim/topology"
)

// Job is everything the replay needs: what is trained, on what, how it is split.
type Job struct {
	Model       model.Config
	Cluster     topology.Cluster
	Layout      Layout
	Training    Training
	Options     Options
	Calibration Calibration
	// Variation is how GPUs differ in speed (stragglers).
	Variation Variation
}

// LayersOf returns how many transformer layers virtual stage vs (chunk c of
// stage s is vs = c·pp + s) holds: as the pipeline layout places them when
// one is set (parallelism.pipeline_layout, pipelinelayout.go), else by the
// remainder rule of evenLayersOf.
func (j Job) LayersOf(vs int) int {
	if j.Layout.PipelineLayout != "" {
		if c := j.StageLayers(); vs < len(c) {
			return c[vs]
		}
	}
	return j.evenLayersOf(vs)
}

// evenLayersOf is the default split: when the layers do not divide evenly,
// the remainder goes one each to the virtual stages after the first, which
// also holds the embedding, as uneven Megatron-DeepSpeed and Megatron-Core
// partitions lighten the stages with extra work. The multi-token-prediction
// modules count in the split as layers of the last virtual stage, which
// runs their blocks (blocksOf): it holds that many fewer layers, as
// Megatron-Core's account_for_loss_in_pipeline_split counts the loss as a
// layer and Megatron-Bridge's DeepSeek-V3 layouts lighten the stage that
// holds the MTP module (validate.go refuses a split that would leave it
// fewer than none).
func (j Job) evenLayersOf(vs int) int {
	n := j.Layout.PP * j.Layout.VirtualStages
	total := j.Model.Layers + j.Model.MTPDepth
	base, extra := total/n, total%n
	k := base
	if extra > 0 && vs >= 1 && vs <= extra {
		k = base + 1
	}
	if vs == n-1 {
		k -= j.Model.MTPDepth
	}
	return k
}

// blocksOf returns the transformer blocks virtual stage vs runs: its
// layers (LayersOf) and, on the last virtual stage, the block of each
// multi-token-prediction module (model.mtp_depth), which Megatron-Core
// places there with the loss.
func (j Job) blocksOf(vs int) int {
	n := j.LayersOf(vs)
	if vs == j.Layout.PP*j.Layout.VirtualStages-1 {
		n += j.Model.MTPDepth
	}
	return n
}

// blockCounts returns blocksOf of every virtual stage, the layout read
// once.
func (j Job) blockCounts() []int {
	c := j.StageLayers()
	if len(c) > 0 {
		c[len(c)-1] += j.Model.MTPDepth
	}
	return c
}

// stageLayers returns the transformer blocks a GPU of stage s holds over
// all its chunks, the MTP modules' included (blocksOf).
func (j Job) stageLayers(s int) int {
	total := 0
	if j.Layout.PipelineLayout == "" {
		// The even split: no layout to read, nothing to allocate (the
		// search's memory bound calls this for every candidate).
		for c := 0; c < j.Layout.ChunksPerGPU(); c++ {
			total += j.blocksOf(j.Layout.vsOf(s, c))
		}
		return total
	}
	blocks := j.blockCounts()
	for c := 0; c < j.Layout.ChunksPerGPU(); c++ {
		total += blocks[j.Layout.vsOf(s, c)]
	}
	return total
}

// maxChunkBlocks is the most transformer blocks one virtual stage runs.
func (j Job) maxChunkBlocks() int {
	most := 0
	for _, b := range j.blockCounts() {
		most = max(most, b)
	}
	return most
}

// copies is how many copies of each parameter the pipeline holds: 2 under
// DualPipe (each GPU holds stages s and pp−1−s, arXiv:2412.19437 §3.2.1,
// Table 2), else 1. A sharded optimizer (ZeRO ≥ 1) splits a parameter's
// state over every rank that holds a copy, the two copies' gradients
// being one parameter's (deepseek-ai/DualPipe's example sums them).
func (j Job) copies() int {
	if j.Layout.Schedule == DualPipe {
		return 2
	}
	return 1
}

// Microbatches returns the number of micro-batches per pipeline per step.
func (j Job) Microbatches() int {
	return j.Training.GlobalBatch / (j.Layout.DP * j.Layout.Microbatch)
}

// MaxReplayTasks bounds the task graph one replay may unroll. At about 110
// bytes per task (the default scenario: 234k tasks in 26 MB; a full-rank
// replay of GPT-3 175B on 16,384 GPUs: 30 million tasks in 3.9 GB) it
// keeps a replay near 4.4 GB, 170 times the default; a larger job is refused by
// Validate, before any allocation, instead of running the machine out of
// memory.
const MaxReplayTasks = 40_000_000

// MaxPeriodicTasks bounds the tasks a periodic replay of training steps
// (period.go) may stand for: it emits two steps, but adds each further
// step's byte sums again one at a time, in the unrolled order, at about a
// ninth of the cost of replaying that step (the default scenario: 10,000
// steps, 2.3e9 tasks, took 4.1 s). 25 × MaxReplayTasks keeps it near
// 2 s; training.steps = 2147483647 is refused instead of played for days.
const MaxPeriodicTasks = 25 * MaxReplayTasks

// ReplayTasks estimates the tasks a replay of j unrolls: per step, per
// replayed pipeline stage, per micro-batch and model chunk, a dozen per
// layer plus a few per pass. It is computed in floating point so that no
// size overflows.
func (j Job) ReplayTasks() float64 {
	l := j.Layout
	if l.PP < 1 || l.VirtualStages < 1 || l.DP < 1 || l.Microbatch < 1 {
		return 0
	}
	reps := 1.0
	if j.Options.Ranks == RanksFull || j.Variation.Set() {
		reps = float64(l.DP)
	}
	m := float64(j.Training.GlobalBatch) / (float64(l.DP) * float64(l.Microbatch))
	return replayTasks(j, max(1, j.Training.Steps), reps, m)
}

// replayTasks is ReplayTasks for steps training steps of reps replicas of
// m micro-batches each, as a replay emits them.
func replayTasks(j Job, steps int, reps, m float64) float64 {
	l := j.Layout
	chunks := float64(l.PP) * float64(l.VirtualStages)
	// The most blocks one virtual stage runs (maxChunkBlocks), without
	// reading a layout or allocating where the split is even and there is
	// no MTP module: then the remainder rule gives the ceiling.
	layers := math.Ceil(float64(j.Model.Layers) / chunks)
	if l.PipelineLayout != "" || j.Model.MTPDepth > 0 {
		layers = float64(j.maxChunkBlocks())
	}
	return float64(steps) * reps * float64(l.PP) * m * float64(l.ChunksPerGPU()) * (4 + 12*layers)
}

// stepsPeriodic reports whether a replay of j on reps replicas tries the
// periodic replay of training steps (period.go: stepPeriod), which emits
// two steps and extrapolates the others from the second.
func (j Job) stepsPeriodic(reps int) bool {
	return j.Options.Network != NetworkFlow && !j.Options.Timeline && !j.Options.reference &&
		!j.Options.noPeriodic && reps == 1 && j.Training.Steps > 2
}

// BuiltReplayTasks estimates the tasks a replay of j builds at first:
// ReplayTasks, but with two training steps where the periodic replay of
// steps is sure to be tried (one replica replayed). Should its run-time
// check not hold, the full replay that follows is bounded again
// (runPlan) and refused if it would pass MaxReplayTasks.
func (j Job) BuiltReplayTasks() float64 {
	// One replica is replayed unless every one is (full ranks) or the
	// GPUs' variation may split them into classes: then the periodic
	// replay may not be tried, and all steps count.
	oneReplica := j.Layout.DP == 1 || j.Options.Ranks != RanksFull && !j.Variation.Set()
	if n := j.ReplayTasks(); n == 0 || !oneReplica || !j.stepsPeriodic(1) {
		return n
	}
	l := j.Layout
	return replayTasks(j, 2, 1, float64(j.Training.GlobalBatch)/(float64(l.DP)*float64(l.Microbatch)))
}

// replayTooLarge is the refusal of a replay of j estimated at n tasks,
// more than MaxReplayTasks: named by training.steps when the job has
// several, training.global_batch otherwise.
func replayTooLarge(j Job, n float64) field.Error {
	key, other := "training.global_batch", "training.steps"
	if j.Training.Steps > 1 {
		key, other = other, key
	}
	return field.Errorf(key, "the replay would unroll about %.3g tasks (steps × pipeline stages × micro-batches × model chunks × a dozen per layer), more than the %d one run may take (about 4.4 GB of memory); use fewer training.steps, a smaller global batch per pipeline or a larger micro-batch", n, MaxReplayTasks).
		Using(other, "parallelism.pp", "parallelism.dp", "parallelism.microbatch", "parallelism.virtual_stages", "model.layers", "simulation.ranks")
}
