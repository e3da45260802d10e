package plotreport

import (
	"bytes"
	"flag"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trainsim/report"
	"trainsim/sweep"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./plotreport -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; rerun with -update if the change is intended.\ngot:\n%s", name, got)
	}
}

func runDoc(t *testing.T) *Document {
	t.Helper()
	rep, err := ReadRun(readTestdata(t, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	return RunDocument("run.json", rep)
}

func sweepDoc(t *testing.T, top int) *Document {
	t.Helper()
	s, err := ReadSweep([]sweep.File{{Name: "sweep.jsonl", Data: readTestdata(t, "sweep.jsonl")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return SweepDocument("sweep.jsonl", s, top)
}

// TestGolden pins the Markdown of a run's and of a sweep's report, and
// the HTML of the run's.
func TestGolden(t *testing.T) {
	golden(t, "run.md", runDoc(t).Markdown())
	golden(t, "run.html", runDoc(t).HTML())
	golden(t, "sweep.md", sweepDoc(t, 5).Markdown())
}

// TestRender: each format gives the page and one PNG per figure, which
// decodes; rendering twice gives the same bytes, PNGs included.
func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name   string
		doc    func() *Document
		format Format
		files  []string
	}{
		{"run markdown", func() *Document { return runDoc(t) }, Markdown, []string{"report.md", "step.png", "memory.png", "links.png"}},
		{"sweep html", func() *Document { return sweepDoc(t, 3) }, HTML, []string{"report.html", "step-vs-gpus.png", "mfu-vs-gpus.png", "scaling.png", "scaling-efficiency.png", "pareto.png", "best-cluster-nodes.png", "best-parallelism-tp.png"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Render(tc.doc(), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Render(tc.doc(), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for i, f := range a {
				names = append(names, f.Name)
				if !bytes.Equal(f.Data, b[i].Data) {
					t.Errorf("%s differs between two renderings", f.Name)
				}
				if strings.HasSuffix(f.Name, ".png") {
					img, err := png.Decode(bytes.NewReader(f.Data))
					if err != nil {
						t.Errorf("%s: %v", f.Name, err)
					} else if w := img.Bounds().Dx(); w < 400 {
						t.Errorf("%s: %d pixels wide", f.Name, w)
					}
				} else if !bytes.Contains(f.Data, []byte("](step")) && !bytes.Contains(f.Data, []byte(`<img src="step-vs-gpus.png"`)) {
					t.Errorf("%s does not reference its first figure", f.Name)
				}
			}
			if strings.Join(names, " ") != strings.Join(tc.files, " ") {
				t.Errorf("files %q, want %q", names, tc.files)
			}
		})
	}
}

// TestSweepEdgeCases: documents of sweeps with nothing feasible, with one
// point, and with a single GPU count build and render without error.
func TestSweepEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		recs    []sweep.Record
		figures int
		has     string
	}{
		{"nothing feasible", []sweep.Record{rec(0, 8, 0, "tp", int64(3)), rec(1, 8, 0, "tp", int64(5))}, 0, "No feasible point with a step time: nothing to plot."},
		{"one point", []sweep.Record{rec(0, 8, 10, "tp", int64(8))}, 3, "Feasible: 1 of 1 points."},
		{"one GPU count", []sweep.Record{rec(0, 8, 10, "tp", int64(2)), rec(1, 8, 12, "tp", int64(4))}, 4, "| tp | 4 | 1 of 1 | 12 s | 1 | 8 | 50.0% |"},
		{"no grid", []sweep.Record{rec(0, 8, 10), rec(1, 4096, 1)}, 3, "no grid keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Sweep{Records: tc.recs, Objective: sweep.StepTime}
			for _, p := range tc.recs[0].Grid {
				s.Keys = append(s.Keys, p.Key)
			}
			d := SweepDocument("x.jsonl", s, 0)
			if n := len(d.Figures()); n != tc.figures {
				t.Errorf("%d figures, want %d", n, tc.figures)
			}
			md := d.Markdown()
			if !bytes.Contains(md, []byte(tc.has)) {
				t.Errorf("no %q in\n%s", tc.has, md)
			}
			if _, err := Render(d, Markdown); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestRunEdgeCases: an infeasible run, and one with zeros everywhere.
func TestRunEdgeCases(t *testing.T) {
	rep := &report.Report{Scenario: "tiny *bold*", GPUs: 1, Feasible: false, Reason: "out of memory: 90 GiB <of> 80", StepTimeS: 0}
	d := RunDocument("r.json", rep)
	md := string(d.Markdown())
	for _, want := range []string{"# Run report: tiny \\*bold\\*", "**Infeasible:** out of memory: 90 GiB \\<of\\> 80", "| compute | 0 s | - |"} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	if _, err := Render(d, HTML); err != nil {
		t.Error(err)
	}
	// A calibrated run says so in its header.
	f := 0.74
	rep.Calibration = &report.Calibration{File: "site.toml", GEMMPeakFraction: &f, MeasuredGEMMs: 2}
	md = string(RunDocument("r.json", rep).Markdown())
	if want := "Calibrated: gemm_peak_fraction 0.74, measured GEMMs: 2 (merged over site.toml)"; !strings.Contains(md, want) {
		t.Errorf("no %q in\n%s", want, md)
	}
}

func TestMDEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"step_time_s", "step_time_s"},
		{"_x_ and *y*", `\_x\_ and \*y\*`},
		{"a|b <i> [l](u) `c` #1", `a|b \<i\> \[l\](u) \` + "`c\\`" + ` \#1`},
		{"two\nlines  spaced", "two lines spaced"},
	} {
		if got := mdEscape(tc.in); got != tc.want {
			t.Errorf("mdEscape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var b bytes.Buffer
	writeMDTable(&b, &Table{Header: []string{"a|b"}, Rows: [][]string{{"c|d"}}})
	if got := b.String(); got != "| a\\|b |\n| --- |\n| c\\|d |\n" {
		t.Errorf("table %q", got)
	}
}

// TestRenderPNGErrors: data gonum cannot draw comes back as an error.
func TestRenderPNGErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chart Chart
		err   string
	}{
		{"empty XY", &XY{}, "no points"},
		{"only NaN", &XY{Series: []Series{{Points: []Point{{math.NaN(), 1, 0}}}}}, "no points"},
		{"log X of zero", &XY{LogX: true, Series: []Series{{Points: []Point{{0, 1, 0}}}}}, "no points"},
		{"zero bar", &StackedBar{Segments: []Segment{{"a", 0, 0}}}, "every segment is zero"},
		{"no bars", &Bars{}, "no bars"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenderPNG(tc.chart)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
	// A single point on a log axis falls back to a linear one.
	if _, err := RenderPNG(&XY{LogX: true, XTicks: []float64{8}, Series: []Series{{Points: []Point{{8, 1, 0}}}}}); err != nil {
		t.Error(err)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"markdown": Markdown, "md": Markdown, "html": HTML} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("pdf"); err == nil || err.Error() != `"pdf" is not a format (allowed: markdown, html)` {
		t.Errorf("pdf: %v", err)
	}
}

// FuzzRead: no input makes reading or building a document panic.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"run.json", "sweep.jsonl"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"point":0,"grid":{"a":1},"step_time_s":1,"gpus":1,"feasible":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, err := Sniff(data)
		if err != nil {
			return
		}
		var d *Document
		if kind == RunReport {
			rep, err := ReadRun(data)
			if err != nil {
				return
			}
			d = RunDocument("f", rep)
		} else {
			s, err := ReadSweep([]sweep.File{{Name: "f", Data: data}}, nil)
			if err != nil {
				return
			}
			d = SweepDocument("f", s, 3)
		}
		_ = d.Markdown()
		_ = d.HTML()
	})
}

// TestJobFigures: a run report with the whole job and stragglers gets their
// section, the time-to-train histogram and the wall-time bar, and both
// render.
func TestJobFigures(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ReadRun(data)
	if err != nil {
		t.Fatal(err)
	}
	rep.Stragglers = &report.Stragglers{SlowGPUs: 10, UniformStepS: rep.StepTimeS / 1.1, LostPerStepS: rep.StepTimeS - rep.StepTimeS/1.1, Slowdown: 0.1, Replicas: 6}
	rep.Job = &report.Job{Runs: 4, MeanS: 40 * 86400, P50S: 39 * 86400, P90S: 41 * 86400, P99S: 42 * 86400, Goodput: 0.8,
		Interruptions: 16, InterruptionsPerDay: 0.4, JobMTBFS: 2.5 * 86400, TrainS: 32 * 86400, CheckpointIntervalS: 1800, CheckpointWriteS: 60, RestartS: 600,
		Lost:      report.JobLost{Failures: 3 * 86400, Restarts: 0.2 * 86400, Checkpoints: 1.3 * 86400, Stragglers: 3.5 * 86400},
		Histogram: report.Histogram{Edges: []float64{38 * 86400, 40 * 86400, 42 * 86400}, Counts: []int{2, 2}}}
	d := RunDocument("run.json", rep)
	md := string(d.Markdown())
	for _, w := range []string{"## The whole job", "## Stragglers", "time-to-train.png", "wall-time.png", "Goodput 80.0%"} {
		if !strings.Contains(md, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	for _, f := range d.Figures() {
		if f.File != "time-to-train.png" && f.File != "wall-time.png" {
			continue
		}
		png, err := RenderPNG(f.Chart)
		if err != nil || len(png) < 1000 {
			t.Errorf("%s: %d bytes, %v", f.File, len(png), err)
		}
	}
}
