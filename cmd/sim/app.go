package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"trainsim/field"
	"trainsim/inputfile"
	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/rl"
	"trainsim/scenario"
	"trainsim/scenarios"
	"trainsim/topology"
)

// Exit codes, a fixed contract (docs/scenario.md, README.md).
const (
	exitOK         = 0
	exitInfeasible = 1
	exitBadInput   = 2
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(err error) error { return &exitError{exitBadInput, err} }

// Main runs the command line with args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.code != exitInfeasible {
			fmt.Fprintln(stderr, ee.err)
		}
		return ee.code
	}
	// Flag and argument errors from cobra itself.
	fmt.Fprintf(stderr, "sim: %v\n", err)
	return exitBadInput
}

// commonFlags are the flags every simulating verb accepts.
type commonFlags struct {
	sets   []string
	format string
	out    string
	trace  string
	seed   uint64
	// sim run only (registerRun).
	timeline bool
	// sim run and sim search (registerTraceFilters).
	traceSteps  int
	traceStages string
	traceRanks  string
	verbose     bool
	logLevel    string
	logFormat   string
}

func (c *commonFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&c.sets, "set", nil, "override a scenario key by its dotted path, e.g. --set parallelism.tp=4 (repeatable)")
	f.StringVar(&c.format, "format", "text", "output format: text, json or csv")
	f.StringVarP(&c.out, "output", "o", "", "write the report to FILE instead of stdout (a .json or .csv FILE sets the format unless --format is given)")
	f.StringVar(&c.trace, "trace", "", "write a Chrome/Perfetto trace of the replayed step(s) to FILE")
	f.Var((*seedFlag)(&c.seed), "seed", "override the scenario's seed key (an integer from 0 to 2^63 − 1)")
	f.BoolVarP(&c.verbose, "verbose", "v", false, "log progress to stderr (same as --log-level=debug)")
	f.StringVar(&c.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	f.StringVar(&c.logFormat, "log-format", "console", "log line format on stderr: console or json (one JSON object per line)")
}

// registerRun adds the flags only sim run has.
func (c *commonFlags) registerRun(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.timeline, "timeline", false, "put the first step's pipeline timeline in the JSON report (always with --trace), for sim report")
	c.registerTraceFilters(cmd)
}

// registerTraceFilters adds the flags that choose what --trace writes, for
// sim run and sim search.
func (c *commonFlags) registerTraceFilters(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&c.traceSteps, "trace-steps", 0, "with --trace: write only the first N steps (0: all)")
	f.StringVar(&c.traceStages, "trace-stages", "", "with --trace: write only these pipeline stages, e.g. 0,2-3 (default: all)")
	f.StringVar(&c.traceRanks, "trace-ranks", "", "with --trace: write only the replayed GPUs of these global ranks, e.g. 0,8-15 (default: all)")
}

// setsWithSeed is the --set overrides, then --seed as the seed key when it
// was given.
func (c *commonFlags) setsWithSeed(cmd *cobra.Command) []string {
	return withSeed(c.sets, cmd.Flags().Changed("seed"), c.seed)
}

// seedFlag is the --seed flag: the seed key's range (a TOML integer, not
// negative), refused with it at the flag.
type seedFlag uint64

func (s *seedFlag) Set(v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return errors.New("must be an integer from 0 to 9223372036854775807 (2^63 − 1), as the seed key")
	}
	*s = seedFlag(n)
	return nil
}

func (s *seedFlag) String() string { return strconv.FormatUint(uint64(*s), 10) }

// Type is what the help shows beside the flag.
func (s *seedFlag) Type() string { return "uint" }

// withSeed appends seed=N to sets when the --seed flag was given.
func withSeed(sets []string, given bool, seed uint64) []string {
	if !given {
		return sets
	}
	return append(append([]string(nil), sets...), "seed="+strconv.FormatUint(seed, 10))
}

func (c *commonFlags) logger(stderr io.Writer) (*zap.Logger, error) {
	level := c.logLevel
	if c.verbose {
		level = "debug"
	}
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, badInput(fmt.Errorf("--log-level: %q is not a level (allowed: debug, info, warn, error)", level))
	}
	var encoder zapcore.Encoder
	switch c.logFormat {
	case "", "console":
		enc := zap.NewDevelopmentEncoderConfig()
		enc.TimeKey = ""
		encoder = zapcore.NewConsoleEncoder(enc)
	case "json":
		// Machine-read logs (a cluster's log collector) carry the time.
		enc := zap.NewProductionEncoderConfig()
		enc.EncodeTime = zapcore.ISO8601TimeEncoder
		encoder = zapcore.NewJSONEncoder(enc)
	default:
		return nil, badInput(fmt.Errorf("--log-format: %q is not a log format (allowed: console, json)", c.logFormat))
	}
	return zap.New(zapcore.NewCore(encoder, zapcore.AddSync(stderr), lvl)), nil
}

func (c *commonFlags) check() error {
	switch c.format {
	case "text", "json", "csv":
	default:
		return badInput(fmt.Errorf("--format: %q is not a format (allowed: text, json, csv)", c.format))
	}
	return nil
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "sim",
		Short:         "trainsim: a cluster-scale simulator of distributed LLM training",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
	}
	root.SetVersionTemplate("sim {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRunCmd(stdout, stderr), newPresetsCmd(stdout), newSweepCmd(stdout, stderr), newReportCmd(stdout))
	root.AddCommand(newValidateCmd(stdout, stderr), newSearchCmd(stdout, stderr), newCollectiveCmd(stdout, stderr))
	root.AddCommand(newVersionCmd(stdout), newScenarioCmd(stdout))
	return root
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var flags commonFlags
	cmd := &cobra.Command{
		Use:   "run [SCENARIO.toml]",
		Short: "simulate a scenario (the embedded GPT-3 175B default when no file is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("format") {
				// -o report.json without --format: the extension says it.
				switch strings.ToLower(filepath.Ext(flags.out)) {
				case ".json":
					flags.format = "json"
				case ".csv":
					flags.format = "csv"
				}
			}
			if err := flags.check(); err != nil {
				return err
			}
			log, err := flags.logger(stderr)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			sc, err := loadScenario(args, flags.setsWithSeed(cmd))
			if err != nil {
				return err
			}
			sc.Job.Options.Timeline = flags.trace != "" || flags.timeline
			if err := checkOutputs(runInputs(sc, len(args) == 1), []namedPath{{"-o", flags.out}, {"--trace", flags.trace}}); err != nil {
				return err
			}
			filter, err := traceFilter(flags.traceSteps, flags.traceStages, flags.traceRanks)
			if err != nil {
				return badInput(err)
			}
			rep, in, res, err := replay(sc, len(args) == 1, log)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			switch flags.format {
			case "json":
				err = report.WriteJSON(&buf, rep)
			case "csv":
				err = report.WriteCSV(&buf, rep)
			default:
				err = report.WriteText(&buf, rep, in.Job)
			}
			if err != nil {
				return err
			}
			if err := writeOut(flags.out, stdout, buf.Bytes()); err != nil {
				return err
			}
			if flags.trace != "" {
				if err := writeTrace(flags.trace, sc.Name, filter(res.Timeline), sc.Job.Layout.PP); err != nil {
					return err
				}
			}
			if !rep.Feasible {
				fmt.Fprintf(stderr, "%s: infeasible: %s\n", sc.File, rep.Reason)
				return &exitError{exitInfeasible, errors.New(rep.Reason)}
			}
			return nil
		},
	}
	flags.register(cmd)
	flags.registerRun(cmd)
	return cmd
}

// traceFilter keeps the spans of the first steps (0: all), of the listed
// stages ("0,2-3"; empty: all) and of the listed global ranks (empty: all).
func traceFilter(steps int, stages, ranks string) (func([]parallelism.Span) []parallelism.Span, error) {
	if steps < 0 {
		return nil, fmt.Errorf("--trace-steps: want 0 (all) or a positive count, not %d", steps)
	}
	keepStage, err := intSet("--trace-stages", "stage", stages)
	if err != nil {
		return nil, err
	}
	keepRank, err := intSet("--trace-ranks", "rank", ranks)
	if err != nil {
		return nil, err
	}
	return func(spans []parallelism.Span) []parallelism.Span {
		if steps == 0 && keepStage == nil && keepRank == nil {
			return spans
		}
		out := spans[:0:0]
		for _, s := range spans {
			if (steps == 0 || s.Step < steps) && (keepStage == nil || keepStage[s.Stage]) && (keepRank == nil || keepRank[s.Rank]) {
				out = append(out, s)
			}
		}
		return out
	}, nil
}

// intSet parses a list of non-negative integers and ranges ("0,2-3") for
// flag; nil for an empty list.
func intSet(flag, what, list string) (map[int]bool, error) {
	if list == "" {
		return nil, nil
	}
	keep := map[int]bool{}
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b-a > 1<<16 {
			return nil, fmt.Errorf("%s: %q is not a %s or range of %ss (e.g. 0,2-3)", flag, part, what, what)
		}
		for s := a; s <= b; s++ {
			keep[s] = true
		}
		if len(keep) > 1<<20 {
			return nil, fmt.Errorf("%s: more than %d %ss listed", flag, 1<<20, what)
		}
	}
	return keep, nil
}

// prepareJob merges the files a scenario names (loadFiles) and validates the
// job, once, with what they brought: the path from a loaded scenario to a job
// the replay takes, for sim run and, through sweep.Evaluate, sim sweep.
func prepareJob(sc *scenario.Scenario, fromDisk bool) (parallelism.Valid, error) {
	if err := loadFiles(sc, fromDisk); err != nil {
		return parallelism.Valid{}, err
	}
	return sc.Validate()
}

// loadFiles reads the files a scenario names, relative to the scenario file
// (or to the working directory for the embedded default): the calibration
// file, merged under the scenario's own [calibration] keys, and the explicit
// topology. The checks of what they bring (the calibrated values' ranges,
// the topology's GPU count) are Validate's, with the rest of the job.
func loadFiles(sc *scenario.Scenario, fromDisk bool) error {
	return loadFilesWith(sc, func(_, path string) string { return relativeTo(path, sc.File, fromDisk) })
}

// loadFilesWith is loadFiles with the paths of calibration.file and
// cluster.network.file resolved by resolve(key, path): a sweep resolves
// those its sweep file sets against the sweep file (sweep.Sweep.Path).
func loadFilesWith(sc *scenario.Scenario, resolve func(key, path string) string) error {
	if err := loadCalibration(sc, resolve); err != nil {
		return err
	}
	return loadGraph(sc, resolve)
}

// runInputs lists the files a run reads: the scenario file, and the
// calibration and topology files it names, resolved as loadFiles resolves
// them.
func runInputs(sc *scenario.Scenario, fromDisk bool) []namedPath {
	var in []namedPath
	if fromDisk {
		in = append(in, namedPath{"scenario", sc.File})
	}
	if f := sc.Job.Calibration.File; f != "" {
		in = append(in, namedPath{"calibration.file", relativeTo(f, sc.File, fromDisk)})
	}
	if f := sc.Job.Cluster.Network.File; f != "" {
		in = append(in, namedPath{"cluster.network.file", relativeTo(f, sc.File, fromDisk)})
	}
	return in
}

// relativeTo resolves path against the scenario file's directory.
func relativeTo(path, scenarioFile string, fromDisk bool) string {
	if fromDisk && !filepath.IsAbs(path) {
		return filepath.Join(filepath.Dir(scenarioFile), path)
	}
	return path
}

// loadCalibration reads the file named by calibration.file and merges it
// under the scenario's own [calibration] keys.
func loadCalibration(sc *scenario.Scenario, resolve func(key, path string) string) error {
	file := sc.Job.Calibration.File
	if file == "" {
		return nil
	}
	path := resolve("calibration.file", file)
	src, err := inputfile.Read(path)
	if err != nil {
		return fmt.Errorf("%s: calibration.file: %w", sc.Place("calibration.file"), err)
	}
	return sc.MergeCalibration(path, src)
}

// loadGraph reads the explicit topology named by cluster.network.file into
// the job's options. Only the flow-level network uses one; for any other,
// the file is left unread and Validate says the key needs flow mode.
func loadGraph(sc *scenario.Scenario, resolve func(key, path string) string) error {
	j := &sc.Job
	if j.Cluster.Network.File == "" || j.Options.Network != parallelism.NetworkFlow {
		return nil
	}
	path := resolve("cluster.network.file", j.Cluster.Network.File)
	src, err := inputfile.Read(path)
	if err != nil {
		return fmt.Errorf("%s: cluster.network.file: %w", sc.Place("cluster.network.file"), err)
	}
	g, err := topology.ReadGraph(path, src)
	if err != nil {
		return err
	}
	j.Options.Graph = g
	return nil
}

// writeTrace writes the timeline as a Chrome/Perfetto trace to path.
func writeTrace(path, name string, spans []parallelism.Span, stages int) error {
	if err := writeAtomic(path, func(w io.Writer) error { return report.WriteTrace(w, name, spans, stages) }); err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	return nil
}

// writeOut writes data to path, or to stdout when path is empty.
func writeOut(path string, stdout io.Writer, data []byte) error {
	if path == "" {
		_, err := stdout.Write(data)
		return err
	}
	if err := writeAtomic(path, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return badInput(fmt.Errorf("-o: %w", err))
	}
	return nil
}

// loadScenario reads the scenario file args names (at most one; the embedded
// default without one), size-capped, and loads it with the --set overrides.
// Every problem is bad input.
func loadScenario(args, sets []string) (*scenario.Scenario, error) {
	name, src := scenarios.Default()
	if len(args) == 1 {
		name = args[0]
		var err error
		// inputfile.Read's errors name the file already (os.Open's
		// "open FILE: …", "FILE: larger than 1 MiB…").
		if src, err = inputfile.Read(name); err != nil {
			return nil, badInput(err)
		}
	}
	sc, err := scenario.Load(name, src, sets)
	if err != nil {
		return nil, badInput(err)
	}
	return sc, nil
}

// replay validates and simulates a loaded scenario — the step, the whole
// job and the RL step where the scenario has them — and builds its report;
// sim run and sim report share it. fromFile says whether the scenario came
// from a file (for the error's file name).
func replay(sc *scenario.Scenario, fromFile bool, log *zap.Logger) (*report.Report, report.Input, *parallelism.Result, error) {
	var in report.Input
	valid, err := prepareJob(sc, fromFile)
	if err != nil {
		return nil, in, nil, badInput(err)
	}
	log.Debug("scenario loaded", zap.String("file", sc.File), zap.String("name", sc.Name), zap.Int("gpus", sc.Job.Cluster.GPUs()))
	start := time.Now()
	res, err := parallelism.Simulate(valid)
	if err != nil {
		// A replay found too large only when run (its periodic
		// shortcut did not hold) is bad input, as Validate's refusal.
		var fe field.Error
		if errors.As(err, &fe) {
			// Placed where its key was set (FILE:LINE or --set), as
			// Validate's own refusals are.
			return nil, in, nil, badInput(fmt.Errorf("%s: %w", sc.Place(fe.Field), err))
		}
		return nil, in, nil, fmt.Errorf("%s: %w", sc.File, err)
	}
	log.Debug("replayed", zap.Int("tasks", res.Tasks), zap.Int("events", res.Events), zap.Duration("took", time.Since(start)))
	whole, wholeCfg, err := sc.RunWhole(res)
	if err != nil {
		return nil, in, nil, fmt.Errorf("%s: %w", sc.File, err)
	}
	in = report.Input{Name: sc.Name, Seed: sc.Seed, Stack: sc.Stack, Job: sc.Job, Whole: whole, WholeConfig: wholeCfg}
	if sc.RL != nil {
		rlRes, err := rl.Run(valid, *sc.RL)
		if err != nil {
			return nil, in, nil, fmt.Errorf("%s: %w", sc.File, err)
		}
		in.RL, in.RLConfig = rlRes, *sc.RL
		in.Job, res = rlRes.TrainJob, rlRes.TrainResult
	}
	rep, err := report.Build(in, res)
	if err != nil {
		return nil, in, nil, err
	}
	return rep, in, res, nil
}
