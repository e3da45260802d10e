package plotreport

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"trainsim/sweep"
)

// Point is one point of a plot, tagged with the grid point it shows.
type Point struct {
	X, Y float64
	// ID is the grid point's index (ties are broken by it).
	ID int
}

// Pareto returns the points that no other point dominates when a smaller X
// and a smaller Y are both better, by increasing X (so decreasing Y). A point
// is dominated when another is no worse in both and better in one; of points
// equal in both, the one with the smallest ID is kept. Points with a NaN
// coordinate are ignored.
func Pareto(pts []Point) []Point {
	var s []Point
	for _, p := range pts {
		if !math.IsNaN(p.X) && !math.IsNaN(p.Y) {
			s = append(s, p)
		}
	}
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].X != s[j].X {
			return s[i].X < s[j].X
		}
		if s[i].Y != s[j].Y {
			return s[i].Y < s[j].Y
		}
		return s[i].ID < s[j].ID
	})
	var front []Point
	best := math.Inf(1)
	for _, p := range s {
		// Every point before p has X ≤ p.X; p survives only by a strictly
		// smaller Y than all of them.
		if p.Y < best {
			front = append(front, p)
			best = p.Y
		}
	}
	return front
}

// ValueBest is the best feasible point among those with one value of a grid key.
type ValueBest struct {
	// Value is the key's value (int64, float64, string or bool).
	Value any
	// Total and Feasible count the points with this value.
	Total, Feasible int
	// Best is the feasible point with the smallest step time (ties: the
	// lower point); nil when none is feasible.
	Best *sweep.Record
}

// BestByValue groups the records by their value of key and finds the
// fastest feasible one of each group. Groups come by increasing value when
// every value is a number, else in the order first seen (the grid's order).
// Records without the key are left out.
func BestByValue(recs []sweep.Record, key string) []ValueBest {
	var out []ValueBest
	index := map[string]int{}
	for i := range recs {
		v, ok := gridValue(&recs[i], key)
		if !ok {
			continue
		}
		id := formatValue(v)
		k, seen := index[id]
		if !seen {
			k = len(out)
			index[id] = k
			out = append(out, ValueBest{Value: v})
		}
		g := &out[k]
		g.Total++
		r := &recs[i]
		if !r.Feasible() {
			continue
		}
		g.Feasible++
		if g.Best == nil || r.Report.StepTimeS < g.Best.Report.StepTimeS ||
			(r.Report.StepTimeS == g.Best.Report.StepTimeS && r.Point < g.Best.Point) {
			g.Best = r
		}
	}
	numeric := len(out) > 0
	for _, g := range out {
		if _, ok := number(g.Value); !ok {
			numeric = false
		}
	}
	if numeric {
		sort.SliceStable(out, func(i, j int) bool {
			a, _ := number(out[i].Value)
			b, _ := number(out[j].Value)
			return a < b
		})
	}
	return out
}

// NumericKey reports whether every record that has key holds a number there
// (and at least one does).
func NumericKey(recs []sweep.Record, key string) bool {
	found := false
	for i := range recs {
		v, ok := gridValue(&recs[i], key)
		if !ok {
			continue
		}
		if _, ok := number(v); !ok {
			return false
		}
		found = true
	}
	return found
}

// gridValue returns a record's value of a grid key.
func gridValue(r *sweep.Record, key string) (any, bool) {
	for _, p := range r.Grid {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// number returns v as a float64 when it is a number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// formatValue writes a grid value as a user reads it: 8, 2.5, selective, true.
func formatValue(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return "?"
}

// ReasonGroup is the infeasible points that share a cause.
type ReasonGroup struct {
	// Cause is what the problems have in common: the scenario key a problem
	// names ("parallelism.dp"), or its lead ("out of memory").
	Cause string
	// Points are the grid points with this cause, in order.
	Points []int
	// Example is the problem as the first of those points states it.
	Example string
}

// GroupReasons groups the infeasible records by the causes their reasons
// give. A reason may hold several problems joined by "; " (each starting
// with a key, "key: what is wrong"); a point is counted once per cause.
// Groups come largest first, then by cause. It also returns the number of
// infeasible records.
func GroupReasons(recs []sweep.Record) (groups []ReasonGroup, infeasible int) {
	index := map[string]int{}
	for i := range recs {
		r := &recs[i]
		if r.Feasible() {
			continue
		}
		infeasible++
		seen := map[string]bool{}
		for _, problem := range splitReason(r.Summary().Reason) {
			cause := causeOf(problem)
			if seen[cause] {
				continue
			}
			seen[cause] = true
			k, ok := index[cause]
			if !ok {
				k = len(groups)
				index[cause] = k
				groups = append(groups, ReasonGroup{Cause: cause, Example: problem})
			}
			groups[k].Points = append(groups[k].Points, r.Point)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if len(groups[i].Points) != len(groups[j].Points) {
			return len(groups[i].Points) > len(groups[j].Points)
		}
		return groups[i].Cause < groups[j].Cause
	})
	return groups, infeasible
}

// splitReason splits a reason into its problems: at each "; " followed by
// "key: " (a dotted scenario key), so that a "; " inside one problem's text
// does not split it.
func splitReason(reason string) []string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return []string{"(no reason given)"}
	}
	var out []string
	for i, part := range strings.Split(reason, "; ") {
		if i > 0 && !startsWithKey(part) {
			out[len(out)-1] += "; " + part
			continue
		}
		out = append(out, part)
	}
	return out
}

// startsWithKey reports whether s starts with "key: ", a key being letters,
// digits, '_' and '.', starting with a letter.
func startsWithKey(s string) bool {
	i := strings.Index(s, ": ")
	if i <= 0 {
		return false
	}
	for j, c := range s[:i] {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (j == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '.')) {
			return false
		}
	}
	return true
}

// causeOf is the part of a problem before its first ": ", or the whole
// problem when it has none.
func causeOf(problem string) string {
	if i := strings.Index(problem, ": "); i > 0 {
		return problem[:i]
	}
	return problem
}

// maxGroups is the most distinct values a key may have to be drawn as
// separate colours and glyphs in a scatter plot; more would not be readable.
const maxGroups = 6

// ColourKey picks the grid key that tells the points of a scatter plot
// against GPUs apart: the first key, in the order given, with 2 to 6
// distinct values among recs that is not fixed by the GPU count (some GPU
// count appears with two of its values; cluster.nodes, for one, is not
// worth a colour). It returns "" when no key fits.
func ColourKey(recs []sweep.Record, keys []string) string {
	for _, key := range keys {
		values := map[string]bool{}
		byGPUs := map[int]string{}
		varies := false
		for i := range recs {
			r := &recs[i]
			v, ok := gridValue(r, key)
			if !ok || r.Report == nil {
				continue
			}
			s := formatValue(v)
			values[s] = true
			if prev, ok := byGPUs[r.Report.GPUs]; ok && prev != s {
				varies = true
			}
			byGPUs[r.Report.GPUs] = s
		}
		if len(values) >= 2 && len(values) <= maxGroups && varies {
			return key
		}
	}
	return ""
}
