package parallelism

import (
	"math"
	"math/rand/v2"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// TestRandomLayouts replays random valid layouts of small models in both
// network fidelities and checks the invariants every replay must keep: it
// finishes, the step is positive and finite, the breakdown adds up to the
// step with no negative part, exposed communication never exceeds its total,
// and memory parts are non-negative.
func TestRandomLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	names := []string{"gpt-1.7b", "gpt3-1.3b", "llama3-8b", "gpt-3.6b"}
	systems := []string{"dgx-a100-80gb", "dgx-h100"}
	tried := 0
	for attempt := 0; tried < 40; attempt++ {
		if attempt > 10000 {
			t.Fatalf("only %d valid random layouts in %d attempts", tried, attempt)
		}
		m, _ := model.Preset(names[rng.IntN(len(names))])
		sys, _ := topology.SystemPreset(systems[rng.IntN(len(systems))])
		tp := []int{1, 2, 4, 8}[rng.IntN(4)]
		pp := []int{1, 2, 4}[rng.IntN(3)]
		dp := []int{1, 2, 4}[rng.IntN(3)]
		sched := []Schedule{GPipe, OneFOneB, Interleaved}[rng.IntN(3)]
		v := 1
		if sched == Interleaved {
			v = 2
		}
		l := Layout{TP: tp, PP: pp, DP: dp, CP: 1, EP: 1, Microbatch: 1 + rng.IntN(2), Schedule: sched, VirtualStages: v,
			SequenceParallel: rng.IntN(2) == 0 && tp > 1, Recompute: []Recompute{RecomputeNone, RecomputeSelective, RecomputeFull}[rng.IntN(3)],
			ZeRO: rng.IntN(4), OverlapGradReduce: rng.IntN(2) == 0, TPOverlap: rng.IntN(2) == 0}
		gpus := tp * pp * dp
		if gpus%8 != 0 {
			continue
		}
		j := Job{Model: m, Cluster: topology.Cluster{System: sys, Nodes: gpus / 8}, Layout: l,
			Training: Training{GlobalBatch: dp * l.Microbatch * pp * 2, Precision: units.BF16, Steps: 1 + rng.IntN(2), Attention: model.AttentionFlash},
			Options:  Options{Network: []string{NetworkAnalytical, NetworkFlow}[rng.IntN(2)], Ranks: RanksSymmetric}}
		if len(problems(j)) > 0 {
			continue
		}
		tried++
		res, err := simulateJob(j)
		if err != nil {
			t.Fatalf("%+v: %v", l, err)
		}
		step := float64(res.StepTime)
		if !(step > 0) || math.IsInf(step, 0) {
			t.Fatalf("%+v: step %v", l, res.StepTime)
		}
		bd := res.Breakdown
		sum := bd.Compute + bd.Recompute + bd.TP + bd.PP + bd.DP + bd.CP + bd.EP + bd.Optimizer + bd.Bubble
		if math.Abs(float64(sum)/step-1) > 1e-6 {
			t.Errorf("%s %+v: breakdown %v ≠ step %v", j.Options.Network, l, sum, res.StepTime)
		}
		for _, part := range []units.Seconds{bd.Compute, bd.Recompute, bd.TP, bd.PP, bd.DP, bd.Optimizer, bd.Bubble} {
			if part < 0 {
				t.Errorf("%+v: negative part in %+v", l, bd)
			}
		}
		for k, c := range res.Comm {
			if c.Exposed > c.Total+1e-9 || c.Total < 0 || c.Bytes < 0 {
				t.Errorf("%+v: %s comm %+v", l, k, c)
			}
		}
		mem := res.Memory
		if mem.Weights <= 0 || mem.Activations < 0 || mem.Peak < mem.Weights+mem.Gradients+mem.Optimizer {
			t.Errorf("%+v: memory %+v", l, mem)
		}
	}
}
