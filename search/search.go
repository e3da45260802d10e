// Package search finds the best layouts of a scenario's model on its
// cluster and global batch: it enumerates every layout (tensor, pipeline
// context- and data-parallel degrees, micro-batch, schedule and virtual stages,
// recomputation, sequence parallelism, ZeRO stage, gradient-reduction,
// tensor-parallel and pipeline-send overlap), optionally over several node counts, discards
// without a replay those that cannot be the answer, and replays the rest.
//
// Pruning is safe: a candidate is dropped only when Job.Validate refuses it,
// when parallelism.PeakMemory (what the replay would report) says it does
// not fit, or when its parallelism.StepLowerBound (a step the replay can
// never beat) is already worse than the N-th best replayed. So the best N
// are those an exhaustive replay of every candidate would find
// (Options.Exhaustive does that, for tests).
//
// Determinism: candidates are numbered in a fixed order; the survivors of
// the cheap checks are replayed in order of their bound (ties by index), in
// batches of a fixed size spread over the workers, the N-th best being
// updated between batches; the ranking breaks ties by candidate index. So
// the result, counts included, does not depend on Options.Workers or
// GOMAXPROCS.
//
// The package does no I/O.
package search

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"trainsim/collective"
	"trainsim/parallelism"
	"trainsim/units"
)

// Objective is what the search minimises.
type Objective string

// The objectives.
const (
	StepTime    Objective = "step_time_s"
	Cost        Objective = "cost"          // GPU-hours to train (per step without training.tokens)
	TimeToTrain Objective = "time_to_train" // seconds to train (the step without training.tokens)
)

// Objectives lists the objectives, in the order messages list them.
func Objectives() []Objective { return []Objective{StepTime, Cost, TimeToTrain} }

// Prune reasons, the keys of Result.Pruned.
const (
	PrunedInvalid  = "invalid" // Job.Validate refused the layout
	PrunedMemory   = "memory"  // it does not fit in the GPU's memory
	PrunedBound    = "bound"   // its lower bound is worse than the N-th best
	PrunedMaxDays  = "max_days"
	PrunedMaxCost  = "max_cost" // its price to train is over Options.MaxCost
	PrunedError    = "error"    // pricing or replay failed (a placement the collective model refuses)
	PrunedExcluded = "excluded" // Options.Keep refused the layout
)

// batch is how many candidates are replayed between two updates of the
// N-th best: fixed, so that what is replayed does not depend on the workers.
const batch = 16

// Options tune the search.
type Options struct {
	Top       int       // how many layouts to keep (default 1)
	Objective Objective // default StepTime
	Workers   int       // goroutines (default GOMAXPROCS)
	// Nodes lists the node counts to search; empty: the base job's.
	Nodes []int
	// MaxGPUs drops node counts with more GPUs (0: no limit).
	MaxGPUs int
	// MaxDays drops layouts that take longer to train (0: no limit; needs
	// training.tokens).
	MaxDays float64
	// PricePerGPUHour is what one GPU-hour costs (in the user's currency;
	// 0: unknown): MaxCost needs it, and Result.Cost uses it.
	PricePerGPUHour float64
	// MaxCost drops layouts whose price to train (GPU-hours × the price)
	// is higher (0: no limit; needs training.tokens and a price).
	MaxCost float64
	// Exhaustive replays every candidate that fits, pruning none by bound.
	Exhaustive bool
	// Keep, when set, restricts the search to the layouts it accepts (what
	// a caller already knows of the layout: a stated degree, the schedules
	// a software stack offers); the others are counted as PrunedExcluded
	// without being held in memory. It must be a pure function of the
	// layout (it is called from one goroutine, in enumeration order).
	Keep func(parallelism.Layout) bool
	// Fix holds degrees the caller knows (0: any): only layouts with them
	// are enumerated (Result.Candidates counts only those), which, unlike
	// Keep, spares the enumeration of the rest.
	Fix Degrees
}

// Degrees are the tensor-, pipeline- and data-parallel degrees and the
// micro-batch size; 0 is any.
type Degrees struct{ TP, PP, DP, Microbatch int }

// allows reports whether n meets the fixed degree want (0: any).
func allows(want, n int) bool { return want == 0 || want == n }

// Cost is the price of training j at step time step: its GPU-hours to
// train (training.tokens; one step without) × opt.PricePerGPUHour.
func (opt Options) Cost(j parallelism.Job, step units.Seconds) float64 {
	return objective(Cost, j, step) * opt.PricePerGPUHour
}

// overLimits returns why a layout whose step is at least step breaks a
// limit of opt (PrunedMaxDays, PrunedMaxCost), or "". Both sides are
// compared at the precision a report writes (units.Clean, 12 significant
// digits), the time to train both in days and in seconds, as the report's
// time_to_train_s gives it (over only where over in both): a limit pasted
// from a report's cost_to_train, or its time_to_train_s ÷ 86400 at full or
// 12-digit precision, keeps that layout.
func (opt Options) overLimits(j parallelism.Job, step units.Seconds) string {
	days := trainDays(j, step)
	switch {
	case opt.MaxDays > 0 && units.Clean(days) > units.Clean(opt.MaxDays) && units.Clean(days*86400) > units.Clean(opt.MaxDays*86400):
		return PrunedMaxDays
	case opt.MaxCost > 0 && units.Clean(opt.Cost(j, step)) > units.Clean(opt.MaxCost):
		return PrunedMaxCost
	}
	return ""
}

// Entry is one replayed candidate.
type Entry struct {
	Index     int // the candidate's number in the enumeration
	Job       parallelism.Job
	Result    *parallelism.Result
	Bound     units.Seconds // its StepLowerBound
	Objective float64
}

// Result is what a search found.
type Result struct {
	Candidates int            // layouts enumerated
	Pruned     map[string]int // by reason, without a replay or after one
	Replayed   int
	// Best is the best Top, best first.
	Best []Entry
	// Front is, when several node counts were searched, the Pareto front of
	// GPUs against time to train: each entry the best of its node count,
	// faster than every entry with fewer GPUs; fewest GPUs first.
	Front []Entry
}

// cand is one enumerated layout, compactly.
type cand struct {
	nodes                   int32
	tp, pp, cp, dp, mb, v   int32
	ep, etp                 int16
	sched                   uint8 // 0 1f1b, 1 interleaved, 2 zb-h1, 3 gpipe
	rec, zero               uint8
	sp, ogr, tpo, ppo, moeo bool
	index                   int32
	boundStep               units.Seconds // its StepLowerBound, once computed
}

var recomputes = parallelism.SearchedRecomputes()

func (c *cand) job(base parallelism.Job) parallelism.Job {
	j := base
	j.Cluster.Nodes = int(c.nodes)
	j.Layout = c.layout(base.Layout)
	return j
}

// layout is c's layout, the rest as in base.
func (c *cand) layout(base parallelism.Layout) parallelism.Layout {
	lo := base
	l := &lo
	l.TP, l.PP, l.DP, l.CP, l.EP, l.ETP = int(c.tp), int(c.pp), int(c.dp), int(c.cp), int(c.ep), int(c.etp)
	l.MoEOverlap = c.moeo
	l.Microbatch, l.VirtualStages = int(c.mb), int(c.v)
	l.Schedule = parallelism.OneFOneB
	switch c.sched {
	case 1:
		l.Schedule = parallelism.Interleaved
	case 2:
		l.Schedule = parallelism.ZBH1
	case 3:
		l.Schedule = parallelism.GPipe
	}
	l.Recompute = recomputes[c.rec]
	l.ZeRO = int(c.zero)
	l.SequenceParallel, l.OverlapGradReduce, l.TPOverlap, l.PPOverlap = c.sp, c.ogr, c.tpo, c.ppo
	if l.PipelineLayout != "" && parallelism.PipelineLayoutStages(l.PipelineLayout) != l.PP*l.VirtualStages {
		// The scenario's hand layout (unrolled once, in Run) has
		// another number of stages: this candidate splits its layers by
		// the default rule.
		l.PipelineLayout = ""
	}
	return lo
}

func divisors(n int) []int {
	var out []int
	for d := 1; d <= n; d++ {
		if n%d == 0 {
			out = append(out, d)
		}
	}
	return out
}

// expertSplit is one way to lay the routed experts out: the expert-parallel
// degree, the expert tensor-parallel degree, whether the all-to-alls
// overlap computation.
type expertSplit struct {
	ep, etp int
	overlap bool
}

// expertSplits lists the expert layouts of a model on a dense mesh whose
// tp·cp·dp is folded: EP over the divisors of the expert count, ETP over
// the divisors of the GPUs per node that divide the expert width, with
// ETP·EP dividing tp·cp·dp (Job.Validate's rule: the expert sub-mesh
// etp × ep × expert-dp × pp regroups the same GPUs); moe.overlap both ways
// where there is an all-to-all or an expert or shared-expert collective to
// overlap (with EP = ETP = 1 and no shared experts it changes nothing).
// A dense model has the one split EP = 1.
func expertSplits(base parallelism.Job, folded int) []expertSplit {
	m := base.Model
	if !m.MoE() {
		return []expertSplit{{1, 0, false}}
	}
	var out []expertSplit
	for _, ep := range divisors(m.Experts) {
		if folded%ep != 0 {
			continue
		}
		for _, etp := range divisors(base.Cluster.GPUsPerNode) {
			if m.ExpertFFN()%etp != 0 || folded%(ep*etp) != 0 {
				continue
			}
			for _, o := range bools(ep > 1 || etp > 1 || m.SharedExperts > 0) {
				out = append(out, expertSplit{ep, etp, o})
			}
		}
	}
	return out
}

// enumerate lists every layout of base on nodes nodes, in a fixed order,
// numbered from 0, how many there are, and how many keep excluded; those
// keep excludes, and those moeRefused knows Job.Validate refuses, are
// counted and numbered but not listed.
func enumerate(base parallelism.Job, nodes int, into []cand, fix Degrees, keep func(parallelism.Layout) bool) ([]cand, int, int) {
	excluded := func(c *cand) bool { return keep != nil && !keep(c.layout(base.Layout)) }
	// Counted first, so that the candidates (millions) are allocated once.
	n, kept, out := 0, 0, 0
	walk(base, nodes, fix, func(c cand) {
		n++
		switch {
		case excluded(&c):
			out++
		case !moeRefused(base, &c):
			kept++
		}
	})
	into = slices.Grow(into, kept)
	i := 0
	walk(base, nodes, fix, func(c cand) {
		c.index = int32(i)
		i++
		if !excluded(&c) && !moeRefused(base, &c) {
			into = append(into, c)
		}
	})
	return into, n, out
}

// moeRefused reports whether c breaks one of the mixture-of-experts rules
// of Job.Validate that hold whatever the rest of the layout: ZeRO 0 or 1
// only, and sequence parallelism with TP > 1. Such candidates (most of a
// MoE search's) are counted as invalid without being held in memory;
// TestMoERefusedAreInvalid checks each is refused by Job.Validate.
func moeRefused(base parallelism.Job, c *cand) bool {
	return base.Model.MoE() && (c.zero > 1 || c.tp > 1 && !c.sp)
}

// walk calls f with every layout of base on nodes nodes, in a fixed order
// (index unset).
func walk(base parallelism.Job, nodes int, fix Degrees, f func(cand)) {
	gpn := base.Cluster.GPUsPerNode
	gpus := nodes * gpn
	layers := base.Model.Layers
	gb := base.Training.GlobalBatch
	for _, tp := range divisors(gpn) {
		if gpus%tp != 0 || !allows(fix.TP, tp) {
			continue
		}
		for _, pp := range divisors(gpus / tp) {
			if pp > layers || !allows(fix.PP, pp) {
				continue
			}
			for _, cp := range divisors(gpus / (tp * pp)) {
				dp := gpus / (tp * pp * cp)
				if gb%dp != 0 || !allows(fix.DP, dp) {
					continue
				}
				for _, es := range expertSplits(base, tp*cp*dp) {
					for _, mb := range divisors(gb / dp) {
						if !allows(fix.Microbatch, mb) {
							continue
						}
						type sv struct{ s, v int }
						scheds := []sv{{0, 1}}
						if pp >= 2 {
							scheds = append(scheds, sv{2, 1}, sv{3, 1})
							for v := 2; v <= layers/pp; v++ {
								scheds = append(scheds, sv{1, v})
							}
						}
						for _, s := range scheds {
							for rec := range recomputes {
								for _, sp := range bools(tp > 1) {
									for zero := 0; zero <= 3; zero++ {
										if dp == 1 && zero > 0 {
											continue
										}
										for _, ogr := range bools(dp > 1) {
											for _, tpo := range bools(tp > 1) {
												for _, ppo := range bools(pp > 1) {
													f(cand{nodes: int32(nodes), tp: int32(tp), pp: int32(pp), cp: int32(cp), dp: int32(dp), mb: int32(mb), v: int32(s.v),
														ep: int16(es.ep), etp: int16(es.etp), moeo: es.overlap,
														sched: uint8(s.s), rec: uint8(rec), zero: uint8(zero), sp: sp, ogr: ogr, tpo: tpo, ppo: ppo})
												}
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// sameBut reports whether a and b are the same layout but for the overlap
// switches (overlap_grad_reduce, tp_overlap, pp_overlap) and the index.
func sameBut(a, b *cand) bool {
	x, y := *a, *b
	x.ogr, x.tpo, x.ppo, x.index, x.boundStep = y.ogr, y.tpo, y.ppo, y.index, y.boundStep
	return x == y
}

func bools(both bool) []bool {
	if both {
		return []bool{false, true}
	}
	return []bool{false}
}

// Count returns how many layouts Run would enumerate for base with opt,
// without evaluating any.
func Count(base parallelism.Job, opt Options) int {
	n := 0
	for _, nodes := range nodeCounts(base, opt) {
		walk(base, nodes, opt.Fix, func(cand) { n++ })
	}
	return n
}

func nodeCounts(base parallelism.Job, opt Options) []int {
	nodes := opt.Nodes
	if len(nodes) == 0 {
		nodes = []int{base.Cluster.Nodes}
	}
	var out []int
	for _, n := range nodes {
		if n >= 1 && (opt.MaxGPUs <= 0 || n*base.Cluster.GPUsPerNode <= opt.MaxGPUs) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// objective turns a step time of a job into the objective's value.
func objective(o Objective, j parallelism.Job, step units.Seconds) float64 {
	s := float64(step)
	ttt := s
	if j.Training.Tokens > 0 {
		ttt = j.Training.Tokens / (float64(j.Training.GlobalBatch*j.Model.SeqLen) / s)
	}
	switch o {
	case Cost:
		return ttt * float64(j.Cluster.GPUs()) / 3600
	case TimeToTrain:
		return ttt
	}
	return s
}

// trainDays is how long j trains at step time step, in days, or 0 without
// training.tokens.
func trainDays(j parallelism.Job, step units.Seconds) float64 {
	if j.Training.Tokens <= 0 {
		return 0
	}
	return objective(TimeToTrain, j, step) / 86400
}

// Run searches the layouts of base (the scenario's job; its layout is
// replaced) with opt.
func Run(base parallelism.Job, opt Options) (*Result, error) {
	if opt.Top < 1 {
		opt.Top = 1
	}
	if opt.Objective == "" {
		opt.Objective = StepTime
	}
	if !slices.Contains(Objectives(), opt.Objective) {
		return nil, fmt.Errorf("search: %q is not an objective", opt.Objective)
	}
	if opt.Workers < 1 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.MaxDays > 0 && base.Training.Tokens <= 0 {
		return nil, errors.New("search: a time-to-train limit needs training.tokens")
	}
	if opt.MaxCost > 0 && (base.Training.Tokens <= 0 || opt.PricePerGPUHour <= 0) {
		return nil, errors.New("search: a cost limit needs training.tokens and a price per GPU-hour")
	}
	if opt.PricePerGPUHour < 0 || opt.MaxCost < 0 || opt.MaxDays < 0 {
		return nil, errors.New("search: the price per GPU-hour and the limits must not be negative")
	}
	if l := base.Layout.PipelineLayout; l != "" {
		// Unrolled once, so that each candidate counts its stages by
		// its bars (cand.layout) instead of parsing it.
		x, err := parallelism.ExpandPipelineLayout(l)
		if err != nil {
			return nil, fmt.Errorf("search: parallelism.pipeline_layout %q: %w", l, err)
		}
		base.Layout.PipelineLayout = x
	}
	nodes := nodeCounts(base, opt)
	if len(nodes) == 0 {
		return nil, errors.New("search: no node count within the GPU limit")
	}
	out := &Result{Pruned: map[string]int{}}
	est := parallelism.NewEstimator()
	// Every candidate runs on the same fabric: the spine's ECMP slowdowns
	// are priced once for the whole search.
	base.Options.ECMP = &collective.ECMPMemo{}
	// So is how each collective's concurrent copies cross the spine: it
	// depends on the mesh and the fabric, shared by many candidates.
	base.Options.Crossings = &parallelism.CrossingMemo{}
	var all []Entry
	offset := 0
	for _, n := range nodes {
		cands, count, excluded := enumerate(base, n, nil, opt.Fix, opt.Keep)
		r, err := searchNodes(base, cands, offset, opt, est)
		if err != nil {
			return nil, err
		}
		if excluded > 0 {
			r.Pruned[PrunedExcluded] += excluded
		}
		if refused := count - excluded - len(cands); refused > 0 {
			r.Pruned[PrunedInvalid] += refused
		}
		offset += count
		out.Candidates += count
		out.Replayed += r.Replayed
		for k, v := range r.Pruned {
			out.Pruned[k] += v
		}
		all = append(all, r.Best...)
		if len(nodes) > 1 && len(r.Best) > 0 {
			out.Front = append(out.Front, r.Best[0])
		}
	}
	// The global best N are among each node count's best N.
	sortEntries(all)
	out.Best = all[:min(opt.Top, len(all))]
	out.Front = pareto(out.Front)
	return out, nil
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		if a.Objective != b.Objective {
			if a.Objective < b.Objective {
				return -1
			}
			return 1
		}
		return a.Index - b.Index
	})
}

// pareto keeps, of the best of each node count, those faster to train than
// every one with fewer GPUs, fewest GPUs first.
func pareto(best []Entry) []Entry {
	slices.SortFunc(best, func(a, b Entry) int { return a.Job.Cluster.GPUs() - b.Job.Cluster.GPUs() })
	var out []Entry
	for _, e := range best {
		ttt := objective(TimeToTrain, e.Job, e.Result.StepTime)
		if len(out) == 0 || ttt < objective(TimeToTrain, out[len(out)-1].Job, out[len(out)-1].Result.StepTime) {
			out = append(out, e)
		}
	}
	return out
}

// parallel runs f(i) for i in [0, n) on w goroutines.
func parallel(n, w int, f func(worker, i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for k := 0; k < min(w, n); k++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			for i := range next {
				f(worker, i)
			}
		}(k)
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// searchNodes searches the candidates of one node count; entries' indices
// are offset.
func searchNodes(base parallelism.Job, cands []cand, offset int, opt Options, est *parallelism.Estimator) (*Result, error) {
	res := &Result{Pruned: map[string]int{}}
	// Each candidate's prune reason, as an index into why (0: none): a byte
	// each, for millions of candidates.
	why := []string{"", PrunedInvalid, PrunedMemory, PrunedError, PrunedMaxDays, PrunedMaxCost}
	code := func(reason string) uint8 { return uint8(slices.Index(why, reason)) }
	reasons := make([]uint8, len(cands))
	// The cheap checks, in chunks of candidates on the workers; each writes
	// only its own candidates.
	const chunk = 1024
	parallel((len(cands)+chunk-1)/chunk, opt.Workers, func(_, c int) {
		for i := c * chunk; i < min(len(cands), (c+1)*chunk); i++ {
			cd := &cands[i]
			j := cd.job(base)
			if i > c*chunk {
				// The overlap switches are the innermost loops of the
				// enumeration. Validation and memory never read them, the
				// bound not pp_overlap (TestEstimatesAgainstReplay checks
				// it): reuse the previous candidate's verdict when only they
				// differ.
				prev := &cands[i-1]
				if sameBut(prev, cd) && (reasons[i-1] == code(PrunedInvalid) || reasons[i-1] == code(PrunedMemory)) {
					reasons[i] = reasons[i-1]
					continue
				}
				if sameBut(prev, cd) && prev.tpo == cd.tpo && prev.ogr == cd.ogr && reasons[i-1] == 0 {
					b := prev.boundStep
					if over := opt.overLimits(j, b); over != "" {
						reasons[i] = code(over)
						continue
					}
					cd.boundStep = b
					continue
				}
			}
			valid, errs := j.Validate()
			if len(errs) > 0 {
				reasons[i] = code(PrunedInvalid)
				continue
			}
			_, _, fits, err := est.PeakMemory(valid)
			if err != nil {
				reasons[i] = code(PrunedError)
				continue
			}
			if !fits {
				reasons[i] = code(PrunedMemory)
				continue
			}
			b, err := est.StepLowerBound(valid)
			if err != nil {
				reasons[i] = code(PrunedError)
				continue
			}
			if over := opt.overLimits(j, b); over != "" {
				reasons[i] = code(over)
				continue
			}
			cd.boundStep = b
		}
	})
	// The survivors with their bound's objective, in the order they are
	// replayed: best bound first, ties by index.
	type survivor struct {
		i     int
		bound float64
	}
	var order []survivor
	for i, r := range reasons {
		if r != 0 {
			res.Pruned[why[r]]++
		} else {
			cd := &cands[i]
			order = append(order, survivor{i, objective(opt.Objective, cd.job(base), cd.boundStep)})
		}
	}
	slices.SortFunc(order, func(a, b survivor) int {
		if a.bound != b.bound {
			if a.bound < b.bound {
				return -1
			}
			return 1
		}
		return a.i - b.i
	})
	var best []Entry
	// Each worker replays with its own arrays, reused from one candidate to
	// the next (the results do not depend on them).
	scratch := make([]parallelism.Scratch, max(1, opt.Workers))
	type outcome struct {
		e   Entry
		why string
	}
	for k := 0; k < len(order); k += batch {
		if !opt.Exhaustive && len(best) == opt.Top && order[k].bound > best[len(best)-1].Objective {
			res.Pruned[PrunedBound] += len(order) - k
			break
		}
		n := min(batch, len(order)-k)
		outs := make([]outcome, n)
		parallel(n, opt.Workers, func(w, i int) {
			cd := &cands[order[k+i].i]
			j := cd.job(base)
			valid, _ := j.Validate()
			r, err := parallelism.SimulateWith(valid, &scratch[w])
			switch {
			case err != nil:
				outs[i].why = PrunedError
			case !r.Feasible:
				outs[i].why = PrunedMemory
			case opt.overLimits(j, r.StepTime) != "":
				outs[i].why = opt.overLimits(j, r.StepTime)
			default:
				outs[i].e = Entry{Index: offset + int(cd.index), Job: j, Result: r, Bound: cd.boundStep, Objective: objective(opt.Objective, j, r.StepTime)}
			}
		})
		res.Replayed += n
		for _, o := range outs {
			if o.why != "" {
				res.Pruned[o.why]++
				continue
			}
			best = append(best, o.e)
		}
		sortEntries(best)
		best = best[:min(opt.Top, len(best))]
	}
	res.Best = best
	return res, nil
}
