package parallelism

import (
	"strings"
	"testing"

	"trainsim/compute"
	"trainsim/units"
)

// TestCalibrationOver merges a calibration file under a scenario's own keys:
// each key the scenario sets wins, each it leaves unset comes from the file,
// and a scenario's list of measured GEMMs replaces the file's.
func TestCalibrationOver(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	sms := 12
	over := units.Seconds(5e-6)
	nic := units.Bandwidth(23e9)
	file := Calibration{
		GEMMPeakFraction: f(0.7), HBMFraction: f(0.8), KernelOverhead: &over, NICBusBandwidth: &nic,
		GEMMs: []compute.MeasuredGEMM{{Batch: 1, M: 1, N: 1, K: 1, Rate: 1e12}, {Batch: 1, M: 2, N: 2, K: 2, Rate: 1e12}},
	}
	scen := Calibration{GEMMPeakFraction: f(0.75), CommSMs: &sms, File: "site.toml",
		GEMMs: []compute.MeasuredGEMM{{Batch: 1, M: 3, N: 3, K: 3, Rate: 2e12}}}
	got := scen.Over(file)
	if *got.GEMMPeakFraction != 0.75 || *got.HBMFraction != 0.8 || *got.CommSMs != 12 ||
		*got.KernelOverhead != over || *got.NICBusBandwidth != nic || got.FlashFraction != nil ||
		got.NVLinkBusBandwidth != nil || len(got.GEMMs) != 1 || got.GEMMs[0].M != 3 || got.File != "site.toml" {
		t.Fatalf("merged %+v", got)
	}
	if g := (Calibration{}).Over(file); len(g.GEMMs) != 2 || *g.GEMMPeakFraction != 0.7 {
		t.Fatalf("empty scenario over file: %+v", g)
	}
	if (Calibration{File: "x"}).Set() || !got.Set() {
		t.Fatal("Set: a file name alone is no calibration; merged values are")
	}
}

// TestReplayTooLarge refuses a job whose task graph would not fit in memory,
// before allocating it: Validate names the key, and Simulate returns an
// error instead of running out of memory. Sizes that would overflow an int
// product are estimated in floating point.
func TestReplayTooLarge(t *testing.T) {
	j := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	if n := j.ReplayTasks(); n <= 0 || n > MaxReplayTasks {
		t.Fatalf("default job: %.3g tasks", n)
	}
	for _, tc := range []struct {
		name  string
		set   func(*Job)
		key   string
		tasks float64
	}{
		{"global batch", func(j *Job) { j.Training.GlobalBatch = 100_000_000 }, "training.global_batch", 1e10},
		// Every replica replayed: no periodic replay of steps, all of
		// them count.
		{"steps, full ranks", func(j *Job) { j.Training.Steps = 200; j.Options.Ranks = RanksFull }, "training.steps", 1e8},
		// GPUs of varied speeds: the replicas may fall into classes,
		// so the periodic replay is not counted on.
		{"steps, variation", func(j *Job) { j.Training.Steps = 1000; j.Variation.Spread = 0.05 }, "training.steps", 1e8},
		{"overflow", func(j *Job) { j.Training.GlobalBatch = 1 << 62; j.Training.Steps = 1 << 30 }, "training.steps", 1e25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			big := j
			tc.set(&big)
			if n := big.ReplayTasks(); !(n > tc.tasks) {
				t.Fatalf("estimate %.3g, want above %.3g", n, tc.tasks)
			}
			found := false
			for _, err := range problems(big) {
				found = found || strings.HasPrefix(err.Error(), tc.key+": the replay would unroll")
			}
			if !found {
				t.Fatalf("Validate: %v, want a %s size error", problems(big), tc.key)
			}
			if _, err := simulateJob(big); err == nil || !strings.Contains(err.Error(), "more than the") {
				t.Fatalf("Simulate: %v", err)
			}
		})
	}
}
