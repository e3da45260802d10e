package collective

import (
	"math"
	"testing"

	"trainsim/units"
)

// TestTransfersConserveBytes: every rank sends and receives the ring volume,
// passes·(n−1)/n·S, whatever the channel layout; bytes sent = bytes received.
func TestTransfersConserveBytes(t *testing.T) {
	S := units.Bytes(96 << 20)
	for _, tc := range []struct {
		op     Op
		n, per int
		passes float64
	}{
		{AllReduce, 8, 8, 2},
		{AllReduce, 8, 1, 2},
		{ReduceScatter, 32, 4, 1},
		{AllGather, 64, 8, 1},
	} {
		members := make([]int, tc.n)
		for i := range members {
			members[i] = 100 + i
		}
		tr := Transfers(tc.op, S, members, tc.per)
		sent, recv := map[int]float64{}, map[int]float64{}
		cross := 0
		for _, x := range tr {
			sent[x.Src] += float64(x.Bytes)
			recv[x.Dst] += float64(x.Bytes)
			if (x.Src-100)/tc.per != (x.Dst-100)/tc.per {
				cross++
			}
		}
		want := tc.passes * float64(tc.n-1) / float64(tc.n) * float64(S)
		for _, r := range members {
			if math.Abs(sent[r]/want-1) > 1e-12 || math.Abs(recv[r]/want-1) > 1e-12 {
				t.Errorf("%v n=%d per=%d: rank %d sends %g, receives %g, want %g", tc.op, tc.n, tc.per, r, sent[r], recv[r], want)
			}
		}
		nodes, channels := tc.n/tc.per, tc.per
		if nodes == 1 {
			channels = 1
		}
		if want := nodes * channels; nodes > 1 && cross != want {
			t.Errorf("%v n=%d per=%d: %d node crossings, want %d (each channel crosses every boundary once)", tc.op, tc.n, tc.per, cross, want)
		}
		if nodes == 1 && cross != 0 {
			t.Errorf("%v n=%d per=%d: %d node crossings inside one node", tc.op, tc.n, tc.per, cross)
		}
		// Each channel leaves a node through a different GPU.
		exits := map[int]bool{}
		for _, x := range tr {
			if (x.Src-100)/tc.per == 0 && (x.Dst-100)/tc.per != 0 {
				exits[x.Src] = true
			}
		}
		if tc.n > tc.per && len(exits) != tc.per {
			t.Errorf("%v n=%d per=%d: node 0 is left through %d GPUs, want %d", tc.op, tc.n, tc.per, len(exits), tc.per)
		}
	}
	if tr := Transfers(SendRecv, 10, []int{3, 9}, 1); len(tr) != 1 || tr[0] != (Transfer{3, 9, 10}) {
		t.Errorf("send/recv: %v", tr)
	}
}
