// Package report turns a replayed job into what users read: the JSON object
// whose fields are a fixed contract (docs/scenario.md), a CSV row, and a text
// summary for planners.
// It does no I/O of its own beyond writing to the io.Writer it is given.
package report
