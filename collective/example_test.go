package collective

import (
	"fmt"
	"math"
	"testing"

	"trainsim/topology"
	"trainsim/units"
)

// TestWorkedExample is the hand-checked example of docs/network.md: a 1 GiB
// gradient all-reduce between two DGX A100 nodes, one rank on each.
//
//	NIC share per GPU: 8 × 200 Gb/s / 8 GPUs = 25 GB/s; × 0.92 = 23 GB/s
//	protocol: NCCL's Simple (full bandwidth) beats LL (half) at this size
//	bandwidth term: 2 · (2−1)/2 · 1 GiB / 23 GB/s = 46.68 ms
//	latency term: 8.4 µs base + 2 · (2−1) steps · 14 µs = 36.4 µs (NCCL tuning.cc)
//	total: 46.72 ms
func TestWorkedExample(t *testing.T) {
	s, _ := topology.SystemPreset("dgx-a100-80gb")
	m := Model{Cluster: topology.Cluster{System: s, Nodes: 2}, Params: DefaultParams()}
	c, err := m.Time(AllReduce, units.GiB, Placement{Ranks: 2, PerNode: 1})
	if err != nil {
		t.Fatal(err)
	}
	hand := float64(units.GiB)/23e9 + 8.4e-6 + 2*14e-6
	if math.Abs(float64(c.Time)/hand-1) > 1e-9 || c.Bottleneck != NIC {
		t.Fatalf("got %v on %v, hand %.6g s on nic", c.Time, c.Bottleneck, hand)
	}
	if got := fmt.Sprintf("%.2f ms", float64(c.Time)*1e3); got != "46.72 ms" {
		t.Errorf("docs/network.md quotes 46.72 ms, model gives %s", got)
	}
}
