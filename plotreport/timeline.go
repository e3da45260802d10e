package plotreport

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"

	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"trainsim/report"
)

// PipelineTimeline draws one step of the pipeline: a row per stage (per
// stage and model chunk when interleaved), each span of work a box coloured
// by what it did; the bubble is the white space between them.
type PipelineTimeline struct {
	Title string
	T     *report.Timeline
}

// timelineKinds are the span kinds in legend order, with their colours: the
// step breakdown's where the part is the same (compute, recompute, PP, DP,
// optimizer), so a colour means one thing in every figure; the backward
// pass gets one no other figure uses.
var timelineKinds = []struct {
	kind, label string
	colour      int
}{
	{"fwd", "forward", colourCompute},
	{"bwd", "backward", colourBackward},
	{"wgrad", "weight gradient", colourWeightGrad},
	{"recompute", "recompute", colourRecompute},
	{"pp", "pipeline send", colourPP},
	{"dp", "data-parallel", colourDP},
	{"optimizer", "optimizer", colourOptimizer},
}

// colourBackward is magenta, used by no other part.
const colourBackward = 6

func timelineColour(kind string) color.Color {
	for _, k := range timelineKinds {
		if k.kind == kind {
			return palette(k.colour)
		}
	}
	return grey
}

func (c *PipelineTimeline) rows() int {
	return max(1, c.T.Stages) * max(1, c.T.Chunks)
}

func (c *PipelineTimeline) size() (vg.Length, vg.Length) {
	h := 4*vg.Centimeter + vg.Length(c.rows())*0.45*vg.Centimeter
	return 24 * vg.Centimeter, min(max(h, 8*vg.Centimeter), 24*vg.Centimeter)
}

func (c *PipelineTimeline) draw() (*plot.Plot, error) {
	if c.T == nil || len(c.T.Spans) == 0 {
		return nil, errors.New("nothing to draw: an empty timeline")
	}
	p := newPlot(c.Title)
	p.X.Label.Text = "seconds from the start of the step"
	n := c.rows()
	chunks := max(1, c.T.Chunks)
	names := make([]string, n)
	for r := 0; r < n; r++ {
		s, ch := r/chunks, r%chunks
		name := fmt.Sprintf("stage %d", s)
		if chunks > 1 {
			name = fmt.Sprintf("s%d chunk %d", s, ch)
		}
		names[n-1-r] = name
	}
	used := map[string]bool{}
	for _, s := range c.T.Spans {
		used[s.Kind] = true
		if s.RecomputeS > 0 {
			used["recompute"] = true
		}
	}
	bx := &timelineBoxes{t: c.T, rows: n, chunks: chunks, legend: used, style: p.Legend.TextStyle}
	p.Add(bx)
	p.NominalY(names...)
	// The legend goes in one line above the first row.
	p.Y.Min, p.Y.Max = -0.6, float64(n)+0.5+legendRows(n)
	p.X.Min, p.X.Max = 0, c.T.StepS
	return p, nil
}

// swatch is a legend entry: a filled square.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.c, c.ClipPolygonY(rect(c.Min.X, c.Min.Y, c.Max.X, c.Max.Y)))
}

func rect(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// timelineBoxes is the plotter of the spans.
type timelineBoxes struct {
	t            *report.Timeline
	rows, chunks int
	legend       map[string]bool // the kinds to list in the legend line
	style        text.Style
}

func (b *timelineBoxes) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, b.t.StepS, -0.6, float64(b.rows) + 0.5 + legendRows(b.rows)
}

// legendRows is the room, in rows, left above the rows for the legend line:
// about 0.7 cm whatever the number of rows.
func legendRows(rows int) float64 { return max(0.8, 0.05*float64(rows)) }

func (b *timelineBoxes) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	box := func(x0, x1, y0, y1 float64, col color.Color) {
		X0, X1 := trX(x0), trX(x1)
		if X1-X0 < 0.15 { // keep the shortest spans visible
			X1 = X0 + 0.15
		}
		c.FillPolygon(col, c.ClipPolygonXY(rect(X0, trY(y0), X1, trY(y1))))
	}
	for _, s := range b.t.Spans {
		first, last := s.Stage*b.chunks, s.Stage*b.chunks+b.chunks-1
		if s.Chunk >= 0 && s.Chunk < b.chunks {
			first, last = s.Stage*b.chunks+s.Chunk, s.Stage*b.chunks+s.Chunk
		}
		// Row r is drawn at y = rows-1-r; computation fills most of the
		// row, communication on its own stream a strip at its foot.
		yTop, yBot := float64(b.rows-1-first)+0.38, float64(b.rows-1-last)-0.38
		if s.Stream != "compute" {
			yTop = yBot + 0.18
		}
		start := s.Start
		if s.RecomputeS > 0 {
			box(start, start+s.RecomputeS, yBot, yTop, timelineColour("recompute"))
			start += s.RecomputeS
		}
		box(start, s.End, yBot, yTop, timelineColour(s.Kind))
	}
	// The legend: one line of swatches and names above the rows.
	x := c.Min.X
	y := trY(float64(b.rows)-0.5) + b.style.Font.Size*0.6
	side := b.style.Font.Size
	for _, k := range timelineKinds {
		if !b.legend[k.kind] {
			continue
		}
		c.FillPolygon(timelineColour(k.kind), rect(x, y, x+side, y+side))
		x += side * 1.4
		c.FillText(b.style, vg.Point{X: x, Y: y}, k.label)
		x += b.style.Width(k.label) + side*1.5
	}
}

// RenderSVG draws a chart as an SVG document.
func RenderSVG(c Chart) ([]byte, error) {
	return render(c, func(p *plot.Plot, w, h vg.Length, buf *bytes.Buffer) error {
		cnv := vgsvg.New(w, h)
		dc := draw.New(cnv)
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
		p.Draw(dc)
		_, err := cnv.WriteTo(buf)
		return err
	})
}

// StageBars is one horizontal stacked bar per pipeline stage, side by side:
// where each stage's step goes, so that imbalance shows.
type StageBars struct {
	Title, XLabel string
	// Stages names the bars, top to bottom; Parts[i] is one segment's value
	// for every stage.
	Stages []string
	Parts  []StageSeries
}

// StageSeries is one part of every stage's bar.
type StageSeries struct {
	Label  string
	Values []float64
	Colour int
}

func (c *StageBars) size() (vg.Length, vg.Length) {
	h := 4*vg.Centimeter + vg.Length(len(c.Stages))*0.5*vg.Centimeter
	return chartWidth, min(max(h, 8*vg.Centimeter), 24*vg.Centimeter)
}

func (c *StageBars) draw() (*plot.Plot, error) {
	p := newPlot(c.Title)
	p.X.Label.Text = c.XLabel
	p.X.Min = 0
	n := len(c.Stages)
	if n == 0 {
		return nil, errors.New("nothing to draw: no stages")
	}
	width := min(0.4*vg.Centimeter, 12*vg.Centimeter/vg.Length(n))
	var below *plotter.BarChart
	totals := make([]float64, n)
	for _, part := range c.Parts {
		vals := make(plotter.Values, n)
		any := false
		for i, v := range part.Values {
			if v > 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
				vals[n-1-i] = v // the first stage on top
				totals[i] += v
				any = true
			}
		}
		if !any {
			continue
		}
		b, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		b.Horizontal = true
		b.Color = palette(part.Colour)
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		p.Legend.Add(part.Label, b)
	}
	if below == nil {
		return nil, errors.New("nothing to draw: every part is zero")
	}
	names := make([]string, n)
	for i, s := range c.Stages {
		names[n-1-i] = s
	}
	p.NominalY(names...)
	top := 0.0
	for _, t := range totals {
		top = math.Max(top, t)
	}
	// The legend goes right of the bars.
	p.X.Max = niceCeil(top) * 1.45
	p.Legend.Top = true
	return p, nil
}
