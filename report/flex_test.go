package report

import (
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
)

// TestMoELayoutFlexSpan: the experts line's and JSON's nodes and
// destination nodes are the pricer's (parallelism.Job.FlexSpan), including
// where the expert-parallel group's span differs from ⌈ETP·EP / GPUs per
// node⌉, the count the report used before. 16 experts, top-2: 1.5333 of 2
// nodes (2·(1 − C(8,2)/C(16,2))).
func TestMoELayoutFlexSpan(t *testing.T) {
	sys, ok := topology.SystemPreset("dgx-h100")
	if !ok {
		t.Fatal("no dgx-h100 preset")
	}
	tests := []struct {
		name                        string
		nodes, perNode, pp, ep, etp int
		wantNodes                   int
	}{
		{"EP 16 over 2 nodes", 2, 8, 1, 16, 1, 2},
		{"ETP 16 × EP 2 (naive 4)", 4, 8, 1, 2, 16, 2},
		{"ETP 4 × EP 2, 6 GPUs a node (naive 2)", 4, 6, 1, 2, 4, 1},
		{"EP 4, PP 3, 6 GPUs a node (naive 1)", 2, 6, 3, 4, 1, 2},
	}
	for _, tt := range tests {
		j := parallelism.Job{
			Model:   model.Config{Layers: 4, Hidden: 1024, Heads: 8, FFNHidden: 4096, SeqLen: 1024, Vocab: 32000, Experts: 16, TopK: 2, MoEFFNHidden: 512},
			Cluster: topology.Cluster{System: sys, Nodes: tt.nodes},
			Layout: parallelism.Layout{TP: 1, CP: 1, PP: tt.pp, EP: tt.ep, ETP: tt.etp, DP: tt.nodes * tt.perNode / tt.pp,
				Dispatcher: parallelism.DispatcherFlex},
		}
		j.Cluster.GPUsPerNode = tt.perNode
		want, err := j.FlexSpan()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := moeLayout(j)
		if got.EPNodes != tt.wantNodes || got.EPNodes != want.Nodes || got.DestinationNodes != want.Destinations {
			t.Errorf("%s: report %d nodes, %g destinations; priced %+v; want %d nodes", tt.name, got.EPNodes, got.DestinationNodes, want, tt.wantNodes)
		}
	}
}
