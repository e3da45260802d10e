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
//	chunk per ring step: 1 GiB / 2 = 512 MiB; size factor 512 MiB / (512 MiB + 512 KiB) = 1024/1025
//	bandwidth term: 2 · (2−1)/2 · 1 GiB / (23 GB/s · 1024/1025) = 46.73 ms
//	latency term: 2 · (2−1) steps · 2 µs = 4 µs
//	total: 46.73 ms
func TestWorkedExample(t *testing.T) {
	s, _ := topology.SystemPreset("dgx-a100-80gb")
	m := Model{Cluster: topology.Cluster{System: s, Nodes: 2}, Params: DefaultParams()}
	c, err := m.Time(AllReduce, units.GiB, Placement{Ranks: 2, PerNode: 1})
	if err != nil {
		t.Fatal(err)
	}
	hand := float64(units.GiB)/(23e9*1024/1025) + 4e-6
	if math.Abs(float64(c.Time)/hand-1) > 1e-9 || c.Bottleneck != NIC {
		t.Fatalf("got %v on %v, hand %.6g s on nic", c.Time, c.Bottleneck, hand)
	}
	if got := fmt.Sprintf("%.2f ms", float64(c.Time)*1e3); got != "46.73 ms" {
		t.Errorf("docs/network.md quotes 46.73 ms, model gives %s", got)
	}
}
