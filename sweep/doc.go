// Package sweep evaluates many scenarios: a base scenario and a grid of
// values for any of its keys, whose cross product is the set of points.
//
// A sweep file is TOML. `base = "path.toml"` names the base scenario,
// relative to the sweep file; every other top-level key and table that is
// not [grid] or [search] is scenario TOML applied over the base (without a
// base, those tables are the whole scenario). [grid] maps dotted scenario
// keys to arrays of values:
//
//	base = "gpt3-175b.toml"
//	[model]
//	preset = "gpt-1.7b"
//	[grid]
//	"cluster.nodes" = [8, 16]
//	"parallelism.pp" = [1, 2]
//	[search]
//	objective = "cost"   # or "step_time_s" (the default)
//	keep = 10
//
// Points are numbered 0..Len()-1 in a fixed order: the grid keys in the
// order the file writes them, the last varying fastest (point 1 above is
// nodes 8, pp 2). A point's scenario is scenario.Load of the base with
// --set overrides: the inline keys, the command line's --set flags, then the
// point's grid values, each written back as TOML (FormatTOML) so that it
// decodes to the same kind of value; Evaluate validates it once, after the
// files it names are merged, as sim run does.
//
// Parse rejects a bad sweep file with every problem found, as
// scenario.ErrorList ("file:line: key: what is wrong"): unknown keys,
// a [grid] that is missing or empty, a grid key that is not a scenario key,
// a grid value that is not an array, or of the wrong kind for its key, and
// base scenarios or inline tables with unknown keys or wrongly typed values.
// To tell these from the problems of combinations it loads a few points
// (each grid value once) and sorts scenario.Load's messages by how they
// begin. A point whose combination is invalid (a TP degree that does not
// divide the heads, a layout that does not match the GPU count) is not an
// error: it is a Record with no report, feasible false and the reason.
//
// Results are JSON lines (Record.MarshalLine): the report's JSON with
// "point" and "grid" first. Run evaluates points on a pool of goroutines and
// emits the records in point order, so the bytes do not depend on the
// number of workers. Shard splits the grid (point i in shard i mod n);
// ReadJournal reads a results file back, so that a rerun can skip the points
// already there and cut off a truncated last line; Merge joins the shards'
// files, drops duplicates and lists the missing points. Best ranks feasible
// points by the objective, ties by point index.
//
// The package reads no files and no environment: the caller passes the
// sweep's text, a function that returns the base scenario's, and writers.
// It does not resample, search adaptively or prune the grid: every point is
// evaluated, [search] only ranks and filters what was computed.
package sweep
