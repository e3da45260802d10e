package rl

import (
	"math"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/units"
)

// ppoSplit is a small PPO step on one 8-GPU node split 4 / 4, every model
// of the policy's shape, responses of a fixed length.
func ppoSplit(m model.Config) Config {
	c := grpo()
	c.Algorithm = PPO
	c.Critic, c.Reward, c.Reference = &m, &m, &m
	c.GenerationsPerPrompt = 1
	c.PromptsPerStep = 64
	c.ResponseMean, c.ResponseMax = 256, 256
	c.Placement, c.GenGPUs = Split, 4
	return c
}

// TestCriticGPUs: the critic on its own 2 of the 4 training GPUs beside
// the policy on the other 2 does the same compute in the same time as both
// trained one after the other on all 4 (each has half the GPUs and twice
// the micro-batches per GPU). With the optimizer on the host the
// difference is PCIe traffic, by hand: per optimizer step, pooled, each
// model moves (4·g + 2)·n bytes (g micro-batches per GPU, n parameters per
// GPU) and the two go one after the other; on their own GPUs each moves
// (4·2g + 2)·2n at once: 16gn + 4n − 2(4g + 2)n = 8gn more; CPU Adam
// streams 38·2n once against 38·n twice, the same.
func TestCriticGPUs(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	m := v.Job().Model
	run := func(critic int, adam units.Bandwidth) *Result {
		t.Helper()
		c := ppoSplit(m)
		c.CriticGPUs, c.CPUAdamBandwidth = critic, adam
		r, err := Run(v, c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	pooled, own := run(0, 0), run(2, 0)
	if d := math.Abs(float64(own.Training-pooled.Training)) / float64(pooled.Training); d > 0.05 {
		t.Errorf("critic on its own GPUs: training %s, pooled %s: %.1f%% apart, want the same compute within 5%%", own.Training, pooled.Training, 100*d)
	}
	// On-policy split: the step is still the phases' sum (the refit may
	// overlap the critic's last optimizer step).
	sum := own.Generation + own.Scoring + own.Training + own.Refit
	if math.Abs(float64(own.Step-sum)) > float64(own.Refit)+1e-6*float64(sum) {
		t.Errorf("step %s, want the phases' sum %s within the refit %s", own.Step, sum, own.Refit)
	}
	pooledOff, ownOff := run(0, 51.2e9), run(2, 51.2e9)
	n := float64(pooledOff.TrainResult.Memory.Optimizer) / 12
	// One optimizer step (train_batch 64) of 64 samples × 384 tokens in
	// packs of 384: 64 packs, 16 micro-batches per GPU over DP 4.
	g := 64.0 / 4
	pcie := 32e9 * 16 * 128 / 130 / 8
	want := float64(pooledOff.OptimizerSteps) * 8 * g * n / pcie
	got := float64(ownOff.Training-pooledOff.Training) - float64(own.Training-pooled.Training)
	if math.Abs(got-want) > 0.01*want {
		t.Errorf("own GPUs with the optimizer on the host add %.4g s over pooled, want %d steps × 8·g·n/PCIe = %.4g s", got, pooledOff.OptimizerSteps, want)
	}
	if !strings.Contains(strings.Join(own.Notes, "\n"), "the policy trains on 2 GPUs and the critic on 2 at the same time") {
		t.Errorf("no note on the critic's own 2 GPUs: %q", own.Notes)
	}
	// ZeRO-3: the refit gathers the policy's weights from its own 2 GPUs
	// only (the critic's 2 hold none of them).
	j3 := v.Job()
	j3.Layout.ZeRO = 3
	v3, errs := j3.Validate()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c3 := ppoSplit(m)
	c3.CriticGPUs = 2
	r3, err := Run(v3, c3)
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(r3.Notes, "\n"); !strings.Contains(notes, "all-gathered over the 2 training GPUs") {
		t.Errorf("ZeRO-3 refit with the critic apart: want a gather over the policy's 2 GPUs: %q", r3.Notes)
	}
	c := ppoSplit(m)
	c.CriticGPUs = 4
	if errs := c.Check(v.Job()); len(errs) == 0 {
		t.Error("critic_gpus = the whole training pool: no error")
	}
	c.CriticGPUs, c.Placement = 2, Colocated
	if errs := c.Check(v.Job()); len(errs) == 0 {
		t.Error("critic_gpus colocated: no error")
	}
}

// TestRolloutRanks checks experience made in calls against the pooled
// replay, a second way. Fixed-length responses make an engine's calls the
// same waves of max_batch sequences its continuous batching ran, so the
// generation work is the same; what the calls add is the scoring waits.
// Every scoring model has the policy's shape and one pass scores one
// sample (logprob_microbatch 1), so a pass costs f = pooled scoring / (4
// models × 16 passes: 64 samples over 4 GPUs).
func TestRolloutRanks(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	m := v.Job().Model
	run := func(ranks, batch int) *Result {
		t.Helper()
		c := ppoSplit(m)
		c.RolloutRanks, c.MaxBatch = ranks, batch
		r, err := Run(v, c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name         string
		ranks, batch int
		// waits is the passes the step waits for: one rank per engine
		// waits for all of its calls' scoring (16 samples each); two
		// ranks per engine keep it busy, and only the last call's
		// scoring (4 samples) is left after generation.
		waits float64
	}{{"one rank per engine", 4, 8, 16}, {"two ranks per engine", 8, 4, 4}} {
		pooled, calls := run(0, tc.batch), run(tc.ranks, tc.batch)
		f := float64(pooled.Scoring) / (4 * 16)
		want := tc.waits * f
		got := float64(calls.Generation + calls.Scoring - pooled.Generation)
		if math.Abs(got-want) > 0.01*want {
			t.Errorf("%s: generation + scoring %.5g s over the pooled generation %.5g s, want %g passes × %.4g s = %.4g s", tc.name, got, float64(pooled.Generation), tc.waits, f, want)
		}
		if !(calls.ScoringMFU > 0 && calls.ScoringMFU <= 1) {
			t.Errorf("%s: scoring MFU %g", tc.name, calls.ScoringMFU)
		}
		if !strings.Contains(strings.Join(calls.Notes, "\n"), "experience in calls") {
			t.Errorf("%s: no note on the calls", tc.name)
		}
	}
	c := ppoSplit(m)
	c.RolloutRanks, c.Placement = 2, Colocated
	if errs := c.Check(v.Job()); len(errs) == 0 {
		t.Error("rollout_ranks colocated: no error")
	}
}
