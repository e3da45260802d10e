package validation

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/scenario"
	"trainsim/units"
)

// Result is one comparison of a prediction with a measurement: a case, or one
// row and pass of a per-layer table.
type Result struct {
	ID    string `json:"id"`
	Group string `json:"group"`
	// Row names the per-layer table row and pass ("full_recompute/backward").
	Row    string `json:"row,omitempty"`
	Scored bool   `json:"scored"`
	// Why says why the result is not scored.
	Why    string `json:"why_not_scored,omitempty"`
	Metric Metric `json:"metric"`
	// Replayed is false when no prediction was made (the case is listed only).
	Replayed  bool    `json:"replayed"`
	Predicted float64 `json:"predicted"`
	Measured  float64 `json:"measured"`
	// ErrorPct is 100 × (predicted − measured) / measured.
	ErrorPct float64 `json:"error_pct"`
	// Infeasible is the simulator's reason when it finds the run does not fit.
	Infeasible string `json:"infeasible,omitempty"`
	System     string `json:"system,omitempty"`
	GPUs       int    `json:"gpus"`
	Layout     string `json:"layout,omitempty"`
	Precision  string `json:"precision,omitempty"`
	// Assumptions lists the rules the case needed.
	Assumptions []string `json:"assumptions"`
}

// Scenario returns the TOML scenario text that replays c with knobs k, as a
// user would write it. k.Recompute must be a policy, not Auto.
func (c Case) Scenario(k Knobs) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name = %q\n\n[model]\n", c.ID)
	if c.Preset != "" {
		fmt.Fprintf(&b, "preset = %q\n", c.Preset)
	}
	if c.LinearBias {
		b.WriteString("linear_bias = true\n")
		// NeMo's GPT-3 training properties (docs/model.md §7.28).
		b.WriteString("attention_dropout = 0.1\nhidden_dropout = 0.1\ntied_embeddings = true\nposition_embedding = \"learned\"\n")
	}
	s := c.Shape
	for _, f := range []struct {
		key string
		v   int
	}{{"layers", s.Layers}, {"hidden", s.Hidden}, {"heads", s.Heads}, {"kv_heads", s.KVHeads}, {"ffn_hidden", s.FFNHidden}, {"seq_len", s.SeqLen}, {"vocab", s.Vocab},
		{"head_dim", s.HeadDim}, {"experts", s.Experts}, {"top_k", s.TopK}, {"moe_ffn_hidden", s.MoEFFN}, {"shared_experts", s.SharedExperts}, {"dense_layers", s.DenseLayers}, {"mtp_depth", s.MTPDepth}} {
		if f.v > 0 {
			fmt.Fprintf(&b, "%s = %d\n", f.key, f.v)
		}
	}
	fmt.Fprintf(&b, "\n[cluster]\nsystem = %q\nnodes = %d\n", c.System, c.Nodes)
	if c.GPUsPerNode > 0 {
		fmt.Fprintf(&b, "gpus_per_node = %d\n", c.GPUsPerNode)
	}
	if c.NICsPerNode > 0 {
		fmt.Fprintf(&b, "\n[cluster.network]\nnics_per_node = %d\n", c.NICsPerNode)
	}
	if c.NVLinkGBps > 0 {
		fmt.Fprintf(&b, "\n[cluster.nvlink]\nbandwidth = \"%gGB/s\"\n", c.NVLinkGBps)
	}
	if c.HBM > 0 {
		fmt.Fprintf(&b, "\n[cluster.gpu]\nhbm = \"%gGiB\"\n", float64(c.HBM/units.GiB))
	}
	fmt.Fprintf(&b, "\n[parallelism]\ntp = %d\npp = %d\ndp = %d\nmicrobatch = %d\n", k.TP, k.PP, k.DP, k.Microbatch)
	if k.CP > 1 {
		fmt.Fprintf(&b, "cp = %d\n", k.CP)
	}
	if k.EP > 1 {
		fmt.Fprintf(&b, "ep = %d\n", k.EP)
	}
	if k.ETP > 1 {
		fmt.Fprintf(&b, "etp = %d\n", k.ETP)
	}
	fmt.Fprintf(&b, "schedule = %q\nvirtual_stages = %d\nsequence_parallel = %v\nrecompute = %q\nzero = %d\n",
		k.Schedule, k.VirtualStages, k.SequenceParallel, k.Recompute, k.ZeRO)
	fmt.Fprintf(&b, "overlap_grad_reduce = %v\ntp_overlap = %v\npp_overlap = %v\npp_scatter_gather = %v\n", k.OverlapGradReduce, k.TPOverlap, k.PPOverlap, k.PPScatterGather)
	if k.RecomputeModules != "" && k.Recompute == string(parallelism.RecomputeSelective) {
		fmt.Fprintf(&b, "recompute_modules = %q\n", k.RecomputeModules)
	}
	if k.PipelineLayout != "" {
		fmt.Fprintf(&b, "pipeline_layout = %q\n", k.PipelineLayout)
	}
	if k.ZeRO1AllReduce {
		b.WriteString("zero1_allreduce = true\n")
	}
	if k.ZeROFP32Reduce || c.Stack == "pytorch-fsdp" {
		// Written either way under the FSDP stack, whose default (true)
		// a PURE run overrides.
		fmt.Fprintf(&b, "zero_fp32_reduce = %v\n", k.ZeROFP32Reduce)
	}
	if c.Stack != "" {
		fmt.Fprintf(&b, "\n[software]\nstack = %q\n", c.Stack)
	}
	if k.MoEOverlap || k.DispatchFP8 {
		b.WriteString("\n[moe]\n")
	}
	if k.MoEOverlap {
		b.WriteString("overlap = true\n")
	}
	if k.DispatchFP8 {
		b.WriteString("dispatch_fp8 = true\n")
	}
	fmt.Fprintf(&b, "\n[training]\nglobal_batch = %d\nprecision = %q\nattention = %q\ngrad_accum_fusion = %v\nfp32_grads = %v\n", c.GlobalBatch, c.Precision, c.Attention, c.GradAccumFusion, c.FP32Grads)
	if c.Eager {
		b.WriteString("eager_elementwise = true\n")
	}
	if c.EagerCE || c.Stack == "pytorch-fsdp" {
		// Written either way under the FSDP stack, whose default (true)
		// an llm-foundry run overrides.
		fmt.Fprintf(&b, "eager_cross_entropy = %v\n", c.EagerCE)
	}
	if c.PPKeepOutputs {
		b.WriteString("pp_keep_outputs = true\n")
	}
	if c.FlashKernel != "" {
		fmt.Fprintf(&b, "flash_kernel = %q\n", c.FlashKernel)
	}
	if c.FP8Recipe != "" {
		fmt.Fprintf(&b, "fp8_recipe = %q\n", c.FP8Recipe)
	}
	return []byte(b.String())
}

// load resolves and validates c's scenario with knobs k through
// scenario.Load and Scenario.Validate, the path a user's file takes.
func (c Case) load(k Knobs) (*scenario.Scenario, parallelism.Valid, error) {
	sc, err := scenario.Load(c.ID+".toml", c.Scenario(k), nil)
	if err == nil {
		var v parallelism.Valid
		if v, err = sc.Validate(); err == nil {
			return sc, v, nil
		}
	}
	return nil, parallelism.Valid{}, fmt.Errorf("scenario rejected: %w", err)
}

// Evaluate replays one case and compares it with its measurement. A per-layer
// table gives two results per row (forward, backward); any other case one.
// A case that cannot be replayed gives one listed, unscored result.
func Evaluate(c Case) []Result { return evaluate(c, nil) }

// evaluate is Evaluate replaying on scratch's arrays (nil: fresh ones); the
// result does not depend on it.
func evaluate(c Case, scratch *parallelism.Scratch) []Result {
	base := Result{
		ID: c.ID, Group: c.Group, Scored: c.Scored, Why: c.Why, Metric: c.Metric,
		Measured: c.Measured, System: c.System, GPUs: c.GPUs, Precision: string(c.Precision),
		Assumptions: append([]string{}, c.Assumptions...),
	}
	if !c.Replayable {
		return []Result{base}
	}
	if c.free != nil {
		k, note, _, err := c.pickLayout()
		if err != nil {
			return []Result{failed(base, err)}
		}
		c.Knobs = k
		base.Assumptions = append(base.Assumptions, note)
	}
	base.Layout = c.Knobs.String()
	if len(c.Rows) > 0 {
		return evaluateRows(c, base)
	}
	sc, res, k, err := c.replay(scratch)
	if err != nil {
		return []Result{failed(base, err)}
	}
	base.Layout = k.String()
	if c.Knobs.Recompute == Auto {
		switch {
		case !res.Feasible:
			base.Assumptions = append(base.Assumptions, "recompute unknown → full (nothing fits)")
		case k.Recompute == c.RecomputeDefault:
			base.Assumptions = append(base.Assumptions, fmt.Sprintf("recompute unknown → %s (the framework's default, fits)", k.Recompute))
		default:
			base.Assumptions = append(base.Assumptions, fmt.Sprintf("recompute unknown → %s (the framework's default, %s, does not fit; the least more that fits)", k.Recompute, c.RecomputeDefault))
		}
	}
	rep, err := report.Build(report.Input{Name: sc.Name, Seed: sc.Seed, Stack: sc.Stack, Job: sc.Job}, res)
	if err != nil {
		return []Result{failed(base, fmt.Errorf("building the report: %w", err))}
	}
	if !res.Feasible {
		base.Infeasible = res.Reason
	}
	gpus := float64(rep.GPUs)
	var pred float64
	switch c.Metric {
	case StepTime:
		pred = rep.StepTimeS
	case HardwareTFLOPs:
		pred = rep.HardwareFLOPsPerGPUS / 1e12
	case ModelTFLOPs:
		pred = rep.ModelFLOPsPerGPUS / 1e12
	case TokensPerGPU:
		pred = rep.TokensPerS / gpus
	case MFU:
		pred = 100 * rep.MFU
	default:
		return []Result{failed(base, fmt.Errorf("metric %q has no prediction", c.Metric))}
	}
	return []Result{compare(base, pred)}
}

// replay simulates c, resolving an unknown recomputation policy to the least
// of none, selective and full that fits in memory (full when none fits).
func (c Case) replay(scratch *parallelism.Scratch) (*scenario.Scenario, *parallelism.Result, Knobs, error) {
	policies := []string{c.Knobs.Recompute}
	if c.Knobs.Recompute == Auto {
		all := []string{string(parallelism.RecomputeNone), string(parallelism.RecomputeSelective), string(parallelism.RecomputeFull)}
		policies = all
		for i, p := range all {
			if p == c.RecomputeDefault {
				policies = all[i:]
			}
		}
	}
	var (
		res *parallelism.Result
		sc  *scenario.Scenario
		k   Knobs
	)
	for _, pol := range policies {
		k = c.Knobs
		k.Recompute = pol
		var (
			err   error
			valid parallelism.Valid
		)
		if sc, valid, err = c.load(k); err != nil {
			return nil, nil, k, err
		}
		if res, err = parallelism.SimulateWith(valid, scratch); err != nil {
			return nil, nil, k, fmt.Errorf("simulating: %w", err)
		}
		if res.Feasible {
			break
		}
	}
	return sc, res, k, nil
}

// ErrUnknownCase and ErrNotReplayable are returned (wrapped) by ScenarioOf for
// an id that names no case, or a case that has no replay (layout unknown).
var (
	ErrUnknownCase   = errors.New("no case")
	ErrNotReplayable = errors.New("not replayable")
)

// ScenarioOf returns the scenario TOML that replays the case with this id as
// sim validate replays it (an unknown recomputation policy resolved), so that
// `sim run` can show its full report.
func ScenarioOf(id string) ([]byte, error) {
	cases, err := Cases()
	if err != nil {
		return nil, err
	}
	return ScenarioIn(cases, id)
}

// ScenarioIn is ScenarioOf among the given cases.
func ScenarioIn(cases []Case, id string) ([]byte, error) {
	var err error
	var ids []string
	for _, c := range cases {
		ids = append(ids, c.ID)
		if c.ID != id {
			continue
		}
		if !c.Replayable {
			return nil, fmt.Errorf("case %q is %w: %s", id, ErrNotReplayable, c.Why)
		}
		if c.free != nil {
			if c.Knobs, _, _, err = c.pickLayout(); err != nil {
				return nil, err
			}
		}
		k := c.Knobs
		switch {
		case len(c.Rows) > 0:
			k = c.rowKnobs(c.Rows[0])
		case k.Recompute == Auto:
			if _, _, k, err = c.replay(nil); err != nil {
				return nil, err
			}
		}
		return c.Scenario(k), nil
	}
	return nil, fmt.Errorf("%w %q (allowed: %s)", ErrUnknownCase, id, strings.Join(ids, ", "))
}

// rowKnobs is c's layout with the recomputation and sequence parallelism of
// one row of its per-layer table.
func (c Case) rowKnobs(row LayerRow) Knobs {
	k := c.Knobs
	k.Recompute = string(row.Recompute)
	k.SequenceParallel = row.SequenceParallel
	return k
}

// evaluateRows replays each row of a per-layer table with LayerTimes.
func evaluateRows(c Case, base Result) []Result {
	var out []Result
	for _, row := range c.Rows {
		k := c.rowKnobs(row)
		r := base
		r.Layout = k.String()
		r.Assumptions = append(append([]string{}, base.Assumptions...),
			fmt.Sprintf("row %s → recompute %s, sequence_parallel %v", row.Name, row.Recompute, row.SequenceParallel))
		_, valid, err := c.load(k)
		if err != nil {
			r.Row = row.Name
			out = append(out, failed(r, err))
			continue
		}
		fwd, bwd, err := parallelism.LayerTimes(valid)
		if err != nil {
			r.Row = row.Name
			out = append(out, failed(r, fmt.Errorf("layer times: %w", err)))
			continue
		}
		f, b := r, r
		f.Row, f.Metric, f.Measured = row.Name+"/forward", LayerForward, row.ForwardMS
		b.Row, b.Metric, b.Measured = row.Name+"/backward", LayerBackward, row.BackwardMS
		out = append(out, compare(f, 1e3*float64(fwd)), compare(b, 1e3*float64(bwd)))
	}
	return out
}

// compare fills in a prediction and its signed error.
func compare(r Result, predicted float64) Result {
	r.Replayed = true
	r.Predicted = predicted
	if r.Measured != 0 {
		r.ErrorPct = 100 * (predicted - r.Measured) / r.Measured
	}
	return r
}

// failed marks a result whose replay could not be made.
func failed(r Result, err error) Result {
	r.Scored = false
	r.Why = "replay failed: " + err.Error()
	return r
}

// Run replays cases on up to workers goroutines and returns their results in
// case order, so the output does not depend on scheduling.
func Run(cases []Case, workers int) []Result {
	workers = max(1, min(workers, len(cases)))
	out := make([][]Result, len(cases))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch parallelism.Scratch // this worker's arrays, reused case after case
			for i := range next {
				out[i] = evaluate(cases[i], &scratch)
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	var flat []Result
	for _, rs := range out {
		flat = append(flat, rs...)
	}
	return flat
}

// Summary is the error of a group of results.
type Summary struct {
	Group string `json:"group"`
	// Listed counts every result; Scored those that count.
	Listed int `json:"listed"`
	Scored int `json:"scored"`
	// MAEPct is the mean absolute error and BiasPct the mean signed error
	// of the scored results, in percent.
	MAEPct  float64 `json:"mae_pct"`
	BiasPct float64 `json:"bias_pct"`
	// WorstPct is the scored error of largest magnitude, and Worst its id.
	WorstPct float64 `json:"worst_pct"`
	Worst    string  `json:"worst,omitempty"`
}

// add counts one result into s.
func (s *Summary) add(r Result) {
	s.Listed++
	if !r.Scored || !r.Replayed {
		return
	}
	s.Scored++
	s.MAEPct += math.Abs(r.ErrorPct)
	s.BiasPct += r.ErrorPct
	if s.Worst == "" || math.Abs(r.ErrorPct) > math.Abs(s.WorstPct) {
		s.WorstPct, s.Worst = r.ErrorPct, r.label()
	}
}

func (s *Summary) finish() {
	if s.Scored > 0 {
		s.MAEPct /= float64(s.Scored)
		s.BiasPct /= float64(s.Scored)
	}
}

// label is the id, with the row for a per-layer result.
func (r Result) label() string {
	if r.Row != "" {
		return r.ID + "/" + r.Row
	}
	return r.ID
}

// Summarize returns one summary per group, in the order groups first appear,
// and one over all results.
func Summarize(results []Result) (groups []Summary, overall Summary) {
	index := map[string]int{}
	overall.Group = "overall"
	for _, r := range results {
		i, ok := index[r.Group]
		if !ok {
			i = len(groups)
			index[r.Group] = i
			groups = append(groups, Summary{Group: r.Group})
		}
		groups[i].add(r)
		overall.add(r)
	}
	for i := range groups {
		groups[i].finish()
	}
	overall.finish()
	return groups, overall
}

// Report is everything sim validate prints.
type Report struct {
	Rules   []string  `json:"rules"`
	Groups  []Summary `json:"groups"`
	Overall Summary   `json:"overall"`
	Results []Result  `json:"results"`
	// Memory is the memory check; nil when a --group other than
	// MemoryGroup was asked for.
	Memory *MemoryCheck `json:"memory,omitempty"`
	// RL is the RL post-training table (rl.toml); nil when a --group other
	// than RLGroup was asked for, or other cases were given.
	RL *RLCheck `json:"rl,omitempty"`
}

// Options selects what Build replays.
type Options struct {
	// Group keeps only the cases of this group ("" keeps all). MemoryGroup
	// keeps only the memory check.
	Group string
	// Workers bounds the replays run at once (at least 1).
	Workers int
	// Cases replaces the built-in published cases (ParseCases); the memory
	// check, which is about the built-in Korthikanti et al. models, is then
	// left out.
	Cases []Case
}

// GroupNames lists the case groups in file order, then MemoryGroup.
func GroupNames(cases []Case) []string {
	var names []string
	seen := map[string]bool{}
	for _, c := range cases {
		if !seen[c.Group] {
			seen[c.Group] = true
			names = append(names, c.Group)
		}
	}
	return append(names, MemoryGroup, RLGroup)
}

// ErrUnknownGroup is returned (wrapped) by Build for an Options.Group that
// names no group.
var ErrUnknownGroup = errors.New("no group")

// Build replays the embedded cases and the memory check.
func Build(opts Options) (*Report, error) {
	cases, builtin := opts.Cases, opts.Cases == nil
	if builtin {
		var err error
		if cases, err = Cases(); err != nil {
			return nil, err
		}
	}
	if opts.Group != "" {
		known := false
		for _, g := range GroupNames(cases) {
			known = known || (g == opts.Group && (builtin || g != MemoryGroup && g != RLGroup))
		}
		if !known {
			names := GroupNames(cases)
			if !builtin {
				names = names[:len(names)-2] // no memory or RL check for other cases
			}
			return nil, fmt.Errorf("%w %q (groups: %s)", ErrUnknownGroup, opts.Group, strings.Join(names, ", "))
		}
	}
	var keep []Case
	for _, c := range cases {
		if opts.Group == "" || c.Group == opts.Group {
			keep = append(keep, c)
		}
	}
	rep := &Report{Rules: Rules(), Results: Run(keep, opts.Workers)}
	if rep.Results == nil {
		rep.Results = []Result{}
	}
	rep.Groups, rep.Overall = Summarize(rep.Results)
	if rep.Groups == nil {
		rep.Groups = []Summary{}
	}
	if builtin && (opts.Group == "" || opts.Group == MemoryGroup) {
		mem, err := CheckMemory(cases, opts.Workers)
		if err != nil {
			return nil, err
		}
		rep.Memory = mem
	}
	if builtin && (opts.Group == "" || opts.Group == RLGroup) {
		chk, err := CheckRL(opts.Workers)
		if err != nil {
			return nil, err
		}
		rep.RL = chk
	}
	return rep, nil
}
