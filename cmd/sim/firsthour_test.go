package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"trainsim/model"
	"trainsim/scenarios"
	"trainsim/topology"
)

// TestVersion: the version line names the module version, the VCS revision
// (cut to 12 digits, +dirty for a modified checkout, with its time) and the
// Go version, as far as the build recorded them.
func TestVersion(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		what string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "unknown (no build information in the binary)"},
		{"checkout without VCS", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}, true, "(devel) (go1.26.0)"},
		{"clean checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-03T12:00:00Z"}, {Key: "vcs.modified", Value: "false"}}}, true,
			"(devel) (revision 0123456789ab of 2026-12-03T12:00:00Z, go1.26.0)"},
		{"modified checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}}, true,
			"(devel) (revision 0123456789ab+dirty, go1.26.0)"},
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}}, true, "v1.2.3 (go1.26.0)"},
	} {
		if got := version(c.info, c.ok); got != c.want {
			t.Errorf("%s: %q, want %q", c.what, got, c.want)
		}
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || out != "sim "+buildVersion()+"\n" {
			t.Errorf("sim %s: exit %d, %q (stderr %q)", args[0], code, out, errs)
		}
	}
}

// TestScenarioCmd: sim scenario default writes the embedded default byte for
// byte, and it runs as a file; sim scenario lists the built-in names; an
// unknown name is bad input naming the known ones.
func TestScenarioCmd(t *testing.T) {
	_, def := scenarios.Default()
	code, out, _ := runCLI(t, "scenario", "default")
	if code != 0 || out != string(def) {
		t.Fatalf("sim scenario default: exit %d, %d bytes, want the %d bytes of the default", code, len(out), len(def))
	}
	path := filepath.Join(t.TempDir(), "my.toml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	_, fromFile, _ := runCLI(t, "run", path)
	_, builtin, _ := runCLI(t, "run")
	if fromFile != builtin || !strings.HasPrefix(fromFile, "GPT-3 175B, 1024 x A100-80GB\n") {
		t.Errorf("the written default runs differently from the built-in one:\n%s", fromFile)
	}
	code, out, _ = runCLI(t, "scenario")
	if code != 0 || !strings.Contains(out, "default") || !strings.Contains(out, "gpt3-13b-dp-heavy") {
		t.Errorf("sim scenario: exit %d:\n%s", code, out)
	}
	code, _, errs := runCLI(t, "scenario", "gpt3")
	if code != 2 || !strings.Contains(errs, `no built-in scenario called "gpt3"`) || !strings.Contains(errs, "default") {
		t.Errorf("sim scenario gpt3: exit %d: %s", code, errs)
	}
}

// TestPresetsOutput: the presets table keeps its lines readable (no line
// over the wrap width plus a word) and lists every preset with its source;
// --format json holds every preset with its figures.
func TestPresetsOutput(t *testing.T) {
	code, out, _ := runCLI(t, "presets")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for i, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > presetWidth {
			t.Errorf("line %d is %d characters: %q", i+1, n, line)
		}
	}
	for _, m := range model.Presets() {
		if !strings.Contains(out, "\n"+m.Name+" ") || !strings.Contains(out, "  "+m.Name+": ") {
			t.Errorf("model %s lacks its row or its source", m.Name)
		}
	}
	code, out, _ = runCLI(t, "presets", "--format", "json")
	if code != 0 {
		t.Fatalf("--format json: exit %d", code)
	}
	var p presetsJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Models) != len(model.Presets()) || len(p.GPUs) != len(topology.GPUPresets()) || len(p.Systems) != len(topology.SystemPresets()) {
		t.Errorf("%d models, %d GPUs, %d systems", len(p.Models), len(p.GPUs), len(p.Systems))
	}
	for _, g := range p.GPUs {
		if g.Name == "a100-80gb" && (g.PeakDense16 != 312e12 || g.HBMBytes != 80*(1<<30) || g.Source == "") {
			t.Errorf("a100-80gb: %+v", g)
		}
	}
	for _, s := range p.Systems {
		if s.Name == "dgx-h100" && (s.GPU != "h100-sxm" || s.GPUsPerNode != 8 || s.NICBpS != 400e9/8) {
			t.Errorf("dgx-h100: %+v", s)
		}
	}
	// The GPU families' defaults, as docs/model.md's Constants table and
	// docs/scenario.md's calibration keys give them.
	want := []familyJSON{
		{Name: "ampere", GEMMPeakFraction: 0.78, FlashFraction: 0.60, HBMFraction: 0.85, KernelOverheadS: 4e-6, CommSMs: 8, KHalf: 64},
		{Name: "hopper", GEMMPeakFraction: 0.70, FlashFraction: 0.55, HBMFraction: 0.85, KernelOverheadS: 4e-6, CommSMs: 8, KHalf: 96, FP8LinearSlowdown: 1.14},
		{Name: "blackwell", GEMMPeakFraction: 0.59, FlashFraction: 0.55, HBMFraction: 0.85, KernelOverheadS: 4e-6, CommSMs: 8, KHalf: 96, FP8LinearSlowdown: 1.14, WindowFwd: 1.41, WindowBwd: 1.13},
	}
	if !reflect.DeepEqual(p.Families, want) {
		t.Errorf("families %+v, want %+v", p.Families, want)
	}
	_, text, _ := runCLI(t, "presets")
	for _, row := range []string{"\nampere        0.78  0.6    0.85  4 us", "\nblackwell     0.59  0.55   0.85  4 us             8         96  1.14        1.41 / 1.13\n"} {
		if !strings.Contains(text, row) {
			t.Errorf("presets text lacks the row %q", row)
		}
	}
	if code, _, errs := runCLI(t, "presets", "--format", "csv"); code != 2 || !strings.Contains(errs, "--format") {
		t.Errorf("--format csv: exit %d: %s", code, errs)
	}
}

// TestFlagHelp: --workers says its default once; --seed is an integer flag
// whose bad value is bad input and whose value reaches the report, in run
// and in search.
func TestFlagHelp(t *testing.T) {
	_, out, _ := runCLI(t, "sweep", "--help")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "--workers int") && strings.Count(line, "default") != 1 {
			t.Errorf("--workers help: %q", line)
		}
		if strings.Contains(line, "--seed") && !strings.Contains(line, "--seed uint") {
			t.Errorf("--seed help: %q", line)
		}
	}
	if code, _, errs := runCLI(t, "run", "--seed", "abc"); code != 2 || !strings.Contains(errs, "--seed") {
		t.Errorf("--seed abc: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "run", "--seed", "-1"); code != 2 || !strings.Contains(errs, "--seed") {
		t.Errorf("--seed -1: exit %d: %s", code, errs)
	}
	code, out, _ := runCLI(t, "run", "--seed", "7", "--format", "json")
	var rep struct {
		Seed uint64 `json:"seed"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || rep.Seed != 7 {
		t.Errorf("--seed 7: exit %d, seed %d, %v", code, rep.Seed, err)
	}
	code, out, errs := runCLI(t, "search", "--seed", "9", "--format", "json", "--top", "1", "--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=2", "--set", "parallelism.pp=2", "--set", "training.global_batch=64")
	var srch struct {
		Best []struct {
			Seed uint64 `json:"seed"`
		} `json:"best"`
	}
	if err := json.Unmarshal([]byte(out), &srch); code != 0 || err != nil || len(srch.Best) == 0 || srch.Best[0].Seed != 9 {
		t.Errorf("search --seed 9: exit %d, %v, %+v; %s", code, err, srch, errs)
	}
}

// TestTextSummary: the text summary prints plain numbers (tokens in words,
// GPU-hours with separators, no float noise), says what time-to-train
// assumes, explains where the breakdown's exposed DP time exceeds the
// communication table's, names the runner-up resource in words and says
// what would help, read from the breakdown and the layout.
func TestTextSummary(t *testing.T) {
	for _, c := range []struct {
		what       string
		args       []string
		want, lack []string
	}{
		{"default", nil, []string{
			"for 300 B tokens;", " GPU-hours", "834,842 GPU-hours", "assumes every one of the 300 B tokens",
			"no batch ramp-up, failure, checkpoint, restart or slow GPU",
			"(DP comm, exposed = 226 ms of its own transfers + 230 ms waiting for other GPUs' DP",
			"next: HBM bandwidth at", "would help: less recomputation (recompute takes 19.2%: selective instead of full",
		}, []string{"3e+11", "e+05", "e+23", "next: hbm"}},
		{"bubble-bound", []string{"--set", "training.global_batch=128"}, []string{
			"Bottleneck       pipeline-bubble", "would help: more micro-batches per step (16 now for 16 stages", "the interleaved schedule", "zero-bubble ZB-H1",
		}, nil},
		{"NVLink-bound", []string{"--set", "cluster.nvlink.bandwidth=5GB/s"}, []string{
			"Bottleneck       nvlink", "would help: overlapping the tensor-parallel collectives", "a lower tp (TP 8)",
		}, nil},
		{"noise-free calibration", []string{"--set", "calibration.nvlink_busbw=230GB/s", "--set", "calibration.kernel_overhead=3.3us"}, []string{
			"calib    kernel_overhead 3.3µs, nvlink_busbw 230 GB/s",
		}, []string{"0000000"}},
	} {
		code, out, errs := runCLI(t, append([]string{"run"}, c.args...)...)
		if code > 1 {
			t.Errorf("%s: exit %d: %s", c.what, code, errs)
			continue
		}
		for _, s := range c.want {
			if !strings.Contains(out, s) {
				t.Errorf("%s: lacks %q:\n%s", c.what, s, out)
			}
		}
		for _, s := range c.lack {
			if strings.Contains(out, s) {
				t.Errorf("%s: has %q:\n%s", c.what, s, out)
			}
		}
	}
}

// TestSweepProgress: with stderr not a terminal, a sweep logs its progress
// as lines (console or JSON), one per interval and a last one; the JSON
// lines parse and count up to the points evaluated.
func TestSweepProgress(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, "sweep", "testdata/sweep-small.toml", "--out", filepath.Join(dir, "a"), "--progress-every", "1ns", "--log-format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var last struct {
		Msg     string  `json:"msg"`
		Done    int     `json:"done"`
		Of      int     `json:"of"`
		Percent float64 `json:"percent"`
		TS      string  `json:"ts"`
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) < 2 {
		t.Fatalf("want progress lines and a last line, got:\n%s", errs)
	}
	prev := 0
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("not a JSON log line: %q: %v", l, err)
		}
		if last.Done <= prev || last.TS == "" {
			t.Errorf("line %q: done %d after %d", l, last.Done, prev)
		}
		prev = last.Done
	}
	if last.Msg != "sweep evaluated" || last.Done != 8 || last.Of != 8 || last.Percent != 100 {
		t.Errorf("last line %+v, want the 8 points of sweep-small", last)
	}
	// Console lines by default; none with --log-level warn or --progress-every 0.
	code, _, errs = runCLI(t, "sweep", "testdata/sweep-small.toml", "--out", filepath.Join(dir, "b"), "--progress-every", "1ns")
	if code != 0 || !strings.Contains(errs, "INFO\tsweep evaluated\t") {
		t.Errorf("console progress: exit %d:\n%s", code, errs)
	}
	for _, quiet := range [][]string{{"--log-level", "warn", "--progress-every", "1ns"}, {"--progress-every", "0"}} {
		code, _, errs = runCLI(t, append([]string{"sweep", "testdata/sweep-small.toml", "--out", filepath.Join(dir, quiet[len(quiet)-1]+quiet[0])}, quiet...)...)
		if code != 0 || errs != "" {
			t.Errorf("%v: exit %d, stderr %q", quiet, code, errs)
		}
	}
	code, _, errs = runCLI(t, "run", "--log-format", "xml")
	if code != 2 || !strings.Contains(errs, "--log-format") {
		t.Errorf("--log-format xml: exit %d: %s", code, errs)
	}
	code, _, errs = runCLI(t, "run", "-v", "--log-format", "json")
	var first map[string]any
	if code != 0 || json.Unmarshal([]byte(strings.SplitN(errs, "\n", 2)[0]), &first) != nil || first["msg"] != "scenario loaded" {
		t.Errorf("run -v --log-format json: exit %d: %s", code, errs)
	}
}

// TestProgressInterval: a progress line at most once per interval, none for
// the last point (the final line says it), with the rate and what is left.
func TestProgressInterval(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &progress{log: zap.New(core), every: 10 * time.Second, total: 6, start: t0, last: t0}
	for _, s := range []int{1, 5, 11, 12, 25, 26} {
		p.add(t0.Add(time.Duration(s) * time.Second))
	}
	p.finish(t0.Add(26 * time.Second))
	var got []string
	for _, e := range logs.All() {
		c := e.ContextMap()
		got = append(got, fmt.Sprintf("%s %v/%v %v%% eta %v", e.Message, c["done"], c["of"], c["percent"], c["eta"]))
	}
	want := []string{
		"sweep progress 3/6 50% eta 11s",  // 3 points in 11 s: 3 more take 11 s
		"sweep progress 5/6 83.3% eta 5s", // 5 in 25 s: 5 s for the last
		"sweep evaluated 6/6 100% eta <nil>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var none *progress
	none.add(t0) // a nil progress (a terminal, or --progress-every 0) does nothing
	none.finish(t0)
}
