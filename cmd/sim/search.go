package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/scenario"
	"trainsim/search"
	"trainsim/topology"
	"trainsim/units"
)

// searchOutput is `sim search --format json`: the counts and the best
// layouts' run reports, best first.
type searchOutput struct {
	Candidates int            `json:"candidates"`
	Pruned     map[string]int `json:"pruned"`
	Replayed   int            `json:"replayed"`
	Objective  string         `json:"objective"`
	// PricePerGPUHour is --price-per-gpu-hour; CostToTrain the best's
	// GPU-hours to train times it, in the order of Best.
	// StartLayout says, when the scenario's own layout was not a valid
	// job, which neutral layout the search started from instead.
	StartLayout     string           `json:"start_layout,omitempty"`
	PricePerGPUHour float64          `json:"price_per_gpu_hour,omitempty"`
	CostToTrain     []float64        `json:"cost_to_train,omitempty"`
	Best            []*report.Report `json:"best"`
	// Front is the Pareto front of GPUs against time to train, when
	// several node counts were searched.
	Front []*report.Report `json:"front,omitempty"`
}

func newSearchCmd(stdout, stderr io.Writer) *cobra.Command {
	var flags commonFlags
	var opt search.Options
	var objective string
	cmd := &cobra.Command{
		Use:   "search [SCENARIO.toml]",
		Short: "find the fastest layouts of a scenario's model on its cluster and batch (docs/search.md)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flags.check(); err != nil {
				return err
			}
			filter, err := traceFilter(flags.traceSteps, flags.traceStages, flags.traceRanks)
			if err != nil {
				return badInput(err)
			}
			opt.Objective = search.Objective(objective)
			if !slices.Contains(search.Objectives(), opt.Objective) {
				return badInput(fmt.Errorf("--objective: %q is not an objective (allowed: step_time_s, cost, time_to_train)", objective))
			}
			if opt.Top < 1 {
				return badInput(fmt.Errorf("--top: must be at least 1, got %d", opt.Top))
			}
			// Checked before the scenario is loaded, as --top: a negative
			// limit or worker count is a slip, not "no limit" or "default".
			if opt.MaxGPUs < 0 {
				return badInput(fmt.Errorf("--max-gpus: must be 0 (no limit) or a positive GPU count, got %d", opt.MaxGPUs))
			}
			if cmd.Flags().Changed("workers") && opt.Workers < 1 {
				return badInput(fmt.Errorf("--workers: want at least 1, got %d", opt.Workers))
			}
			for _, n := range opt.Nodes {
				if n < 1 || n > topology.MaxNodes {
					return badInput(fmt.Errorf("--nodes: node counts must be from 1 to %d (cluster.nodes' range), got %d", topology.MaxNodes, n))
				}
			}
			log, err := flags.logger(stderr)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			sc, valid, fallback, err := loadForSearch(args, flags.setsWithSeed(cmd))
			if err != nil {
				return err
			}
			base := valid.Job()
			if opt.MaxDays > 0 && base.Training.Tokens <= 0 {
				return badInput(errors.New("--max-days: needs training.tokens"))
			}
			for _, f := range []struct {
				name string
				v    float64
			}{{"--max-days", opt.MaxDays}, {"--price-per-gpu-hour", opt.PricePerGPUHour}, {"--max-cost", opt.MaxCost}} {
				if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
					return badInput(fmt.Errorf("%s: must be a finite number ≥ 0, got %g", f.name, f.v))
				}
			}
			if opt.MaxCost > 0 && (base.Training.Tokens <= 0 || opt.PricePerGPUHour <= 0) {
				return badInput(errors.New("--max-cost: needs training.tokens and --price-per-gpu-hour"))
			}
			if opt.PricePerGPUHour > 0 && base.Training.Tokens <= 0 {
				// The price is of the GPU-hours to train on them:
				// without them there is none to show.
				return badInput(errors.New("--price-per-gpu-hour: needs training.tokens, the tokens to train on (e.g. --set training.tokens=1e12)"))
			}
			if err := checkOutputs(runInputs(sc, len(args) == 1), []namedPath{{"-o", flags.out}, {"--trace", flags.trace}}); err != nil {
				return err
			}
			start := time.Now()
			res, err := search.Run(base, opt)
			if err != nil {
				return badInput(err)
			}
			took := time.Since(start)
			log.Debug("searched", zap.Int("candidates", res.Candidates), zap.Int("replayed", res.Replayed), zap.Duration("took", took))
			if len(res.Best) == 0 {
				why := fmt.Sprintf("no layout of %d candidates fits (pruned: %s)", res.Candidates, prunedText(res.Pruned))
				fmt.Fprintf(stderr, "%s: infeasible: %s\n", sc.File, why)
				return &exitError{exitInfeasible, errors.New(why)}
			}
			reps := func(es []search.Entry) ([]*report.Report, error) {
				var out []*report.Report
				for _, e := range es {
					rep, err := report.Build(report.Input{Name: sc.Name, Seed: sc.Seed, Stack: sc.Stack, Job: e.Job}, e.Result)
					if err != nil {
						return nil, err
					}
					out = append(out, rep)
				}
				return out, nil
			}
			best, err := reps(res.Best)
			if err != nil {
				return err
			}
			front, err := reps(res.Front)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			switch flags.format {
			case "json":
				out := searchOutput{Candidates: res.Candidates, Pruned: res.Pruned, Replayed: res.Replayed, Objective: string(opt.Objective), StartLayout: fallback, Best: best, Front: front}
				if opt.PricePerGPUHour > 0 {
					out.PricePerGPUHour = opt.PricePerGPUHour
					for _, e := range res.Best {
						out.CostToTrain = append(out.CostToTrain, opt.Cost(e.Job, e.Result.StepTime))
					}
				}
				if err := report.EncodeJSON(&buf, out); err != nil {
					return err
				}
			case "csv":
				err = report.WriteCSV(&buf, best...)
			default:
				err = writeSearchText(&buf, sc.Name, opt, res, best, front, took, fallback)
			}
			if err != nil {
				return err
			}
			if err := writeOut(flags.out, stdout, buf.Bytes()); err != nil {
				return err
			}
			if flags.trace != "" {
				return traceBest(flags.trace, sc.Name, res, filter)
			}
			return nil
		},
	}
	flags.register(cmd)
	registerSearchTrace(cmd, &flags)
	f := cmd.Flags()
	f.IntVar(&opt.Top, "top", 5, "how many layouts to report")
	f.StringVar(&objective, "objective", string(search.StepTime), "what to minimise: step_time_s, cost (GPU-hours to train) or time_to_train")
	f.IntVar(&opt.Workers, "workers", 0, "goroutines replaying candidates (default: GOMAXPROCS); the result does not depend on it")
	f.IntVar(&opt.MaxGPUs, "max-gpus", 0, "skip node counts with more GPUs (0: no limit)")
	f.Float64Var(&opt.MaxDays, "max-days", 0, "drop layouts that take longer to train, in days (0: no limit; needs training.tokens)")
	f.Float64Var(&opt.PricePerGPUHour, "price-per-gpu-hour", 0, "what one GPU-hour costs (any currency): the ranking shows each layout's price to train (needs training.tokens)")
	f.Float64Var(&opt.MaxCost, "max-cost", 0, "drop layouts whose price to train is higher, in the currency of --price-per-gpu-hour (0: no limit; needs training.tokens)")
	f.IntSliceVar(&opt.Nodes, "nodes", nil, "node counts to search, e.g. 64,128,256 (default: the scenario's cluster.nodes)")
	return cmd
}

func prunedText(p map[string]int) string {
	var parts []string
	for _, k := range []string{search.PrunedInvalid, search.PrunedMemory, search.PrunedBound, search.PrunedMaxDays, search.PrunedMaxCost, search.PrunedError} {
		if p[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p[k], k))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// layoutText is one line naming a layout.
func layoutText(j parallelism.Job) string {
	l := j.Layout
	var b strings.Builder
	fmt.Fprintf(&b, "%d nodes: TP %d × PP %d × DP %d", j.Cluster.Nodes, l.TP, l.PP, l.DP)
	if l.CP > 1 {
		fmt.Fprintf(&b, " × CP %d", l.CP)
	}
	if j.Model.MoE() {
		fmt.Fprintf(&b, ", EP %d", l.EP)
		if l.ETP > 1 {
			fmt.Fprintf(&b, " × ETP %d", l.ETP)
		}
	}
	fmt.Fprintf(&b, ", micro-batch %d, %s", l.Microbatch, l.Schedule)
	if l.VirtualStages > 1 {
		fmt.Fprintf(&b, " ×%d", l.VirtualStages)
	}
	fmt.Fprintf(&b, ", recompute %s", l.Recompute)
	if l.SequenceParallel {
		b.WriteString(", SP")
	}
	fmt.Fprintf(&b, ", ZeRO %d", l.ZeRO)
	if l.OverlapGradReduce {
		b.WriteString(", overlap grad reduce")
	}
	if l.TPOverlap {
		b.WriteString(", TP overlap")
	}
	if l.PPOverlap && l.PP > 1 {
		b.WriteString(", PP overlap")
	}
	if l.MoEOverlap {
		b.WriteString(", MoE overlap")
	}
	return b.String()
}

// loadForSearch loads and validates the scenario for sim search. The search
// replaces every degree and choice of the layout (search.cand.layout), so
// where the scenario is invalid only for its layout (the default's TP 8 ×
// PP 16 under --set cluster.nodes=8) it starts from a neutral layout
// instead: TP t × PP p (the first of a small grid that makes a valid job),
// no CP, EP, interleaving or hand pipeline layout, micro-batch 1; fallback
// says so. Other problems (the model, the cluster, the batch) stay errors.
func loadForSearch(args, sets []string) (sc *scenario.Scenario, valid parallelism.Valid, fallback string, err error) {
	load := func(sets []string) (*scenario.Scenario, parallelism.Valid, error) {
		sc, err := loadScenario(args, sets)
		if err != nil {
			return nil, parallelism.Valid{}, err
		}
		v, err := prepareJob(sc, len(args) == 1)
		if err != nil {
			return nil, parallelism.Valid{}, badInput(err)
		}
		return sc, v, nil
	}
	sc, valid, err = load(sets)
	if err == nil {
		return sc, valid, "", nil
	}
	if !layoutOnly(err) {
		return nil, parallelism.Valid{}, "", layoutHint(err)
	}
	for _, tp := range []int{1, 2, 4, 8} {
		for _, pp := range []int{1, 2, 4, 8, 16, 32, 64} {
			neutral := append(append([]string(nil), sets...),
				"parallelism.tp="+strconv.Itoa(tp), "parallelism.pp="+strconv.Itoa(pp),
				"parallelism.cp=1", "parallelism.ep=1", "parallelism.etp=1", "parallelism.microbatch=1",
				"parallelism.schedule=1f1b", "parallelism.virtual_stages=1", `parallelism.pipeline_layout=""`,
				"parallelism.sequence_parallel="+strconv.FormatBool(tp > 1), "parallelism.zero=0")
			if sc2, v2, err2 := load(neutral); err2 == nil {
				return sc2, v2, fmt.Sprintf("the scenario's own layout is not a valid job here; the search starts from TP %d × PP %d instead (it replaces the layout; the scenario's problem: %s)", tp, pp, firstLine(err)), nil
			}
		}
	}
	return nil, parallelism.Valid{}, "", layoutHint(err)
}

// layoutOnly says whether every problem of a scenario error is one the
// search's choice of layout decides: a parallelism key, or the global
// batch's divisibility by dp × microbatch.
func layoutOnly(err error) bool {
	var list scenario.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		return false
	}
	for _, e := range list {
		if e.Key != "parallelism" && !strings.HasPrefix(e.Key, "parallelism.") && !(e.Key == "training.global_batch" && strings.Contains(e.Msg, "dp × microbatch")) {
			return false
		}
	}
	return true
}

// firstLine is err's message up to its first line break.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// layoutHint adds to a scenario problem that names a layout key a line
// saying why the search, which replaces the layout, still needs it valid: a
// layout that no longer fits (--set cluster.nodes=8 under the default's
// TP 8 × PP 16) is what usually stops it.
func layoutHint(err error) error {
	if !strings.Contains(err.Error(), "parallelism") {
		return err
	}
	return badInput(fmt.Errorf("%w\n(sim search starts from the scenario as a valid job before it replaces the layout, from a neutral layout where the scenario's own does not fit, but it keeps a parallelism.dp the scenario gives: remove it or give one that fits, or search other node counts with --nodes)", err))
}

// writeSearchText writes the counts, the ranking, why the best wins (its
// breakdown next to the runner-up's), the Pareto front and the best's report.
func writeSearchText(w io.Writer, name string, opt search.Options, res *search.Result, best, front []*report.Report, took time.Duration, fallback string) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	sec := func(x float64) string { return units.Seconds(x).String() }
	p("Layout search: %s (objective %s)\n", name, opt.Objective)
	if len(opt.Nodes) > 0 {
		// The scenario's name states its own cluster; --nodes replaces it.
		n := make([]string, len(opt.Nodes))
		for i, x := range opt.Nodes {
			n[i] = strconv.Itoa(x)
		}
		p("  node counts searched: %s (--nodes), not the scenario's cluster.nodes\n", strings.Join(n, ", "))
	}
	if fallback != "" {
		p("  %s\n", fallback)
	}
	p("  %d candidates enumerated; pruned without a replay or after one: %s; %d replayed; %s\n\n",
		res.Candidates, prunedText(res.Pruned), res.Replayed, took.Round(time.Millisecond))
	for i, e := range res.Best {
		r := best[i]
		p("#%d  step %s", i+1, sec(r.StepTimeS))
		if r.TimeToTrainS > 0 {
			p(", %.1f days, %s GPU-hours", r.TimeToTrainS/86400, units.Grouped(r.GPUHours))
			if opt.PricePerGPUHour > 0 {
				p(" (%s at %g per GPU-hour)", units.Grouped(opt.Cost(e.Job, e.Result.StepTime)), opt.PricePerGPUHour)
			}
		}
		p(", MFU %.1f%%, %s of HBM\n    %s\n", 100*r.MFU, units.Bytes(r.Memory.Peak), layoutText(e.Job))
	}
	if len(best) > 1 {
		a, c := best[0].Breakdown, best[1].Breakdown
		p("\nWhy #1 wins over #2 (seconds per step, the most loaded GPU)\n")
		p("  %-18s %10s %10s %10s\n", "", "#1", "#2", "#2 − #1")
		for _, row := range []struct {
			name string
			x, y float64
		}{
			{"compute", a.ComputeS, c.ComputeS}, {"recompute", a.RecomputeS, c.RecomputeS},
			{"TP comm, exposed", a.TPS, c.TPS}, {"PP comm, exposed", a.PPS, c.PPS}, {"DP comm, exposed", a.DPS, c.DPS},
			{"optimizer", a.OptimizerS, c.OptimizerS}, {"pipeline bubble", a.BubbleS, c.BubbleS},
			{"step", best[0].StepTimeS, best[1].StepTimeS},
		} {
			p("  %-18s %10.4f %10.4f %+10.4f\n", row.name, row.x, row.y, row.y-row.x)
		}
	}
	if len(front) > 0 {
		p("\nPareto front: GPUs against time to train\n")
		for i, e := range res.Front {
			r := front[i]
			p("  %5d GPUs  step %s", r.GPUs, sec(r.StepTimeS))
			if r.TimeToTrainS > 0 {
				p(", %.1f days", r.TimeToTrainS/86400)
			}
			p("  %s\n", layoutText(e.Job))
		}
	}
	p("\nThe best layout's report\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return report.WriteText(w, best[0], res.Best[0].Job)
}
