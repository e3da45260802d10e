package collective

import (
	"math"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// TestNodeLevelAllToAllHand checks the node-level all-to-all against the
// hand formula: the NIC carries (n−k)/n · NodeCopies of the buffer, NVLink
// (k−1)/k of it, the slower bounds the time, plus the network latency.
func TestNodeLevelAllToAllHand(t *testing.T) {
	s, ok := topology.SystemPreset("hgx-h800")
	if !ok {
		t.Fatal("no hgx-h800 preset")
	}
	m := Model{Cluster: topology.Cluster{System: s, Nodes: 4}, Params: DefaultParams()}
	bytes := units.Bytes(4096 * 8 * 7168 * 2)
	p := Placement{Ranks: 32, PerNode: 8, NodeCopies: 0.4}
	c, err := m.Time(AllToAll, bytes, p)
	if err != nil {
		t.Fatal(err)
	}
	f := m.Params.SizeFactor(bytes / 32)
	nic := m.Cluster.NICBandwidthPerGPU().Scale(m.Params.NICFraction * f)
	nv := m.Cluster.NVLink.Bandwidth.Scale(m.Params.NVLinkFraction * f)
	inter := units.Bytes(24.0 / 32 * 0.4 * float64(bytes))
	intra := units.Bytes(7.0 / 8 * float64(bytes))
	want := max(inter.Over(nic), intra.Over(nv)) + m.Cluster.Network.Latency
	if math.Abs(float64(c.Time-want)) > 1e-12 {
		t.Errorf("node-level time %v, hand %v", c.Time, want)
	}
	if math.Abs(float64(c.Bytes-(inter+intra))) > 1 || math.Abs(float64(c.Sent[NIC]-inter)) > 1 {
		t.Errorf("sent %v (NIC %v), hand %v (NIC %v)", c.Bytes, c.Sent[NIC], inter+intra, inter)
	}
	// Inside one node the placement's NodeCopies changes nothing.
	one := Placement{Ranks: 8, PerNode: 8}
	a, _ := m.Time(AllToAll, bytes, one)
	one.NodeCopies = 0.4
	b, _ := m.Time(AllToAll, bytes, one)
	if a != b {
		t.Errorf("one node: node-level %v, pairwise %v", b, a)
	}
}

// TestNodeLevelAgainstDeepEP prices DeepEP's published internode dispatch
// benchmark (deepseek-ai/DeepEP docs/legacy.md @ 0297fc80: H800, one
// 400 Gb/s CX7 NIC per GPU, 4096 tokens, hidden 7168, BF16, top-8 of 256
// experts, 24 SMs; "bottleneck bandwidth" 43 / 58 / 51 GB/s at EP 16 / 32 /
// 64) and compares the time. The benchmark (tests/test_internode.py)
// routes over as many groups as nodes, min(nodes, 4) of them chosen by
// each group's best score, and counts as RDMA bytes num_rdma_token_sent ×
// hidden × 2: one copy per distinct destination node, the token's own
// node included. So DeepEP's time is 4096 · D · 7168 · 2 / bandwidth,
// D = DestinationNodes.
func TestNodeLevelAgainstDeepEP(t *testing.T) {
	s, ok := topology.SystemPreset("hgx-h800")
	if !ok {
		t.Fatal("no hgx-h800 preset")
	}
	const tokens, hidden, topk, experts = 4096, 7168, 8, 256
	tests := []struct {
		ep     int
		gbps   float64
		lo, hi float64 // the replay's time over DeepEP's
	}{
		// At two nodes the NVLink forward bounds it (7/8 of the buffer
		// over H800's cut NVLink); at four and eight the NIC does.
		{16, 43, 0.90, 1.10},
		{32, 58, 0.90, 1.10},
		{64, 51, 0.90, 1.10},
	}
	for _, tt := range tests {
		nodes := tt.ep / 8
		cfg := model.Config{Experts: experts, TopK: topk, RouterGroups: nodes, RouterGroupTopK: min(nodes, 4)}
		d := cfg.DestinationNodes(nodes)
		m := Model{Cluster: topology.Cluster{System: s, Nodes: nodes}, Params: DefaultParams()}
		bytes := units.Bytes(tokens * topk * hidden * 2)
		c, err := m.Time(AllToAll, bytes, Placement{Ranks: tt.ep, PerNode: 8, NodeCopies: d / topk})
		if err != nil {
			t.Fatal(err)
		}
		deepep := tokens * d * hidden * 2 / (tt.gbps * 1e9)
		r := float64(c.Time) / deepep
		t.Logf("EP %d: D %.3f nodes, replay %.3f ms, DeepEP %.3f ms, ratio %.3f", tt.ep, d, float64(c.Time)*1e3, deepep*1e3, r)
		if r < tt.lo || r > tt.hi {
			t.Errorf("EP %d: replay/DeepEP = %.3f, want %.2f..%.2f", tt.ep, r, tt.lo, tt.hi)
		}
	}
}
