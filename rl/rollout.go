package rl

import (
	"fmt"
	"math"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/units"
)

// Experience made by actor ranks in blocking calls (Config.RolloutRanks),
// as OpenRLHF's RemoteExperienceMaker does it (openrlhf/trainer/ppo_utils/
// experience_maker.py at dbdd43b0, the commit of its 2024 benchmark): each
// actor rank takes micro_rollout_batch_size prompts from its data loader,
// sends them to vLLM engine rank mod engines and waits for the answers
// (ray.get(llm.generate.remote(...)): the engine is a synchronous Ray actor
// serving one call at a time), then asks the reference, reward and critic
// models for their forwards (Ray calls to their own GPUs, running at once)
// while computing the policy's log-probabilities itself, waits for all of
// them, and only then takes its next prompts. An engine whose ranks are all
// scoring is idle; an engine shared by several ranks serves another rank's
// call meanwhile.

// rolloutCall is one blocking generate call of a rank: its engine run.
type rolloutCall struct {
	rank    int
	samples int
	run     engineRun
}

// rolloutCalls deals the step's responses to the ranks (shuffled by the
// seed), cuts each rank's share into calls of MaxBatch and prices every call
// as an engine run of its own sequences (continuous batching inside a call:
// a finished sequence leaves, none arrives). It returns each engine's calls
// in the order it serves them: the calls of its ranks taken in turn.
func (c Config) rolloutCalls(p pricer, policy model.Config, lengths []int, replicas, capacity int) ([][]rolloutCall, error) {
	queues := deal(lengths, c.RolloutRanks, c.Seed)
	perRank := make([][][]int, c.RolloutRanks)
	most := 0
	for r, q := range queues {
		for i := 0; i < len(q); i += c.MaxBatch {
			perRank[r] = append(perRank[r], q[i:min(i+c.MaxBatch, len(q))])
		}
		most = max(most, len(perRank[r]))
	}
	// Calls whose responses all have one length cost the same for as many
	// sequences: priced once (a replay at the caps has hundreds of them).
	type key struct{ length, n int }
	priced := map[key]engineRun{}
	calls := make([][]rolloutCall, replicas)
	for i := range most {
		for r := range perRank {
			if i >= len(perRank[r]) {
				continue
			}
			ls := perRank[r][i]
			same := sameLengths(ls)
			k := key{ls[0], len(ls)}
			run, ok := priced[k]
			if !ok || !same {
				var err error
				run, err = p.generate(policy, ls, c.EnginePrompt(), c.MaxBatch, capacity, c.GenTP, c.Batching, c.HostOverhead, c.HostPerSeq)
				if err != nil {
					return nil, fmt.Errorf("rl: rank %d, call %d: %w", r, i, err)
				}
				if same {
					priced[k] = run
				}
			}
			e := r % replicas
			calls[e] = append(calls[e], rolloutCall{rank: r, samples: len(ls), run: run})
		}
	}
	return calls, nil
}

// sameLengths says whether every response of a call has the same length.
func sameLengths(ls []int) bool {
	for _, l := range ls {
		if l != ls[0] {
			return false
		}
	}
	return true
}

// rolloutPlan is the scoring of a step made in calls.
type rolloutPlan struct {
	calls [][]rolloutCall
	// score[e][i] is the scoring wait after engine e's i-th call: the
	// slowest scoring model's forward over the call's samples.
	score [][]units.Seconds
	// slowest names the model that sets the longest wait; flops the scoring's
	// model FLOPs; busy the sum of the waits.
	slowest string
	flops   float64
	busy    units.Seconds
}

// numCalls is the generate calls of a step, over every engine; 0 for a
// nil plan (no calls).
func (plan *rolloutPlan) numCalls() int {
	if plan == nil {
		return 0
	}
	n := 0
	for _, cs := range plan.calls {
		n += len(cs)
	}
	return n
}

// rolloutScoring prices the scoring wait of every call: each scoring model
// runs its forwards over the call's samples (logprob_microbatch sequences a
// pass) on its own model-parallel group at once, the policy's
// log-probabilities on the rank's GPU; the rank waits for the slowest.
func (c Config) rolloutScoring(p pricer, j parallelism.Job, calls [][]rolloutCall, scorers []scorer) (*rolloutPlan, error) {
	plan := &rolloutPlan{calls: calls, score: make([][]units.Seconds, len(calls))}
	type priced struct {
		t       units.Seconds
		flops   float64
		slowest string
	}
	memo := map[int]priced{}
	price := func(n int) (priced, error) {
		if v, ok := memo[n]; ok {
			return v, nil
		}
		var v priced
		for _, s := range scorers {
			tp := divisorTP(j.Layout.TP, s.m.Heads)
			seqs := min(n, c.LogprobMicrobatch)
			passes := math.Ceil(float64(n) / float64(seqs))
			k, err := p.forward(s.m, seqs, c.PackLen(), tp, 1, true, true)
			if err != nil {
				return v, fmt.Errorf("rl: scoring (%s): %w", s.name, err)
			}
			t := units.Seconds(passes) * (k.Compute + k.Comm)
			if t > v.t {
				v.t, v.slowest = t, s.name
			}
			v.flops += passes * float64(k.FLOPs) * float64(tp)
		}
		memo[n] = v
		return v, nil
	}
	var longest units.Seconds // the longest wait so far, whose slowest model the note names
	for e, cs := range calls {
		plan.score[e] = make([]units.Seconds, len(cs))
		for i, k := range cs {
			v, err := price(k.samples)
			if err != nil {
				return nil, err
			}
			plan.score[e][i] = v.t
			plan.flops += v.flops
			plan.busy += v.t
			if plan.slowest == "" || v.t > longest {
				longest, plan.slowest = v.t, v.slowest
			}
		}
	}
	return plan, nil
}

// rolloutFinish rewrites what finish measured on the pooled scoring: the
// scoring MFU over the GPUs the calls' scoring models held while they ran,
// and a note on the calls.
func (res *Result) rolloutFinish(c Config, plan *rolloutPlan, models int) {
	res.ScoringMFU = 0
	peak := float64(res.TrainJob.Cluster.GPU.PeakDense16)
	if p, ok := res.TrainJob.Cluster.GPU.Peak(res.TrainJob.Training.Precision); ok {
		peak = float64(p)
	}
	if plan.busy > 0 && peak > 0 {
		res.ScoringMFU = plan.flops / (float64(plan.busy) * float64(models) * peak)
	}
	n := plan.numCalls()
	res.Notes = append(res.Notes, fmt.Sprintf("experience in calls (rl.rollout_ranks %d): %d blocking generate calls of at most %d samples per step, each rank's calls to engine rank mod %d; after each call its rank waits %s on average for the scoring models' forwards over the call's samples (each model on its own GPUs, at once; the slowest: %s), %s over all ranks, while an engine with no other rank's call waiting is idle; scoring is the wait after the last call (the training pool's idle time counts the ranks' waits as busy)",
		c.RolloutRanks, n, c.MaxBatch, res.Replicas, plan.busy/units.Seconds(max(n, 1)), plan.slowest, plan.busy))
}
