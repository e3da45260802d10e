package plotreport

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"trainsim/sweep"
)

// otherKeys lists the grid keys other than k, comma-separated.
func otherKeys(keys []string, k string) string {
	var out []string
	for _, o := range keys {
		if o != k {
			out = append(out, o)
		}
	}
	return strings.Join(out, ", ")
}

// ScalingPoint is the fastest feasible point at one GPU count.
type ScalingPoint struct {
	GPUs       int
	TokensPerS float64
	Point      int
	// Ideal is the throughput of linear scaling from the smallest count;
	// Efficiency the achieved share of it.
	Ideal, Efficiency float64
}

// Scaling returns, for each GPU count of recs (feasible, with a
// throughput), the point with the highest throughput, and its scaling
// efficiency against the smallest count: (T/G) / (T₀/G₀).
func Scaling(recs []sweep.Record) []ScalingPoint {
	best := map[int]*sweep.Record{}
	for i := range recs {
		r := &recs[i]
		rep := r.Report
		if rep == nil || rep.GPUs <= 0 || rep.TokensPerS <= 0 {
			continue
		}
		if b := best[rep.GPUs]; b == nil || rep.TokensPerS > b.Report.TokensPerS || rep.TokensPerS == b.Report.TokensPerS && r.Point < b.Point {
			best[rep.GPUs] = r
		}
	}
	var out []ScalingPoint
	for g, r := range best {
		out = append(out, ScalingPoint{GPUs: g, TokensPerS: r.Report.TokensPerS, Point: r.Point})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GPUs < out[j].GPUs })
	if len(out) == 0 {
		return nil
	}
	g0, t0 := float64(out[0].GPUs), out[0].TokensPerS
	for i := range out {
		out[i].Ideal = t0 * float64(out[i].GPUs) / g0
		out[i].Efficiency = out[i].TokensPerS / out[i].Ideal
	}
	return out
}

// scalingBlocks draws throughput against GPUs with the ideal-scaling line,
// and the scaling efficiency, when the sweep has two GPU counts or more.
func scalingBlocks(d *Document, recs []sweep.Record) {
	sp := Scaling(recs)
	if len(sp) < 2 {
		return
	}
	logX, ticks := gpuAxis(plottable(recs))
	var best, ideal, eff []Point
	for _, p := range sp {
		best = append(best, Point{X: float64(p.GPUs), Y: p.TokensPerS / 1e3, ID: p.Point})
		ideal = append(ideal, Point{X: float64(p.GPUs), Y: p.Ideal / 1e3})
		eff = append(eff, Point{X: float64(p.GPUs), Y: 100 * p.Efficiency, ID: p.Point})
	}
	d.heading("Scaling")
	d.para("", "The highest throughput at each GPU count (the best over every other grid key), against linear scaling from %d GPUs; scaling efficiency is the achieved share of linear: (tokens/s per GPU) / (tokens/s per GPU at %d GPUs).", sp[0].GPUs, sp[0].GPUs)
	d.figure(&Figure{File: "scaling.png", Caption: fmt.Sprintf("Throughput of the fastest point at each GPU count, and ideal scaling from %d GPUs", sp[0].GPUs),
		Chart: &XY{Title: "Throughput against GPUs, best point at each count", XLabel: "GPUs", YLabel: "thousand tokens/s", LogX: logX, XTicks: ticks, YFromZero: true,
			Series: []Series{{Label: "fastest point", Points: best, Line: true, Style: 0}, {Label: fmt.Sprintf("ideal: linear from %d GPUs", sp[0].GPUs), Points: ideal, Line: true, Dashed: true, NoGlyphs: true, Style: 1}}}})
	d.figure(&Figure{File: "scaling-efficiency.png", Caption: fmt.Sprintf("Scaling efficiency of the fastest point at each GPU count, against %d GPUs", sp[0].GPUs),
		Chart: &XY{Title: "Scaling efficiency", XLabel: "GPUs", YLabel: "% of linear scaling", LogX: logX, XTicks: ticks, YFromZero: true, YMax: 120,
			Series: []Series{{Points: eff, Line: true, Style: 0}}}})
	t := &Table{Header: []string{"GPUs", "point", "tokens/s", "ideal tokens/s", "scaling efficiency"}, Right: []bool{true, true, true, true, true}}
	for _, p := range sp {
		t.Rows = append(t.Rows, []string{fmt.Sprint(p.GPUs), fmt.Sprint(p.Point), count(p.TokensPerS), count(p.Ideal), pct(p.Efficiency)})
	}
	d.table(t)
}

// The keys of the heatmap.
const (
	keyTP = "parallelism.tp"
	keyPP = "parallelism.pp"
)

// heatmapBlocks draws the fastest step at each (tp, pp) when the sweep
// varies both.
func heatmapBlocks(d *Document, recs []sweep.Record, keys []string) {
	hasTP, hasPP := false, false
	for _, k := range keys {
		hasTP = hasTP || k == keyTP
		hasPP = hasPP || k == keyPP
	}
	if !hasTP || !hasPP || !NumericKey(recs, keyTP) || !NumericKey(recs, keyPP) {
		return
	}
	h := TPPPHeatmap(recs)
	if h == nil {
		return
	}
	over := otherKeys(keys, keyTP)
	over = otherKeys(strings.Split(over, ", "), keyPP)
	if over == "" {
		over = "nothing else"
	}
	d.heading("Step time by TP × PP")
	d.para("", "The fastest feasible step at each tensor- and pipeline-parallel degree, the best over %s; a cell without a feasible point says so.", over)
	d.figure(&Figure{File: "tp-pp.png", Caption: "Fastest feasible step time at each TP × PP (lighter is faster)", Chart: h})
}

// Heatmap is a grid of cells coloured by value, each labelled with it:
// lighter is smaller. NaN cells are left grey and labelled Empty.
type Heatmap struct {
	Title, XLabel, YLabel string
	XNames, YNames        []string
	// Values[y][x]; NaN for none.
	Values [][]float64
	// Format writes a cell's value; Empty labels a cell without one.
	Format func(float64) string
	Empty  string
}

// TPPPHeatmap is the fastest feasible step time at each (tp, pp) of recs.
func TPPPHeatmap(recs []sweep.Record) *Heatmap {
	xs, ys := map[float64]bool{}, map[float64]bool{}
	best := map[[2]float64]float64{}
	for i := range recs {
		r := &recs[i]
		tv, ok1 := gridValue(r, keyTP)
		pv, ok2 := gridValue(r, keyPP)
		tp, ok3 := number(tv)
		pp, ok4 := number(pv)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			continue
		}
		xs[tp], ys[pp] = true, true
		if r.Feasible() && r.Report != nil && r.Report.StepTimeS > 0 {
			k := [2]float64{tp, pp}
			if b, ok := best[k]; !ok || r.Report.StepTimeS < b {
				best[k] = r.Report.StepTimeS
			}
		}
	}
	if len(xs) == 0 || len(ys) == 0 || len(best) == 0 {
		return nil
	}
	sorted := func(m map[float64]bool) []float64 {
		var out []float64
		for v := range m {
			out = append(out, v)
		}
		sort.Float64s(out)
		return out
	}
	tps, pps := sorted(xs), sorted(ys)
	h := &Heatmap{Title: "Fastest step time by TP × PP", XLabel: "tensor-parallel degree (parallelism.tp)", YLabel: "pipeline stages (parallelism.pp)",
		Format: secs, Empty: "infeasible"}
	for _, t := range tps {
		h.XNames = append(h.XNames, fmt.Sprint(t))
	}
	for _, p := range pps {
		h.YNames = append(h.YNames, fmt.Sprint(p))
		row := make([]float64, len(tps))
		for i, t := range tps {
			row[i] = math.NaN()
			if v, ok := best[[2]float64{t, p}]; ok {
				row[i] = v
			}
		}
		h.Values = append(h.Values, row)
	}
	return h
}

func (h *Heatmap) size() (vg.Length, vg.Length) {
	return chartWidth, min(max(4*vg.Centimeter+vg.Length(len(h.YNames))*1.5*vg.Centimeter, 8*vg.Centimeter), 20*vg.Centimeter)
}

func (h *Heatmap) draw() (*plot.Plot, error) {
	if len(h.XNames) == 0 || len(h.YNames) != len(h.Values) {
		return nil, errors.New("nothing to draw: an empty heatmap")
	}
	p := newPlot(h.Title)
	p.X.Label.Text, p.Y.Label.Text = h.XLabel, h.YLabel
	p.Add(&heatCells{h: h, style: text.Style{Font: font.From(sans, 10), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: p.TextHandler}})
	p.NominalX(h.XNames...)
	p.NominalY(h.YNames...)
	p.X.Min, p.X.Max = -0.5, float64(len(h.XNames))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(h.YNames))-0.5
	p.X.Tick.Length, p.Y.Tick.Length = 0, 0
	return p, nil
}

type heatCells struct {
	h     *Heatmap
	style text.Style
}

func (c *heatCells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(len(c.h.XNames)) - 0.5, -0.5, float64(len(c.h.YNames)) - 0.5
}

// heatStops run from light (small values) to dark (large).
var heatStops = []color.RGBA{{255, 247, 188, 255}, {254, 196, 79, 255}, {236, 112, 20, 255}, {153, 52, 4, 255}}

func heatColour(f float64) color.RGBA {
	f = math.Max(0, math.Min(1, f))
	x := f * float64(len(heatStops)-1)
	i := min(int(x), len(heatStops)-2)
	t := x - float64(i)
	a, b := heatStops[i], heatStops[i+1]
	mix := func(u, v uint8) uint8 { return uint8(math.Round(float64(u) + t*(float64(v)-float64(u)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

func (c *heatCells) Plot(cv draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&cv)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range c.h.Values {
		for _, v := range row {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	for y, row := range c.h.Values {
		for x, v := range row {
			x0, x1 := trX(float64(x)-0.48), trX(float64(x)+0.48)
			y0, y1 := trY(float64(y)-0.46), trY(float64(y)+0.46)
			col := color.RGBA{225, 225, 225, 255}
			label := c.h.Empty
			st := c.style
			st.Color = color.Black
			if !math.IsNaN(v) {
				f := 0.0
				if hi > lo {
					f = (v - lo) / (hi - lo)
				}
				col = heatColour(f)
				label = c.h.Format(v)
				if f > 0.6 {
					st.Color = color.White
				}
			}
			cv.FillPolygon(col, rect(x0, y0, x1, y1))
			cv.FillText(st, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, label)
		}
	}
}
