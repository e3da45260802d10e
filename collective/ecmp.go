package collective

import (
	"math"
	"sync"
)

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
	terms := binomialTerms{n: flows, s: spines, lf: lf}
	e := 1.0
	for k := int(math.Floor(1 / load)); k < flows; k++ {
		step := math.Max(0, float64(k+1)*load-1) - math.Max(0, float64(k)*load-1)
		tail := 1.0
		if k >= least {
			tail = 1 - math.Pow(terms.maxLoadAtMost(k), float64(sets))
		}
		e += tail * step
		if tail < 1e-12 {
			break
		}
	}
	return e
}

// binomialTerms computes maxLoadAtMost for successive k with the same n
// flows and s uplinks. The binomial terms P(i of r flows on the next of
// `left` uplinks) do not depend on k, so each is computed once, when first
// needed, and reused for the larger k that follow: the same expression
// evaluated once instead of once per k, so the result is identical to the
// bit (TestMaxLoadAtMostCached) and ECMPSlowdown's cost no longer grows
// with the number of k it sums over.
type binomialTerms struct {
	n, s int
	lf   []float64
	// rows[left-2][r] holds the terms for i = 0, 1, … computed so far.
	rows [][][]float64
}

// term returns exp(lf[r]−lf[i]−lf[r−i] + i·lp + (r−i)·lq) for the uplink
// count left (lp = log(1/left), lq = log(1−1/left)).
func (b *binomialTerms) term(left, r, i int, lp, lq float64) float64 {
	if b.rows == nil {
		b.rows = make([][][]float64, b.s-1)
	}
	row := b.rows[left-2]
	if row == nil {
		row = make([][]float64, b.n+1)
		b.rows[left-2] = row
	}
	lf := b.lf
	for j := len(row[r]); j <= i; j++ {
		row[r] = append(row[r], math.Exp(lf[r]-lf[j]-lf[r-j]+float64(j)*lp+float64(r-j)*lq))
	}
	return row[r][i]
}

// maxLoadAtMost is P(no uplink carries more than k of the n flows hashed
// uniformly over the s uplinks).
func (b *binomialTerms) maxLoadAtMost(k int) float64 {
	n, s := b.n, b.s
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
				sum += b.term(left, r, i, lp, lq) * f[r-i]
			}
			g[r] = sum
		}
		f, g = g, f
	}
	return f[n]
}

// ECMPMemo remembers ECMPSlowdown's results by their arguments (see
// Model.ECMP). The zero value is ready to use; it is safe for concurrent
// use (a result computed twice at once is the same number).
type ECMPMemo struct {
	mu sync.Mutex
	m  map[ecmpArgs]float64
}

type ecmpArgs struct {
	flows, spines, sets int
	load                float64
}

// slowdown is ECMPSlowdown, remembered; a nil memo just computes it.
func (e *ECMPMemo) slowdown(flows, spines, sets int, load float64) float64 {
	if e == nil || !(load > 0) {
		return ECMPSlowdown(flows, spines, sets, load)
	}
	k := ecmpArgs{flows, spines, sets, load}
	e.mu.Lock()
	v, ok := e.m[k]
	e.mu.Unlock()
	if ok {
		return v
	}
	v = ECMPSlowdown(flows, spines, sets, load)
	e.mu.Lock()
	if e.m == nil {
		e.m = map[ecmpArgs]float64{}
	}
	e.m[k] = v
	e.mu.Unlock()
	return v
}

func logFactorials(n int) []float64 {
	lf := make([]float64, n+1)
	for i := 1; i <= n; i++ {
		lf[i] = lf[i-1] + math.Log(float64(i))
	}
	return lf
}
