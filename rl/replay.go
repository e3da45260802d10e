package rl

import (
	"fmt"
	"math"

	"trainsim/sim"
	"trainsim/units"
)

// replay emits OffPolicy + 4 steps as a task graph — a stream per engine
// replica and one for the training pool — runs it on the event engine and
// measures the step and its phases from the last steps.
//
// Each step n: every engine prefills and decodes its responses (one task per
// prefill and per decode segment, and one per segment for its
// tensor-parallel all-reduces); the training pool scores the step's
// responses once every engine is done (a task per scoring model), runs its
// optimizer steps (a task each, the training replay's step time; the
// critic's after the policy's), then the refit. Colocated, generation of
// step n+1 waits for the training pool (the GPUs are the same), with the
// training state offloaded before and onloaded after it. Split, engines
// receive the refit in parallel with the sender, and generation of step n
// waits only for the refit of step n−1−k: with k ≥ 1 it overlaps the
// training of the steps before it.
func (c Config) replay(res *Result, runs []engineRun, scorers []scorer, score []units.Seconds, trainStep, criticStep units.Seconds, refit, swap units.Seconds) error {
	steps := c.OffPolicy + 4
	g := sim.NewGraph(steps * (len(runs)*(3*len(runs[0].Segments)+2) + len(scorers) + 2*res.OptimizerSteps + 4))
	engines := make([]sim.ResourceID, len(runs))
	for r := range engines {
		engines[r] = g.AddResource(fmt.Sprintf("engine %d", r))
	}
	train := g.AddResource("train")
	type stepTasks struct {
		genFirst, genLast []sim.TaskID
		score, training   []sim.TaskID
		refit             sim.TaskID   // on the training pool
		genRefit          []sim.TaskID // split: on each engine
		offload, onload   sim.TaskID
	}
	st := make([]stepTasks, steps)
	add := func(r sim.ResourceID, d units.Seconds, k sim.Kind) sim.TaskID {
		return g.AddTask(r, sim.FromSeconds(float64(d)), k)
	}
	split := c.Placement == Split
	for n := 0; n < steps; n++ {
		s := &st[n]
		// What generation of step n waits for.
		var deps []sim.TaskID
		if !split && n > 0 {
			deps = append(deps, g.Last(train))
		}
		if split {
			if m := n - 1 - c.OffPolicy; m >= 0 {
				deps = append(deps, st[m].genRefit...)
			}
		}
		for r, run := range runs {
			if len(run.Segments) == 0 {
				s.genFirst, s.genLast = append(s.genFirst, sim.None), append(s.genLast, sim.None)
				continue
			}
			first := sim.None
			for i, seg := range run.Segments {
				k := kindDecode
				if seg.Prefill {
					k = kindPrefill
				}
				t := add(engines[r], seg.Cost.Compute, k)
				if i == 0 {
					g.After(t, deps...)
					first = t
				}
				if seg.Cost.Comm > 0 {
					add(engines[r], seg.Cost.Comm, kindGenTP)
				}
				if seg.Cost.Host > 0 {
					add(engines[r], seg.Cost.Host, kindGenHost)
				}
			}
			s.genFirst = append(s.genFirst, first)
			s.genLast = append(s.genLast, g.Last(engines[r]))
		}
		// The training pool: onload, scoring, training, refit, offload.
		s.onload = sim.None
		if swap > 0 {
			s.onload = add(train, swap/2, kindSwap)
			g.After(s.onload, s.genLast...)
		}
		for i := range scorers {
			t := add(train, score[i], kindScore)
			g.After(t, s.genLast...)
			s.score = append(s.score, t)
		}
		for range res.OptimizerSteps {
			s.training = append(s.training, add(train, trainStep, kindTrain))
		}
		if criticStep > 0 {
			for range res.OptimizerSteps {
				s.training = append(s.training, add(train, criticStep, kindTrain))
			}
		}
		s.refit = add(train, refit, kindRefit)
		s.offload = sim.None
		if swap > 0 {
			s.offload = add(train, swap/2, kindSwap)
		}
		if split {
			// The engines load the weights of step m = n − k once they
			// have generated step n (in-flight weight update).
			if m := n - c.OffPolicy; m >= 0 {
				for r := range runs {
					t := add(engines[r], refit, kindRefit)
					g.After(t, st[m].training[len(st[m].training)-1])
					st[m].genRefit = append(st[m].genRefit, t)
				}
			}
		}
	}
	run, err := sim.Run(g)
	if err != nil {
		return fmt.Errorf("rl: replaying the step: %w", err)
	}
	sec := func(t sim.Time) units.Seconds { return units.Seconds(t.Seconds()) }
	dur := func(ids ...sim.TaskID) units.Seconds {
		var d units.Seconds
		for _, id := range ids {
			if id != sim.None {
				d += sec(run.End[id] - run.Start[id])
			}
		}
		return d
	}
	endOf := func(n int) sim.Time {
		e := run.End[st[n].refit]
		if st[n].offload != sim.None {
			e = run.End[st[n].offload]
		}
		return e
	}
	// The steady state: the training pool's pace over the last two steps
	// (each step ends with its refit, or the offload after it).
	last := steps - 1
	res.Step = sec(endOf(last)-endOf(last-2)) / 2
	s := st[last]
	lo, hi := sim.Time(math.MaxInt64), sim.Time(0)
	for r := range runs {
		if s.genFirst[r] == sim.None {
			continue
		}
		lo = min(lo, run.Start[s.genFirst[r]])
		hi = max(hi, run.End[s.genLast[r]])
	}
	res.Generation = sec(hi - lo)
	res.Scoring = dur(s.score...)
	res.Training = dur(s.training...)
	res.Refit = dur(s.refit)
	res.Swap = dur(s.onload, s.offload)
	busy := res.Generation + res.Scoring + res.Training + res.Refit + res.Swap
	// Below a nanosecond per step the difference of two sums of durations
	// is rounding, not idle time or overlap.
	noise := units.Seconds(1e-9) + res.Step*1e-12
	defer func() {
		if res.Idle < noise {
			res.Idle = 0
		}
		if res.Overlap < noise {
			res.Overlap = 0
		}
	}()
	if split {
		gpus := float64(res.GenGPUs + res.TrainGPUs)
		genIdle := max(res.Step-res.Generation-res.Refit, 0)
		trainIdle := max(res.Step-res.Scoring-res.Training-res.Refit, 0)
		res.Idle = units.Seconds((float64(res.GenGPUs)*float64(genIdle) + float64(res.TrainGPUs)*float64(trainIdle)) / gpus)
		res.Overlap = max(busy-res.Step, 0)
	} else {
		res.Idle = max(res.Step-busy, 0)
	}
	for n := range st {
		for r := range runs {
			if st[n].genFirst[r] == sim.None {
				continue
			}
			res.Timeline = append(res.Timeline, Span{Lane: fmt.Sprintf("engine %d", r), Phase: "generation", Step: n,
				Start: sec(run.Start[st[n].genFirst[r]]), End: sec(run.End[st[n].genLast[r]])})
		}
		phase := func(name string, ids ...sim.TaskID) {
			var first, lastT = sim.None, sim.None
			for _, id := range ids {
				if id == sim.None {
					continue
				}
				if first == sim.None {
					first = id
				}
				lastT = id
			}
			if first != sim.None && run.End[lastT] > run.Start[first] {
				res.Timeline = append(res.Timeline, Span{Lane: "train", Phase: name, Step: n, Start: sec(run.Start[first]), End: sec(run.End[lastT])})
			}
		}
		phase("onload", st[n].onload)
		phase("scoring", st[n].score...)
		phase("training", st[n].training...)
		phase("refit", st[n].refit)
		phase("offload", st[n].offload)
	}
	res.Tasks = g.Tasks()
	res.Events = run.Events
	return nil
}
