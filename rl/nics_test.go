package rl

import (
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
	"trainsim/units"
)

// TestNICNoteOnce: an RL step on DGX H100 nodes cut to 4 GPUs (their NICs
// scaled to 4, topology.System.WithGPUsPerNode) says so once, in the RL
// step's notes; the policy's training replay, shown beside them, does not
// repeat it.
func TestNICNoteOnce(t *testing.T) {
	m, _ := model.Preset("llama3-8b")
	sys, _ := topology.SystemPreset("dgx-h100")
	sys = sys.WithGPUsPerNode(4)
	if sys.Network.NICsPerNode != 4 {
		t.Fatalf("dgx-h100 on 4 GPUs: %d NICs, want 4", sys.Network.NICsPerNode)
	}
	j := parallelism.Job{
		Model: m, Cluster: topology.Cluster{System: sys, Nodes: 2},
		Layout: parallelism.Layout{TP: 1, PP: 1, DP: 8, CP: 1, EP: 1, Microbatch: 1, VirtualStages: 1,
			Schedule: parallelism.OneFOneB, Recompute: parallelism.RecomputeFull, ZeRO: 1, OverlapGradReduce: true, PPOverlap: true},
		Training: parallelism.Training{GlobalBatch: 8, Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash},
		Options:  parallelism.Options{Network: parallelism.NetworkAnalytical, Ranks: parallelism.RanksSymmetric},
	}
	v, errs := j.Validate()
	if len(errs) > 0 {
		t.Fatalf("job: %v", errs)
	}
	r, err := Run(v, grpo())
	if err != nil {
		t.Fatal(err)
	}
	count := func(notes []string) (n int) {
		for _, s := range notes {
			if strings.HasPrefix(s, "NICs: cluster.gpus_per_node = 4 overrides dgx-h100's 8 GPUs per node") {
				n++
			}
		}
		return n
	}
	if n := count(r.Notes); n != 1 {
		t.Errorf("%d NIC notes in the RL step's notes %q, want 1", n, r.Notes)
	}
	if r.TrainResult == nil {
		t.Fatal("no training replay")
	}
	if n := count(r.TrainResult.Notes); n != 0 {
		t.Errorf("%d NIC notes in the training replay's notes, want 0", n)
	}
}
