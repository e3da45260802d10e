package scenario

import (
	"strings"
	"testing"

	"trainsim/job"
	"trainsim/parallelism"
	"trainsim/scenarios"
)

// loadDefault loads the embedded default with sets.
func loadDefault(t testing.TB, sets ...string) *Scenario {
	t.Helper()
	name, src := scenarios.Default()
	sc, err := Load(name, src, sets)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestWholeKeys: a [job] key turns the whole run on; the preset gives its
// rates and restart, keys override it, the rest are the declared defaults;
// the straggler keys reach the replay's Variation and the seed its Options.
func TestWholeKeys(t *testing.T) {
	if sc := loadDefault(t); sc.Whole != nil {
		t.Fatalf("no [job] table, Whole %+v", sc.Whole)
	}
	p, _ := job.PresetByName("llama3-16k")
	sc := loadDefault(t, "job.preset=llama3-16k", "job.node_mtbf=1000h", "job.straggler_fraction=0.01", "job.straggler_slowdown=0.2", "seed=7")
	w := sc.Whole
	if w == nil || w.GPUMTBF != p.GPUMTBF || w.LinkMTBF != p.LinkMTBF || w.NodeMTBF != 1000*3600 || w.Restart != p.Restart || w.StorageBandwidth != p.StorageBandwidth {
		t.Errorf("preset and override: %+v", w)
	}
	if w.Runs != 1000 || w.FatalFraction != 1 || w.CheckpointInterval != nil || w.CheckpointWrite != nil {
		t.Errorf("defaults: %+v", w)
	}
	v := sc.Job.Variation
	if v.SlowFraction != 0.01 || v.Slowdown != 0.2 || sc.Job.Options.Seed != 7 {
		t.Errorf("variation %+v, seed %d", v, sc.Job.Options.Seed)
	}
	d := loadDefault(t, "job.runs=10").Whole
	if d.Restart != defaultRestart || d.StorageBandwidth != defaultStorageBandwidth || d.GPUMTBF != 0 {
		t.Errorf("defaults without a preset: %+v", d)
	}
}

// TestWholeValidation: problems of the [job] table are found by the one
// validation, each naming its key.
func TestWholeValidation(t *testing.T) {
	tests := []struct {
		sets []string
		want string
	}{
		{[]string{"job.straggler_fraction=0.1"}, "job.straggler_slowdown: must be positive when job.straggler_fraction is"},
		{[]string{"job.straggler_fraction=1.5", "job.straggler_slowdown=0.1"}, "job.straggler_fraction: must be a fraction in [0, 1]"},
		{[]string{"job.runs=0"}, "job.runs: must be between 1 and"},
		{[]string{"job.fatal_fraction=2"}, "job.fatal_fraction: must be a fraction"},
		{[]string{"job.gpu_mtbf=1e12h"}, "job.gpu_mtbf: must be a time from 0"},
		{[]string{"job.checkpoint_interval=0s", "job.gpu_mtbf=1000h"}, "job.checkpoint_interval: must be a time above 0"},
		{[]string{"job.storage_bandwidth=0GB/s"}, "job.storage_bandwidth: must be positive"},
		{[]string{"job.runs=5", "training.tokens=0"}, "training.tokens: must be positive when a [job] table"},
	}
	for _, tc := range tests {
		sc := loadDefault(t, tc.sets...)
		_, err := sc.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.sets, err, tc.want)
		}
	}
}

func runWhole(t testing.TB, sets ...string) *job.Result {
	t.Helper()
	sc := loadDefault(t, sets...)
	v, err := sc.Validate()
	if err != nil {
		t.Fatal(err)
	}
	res, err := parallelism.Simulate(v)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := sc.RunWhole(res)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunWhole: the whole run of the default with the figures —
// goodput in (0, 1), quantiles in order, about 1024 / 50,000 h × the run's
// length in interruptions, the same seed the same result and another seed
// other quantiles; the checkpoint interval derived when not given.
func TestRunWhole(t *testing.T) {
	sets := []string{"job.gpu_mtbf=50000h", "job.checkpoint_interval=30min", "job.checkpoint_write=60s", "job.restart=10min", "job.runs=200"}
	a := runWhole(t, sets...)
	b := runWhole(t, sets...)
	c := runWhole(t, append(sets, "seed=2")...)
	if !(a.Goodput > 0 && a.Goodput < 1) {
		t.Errorf("goodput %g", a.Goodput)
	}
	q := a.Quantiles
	if !(q[0].Value <= q[1].Value && q[1].Value <= q[2].Value) {
		t.Errorf("quantiles %v", q)
	}
	if a.Quantiles[0] != b.Quantiles[0] || a.Quantiles[2] != b.Quantiles[2] {
		t.Error("same seed, different quantiles")
	}
	if a.Quantiles[0].Value == c.Quantiles[0].Value {
		t.Error("seeds 1 and 2 gave the same p50")
	}
	want := float64(a.Mean) * 1024 / (50000 * 3600)
	if a.Interruptions < 0.9*want || a.Interruptions > 1.1*want {
		t.Errorf("%.1f interruptions per run, want about %.1f", a.Interruptions, want)
	}
	d := runWhole(t, "job.gpu_mtbf=50000h", "job.checkpoint_write=60s", "job.runs=50")
	if d.BestInterval <= 0 {
		t.Errorf("no best interval: %+v", d)
	}
}

// BenchmarkDefaultWholeJob: the default scenario with a [job] table of 1000
// runs, from loading to the whole run (run with -cpu 1).
func BenchmarkDefaultWholeJob(b *testing.B) {
	name, src := scenarios.Default()
	sets := []string{"job.gpu_mtbf=50000h", "job.checkpoint_interval=30min", "job.checkpoint_write=60s", "job.restart=10min", "job.runs=1000"}
	for i := 0; i < b.N; i++ {
		sc, err := Load(name, src, sets)
		if err != nil {
			b.Fatal(err)
		}
		v, err := sc.Validate()
		if err != nil {
			b.Fatal(err)
		}
		res, err := parallelism.Simulate(v)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := sc.RunWhole(res); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRamp: a batch ramp-up replays each phase at its batch; smaller batches
// have a larger pipeline bubble, so the ramped run trains longer than the
// same tokens at the full batch; a phase whose batch the layout cannot take,
// or phases of more tokens than the run, are refused naming job.ramp.
func TestRamp(t *testing.T) {
	plain := runWhole(t, "job.runs=5")
	ramped := runWhole(t, "job.runs=5", `job.ramp=[{global_batch = 128, tokens = 4e9}, {global_batch = 512, tokens = 8e9}]`)
	if !(ramped.Ramp > 0 && ramped.Train > plain.Train) {
		t.Errorf("ramp %v, train %v vs %v without", ramped.Ramp, ramped.Train, plain.Train)
	}
	// The phases at the full batch's pace would take 12e9/300e9 of the run.
	if full := plain.Train * 12 / 300; !(ramped.Ramp > full) {
		t.Errorf("ramp phases %v, no slower than the full batch's %v", ramped.Ramp, full)
	}
	for _, tc := range []struct{ set, want string }{
		{`job.ramp=[{global_batch = 100, tokens = 1e9}]`, "job.ramp: entry 1: global_batch 100: training.global_batch: 100 is not divisible by dp × microbatch"},
		{`job.ramp=[{global_batch = 128, tokens = 4e11}]`, "job.ramp: the phases train 4e+11 tokens, more than training.tokens"},
		{`job.ramp=[{global_batch = 128}]`, "job.ramp: entry 1: needs global_batch and tokens"},
	} {
		name, src := scenarios.Default()
		sc, err := Load(name, src, []string{tc.set})
		if err == nil {
			_, err = sc.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.set, err, tc.want)
		}
	}
}

// TestSoftwareStack: a stack sets the keys it bundles unless the scenario
// gives them; an unknown stack is refused with the names allowed.
func TestSoftwareStack(t *testing.T) {
	sc := loadDefault(t, "software.stack=nemo-24.07", "parallelism.zero=0")
	l, tr := sc.Job.Layout, sc.Job.Training
	// The default scenario writes recompute, overlap_grad_reduce,
	// pp_overlap, pp_scatter_gather, attention, grad_accum_fusion and
	// fp32_grads itself: those stay as written; tp_overlap comes from the
	// stack, zero from --set.
	if l.Recompute != "full" || !l.TPOverlap || l.OverlapGradReduce || l.ZeRO != 0 || tr.Attention != "unfused" {
		t.Errorf("layout %+v, training %+v", l, tr)
	}
	if l.PPOverlap || tr.Grads16 != true {
		t.Errorf("keys the file gives were overridden: pp_overlap %v, 16-bit grads %v", l.PPOverlap, tr.Grads16)
	}
	name, _ := scenarios.Default()
	src := []byte("[model]\npreset = \"gpt3-13b\"\n[cluster]\nsystem = \"dgx-h100\"\nnodes = 4\n[parallelism]\ntp = 4\n[training]\nglobal_batch = 64\n[software]\nstack = \"nemo-24.07\"\n")
	sc, err := Load(name, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Stack != "nemo-24.07" {
		t.Errorf("Scenario.Stack = %q, want the stack named (the report echoes it)", sc.Stack)
	}
	if def := loadDefault(t); def.Stack != "" {
		t.Errorf("no stack named: Scenario.Stack = %q", def.Stack)
	}
	// NeMo 24.07: no recomputation, 16-bit gradient reduction (grad_sync_dtype bf16).
	if l := sc.Job.Layout; l.Recompute != "none" || l.ZeRO != 1 || !l.PPOverlap || !l.NoPPScatterGather || !sc.Job.Training.Grads16 {
		t.Errorf("nemo stack on a bare scenario: %+v, 16-bit grads %v", l, sc.Job.Training.Grads16)
	}
	if _, err := Load(name, src, []string{"software.stack=nemo"}); err == nil || !strings.Contains(err.Error(), "no built-in software stack called \"nemo\"") {
		t.Errorf("unknown stack: %v", err)
	}
}
