package parallelism

import (
	"math"
	"testing"
)

// TestFlexSpan: the nodes a flex dispatch spans are those of its
// expert-parallel group on the device mesh, not ⌈ETP·EP / GPUs per node⌉
// (what the report showed before, "naive" below). smallMoE has 16 experts,
// top-2, no router groups, so a token reaches 2·(1 − C(8,2)/C(16,2)) =
// 1.5333 of 2 nodes.
//   - EP 16 on 2 × 8 GPUs: ranks 0–15, 2 nodes (naive 2).
//   - EP 8 on 2 × 8: ranks 0–7, 1 node (naive 1).
//   - ETP 16 × EP 2 on 4 × 8: the EP group is ranks {0, 16}, 2 nodes; the
//     naive count takes the 32 ranks of ETP × EP, 4 nodes.
//   - ETP 4 × EP 2 on 4 × 6 GPUs: the EP group {0, 4} sits on node 0
//     (ranks 0–5), 1 node; the naive count ⌈8/6⌉ = 2.
//   - EP 4, PP 3 on 2 × 6 GPUs (4 ranks a stage): stage 0's group 0–3 is on
//     node 0, stage 1's 4–7 on nodes 0 and 1, stage 2's 8–11 on node 1; the
//     widest stage spans 2 (naive 1).
func TestFlexSpan(t *testing.T) {
	dest2 := 2 * (1 - 28.0/120)
	tests := []struct {
		name                        string
		nodes, perNode, pp, ep, etp int
		want                        FlexSpan
		naive                       int
	}{
		{"EP 16 over 2 nodes", 2, 8, 1, 16, 1, FlexSpan{2, dest2}, 2},
		{"EP 8 in a node", 2, 8, 1, 8, 1, FlexSpan{1, 1}, 1},
		{"ETP 16 × EP 2", 4, 8, 1, 2, 16, FlexSpan{2, dest2}, 4},
		{"ETP 4 × EP 2, 6 GPUs a node", 4, 6, 1, 2, 4, FlexSpan{1, 1}, 2},
		{"EP 4, PP 3, 6 GPUs a node", 2, 6, 3, 4, 1, FlexSpan{2, dest2}, 1},
	}
	for _, tt := range tests {
		j := moeJob(t, 1, tt.ep, tt.etp)
		j.Cluster.Nodes, j.Cluster.GPUsPerNode = tt.nodes, tt.perNode
		j.Layout.PP, j.Layout.DP = tt.pp, tt.nodes*tt.perNode/tt.pp
		j.Layout.Dispatcher = DispatcherFlex
		got, err := j.FlexSpan()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Nodes != tt.want.Nodes || math.Abs(got.Destinations-tt.want.Destinations) > 1e-12 {
			t.Errorf("%s: FlexSpan %+v, want %+v", tt.name, got, tt.want)
		}
		if naive := (tt.etp*tt.ep + tt.perNode - 1) / tt.perNode; naive != tt.naive {
			t.Errorf("%s: naive count %d, want %d", tt.name, naive, tt.naive)
		}
		j.Layout.Dispatcher = DispatcherAllToAll
		if got, err := j.FlexSpan(); err != nil || got != (FlexSpan{}) {
			t.Errorf("%s under alltoall: %+v, %v; want the zero span", tt.name, got, err)
		}
	}
}

// TestFlexPricedInsideANode: ETP 4 × EP 2 on 6-GPU nodes keeps each
// expert-parallel group inside a node, so the flex dispatch is priced as
// the all-to-all (no overlap, so its SMs change nothing) although ETP·EP = 8
// is more than a node: the steps differ only by the host's dispatch syncs
// (flexSyncGap).
func TestFlexPricedInsideANode(t *testing.T) {
	job := func(d Dispatcher) Job {
		j := moeJob(t, 1, 2, 4)
		j.Cluster.Nodes, j.Cluster.GPUsPerNode = 4, 6
		j.Layout.DP = 24
		j.Training.GlobalBatch = 48
		j.Layout.Dispatcher = d
		return j
	}
	step := func(d Dispatcher) float64 {
		r, err := simulateJob(job(d))
		if err != nil {
			t.Fatal(err)
		}
		return float64(r.StepTime)
	}
	gap := flexSyncGap(t, job(DispatcherAllToAll))
	if a, f := step(DispatcherAllToAll), step(DispatcherFlex); math.Abs(a-f-gap) > 1e-9 {
		t.Errorf("flex %g s, alltoall %g s; want them %g s apart (the host syncs)", f, a, gap)
	}
}
