package collective

import (
	"math"
	"testing"

	"trainsim/units"
)

// TestBusFactor against nccl-tests' PERFORMANCE.md, worked by hand: on 8
// ranks an all-reduce's busbw is 2·7/8 = 1.75 × algbw, an all-gather's,
// reduce-scatter's and all-to-all's 7/8; send/recv 1; one rank moves nothing.
func TestBusFactor(t *testing.T) {
	tests := []struct {
		op   Op
		n    int
		want float64
	}{
		{AllReduce, 8, 1.75}, {AllReduce, 2, 1}, {AllReduce, 16, 1.875}, {AllReduce, 1, 0},
		{AllGather, 8, 0.875}, {ReduceScatter, 8, 0.875}, {AllToAll, 8, 0.875}, {AllGather, 4, 0.75},
		{SendRecv, 2, 1}, {SendRecv, 8, 1},
	}
	for _, tc := range tests {
		if got := BusFactor(tc.op, tc.n); got != tc.want {
			t.Errorf("BusFactor(%s, %d) = %v, want %v", tc.op.TestName(), tc.n, got, tc.want)
		}
	}
}

func TestParseOp(t *testing.T) {
	for in, want := range map[string]Op{"all_reduce": AllReduce, "allreduce": AllReduce, "all-gather": AllGather, "reduce_scatter": ReduceScatter, "alltoall": AllToAll, "sendrecv": SendRecv} {
		if got, err := ParseOp(in); err != nil || got != want {
			t.Errorf("ParseOp(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseOp("broadcast"); err == nil {
		t.Error("broadcast is not modelled and should be refused")
	}
}

// TestSizes: nccl-tests' -b 8 -e 8G -f 2 gives 31 sizes, 8 B to 8 GiB.
func TestSizes(t *testing.T) {
	s, err := Sizes(8, 8<<30, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 31 || s[0] != 8 || s[30] != 8<<30 {
		t.Errorf("%d sizes from %v to %v, want 31 from 8 to 8 GiB", len(s), s[0], s[len(s)-1])
	}
	for _, bad := range [][3]float64{{0, 8, 2}, {16, 8, 2}, {8, 16, 1}} {
		if _, err := Sizes(units.Bytes(bad[0]), units.Bytes(bad[1]), bad[2]); err == nil {
			t.Errorf("Sizes%v should fail", bad)
		}
	}
}

// TestPerfRows: algbw is S/t, busbw algbw × the factor; all-gather sizes
// round down to whole elements per rank, and repeats drop out.
func TestPerfRows(t *testing.T) {
	m := dgx(t, 2)
	p := Placement{Ranks: 8, PerNode: 8}
	rows, err := m.Perf(AllGather, p, []units.Bytes{8, 32, 40, 63, 1 << 20}, 4)
	if err != nil {
		t.Fatal(err)
	}
	// 8 B is below 8 ranks × 4 B; 40 → 32 repeats; 63 → 32 repeats.
	if len(rows) != 2 || rows[0].Bytes != 32 || rows[0].Count != 8 || rows[1].Bytes != 1<<20 {
		t.Fatalf("rows %+v", rows)
	}
	for _, r := range rows {
		alg := float64(r.Bytes) / float64(r.Time)
		if math.Abs(float64(r.AlgBW)/alg-1) > 1e-12 || math.Abs(float64(r.BusBW)/(alg*7/8)-1) > 1e-12 {
			t.Errorf("%v B: algbw %v busbw %v, want %v and 7/8 of it", float64(r.Bytes), r.AlgBW, r.BusBW, alg)
		}
	}
}

// TestLargeAllReduceReachesNVLinkBusBandwidth: inside one DGX A100 node a
// large all-reduce's busbw approaches the achievable NVLink rate (0.78 ×
// 300 GB/s = 234 GB/s, nccl-tests' ~230 GB/s on DGX A100), and at 8 B the
// time is the ring's 2(n−1) = 14 latency steps.
func TestLargeAllReduceReachesNVLinkBusBandwidth(t *testing.T) {
	m := dgx(t, 1)
	p := Placement{Ranks: 8, PerNode: 8}
	rows, err := m.Perf(AllReduce, p, []units.Bytes{8, 8 << 30}, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.78 * 300e9
	if got := float64(rows[1].BusBW); got < 0.995*want || got > want {
		t.Errorf("8 GiB all-reduce busbw %.4g GB/s, want just under %.4g", got/1e9, want/1e9)
	}
	lat := 14 * float64(m.Cluster.NVLink.Latency)
	if got := float64(rows[0].Time); got < lat || got > 1.001*lat {
		t.Errorf("8 B all-reduce %.4g us, want the 14 latency steps' %.4g us", got*1e6, lat*1e6)
	}
}
