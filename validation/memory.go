package validation

import (
	"fmt"
	"strings"
	"sync"

	"trainsim/parallelism"
	"trainsim/units"
)

// MemoryGroup names the memory check (memory.toml) among the groups.
const MemoryGroup = "Korthikanti2022-memory"

// memoryConfigGroup is the group whose cases are the runs memory.toml
// describes (Korthikanti et al. 2022, Table 3 = the Table 5 runs).
const memoryConfigGroup = "Korthikanti2022-Table5"

// memoryPolicy is an activation policy of Korthikanti et al. 2022, Figures 1
// and 7, as memory.toml names it.
type memoryPolicy struct {
	name      string
	sp        bool
	recompute parallelism.Recompute
}

// memoryPolicies lists the policies; "none" comes first, the others are
// reported relative to it.
func memoryPolicies() []memoryPolicy {
	return []memoryPolicy{
		{"none", false, parallelism.RecomputeNone},
		{"seq", true, parallelism.RecomputeNone},
		{"sel", false, parallelism.RecomputeSelective},
		{"seqsel", true, parallelism.RecomputeSelective},
		{"full", false, parallelism.RecomputeFull},
	}
}

// MemoryRow is one memory figure of one model: predicted against published.
type MemoryRow struct {
	Model string `json:"model"`
	// Case is the published.toml case whose configuration was replayed.
	Case   string `json:"case"`
	Layout string `json:"layout"`
	// Quantity is "params_and_optimizer_gib", "activations_gib.none", … or
	// "activations_pct_of_none.seq", ….
	Quantity  string  `json:"quantity"`
	Unit      string  `json:"unit"`
	Predicted float64 `json:"predicted"`
	Measured  float64 `json:"measured"`
	ErrorPct  float64 `json:"error_pct"`
	Note      string  `json:"note,omitempty"`
}

// MemoryCheck compares the memory model with Korthikanti et al. 2022,
// Figures 1 and 7.
type MemoryCheck struct {
	Rows []MemoryRow `json:"rows"`
	// Absolute summarises the GiB rows (Figure 1); Relative the
	// percent-of-none rows (Figure 7).
	Absolute Summary  `json:"absolute"`
	Relative Summary  `json:"relative"`
	Notes    []string `json:"notes"`
}

// memoryRun is the replay of one model under one policy.
type memoryRun struct {
	mem   parallelism.Memory
	stage int
	job   parallelism.Job
	err   error
}

// CheckMemory replays each model of memory.toml in the configuration of its
// Table 5 case (cases must hold them) under the activation policies of
// Figures 1 and 7, and compares the busiest GPU's memory.
func CheckMemory(cases []Case, workers int) (*MemoryCheck, error) {
	raws, err := readMemory()
	if err != nil {
		return nil, err
	}
	chk := &MemoryCheck{Notes: []string{
		"Korthikanti et al. count only the transformer layers: their parameter, optimizer and activation figures exclude the embeddings. " +
			"The predicted params+optimizer is therefore the simulated weights + gradients + optimizer of the busiest GPU scaled by its " +
			"non-embedding share of parameters (layers/pp × layer params / tp, over that plus the word embedding slice V·h/tp on the first and last stage " +
			"and the position embedding s·h on the first); the note gives the simulated figure with embeddings",
		"activations are the simulated stored activations of the busiest GPU (transient working memory excluded), as Figure 1 counts them",
		"each model is replayed in the configuration of its " + memoryConfigGroup + " case of published.toml (memory.toml: the same runs): " +
			"tp, pp, schedule, micro-batch and global batch from there; the policy sets sequence_parallel and recompute " +
			"(none: neither; seq: SP; sel: selective; seqsel: SP + selective; full: full recompute)",
		"memory.toml's header says micro-batch 1, but its 22B figures are those of micro-batch 4 (59.25 GiB is 4 × the micro-batch-1 value of Korthikanti's Eq. 2), " +
			"the micro-batch of the 22B Table 5 case, which is the configuration replayed here",
	}}
	policies := memoryPolicies()
	type job struct {
		row    int
		policy int
		c      Case
		k      Knobs
	}
	var jobs []job
	base := make([]Case, len(raws))
	for i, r := range raws {
		c, ok := memoryCase(cases, r.Model)
		if !ok {
			return nil, fmt.Errorf("%s: model %q: no replayable %s case with dp 1 for it", memoryFile, r.Model, memoryConfigGroup)
		}
		base[i] = c
		for p, pol := range policies {
			k := c.Knobs
			k.SequenceParallel, k.Recompute = pol.sp, string(pol.recompute)
			jobs = append(jobs, job{i, p, c, k})
		}
	}
	runs := make([][]memoryRun, len(raws))
	for i := range runs {
		runs[i] = make([]memoryRun, len(policies))
	}
	next := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < max(1, min(workers, len(jobs))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch parallelism.Scratch // this worker's arrays, reused replay after replay
			for j := range next {
				runs[j.row][j.policy] = replayMemory(j.c, j.k, &scratch)
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()

	gib := func(b units.Bytes) float64 { return float64(b) / float64(units.GiB) }
	for i, r := range raws {
		c := base[i]
		for p, run := range runs[i] {
			if run.err != nil {
				return nil, fmt.Errorf("%s: model %q, policy %s: %w", memoryFile, r.Model, policies[p].name, run.err)
			}
		}
		none := runs[i][0]
		row := func(pol memoryPolicy, q, unit string, pred, meas float64, note string) MemoryRow {
			k := c.Knobs
			k.SequenceParallel, k.Recompute = pol.sp, string(pol.recompute)
			mr := MemoryRow{Model: r.Model, Case: c.ID, Layout: k.String(), Quantity: q, Unit: unit, Predicted: pred, Measured: meas, Note: note}
			if meas != 0 {
				mr.ErrorPct = 100 * (pred - meas) / meas
			}
			return mr
		}
		state := none.mem.Weights + none.mem.Gradients + none.mem.Optimizer
		share := nonEmbeddingShare(none.job, none.stage)
		chk.Rows = append(chk.Rows, row(policies[0], "params_and_optimizer_gib", "GiB", gib(state)*share, r.ParamsAndOptimizerGiB,
			fmt.Sprintf("stage %d with embeddings: %.2f GiB", none.stage, gib(state))))
		for p, pol := range policies {
			if meas, ok := r.ActivationsGiB[pol.name]; ok {
				run := runs[i][p]
				chk.Rows = append(chk.Rows, row(pol, "activations_gib."+pol.name, "GiB", gib(run.mem.Activations), meas,
					fmt.Sprintf("stage %d", run.stage)))
			}
		}
		for p, pol := range policies {
			if meas, ok := r.ActivationsPctOfNone[pol.name]; ok && none.mem.Activations > 0 {
				pct := 100 * float64(runs[i][p].mem.Activations) / float64(none.mem.Activations)
				chk.Rows = append(chk.Rows, row(pol, "activations_pct_of_none."+pol.name, "%", pct, meas,
					fmt.Sprintf("%.2f of %.2f GiB", gib(runs[i][p].mem.Activations), gib(none.mem.Activations))))
			}
		}
	}
	chk.Absolute.Group, chk.Relative.Group = MemoryGroup+" (GiB, Fig. 1)", MemoryGroup+" (% of none, Fig. 7)"
	for _, mr := range chk.Rows {
		r := Result{ID: mr.Model, Row: mr.Quantity, Scored: true, Replayed: true, ErrorPct: mr.ErrorPct}
		if mr.Unit == "%" {
			chk.Relative.add(r)
		} else {
			chk.Absolute.add(r)
		}
	}
	chk.Absolute.finish()
	chk.Relative.finish()
	return chk, nil
}

// memoryCase finds the configuration memory.toml's model label ("22B") was
// measured in: the first replayable Table 5 case without data parallelism
// whose model name ends in that label ("GPT 22B").
func memoryCase(cases []Case, label string) (Case, bool) {
	for _, c := range cases {
		fields := strings.Fields(c.ModelName)
		if c.Group != memoryConfigGroup || !c.Replayable || c.Knobs.DP != 1 || len(fields) == 0 {
			continue
		}
		if alnum(fields[len(fields)-1]) == alnum(label) {
			return c, true
		}
	}
	return Case{}, false
}

// replayMemory simulates c with knobs k and keeps the busiest GPU's memory.
func replayMemory(c Case, k Knobs, scratch *parallelism.Scratch) memoryRun {
	sc, valid, err := c.load(k)
	if err != nil {
		return memoryRun{err: err}
	}
	res, err := parallelism.SimulateWith(valid, scratch)
	if err != nil {
		return memoryRun{err: fmt.Errorf("simulating: %w", err)}
	}
	return memoryRun{mem: res.Memory, stage: res.MemoryStage, job: sc.Job}
}

// nonEmbeddingShare is the part of stage s's parameters (per GPU) that are
// transformer layers, under Megatron-LM's placement: the word embedding's
// V·h/tp slice on the first and (tied copy) last stage, the position
// embedding s·h on the first.
func nonEmbeddingShare(j parallelism.Job, stage int) float64 {
	m, l := j.Model, j.Layout
	layers := float64(m.Layers/l.PP) * float64(m.LayerParams()) / float64(l.TP)
	emb := 0.0
	word := float64(m.Vocab) * float64(m.Hidden) / float64(l.TP)
	if stage == 0 {
		emb += word + float64(m.SeqLen)*float64(m.Hidden)
	}
	if stage == l.PP-1 && l.PP > 1 {
		emb += word
	}
	if layers+emb <= 0 {
		return 1
	}
	return layers / (layers + emb)
}
