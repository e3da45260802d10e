package collective

import (
	"math"
	"testing"

	"trainsim/topology"
	"trainsim/units"
)

func dgx(t *testing.T, nodes int) Model {
	t.Helper()
	s, ok := topology.SystemPreset("dgx-a100-80gb")
	if !ok {
		t.Fatal("no dgx-a100-80gb preset")
	}
	return Model{Cluster: topology.Cluster{System: s, Nodes: nodes}, Params: DefaultParams()}
}

// TestRingAllReduceClosedForm checks the ring against 2(n−1)/n·S/B plus
// 2(n−1) latencies, inside one node and across nodes with one rank per node
// (each on its own NIC), B being the achievable bandwidth at this message size.
func TestRingAllReduceClosedForm(t *testing.T) {
	m := dgx(t, 8)
	p := m.Params
	S := units.Bytes(1 << 30)
	tests := []struct {
		name  string
		place Placement
		raw   units.Bandwidth
		frac  float64
		alpha units.Seconds
		tier  topology.Tier
	}{
		{"8 GPUs in one node", Placement{Ranks: 8, PerNode: 8}, 300e9, p.NVLinkFraction, m.Cluster.NVLink.Latency, NVLink},
		{"2 nodes, 1 rank each", Placement{Ranks: 2, PerNode: 1}, 25e9, p.NICFraction, m.Cluster.Network.Latency, NIC},
	}
	for _, tc := range tests {
		n := float64(tc.place.Ranks)
		chunk := float64(S) / n
		bw := float64(tc.raw) * tc.frac * chunk / (chunk + float64(p.HalfBandwidthBytes))
		want := 2*(n-1)/n*float64(S)/bw + 2*(n-1)*float64(tc.alpha)
		c, err := m.Time(AllReduce, S, tc.place)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(c.Time)/want-1) > 1e-9 || c.Bottleneck != tc.tier {
			t.Errorf("%s: %v via %s on %v, want %.6g s on %v", tc.name, c.Time, c.Algorithm, c.Bottleneck, want, tc.tier)
		}
		// A rank sends 2(n−1)/n·S in a ring all-reduce, and receives as much.
		if sent := float64(c.Sent[NVLink] + c.Sent[NIC]); math.Abs(sent/(2*(n-1)/n*float64(S))-1) > 1e-12 {
			t.Errorf("%s: sent %g bytes, want %g", tc.name, sent, 2*(n-1)/n*float64(S))
		}
	}
}

// TestReduceScatterIsHalfAllReduce: a ring all-reduce is a reduce-scatter
// followed by an all-gather of the same buffer.
func TestReduceScatterIsHalfAllReduce(t *testing.T) {
	m := dgx(t, 16)
	for _, p := range []Placement{{Ranks: 8, PerNode: 8}, {Ranks: 16, PerNode: 1}, {Ranks: 64, PerNode: 4}} {
		S := units.Bytes(256 << 20)
		ar, _ := m.Time(AllReduce, S, p)
		rs, _ := m.Time(ReduceScatter, S, p)
		ag, _ := m.Time(AllGather, S, p)
		if ar.Algorithm != "ring" {
			continue
		}
		if math.Abs(float64(rs.Time+ag.Time)/float64(ar.Time)-1) > 1e-9 {
			t.Errorf("%+v: RS %v + AG %v != AR %v", p, rs.Time, ag.Time, ar.Time)
		}
	}
}

// TestHierarchicalUsesAllNICs: a group with k ranks per node crosses nodes on
// k NICs at once, so it is faster than one rank per node on one NIC.
func TestHierarchicalUsesAllNICs(t *testing.T) {
	m := dgx(t, 16)
	S := units.Bytes(1 << 30)
	one, _ := m.Time(AllReduce, S, Placement{Ranks: 16, PerNode: 1})
	eight, _ := m.Time(AllReduce, S, Placement{Ranks: 128, PerNode: 8})
	if eight.Time >= one.Time {
		t.Errorf("8 ranks per node (%v) should beat 1 rank per node (%v)", eight.Time, one.Time)
	}
}

func TestTreeForSmallMessagesAtScale(t *testing.T) {
	m := dgx(t, 512)
	c, _ := m.Time(AllReduce, 4096, Placement{Ranks: 512, PerNode: 1})
	if c.Algorithm != "tree" {
		t.Errorf("4 KiB over 512 nodes: %s, want tree", c.Algorithm)
	}
	big, _ := m.Time(AllReduce, 4<<30, Placement{Ranks: 8, PerNode: 1})
	if big.Algorithm != "ring" {
		t.Errorf("4 GiB over 8 nodes: %s, want ring", big.Algorithm)
	}
}

func TestOversubscriptionSlowsSpineTraffic(t *testing.T) {
	m := dgx(t, 64)
	S := units.Bytes(1 << 30)
	base, _ := m.Time(AllReduce, S, Placement{Ranks: 64, PerNode: 1})
	m.Cluster.Network.Oversubscription = 4
	slow, _ := m.Time(AllReduce, S, Placement{Ranks: 64, PerNode: 1})
	within, _ := m.Time(AllReduce, S, Placement{Ranks: 16, PerNode: 1})
	m.Cluster.Network.Oversubscription = 1
	withinBase, _ := m.Time(AllReduce, S, Placement{Ranks: 16, PerNode: 1})
	if slow.Time <= 3*base.Time {
		t.Errorf("4:1 oversubscription across leaves: %v vs %v non-blocking", slow.Time, base.Time)
	}
	if within.Time != withinBase.Time {
		t.Errorf("a group inside one leaf should not see oversubscription")
	}
}

func TestInvalidPlacement(t *testing.T) {
	m := dgx(t, 2)
	if _, err := m.Time(AllReduce, 1, Placement{Ranks: 8, PerNode: 16}); err == nil {
		t.Error("16 ranks per node on an 8-GPU node should fail")
	}
	if _, err := m.Time(AllReduce, 1, Placement{Ranks: 0, PerNode: 1}); err == nil {
		t.Error("empty group should fail")
	}
}

// TestAllToAll: each rank sends S/n to every other rank; across nodes the NIC
// share carries the n−k shares that leave the node.
func TestAllToAll(t *testing.T) {
	m := dgx(t, 2)
	S := units.Bytes(1 << 30)
	c, err := m.Time(AllToAll, S, Placement{Ranks: 16, PerNode: 8})
	if err != nil {
		t.Fatal(err)
	}
	share := float64(S) / 16
	f := m.Params.SizeFactor(units.Bytes(share))
	want := 8*share/(25e9*m.Params.NICFraction*f) + float64(m.Cluster.Network.Latency)
	if math.Abs(float64(c.Time)/want-1) > 1e-9 || c.Bottleneck != NIC {
		t.Errorf("all-to-all over 2 nodes: %v on %v, want %.6g s on nic", c.Time, c.Bottleneck, want)
	}
	if got := float64(c.Sent[NVLink] + c.Sent[NIC]); math.Abs(got/(15*share)-1) > 1e-12 {
		t.Errorf("sent %g, want 15/16 of S", got)
	}
	tr := Transfers(AllToAll, S, []int{0, 1, 2}, 1)
	if len(tr) != 6 {
		t.Errorf("%d all-to-all transfers among 3 ranks, want 6", len(tr))
	}
}

func TestForcedAlgorithm(t *testing.T) {
	m := dgx(t, 512)
	m.Params.AllReduce = AlgorithmRing
	if c, _ := m.Time(AllReduce, 4096, Placement{Ranks: 512, PerNode: 1}); c.Algorithm != "ring" {
		t.Errorf("forced ring: got %s", c.Algorithm)
	}
	m.Params.AllReduce = AlgorithmTree
	if c, _ := m.Time(AllReduce, 4<<30, Placement{Ranks: 8, PerNode: 1}); c.Algorithm != "tree" {
		t.Errorf("forced tree over 8 nodes: got %s", c.Algorithm)
	}
}
