package job

import (
	"math"
	"math/rand/v2"
	"testing"

	"trainsim/units"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// defaultConfig is the 1024-GPU default with the example figures.
func defaultConfig() Config {
	return Config{GPUs: 1024, GPUMTBF: 50000 * hour, FatalFraction: 1,
		CheckpointInterval: 30 * 60, CheckpointWrite: 60, Restart: 600, Runs: 200}
}

// TestNoFailures: without failures the wall time is the training plus one
// checkpoint per interval (the last saving the model), exactly.
func TestNoFailures(t *testing.T) {
	tests := []struct {
		train, tau, delta float64
		ckpts             int
	}{
		{3600, 600, 10, 6},
		{3700, 600, 10, 7}, // a short last segment still ends with a checkpoint
		{100, 600, 5, 1},
	}
	for _, tc := range tests {
		c := Config{FatalFraction: 1, CheckpointInterval: units.Seconds(tc.tau), CheckpointWrite: units.Seconds(tc.delta), Runs: 3}
		r, err := Simulate(c, Work{Train: units.Seconds(tc.train)}, rng(1))
		if err != nil {
			t.Fatal(err)
		}
		want := tc.train + float64(tc.ckpts)*tc.delta
		if math.Abs(float64(r.Mean)-want) > 1e-9 || r.Interruptions != 0 {
			t.Errorf("train %g τ %g δ %g: wall %v, %g interruptions; want %g s, 0", tc.train, tc.tau, tc.delta, r.Mean, r.Interruptions, want)
		}
		if g := float64(r.Lost.Checkpoints) + tc.train; math.Abs(g-want) > 1e-9 {
			t.Errorf("lost checkpoints %v, want %g", r.Lost.Checkpoints, want-tc.train)
		}
	}
}

// TestMeanMatchesDaly: the Monte Carlo's mean wall time agrees with Daly's
// closed-form expected time (a second way to the same number) within four
// standard errors, over regimes from rare to frequent interruptions.
func TestMeanMatchesDaly(t *testing.T) {
	tests := []struct {
		mtbf, tau, delta, restart float64
		intervals                 int
	}{
		{10 * hour, 1 * hour, 60, 600, 200},
		{2 * hour, 1800, 120, 300, 400},
		{1800, 900, 60, 120, 400}, // an interruption every half hour
	}
	for _, tc := range tests {
		c := Config{GPUs: 1, GPUMTBF: units.Seconds(tc.mtbf), FatalFraction: 1, CheckpointInterval: units.Seconds(tc.tau),
			CheckpointWrite: units.Seconds(tc.delta), Restart: units.Seconds(tc.restart), Runs: 4000}
		work := units.Seconds(float64(tc.intervals) * tc.tau)
		r, err := Simulate(c, Work{Train: work}, rng(7))
		if err != nil {
			t.Fatal(err)
		}
		want := float64(ExpectedWall(work, c.CheckpointInterval, c.CheckpointWrite, c.Restart, c.GPUMTBF))
		var v float64
		for _, s := range r.Samples {
			d := float64(s) - float64(r.Mean)
			v += d * d
		}
		se := math.Sqrt(v/float64(len(r.Samples)-1)) / math.Sqrt(float64(len(r.Samples)))
		if math.Abs(float64(r.Mean)-want) > 4*se {
			t.Errorf("M %g τ %g: Monte-Carlo mean %.0f s, Daly %.0f s (±%.0f)", tc.mtbf, tc.tau, float64(r.Mean), want, se)
		}
		// The parts add up to the wall time.
		parts := float64(work + r.Lost.Failures + r.Lost.Restarts + r.Lost.Checkpoints)
		if math.Abs(parts/float64(r.Mean)-1) > 1e-9 {
			t.Errorf("M %g: train + lost = %.1f s, mean wall %.1f s", tc.mtbf, parts, float64(r.Mean))
		}
	}
}

// TestBestInterval: the interval that minimises the expected wall time is
// Daly's higher-order optimum √(2δM)·(1 + √(δ/2M)/3 + δ/9M) − δ (Daly 2006,
// Eq. 37, for δ < 2M), and close to Young's √(2δM) when δ ≪ M.
func TestBestInterval(t *testing.T) {
	tests := []struct{ delta, mtbf float64 }{
		{60, 50000 * hour / 1024},
		{300, 10 * hour},
		{30, 3 * hour},
	}
	for _, tc := range tests {
		got := float64(BestInterval(units.Seconds(tc.delta), 600, units.Seconds(tc.mtbf), 1e9))
		young := math.Sqrt(2 * tc.delta * tc.mtbf)
		daly := young*(1+math.Sqrt(tc.delta/(2*tc.mtbf))/3+tc.delta/(9*tc.mtbf)) - tc.delta
		if math.Abs(got/daly-1) > 2e-3 {
			t.Errorf("δ %g M %g: best %.1f s, Daly's optimum %.1f s", tc.delta, tc.mtbf, got, daly)
		}
		if math.Abs(got/young-1) > 0.05 {
			t.Errorf("δ %g M %g: best %.1f s, Young %.1f s", tc.delta, tc.mtbf, got, young)
		}
	}
	// Simulate reports both.
	r, err := Simulate(defaultConfig(), Work{Train: 30 * 86400}, rng(1))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(r.BestInterval/r.YoungDaly)-1) > 0.02 {
		t.Errorf("best %v vs Young/Daly %v", r.BestInterval, r.YoungDaly)
	}
}

// TestDeterminism: the same seed gives the same result; another seed other
// quantiles.
func TestDeterminism(t *testing.T) {
	c := defaultConfig()
	w := Work{Train: 33.5 * 86400}
	a, _ := Simulate(c, w, rng(1))
	b, _ := Simulate(c, w, rng(1))
	d, _ := Simulate(c, w, rng(2))
	for i := range a.Quantiles {
		if a.Quantiles[i] != b.Quantiles[i] {
			t.Errorf("same seed, quantile %d: %v vs %v", i, a.Quantiles[i], b.Quantiles[i])
		}
	}
	if a.Quantiles[0].Value == d.Quantiles[0].Value && a.Quantiles[1].Value == d.Quantiles[1].Value {
		t.Errorf("seeds 1 and 2 gave the same p50 and p90")
	}
}

// TestQuantiles: p50 ≤ p90 ≤ p99, each inside its interval, goodput in (0, 1).
func TestQuantiles(t *testing.T) {
	r, err := Simulate(defaultConfig(), Work{Train: 33.5 * 86400, Stragglers: 3600}, rng(3))
	if err != nil {
		t.Fatal(err)
	}
	q := r.Quantiles
	if !(q[0].Value <= q[1].Value && q[1].Value <= q[2].Value) {
		t.Errorf("quantiles out of order: %v", q)
	}
	for _, x := range q {
		if !(x.Lo <= x.Value && x.Value <= x.Hi) {
			t.Errorf("p%g %v outside its interval [%v, %v]", 100*x.P, x.Value, x.Lo, x.Hi)
		}
	}
	if !(r.Goodput > 0 && r.Goodput < 1) {
		t.Errorf("goodput %g", r.Goodput)
	}
	if r.Lost.Stragglers != 3600 {
		t.Errorf("straggler loss %v, want 3600 s", r.Lost.Stragglers)
	}
}

// TestInterruptionRate: the interruptions counted over a run match the rate
// of the parts' failures: 16,384 GPUs at an MTBF giving Llama 3's 419
// unexpected interruptions in 54 days (Dubey et al. 2024, Table 5) see about
// that many over 54 days of wall time.
func TestInterruptionRate(t *testing.T) {
	days := 54.0
	mtbf := 16384 * days * 24 * hour / 419
	c := Config{GPUs: 16384, GPUMTBF: units.Seconds(mtbf), FatalFraction: 1, CheckpointInterval: 300, CheckpointWrite: 0, Restart: 0, Runs: 400}
	r, err := Simulate(c, Work{Train: units.Seconds(days * 86400)}, rng(5))
	if err != nil {
		t.Fatal(err)
	}
	// With no restart or write time, wall time ≈ training + redone work;
	// the count follows the rate over the wall time.
	want := float64(r.Mean) * r.Rate
	if math.Abs(r.Interruptions/want-1) > 0.02 {
		t.Errorf("%.1f interruptions per run, rate × wall = %.1f", r.Interruptions, want)
	}
	if r.Interruptions < 419 || r.Interruptions > 419*1.05 {
		t.Errorf("%.1f interruptions, want about 419 (a little more: redone work lengthens the run)", r.Interruptions)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Runs = 0 }, "job.runs"},
		{func(c *Config) { c.FatalFraction = 1.5 }, "job.fatal_fraction"},
		{func(c *Config) { c.CheckpointInterval = 0 }, "job.checkpoint_interval"},
		{func(c *Config) { c.Restart = units.Seconds(math.Inf(1)) }, "job.restart"},
		{func(c *Config) { c.GPUMTBF = -1 }, "job.gpu_mtbf"},
	}
	for _, tc := range tests {
		c := defaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v", tc.want, err)
		}
	}
}

// TestNeverFinishes: a job interrupted far faster than its checkpoint
// interval is reported, not looped forever.
func TestNeverFinishes(t *testing.T) {
	c := Config{GPUs: 1, GPUMTBF: 1, FatalFraction: 1, CheckpointInterval: 3600, Restart: 1, Runs: 1}
	if _, err := Simulate(c, Work{Train: 86400}, rng(1)); err == nil {
		t.Error("no error for a job that cannot progress")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// BenchmarkSimulate1000: the default's whole run, 1000 replicas.
func BenchmarkSimulate1000(b *testing.B) {
	c := defaultConfig()
	c.Runs = 1000
	for i := 0; i < b.N; i++ {
		if _, err := Simulate(c, Work{Train: 33.5 * 86400}, rng(1)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLlama3Preset: on Llama 3's cluster (16,384 GPUs, 2,048 nodes, a link
// per GPU) the preset's rates give 419 interruptions in 54 days, the figure
// they were derived from (Dubey et al. 2024, Table 5).
func TestLlama3Preset(t *testing.T) {
	p, ok := PresetByName("llama3-16k")
	if !ok {
		t.Fatal("no llama3-16k preset")
	}
	c := Config{GPUs: 16384, Nodes: 2048, Links: 16384, GPUMTBF: p.GPUMTBF, NodeMTBF: p.NodeMTBF, LinkMTBF: p.LinkMTBF, FatalFraction: 1}
	got := 54 * 86400 / float64(c.JobMTBF())
	if math.Abs(got-419) > 0.5 {
		t.Errorf("%.2f interruptions in 54 days, want 419", got)
	}
}

// TestWorkBudget: a whole run expected to be interrupted more often than one
// simulation plays is refused at once with the estimate, not played for
// minutes.
func TestWorkBudget(t *testing.T) {
	c := Config{GPUs: 1024, GPUMTBF: 3600, FatalFraction: 1, CheckpointInterval: 1800, CheckpointWrite: 60, Restart: 600, Runs: 1000}
	_, err := Simulate(c, Work{Train: 30 * 86400}, rng(1))
	if err == nil || !contains(err.Error(), "interruptions over 1000 runs") || !contains(err.Error(), "job.gpu_mtbf") {
		t.Errorf("error %v", err)
	}
	// A run whose expected wall time overflows: no "+Inf" in the message.
	c.GPUMTBF, c.CheckpointWrite = 1, 1e6
	_, err = Simulate(c, Work{Train: 30 * 86400}, rng(1))
	if err == nil || !contains(err.Error(), "unboundedly many interruptions") || contains(err.Error(), "Inf") {
		t.Errorf("overflowing run: error %v", err)
	}
}

// TestCheckpointBudget: a checkpoint interval far shorter than the run
// (with or without failures; the best interval of a free checkpoint write
// is about a millionth of the MTBF) is refused at once, naming the key,
// instead of playing billions of checkpoints; an ordinary interval is not.
func TestCheckpointBudget(t *testing.T) {
	train := units.Seconds(34 * 86400)
	tests := []struct {
		name    string
		c       Config
		refused bool
	}{
		{"1 ms, no failures", Config{FatalFraction: 1, CheckpointInterval: 1e-3, Runs: 1}, true},
		{"1 ms, failures", Config{GPUs: 1024, GPUMTBF: 50000 * hour, FatalFraction: 1, CheckpointInterval: 1e-3, Restart: 600, Runs: 10}, true},
		{"best interval of a free write", Config{GPUs: 16384, GPUMTBF: 79230 * hour, FatalFraction: 1, CheckpointInterval: BestInterval(0, 600, 79230*hour/16384, train), Restart: 600, Runs: 1000}, true},
		{"30 min, 1000 runs", Config{GPUs: 1024, GPUMTBF: 50000 * hour, FatalFraction: 1, CheckpointInterval: 1800, CheckpointWrite: 60, Restart: 600, Runs: 1000}, false},
		{"1 s, no failures, 1 run", Config{FatalFraction: 1, CheckpointInterval: 1, CheckpointWrite: 0, Runs: 1}, false},
	}
	for _, tc := range tests {
		_, err := Simulate(tc.c, Work{Train: train}, rng(1))
		switch {
		case tc.refused && (err == nil || !contains(err.Error(), "job.checkpoint_interval: a checkpoint every")):
			t.Errorf("%s: want a refusal naming job.checkpoint_interval, got %v", tc.name, err)
		case !tc.refused && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
