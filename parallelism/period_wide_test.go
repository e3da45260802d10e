package parallelism

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// TestPeriodicRandomMoEFP8Flow widens TestPeriodicRandomLayouts to what it
// leaves out: MoE layers with expert parallelism, skew and overlapped
// all-to-alls, FP8 with each recipe, eager element-wise kernels, the flow
// network, and up to five steps. On each random job the periodic replay and
// the unrolled one must give identical results (reflect.DeepEqual).
func TestPeriodicRandomMoEFP8Flow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	names := []string{"gpt-1.7b", "llama3-8b", "mixtral-8x7b"}
	tried, moe := 0, 0
	for attempt := 0; tried < 60; attempt++ {
		if attempt > 20000 {
			t.Fatalf("only %d valid random jobs in %d attempts", tried, attempt)
		}
		mn := names[rng.IntN(len(names))]
		m, _ := model.Preset(mn)
		m.SeqLen = 2048
		if mn == "mixtral-8x7b" {
			m.Layers = 8
		}
		sys, _ := topology.SystemPreset("dgx-h100")
		tp := []int{1, 2, 4, 8}[rng.IntN(4)]
		pp := []int{1, 2, 4, 8}[rng.IntN(4)]
		dp := []int{1, 2, 4, 8}[rng.IntN(4)]
		ep := 1
		if m.Experts > 0 {
			ep = []int{1, 2, 4, 8}[rng.IntN(4)]
		}
		sched := []Schedule{OneFOneB, OneFOneB, OneFOneB, Interleaved}[rng.IntN(4)]
		v := 1
		if sched == Interleaved {
			v = 2
		}
		l := Layout{TP: tp, PP: pp, DP: dp, CP: 1, EP: ep, ETP: 1, Microbatch: 1, Schedule: sched, VirtualStages: v,
			Recompute: []Recompute{RecomputeNone, RecomputeFull}[rng.IntN(2)], ZeRO: rng.IntN(3), OverlapGradReduce: rng.IntN(2) == 0,
			PPOverlap: rng.IntN(2) == 0, Skew: []float64{1, 1, 1.5}[rng.IntN(3)], MoEOverlap: rng.IntN(2) == 0 && m.Experts > 0}
		if m.Experts == 0 {
			l.Skew = 1
		} else {
			// Megatron-Core's rules for MoE: sequence parallelism with TP,
			// ZeRO 0 or 1.
			l.SequenceParallel = tp > 1
			l.ZeRO %= 2
		}
		gpus := tp * pp * dp
		if gpus%8 != 0 {
			continue
		}
		mbs := pp + rng.IntN(6*pp+20)
		prec := []units.Precision{units.BF16, units.FP8}[rng.IntN(2)]
		rec := model.FP8Delayed
		if prec == units.FP8 {
			rec = model.FP8Recipes()[rng.IntN(4)]
		}
		j := Job{Model: m, Cluster: topology.Cluster{System: sys, Nodes: gpus / 8}, Layout: l,
			Training: Training{GlobalBatch: dp * mbs, Precision: prec, FP8Recipe: rec, Eager: rng.IntN(2) == 0, Steps: 1 + rng.IntN(5), Attention: model.AttentionFlash},
			Options:  Options{Network: []string{NetworkAnalytical, NetworkAnalytical, NetworkFlow}[rng.IntN(3)], Ranks: []string{RanksSymmetric, RanksSymmetric, RanksFull}[rng.IntN(3)]}}
		if rng.IntN(3) == 0 {
			j.Variation = Variation{SlowFraction: 0.1, Slowdown: 0.3}
		}
		if len(problems(j)) > 0 {
			continue
		}
		if j.ReplayTasks() > 4e5 {
			continue
		}
		tried++
		if m.Experts > 0 {
			moe++
		}
		per := simulate(t, j)
		u := j
		u.Options.noPeriodic = true
		full := simulate(t, u)
		if !reflect.DeepEqual(per, full) {
			t.Errorf("%s %+v %+v mbs %d steps %d net %s ranks %s: periodic %v unrolled %v", mn, l, j.Training, mbs, j.Training.Steps, j.Options.Network, j.Options.Ranks, per.StepTime, full.StepTime)
		}
		if !(per.StepTime > 0) {
			t.Errorf("step %v", per.StepTime)
		}
	}
	if moe < 5 {
		t.Errorf("only %d of %d random jobs have MoE layers", moe, tried)
	}
}
