package plotreport

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart is a plot's data and how to draw it.
type Chart interface {
	// draw builds the gonum plot; size is the image's size.
	draw() (*plot.Plot, error)
	size() (w, h vg.Length)
}

// dpi is the PNGs' resolution: 16 cm come out 756 pixels wide.
const dpi = 120

// Default image sizes.
const (
	chartWidth  = 16 * vg.Centimeter
	chartHeight = 9 * vg.Centimeter
)

// sans is the charts' font, Liberation Sans (metric-compatible with Arial
// and Helvetica); the HTML page asks for the same family first.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot returns a plot whose title, axes and legend are in the sans font.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 12)
	p.Title.Padding = vg.Points(4)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 11)
		a.Tick.Label.Font = font.From(sans, 10)
	}
	p.Legend.TextStyle.Font = font.From(sans, 10)
	return p
}

// RenderPNG draws a chart as a PNG. gonum panics on some data (a log axis
// over a zero); that comes back as an error, never as a panic.
func RenderPNG(c Chart) ([]byte, error) {
	return render(c, func(p *plot.Plot, w, h vg.Length, buf *bytes.Buffer) error {
		cnv := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
		p.Draw(draw.New(cnv))
		_, err := (vgimg.PngCanvas{Canvas: cnv}).WriteTo(buf)
		return err
	})
}

// render draws chart c at its size onto the canvas encode makes and returns
// the encoded bytes; a panic inside gonum comes back as an error.
func render(c Chart, encode func(p *plot.Plot, w, h vg.Length, buf *bytes.Buffer) error) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("drawing the plot: %v", r)
		}
	}()
	p, err := c.draw()
	if err != nil {
		return nil, err
	}
	w, h := c.size()
	var buf bytes.Buffer
	if err := encode(p, w, h, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// palette holds the colours of series and segments, by index: gonum's
// dark colours, then its soft ones.
func palette(i int) color.Color {
	return colours[((i%len(colours))+len(colours))%len(colours)]
}

var colours = append(append([]color.Color(nil), plotutil.DarkColors...), plotutil.SoftColors...)

var grey = color.RGBA{R: 170, G: 170, B: 170, A: 255}

// Segment is one part of a stacked bar.
type Segment struct {
	Label string
	Value float64
	// Colour indexes the palette, so a part keeps its colour across reports.
	Colour int
}

// StackedBar is one horizontal bar split into segments, with a legend:
// where a step's time goes.
type StackedBar struct {
	Title, XLabel string
	// Category names the bar (on the Y axis).
	Category string
	Segments []Segment
	// Format writes a segment's value in the legend (default %.3g).
	Format func(float64) string
}

// drawn returns the segments with a positive value.
func (c *StackedBar) drawn() []Segment {
	var out []Segment
	for _, s := range c.Segments {
		if s.Value > 0 && !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
			out = append(out, s)
		}
	}
	return out
}

// legend labels each drawn segment with its value and share of the bar.
func (c *StackedBar) legend() []string {
	total := 0.0
	for _, s := range c.drawn() {
		total += s.Value
	}
	var out []string
	for _, s := range c.drawn() {
		out = append(out, fmt.Sprintf("%s %s (%.1f%%)", s.Label, c.format(s.Value), 100*s.Value/total))
	}
	return out
}

func (c *StackedBar) format(v float64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func (c *StackedBar) size() (vg.Length, vg.Length) { return chartWidth, 8 * vg.Centimeter }

func (c *StackedBar) draw() (*plot.Plot, error) {
	p := newPlot(c.Title)
	p.X.Label.Text = c.XLabel
	p.X.Min = 0
	var below *plotter.BarChart
	total := 0.0
	for _, s := range c.Segments {
		if s.Value <= 0 || math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			continue
		}
		b, err := plotter.NewBarChart(plotter.Values{s.Value}, 1.2*vg.Centimeter)
		if err != nil {
			return nil, err
		}
		b.Horizontal = true
		b.Color = palette(s.Colour)
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		total += s.Value
		p.Add(b)
	}
	if below == nil {
		return nil, errors.New("nothing to draw: every segment is zero")
	}
	// Every part is named in the legend with its value and share, so that
	// a slice too thin to see still reads.
	for i, l := range c.legend() {
		p.Legend.Add(l, swatch{palette(c.drawn()[i].Colour)})
	}
	p.NominalY(c.Category)
	// The bar sits low; the legend goes in the space above it.
	p.Y.Min, p.Y.Max = -0.6, 2.6
	p.X.Max = niceCeil(total)
	p.Legend.Top = true
	return p, nil
}

// Bars is a bar per named value, with an optional reference line (a
// capacity).
type Bars struct {
	Title, YLabel string
	Labels        []string
	Values        []float64
	// Ref, when its Label is set, is drawn as a dashed horizontal line.
	Ref Ref
	// YMax fixes the top of the Y axis (0: from the data, with room for the
	// legend).
	YMax float64
}

// Ref is a horizontal reference line.
type Ref struct {
	Label string
	Value float64
}

func (c *Bars) size() (vg.Length, vg.Length) { return chartWidth, chartHeight }

func (c *Bars) draw() (*plot.Plot, error) {
	if len(c.Values) == 0 || len(c.Values) != len(c.Labels) {
		return nil, errors.New("nothing to draw: no bars")
	}
	p := newPlot(c.Title)
	p.Y.Label.Text = c.YLabel
	p.Add(plotter.NewGrid())
	b, err := plotter.NewBarChart(plotter.Values(c.Values), 1.1*vg.Centimeter)
	if err != nil {
		return nil, err
	}
	b.Color = palette(2)
	b.LineStyle.Width = 0
	p.Add(b)
	p.NominalX(c.Labels...)
	p.X.Min, p.X.Max = -0.5, float64(len(c.Values))-0.5
	top := 0.0
	for _, v := range c.Values {
		top = math.Max(top, v)
	}
	if c.Ref.Label != "" {
		n := float64(len(c.Values))
		l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: c.Ref.Value}, {X: n - 0.5, Y: c.Ref.Value}})
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{R: 200, G: 30, B: 30, A: 255}
		l.Width = vg.Points(1.5)
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(c.Ref.Label, l)
		p.Legend.Top = true
		top = math.Max(top, c.Ref.Value)
	}
	p.Y.Min = 0
	switch {
	case c.YMax > 0:
		p.Y.Max = c.YMax
	case top > 0:
		p.Y.Max = top * 1.2
	}
	return p, nil
}

// Series is one set of points of an XY chart.
type Series struct {
	// Label names it in the legend ("" for none).
	Label  string
	Points []Point
	// Line joins the points in order; otherwise they are a scatter.
	Line bool
	// Style indexes the palette and the glyph shapes; -1 draws small grey
	// dots (the background of a highlighted subset).
	Style int
	// Dashed draws the line dashed (a reference such as ideal scaling);
	// NoGlyphs draws the line alone.
	Dashed, NoGlyphs bool
}

// XY is a scatter or line chart of one or more series.
type XY struct {
	Title, XLabel, YLabel string
	Series                []Series
	// LogX draws X on a log scale with a tick at each of XTicks (or at
	// powers of ten when there are none, or too many).
	LogX   bool
	XTicks []float64
	// YFromZero starts the Y axis at zero.
	YFromZero bool
	// Dodge shifts each series a little along X, so that series sharing X
	// values (a GPU count) do not hide each other.
	Dodge bool
	// YMax fixes the top of the Y axis (0: from the data).
	YMax float64
}

func (c *XY) size() (vg.Length, vg.Length) { return chartWidth, chartHeight }

func (c *XY) draw() (*plot.Plot, error) {
	p := newPlot(c.Title)
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Add(plotter.NewGrid())
	n, legend := 0, false
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), math.Inf(-1)
	dodged := 0
	for _, s := range c.Series {
		if s.Style >= 0 {
			dodged++
		}
	}
	span := 0.0
	for _, s := range c.Series {
		for _, pt := range s.Points {
			if !math.IsNaN(pt.X) && !math.IsInf(pt.X, 0) {
				xmin, xmax = math.Min(xmin, pt.X), math.Max(xmax, pt.X)
			}
		}
	}
	if xmax > xmin {
		span = xmax - xmin
	}
	xmin, xmax = math.Inf(1), math.Inf(-1)
	k := 0
	for _, s := range c.Series {
		shift := func(x float64) float64 { return x }
		if c.Dodge && s.Style >= 0 && dodged > 1 {
			off := float64(k) - float64(dodged-1)/2
			if c.LogX {
				f := math.Pow(2, 0.07*off)
				shift = func(x float64) float64 { return x * f }
			} else {
				d := 0.015 * off * span
				shift = func(x float64) float64 { return x + d }
			}
			k++
		}
		var xys plotter.XYs
		for _, pt := range s.Points {
			if math.IsNaN(pt.X) || math.IsNaN(pt.Y) || math.IsInf(pt.X, 0) || math.IsInf(pt.Y, 0) || (c.LogX && pt.X <= 0) {
				continue
			}
			pt.X = shift(pt.X)
			xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y})
			xmin, xmax, ymax = math.Min(xmin, pt.X), math.Max(xmax, pt.X), math.Max(ymax, pt.Y)
		}
		if len(xys) == 0 {
			continue
		}
		n += len(xys)
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		if s.Style < 0 {
			sc.GlyphStyle = draw.GlyphStyle{Color: grey, Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
		} else {
			sc.GlyphStyle = draw.GlyphStyle{Color: palette(s.Style), Radius: vg.Points(3.5), Shape: plotutil.Shape(s.Style)}
		}
		var thumb []plot.Thumbnailer
		if s.Line {
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, err
			}
			l.Color = sc.GlyphStyle.Color
			l.Width = vg.Points(1.5)
			if s.Dashed {
				l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			}
			p.Add(l)
			thumb = append(thumb, l)
		}
		if !s.NoGlyphs {
			p.Add(sc)
			thumb = append(thumb, sc)
		}
		if s.Label != "" {
			p.Legend.Add(s.Label, thumb...)
			legend = true
		}
	}
	if n == 0 {
		return nil, errors.New("nothing to draw: no points")
	}
	p.Legend.Top = true
	if c.YFromZero && ymax > 0 {
		p.Y.Min = 0
	}
	if ymax > 0 {
		// Room above the points for the glyphs, and for the legend.
		p.Y.Max = ymax * 1.08
		if legend {
			p.Y.Max = ymax * 1.25
		}
	}
	if c.YMax > 0 {
		p.Y.Max = c.YMax
	}
	if c.LogX && xmin > 0 && xmax > xmin {
		p.X.Scale = plot.LogScale{}
		p.X.Min, p.X.Max = xmin/1.25, xmax*1.25
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		// A margin, so that glyphs at the ends are not cut.
		m := 0.06 * (xmax - xmin)
		if m == 0 {
			m = math.Max(1, 0.1*math.Abs(xmin))
		}
		p.X.Min, p.X.Max = xmin-m, xmax+m
	}
	if len(c.XTicks) > 0 && len(c.XTicks) <= 12 {
		var ticks []plot.Tick
		for _, t := range c.XTicks {
			if t >= p.X.Min && t <= p.X.Max {
				ticks = append(ticks, plot.Tick{Value: t, Label: strconv.FormatFloat(t, 'g', -1, 64)})
			}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	return p, nil
}

// niceCeil rounds x > 0 up to 1, 2, 2.5 or 5 times a power of ten, so that
// an axis ending there gets round ticks.
func niceCeil(x float64) float64 {
	if x <= 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}
