package plotreport

import (
	"fmt"

	"trainsim/report"
)

// Colours of the parts of the whole run's wall time.
const (
	colourTraining    = 2 // blue
	colourFailures    = 7 // light red
	colourRestarts    = 3 // orange
	colourCheckpoints = 1 // green
	colourStragglers  = 4 // purple
)

// stragglerBlocks says what slow GPUs cost the step.
func stragglerBlocks(d *Document, rep *report.Report) {
	s := rep.Stragglers
	if s == nil {
		return
	}
	d.heading("Stragglers")
	d.para("", "%d slow GPUs make the step %s against %s with every GPU alike: +%.1f%%, %s per step. Each tensor-parallel group runs at its slowest member's pace and every data-parallel replica waits for the slowest at each gradient reduction, so the loss is far larger than the average slowdown; %d data-parallel replicas were replayed.",
		s.SlowGPUs, secs(rep.StepTimeS), secs(s.UniformStepS), 100*s.Slowdown, secs(s.LostPerStepS), s.Replicas)
}

// jobBlocks shows the whole run: the distribution of the time to train and
// where the wall time goes.
func jobBlocks(d *Document, rep *report.Report) {
	j := rep.Job
	if j == nil {
		if rep.TimeToTrainS > 0 {
			d.para("Time to train:", "%s assumes that nothing fails, no checkpoint is written and every GPU runs at full speed; a [job] table in the scenario models failures, checkpoints, restarts and stragglers.", days(rep.TimeToTrainS))
		}
		return
	}
	d.heading("The whole job")
	d.para("", "%d Monte-Carlo runs of the whole training run (seed %d): interruptions arrive at %.2f per day (one every %s), each losing the training since the last checkpoint and a restart of %s; a checkpoint every %s takes %s to write.",
		j.Runs, rep.Seed, j.InterruptionsPerDay, secs(j.JobMTBFS), secs(j.RestartS), secs(j.CheckpointIntervalS), secs(j.CheckpointWriteS))
	t := &Table{Header: []string{"time to train", "days", "95% interval"}, Right: []bool{false, true, true}}
	for _, q := range []struct {
		name string
		v    float64
		ci   [2]float64
	}{{"p50", j.P50S, j.P50CIS}, {"p90", j.P90S, j.P90CIS}, {"p99", j.P99S, j.P99CIS}} {
		t.Rows = append(t.Rows, []string{q.name, fmt.Sprintf("%.2f", q.v/86400), fmt.Sprintf("%.2f – %.2f", q.ci[0]/86400, q.ci[1]/86400)})
	}
	t.Rows = append(t.Rows, []string{"mean", fmt.Sprintf("%.2f", j.MeanS/86400), ""},
		[]string{"no failures, all GPUs alike", fmt.Sprintf("%.2f", j.TrainS/86400), ""})
	d.table(t)
	if h := j.Histogram; len(h.Counts) > 0 && len(h.Edges) == len(h.Counts)+1 {
		labels := make([]string, len(h.Counts))
		values := make([]float64, len(h.Counts))
		for i, c := range h.Counts {
			labels[i] = fmt.Sprintf("%.2f", (h.Edges[i]+h.Edges[i+1])/2/86400)
			values[i] = float64(c)
		}
		d.figure(&Figure{File: "time-to-train.png", Caption: fmt.Sprintf("Time to train over %d runs (days, bin centres)", j.Runs),
			Chart: &Bars{Title: "Time to train", YLabel: "runs", Labels: labels, Values: values}})
	}
	parts := []Segment{
		{"training", j.TrainS, colourTraining},
		{"redone after failures", j.Lost.Failures, colourFailures},
		{"restarts", j.Lost.Restarts, colourRestarts},
		{"checkpoints", j.Lost.Checkpoints, colourCheckpoints},
		{"stragglers", j.Lost.Stragglers, colourStragglers},
	}
	d.figure(&Figure{File: "wall-time.png", Caption: fmt.Sprintf("Where the mean wall time of %s goes", days(j.MeanS)),
		Chart: &StackedBar{Title: "Where the wall time goes", XLabel: "days", Category: "mean run", Segments: scaleSegments(parts, 1/86400.0)}})
	w := &Table{Header: []string{"part", "days", "share of the wall time"}, Right: []bool{false, true, true}}
	for _, s := range parts {
		w.Rows = append(w.Rows, []string{s.Label, fmt.Sprintf("%.2f", s.Value/86400), share(s.Value, j.MeanS)})
	}
	d.table(w)
	d.para("", "Goodput %.1f%%; %.1f interruptions per run. The checkpoint interval that minimises the expected wall time is %s (Young/Daly √(2·write·MTBF): %s).",
		100*j.Goodput, j.Interruptions, secs(j.BestCheckpointIntervalS), secs(j.YoungDalyIntervalS))
}

func scaleSegments(in []Segment, k float64) []Segment {
	out := make([]Segment, len(in))
	for i, s := range in {
		out[i] = s
		out[i].Value = s.Value * k
	}
	return out
}
