package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"trainsim/field"
	"trainsim/job"
	"trainsim/parallelism"
	"trainsim/units"
)

// Whole is the scenario's [job] table: how the whole run fails, checkpoints
// and restarts, around the step the replay times. (The straggler keys of the
// table go to the job's Variation, since the replay plays them.)
type Whole struct {
	// Preset names the failure profile the keys override.
	Preset                      string
	GPUMTBF, NodeMTBF, LinkMTBF units.Seconds
	FatalFraction               float64
	// CheckpointInterval and CheckpointWrite are nil when derived: the
	// best interval, and the checkpoint's bytes over StorageBandwidth.
	CheckpointInterval, CheckpointWrite *units.Seconds
	StorageBandwidth                    units.Bandwidth
	Restart                             units.Seconds
	Runs                                int
	// Ramp lists the batch ramp-up phases, in order, before the run goes
	// on at training.global_batch.
	Ramp []RampPhase
}

// RampPhase is one phase of a batch ramp-up: Tokens trained at GlobalBatch
// sequences per step.
type RampPhase struct {
	GlobalBatch int
	Tokens      float64
}

// ramp is job.ramp: the phases, each given list added to those before it.
func ramp(p *[]RampPhase) *slot[[]RampPhase] {
	s := &slot[[]RampPhase]{k: kindRamp, store: into(p), show: func([]RampPhase) string { return "none" }}
	s.parse = func(v any) ([]RampPhase, error) {
		var list []RampPhase
		if s.got != nil {
			list = *s.got
		}
		err := decodeRamp(v, &list)
		return list, err
	}
	return s
}

// decodeRamp reads job.ramp: an array of tables {global_batch, tokens}.
func decodeRamp(v any, out *[]RampPhase) error {
	rows, err := tableRows(v, "{global_batch, tokens}", "[[job.ramp]] with global_batch, tokens")
	if err != nil {
		return err
	}
	for i, r := range rows {
		var p RampPhase
		for _, key := range sortedKeys(r) {
			val := r[key]
			switch key {
			case "global_batch":
				n, ok := val.(int64)
				if !ok || n < 1 || n > maxCount {
					return fmt.Errorf("entry %d: global_batch: want a positive integer, got %s", i+1, describe(val))
				}
				p.GlobalBatch = int(n)
			case "tokens":
				var x float64
				switch n := val.(type) {
				case int64:
					x = float64(n)
				case float64:
					x = n
				default:
					return fmt.Errorf("entry %d: tokens: want a number, got %s", i+1, describe(val))
				}
				if !(x > 0) || math.IsInf(x, 0) {
					return fmt.Errorf("entry %d: tokens: want a positive, finite number, got %v", i+1, x)
				}
				p.Tokens = x
			default:
				return fmt.Errorf("entry %d: unknown key %q (allowed: global_batch, tokens)", i+1, key)
			}
		}
		if p.GlobalBatch == 0 || p.Tokens == 0 {
			return fmt.Errorf("entry %d: needs global_batch and tokens", i+1)
		}
		*out = append(*out, p)
	}
	return nil
}

// The defaults of the [job] keys that a preset may give.
const (
	defaultRestart          = 600   // 10 min: detection, rescheduling, reload; an assumption
	defaultStorageBandwidth = 100e9 // 100 GB/s: an assumption
	// checkpointBytesPerParam is what a checkpoint holds per parameter:
	// 16-bit weights (2 B) and the fp32 optimizer state, master weights and
	// two Adam moments (12 B).
	checkpointBytesPerParam = 14
)

// wholeBase fills the [job] table's values that the preset or the defaults
// give, before the keys given override them.
func (d *decoder) wholeBase() {
	w := &d.set.whole
	*w = Whole{Restart: defaultRestart, StorageBandwidth: defaultStorageBandwidth}
	if !d.given(keyJobPreset) {
		return
	}
	p, ok := job.PresetByName(d.set.jobPreset)
	if !ok {
		d.unknownPreset(keyJobPreset, "failure profile", d.set.jobPreset, job.PresetNames())
		return
	}
	w.Preset = p.Name
	w.GPUMTBF, w.NodeMTBF, w.LinkMTBF = p.GPUMTBF, p.NodeMTBF, p.LinkMTBF
	if p.Restart > 0 {
		w.Restart = p.Restart
	}
	if p.StorageBandwidth > 0 {
		w.StorageBandwidth = p.StorageBandwidth
	}
}

// hasWhole reports whether the scenario gives any [job] key.
func (d *decoder) hasWhole() bool {
	for _, k := range d.keys {
		if strings.HasPrefix(k.name, "job.") && d.given(k.name) {
			return true
		}
	}
	return false
}

// check returns the problems of w for job j, each naming its key; jobErrs
// are j's own problems (j.Validate), already reported, which a batch
// ramp-up phase's job shares and does not repeat.
func (w *Whole) check(j parallelism.Job, jobErrs []field.Error) []field.Error {
	var errs []field.Error
	for _, f := range []struct {
		key      string
		v, limit units.Seconds
	}{{"job.gpu_mtbf", w.GPUMTBF, maxMTBF}, {"job.node_mtbf", w.NodeMTBF, maxMTBF}, {"job.link_mtbf", w.LinkMTBF, maxMTBF}, {"job.restart", w.Restart, maxJobTime}} {
		if !(f.v >= 0 && f.v <= f.limit) {
			errs = append(errs, field.Errorf(f.key, "must be a time from 0 to %s, got %s", f.limit, f.v))
		}
	}
	if p := w.CheckpointInterval; p != nil && !(*p > 0 && *p <= maxJobTime) {
		errs = append(errs, field.Errorf("job.checkpoint_interval", "must be a time above 0 and at most %s, got %s", maxJobTime, *p))
	}
	if p := w.CheckpointWrite; p != nil && !(*p >= 0 && *p <= maxJobTime) {
		errs = append(errs, field.Errorf("job.checkpoint_write", "must be a time from 0 to %s, got %s", maxJobTime, *p))
	}
	if !(w.StorageBandwidth > 0) || math.IsInf(float64(w.StorageBandwidth), 0) {
		errs = append(errs, field.Errorf("job.storage_bandwidth", "must be positive, got %s", w.StorageBandwidth))
	}
	if !(w.FatalFraction >= 0 && w.FatalFraction <= 1) {
		errs = append(errs, field.Errorf("job.fatal_fraction", "must be a fraction in [0, 1], got %g", w.FatalFraction))
	}
	if w.Runs < 1 || w.Runs > job.MaxRuns {
		errs = append(errs, field.Errorf("job.runs", "must be between 1 and %d, got %d", job.MaxRuns, w.Runs))
	}
	if j.Training.Tokens <= 0 {
		errs = append(errs, field.Errorf("training.tokens", "must be positive when a [job] table asks for the whole run, got %g", j.Training.Tokens).Using("job.runs"))
	}
	ramped := 0.0
	for i, p := range w.Ramp {
		ramped += p.Tokens
		_, perrs := rampJob(j, p).Validate()
		perrs = slices.DeleteFunc(perrs, func(e field.Error) bool {
			return slices.ContainsFunc(jobErrs, func(o field.Error) bool { return o.Field == e.Field && o.Msg == e.Msg })
		})
		if len(perrs) > 0 {
			errs = append(errs, field.Errorf("job.ramp", "entry %d: global_batch %d: %s", i+1, p.GlobalBatch, perrs[0].Error()).Using("training.global_batch"))
		}
	}
	if ramped > j.Training.Tokens {
		errs = append(errs, field.Errorf("job.ramp", "the phases train %.4g tokens, more than training.tokens (%.4g)", ramped, j.Training.Tokens).Using("training.tokens"))
	}
	return errs
}

// maxJobTime bounds the [job] table's times of the run: ten years; maxMTBF
// a part's mean time between failures: 10⁸ hours.
const (
	maxJobTime = units.Seconds(10 * 365 * 86400)
	maxMTBF    = units.Seconds(1e8 * 3600)
)

// config is the whole-run model of w on job j: the parts that fail, their
// rates, and the checkpoint and restart times (the interval and write time
// derived when not given).
func (w *Whole) config(j parallelism.Job, work units.Seconds) job.Config {
	c := job.Config{
		GPUs: j.Cluster.GPUs(), Nodes: j.Cluster.Nodes, Links: j.Cluster.Nodes * j.Cluster.Network.NICsPerNode,
		GPUMTBF: w.GPUMTBF, NodeMTBF: w.NodeMTBF, LinkMTBF: w.LinkMTBF, FatalFraction: w.FatalFraction,
		Restart: w.Restart, Runs: w.Runs,
	}
	c.CheckpointWrite = units.Seconds(float64(j.Model.Params()) * checkpointBytesPerParam / float64(w.StorageBandwidth))
	if w.CheckpointWrite != nil {
		c.CheckpointWrite = *w.CheckpointWrite
	}
	switch {
	case w.CheckpointInterval != nil:
		c.CheckpointInterval = *w.CheckpointInterval
	case c.JobMTBF() > 0:
		c.CheckpointInterval = job.BestInterval(c.CheckpointWrite, c.Restart, c.JobMTBF(), work)
	}
	return c
}

// RunWhole plays the scenario's whole run around the replay res of its job:
// nil when the scenario has no [job] table. The training time is the run's
// tokens at the pace of the step with every GPU alike; stragglers add the
// difference to the replayed step. The Monte Carlo draws from the scenario's
// seed.
func (s *Scenario) RunWhole(res *parallelism.Result) (*job.Result, job.Config, error) {
	if s.Whole == nil {
		return nil, job.Config{}, nil
	}
	j := s.Job
	// train returns the training time of tokens at the pace of replay r,
	// with every GPU alike and with the stragglers' extra.
	train := func(r *parallelism.Result, batch int, tokens float64) (uniform, extra float64) {
		steps := tokens / (float64(batch) * float64(j.Model.SeqLen))
		u := float64(r.StepTime)
		if st := r.Stragglers; st != nil {
			u = st.UniformStep
		}
		return steps * u, steps * (float64(r.StepTime) - u)
	}
	rest := j.Training.Tokens
	var w job.Work
	var ramp float64
	for i, p := range s.Whole.Ramp {
		v, errs := rampJob(j, p).Validate()
		if len(errs) > 0 {
			return nil, job.Config{}, fmt.Errorf("job.ramp: entry %d: %w", i+1, errs[0])
		}
		r, err := parallelism.Simulate(v)
		if err != nil {
			return nil, job.Config{}, fmt.Errorf("job.ramp: entry %d: %w", i+1, err)
		}
		u, x := train(r, p.GlobalBatch, p.Tokens)
		w.Train += units.Seconds(u)
		w.Stragglers += units.Seconds(x)
		ramp += u + x
		rest -= p.Tokens
	}
	u, x := train(res, j.Training.GlobalBatch, rest)
	w.Train += units.Seconds(u)
	w.Stragglers += units.Seconds(x)
	c := s.Whole.config(j, w.Train+w.Stragglers)
	rng := rand.New(rand.NewPCG(s.Seed, 0x10b_5eed))
	out, err := job.Simulate(c, w, rng)
	if err != nil {
		return nil, c, fmt.Errorf("the whole run: %w", err)
	}
	out.Ramp = units.Seconds(ramp)
	return out, c, nil
}

// rampJob is j at the global batch of ramp phase p, one step replayed.
func rampJob(j parallelism.Job, p RampPhase) parallelism.Job {
	j.Training.GlobalBatch = p.GlobalBatch
	j.Training.Steps = 1
	j.Options.Timeline = false
	return j
}
