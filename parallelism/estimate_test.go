package parallelism

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// TestEstimatesAgainstReplay: on random valid layouts of small models (every
// schedule, uneven partitions, ZeRO stages, overlaps, context parallelism
// within and across nodes, mixture-of-experts models with expert and expert
// tensor parallelism, skew and overlapped all-to-alls, leaves of two nodes
// so that groups cross the spine, both network fidelities, one or two
// steps), PeakMemory equals the memory the replay reports and
// StepLowerBound never exceeds the replayed step. One Estimator serves
// every job, as in a search, so its caches are exercised across layouts.
func TestEstimatesAgainstReplay(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	names := []string{"gpt-1.7b", "gpt3-1.3b", "llama3-8b", "gpt-3.6b", "mixtral-8x7b", "qwen3-30b-a3b"}
	systems := []string{"dgx-a100-80gb", "dgx-h100"}
	ests := map[string]*Estimator{}
	tried, moe, cp, mtp, dual, tightest := 0, 0, 0, 0, 0, 0.0
	for attempt := 0; tried < 300; attempt++ {
		if attempt > 80000 {
			t.Fatalf("only %d valid random layouts in %d attempts", tried, attempt)
		}
		m, _ := model.Preset(names[rng.IntN(len(names))])
		if m.MoE() {
			m.Layers, m.SeqLen = 8, 4096 // a replay a test can afford
		}
		sysName := systems[rng.IntN(len(systems))]
		sys, _ := topology.SystemPreset(sysName)
		if rng.IntN(2) == 0 {
			sys.Network.NodesPerLeaf = 2 // groups of more than two nodes cross the spine
		}
		tp := []int{1, 2, 4, 8}[rng.IntN(4)]
		pp := []int{1, 2, 3, 4, 8}[rng.IntN(5)]
		dp := []int{1, 2, 4}[rng.IntN(3)]
		cpd := []int{1, 1, 2, 4}[rng.IntN(4)]
		sched := []Schedule{GPipe, OneFOneB, Interleaved, ZBH1, DualPipe}[rng.IntN(5)]
		v := 1
		if sched == Interleaved {
			v = 2 + rng.IntN(3)
		}
		l := Layout{TP: tp, PP: pp, DP: dp, CP: cpd, EP: 1, Microbatch: 1 + rng.IntN(2), Schedule: sched, VirtualStages: v,
			SequenceParallel: rng.IntN(2) == 0 && tp > 1, Recompute: RecomputePolicies()[rng.IntN(3)],
			ZeRO: rng.IntN(4), OverlapGradReduce: rng.IntN(2) == 0, TPOverlap: rng.IntN(2) == 0, PPOverlap: rng.IntN(2) == 0}
		// Megatron-LM 2022's asynchronous input-gradient all-reduce where
		// TP communication is not otherwise overlapped (derived, not drawn:
		// the draws above stay as they were).
		l.AsyncTPAllReduce = tp > 1 && !l.TPOverlap
		if m.MoE() {
			l.EP = []int{1, 2, 4, 8}[rng.IntN(4)]
			l.ETP = []int{1, 1, 2}[rng.IntN(3)]
			l.MoEOverlap = rng.IntN(2) == 0
			l.Skew = []float64{1, 1.5}[rng.IntN(2)]
			l.ZeRO = rng.IntN(2)
			l.SequenceParallel = tp > 1
			if l.Recompute == RecomputeSelective && rng.IntN(2) == 0 {
				// Megatron-Core's output-discarding modules.
				l.RecomputeModules = "layernorm, moe_act"
				if m.MLA() {
					l.RecomputeModules += ", mla_up_proj"
				}
			}
		}
		gpus := tp * pp * dp * cpd
		if gpus%8 != 0 || gpus > 128 {
			continue
		}
		if rng.IntN(4) == 0 {
			m.MTPDepth = 1 // a multi-token-prediction module on the last stage
		}
		j := Job{Model: m, Cluster: topology.Cluster{System: sys, Nodes: gpus / 8}, Layout: l,
			Training: Training{GlobalBatch: dp * l.Microbatch * pp * (1 + rng.IntN(3)), Precision: units.BF16, Steps: 1 + rng.IntN(2), Attention: model.AttentionFlash},
			Options:  Options{Network: Networks()[rng.IntN(2)], Ranks: RanksSymmetric}}
		valid, errs := j.Validate()
		if len(errs) > 0 {
			continue
		}
		tried++
		if m.MoE() {
			moe++
		}
		if cpd > 1 {
			cp++
		}
		if m.MTPDepth > 0 {
			mtp++
		}
		if sched == DualPipe {
			dual++
		}
		key := fmt.Sprint(m.Name, sysName, j.Options.Network, sys.Network.NodesPerLeaf)
		est := ests[key]
		if est == nil {
			est = NewEstimator()
			ests[key] = est
		}
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
		// The search reuses validation and memory across the overlap
		// switches, and the bound across pp_overlap: they must not read
		// them.
		for _, flip := range []func(*Layout){
			func(l *Layout) { l.OverlapGradReduce = !l.OverlapGradReduce },
			func(l *Layout) { l.PPOverlap = !l.PPOverlap },
			func(l *Layout) { l.TPOverlap = !l.TPOverlap },
		} {
			o := j
			flip(&o.Layout)
			ov, errs := o.Validate()
			if len(errs) > 0 {
				t.Fatalf("%+v valid, %+v not: %v", l, o.Layout, errs)
			}
			omem, ostage, ofits, _ := est.PeakMemory(ov)
			if omem != mem || ostage != stage || ofits != fits {
				t.Errorf("%+v: memory changes with an overlap switch", o.Layout)
			}
			if ob, _ := est.StepLowerBound(ov); ob != bound && o.Layout.TPOverlap == l.TPOverlap && o.Layout.OverlapGradReduce == l.OverlapGradReduce {
				t.Errorf("%+v: bound %v, %v with pp_overlap switched", o.Layout, ob, bound)
			}
		}
	}
	if moe < 20 || cp < 20 || mtp < 20 || dual < 10 {
		t.Errorf("only %d mixture-of-experts, %d context-parallel, %d MTP and %d DualPipe layouts of %d", moe, cp, mtp, dual, tried)
	}
	t.Logf("tightest bound: %.3f of the step (%d layouts, %d MoE, %d CP, %d MTP, %d DualPipe)", tightest, tried, moe, cp, mtp, dual)
}
