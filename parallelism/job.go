package parallelism

import (
	"math"

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
// stage s is vs = c·pp + s) holds. When the layers do not divide evenly,
// the remainder goes one each to the virtual stages after the first, which
// also holds the embedding, as uneven Megatron-DeepSpeed and Megatron-Core
// partitions lighten the stages with extra work.
func (j Job) LayersOf(vs int) int {
	n := j.Layout.PP * j.Layout.VirtualStages
	base, extra := j.Model.Layers/n, j.Model.Layers%n
	if extra > 0 && vs >= 1 && vs <= extra {
		return base + 1
	}
	return base
}

// stageLayers returns the layers a GPU of stage s holds over all its chunks.
func (j Job) stageLayers(s int) int {
	total := 0
	for c := 0; c < j.Layout.VirtualStages; c++ {
		total += j.LayersOf(c*j.Layout.PP + s)
	}
	return total
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
	chunks := float64(l.PP) * float64(l.VirtualStages)
	layers := math.Ceil(float64(j.Model.Layers) / chunks)
	m := float64(j.Training.GlobalBatch) / (float64(l.DP) * float64(l.Microbatch))
	return float64(max(1, j.Training.Steps)) * reps * float64(l.PP) * m * float64(l.VirtualStages) * (4 + 12*layers)
}
