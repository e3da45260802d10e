package plotreport

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"trainsim/report"
	"trainsim/sweep"
)

func tput(point, gpus int, tokensPerS float64, grid ...any) sweep.Record {
	r := rec(point, gpus, 1e6/tokensPerS, grid...)
	r.Report.TokensPerS = tokensPerS
	return r
}

// TestScaling: the fastest point at each GPU count against linear scaling
// from the smallest, worked by hand: 8 GPUs 1000 tokens/s; 16 GPUs 1800
// (the better of 1500 and 1800) is 90% of the ideal 2000; 32 GPUs 3200 is
// 80% of 4000.
func TestScaling(t *testing.T) {
	recs := []sweep.Record{tput(0, 8, 1000), tput(1, 16, 1500), tput(2, 16, 1800), tput(3, 32, 3200), rec(4, 64, 0)}
	got := Scaling(recs)
	want := []ScalingPoint{{8, 1000, 0, 1000, 1}, {16, 1800, 2, 2000, 0.9}, {32, 3200, 3, 4000, 0.8}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i, w := range want {
		g := got[i]
		if g.GPUs != w.GPUs || g.Point != w.Point || g.TokensPerS != w.TokensPerS || g.Ideal != w.Ideal || math.Abs(g.Efficiency-w.Efficiency) > 1e-12 {
			t.Errorf("%d: %+v, want %+v", i, g, w)
		}
	}
	d := &Document{}
	scalingBlocks(d, recs)
	if len(d.Figures()) != 2 || !bytes.Contains(d.Markdown(), []byte("| 16 | 2 | 1,800 | 2,000 | 90.0% |")) {
		t.Errorf("scaling section:\n%s", d.Markdown())
	}
	for _, f := range d.Figures() {
		if _, err := RenderPNG(f.Chart); err != nil {
			t.Errorf("%s: %v", f.File, err)
		}
	}
}

// TestTPPPHeatmap: the cell of (tp, pp) holds the fastest feasible step
// over the other keys; a pair with no feasible point is NaN ("infeasible").
func TestTPPPHeatmap(t *testing.T) {
	recs := []sweep.Record{
		rec(0, 8, 30, keyTP, int64(2), keyPP, int64(1), "nodes", int64(1)),
		rec(1, 16, 20, keyTP, int64(2), keyPP, int64(1), "nodes", int64(2)),
		rec(2, 8, 0, keyTP, int64(4), keyPP, int64(1), "nodes", int64(1)),
		rec(3, 8, 25, keyTP, int64(2), keyPP, int64(2), "nodes", int64(1)),
		rec(4, 8, 12, keyTP, int64(4), keyPP, int64(2), "nodes", int64(1)),
	}
	h := TPPPHeatmap(recs)
	if h == nil || strings.Join(h.XNames, ",") != "2,4" || strings.Join(h.YNames, ",") != "1,2" {
		t.Fatalf("%+v", h)
	}
	if h.Values[0][0] != 20 || !math.IsNaN(h.Values[0][1]) || h.Values[1][0] != 25 || h.Values[1][1] != 12 {
		t.Errorf("cells %v", h.Values)
	}
	if _, err := RenderPNG(h); err != nil {
		t.Fatal(err)
	}
	s := &Sweep{Records: recs, Keys: []string{keyTP, keyPP, "nodes"}, Objective: sweep.StepTime}
	md := SweepDocument("x.jsonl", s, 0).Markdown()
	if !bytes.Contains(md, []byte("(tp-pp.png)")) || !bytes.Contains(md, []byte("the best over nodes")) {
		t.Errorf("no heatmap in the sweep document:\n%s", md)
	}
}

// TestChartsSans: the charts use the page's sans font (the SVG names it),
// and the step bar's legend names every part with its value and share, so
// that a slice too thin to see still reads.
func TestChartsSans(t *testing.T) {
	svg, err := RenderSVG(&PipelineTimeline{Title: "t", T: &report.Timeline{StepS: 1, Stages: 1, Chunks: 1,
		Spans: []report.TimelineSpan{{Stage: 0, Chunk: 0, Kind: "fwd", Stream: "compute", Start: 0, End: 0.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("font-family:Liberation Sans")) || bytes.Contains(svg, []byte("Liberation Serif")) {
		t.Error("the timeline SVG is not in Liberation Sans")
	}
	if !strings.Contains(string(document()), `font-family: "Liberation Sans"`) {
		t.Error("the HTML page does not ask for Liberation Sans first")
	}
	bar := &StackedBar{Segments: []Segment{{"compute", 9.9, 0}, {"optimizer", 0.1, 1}}, Format: secs}
	if _, err := bar.draw(); err != nil {
		t.Fatal(err)
	}
	labels := bar.legend()
	if strings.Join(labels, "; ") != "compute 9.9 s (99.0%); optimizer 100 ms (1.0%)" {
		t.Errorf("legend %q", labels)
	}
}

func document() []byte { return (&Document{Title: "x"}).HTML() }
