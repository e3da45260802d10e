package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/term"

	"trainsim/inputfile"
	"trainsim/parallelism"
	"trainsim/scenario"
	"trainsim/sweep"
	"trainsim/units"
)

// Environment variables a shard index is read from when --shard-index is
// not given, in this order.
var shardIndexEnv = []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"}

// manifestFile is the name of the manifest every run writes into --out.
const manifestFile = "sweep.json"

type sweepFlags struct {
	out        string
	workers    int
	shards     int
	shardIndex int
	sets       []string
	seed       uint64
	verbose    bool
	logLevel   string
	logFormat  string
	// progressEvery is how often progress is logged when stderr is not a
	// terminal (0: never).
	progressEvery time.Duration
}

// newSweepCmd is `sim sweep SWEEP.toml --out DIR` and `sim sweep merge DIR`.
func newSweepCmd(stdout, stderr io.Writer) *cobra.Command {
	var flags sweepFlags
	cmd := &cobra.Command{
		Use:   "sweep SWEEP.toml --out DIR [--workers N] [--shards N --shard-index I]",
		Short: "evaluate many scenarios over a grid of keys, in parallel; `sweep merge DIR` joins the shards",
		Long: "Evaluate every point of the sweep's grid (the cross product of the values of its [grid] keys) over the base\n" +
			"scenario and write one JSON line per point to DIR/results.jsonl (DIR/results-shard-I-of-N.jsonl with --shards)\n" +
			"and the CSV beside it. Points already in that file are skipped, so a rerun resumes. With --shards N, point i\n" +
			"belongs to shard i mod N; the shard index defaults to $JOB_COMPLETION_INDEX (Kubernetes Indexed Job), then\n" +
			"$SLURM_ARRAY_TASK_ID (Slurm job array). See docs/sweep.md.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSweep(cmd, &flags, args[0], stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&flags.out, "out", "", "directory for the results (created if missing; required)")
	// GOMAXPROCS is the CPU count, or the container's CPU limit where the
	// runtime sees one (a Kubernetes pod on a larger node).
	f.IntVar(&flags.workers, "workers", 0, "points evaluated at once (default: the CPUs this process may use)")
	f.IntVar(&flags.shards, "shards", 0, "split the grid into N shards and evaluate one (point i is in shard i mod N)")
	f.IntVar(&flags.shardIndex, "shard-index", 0, "the shard to evaluate, 0..N-1 (default $JOB_COMPLETION_INDEX, then $SLURM_ARRAY_TASK_ID)")
	f.StringArrayVar(&flags.sets, "set", nil, "override a scenario key for every point, after the sweep's own tables and before the grid (repeatable)")
	f.Var((*seedFlag)(&flags.seed), "seed", "override the scenario's seed key for every point (an integer from 0 to 2^63 − 1)")
	f.BoolVarP(&flags.verbose, "verbose", "v", false, "log progress to stderr (same as --log-level=debug)")
	f.StringVar(&flags.logLevel, "log-level", "info", "log level: debug, info (progress lines), warn, error")
	f.StringVar(&flags.logFormat, "log-format", "console", "log line format on stderr: console or json (one JSON object per line)")
	f.DurationVar(&flags.progressEvery, "progress-every", 10*time.Second, "when stderr is not a terminal, log progress at info level this often (0: never); a terminal gets a progress bar")
	cmd.AddCommand(newSweepMergeCmd(stdout, stderr), newSweepMissingCmd(stdout, stderr))
	return cmd
}

// shard resolves the shard flags and the environment: shards 0 means the
// whole grid.
func (fl *sweepFlags) shard(cmd *cobra.Command, stderr io.Writer) (index, shards int, err error) {
	changed := cmd.Flags().Changed
	if !changed("shards") {
		if changed("shard-index") {
			return 0, 0, badInput(errors.New("--shard-index needs --shards N (the shard count is always explicit)"))
		}
		for _, env := range shardIndexEnv {
			if v := os.Getenv(env); v != "" {
				fmt.Fprintf(stderr, "sim sweep: %s is set but --shards is not: evaluating the whole grid\n", env)
				break
			}
		}
		return 0, 0, nil
	}
	index, source := fl.shardIndex, "--shard-index"
	if !changed("shard-index") {
		source = ""
		for _, env := range shardIndexEnv {
			if v := os.Getenv(env); v != "" {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return 0, 0, badInput(fmt.Errorf("%s=%q is not a shard index", env, v))
				}
				index, source = n, env
				break
			}
		}
		if source == "" {
			return 0, 0, badInput(fmt.Errorf("--shards %d needs --shard-index I, or %s in the environment", fl.shards, strings.Join(shardIndexEnv, " or ")))
		}
	}
	if err := sweep.CheckShard(index, fl.shards); err != nil {
		if source == "SLURM_ARRAY_TASK_ID" {
			return 0, 0, badInput(fmt.Errorf("%s: %w (number the array from 0: --array=0-%d)", source, err, fl.shards-1))
		}
		return 0, 0, badInput(fmt.Errorf("%s: %w", source, err))
	}
	return index, fl.shards, nil
}

func runSweep(cmd *cobra.Command, fl *sweepFlags, file string, stdout, stderr io.Writer) error {
	start := time.Now()
	if fl.out == "" {
		return badInput(errors.New("--out DIR is required: the directory for the results"))
	}
	if cmd.Flags().Changed("workers") && fl.workers < 1 {
		return badInput(fmt.Errorf("--workers: want at least 1, got %d", fl.workers))
	}
	if fl.workers == 0 {
		fl.workers = runtime.GOMAXPROCS(0)
	}
	cf := commonFlags{verbose: fl.verbose, logLevel: fl.logLevel, logFormat: fl.logFormat}
	log, err := cf.logger(stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	index, shards, err := fl.shard(cmd, stderr)
	if err != nil {
		return err
	}
	sets := withSeed(fl.sets, cmd.Flags().Changed("seed"), fl.seed)

	src, err := inputfile.Read(file)
	if err != nil {
		return badInput(err) // it names the file (inputfile.Read)
	}
	sw, err := sweep.Parse(sweep.Input{File: file, Src: src, ReadBase: inputfile.Read, ReadFile: inputfile.Read, Sets: sets})
	if err != nil {
		return badInput(err)
	}
	total := sw.Len()
	// The shard's points are streamed, never held: a 2³⁰-point grid starts
	// writing at once instead of allocating gigabytes first.
	points := sweep.ShardPoints(total, index, max(shards, 1))
	shardLen := sweep.ShardLen(total, index, max(shards, 1))
	log.Debug("sweep parsed", zap.String("file", file), zap.Int("points", total), zap.Int("shard_points", shardLen), zap.Strings("keys", sw.Keys()))

	if err := os.MkdirAll(fl.out, 0o755); err != nil {
		return badInput(fmt.Errorf("--out: %w", err))
	}
	if err := writeManifest(fl.out, sw.Manifest()); err != nil {
		return err
	}
	name := sweep.ResultsName(index, shards)
	jsonlPath := filepath.Join(fl.out, name+".jsonl")
	csvPath := filepath.Join(fl.out, name+".csv")

	// One writer per shard file: a second process on the same shard (a
	// duplicate submission, a requeued task whose first run still lives)
	// stops here instead of interleaving its lines with the first's.
	release, err := lockFile(filepath.Join(fl.out, name+".lock"), lockHolder())
	var locked *lockedError
	switch {
	case errors.As(err, &locked):
		return badInput(fmt.Errorf("%s is being written by another sim sweep: %w; run one process per shard at a time", jsonlPath, err))
	case errors.Is(err, errNoLocking):
		fmt.Fprintf(stderr, "sim sweep: %v; going on without a lock: run one process per shard at a time\n", err)
	case err != nil:
		return fmt.Errorf("--out: %w", err)
	default:
		defer func() { _ = release() }()
	}

	// Resume: keep the complete lines already written, cut off a truncated
	// last one.
	done, truncated, err := readShardJournal(jsonlPath, total, index, max(shards, 1))
	if err != nil {
		return err
	}
	have := make(map[int]bool, len(done))
	for _, r := range done {
		have[r.Point] = true
	}
	todo := func(yield func(int) bool) {
		for p := range points {
			if !have[p] && !yield(p) {
				return
			}
		}
	}
	nTodo := shardLen - len(have)
	log.Debug("resuming", zap.Int("done", len(done)), zap.Int("todo", nTodo), zap.Bool("truncated", truncated))

	out, err := os.OpenFile(jsonlPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	bar := newBar(stderr, nTodo)
	var prog *progress
	if bar == nil && fl.progressEvery > 0 && nTodo > 0 {
		prog = &progress{log: log, every: fl.progressEvery, total: nTodo, start: time.Now(), last: time.Now()}
	}
	prepare := func(sc *scenario.Scenario) error {
		return loadFilesWith(sc, func(key, path string) string { return sw.Path(key, path, sc.File) })
	}
	evalStart := time.Now()
	all := done
	// Each worker replays on arrays of its own, reused from point to point.
	scratch := make([]parallelism.Scratch, fl.workers)
	eval := func(w, i int) sweep.Record { return sw.EvaluateWith(i, prepare, &scratch[w]) }
	err = sweep.RunWorkers(todo, fl.workers, eval, func(r sweep.Record) error {
		line, err := r.MarshalLine()
		if err != nil {
			return err
		}
		if _, err := out.Write(line); err != nil {
			return fmt.Errorf("%s: %w", jsonlPath, err)
		}
		all = append(all, r)
		if bar != nil {
			_ = bar.Add(1)
		}
		prog.add(time.Now())
		log.Debug("point", zap.Int("point", r.Point), zap.Bool("feasible", r.Feasible()))
		return nil
	})
	if bar != nil {
		_ = bar.Finish()
	}
	prog.finish(time.Now())
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w", jsonlPath, cerr)
	}
	if err != nil {
		return err
	}
	evalTime := time.Since(evalStart)

	// The file is in point order unless an older one was not; then rewrite it.
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].Point < all[j].Point }) {
		sort.SliceStable(all, func(i, j int) bool { return all[i].Point < all[j].Point })
		var buf bytes.Buffer
		if err := sweep.WriteJSONL(&buf, all); err != nil {
			return err
		}
		if err := writeFileAtomic(jsonlPath, buf.Bytes()); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := sweep.WriteCSV(&buf, sw.Keys(), sweep.Output(all, sw.Objective, sw.Keep)); err != nil {
		return err
	}
	if err := writeFileAtomic(csvPath, buf.Bytes()); err != nil {
		return err
	}

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("sweep       %s: %d points over %s\n", file, total, strings.Join(sw.Keys(), " × "))
	if shards > 0 {
		p("shard       index %d of %d shards: %d points (i mod %d = %d)\n", index, shards, shardLen, shards, index)
	}
	p("evaluated   %d\n", nTodo)
	p("skipped     %d (already in %s)", shardLen-nTodo, jsonlPath)
	if truncated {
		p("; its truncated last line was discarded and recomputed")
	}
	p("\n")
	infeasible := 0
	for _, r := range all {
		if !r.Feasible() {
			infeasible++
		}
	}
	p("infeasible  %d of %d\n", infeasible, len(all))
	p("best        %s\n", describeBest(all, sw.Objective))
	p("results     %s, %s", jsonlPath, csvPath)
	if sw.Keep > 0 {
		p(" (the CSV: the %d best feasible points by %s)", sw.Keep, sw.Objective)
	}
	p("\n")
	rate := ""
	if nTodo > 0 && evalTime > 0 {
		w := min(fl.workers, nTodo)
		rate = fmt.Sprintf(" (%.1f points/s on %d worker%s)", float64(nTodo)/evalTime.Seconds(), w, map[bool]string{true: "s"}[w > 1])
	}
	p("wall time   %s%s\n", units.Seconds(time.Since(start).Seconds()), rate)
	_, err = io.WriteString(stdout, b.String())
	return err
}

// describeBest names the best feasible point by the objective, with its
// figures.
func describeBest(recs []sweep.Record, o sweep.Objective) string {
	best := sweep.Best(recs, o, 1)
	if len(best) == 0 {
		return "none: no feasible point"
	}
	r := best[0]
	var params []string
	for _, p := range r.Grid {
		params = append(params, p.Key+"="+sweep.FormatTOML(p.Value))
	}
	rep := r.Report
	s := fmt.Sprintf("point %d by %s: %s; step %s, MFU %.1f%%, %d GPUs", r.Point, o, strings.Join(params, " "), units.Seconds(rep.StepTimeS), 100*rep.MFU, rep.GPUs)
	if rep.Tokens > 0 {
		s += fmt.Sprintf(", %s GPU-hours (%.1f days) for %s tokens", units.Grouped(rep.GPUHours), rep.TimeToTrainS/86400, units.Short(rep.Tokens))
	}
	return s
}

// readShardJournal reads the shard's results file, if there is one, and
// cuts off a truncated last line. Every record must be a point of this
// shard; a second record of a point is ignored.
func readShardJournal(path string, total, index, shards int) (recs []sweep.Record, truncated bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	j, err := sweep.ReadJournal(data)
	if err != nil {
		return nil, false, badInput(fmt.Errorf("%s: %w (not a results file of sim sweep? use another --out)", path, err))
	}
	seen := map[int]bool{}
	for _, r := range j.Records {
		if r.Point >= total || r.Point%shards != index {
			return nil, false, badInput(fmt.Errorf("%s: point %d is not a point of this shard (of %d points, shard %d of %d); use another --out", path, r.Point, total, index, shards))
		}
		if !seen[r.Point] {
			seen[r.Point] = true
			recs = append(recs, r)
		}
	}
	if j.Truncated(data) {
		if err := os.Truncate(path, int64(j.Complete)); err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		truncated = true
	}
	return recs, truncated, nil
}

// writeManifest writes DIR/sweep.json, refusing a directory that holds the
// results of a different sweep.
func writeManifest(dir string, m sweep.Manifest) error {
	path := filepath.Join(dir, manifestFile)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		have, err := sweep.ReadManifest(old)
		if err != nil {
			return badInput(fmt.Errorf("%s: %w", path, err))
		}
		if have.Fingerprint != m.Fingerprint || have.Points != m.Points {
			return badInput(fmt.Errorf("%s: %s holds the results of another sweep (%s: a different base, overrides or grid); use another --out, or delete it to start over", path, dir, have.Sweep))
		}
		if bytes.Equal(old, data) {
			return nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path, so that readers (and concurrent shards) never see half a file.
func writeFileAtomic(path string, data []byte) error {
	path, inPlace := resolveOutput(path)
	if inPlace {
		return writeInPlace(path, func(w io.Writer) error { _, err := w.Write(data); return err })
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// progress logs a sweep's progress at info level every so often: the
// progress bar of a stderr that is not a terminal (a Slurm or pod log).
type progress struct {
	log         *zap.Logger
	every       time.Duration
	total, done int
	start, last time.Time
}

// add counts a point done at now and logs when the interval has passed.
// A nil progress does nothing.
func (p *progress) add(now time.Time) {
	if p == nil {
		return
	}
	p.done++
	if now.Sub(p.last) >= p.every && p.done < p.total {
		p.last = now
		p.line("sweep progress", now)
	}
}

// finish logs the last line.
func (p *progress) finish(now time.Time) {
	if p != nil {
		p.line("sweep evaluated", now)
	}
}

func (p *progress) line(msg string, now time.Time) {
	el := now.Sub(p.start)
	fields := []zap.Field{zap.Int("done", p.done), zap.Int("of", p.total), zap.Float64("percent", math.Round(1000*float64(p.done)/float64(p.total))/10),
		zap.Duration("elapsed", el.Round(time.Second/10))}
	if p.done > 0 && el > 0 {
		rate := float64(p.done) / el.Seconds()
		fields = append(fields, zap.Float64("points_per_s", math.Round(rate*100)/100))
		if left := p.total - p.done; left > 0 {
			fields = append(fields, zap.Duration("eta", time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second)))
		}
	}
	p.log.Info(msg, fields...)
}

// newBar returns a progress bar on stderr when it is a terminal, else nil.
func newBar(stderr io.Writer, n int) *progressbar.ProgressBar {
	f, ok := stderr.(*os.File)
	if !ok || n == 0 || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("sweep"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("points"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// newSweepMergeCmd is `sim sweep merge DIR`.
func newSweepMergeCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "merge DIR",
		Short: "join the shards' results in DIR into merged.jsonl and merged.csv; exit 1 if points are missing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return mergeSweep(args[0], stdout, stderr)
		},
	}
}

// maxListed bounds the missing points the merge summary lists.
const maxListed = 20

// loadSweepResults reads DIR/sweep.json and every DIR/results*.jsonl (in name
// order): what merge and missing work from.
func loadSweepResults(dir string) (sweep.Manifest, []sweep.File, error) {
	manPath := filepath.Join(dir, manifestFile)
	data, err := os.ReadFile(manPath)
	if err != nil {
		return sweep.Manifest{}, nil, badInput(fmt.Errorf("%s: %w (is %s the --out of a sim sweep?)", manPath, err, dir))
	}
	man, err := sweep.ReadManifest(data)
	if err != nil {
		return man, nil, badInput(fmt.Errorf("%s: %w", manPath, err))
	}
	names, err := filepath.Glob(filepath.Join(dir, "results*.jsonl"))
	if err != nil {
		return man, nil, err
	}
	sort.Strings(names)
	files := make([]sweep.File, len(names))
	for i, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return man, nil, badInput(err)
		}
		files[i] = sweep.File{Name: n, Data: data}
	}
	return man, files, nil
}

func mergeSweep(dir string, stdout, stderr io.Writer) error {
	man, files, err := loadSweepResults(dir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return badInput(fmt.Errorf("%s: no results*.jsonl files", dir))
	}
	m, err := sweep.Merge(man.Points, files)
	if err != nil {
		return badInput(err)
	}
	var jl, cv bytes.Buffer
	if err := sweep.WriteJSONL(&jl, m.Records); err != nil {
		return err
	}
	if err := sweep.WriteCSV(&cv, man.Keys, sweep.Output(m.Records, man.Objective, man.Keep)); err != nil {
		return err
	}
	jsonlPath, csvPath := filepath.Join(dir, "merged.jsonl"), filepath.Join(dir, "merged.csv")
	if err := writeFileAtomic(jsonlPath, jl.Bytes()); err != nil {
		return err
	}
	if err := writeFileAtomic(csvPath, cv.Bytes()); err != nil {
		return err
	}

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("merged      %d of %d points from %d files into %s, %s", len(m.Records), man.Points, len(files), jsonlPath, csvPath)
	if man.Keep > 0 {
		p(" (the CSV: the %d best feasible points by %s)", man.Keep, man.Objective)
	}
	p("\n")
	p("duplicates  %d dropped\n", m.Duplicates)
	for _, t := range m.Truncated {
		p("truncated   %s: its last line was cut off (rerun that shard to complete it)\n", t)
	}
	p("best        %s\n", describeBest(m.Records, man.Objective))
	if len(m.Missing) == 0 {
		p("missing     none\n")
		_, err := io.WriteString(stdout, b.String())
		return err
	}
	p("missing     %d: %s\n", len(m.Missing), listPoints(m.Missing))
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	msg := fmt.Sprintf("%s: %d of %d points missing (first: %s); rerun their shards with the same --out (sim sweep missing %s lists them)", dir, len(m.Missing), man.Points, listPoints(m.Missing), dir)
	fmt.Fprintf(stderr, "sim sweep merge: %s\n", msg)
	return &exitError{exitInfeasible, errors.New(msg)}
}

// listPoints lists the first maxListed point indices.
func listPoints(ps []int) string { return sweep.ListPoints(ps, maxListed) }

type missingFlags struct {
	shards int
	format string
}

// newSweepMissingCmd is `sim sweep missing DIR`.
func newSweepMissingCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl missingFlags
	cmd := &cobra.Command{
		Use:   "missing DIR [--shards N] [--format shards|points]",
		Short: "list the shards (or points) of a sweep directory that still lack results, comma-separated, for a resubmission",
		Long: "Print, on one line and comma-separated, the shard indices whose points are not all in DIR yet: the list\n" +
			"`sbatch --array=LIST` takes to run exactly those shards again (they resume). With --format points, the missing\n" +
			"point indices instead. Nothing is printed when the sweep is complete. The shard count is read from the names\n" +
			"of the results-shard-I-of-N.jsonl files, or given with --shards. Exit 0 whether or not anything is missing;\n" +
			"2 when DIR is not a sweep's directory or the shard count is unknown. A count of what is missing goes to stderr.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return missingSweep(cmd, &fl, args[0], stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.IntVar(&fl.shards, "shards", 0, "the shard count of the run (default: read from the results files' names)")
	f.StringVar(&fl.format, "format", "shards", "what to list: shards (indices for sbatch --array) or points")
	return cmd
}

func missingSweep(cmd *cobra.Command, fl *missingFlags, dir string, stdout, stderr io.Writer) error {
	if fl.format != "shards" && fl.format != "points" {
		return badInput(fmt.Errorf("--format: want shards or points, got %q", fl.format))
	}
	if cmd.Flags().Changed("shards") && fl.shards < 1 {
		return badInput(fmt.Errorf("--shards: want at least 1, got %d", fl.shards))
	}
	man, files, err := loadSweepResults(dir)
	if err != nil {
		return err
	}
	m, err := sweep.Merge(man.Points, files)
	if err != nil {
		return badInput(err)
	}
	if len(m.Missing) == 0 {
		return nil // complete: print nothing
	}
	list := m.Missing
	what := ""
	if fl.format == "shards" {
		shards := fl.shards
		if shards == 0 {
			names := make([]string, len(files))
			for i, f := range files {
				names[i] = f.Name
			}
			if shards, err = sweep.ShardCount(names); err != nil {
				return badInput(fmt.Errorf("%s: %w; give --shards N", dir, err))
			}
			if shards == 0 {
				return badInput(fmt.Errorf("%s: no results-shard-I-of-N.jsonl files to read the shard count from; give --shards N, or --format points", dir))
			}
		}
		list = sweep.MissingShards(m.Missing, shards)
		what = fmt.Sprintf("; %d of %d shards to run again", len(list), shards)
	}
	fmt.Fprintf(stderr, "sim sweep missing: %s: %d of %d points missing%s\n", dir, len(m.Missing), man.Points, what)
	_, err = fmt.Fprintln(stdout, sweep.JoinInts(list))
	return err
}
