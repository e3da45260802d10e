package plotreport

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"trainsim/report"
	"trainsim/sweep"
)

// DefaultTop is how many points the tables of best points hold.
const DefaultTop = 10

// maxListed is how many point indices a table cell lists before "…".
const maxListed = 12

// SweepDocument builds the report of a sweep's results: the best feasible
// points by step time and by cost, the infeasible ones grouped by cause, and
// plots against the GPU count and per grid key. top bounds the tables of
// best points (DefaultTop when < 1). source names what was read.
func SweepDocument(source string, s *Sweep, top int) *Document {
	if top < 1 {
		top = DefaultTop
	}
	recs := s.Records
	d := &Document{Title: "Sweep report: " + sweepName(recs)}

	of := ""
	if s.Points > 0 {
		of = fmt.Sprintf(" (%d of the grid's %d points)", len(recs), s.Points)
	}
	grid := "no grid keys"
	if len(s.Keys) > 0 {
		grid = "grid " + strings.Join(s.Keys, " × ")
	}
	d.para("Source:", "%s: %d points%s; %s; objective %s.", source, len(recs), of, grid, s.Objective)
	var notes []string
	if len(s.Missing) > 0 {
		notes = append(notes, fmt.Sprintf("%d points are missing: %s (rerun their shards, then sim sweep merge).", len(s.Missing), listPoints(s.Missing)))
	}
	if s.Duplicates > 0 {
		notes = append(notes, fmt.Sprintf("%d duplicate records were dropped (the first of each point is kept).", s.Duplicates))
	}
	notes = append(notes, s.Notes...)
	d.list(notes)

	var feasible []sweep.Record
	for i := range recs {
		if recs[i].Feasible() {
			feasible = append(feasible, recs[i])
		}
	}
	d.heading("Summary")
	summary := []string{fmt.Sprintf("Feasible: %d of %d points.", len(feasible), len(recs))}
	for _, o := range []sweep.Objective{sweep.StepTime, sweep.Cost} {
		if b := sweep.Best(recs, o, 1); len(b) > 0 {
			summary = append(summary, fmt.Sprintf("Best by %s: %s", objectiveName(o), describe(&b[0])))
		}
	}
	for _, k := range s.Keys {
		var vs []string
		for _, g := range BestByValue(recs, k) {
			vs = append(vs, formatValue(g.Value))
		}
		summary = append(summary, fmt.Sprintf("%s: %s", k, strings.Join(vs, ", ")))
	}
	d.list(summary)

	d.heading("Fastest feasible points")
	bestTable(d, sweep.Best(recs, sweep.StepTime, top), s.Keys, "by step time")
	d.heading("Cheapest feasible points")
	bestTable(d, sweep.Best(recs, sweep.Cost, top), s.Keys, "by GPU-hours to train (step time × GPUs × steps)")

	groups, infeasible := GroupReasons(recs)
	d.heading("Infeasible points")
	if infeasible == 0 {
		d.para("", "None: every point fits.")
	} else {
		d.para("", "%d of %d points are infeasible. Their reasons, grouped by the key or cause they name (a point may have several):", infeasible, len(recs))
		t := &Table{Header: []string{"cause", "points", "which", "first reason"}, Right: []bool{false, true, false, false}}
		for _, g := range groups {
			t.Rows = append(t.Rows, []string{g.Cause, fmt.Sprint(len(g.Points)), listPoints(g.Points), g.Example})
		}
		d.table(t)
	}

	plotted := plottable(feasible)
	if len(plotted) == 0 {
		d.heading("Plots")
		d.para("", "No feasible point with a step time: nothing to plot.")
		return d
	}
	gpuScatters(d, plotted, s.Keys)
	scalingBlocks(d, plotted)
	heatmapBlocks(d, recs, s.Keys)
	paretoBlocks(d, plotted, s.Keys)
	keyBlocks(d, recs, s.Keys)
	return d
}

// sweepName is the scenario name most points carry (ties: the first seen).
func sweepName(recs []sweep.Record) string {
	n := map[string]int{}
	best := ""
	for i := range recs {
		name := recs[i].Summary().Scenario
		n[name]++
		if n[name] > n[best] {
			best = name
		}
	}
	if best == "" {
		return "(unnamed scenario)"
	}
	return best
}

func objectiveName(o sweep.Objective) string {
	if o == sweep.Cost {
		return "cost (GPU-hours)"
	}
	return "step time"
}

// describe says what a feasible point is and what it achieves.
func describe(r *sweep.Record) string {
	rep := r.Report
	s := fmt.Sprintf("point %d", r.Point)
	if len(r.Grid) > 0 {
		s += " (" + gridString(r.Grid) + ")"
	}
	s += fmt.Sprintf(": step %s, MFU %s, %d GPUs", secs(rep.StepTimeS), pct(rep.MFU), rep.GPUs)
	if rep.TimeToTrainS > 0 {
		s += fmt.Sprintf(", %s GPU-hours (%s) for %s tokens", count(rep.GPUHours), days(rep.TimeToTrainS), short(rep.Tokens))
	}
	return s + "."
}

func gridString(ps []sweep.Param) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, p.Key+"="+formatValue(p.Value))
	}
	return strings.Join(parts, " ")
}

// listPoints lists point indices, the first maxListed of them.
func listPoints(pts []int) string { return sweep.ListPoints(pts, maxListed) }

// bestTable writes a ranked table of feasible points.
func bestTable(d *Document, best []sweep.Record, keys []string, by string) {
	if len(best) == 0 {
		d.para("", "No feasible point.")
		return
	}
	d.para("", "The %d best %s, best first (ties: the lower point).", len(best), by)
	t := &Table{Header: []string{"rank", "point"}, Right: []bool{true, true}}
	for _, k := range keys {
		t.Header = append(t.Header, k)
		t.Right = append(t.Right, false)
	}
	t.Header = append(t.Header, "GPUs", "step time", "MFU", "tokens/s", "time to train", "GPU-hours", "memory per GPU", "bottleneck")
	t.Right = append(t.Right, true, true, true, true, true, true, true, false)
	for i := range best {
		r := &best[i]
		rep := r.Report
		row := []string{fmt.Sprint(i + 1), fmt.Sprint(r.Point)}
		for _, k := range keys {
			v, _ := gridValue(r, k)
			row = append(row, formatValue(v))
		}
		ttt := "-"
		if rep.TimeToTrainS > 0 {
			ttt = days(rep.TimeToTrainS)
		}
		row = append(row, fmt.Sprint(rep.GPUs), secs(rep.StepTimeS), pct(rep.MFU), count(rep.TokensPerS), ttt, cost(rep), bytesStr(rep.Memory.Peak), rep.Bottleneck.Resource)
		t.Rows = append(t.Rows, row)
	}
	d.table(t)
}

// cost is the GPU-hours to train, or per million tokens when the scenario
// trains on no tokens.
func cost(rep *report.Report) string {
	if rep.Tokens > 0 {
		return count(rep.GPUHours)
	}
	if rep.TokensPerS > 0 {
		return fmt.Sprintf("%.3g per Mtoken", float64(rep.GPUs)/rep.TokensPerS/3600*1e6)
	}
	return "-"
}

// plottable keeps the records that can be drawn against GPUs.
func plottable(recs []sweep.Record) []sweep.Record {
	var out []sweep.Record
	for _, r := range recs {
		if r.Report != nil && r.Report.GPUs > 0 && r.Report.StepTimeS > 0 {
			out = append(out, r)
		}
	}
	return out
}

// gpuAxis returns whether to draw GPUs on a log scale and the ticks.
func gpuAxis(recs []sweep.Record) (bool, []float64) {
	seen := map[int]bool{}
	var ticks []float64
	lo, hi := math.MaxInt, 0
	for _, r := range recs {
		g := r.Report.GPUs
		lo, hi = min(lo, g), max(hi, g)
		if !seen[g] {
			seen[g] = true
			ticks = append(ticks, float64(g))
		}
	}
	sort.Float64s(ticks)
	return lo > 0 && hi >= 4*lo, ticks
}

// gpuScatters draws step time and MFU against GPUs, one colour and glyph
// per value of the colour key when there is one.
func gpuScatters(d *Document, recs []sweep.Record, keys []string) {
	key := ColourKey(recs, keys)
	logX, ticks := gpuAxis(recs)
	series := func(y func(*report.Report) float64) []Series {
		if key == "" {
			var pts []Point
			for _, r := range recs {
				pts = append(pts, Point{X: float64(r.Report.GPUs), Y: y(r.Report), ID: r.Point})
			}
			return []Series{{Points: pts}}
		}
		var out []Series
		for i, g := range BestByValue(recs, key) {
			v := formatValue(g.Value)
			s := Series{Label: key + "=" + v, Style: i}
			for _, r := range recs {
				if rv, ok := gridValue(&r, key); ok && formatValue(rv) == v {
					s.Points = append(s.Points, Point{X: float64(r.Report.GPUs), Y: y(r.Report), ID: r.Point})
				}
			}
			out = append(out, s)
		}
		return out
	}
	by := ""
	if key != "" {
		by = ", by " + key
	}
	d.heading("Step time against GPUs")
	d.figure(&Figure{File: "step-vs-gpus.png", Caption: fmt.Sprintf("Step time of the %d feasible points against their GPU count%s", len(recs), by),
		Chart: &XY{Title: "Step time against GPUs", XLabel: "GPUs", YLabel: "step time (s)", LogX: logX, XTicks: ticks, YFromZero: true, Dodge: true,
			Series: series(func(r *report.Report) float64 { return r.StepTimeS })}})
	d.heading("MFU against GPUs")
	d.figure(&Figure{File: "mfu-vs-gpus.png", Caption: fmt.Sprintf("Model FLOPs utilization of the %d feasible points against their GPU count%s", len(recs), by),
		Chart: &XY{Title: "MFU against GPUs", XLabel: "GPUs", YLabel: "MFU (%)", LogX: logX, XTicks: ticks, YFromZero: true, Dodge: true,
			Series: series(func(r *report.Report) float64 { return 100 * r.MFU })}})
}

// paretoBlocks draws and lists the points no other beats on both GPUs and
// time to train (step time when no point has a token count).
func paretoBlocks(d *Document, recs []sweep.Record, keys []string) {
	useTTT := false
	for _, r := range recs {
		if r.Report.TimeToTrainS > 0 {
			useTTT = true
		}
	}
	yName, yLabel := "step time", "step time (s)"
	y := func(r *report.Report) float64 { return r.StepTimeS }
	if useTTT {
		yName, yLabel = "time to train", "time to train (days)"
		y = func(r *report.Report) float64 { return r.TimeToTrainS / 86400 }
	}
	byPoint := map[int]*sweep.Record{}
	var pts []Point
	for i := range recs {
		r := &recs[i]
		if useTTT && r.Report.TimeToTrainS <= 0 {
			continue
		}
		byPoint[r.Point] = r
		pts = append(pts, Point{X: float64(r.Report.GPUs), Y: y(r.Report), ID: r.Point})
	}
	front := Pareto(pts)
	logX, ticks := gpuAxis(recs)
	d.heading("Pareto front: GPUs against " + yName)
	d.para("", "A point is on the front when no other point needs no more GPUs and no more %s, and fewer of one: more GPUs buy a shorter run only along the front.", yName)
	d.figure(&Figure{File: "pareto.png", Caption: fmt.Sprintf("The Pareto front of GPUs against %s: %d of %d feasible points", yName, len(front), len(pts)),
		Chart: &XY{Title: "Pareto front: GPUs against " + yName, XLabel: "GPUs", YLabel: yLabel, LogX: logX, XTicks: ticks, YFromZero: true,
			Series: []Series{{Label: "feasible points", Points: pts, Style: -1}, {Label: "Pareto front", Points: front, Line: true, Style: 0}}}})
	t := &Table{Header: []string{"GPUs", yName, "point"}, Right: []bool{true, true, true}}
	for _, k := range keys {
		t.Header = append(t.Header, k)
		t.Right = append(t.Right, false)
	}
	t.Header = append(t.Header, "step time", "MFU")
	t.Right = append(t.Right, true, true)
	for _, p := range front {
		r := byPoint[p.ID]
		yv := secs(r.Report.StepTimeS)
		if useTTT {
			yv = days(r.Report.TimeToTrainS)
		}
		row := []string{fmt.Sprint(r.Report.GPUs), yv, fmt.Sprint(r.Point)}
		for _, k := range keys {
			v, _ := gridValue(r, k)
			row = append(row, formatValue(v))
		}
		row = append(row, secs(r.Report.StepTimeS), pct(r.Report.MFU))
		t.Rows = append(t.Rows, row)
	}
	d.table(t)
}

// keyBlocks shows, for each grid key, the best step time at each of its
// values: a plot for numeric keys, and one table for all keys.
func keyBlocks(d *Document, recs []sweep.Record, keys []string) {
	if len(keys) == 0 {
		return
	}
	d.heading("Best step time by grid value")
	d.para("", "For each value of a grid key, the fastest feasible point among those with that value: the best over every value of the other grid keys, so each line shows what the key allows at its best, not its effect with the others held fixed.")
	files := map[string]bool{}
	t := &Table{Header: []string{"key", "value", "feasible", "best step time", "point", "GPUs", "MFU"}, Right: []bool{false, false, true, true, true, true, true}}
	for _, k := range keys {
		groups := BestByValue(recs, k)
		if NumericKey(recs, k) && len(groups) >= 2 {
			var pts []Point
			var xs []float64
			positive := true
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, g := range groups {
				x, _ := number(g.Value)
				positive = positive && x > 0
				lo, hi = math.Min(lo, x), math.Max(hi, x)
				xs = append(xs, x)
				if g.Best != nil && g.Best.Report.StepTimeS > 0 {
					pts = append(pts, Point{X: x, Y: g.Best.Report.StepTimeS, ID: g.Best.Point})
				}
			}
			if len(pts) >= 2 {
				name := "best-" + slug(k)
				for i := 2; files[name]; i++ {
					name = fmt.Sprintf("best-%s-%d", slug(k), i)
				}
				files[name] = true
				over := "the other grid keys"
				if others := otherKeys(keys, k); others != "" {
					over = others
				}
				d.figure(&Figure{File: name + ".png", Caption: fmt.Sprintf("Fastest feasible step at each value of %s, the best over %s", k, over),
					Chart: &XY{Title: fmt.Sprintf("Fastest step at each %s\n(the best over %s)", k, over), XLabel: k, YLabel: "fastest feasible step (s)", LogX: positive && hi >= 8*lo, XTicks: xs, YFromZero: true,
						Series: []Series{{Points: pts, Line: true, Style: 0}}}})
			}
		}
		for _, g := range groups {
			row := []string{k, formatValue(g.Value), fmt.Sprintf("%d of %d", g.Feasible, g.Total), "-", "-", "-", "-"}
			if b := g.Best; b != nil {
				row[3], row[4], row[5], row[6] = secs(b.Report.StepTimeS), fmt.Sprint(b.Point), fmt.Sprint(b.Report.GPUs), pct(b.Report.MFU)
			}
			t.Rows = append(t.Rows, row)
		}
	}
	d.table(t)
}
