package collective

import "math"

// exactECMPFlows bounds the flow count for which ECMPSlowdown computes the
// distribution of the most loaded spine exactly; above it, a normal
// approximation of the maximum load is used.
const exactECMPFlows = 512

// ECMPSlowdown is how much longer the slowest of a collective's streams
// takes, when sets leaves each send flows streams across the spine over
// their spines uplinks, each stream hashed uniformly and independently to
// one uplink (ECMP), than it would at its own rate: the expectation over the
// hash of max(1, K·load), K being the number of streams on the most loaded
// uplink of any of the sets and load one stream's rate over one uplink's
// capacity. Uplinks share max-min fairly, so the K streams on the busiest
// one get capacity/K each; the collective waits for them.
//
// For flows ≤ 512 the distribution of K is exact for one set: P(K ≤ k) by
// conditioning on one uplink at a time (the streams on uplink j are
// binomial among those left); the sets are taken as independent,
// P(K ≤ k)^sets. Above 512, K is approximated by μ + σ·√(2 ln(spines·sets))
// with μ = flows/spines and σ² = μ(1−1/spines), the expected maximum of
// spines·sets normal loads.
func ECMPSlowdown(flows, spines, sets int, load float64) float64 {
	sets = max(sets, 1)
	if flows < 1 || spines < 1 || !(load > 0) {
		return 1
	}
	if float64(flows)*load <= 1 {
		return 1 // even all flows on one uplink fit
	}
	if spines == 1 {
		return float64(flows) * load
	}
	if flows > exactECMPFlows {
		mu := float64(flows) / float64(spines)
		sigma := math.Sqrt(mu * (1 - 1/float64(spines)))
		k := min(float64(flows), mu+sigma*math.Sqrt(2*math.Log(float64(spines*sets))))
		return math.Max(1, k*load)
	}
	// E[max(1, K·load)] = 1 + Σ_k P(K > k)·(g(k+1) − g(k)), g(k) =
	// max(0, k·load − 1): only k with (k+1)·load > 1 contribute.
	lf := logFactorials(flows)
	least := (flows + spines - 1) / spines // K is at least this
	e := 1.0
	for k := int(math.Floor(1 / load)); k < flows; k++ {
		step := math.Max(0, float64(k+1)*load-1) - math.Max(0, float64(k)*load-1)
		tail := 1.0
		if k >= least {
			tail = 1 - math.Pow(maxLoadAtMost(flows, spines, k, lf), float64(sets))
		}
		e += tail * step
		if tail < 1e-12 {
			break
		}
	}
	return e
}

// maxLoadAtMost is P(no uplink carries more than k of n flows hashed
// uniformly over s uplinks).
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

func logFactorials(n int) []float64 {
	lf := make([]float64, n+1)
	for i := 1; i <= n; i++ {
		lf[i] = lf[i-1] + math.Log(float64(i))
	}
	return lf
}
