package report

import (
	"trainsim/job"
	"trainsim/parallelism"
)

// Job is the whole run: time to train with failures, checkpoints, restarts
// and stragglers, from the Monte Carlo of package job; absent without a
// [job] table.
type Job struct {
	Runs int `json:"runs"`
	// MeanS and the quantiles are the wall time to the end of training.
	MeanS float64 `json:"mean_s"`
	P50S  float64 `json:"p50_s"`
	P90S  float64 `json:"p90_s"`
	P99S  float64 `json:"p99_s"`
	// P50CIS, P90CIS and P99CIS are 95% confidence intervals of the
	// quantiles (order statistics of the runs).
	P50CIS [2]float64 `json:"p50_ci_s"`
	P90CIS [2]float64 `json:"p90_ci_s"`
	P99CIS [2]float64 `json:"p99_ci_s"`
	// Goodput is useful training time over the mean wall time.
	Goodput float64 `json:"goodput"`
	// Interruptions is the mean count per run; InterruptionsPerDay the rate.
	Interruptions       float64 `json:"interruptions"`
	InterruptionsPerDay float64 `json:"interruptions_per_day"`
	// JobMTBFS is the mean time between interruptions of the whole job.
	JobMTBFS float64 `json:"job_mtbf_s"`
	// TrainS is the useful training time: every GPU at full speed, nothing
	// lost; RampS the part of the training (stragglers included) spent in
	// the batch ramp-up phases.
	TrainS float64 `json:"train_s"`
	RampS  float64 `json:"ramp_s,omitempty"`
	Lost   JobLost `json:"lost_s"`
	// CheckpointIntervalS is the interval the runs used;
	// BestCheckpointIntervalS the one that minimises the expected wall time
	// and YoungDalyIntervalS its approximation √(2·write·MTBF).
	CheckpointIntervalS     float64 `json:"checkpoint_interval_s"`
	CheckpointWriteS        float64 `json:"checkpoint_write_s"`
	RestartS                float64 `json:"restart_s"`
	BestCheckpointIntervalS float64 `json:"best_checkpoint_interval_s"`
	YoungDalyIntervalS      float64 `json:"young_daly_interval_s"`
	// Histogram is the distribution of the runs' wall times: Bins+1 edges.
	Histogram Histogram `json:"histogram"`
}

// JobLost is the mean wall time per run that was not useful training.
type JobLost struct {
	Failures    float64 `json:"failures"`
	Restarts    float64 `json:"restarts"`
	Checkpoints float64 `json:"checkpoints"`
	Stragglers  float64 `json:"stragglers"`
}

// Histogram counts samples in equal bins between Edges[0] and Edges[n].
type Histogram struct {
	Edges  []float64 `json:"edges_s"`
	Counts []int     `json:"counts"`
}

// Stragglers says what slow GPUs cost one step.
type Stragglers struct {
	SlowGPUs int `json:"slow_gpus"`
	// UniformStepS is the step with every GPU at full speed; LostPerStepS
	// the difference to step_time_s, and Slowdown their ratio minus one.
	UniformStepS float64 `json:"uniform_step_s"`
	LostPerStepS float64 `json:"lost_per_step_s"`
	Slowdown     float64 `json:"slowdown"`
	// Replicas is how many data-parallel replicas the replay simulated.
	Replicas int `json:"replicas"`
	// SlowLinks is how many NICs were slow.
	SlowLinks int `json:"slow_links"`
}

func stragglersOf(s *parallelism.StragglerStats, step float64) *Stragglers {
	if s == nil {
		return nil
	}
	out := &Stragglers{SlowGPUs: s.SlowGPUs, UniformStepS: s.UniformStep, LostPerStepS: step - s.UniformStep, Replicas: s.Replicas, SlowLinks: s.SlowLinks}
	if s.UniformStep > 0 {
		out.Slowdown = step/s.UniformStep - 1
	}
	return out
}

// histogramBins is how many bins the time-to-train histogram has.
const histogramBins = 20

func jobOf(c job.Config, r *job.Result) *Job {
	if r == nil {
		return nil
	}
	out := &Job{
		Runs: r.Runs, MeanS: float64(r.Mean), Goodput: r.Goodput,
		Interruptions: r.Interruptions, InterruptionsPerDay: r.Rate * 86400,
		JobMTBFS: float64(c.JobMTBF()), TrainS: float64(r.Train), RampS: float64(r.Ramp),
		Lost: JobLost{Failures: float64(r.Lost.Failures), Restarts: float64(r.Lost.Restarts),
			Checkpoints: float64(r.Lost.Checkpoints), Stragglers: float64(r.Lost.Stragglers)},
		CheckpointIntervalS: float64(c.CheckpointInterval), CheckpointWriteS: float64(c.CheckpointWrite), RestartS: float64(c.Restart),
		BestCheckpointIntervalS: float64(r.BestInterval), YoungDalyIntervalS: float64(r.YoungDaly),
	}
	for _, q := range r.Quantiles {
		v, ci := float64(q.Value), [2]float64{float64(q.Lo), float64(q.Hi)}
		switch q.P {
		case 0.5:
			out.P50S, out.P50CIS = v, ci
		case 0.9:
			out.P90S, out.P90CIS = v, ci
		case 0.99:
			out.P99S, out.P99CIS = v, ci
		}
	}
	if n := len(r.Samples); n > 0 {
		lo, hi := float64(r.Samples[0]), float64(r.Samples[n-1])
		h := Histogram{Counts: make([]int, histogramBins)}
		width := (hi - lo) / histogramBins
		for i := 0; i <= histogramBins; i++ {
			h.Edges = append(h.Edges, lo+float64(i)*width)
		}
		for _, s := range r.Samples {
			i := histogramBins - 1
			if width > 0 {
				i = min(int((float64(s)-lo)/width), histogramBins-1)
			}
			h.Counts[i]++
		}
		out.Histogram = h
	}
	return out
}
