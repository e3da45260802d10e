package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"trainsim/plotreport"
	"trainsim/sweep"
)

type reportFlags struct {
	out    string
	format string
	top    int
	sets   []string
}

// newReportCmd is `sim report RESULTS [-o DIR] [--format markdown|html]`.
func newReportCmd(stdout io.Writer) *cobra.Command {
	var flags reportFlags
	cmd := &cobra.Command{
		Use:   "report [RESULTS | SCENARIO.toml] [-o DIR] [--format markdown|html] [--set k=v]...",
		Short: "an HTML/Markdown report with plots from a run's or a sweep's results",
		Long: "Write a report with tables and PNG plots from RESULTS: the JSON report of `sim run --format json -o FILE`,\n" +
			"a sweep's results directory (merged.jsonl, or else every results*.jsonl) or one results JSONL file.\n" +
			"The report (report.md or report.html) and its PNGs go to DIR, by default a folder beside RESULTS\n" +
			"named NAME-report. Given a scenario (a .toml file) or nothing (the embedded default), it replays\n" +
			"the scenario with its timeline first, so the report shows the pipeline timeline (default folder:\n" +
			"NAME-report beside the scenario, or default-report). See docs/report.md.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || strings.HasSuffix(strings.ToLower(args[0]), ".toml") {
				return reportScenario(&flags, args, stdout)
			}
			if len(flags.sets) > 0 {
				return badInput(errors.New("--set: only with a scenario (a .toml file or none: the default), not with results"))
			}
			return runReport(&flags, args[0], stdout)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&flags.out, "output", "o", "", "directory for the report and its PNGs (default: NAME-report beside RESULTS)")
	f.StringVar(&flags.format, "format", "markdown", "report format: markdown or html")
	f.IntVar(&flags.top, "top", plotreport.DefaultTop, "sweeps: how many of the best points the tables list")
	f.StringArrayVar(&flags.sets, "set", nil, "with a scenario: override a key, as in sim run (repeatable)")
	return cmd
}

// reportScenario replays a scenario (args[0], or the embedded default)
// with its timeline and writes the run report of it: `sim report` on the
// default run shows the pipeline timeline without a results file.
func reportScenario(fl *reportFlags, args []string, stdout io.Writer) error {
	format, err := plotreport.ParseFormat(fl.format)
	if err != nil {
		return badInput(fmt.Errorf("--format: %w", err))
	}
	sc, err := loadScenario(args, fl.sets)
	if err != nil {
		return err
	}
	sc.Job.Options.Timeline = true
	rep, _, _, err := replay(sc, len(args) == 1, zap.NewNop())
	if err != nil {
		return err
	}
	source, dir := "default", fl.out
	if len(args) == 1 {
		source = filepath.Base(args[0])
		if dir == "" {
			dir = defaultReportDir(args[0])
		}
	} else if dir == "" {
		dir = "default-report"
	}
	files, err := plotreport.Render(plotreport.RunDocument(source, rep), format)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	return writeReport(dir, files, "a run: "+rep.Scenario+", replayed with its timeline", stdout)
}

func runReport(fl *reportFlags, path string, stdout io.Writer) error {
	format, err := plotreport.ParseFormat(fl.format)
	if err != nil {
		return badInput(fmt.Errorf("--format: %w", err))
	}
	if fl.top < 1 {
		return badInput(fmt.Errorf("--top: want at least 1, got %d", fl.top))
	}
	doc, what, err := readResults(path, fl.top)
	if err != nil {
		return err
	}
	files, err := plotreport.Render(doc, format)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir := fl.out
	if dir == "" {
		dir = defaultReportDir(path)
	}
	return writeReport(dir, files, what, stdout)
}

// writeReport writes the rendered report files into dir and says where.
func writeReport(dir string, files []plotreport.File, what string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return badInput(fmt.Errorf("-o: %w", err))
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.Name), f.Data); err != nil {
			return fmt.Errorf("-o: %w", err)
		}
	}
	pngs := 0
	for _, f := range files[1:] {
		if strings.HasSuffix(f.Name, ".png") {
			pngs++
		}
	}
	_, err := fmt.Fprintf(stdout, "report      %s (%s)\nplots       %d PNG files in %s\n", filepath.Join(dir, files[0].Name), what, pngs, dir)
	return err
}

// defaultReportDir is NAME-report beside the results: r.json → r-report,
// DIR → DIR-report.
func defaultReportDir(path string) string {
	clean := filepath.Clean(path)
	if abs, err := filepath.Abs(clean); err == nil && (clean == "." || clean == ".." || strings.HasSuffix(clean, string(filepath.Separator)+"..")) {
		clean = abs
	}
	base := filepath.Base(clean)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	return filepath.Join(filepath.Dir(clean), base+"-report")
}

// readResults reads a run's report, a sweep directory or a results JSONL
// and builds the document; it also says what it read, for the summary.
func readResults(path string, top int) (*plotreport.Document, string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", badInput(fmt.Errorf("%s: %w", path, err))
	}
	source := filepath.Base(filepath.Clean(path))
	if info.IsDir() {
		s, err := readSweepDir(path)
		if err != nil {
			return nil, "", err
		}
		source = filepath.Join(source, strings.Join(baseNames(s.Files), ", "))
		return plotreport.SweepDocument(source, s, top), fmt.Sprintf("a sweep: %d points from %s", len(s.Records), strings.Join(baseNames(s.Files), ", ")), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", badInput(fmt.Errorf("%s: %w", path, err))
	}
	kind, err := plotreport.Sniff(data)
	if err != nil {
		return nil, "", badInput(fmt.Errorf("%s: %w", path, err))
	}
	if kind == plotreport.RunReport {
		rep, err := plotreport.ReadRun(data)
		if err != nil {
			return nil, "", badInput(fmt.Errorf("%s: %w", path, err))
		}
		return plotreport.RunDocument(source, rep), "a run: " + rep.Scenario, nil
	}
	s, err := plotreport.ReadSweep([]sweep.File{{Name: path, Data: data}}, nil)
	if err != nil {
		return nil, "", badInput(err)
	}
	return plotreport.SweepDocument(source, s, top), fmt.Sprintf("a sweep: %d points", len(s.Records)), nil
}

// readSweepDir reads DIR/merged.jsonl, or else every DIR/results*.jsonl in
// name order, with DIR/sweep.json when there is one.
func readSweepDir(dir string) (*plotreport.Sweep, error) {
	var m *sweep.Manifest
	data, err := os.ReadFile(filepath.Join(dir, manifestFile))
	switch {
	case err == nil:
		mm, err := sweep.ReadManifest(data)
		if err != nil {
			return nil, badInput(fmt.Errorf("%s: %w", filepath.Join(dir, manifestFile), err))
		}
		m = &mm
	case !errors.Is(err, fs.ErrNotExist):
		return nil, badInput(fmt.Errorf("%s: %w", filepath.Join(dir, manifestFile), err))
	}
	names := []string{filepath.Join(dir, "merged.jsonl")}
	if _, err := os.Stat(names[0]); err != nil {
		names, err = filepath.Glob(filepath.Join(dir, "results*.jsonl"))
		if err != nil {
			return nil, err
		}
		sort.Strings(names)
	}
	if len(names) == 0 {
		return nil, badInput(fmt.Errorf("%s: no merged.jsonl and no results*.jsonl: not the --out directory of sim sweep", dir))
	}
	var files []sweep.File
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, badInput(fmt.Errorf("%s: %w", n, err))
		}
		files = append(files, sweep.File{Name: n, Data: data})
	}
	s, err := plotreport.ReadSweep(files, m)
	if err != nil {
		return nil, badInput(err)
	}
	return s, nil
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}
