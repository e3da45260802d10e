package job

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"trainsim/units"
)

// Config is how the whole run fails, checkpoints and restarts. Zero MTBFs
// mean that part never fails.
type Config struct {
	// GPUs, Nodes and Links count the parts that fail.
	GPUs, Nodes, Links int
	// GPUMTBF, NodeMTBF and LinkMTBF are each part's mean time between
	// failures.
	GPUMTBF, NodeMTBF, LinkMTBF units.Seconds
	// FatalFraction is the share of failures that interrupt the job (the
	// rest are absorbed: a retried transfer, a corrected memory error).
	FatalFraction float64
	// CheckpointInterval is the training time between two checkpoints;
	// CheckpointWrite how long writing one stops training.
	CheckpointInterval, CheckpointWrite units.Seconds
	// Restart is the time from an interruption to training again:
	// detection, rescheduling, reloading the last checkpoint.
	Restart units.Seconds
	// Runs is the number of Monte-Carlo replicas of the whole run.
	Runs int
}

// Work is what the run must do: the training time without interruptions,
// at the pace the replay found, and how much of it stragglers cost.
type Work struct {
	// Train is the training time of the whole run with no failure, no
	// checkpoint and every GPU at full speed.
	Train units.Seconds
	// Stragglers is the extra training time slow GPUs and links add over the
	// whole run (zero without them).
	Stragglers units.Seconds
}

// Lost splits the wall time that is not useful training, per run on average.
type Lost struct {
	// Failures is training redone after interruptions: the work since the
	// last checkpoint (and a checkpoint write cut short).
	Failures units.Seconds
	// Restarts is time spent restarting, including restarts that were
	// themselves interrupted.
	Restarts units.Seconds
	// Checkpoints is time spent writing checkpoints that completed.
	Checkpoints units.Seconds
	// Stragglers is the training time slow GPUs and links added.
	Stragglers units.Seconds
}

// Quantile is one quantile of the time to train with a distribution-free
// 95% confidence interval from the order statistics of the runs.
type Quantile struct {
	P      float64
	Value  units.Seconds
	Lo, Hi units.Seconds
}

// Result is the whole run's Monte Carlo.
type Result struct {
	Runs int
	// Mean and quantiles (p50, p90, p99) of the wall time from start to the
	// end of training.
	Mean      units.Seconds
	Quantiles []Quantile
	// Goodput is useful training time (Work.Train) over the mean wall time.
	Goodput float64
	// Interruptions is the mean number of interruptions per run; Rate the
	// job's interruption rate (per second of wall time).
	Interruptions float64
	Rate          float64
	// Lost is the mean of each kind of lost time.
	Lost Lost
	// BestInterval is the checkpoint interval that minimises the expected
	// wall time (Daly 2006's expected-time model, minimised numerically);
	// YoungDaly its first-order approximation √(2·δ·M) (Young 1974).
	BestInterval, YoungDaly units.Seconds
	// Samples are every run's wall time, sorted, for charts.
	Samples []units.Seconds
	// Train is the useful training time simulated (Work.Train).
	Train units.Seconds
	// Ramp is the training time of a batch ramp-up at the start of the run
	// (part of Work.Train; set by the caller, which replays the phases).
	Ramp units.Seconds
}

// JobMTBF is the mean time between interruptions of the whole job: the
// failure rates of every part add up (independent exponential failures),
// times the share that interrupts the job. Zero when nothing fails.
func (c Config) JobMTBF() units.Seconds {
	rate := c.rate()
	if rate <= 0 {
		return 0
	}
	return units.Seconds(1 / rate)
}

func (c Config) rate() float64 {
	r := 0.0
	for _, p := range []struct {
		n    int
		mtbf units.Seconds
	}{{c.GPUs, c.GPUMTBF}, {c.Nodes, c.NodeMTBF}, {c.Links, c.LinkMTBF}} {
		if p.mtbf > 0 && p.n > 0 {
			r += float64(p.n) / float64(p.mtbf)
		}
	}
	return r * c.FatalFraction
}

// Validate checks c, naming the scenario key of each problem.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		key string
		v   units.Seconds
	}{{"job.gpu_mtbf", c.GPUMTBF}, {"job.node_mtbf", c.NodeMTBF}, {"job.link_mtbf", c.LinkMTBF},
		{"job.checkpoint_interval", c.CheckpointInterval}, {"job.checkpoint_write", c.CheckpointWrite}, {"job.restart", c.Restart}} {
		if !(f.v >= 0) || math.IsInf(float64(f.v), 0) {
			errs = append(errs, fmt.Errorf("%s: must be a finite, non-negative time, got %v", f.key, float64(f.v)))
		}
	}
	if !(c.FatalFraction >= 0 && c.FatalFraction <= 1) {
		errs = append(errs, fmt.Errorf("job.fatal_fraction: must be a fraction in [0, 1], got %g", c.FatalFraction))
	}
	if c.Runs < 1 || c.Runs > MaxRuns {
		errs = append(errs, fmt.Errorf("job.runs: must be between 1 and %d, got %d", MaxRuns, c.Runs))
	}
	if c.rate() > 0 && c.CheckpointInterval <= 0 {
		errs = append(errs, errors.New("job.checkpoint_interval: must be positive when failures are modelled"))
	}
	return errors.Join(errs...)
}

// MaxRuns bounds job.runs.
const MaxRuns = 1_000_000

// maxEvents bounds the interruptions one Simulate plays over all its runs
// (about a second of work per ten million).
const maxEvents = 5e7

// maxCheckpoints bounds the checkpoints one Simulate plays over all its
// runs: about a second of work per hundred million (measured: Llama 3's
// scenario with a 1 ms write, 9.3e8 checkpoints over its 1000 runs, 9.9 s).
const maxCheckpoints = 2e8

// days shows a wall time in days, or says that it has no end.
func days(s float64) string {
	if math.IsInf(s, 0) || math.IsNaN(s) || s > 1e15 {
		return "no foreseeable end"
	}
	return fmt.Sprintf("%.3g days", s/86400)
}

// maxInterruptions bounds one run's interruptions: a job that fails faster
// than it can checkpoint would never finish, and is reported as such.
const maxInterruptions = 1_000_000

// ErrNeverFinishes is returned when a run is interrupted more than
// maxInterruptions times: failures come too fast for the job to progress.
var ErrNeverFinishes = errors.New("the job is interrupted faster than it can make progress")

// Simulate runs c.Runs replicas of the whole run of w, drawing failures from
// rng, and summarises them. The model: interruptions arrive as a Poisson
// process of rate 1/JobMTBF over wall time, during training, checkpoint
// writes and restarts alike; an interruption loses the training since the
// last completed checkpoint and costs a restart; a checkpoint is written
// after every CheckpointInterval of training and at the end. These
// are the assumptions of Daly's expected-time model, which a test checks the
// mean against.
func Simulate(c Config, w Work, rng *rand.Rand) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !(w.Train >= 0) || !(w.Stragglers >= 0) {
		return nil, fmt.Errorf("job: training time must be non-negative, got %v + %v", w.Train, w.Stragglers)
	}
	rate := c.rate()
	res := &Result{Runs: c.Runs, Rate: rate, Train: w.Train}
	work := float64(w.Train + w.Stragglers)
	wall := work // a run's expected wall time, at least its training
	if rate > 0 && work > 0 {
		// Daly's expected wall time bounds the work up front: a run
		// expected to be interrupted more often than the budget allows
		// would take too long to play (or never end).
		m := 1 / rate
		tau := math.Min(float64(c.CheckpointInterval), work)
		wall = float64(ExpectedWall(units.Seconds(work), units.Seconds(tau), c.CheckpointWrite, c.Restart, units.Seconds(m)))
		if n := wall / m * float64(c.Runs); !(n <= maxEvents) {
			about := fmt.Sprintf("about %.3g", n)
			if math.IsInf(n, 0) || math.IsNaN(n) {
				about = "unboundedly many" // was "about +Inf"
			}
			return nil, fmt.Errorf("%w: %s interruptions over %d runs (a run expected to last %s at one every %s), more than the %g one simulation plays; fewer job.runs, longer MTBFs (job.gpu_mtbf, job.node_mtbf, job.link_mtbf), or a cheaper or more frequent checkpoint (job.checkpoint_write, job.checkpoint_interval)", ErrNeverFinishes, about, c.Runs, days(wall), units.Seconds(m), float64(maxEvents))
		}
	}
	// Each run plays one turn per checkpoint: a checkpoint interval far
	// shorter than the run (job.checkpoint_interval = "1ms", or the best
	// interval for a checkpoint that costs nothing to write) would take
	// hours to play, so the checkpoints are bounded up front too.
	if tau := float64(c.CheckpointInterval); tau > 0 && work > 0 {
		if n := wall / tau * float64(c.Runs); !(n <= maxCheckpoints) {
			return nil, fmt.Errorf("job.checkpoint_interval: a checkpoint every %s over a run of %s is about %.3g checkpoints over %d runs, more than the %g one simulation plays; a longer job.checkpoint_interval (without one, the best interval for job.checkpoint_write, %s here, is used), or fewer job.runs", units.Seconds(tau), days(wall), n, c.Runs, float64(maxCheckpoints), c.CheckpointWrite)
		}
	}
	samples := make([]float64, c.Runs)
	var lost Lost
	var interruptions int
	for r := range samples {
		one, err := c.run(work, rate, rng)
		if err != nil {
			return nil, err
		}
		samples[r] = one.wall
		lost.Failures += units.Seconds(one.redone)
		lost.Restarts += units.Seconds(one.restarting)
		lost.Checkpoints += units.Seconds(one.checkpointing)
		interruptions += one.interruptions
	}
	n := float64(c.Runs)
	res.Lost = Lost{Failures: lost.Failures / units.Seconds(n), Restarts: lost.Restarts / units.Seconds(n),
		Checkpoints: lost.Checkpoints / units.Seconds(n), Stragglers: w.Stragglers}
	res.Interruptions = float64(interruptions) / n
	slices.Sort(samples)
	res.Mean = units.Seconds(stat.Mean(samples, nil))
	if res.Mean > 0 {
		res.Goodput = float64(w.Train / res.Mean)
	}
	for _, p := range []float64{0.5, 0.9, 0.99} {
		res.Quantiles = append(res.Quantiles, quantile(samples, p))
	}
	res.Samples = make([]units.Seconds, len(samples))
	for i, s := range samples {
		res.Samples[i] = units.Seconds(s)
	}
	if m := c.JobMTBF(); m > 0 && c.CheckpointWrite > 0 {
		res.YoungDaly = units.Seconds(math.Sqrt(2 * float64(c.CheckpointWrite) * float64(m)))
		res.BestInterval = BestInterval(c.CheckpointWrite, c.Restart, m, units.Seconds(work))
	}
	return res, nil
}

// quantile returns the p-quantile of sorted (the empirical distribution)
// with a distribution-free 95% interval: the order statistics at
// n·p ∓ z·√(n·p·(1−p)), the normal approximation of the binomial count of
// samples below the quantile.
func quantile(sorted []float64, p float64) Quantile {
	n := float64(len(sorted))
	q := Quantile{P: p, Value: units.Seconds(stat.Quantile(p, stat.Empirical, sorted, nil))}
	z := distuv.UnitNormal.Quantile(0.975)
	half := z * math.Sqrt(n*p*(1-p))
	lo := int(math.Floor(n*p - half))
	hi := int(math.Ceil(n*p + half))
	q.Lo = units.Seconds(sorted[min(max(lo, 0), len(sorted)-1)])
	q.Hi = units.Seconds(sorted[min(max(hi, 0), len(sorted)-1)])
	return q
}

// oneRun is one replica's wall time and where it went.
type oneRun struct {
	wall, redone, restarting, checkpointing float64
	interruptions                           int
}

// run plays one replica: work seconds of training at interruption rate.
func (c Config) run(work, rate float64, rng *rand.Rand) (oneRun, error) {
	var o oneRun
	next := math.Inf(1) // wall time of the next interruption
	draw := func(from float64) float64 {
		if rate <= 0 {
			return math.Inf(1)
		}
		return from + rng.ExpFloat64()/rate
	}
	tau := float64(c.CheckpointInterval)
	if tau <= 0 {
		tau = math.Inf(1)
	}
	delta, restart := float64(c.CheckpointWrite), float64(c.Restart)
	t, done, since := 0.0, 0.0, 0.0 // wall time, training kept, training since the last checkpoint
	next = draw(0)
	interrupt := func(lostWork float64) error {
		o.interruptions++
		if o.interruptions > maxInterruptions {
			return ErrNeverFinishes
		}
		o.redone += lostWork
		done -= since
		since = 0
		// Restart; an interruption during the restart starts it again.
		for {
			next = draw(t)
			if next >= t+restart {
				o.restarting += restart
				t += restart
				return nil
			}
			o.restarting += next - t
			t = next
			o.interruptions++
			if o.interruptions > maxInterruptions {
				return ErrNeverFinishes
			}
		}
	}
	for done < work || since > 0 {
		// Train up to the next checkpoint, or to the end of the work.
		if seg := math.Min(tau-since, work-done); seg > 0 {
			if t+seg > next {
				part := next - t
				t = next
				if err := interrupt(since + part); err != nil {
					return o, err
				}
				continue
			}
			t += seg
			done += seg
			if seg == tau-since {
				since = tau
			} else {
				since += seg
			}
		}
		// Write a checkpoint (the last one saves the trained model); an
		// interruption during the write loses it.
		if t+delta > next {
			part := next - t
			t = next
			if err := interrupt(since + part); err != nil {
				return o, err
			}
			continue
		}
		t += delta
		o.checkpointing += delta
		since = 0
	}
	o.wall = t
	return o, nil
}

// ExpectedWall is Daly's expected wall time (Daly 2006, "A higher order
// estimate of the optimum checkpoint interval for restart dumps", Eq. 12
// with the restart R) of work seconds of training checkpointed every tau
// seconds at a cost delta each, under exponential interruptions of mean
// mtbf: M·e^(R/M)·(e^((τ+δ)/M) − 1)·work/τ, for work a whole number of
// intervals, each followed by a checkpoint.
func ExpectedWall(work, tau, delta, restart, mtbf units.Seconds) units.Seconds {
	M := float64(mtbf)
	return units.Seconds(M * math.Exp(float64(restart)/M) * math.Expm1(float64(tau+delta)/M) * float64(work) / float64(tau))
}

// BestInterval returns the checkpoint interval that minimises ExpectedWall,
// by golden-section search over (0, min(work, 100·mtbf)].
func BestInterval(delta, restart, mtbf, work units.Seconds) units.Seconds {
	f := func(tau float64) float64 {
		return float64(ExpectedWall(work, units.Seconds(tau), delta, restart, mtbf))
	}
	lo, hi := 1e-6*float64(mtbf), math.Max(float64(work), 1e-6*float64(mtbf)*2)
	hi = math.Min(hi, 100*float64(mtbf))
	// Bracket on a log scale first: the objective spans decades.
	best, bestV := lo, f(lo)
	for x := lo; x <= hi; x *= 1.05 {
		if v := f(x); v < bestV {
			best, bestV = x, v
		}
	}
	a, b := best/1.05, best*1.05
	phi := (math.Sqrt(5) - 1) / 2
	for i := 0; i < 100; i++ {
		c1, c2 := b-phi*(b-a), a+phi*(b-a)
		if f(c1) < f(c2) {
			b = c2
		} else {
			a = c1
		}
	}
	return units.Seconds((a + b) / 2)
}
