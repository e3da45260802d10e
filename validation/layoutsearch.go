package validation

import (
	"fmt"
	"slices"
	"strings"

	"trainsim/parallelism"
	"trainsim/scenario"
	"trainsim/search"
)

// The layout rule. A published benchmark run (an MLPerf submission, a
// framework's performance table) often states its model, GPU count,
// hardware and global batch but not its layout. Such runs are tuned for
// speed: they publish the fastest configuration their authors found. So
// where tp or pp is unknown the replay uses the fastest layout the search
// package finds (objective step time) among those the case's software
// stack can express, on the case's own nodes, keeping every degree and
// knob the case does state. Nothing is cached between cases: each replay
// runs its own search.

// maxLayoutCandidates bounds the layouts one case's search enumerates
// before its stack's filter (the largest built-in case, GPT-3 175B on
// 4,608 H100s with nothing stated, enumerates 19.5 million, in about a
// second), so that a malformed file cannot make `sim validate` run for
// hours.
const maxLayoutCandidates = 100_000_000

// freeLayout is what a case with an unknown layout states of it; 0 (or
// false) where it states nothing.
type freeLayout struct {
	tp, pp, dp, mb int
	// tpSource and ppSource are the source's tp and pp, for the note.
	tpSource, ppSource string
	// sched is "" (unknown), "1f1b" or "interleaved"; v the stated model
	// chunks of an interleaved schedule (0: any).
	sched string
	v     int
	// spStated: the source states sequence parallelism (the knob holds
	// it); else the stack's default (spStackSet, spStackFlag) and tp > 1.
	spStated, spStackSet, spStackFlag bool
	// ogr is the stack's overlap_grad_reduce; ogrPP1 turns it on at pp 1
	// (PyTorch DDP under Megatron-LM 2021); ogrOneMicrobatch only where a
	// step has one micro-batch (Megatron-LM of January 2021, which allowed
	// PyTorch DDP only then).
	ogr, ogrPP1, ogrOneMicrobatch bool
	// oneFOneBOnly: the stack predates the interleaved schedule.
	oneFOneBOnly bool
	// etpIsTP: etp unknown with tp unknown: Megatron-Core's default, etp =
	// the tp tried.
	etpIsTP bool
}

// interleave reads the source's interleave (or vp) field: "no", false or
// 1 → 1f1b; an integer N > 1 or "yes, N …" → interleaved with N chunks;
// "yes" → interleaved, any chunks; anything else → unknown.
func (f *freeLayout) interleave(v any) {
	switch x := v.(type) {
	case int64:
		f.sched = "1f1b"
		if x > 1 {
			f.sched, f.v = "interleaved", int(x)
		}
	case bool:
		f.sched = "1f1b"
		if x {
			f.sched = "interleaved"
		}
	case string:
		s := text(x)
		switch {
		case strings.HasPrefix(s, "yes"):
			f.sched = "interleaved"
			if g := leadingCount.FindStringSubmatch(s); g != nil {
				if _, err := fmt.Sscan(g[1], &f.v); err != nil {
					f.v = 0
				}
			}
		case explicitNo.MatchString(s):
			f.sched = "1f1b"
		}
	}
}

// keep returns the search's filter for case c (knobs k, the rules'
// values for everything the search does not choose) on a model of layers
// layers trained at global batch gb.
//
// Megatron-LM and Megatron-Core split the layers evenly over the pipeline
// stages and, interleaved, over the model chunks (num_layers divisible by
// pp, and by pp·v: megatron/model/transformer.py and
// megatron/core/transformer/transformer_block.py, whose asserts a run on
// those stacks meets), and their interleaved schedule needs the number of
// micro-batches to be a multiple of pp (megatron/schedules.py,
// forward_backward_pipelining_with_interleaving): the layouts those stacks
// can express.
func (f *freeLayout) keep(c Case, k Knobs, layers, gb int) func(parallelism.Layout) bool {
	recs := []parallelism.Recompute{parallelism.Recompute(k.Recompute)}
	if k.Recompute == Auto {
		all := parallelism.SearchedRecomputes()
		recs = all
		for i, p := range all {
			if string(p) == c.RecomputeDefault {
				recs = all[i:]
			}
		}
	}
	moe := c.Shape.Experts > 0
	return func(l parallelism.Layout) bool {
		stated := func(want, got int) bool { return want == 0 || want == got }
		if !stated(f.tp, l.TP) || !stated(f.pp, l.PP) || !stated(f.dp, l.DP) || !stated(f.mb, l.Microbatch) || l.CP != k.CP {
			return false
		}
		etp := max(k.ETP, 1)
		if f.etpIsTP {
			etp = l.TP
		}
		if moe && (l.EP != k.EP || max(l.ETP, 1) != etp || l.MoEOverlap != k.MoEOverlap) {
			return false
		}
		v := max(l.VirtualStages, 1)
		if l.PP < 1 || layers%(l.PP*v) != 0 {
			return false
		}
		switch l.Schedule {
		case parallelism.OneFOneB:
			if f.sched == "interleaved" && l.PP > 1 {
				return false
			}
		case parallelism.Interleaved:
			if f.sched == "1f1b" || f.oneFOneBOnly || !stated(f.v, l.VirtualStages) || l.DP*l.Microbatch < 1 || (gb/(l.DP*l.Microbatch))%l.PP != 0 {
				return false
			}
		default:
			return false // zb-h1 and gpipe: not in the Megatron stacks
		}
		sp := k.SequenceParallel
		if !f.spStated {
			sp = l.TP > 1 && (!f.spStackSet || f.spStackFlag)
		}
		if l.SequenceParallel != sp || !slices.Contains(recs, l.Recompute) || l.ZeRO != k.ZeRO {
			return false
		}
		ogr := f.ogr || f.ogrPP1 && l.PP == 1 && (!f.ogrOneMicrobatch || l.DP*l.Microbatch == gb)
		return l.OverlapGradReduce == (ogr && l.DP > 1) && l.TPOverlap == (k.TPOverlap && l.TP > 1) && l.PPOverlap == (k.PPOverlap && l.PP > 1)
	}
}

// pickLayout returns c's knobs with the layout the rule picks, the
// assumption that says so, and the search's best entry.
func (c Case) pickLayout() (Knobs, string, search.Entry, error) {
	f := c.free
	k := c.Knobs
	sc, err := c.loadPlaceholder()
	if err != nil {
		return k, "", search.Entry{}, err
	}
	opt0 := search.Options{Fix: search.Degrees{TP: f.tp, PP: f.pp, DP: f.dp, Microbatch: f.mb}}
	if n := search.Count(sc.Job, opt0); n > maxLayoutCandidates {
		return k, "", search.Entry{}, fmt.Errorf("layout unknown (tp %s, pp %s): the search would enumerate %d layouts, more than the %d the layout rule allows", f.tpSource, f.ppSource, n, maxLayoutCandidates)
	}
	res, err := search.Run(sc.Job, search.Options{Top: 1, Objective: search.StepTime, Workers: 1, Fix: search.Degrees{TP: f.tp, PP: f.pp, DP: f.dp, Microbatch: f.mb}, Keep: f.keep(c, k, sc.Job.Model.Layers, sc.Job.Training.GlobalBatch)})
	if err != nil {
		return k, "", search.Entry{}, fmt.Errorf("layout search: %w", err)
	}
	if len(res.Best) == 0 {
		return k, "", search.Entry{}, fmt.Errorf("layout unknown (tp %s, pp %s) and no layout the stack can express fits (%d candidates: %v)", f.tpSource, f.ppSource, res.Candidates, res.Pruned)
	}
	best := res.Best[0]
	l := best.Job.Layout
	k.TP, k.PP, k.DP, k.Microbatch = l.TP, l.PP, l.DP, l.Microbatch
	k.Schedule, k.VirtualStages = l.Schedule, max(l.VirtualStages, 1)
	k.SequenceParallel, k.Recompute = l.SequenceParallel, string(l.Recompute)
	k.OverlapGradReduce = f.ogr || f.ogrPP1 && l.PP == 1 && (!f.ogrOneMicrobatch || l.DP*l.Microbatch == sc.Job.Training.GlobalBatch)
	note := fmt.Sprintf("layout unknown (tp %s, pp %s) → the fastest layout the search finds (step time %.3g s; %d layouts of the stack that keep what is stated, %d replayed): %s",
		f.tpSource, f.ppSource, float64(best.Result.StepTime), res.Candidates-res.Pruned[search.PrunedExcluded], res.Replayed, k.String())
	return k, note, best, nil
}

// loadPlaceholder loads c's scenario with a placeholder layout (the stated
// degrees, else 1; dp filling the GPUs), which the search replaces; the
// layout is not validated.
func (c Case) loadPlaceholder() (*scenario.Scenario, error) {
	k := c.Knobs
	k.DP = max(1, c.GPUs/max(1, k.TP*k.PP*k.CP))
	k.Microbatch = max(1, k.Microbatch)
	if k.Recompute == Auto {
		k.Recompute = string(parallelism.RecomputeNone)
	}
	sc, err := scenario.Load(c.ID+".toml", c.Scenario(k), nil)
	if err != nil {
		return nil, fmt.Errorf("scenario rejected: %w", err)
	}
	return sc, nil
}
