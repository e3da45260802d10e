package parallelism

import (
	"math/rand/v2"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// TestEstimatesAgainstReplay: on random valid layouts of small models (every
// schedule, uneven partitions, ZeRO stages, overlaps, both network
// fidelities, one or two steps), PeakMemory equals the memory the replay
// reports and StepLowerBound never exceeds the replayed step.
func TestEstimatesAgainstReplay(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	names := []string{"gpt-1.7b", "gpt3-1.3b", "llama3-8b", "gpt-3.6b"}
	systems := []string{"dgx-a100-80gb", "dgx-h100"}
	est := NewEstimator()
	tried, tightest := 0, 0.0
	for attempt := 0; tried < 80; attempt++ {
		if attempt > 20000 {
			t.Fatalf("only %d valid random layouts in %d attempts", tried, attempt)
		}
		m, _ := model.Preset(names[rng.IntN(len(names))])
		sys, _ := topology.SystemPreset(systems[rng.IntN(len(systems))])
		tp := []int{1, 2, 4, 8}[rng.IntN(4)]
		pp := []int{1, 2, 3, 4, 8}[rng.IntN(5)]
		dp := []int{1, 2, 4}[rng.IntN(3)]
		sched := []Schedule{GPipe, OneFOneB, Interleaved, ZBH1}[rng.IntN(4)]
		v := 1
		if sched == Interleaved {
			v = 2 + rng.IntN(3)
		}
		l := Layout{TP: tp, PP: pp, DP: dp, CP: 1, EP: 1, Microbatch: 1 + rng.IntN(2), Schedule: sched, VirtualStages: v,
			SequenceParallel: rng.IntN(2) == 0 && tp > 1, Recompute: RecomputePolicies()[rng.IntN(3)],
			ZeRO: rng.IntN(4), OverlapGradReduce: rng.IntN(2) == 0, TPOverlap: rng.IntN(2) == 0, PPOverlap: rng.IntN(2) == 0}
		gpus := tp * pp * dp
		if gpus%8 != 0 {
			continue
		}
		j := Job{Model: m, Cluster: topology.Cluster{System: sys, Nodes: gpus / 8}, Layout: l,
			Training: Training{GlobalBatch: dp * l.Microbatch * pp * (1 + rng.IntN(3)), Precision: units.BF16, Steps: 1 + rng.IntN(2), Attention: model.AttentionFlash},
			Options:  Options{Network: Networks()[rng.IntN(2)], Ranks: RanksSymmetric}}
		valid, errs := j.Validate()
		if len(errs) > 0 {
			continue
		}
		tried++
		res, err := Simulate(valid)
		if err != nil {
			t.Fatalf("%+v: %v", l, err)
		}
		mem, stage, fits, err := est.PeakMemory(valid)
		if err != nil {
			t.Fatal(err)
		}
		if mem != res.Memory || stage != res.MemoryStage || fits != res.Feasible {
			t.Errorf("%+v: PeakMemory %+v stage %d fits %v; replay %+v stage %d feasible %v", l, mem, stage, fits, res.Memory, res.MemoryStage, res.Feasible)
		}
		bound, err := est.StepLowerBound(valid)
		if err != nil {
			t.Fatal(err)
		}
		if bound > res.StepTime || bound <= 0 {
			t.Errorf("%s %+v steps %d: lower bound %v, replayed step %v", j.Options.Network, l, j.Training.Steps, bound, res.StepTime)
		}
		tightest = max(tightest, float64(bound/res.StepTime))
	}
	t.Logf("tightest bound: %.3f of the step", tightest)
}
