package topology

import (
	"strings"
	"testing"
)

// TestClusterSizeRange: the cluster's node count, GPUs per node and GPUs in
// all have ceilings, each named at its key with the range; the ceilings
// themselves pass.
func TestClusterSizeRange(t *testing.T) {
	sys, ok := SystemPreset("dgx-h100")
	if !ok {
		t.Fatal("no dgx-h100 preset")
	}
	tests := []struct {
		name       string
		nodes, gpn int
		want       string // "" for no size problem
	}{
		{"nodes past the range", 1000000000, 8, "cluster.nodes: must be an integer from 1 to 1048576, got 1000000000"},
		{"nodes at the ceiling, few GPUs each", MaxNodes, 16, ""},
		{"gpus per node past the range", 1, MaxGPUsPerNode + 1, "cluster.gpus_per_node: must be an integer from 1 to 1048576"},
		{"one node of many GPUs (an RL pool)", 1, MaxGPUsPerNode, ""},
		{"gpus past the range", MaxNodes, 32, "cluster.nodes: 1048576 nodes × 32 GPUs = 33554432 GPUs, more than the 16777216 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Cluster{System: sys, Nodes: tt.nodes}
			c.GPUsPerNode = tt.gpn
			var got []string
			for _, e := range c.Validate() {
				if strings.HasPrefix(e.Field, "cluster.nodes") || strings.HasPrefix(e.Field, "cluster.gpus_per_node") {
					got = append(got, e.Error())
				}
			}
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("want no size problem, got %q", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("got %q, want one containing %q", got, tt.want)
			}
		})
	}
}
