package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"trainsim/parallelism"
	"trainsim/search"
)

// searchTraceUsage is --trace's help under sim search: the trace is of the
// layout the search ranks first, whose report it prints last.
const searchTraceUsage = "write a Chrome/Perfetto trace of the best layout's replayed step(s) to FILE (as sim run --trace with that layout)"

// registerSearchTrace says what --trace writes under sim search and adds the
// trace filters sim run has (--trace-steps, --trace-stages, --trace-ranks).
func registerSearchTrace(cmd *cobra.Command, c *commonFlags) {
	cmd.Flags().Lookup("trace").Usage = searchTraceUsage
	c.registerTraceFilters(cmd)
}

// traceBest replays the best layout of res once more with its timeline and
// writes it to path through filter, as sim run --trace writes a scenario's:
// the search's own replays keep no timeline (that would cost every
// candidate's memory for the one trace asked for).
func traceBest(path, name string, res *search.Result, filter func([]parallelism.Span) []parallelism.Span) error {
	if len(res.Best) == 0 {
		return errors.New("--trace: no layout to trace")
	}
	j := res.Best[0].Job
	j.Options.Timeline = true
	valid, errs := j.Validate()
	if len(errs) > 0 {
		return fmt.Errorf("--trace: the best layout: %w", errs[0])
	}
	r, err := parallelism.Simulate(valid)
	if err != nil {
		return fmt.Errorf("--trace: the best layout: %w", err)
	}
	return writeTrace(path, name, filter(r.Timeline), j.Layout.PP)
}
