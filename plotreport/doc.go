// Package plotreport turns results into a document people read: the report
// of one `sim run --format json`, or a sweep's results JSONL, becomes a
// Markdown or HTML page with tables and PNG plots (gonum.org/v1/plot).
//
// Reading (ReadRun, ReadSweep, Sniff), choosing (Pareto, BestByValue,
// GroupReasons, ColourKey) and building the document (RunDocument,
// SweepDocument) are pure: no files, no clock, no randomness, no map
// iteration order. Render returns the page and the PNGs as bytes; the caller
// (cmd/sim) writes them. Same input, same bytes out: the Markdown and HTML
// are byte-identical across runs, and so are the PNGs, which are drawn with
// gonum's embedded fonts, not the system's.
//
// What it leaves out: it does not simulate anything (a report shows what the
// results hold), it does not compare several runs or sweeps, and plots are
// PNG only (no SVG or interactive charts).
package plotreport
