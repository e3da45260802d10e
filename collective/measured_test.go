package collective

import (
	"math"
	"testing"

	"trainsim/topology"
	"trainsim/units"
)

// TestMeasuredAllReduce checks the measured A100 all-reduce against the
// table's rows worked by hand: a measured size is its row, a size between
// two rows the straight line between them, a size past the last row the
// last segment continued, a size below the first row the formula's time
// plus the measurement's excess at 1 MiB times size/1 MiB, a reduce-scatter or all-gather half
// an all-reduce of the same buffer; a group across nodes, or with no
// measured curve, keeps the formula.
func TestMeasuredAllReduce(t *testing.T) {
	m := dgx(t, 2)
	m.Params.NVLinkAllReduce = A100AllReduce()
	formula := dgx(t, 2)
	us := func(x float64) units.Seconds { return units.Seconds(x * 1e-6) }
	// The closed form over 8 GPUs of one node (TestRingAllReduceClosedForm):
	// B = 300 GB/s × 0.78, the size factor of a chunk S/8, 14 latencies.
	ring8 := func(S float64) float64 {
		c := S / 8
		bw := 300e9 * 0.78 * c / (c + math.Min(c, 512*1024))
		return 2*7.0/8*S/bw + 14*float64(m.Cluster.NVLink.Latency)
	}
	mib := float64(units.MiB)
	tests := []struct {
		name  string
		op    Op
		S     units.Bytes
		place Placement
		want  units.Seconds
	}{
		{"8 GPUs, 64 MiB: the row", AllReduce, 64 * units.MiB, Placement{Ranks: 8, PerNode: 8}, us(579.9)},
		{"8 GPUs, 80 MiB: between 64 and 96 MiB", AllReduce, 80 * units.MiB, Placement{Ranks: 8, PerNode: 8}, us(579.9 + 0.5*(828.5-579.9))},
		{"8 GPUs, 2 GiB: past 1 GiB", AllReduce, 2048 * units.MiB, Placement{Ranks: 8, PerNode: 8}, us(8193.0 + 4*(8193.0-6187.0))},
		{"2 GPUs, 1 GiB", AllReduce, 1024 * units.MiB, Placement{Ranks: 2, PerNode: 2}, us(5442.8)},
		{"4 GPUs, 12 MiB", AllReduce, 12 * units.MiB, Placement{Ranks: 4, PerNode: 4}, us(139.2)},
		{"5 GPUs, 2 MiB: not below 1 MiB's 62.8", AllReduce, 2 * units.MiB, Placement{Ranks: 5, PerNode: 5}, us(62.8)},
		{"8 GPUs, 512 KiB: formula + half the excess at 1 MiB", AllReduce, 512 * units.KiB, Placement{Ranks: 8, PerNode: 8}, units.Seconds(ring8(0.5*mib) + 0.5*(92.8e-6-ring8(mib)))},
		{"8 GPUs, 8 B: the formula's latency", AllReduce, 8, Placement{Ranks: 8, PerNode: 8}, units.Seconds(ring8(8) + 8/mib*(92.8e-6-ring8(mib)))},
		{"reduce-scatter, 2 GPUs, 64 MiB", ReduceScatter, 64 * units.MiB, Placement{Ranks: 2, PerNode: 2}, us(404.7 / 2)},
		{"all-gather, 8 GPUs, 256 MiB", AllGather, 256 * units.MiB, Placement{Ranks: 8, PerNode: 8}, us(2162.3 / 2)},
	}
	for _, tc := range tests {
		c, err := m.Time(tc.op, tc.S, tc.place)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(c.Time)/float64(tc.want)-1) > 1e-9 {
			t.Errorf("%s: %v, want %v", tc.name, c.Time, tc.want)
		}
		if c.Latency > c.Time {
			t.Errorf("%s: latency %v beyond the time %v", tc.name, c.Latency, c.Time)
		}
		f, err := formula.Time(tc.op, tc.S, tc.place)
		if err != nil {
			t.Fatal(err)
		}
		if c.Bytes != f.Bytes || c.Sent != f.Sent {
			t.Errorf("%s: bytes %v/%v, the formula's %v/%v: the measurement changes times, not bytes", tc.name, c.Bytes, c.Sent, f.Bytes, f.Sent)
		}
	}
	// Across nodes, and for a group size with no curve, the formula.
	for _, p := range []Placement{{Ranks: 16, PerNode: 8}, {Ranks: 2, PerNode: 1}} {
		c, _ := m.Time(AllReduce, 64*units.MiB, p)
		f, _ := formula.Time(AllReduce, 64*units.MiB, p)
		if c != f {
			t.Errorf("%+v: %v, want the formula's %v", p, c.Time, f.Time)
		}
	}
	m.Params.NVLinkAllReduce.Times = map[int][]units.Seconds{}
	c, _ := m.Time(AllReduce, 64*units.MiB, Placement{Ranks: 8, PerNode: 8})
	f, _ := formula.Time(AllReduce, 64*units.MiB, Placement{Ranks: 8, PerNode: 8})
	if c != f {
		t.Errorf("no curve for 8 ranks: %v, want the formula's %v", c.Time, f.Time)
	}
}

// TestMeasuredAllReduceSlower checks what the measurement says against the
// formula at every row: slower at every measured size and group (the
// reason it replaces the formula on A100 nodes), and never faster for a
// larger buffer.
func TestMeasuredAllReduceSlower(t *testing.T) {
	m := dgx(t, 1)
	curve := A100AllReduce()
	for n, ts := range curve.Times {
		for i, S := range curve.Bytes {
			f, err := m.Time(AllReduce, S, Placement{Ranks: n, PerNode: n})
			if err != nil {
				t.Fatal(err)
			}
			if ts[i] <= f.Time {
				t.Errorf("%d GPUs, %v: measured %v, not slower than the formula's %v", n, S, ts[i], f.Time)
			}
			if i > 0 && ts[i] < ts[i-1] {
				t.Errorf("%d GPUs: %v takes %v, less than %v at %v", n, S, ts[i], ts[i-1], curve.Bytes[i-1])
			}
		}
	}
}

// TestMeasuredStretch checks the flow-mode stretch by hand: the measured
// time less the formula's latency over the formula's time less the same
// latency, at a table row; 1 across nodes, for sends and without a curve.
func TestMeasuredStretch(t *testing.T) {
	m := dgx(t, 2)
	m.Params.NVLinkAllReduce = A100AllReduce()
	S := 64.0 * float64(units.MiB)
	c := S / 8
	lat := 14 * float64(m.Cluster.NVLink.Latency)
	formula := 2*7.0/8*S/(300e9*0.78*c/(c+math.Min(c, 512*1024))) + lat
	want := (579.9e-6 - lat) / (formula - lat)
	if got := m.MeasuredStretch(AllReduce, 64*units.MiB, 8); math.Abs(got/want-1) > 1e-9 {
		t.Errorf("all-reduce, 8 GPUs, 64 MiB: stretch %.6f, want %.6f", got, want)
	}
	if got := m.MeasuredStretch(SendRecv, 64*units.MiB, 2); got != 1 {
		t.Errorf("send: stretch %g, want 1", got)
	}
	if got := m.MeasuredStretch(AllReduce, 64*units.MiB, 16); got != 1 {
		t.Errorf("16 ranks on 8-GPU nodes: stretch %g, want 1", got)
	}
	m.Params.NVLinkAllReduce = nil
	if got := m.MeasuredStretch(AllReduce, 64*units.MiB, 8); got != 1 {
		t.Errorf("no curve: stretch %g, want 1", got)
	}
}

// TestCurveCovers: the A100 table holds groups of 2 to 8 GPUs and no
// other size, and a missing table covers nothing (sim collective's header
// says "measured" only where Covers does).
func TestCurveCovers(t *testing.T) {
	c := A100AllReduce()
	for _, tc := range []struct {
		ranks int
		want  bool
	}{{1, false}, {2, true}, {5, true}, {8, true}, {9, false}, {16, false}} {
		if got := c.Covers(tc.ranks); got != tc.want {
			t.Errorf("Covers(%d) = %v, want %v", tc.ranks, got, tc.want)
		}
	}
	var none *AllReduceCurve
	if none.Covers(8) {
		t.Error("a nil curve covers 8 ranks")
	}
}

// nvl5 returns the collective model of one node of the named NVLink-5
// system with NCCL's measured all-to-all (NVLink5AllToAll).
func nvl5(t *testing.T, system string, nodes int) Model {
	t.Helper()
	s, ok := topology.SystemPreset(system)
	if !ok {
		t.Fatalf("no %s preset", system)
	}
	m := Model{Cluster: topology.Cluster{System: s, Nodes: nodes}, Params: DefaultParams()}
	m.Params.NVLinkAllToAll = NVLink5AllToAll()
	return m
}

// a2aFormula is the formula's all-to-all of a buffer of S bytes per rank
// over n GPUs of one NVLink-5 node, by hand: (n−1)·S/n at 900 GB/s × 0.78
// times the size factor of a share S/n, plus one NVLink latency (1 µs).
func a2aFormula(n, S float64) float64 {
	c := S / n
	return (n-1)*c/(900e9*0.78*c/(c+math.Min(c, 512*1024))) + 1e-6
}

// TestMeasuredAllToAll checks NCCL's measured all-to-all on NVLink 5
// against the table's rows worked by hand: a measured size is its row, a
// size between two rows the straight line between them, past the last row
// the last segment continued, below the first row the formula plus the
// measurement's excess at 64 MiB times size/64 MiB; a group size between
// two measured ones the straight line in ranks between their times, past
// the largest the largest's time, under the smallest, across nodes or
// without a curve the formula. The bytes sent are the formula's.
func TestMeasuredAllToAll(t *testing.T) {
	mib := float64(units.MiB)
	us := func(x float64) float64 { return x * 1e-6 }
	tests := []struct {
		name   string
		system string
		nodes  int
		S      units.Bytes
		place  Placement
		curve  bool
		want   float64
	}{
		{"8 GPUs, 256 MiB: the row", "dgx-b200", 1, 256 * units.MiB, Placement{Ranks: 8, PerNode: 8}, true, us(418.2)},
		{"8 GPUs, 384 MiB: between 256 and 512 MiB", "dgx-b200", 1, 384 * units.MiB, Placement{Ranks: 8, PerNode: 8}, true, us(418.2 + 0.5*(796.3-418.2))},
		{"8 GPUs, 32 GiB: past 16 GiB", "dgx-b200", 1, 32768 * units.MiB, Placement{Ranks: 8, PerNode: 8}, true, us(21943 + 2*(21943-11059))},
		{"8 GPUs, 32 MiB: below 64 MiB", "dgx-b200", 1, 32 * units.MiB, Placement{Ranks: 8, PerNode: 8}, true,
			a2aFormula(8, 32*mib) + 0.5*(us(130.1)-a2aFormula(8, 64*mib))},
		{"4 GPUs, 128 MiB: the row", "dgx-b200", 1, 128 * units.MiB, Placement{Ranks: 4, PerNode: 4}, true, us(218.9)},
		{"32 GPUs of an NVL72 domain, 256 MiB: between 8 and 64 ranks", "gb200-nvl72", 1, 256 * units.MiB, Placement{Ranks: 32, PerNode: 32}, true,
			us(418.2 + 24.0/56*(463.1-418.2))},
		{"64 GPUs, 1 GiB: the row", "gb200-nvl72", 1, 1024 * units.MiB, Placement{Ranks: 64, PerNode: 64}, true, us(1623.0)},
		{"72 GPUs, 256 MiB: the 64-GPU row", "gb200-nvl72", 1, 256 * units.MiB, Placement{Ranks: 72, PerNode: 72}, true, us(463.1)},
		{"2 GPUs, 256 MiB: under 4 measured, the formula", "dgx-b200", 1, 256 * units.MiB, Placement{Ranks: 2, PerNode: 2}, true, a2aFormula(2, 256*mib)},
		{"8 GPUs, 256 MiB, no curve: the formula", "dgx-b200", 1, 256 * units.MiB, Placement{Ranks: 8, PerNode: 8}, false, a2aFormula(8, 256*mib)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := nvl5(t, tc.system, tc.nodes)
			if !tc.curve {
				m.Params.NVLinkAllToAll = nil
			}
			c, err := m.Time(AllToAll, tc.S, tc.place)
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(c.Time); math.Abs(got/tc.want-1) > 1e-6 {
				t.Errorf("time %.3f µs, want %.3f µs", got*1e6, tc.want*1e6)
			}
			n := float64(tc.place.Ranks)
			if want := units.Bytes((n - 1) * float64(tc.S/units.Bytes(n))); c.Sent[NVLink] != want || c.Bytes != want {
				t.Errorf("sent %v over NVLink (%v in all), want %v", c.Sent[NVLink], c.Bytes, want)
			}
			if c.Latency > c.Time || c.Latency <= 0 {
				t.Errorf("latency %v outside (0, %v]", c.Latency, c.Time)
			}
		})
	}
	// Across two DGX B200 nodes the NIC share bounds the exchange: the
	// formula, the same with and without the curve.
	m, f := nvl5(t, "dgx-b200", 2), nvl5(t, "dgx-b200", 2)
	f.Params.NVLinkAllToAll = nil
	p := Placement{Ranks: 16, PerNode: 8}
	a, _ := m.Time(AllToAll, 256*units.MiB, p)
	b, _ := f.Time(AllToAll, 256*units.MiB, p)
	if a != b {
		t.Errorf("16 GPUs on 2 nodes: %+v with the curve, %+v without", a, b)
	}
}

// TestMeasuredAllToAllStretch checks flow mode's stretch of an all-to-all
// by hand: the measured time less the NVLink latency over the formula's
// less the same; the all-reduce curve's absence does not matter, and
// without the all-to-all curve it is 1.
func TestMeasuredAllToAllStretch(t *testing.T) {
	m := nvl5(t, "dgx-b200", 1)
	S := 256 * float64(units.MiB)
	want := (418.2e-6 - 1e-6) / (a2aFormula(8, S) - 1e-6)
	if got := m.MeasuredStretch(AllToAll, 256*units.MiB, 8); math.Abs(got/want-1) > 1e-9 {
		t.Errorf("all-to-all, 8 GPUs, 256 MiB: stretch %.6f, want %.6f", got, want)
	}
	if got := m.MeasuredStretch(AllReduce, 256*units.MiB, 8); got != 1 {
		t.Errorf("all-reduce with only the all-to-all curve: stretch %g, want 1", got)
	}
	m.Params.NVLinkAllToAll = nil
	if got := m.MeasuredStretch(AllToAll, 256*units.MiB, 8); got != 1 {
		t.Errorf("no curve: stretch %g, want 1", got)
	}
}

// TestAllToAllCurveCovers: the NVLink-5 table prices groups of 4 GPUs and
// more (the smallest measured), none smaller, and a missing table nothing.
func TestAllToAllCurveCovers(t *testing.T) {
	c := NVLink5AllToAll()
	for _, tc := range []struct {
		ranks int
		want  bool
	}{{1, false}, {2, false}, {3, false}, {4, true}, {8, true}, {32, true}, {72, true}} {
		if got := c.Covers(tc.ranks); got != tc.want {
			t.Errorf("Covers(%d) = %v, want %v", tc.ranks, got, tc.want)
		}
	}
	var none *AllToAllCurve
	if none.Covers(8) {
		t.Error("a nil curve covers 8 ranks")
	}
	for n, ts := range c.Times {
		for i := range ts {
			if i > 0 && ts[i] <= ts[i-1] {
				t.Errorf("%d GPUs: %v takes %v, not more than %v at %v", n, c.Bytes[i], ts[i], ts[i-1], c.Bytes[i-1])
			}
		}
	}
}

// TestHopperCollectives checks XLA's measured Hopper collectives on one DGX
// H100 against the sm_90 rows of collective_interpolator_data.h worked by
// hand (time = size / network_throughput_bytes_per_sec): all-reduce 128 MiB
// over 8 GPUs at 200281921497 B/s is 670.1 µs, over 2 GPUs at 64 MiB
// 203192713884 B/s is 330.3 µs; all-to-all 128 MiB over 4 GPUs at
// 374926611245 B/s is 358.0 µs, 256 MiB over 8 at 353651264755 B/s 759.0
// µs; a reduce-scatter or all-gather half the all-reduce of its buffer; a
// size between rows the straight line, past 512 MiB the last segment
// continued, below 32 MiB the formula plus the excess at 32 MiB scaled.
func TestHopperCollectives(t *testing.T) {
	s, ok := topology.SystemPreset("dgx-h100")
	if !ok {
		t.Fatal("no dgx-h100 preset")
	}
	m := Model{Cluster: topology.Cluster{System: s, Nodes: 1}, Params: DefaultParams()}
	formula := m
	m.Params.NVLinkAllReduce, m.Params.NVLinkAllToAll = HopperCollectives()
	mib := float64(units.MiB)
	us := func(x float64) float64 { return x * 1e-6 }
	row := func(mibs, tput float64) float64 { return mibs * mib / tput }
	// The formula's ring all-reduce over 8 GPUs of a DGX H100, by hand:
	// 2·7/8·S at 450 GB/s × 0.78 times the size factor of S/8, 14 latencies.
	ring8 := func(S float64) float64 {
		c := S / 8
		bw := 450e9 * 0.78 * c / (c + math.Min(c, 512*1024))
		return 2*7.0/8*S/bw + 14*float64(m.Cluster.NVLink.Latency)
	}
	tests := []struct {
		name string
		op   Op
		S    units.Bytes
		n    int
		want float64
	}{
		{"all-reduce, 8 GPUs, 128 MiB: the row", AllReduce, 128 * units.MiB, 8, row(128, 200281921497)},
		{"all-reduce, 2 GPUs, 64 MiB: the row", AllReduce, 64 * units.MiB, 2, row(64, 203192713884)},
		{"all-reduce, 4 GPUs, 96 MiB: between 64 and 128 MiB", AllReduce, 96 * units.MiB, 4, us(394.7 + 0.5*(738.2-394.7))},
		{"all-reduce, 8 GPUs, 1 GiB: past 512 MiB", AllReduce, 1024 * units.MiB, 8, us(2431.6 + 2*(2431.6-1262.2))},
		{"all-reduce, 8 GPUs, 16 MiB: below 32 MiB", AllReduce, 16 * units.MiB, 8, ring8(16*mib) + 0.5*(us(225.9)-ring8(32*mib))},
		{"reduce-scatter, 8 GPUs, 128 MiB: half the all-reduce", ReduceScatter, 128 * units.MiB, 8, row(128, 200281921497) / 2},
		{"all-gather, 4 GPUs, 256 MiB: half the all-reduce", AllGather, 256 * units.MiB, 4, row(256, 189098712833) / 2},
		{"all-to-all, 4 GPUs, 128 MiB: the row", AllToAll, 128 * units.MiB, 4, row(128, 374926611245)},
		{"all-to-all, 8 GPUs, 256 MiB: the row", AllToAll, 256 * units.MiB, 8, row(256, 353651264755)},
		{"all-to-all, 2 GPUs, 32 MiB: the row", AllToAll, 32 * units.MiB, 2, row(32, 317942995755)},
		{"all-to-all, 6 GPUs, 64 MiB: between 4 and 8 ranks", AllToAll, 64 * units.MiB, 6, us(232.6 + 0.5*(218.7-232.6))},
	}
	for _, tc := range tests {
		c, err := m.Time(tc.op, tc.S, Placement{Ranks: tc.n, PerNode: tc.n})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// The table's rows are kept to 0.1 µs.
		if got := float64(c.Time); math.Abs(got-tc.want) > 0.06e-6 {
			t.Errorf("%s: %.2f µs, want %.2f", tc.name, got*1e6, tc.want*1e6)
		}
		f, _ := formula.Time(tc.op, tc.S, Placement{Ranks: tc.n, PerNode: tc.n})
		if c.Time <= f.Time && tc.n != 8 {
			t.Errorf("%s: measured %v not above the formula's %v", tc.name, c.Time, f.Time)
		}
	}
}
