package collective

import (
	"math"
	"math/rand/v2"
	"testing"

	"trainsim/topology"
	"trainsim/units"
)

// TestECMPSlowdownByHand checks small cases enumerated by hand.
func TestECMPSlowdownByHand(t *testing.T) {
	tests := []struct {
		name                string
		flows, spines, sets int
		load, want          float64
	}{
		// 2 flows on 2 uplinks: apart (K=1) or together (K=2), 1/2 each:
		// ½·max(1, 0.75) + ½·1.5.
		{"2 on 2", 2, 2, 1, 0.75, 0.5*1 + 0.5*1.5},
		// Two independent leaves: P(both apart) = ¼.
		{"2 on 2, two leaves", 2, 2, 2, 0.75, 0.25*1 + 0.75*1.5},
		// 3 flows on 2 uplinks: K = 2 in 6 of 8 hashes, 3 in 2.
		{"3 on 2", 3, 2, 1, 1, 0.75*2 + 0.25*3},
		// 3 flows on 16 uplinks: only all three together (16 of 4096) is slow.
		{"3 on 16", 3, 16, 1, 0.4, 1 + (3*0.4-1)/256},
		{"fits", 5, 4, 3, 0.2, 1},
		{"one spine", 6, 1, 1, 0.5, 3},
	}
	for _, tc := range tests {
		if got := ECMPSlowdown(tc.flows, tc.spines, tc.sets, tc.load); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestECMPSlowdownMonteCarlo holds the exact distribution, and the normal
// approximation above 512 flows, against hashing at random.
func TestECMPSlowdownMonteCarlo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		flows, spines, sets int
		load, tol           float64
	}{
		{32, 16, 1, 0.4, 0.01}, {32, 16, 3, 0.4, 0.01}, {8, 16, 7, 0.8, 0.01}, {100, 8, 2, 0.1, 0.01},
		{2000, 16, 1, 0.01, 0.05}, {5000, 16, 4, 0.005, 0.05},
	} {
		const trials = 20000
		sum := 0.0
		load := make([]int, tc.spines)
		for i := 0; i < trials; i++ {
			most := 0
			for s := 0; s < tc.sets; s++ {
				clear(load)
				for f := 0; f < tc.flows; f++ {
					load[rng.IntN(tc.spines)]++
				}
				for _, n := range load {
					most = max(most, n)
				}
			}
			sum += math.Max(1, float64(most)*tc.load)
		}
		mc := sum / trials
		if got := ECMPSlowdown(tc.flows, tc.spines, tc.sets, tc.load); math.Abs(got/mc-1) > tc.tol {
			t.Errorf("%d flows on %d spines ×%d, load %g: %v, random hashing %v", tc.flows, tc.spines, tc.sets, tc.load, got, mc)
		}
	}
}

// TestCrossingByHand: a send between nodes under two leaves of a 4:1
// fabric of DGX A100 (20 nodes a leaf, 160 ports, 16 spines), three flows
// leaving the leaf at once. Uplink 160 × 25 GB/s / (4 × 16) = 62.5 GB/s,
// 57.5 GB/s achievable; a flow's NIC share 23 GB/s, load 0.4: slowed only
// when all three hash to one spine (1/256), to 23/(57.5/3).
func TestCrossingByHand(t *testing.T) {
	m := dgx(t, 40)
	m.Cluster.Network.Oversubscription = 4
	S := units.Bytes(1 << 30)
	pl := Placement{Ranks: 2, PerNode: 1, Leaves: 2, Cross: Crossing{Known: true, Flows: 3, Sets: 1, Share: 1}}
	c, err := m.Time(SendRecv, S, pl)
	if err != nil {
		t.Fatal(err)
	}
	slow := 1 + (3*0.4-1)/256.0
	bw := 23e9 * m.Params.SizeFactor(S) / slow
	want := float64(S)/bw + float64(m.Cluster.Network.Latency)
	if math.Abs(float64(c.Time)/want-1) > 1e-9 {
		t.Errorf("time %v, want %v", c.Time, want)
	}
	if c.Bottleneck != Spine {
		t.Errorf("bottleneck %v, want leaf-spine", c.Bottleneck)
	}
	if c.Sent[Spine] != S || c.Sent[NIC] != S || c.Sent[topology.TierPCIe] != S || c.Bytes != S {
		t.Errorf("sent %v (%v in all), want %v on pcie, nic and leaf-spine", c.Sent, c.Bytes, S)
	}
	// Within one leaf, or at 1:1 with few flows, nothing changes.
	m.Cluster.Network.Oversubscription = 1
	c1, _ := m.Time(SendRecv, S, pl)
	if want := float64(S)/(23e9*m.Params.SizeFactor(S)) + float64(m.Cluster.Network.Latency); math.Abs(float64(c1.Time)/want-1) > 1e-9 || c1.Bottleneck != NIC {
		t.Errorf("1:1: %v on %v, want %v on the NIC", c1.Time, c1.Bottleneck, want)
	}
}

// TestSprayByHand: sprayed over the spines (adaptive routing), the streams
// leaving a leaf share all its uplinks evenly, with no hash collisions.
// 40 DGX A100 nodes, leaves of 20 nodes (160 NICs of 25 GB/s), 4:1: 16
// spines (160/4 = 40, capped to 16), uplinks of 160·25/(4·16) = 62.5 GB/s,
// 57.5 GB/s achievable (0.92), 920 GB/s for the leaf. A stream runs at the
// NIC's achievable 23 GB/s when it can.
func TestSprayByHand(t *testing.T) {
	m := dgx(t, 40)
	m.Cluster.Network.Oversubscription = 4
	S := units.Bytes(1 << 30)
	for _, c := range []struct {
		flows int
		bw    float64 // each stream's rate, worked out above
		tier  topology.Tier
	}{
		{60, 920e9 / 60, Spine}, // 60 streams: 15.33 GB/s each
		{40, 23e9, NIC},         // 40 × 23 = 920: just fits
		{3, 23e9, NIC},          // ECMP may collide three on one uplink; spraying never slows them
	} {
		pl := Placement{Ranks: 2, PerNode: 1, Leaves: 2, Cross: Crossing{Known: true, Flows: c.flows, Sets: 2, Share: 1, Spray: true}}
		got, err := m.Time(SendRecv, S, pl)
		if err != nil {
			t.Fatal(err)
		}
		want := float64(S)/(c.bw*m.Params.SizeFactor(S)) + float64(m.Cluster.Network.Latency)
		if math.Abs(float64(got.Time)/want-1) > 1e-9 || got.Bottleneck != c.tier {
			t.Errorf("%d flows sprayed: %v on %v, want %v s on %v", c.flows, got.Time, got.Bottleneck, want, c.tier)
		}
		if got.Sent[Spine] != S {
			t.Errorf("%d flows sprayed: %v B on the leaf-spine tier, want %v", c.flows, got.Sent[Spine], S)
		}
	}
}

// TestMaxLoadAtMostCached: the cached binomial terms give, for every k in
// increasing order as ECMPSlowdown asks, exactly (to the bit) what the
// direct computation gives.
func TestMaxLoadAtMostCached(t *testing.T) {
	for _, tc := range []struct{ n, s int }{{1, 2}, {5, 3}, {16, 4}, {37, 8}, {64, 16}, {200, 7}, {512, 32}} {
		lf := logFactorials(tc.n)
		b := binomialTerms{n: tc.n, s: tc.s, lf: lf}
		for k := (tc.n + tc.s - 1) / tc.s; k <= tc.n; k += 1 + tc.n/40 {
			got, want := b.maxLoadAtMost(k), maxLoadAtMost(tc.n, tc.s, k, lf)
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("n %d s %d k %d: cached %v, direct %v", tc.n, tc.s, k, got, want)
			}
		}
	}
}

// TestECMPMemo: the memo returns what ECMPSlowdown returns, the second time
// from memory, and a nil memo computes.
func TestECMPMemo(t *testing.T) {
	var e ECMPMemo
	var none *ECMPMemo
	for _, tc := range []struct {
		flows, spines, sets int
		load                float64
	}{{8, 4, 1, 0.5}, {64, 16, 3, 0.2}, {600, 32, 2, 0.05}, {8, 4, 1, 0}, {8, 4, 1, math.NaN()}} {
		want := ECMPSlowdown(tc.flows, tc.spines, tc.sets, tc.load)
		for i := 0; i < 2; i++ {
			if got := e.slowdown(tc.flows, tc.spines, tc.sets, tc.load); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%+v: memo %v, want %v", tc, got, want)
			}
		}
		if got := none.slowdown(tc.flows, tc.spines, tc.sets, tc.load); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%+v: nil memo %v, want %v", tc, got, want)
		}
	}
	if len(e.m) != 3 {
		t.Errorf("memo holds %d results, want 3 (none for a load that is not positive)", len(e.m))
	}
}

// maxLoadAtMost is P(no uplink carries more than k of n flows hashed
// uniformly over s uplinks), computed directly: the reference
// binomialTerms is tested against.
func maxLoadAtMost(n, s, k int, lf []float64) float64 {
	// f[r]: P(the uplinks still to place each get ≤ k | r flows left
	// for them), built from the last uplink back to the first.
	f := make([]float64, n+1)
	g := make([]float64, n+1)
	for r := 0; r <= n; r++ {
		if r <= k {
			f[r] = 1
		}
	}
	for left := 2; left <= s; left++ {
		p := 1 / float64(left)
		lp, lq := math.Log(p), math.Log1p(-p)
		for r := 0; r <= n; r++ {
			sum := 0.0
			for i := 0; i <= min(k, r); i++ {
				if f[r-i] == 0 {
					continue
				}
				sum += math.Exp(lf[r]-lf[i]-lf[r-i]+float64(i)*lp+float64(r-i)*lq) * f[r-i]
			}
			g[r] = sum
		}
		f, g = g, f
	}
	return f[n]
}
