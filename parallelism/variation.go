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
}

// Set reports whether any GPU differs from the others.
func (v Variation) Set() bool { return v.SlowFraction > 0 && v.Slowdown > 0 || v.Spread > 0 }

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
		slow = min(world, int(math.Round(v.SlowFraction*float64(world))))
		// The first slow entries of a partial Fisher–Yates shuffle.
		perm := make([]int, world)
		for i := range perm {
			perm[i] = i
		}
		for i := 0; i < slow; i++ {
			k := i + rng.IntN(world-i)
			perm[i], perm[k] = perm[k], perm[i]
			f[perm[i]] = 1 + v.Slowdown
		}
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

// scaled gives each lane's tasks its own speed: compute × the lane's factor.
// Collectives are not scaled: the group's slowest member delays their start
// through its compute.
type scaled struct{ factor []float64 }

func (s scaled) compute(lane int, _ stepID, d sim.Time) sim.Time {
	if f := s.factor[lane]; f != 1 {
		return sim.Time(math.Round(float64(d) * f))
	}
	return d
}
func (scaled) comm(_ int, _ specID, d sim.Time) sim.Time { return d }

// laneSet is which data-parallel replicas a replay simulates: each
// replica's DP coordinate and how many replicas it stands for.
type laneSet struct {
	dp, weight []int
	// factor is per replica simulated, per stage: its kernel-time factor
	// (nil: all 1).
	factor [][]float64
	slow   int
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
	if j.Options.Network == NetworkFlow || j.Options.Ranks == RanksFull {
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
	return fmt.Sprintf("stragglers: %d slow GPUs (%.3g%% longer kernels) and a log-normal spread σ = %g, drawn from seed %d; each tensor-parallel group runs at its slowest member's pace; %d of %d data-parallel replicas replayed (replicas with equally slow stages are replayed once)",
		ls.slow, 100*v.Slowdown, v.Spread, j.Options.Seed, len(ls.dp), j.Layout.DP)
}
