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
//
// With experience made in calls (rollout, Config.RolloutRanks) each engine
// runs its calls in turn, every call after its rank's scoring of the one
// before (a task on the rank's own lane), and training waits for every
// rank's last scoring. With the critic on its own GPUs (Config.CriticGPUs)
// its optimizer steps run on a lane of their own beside the policy's, and
// the step ends when both the refit and the critic are done.
func (c Config) replay(res *Result, runs []engineRun, rollout *rolloutPlan, scorers []scorer, score []units.Seconds, trainStep, criticStep units.Seconds, refit, swap units.Seconds) error {
	steps := c.OffPolicy + 4
	segs := 0
	for _, run := range runs {
		segs = max(segs, len(run.Segments))
	}
	g := sim.NewGraph(steps * (len(runs)*(3*segs+2) + rollout.numCalls() + len(scorers) + 2*res.OptimizerSteps + 4))
	engines := make([]sim.ResourceID, len(runs))
	for r := range engines {
		engines[r] = g.AddResource(fmt.Sprintf("engine %d", r))
	}
	train := g.AddResource("train")
	var ranks []sim.ResourceID
	if rollout != nil {
		ranks = make([]sim.ResourceID, c.RolloutRanks)
		for r := range ranks {
			ranks[r] = g.AddResource(fmt.Sprintf("rank %d", r))
		}
	}
	criticLane := train
	if c.CriticGPUs > 0 && criticStep > 0 {
		criticLane = g.AddResource("critic")
	}
	type stepTasks struct {
		genFirst, genLast []sim.TaskID
		score, training   []sim.TaskID
		policyLast        sim.TaskID   // the policy's last optimizer step
		criticLast        sim.TaskID   // the critic's, on its own lane
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
		// segments adds a run's segments to engine r, the first after
		// deps; it returns the first task (None for an empty run).
		segments := func(r int, run engineRun, deps ...sim.TaskID) sim.TaskID {
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
			return first
		}
		var lastScore []sim.TaskID // rollout: each rank's latest scoring
		if rollout == nil {
			for r, run := range runs {
				if len(run.Segments) == 0 {
					s.genFirst, s.genLast = append(s.genFirst, sim.None), append(s.genLast, sim.None)
					continue
				}
				s.genFirst = append(s.genFirst, segments(r, run, deps...))
				s.genLast = append(s.genLast, g.Last(engines[r]))
			}
		} else {
			lastScore = make([]sim.TaskID, len(ranks))
			for r := range lastScore {
				lastScore[r] = sim.None
			}
			for e, cs := range rollout.calls {
				first := sim.None
				for i, k := range cs {
					wait := append([]sim.TaskID{}, deps...)
					if lastScore[k.rank] != sim.None {
						wait = append(wait, lastScore[k.rank])
					}
					t := segments(e, k.run, wait...)
					if first == sim.None {
						first = t
					}
					sc := add(ranks[k.rank], rollout.score[e][i], kindScore)
					g.After(sc, g.Last(engines[e]))
					lastScore[k.rank] = sc
					s.score = append(s.score, sc)
				}
				s.genFirst = append(s.genFirst, first)
				if first == sim.None {
					s.genLast = append(s.genLast, sim.None)
				} else {
					s.genLast = append(s.genLast, g.Last(engines[e]))
				}
			}
		}
		// The training pool: onload, scoring, training, refit, offload.
		s.onload = sim.None
		if swap > 0 {
			s.onload = add(train, swap/2, kindSwap)
			g.After(s.onload, s.genLast...)
		}
		if rollout == nil {
			for i := range scorers {
				t := add(train, score[i], kindScore)
				g.After(t, s.genLast...)
				s.score = append(s.score, t)
			}
		}
		for i := range res.OptimizerSteps {
			t := add(train, trainStep, kindTrain)
			if i == 0 {
				g.After(t, lastScore...)
			}
			s.training = append(s.training, t)
		}
		s.policyLast = g.Last(train)
		s.criticLast = sim.None
		if criticStep > 0 {
			for i := range res.OptimizerSteps {
				t := add(criticLane, criticStep, kindTrain)
				if i == 0 {
					// The critic's fit starts once the experience is
					// made: after the scoring (on the pool, or every
					// rank's last).
					g.After(t, lastScore...)
					g.After(t, s.score...)
				}
				s.training = append(s.training, t)
			}
			s.criticLast = g.Last(criticLane)
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
					g.After(t, st[m].policyLast)
					if st[m].criticLast != sim.None {
						// The actor's fit returns once the critic's
						// has: the next generation waits for both.
						g.After(t, st[m].criticLast)
					}
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
		if c := st[n].criticLast; c != sim.None {
			e = max(e, run.End[c])
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
	if rollout != nil {
		// The scoring after the last call; the waits between calls are
		// inside generation (the engines idle through them).
		end := hi
		for _, t := range s.score {
			end = max(end, run.End[t])
		}
		res.Scoring = sec(end - hi)
	}
	if criticLane != train {
		// The policy and the critic train at once, each on its own
		// GPUs: the phase is the longer of the two.
		res.Training = max(dur(s.training[:res.OptimizerSteps]...), dur(s.training[res.OptimizerSteps:]...))
	}
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
		scoring := res.Scoring
		if rollout != nil && len(ranks) > 0 {
			// The training pool's GPUs score through the calls (the
			// policy's log-probabilities on the ranks' own GPUs): a rank's
			// waits on average, not only the tail after generation.
			scoring = max(scoring, dur(s.score...)/units.Seconds(len(ranks)))
		}
		trainIdle := max(res.Step-scoring-res.Training-res.Refit, 0)
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
