package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"trainsim/inputfile"
	"trainsim/validation"
)

// newValidateCmd is `sim validate`: replay the built-in published
// measurements and print predicted vs measured with the signed error. It is a
// report, so large errors still exit 0; bad flags exit 2.
func newValidateCmd(stdout, stderr io.Writer) *cobra.Command {
	var format, out, group, caseID, casesFile string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "replay the built-in published-measurement cases and print predicted vs measured, with the error",
		Long: "Replay every case of the built-in published measurements (validation/data/published.toml), the memory figures\n" +
			"(validation/data/memory.toml) and the RL post-training steps (validation/data/rl.toml, group rl), and print predicted vs measured with the signed error (predicted − measured) / measured,\n" +
			"per case and per group. --format markdown writes the page docs/validation.md:\n\n  " + validation.RegenerateCommand +
			"\n\n--scenario ID prints the scenario a case is replayed with, so that sim run shows its whole report:\n\n" +
			"  go run ./cmd/sim validate --scenario korthikanti22-175b-full-recompute -o case.toml && go run ./cmd/sim run case.toml\n\n" +
			"--cases FILE replays the cases of another file in published.toml's format (runs kept outside the built-in folder)\n" +
			"under the same rules: sim validate --cases heldout.toml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutputs([]namedPath{{"--cases", casesFile}}, []namedPath{{"-o", out}}); err != nil {
				return err
			}
			var cases []validation.Case
			if casesFile != "" {
				src, err := inputfile.Read(casesFile)
				if err != nil {
					return badInput(fmt.Errorf("--cases: %w", err))
				}
				if cases, err = validation.ParseCases(casesFile, src); err != nil {
					return badInput(fmt.Errorf("--cases: %w", err))
				}
			}
			if caseID != "" && cases == nil {
				text, found, err := validation.RLScenarioOf(caseID)
				if errors.Is(err, validation.ErrNotReplayable) {
					return badInput(fmt.Errorf("--scenario: %w", err))
				}
				if err != nil {
					return fmt.Errorf("validate: %w", err)
				}
				if found {
					return writeOut(out, stdout, text)
				}
			}
			if caseID != "" {
				text, err := validation.ScenarioOf(caseID)
				if cases != nil {
					text, err = validation.ScenarioIn(cases, caseID)
				}
				if errors.Is(err, validation.ErrUnknownCase) || errors.Is(err, validation.ErrNotReplayable) {
					return badInput(fmt.Errorf("--scenario: %w", err))
				}
				if err != nil {
					return fmt.Errorf("validate: %w", err)
				}
				return writeOut(out, stdout, text)
			}
			var write func(io.Writer, *validation.Report) error
			switch format {
			case "text":
				write = validation.WriteText
			case "markdown":
				write = validation.WriteMarkdown
			case "json":
				write = validation.WriteJSON
			default:
				return badInput(fmt.Errorf("--format: %q is not a format (allowed: text, markdown, json)", format))
			}
			rep, err := validation.Build(validation.Options{Group: group, Workers: runtime.NumCPU(), Cases: cases})
			if errors.Is(err, validation.ErrUnknownGroup) {
				return badInput(fmt.Errorf("--group: %w", err))
			}
			if err != nil {
				return fmt.Errorf("validate: %w", err)
			}
			var buf bytes.Buffer
			if err := write(&buf, rep); err != nil {
				return err
			}
			return writeOut(out, stdout, buf.Bytes())
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "text", "output format: text, markdown or json")
	f.StringVarP(&out, "output", "o", "", "write the report to FILE instead of stdout")
	f.StringVar(&caseID, "scenario", "", "print the scenario TOML that replays the case with this id (for sim run; a per-layer table: its first row) instead of validating")
	f.StringVar(&casesFile, "cases", "", "replay the cases of this file (published.toml's format and rules) instead of the built-in ones; no memory check")
	f.StringVar(&group, "group", "", "only the cases of this group (e.g. Korthikanti2022-Table5, "+validation.MemoryGroup+", or "+validation.RLGroup+" for the RL table)")
	return cmd
}
