package report

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"trainsim/job"
	"trainsim/parallelism"
)

// TestJobSection: a report with a whole-run Monte Carlo and stragglers
// carries the job object (quantiles in order, goodput in (0, 1), a histogram
// of every run), the stragglers object, their CSV columns and text lines.
func TestJobSection(t *testing.T) {
	j := testJob(t)
	j.Variation = parallelism.Variation{SlowFraction: 0.1, Slowdown: 0.25}
	j.Options.Seed = 2
	res := replayed(t, j)
	cfg := job.Config{GPUs: 32, GPUMTBF: 2000 * 3600, FatalFraction: 1, CheckpointInterval: 1800, CheckpointWrite: 30, Restart: 300, Runs: 300}
	whole, err := job.Simulate(cfg, job.Work{Train: 30 * 86400, Stragglers: 86400}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(Input{Name: "t", Seed: 2, Job: j, Whole: whole, WholeConfig: cfg}, res)
	if err != nil {
		t.Fatal(err)
	}
	jb := rep.Job
	if jb == nil || !(jb.P50S <= jb.P90S && jb.P90S <= jb.P99S) || !(jb.Goodput > 0 && jb.Goodput < 1) {
		t.Fatalf("job %+v", jb)
	}
	total := 0
	for _, c := range jb.Histogram.Counts {
		total += c
	}
	if total != cfg.Runs || len(jb.Histogram.Edges) != len(jb.Histogram.Counts)+1 {
		t.Errorf("histogram holds %d of %d runs, %d edges for %d bins", total, cfg.Runs, len(jb.Histogram.Edges), len(jb.Histogram.Counts))
	}
	s := rep.Stragglers
	if s == nil || s.SlowGPUs != 3 || s.Slowdown <= 0 || s.LostPerStepS <= 0 {
		t.Errorf("stragglers %+v", s)
	}
	var got map[string]any
	decodeJSON(t, rep, &got)
	obj, _ := got["job"].(map[string]any)
	for _, k := range []string{"p50_s", "p90_s", "p99_s", "goodput", "interruptions", "lost_s", "best_checkpoint_interval_s"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("job.%s missing", k)
		}
	}
	lost, _ := obj["lost_s"].(map[string]any)
	for _, k := range []string{"failures", "restarts", "checkpoints", "stragglers"} {
		if _, ok := lost[k]; !ok {
			t.Errorf("job.lost_s.%s missing", k)
		}
	}
	var text, csv bytes.Buffer
	if err := WriteText(&text, rep, j); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Whole job", "goodput", "best checkpoint interval", "Stragglers       3 slow GPUs"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text lacks %q:\n%s", w, text.String())
		}
	}
	if strings.Contains(text.String(), "assumes no failure") {
		t.Error("text says time-to-train assumes no failure although a [job] was modelled")
	}
	if err := WriteCSV(&csv, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	head, row := strings.Split(lines[0], ","), strings.Split(lines[1], ",")
	for i, h := range head {
		if (strings.HasPrefix(h, "job_") || h == "goodput" || h == "straggler_slowdown") && row[i] == "" {
			t.Errorf("CSV column %s empty", h)
		}
	}
}
