package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"trainsim/field"
	"trainsim/scenarios"
)

// newScenarioCmd is `sim scenario [NAME]`: the TOML text of a built-in
// scenario on stdout, to start a scenario file from (`sim scenario default >
// my.toml`); without NAME, the names.
func newScenarioCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "scenario [NAME]",
		Short: "write a built-in scenario's TOML to stdout (sim scenario default > my.toml); without NAME, list them",
		Long: "Write the TOML text of a built-in scenario to stdout, to edit into your own: `sim scenario default > my.toml`\n" +
			"writes the default that `sim run` replays without a file (GPT-3 175B on 128 DGX A100 nodes). Without NAME, list\n" +
			"the built-in scenarios. A sweep file's `base = \"default\"` names the same default.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				for _, n := range scenarios.LookupNames() {
					file := n
					if f, _, ok := scenarios.Lookup(n); ok {
						file = f
					}
					if _, err := fmt.Fprintf(stdout, "%-20s %s\n", n, file); err != nil {
						return err
					}
				}
				return nil
			}
			_, src, ok := scenarios.Lookup(args[0])
			if !ok {
				return badInput(fmt.Errorf("sim scenario: no built-in scenario called %q (built in: %s)", field.Clip(args[0]), strings.Join(scenarios.LookupNames(), ", ")))
			}
			_, err := stdout.Write(src)
			return err
		},
	}
}
