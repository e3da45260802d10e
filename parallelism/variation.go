package parallelism

import (
	"fmt"
	"math"
	"math/rand/v2"

	"trainsim/mesh"
	"trainsim/sim"
)

// Variation is how the cluster's GPUs differ in speed. A synchronous group
// runs at the pace of its slowest member, so a few slow GPUs slow the whole
// job by far more than their average (the replay shows by how much).
type Variation struct {
	// SlowFraction is the share of GPUs that are slow (stragglers), and
	// Slowdown how much longer their kernels take: 0.2 is 20% longer. The
	// slow GPUs are round(SlowFraction × GPUs), drawn from the seed.
	SlowFraction, Slowdown float64
	// Spread is the σ of a log-normal factor on every GPU's kernel times
	// (exp(σ·N(0,1)), median 1): the spread of speeds across a fleet
	// (clocks under power caps, thermal throttling). Zero: none.
	Spread float64
	// LinkFraction is the share of NICs that are slow (a degraded port, a
	// flapping cable renegotiated down), and LinkSlowdown how much longer a
	// collective takes whose group sends through one of them across nodes:
	// 1 is twice as long. Analytical network only.
	LinkFraction, LinkSlowdown float64
}

// Set reports whether any GPU or link differs from the others.
func (v Variation) Set() bool {
	return v.SlowFraction > 0 && v.Slowdown > 0 || v.Spread > 0 || v.links()
}

// links reports whether any NIC is slow.
func (v Variation) links() bool { return v.LinkFraction > 0 && v.LinkSlowdown > 0 }

// drawLinks returns which of nics NICs are slow, round(LinkFraction × nics)
// of them drawn from seed (a stream of its own, so that the slow GPUs do
// not change with it), and how many.
func (v Variation) drawLinks(nics int, seed uint64) ([]bool, int) {
	slow := make([]bool, nics)
	if !v.links() {
		return slow, 0
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed_11c5_9e1e_0002))
	picked := pick(rng, nics, v.LinkFraction)
	for _, i := range picked {
		slow[i] = true
	}
	return slow, len(picked)
}

// pick draws round(share × n) distinct indices of n from rng: the first ones
// of a partial Fisher–Yates shuffle.
func pick(rng *rand.Rand, n int, share float64) []int {
	k := min(n, int(math.Round(share*float64(n))))
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < k; i++ {
		j := i + rng.IntN(n-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm[:k]
}

// StragglerStats says what the variation cost the step.
type StragglerStats struct {
	// SlowGPUs is how many GPUs were drawn slow.
	SlowGPUs int
	// UniformStep is the step time with every GPU at full speed; the
	// difference to Result.StepTime is the stragglers' cost per step.
	UniformStep float64
	// Replicas is how many data-parallel replicas the replay simulated
	// (replicas whose stages are equally slow are replayed once).
	Replicas int
	// SlowLinks is how many NICs were drawn slow.
	SlowLinks int
}

// draw returns every GPU's kernel-time factor (≥ 0; 1 is nominal) and the
// number of slow GPUs, from seed. The draws are made in rank order, so the
// same seed gives the same GPUs on every machine.
func (v Variation) draw(world int, seed uint64) ([]float64, int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed_57a9_9e1e_0001))
	f := make([]float64, world)
	for i := range f {
		f[i] = 1
	}
	slow := 0
	if v.SlowFraction > 0 && v.Slowdown > 0 {
		picked := pick(rng, world, v.SlowFraction)
		for _, i := range picked {
			f[i] = 1 + v.Slowdown
		}
		slow = len(picked)
	}
	if v.Spread > 0 {
		for i := range f {
			f[i] *= math.Exp(v.Spread * rng.NormFloat64())
		}
	}
	return f, slow
}

// laneFactors returns, for each stage of each data-parallel replica, the
// factor its tensor-parallel group runs at: the slowest member's, since the
// group meets at a collective after every block.
func laneFactors(m *mesh.Mesh, gpu []float64) [][]float64 {
	dp, pp := m.Size(mesh.DP), m.Size(mesh.PP)
	out := make([][]float64, dp)
	for d := range out {
		out[d] = make([]float64, pp)
		for s := range out[d] {
			worst := 0.0
			for _, r := range m.Group(m.Rank(mesh.Coord{mesh.DP: d, mesh.PP: s}), mesh.TP, mesh.CP) {
				worst = max(worst, gpu[r])
			}
			out[d][s] = worst
		}
	}
	return out
}

// replicaClasses groups the data-parallel replicas whose stages run at the
// same factors: such replicas run the same program at the same times, so one
// of each class stands for all of it, exactly (their collectives wait for
// the slowest class either way). It returns each class's first replica and
// its size, in replica order.
func replicaClasses(f [][]float64) (first, size []int) {
	for d, row := range f {
		found := false
		for c, r := range first {
			if equal(f[r], row) {
				size[c]++
				found = true
				break
			}
		}
		if !found {
			first = append(first, d)
			size = append(size, 1)
		}
	}
	return first, size
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scaled gives each lane's tasks its own speed: compute × the lane's
// factor; a collective × link(lane, spec), the factor of the slowest NIC its
// group sends through across nodes (nil: 1). A group's slow GPU delays a
// collective's start through its compute, not its transfers.
type scaled struct {
	factor []float64
	link   func(lane int, spec specID) float64
}

func (s scaled) compute(lane int, _ stepID, d sim.Time) sim.Time {
	if s.factor == nil {
		return d
	}
	if f := s.factor[lane]; f != 1 {
		return sim.Time(math.Round(float64(d) * f))
	}
	return d
}

func (s scaled) comm(lane int, spec specID, d sim.Time) sim.Time {
	if s.link == nil {
		return d
	}
	if f := s.link(lane, spec); f != 1 {
		return sim.Time(math.Round(float64(d) * f))
	}
	return d
}

// linkFactors returns the factor of each lane's collectives: 1 + slowdown
// when the collective's group spans nodes and one of the NICs its copies
// send through is slow (rank r uses NIC Slot(r)·NICs/GPUsPerNode of its
// node, as the network graph wires them). Computed once per (lane, collective).
func linkFactors(j Job, pr *pricer, laneRank, laneStage []int, slowNIC []bool) func(int, specID) float64 {
	m := pr.mesh
	k, g := j.Cluster.Network.NICsPerNode, j.Cluster.GPUsPerNode
	slowdown := 1 + j.Variation.LinkSlowdown
	memo := map[[2]int]float64{}
	return func(lane int, spec specID) float64 {
		key := [2]int{lane, int(spec)}
		if f, ok := memo[key]; ok {
			return f
		}
		sp := &pr.specs[spec]
		stage := laneStage[lane]
		rank := laneRank[lane]
		// The ring that crosses nodes, and the NICs every TP rank's copy of
		// it sends through: the lane stands for its whole TP group, which
		// waits for the slowest copy at its next collective.
		var ring, nics []int
		switch sp.group {
		case groupTP:
			ring = m.Group(rank, mesh.TP)
			nics = ring
		case groupDP:
			ring = m.Group(rank, mesh.DP)
			nics = m.Group(rank, mesh.TP, mesh.DP)
		default:
			peer := m.Shift(rank, mesh.PP, pr.peerOf(sp, stage)-stage)
			ring = []int{rank, peer}
			nics = append(m.Group(rank, mesh.TP), m.Group(peer, mesh.TP)...)
		}
		f := 1.0
		if m.Span(ring).Nodes > 1 {
			for _, r := range nics {
				if slowNIC[m.Node(r)*k+m.Slot(r)*k/g] {
					f = slowdown
					break
				}
			}
		}
		memo[key] = f
		return f
	}
}

// laneSet is which data-parallel replicas a replay simulates: each
// replica's DP coordinate and how many replicas it stands for.
type laneSet struct {
	dp, weight []int
	// factor is per replica simulated, per stage: its kernel-time factor
	// (nil: all 1).
	factor [][]float64
	slow   int
	// slowNIC marks the slow NICs (node·NICs + index), slowLinks counts them.
	slowNIC   []bool
	slowLinks int
}

// lanesOf decides which replicas j's replay simulates: one standing for all
// (symmetric), every one (full), or, when GPUs vary, one per class of
// equally slow replicas (exact in analytical mode; flow mode replays every
// replica, each carrying its own transfers).
func lanesOf(j Job, m *mesh.Mesh) laneSet {
	dp := j.Layout.DP
	if !j.Variation.Set() {
		if j.Options.Ranks == RanksFull {
			ls := laneSet{}
			for d := 0; d < dp; d++ {
				ls.dp, ls.weight = append(ls.dp, d), append(ls.weight, 1)
			}
			return ls
		}
		return laneSet{dp: []int{0}, weight: []int{dp}}
	}
	gpu, slow := j.Variation.draw(m.World(), j.Options.Seed)
	f := laneFactors(m, gpu)
	ls := laneSet{slow: slow}
	ls.slowNIC, ls.slowLinks = j.Variation.drawLinks(j.Cluster.Nodes*j.Cluster.Network.NICsPerNode, j.Options.Seed)
	// With slow links the replicas' collectives differ too: every one is
	// replayed.
	if j.Options.Network == NetworkFlow || j.Options.Ranks == RanksFull || ls.slowLinks > 0 {
		for d := 0; d < dp; d++ {
			ls.dp, ls.weight, ls.factor = append(ls.dp, d), append(ls.weight, 1), append(ls.factor, f[d])
		}
		return ls
	}
	first, size := replicaClasses(f)
	for c, d := range first {
		ls.dp, ls.weight, ls.factor = append(ls.dp, d), append(ls.weight, size[c]), append(ls.factor, f[d])
	}
	return ls
}

// describe is the note a varied replay adds to the report.
func (ls laneSet) describe(j Job) string {
	v := j.Variation
	links := ""
	if ls.slowLinks > 0 {
		links = fmt.Sprintf("; %d slow NICs (collectives across nodes through one take %.3g%% longer)", ls.slowLinks, 100*v.LinkSlowdown)
	}
	return fmt.Sprintf("stragglers: %d slow GPUs (%.3g%% longer kernels) and a log-normal spread σ = %g%s, drawn from seed %d; each tensor-parallel group runs at its slowest member's pace; %d of %d data-parallel replicas replayed (replicas with equally slow stages are replayed once)",
		ls.slow, 100*v.Slowdown, v.Spread, links, j.Options.Seed, len(ls.dp), j.Layout.DP)
}
