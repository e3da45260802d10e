package collective

import (
	"math"
	"testing"

	"trainsim/topology"
	"trainsim/units"
)

// TestMeasuredCurvesEdges prices every operation under the measured curves
// at group sizes the tables do not hold (3, 5, 6, 7 GPUs of a Hopper host;
// 2, 3, 5, 16, 72 GPUs of an NVL72 domain) and at sizes outside the measured
// rows (0 and 1 byte, 1 KiB, just under and over the first row, past the last
// row): every time is finite, positive (zero for an empty buffer), at least the cost's latency, and
// does not fall as the buffer grows.
func TestMeasuredCurvesEdges(t *testing.T) {
	sizes := []units.Bytes{0, 1, units.KiB, units.MiB, 31 * units.MiB, 32 * units.MiB, 33 * units.MiB,
		63 * units.MiB, 65 * units.MiB, 511 * units.MiB, 513 * units.MiB, 600 * units.MiB, 64 * units.GiB}
	ops := []Op{AllReduce, ReduceScatter, AllGather, AllToAll}
	for _, sys := range []struct {
		name   string
		groups []int
	}{
		{"dgx-h100", []int{2, 3, 4, 5, 6, 7, 8}},
		{"gb200-nvl72", []int{2, 3, 4, 5, 8, 16, 63, 64, 72}},
	} {
		s, ok := topology.SystemPreset(sys.name)
		if !ok {
			t.Fatalf("no %s preset", sys.name)
		}
		m := Model{Cluster: topology.Cluster{System: s, Nodes: 1}, Params: DefaultParams()}
		if sys.name == "dgx-h100" {
			m.Params.NVLinkAllReduce, m.Params.NVLinkAllToAll = HopperCollectives()
		} else {
			m.Params.NVLinkAllToAll = NVLink5AllToAll()
		}
		for _, op := range ops {
			for _, n := range sys.groups {
				prev := units.Seconds(0)
				for _, S := range sizes {
					c, err := m.Time(op, S, Placement{Ranks: n, PerNode: n})
					if err != nil {
						t.Fatalf("%s %v over %d GPUs, %v: %v", sys.name, op, n, S, err)
					}
					tm := float64(c.Time)
					if math.IsNaN(tm) || math.IsInf(tm, 0) || tm < 0 || tm == 0 && S > 0 || c.Latency > c.Time || c.Latency < 0 {
						t.Errorf("%s %v over %d GPUs, %v: time %v latency %v", sys.name, op, n, S, c.Time, c.Latency)
					}
					if c.Time < prev {
						t.Errorf("%s %v over %d GPUs: %v takes %v, less than the smaller buffer's %v", sys.name, op, n, S, c.Time, prev)
					}
					prev = c.Time
					st := m.MeasuredStretch(op, S, n)
					if math.IsNaN(st) || math.IsInf(st, 0) || st < 1 {
						t.Errorf("%s %v over %d GPUs, %v: stretch %v", sys.name, op, n, S, st)
					}
				}
			}
		}
	}
}
