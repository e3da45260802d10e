package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// tiny is the scenario of the trace tests: GPT 1.7B cut to 8 layers on 4
// pipeline stages of 2 chunks (one layer each), TP 2, DP 2, 8 micro-batches,
// 2 steps.
const tiny = "testdata/tiny-interleaved.toml"

type traceFile struct {
	DisplayTimeUnit string          `json:"displayTimeUnit"`
	TraceEvents     []traceEventIn  `json:"traceEvents"`
	OtherData       json.RawMessage `json:"otherData"`
}

type traceEventIn struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Ph   string         `json:"ph"`
	Ts   *float64       `json:"ts"`
	Dur  float64        `json:"dur"`
	Pid  *int           `json:"pid"`
	Tid  *int           `json:"tid"`
	ID   int            `json:"id"`
	BP   string         `json:"bp"`
	Args map[string]any `json:"args"`
}

// writeTraceOf runs sim run with --trace and extra flags and returns the
// trace's bytes and its parsed events.
func writeTraceOf(t *testing.T, flags ...string) ([]byte, traceFile) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trace.json")
	args := append([]string{"run", tiny, "--trace", path, "-o", filepath.Join(t.TempDir(), "r.txt")}, flags...)
	if code, _, errs := runCLI(t, args...); code != 0 {
		t.Fatalf("sim %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tf traceFile
	if err := json.Unmarshal(data, &tf); err != nil {
		t.Fatalf("the trace is not JSON: %v", err)
	}
	return data, tf
}

// TestTraceStructure checks what Perfetto's and chrome://tracing's JSON
// importers need: a traceEvents array whose events have a known ph, a
// numeric ts, pid and tid; complete events a duration ≥ 0; metadata events
// naming every process and thread used.
func TestTraceStructure(t *testing.T) {
	_, tf := writeTraceOf(t)
	if len(tf.TraceEvents) == 0 {
		t.Fatal("no traceEvents")
	}
	named := map[[2]int]bool{}
	procs := map[int]bool{}
	phs := map[string]int{}
	for i, e := range tf.TraceEvents {
		phs[e.Ph]++
		if e.Ts == nil || e.Pid == nil || e.Tid == nil {
			t.Fatalf("event %d (%s) lacks ts, pid or tid", i, e.Name)
		}
		switch e.Ph {
		case "M":
			if e.Name == "process_name" {
				procs[*e.Pid] = true
			}
			if e.Name == "thread_name" {
				named[[2]int{*e.Pid, *e.Tid}] = true
			}
		case "X":
			if e.Dur < 0 || *e.Ts < 0 {
				t.Errorf("event %d (%s): ts %v dur %v", i, e.Name, *e.Ts, e.Dur)
			}
			if !named[[2]int{*e.Pid, *e.Tid}] || !procs[*e.Pid] {
				t.Errorf("event %d (%s) on an unnamed process or thread", i, e.Name)
			}
		case "C", "s", "f":
		default:
			t.Errorf("event %d: ph %q is none of M, X, C, s, f", i, e.Ph)
		}
	}
	for _, ph := range []string{"M", "X", "C", "s", "f"} {
		if phs[ph] == 0 {
			t.Errorf("no %q events (have %v)", ph, phs)
		}
	}
}

var (
	passName = regexp.MustCompile(`^(fwd|bwd|recompute) mb(\d+) c(\d+) (L\d+|emb|out)(-(L\d+|out))?$`)
	commName = regexp.MustCompile(`^(tp|pp|dp) (fwd|bwd) mb(\d+) c(\d+)$`)
)

// TestTraceNamesAndArgs: computation slices are named by phase, micro-batch,
// chunk and layer and their args say the same; communication slices carry
// bytes and the link tier. The numbers are checked by hand for GPT 1.7B
// (h = 2304, s = 2048, micro-batch 1, TP 2): a transformer layer's forward
// is 2·12h²·s (the GEMMs) + 4·s²·h (QKᵀ and AV) = 2.996e11 FLOPs, 1.498e11
// per GPU; a TP all-reduce of a pair sends the s·h·2-byte activation
// (2(n−1)/n = 1 times it), and a pipeline send the same activation.
func TestTraceNamesAndArgs(t *testing.T) {
	_, tf := writeTraceOf(t, "--trace-steps", "1")
	const h, s = 2304.0, 2048.0
	wantLayerFwd := (2*12*h*h*s + 4*s*s*h) / 2
	act := s * h * 2
	layerFLOPs := map[string]float64{} // "stage mb layer" → forward FLOPs
	seen := map[string]bool{}
	for _, e := range tf.TraceEvents {
		if e.Ph != "X" {
			continue
		}
		seen[e.Cat] = true
		switch e.Cat {
		case "compute", "recompute":
			m := passName.FindStringSubmatch(e.Name)
			if m == nil {
				t.Errorf("computation slice %q is not named phase mbN cN layer", e.Name)
				continue
			}
			phase := m[1]
			if phase == "recompute" {
				phase = "bwd"
			}
			if e.Args["phase"] != phase || e.Args["mb"] != mustFloat(m[2]) || e.Args["chunk"] != mustFloat(m[3]) {
				t.Errorf("%q: args %v disagree with the name", e.Name, e.Args)
			}
			if e.Args["layers"] == nil {
				t.Errorf("%q: no layers arg", e.Name)
			}
			if strings.HasPrefix(e.Name, "fwd") && m[4] != "emb" && m[5] == "" && m[4] != "out" {
				f, _ := e.Args["flops"].(float64)
				if f <= 0 {
					t.Errorf("%q: no FLOPs (args %v)", e.Name, e.Args)
				}
				layerFLOPs[e.Name+" "+string(rune('0'+int(*e.Pid)))] += f
			}
		case "tp", "pp", "dp":
			if e.Args["phase"] != nil && !commName.MatchString(e.Name) {
				t.Errorf("communication slice %q is not named kind phase mbN cN", e.Name)
			}
			b, _ := e.Args["bytes"].(float64)
			tier, _ := e.Args["tier"].(string)
			if b <= 0 || (tier != "nvlink" && tier != "nic" && tier != "spine") {
				t.Errorf("%q: bytes %v tier %q", e.Name, e.Args["bytes"], tier)
			}
			if (e.Cat == "tp" || e.Cat == "pp") && b != act {
				t.Errorf("%q sends %v bytes, want the activation's %v", e.Name, b, act)
			}
		}
	}
	for _, c := range []string{"compute", "recompute", "tp", "pp", "dp", "optimizer"} {
		if !seen[c] {
			t.Errorf("no %s slices", c)
		}
	}
	if len(layerFLOPs) == 0 {
		t.Fatal("no forward slice of one transformer layer")
	}
	for k, f := range layerFLOPs {
		// Layer norms, softmax and the like add under 1%.
		if math.Abs(f/wantLayerFwd-1) > 0.01 {
			t.Errorf("%s: %.4g FLOPs, want %.4g (hand-computed) within 1%%", k, f, wantLayerFwd)
		}
	}
}

func mustFloat(s string) float64 {
	var f float64
	for _, c := range s {
		f = 10*f + float64(c-'0')
	}
	return f
}

// TestTraceFlows: every flow start has exactly one finish with its id, not
// earlier, bound ("bp":"e") to a slice of the receiving stage that is
// running at that moment; and every pipeline send starts one.
func TestTraceFlows(t *testing.T) {
	_, tf := writeTraceOf(t)
	type end struct {
		ts       float64
		pid, tid int
		n        int
	}
	starts, finishes := map[int]*end{}, map[int]*end{}
	type slice struct{ ts, end float64 }
	slices := map[[2]int][]slice{}
	sends := 0
	for _, e := range tf.TraceEvents {
		switch e.Ph {
		case "X":
			k := [2]int{*e.Pid, *e.Tid}
			slices[k] = append(slices[k], slice{*e.Ts, *e.Ts + e.Dur})
			if e.Cat == "pp" {
				sends++
			}
		case "s", "f":
			m := starts
			if e.Ph == "f" {
				m = finishes
				if e.BP != "e" {
					t.Errorf("flow finish %d: bp %q, want \"e\" (bound to the enclosing slice)", e.ID, e.BP)
				}
			}
			if m[e.ID] == nil {
				m[e.ID] = &end{ts: *e.Ts, pid: *e.Pid, tid: *e.Tid}
			}
			m[e.ID].n++
		}
	}
	if len(starts) == 0 {
		t.Fatal("no flow events")
	}
	if len(starts) != sends {
		t.Errorf("%d flows for %d pipeline sends", len(starts), sends)
	}
	for id, s := range starts {
		f := finishes[id]
		if f == nil || s.n != 1 || f.n != 1 {
			t.Errorf("flow %d: %d starts, finish %v", id, s.n, f)
			continue
		}
		if f.ts < s.ts {
			t.Errorf("flow %d finishes at %v before it starts at %v", id, f.ts, s.ts)
		}
		if f.pid == s.pid {
			t.Errorf("flow %d stays on process %d", id, s.pid)
		}
		in := false
		for _, sl := range slices[[2]int{f.pid, f.tid}] {
			if sl.ts <= f.ts && f.ts <= sl.end {
				in = true
				break
			}
		}
		if !in {
			t.Errorf("flow %d finishes at %v on %d/%d outside every slice", id, f.ts, f.pid, f.tid)
		}
	}
	if len(finishes) != len(starts) {
		t.Errorf("%d finishes for %d starts", len(finishes), len(starts))
	}
}

// TestTraceTimestampsExact: every ts and dur is written with exactly three
// decimals (the engine's nanosecond), never 12.300000000000001.
func TestTraceTimestampsExact(t *testing.T) {
	data, _ := writeTraceOf(t, "--trace-steps", "1")
	num := regexp.MustCompile(`"(ts|dur)":(-?[0-9.eE+-]+)`)
	ok := regexp.MustCompile(`^[0-9]+\.[0-9]{3}$`)
	n := 0
	for _, m := range num.FindAllSubmatch(data, -1) {
		n++
		if !ok.Match(m[2]) {
			t.Fatalf("%s is not a fixed three-decimal number", m[0])
		}
	}
	if n == 0 {
		t.Fatal("no timestamps")
	}
}

// TestTraceCounters: each GPU's link counter track is in time order, never
// negative, ends at zero, and its integral over time is the bytes the GPU's
// transfers sent on each tier (a second way: the slices' bytes args).
func TestTraceCounters(t *testing.T) {
	_, tf := writeTraceOf(t, "--trace-steps", "1")
	type pt struct {
		ts   float64
		vals map[string]float64
	}
	tracks := map[int][]pt{}
	sent := map[int]map[string]float64{}
	for _, e := range tf.TraceEvents {
		switch e.Ph {
		case "C":
			p := pt{ts: *e.Ts, vals: map[string]float64{}}
			for k, v := range e.Args {
				f, ok := v.(float64)
				if !ok || f < 0 {
					t.Fatalf("counter %s at %v: %s = %v", e.Name, *e.Ts, k, v)
				}
				p.vals[k] = f
			}
			tracks[*e.Pid] = append(tracks[*e.Pid], p)
		case "X":
			if b, ok := e.Args["bytes"].(float64); ok {
				tier := e.Args["tier"].(string)
				if sent[*e.Pid] == nil {
					sent[*e.Pid] = map[string]float64{}
				}
				sent[*e.Pid][tier] += b
			}
		}
	}
	if len(tracks) == 0 {
		t.Fatal("no counter events")
	}
	for pid, tr := range tracks {
		if !sort.SliceIsSorted(tr, func(i, j int) bool { return tr[i].ts < tr[j].ts }) {
			t.Errorf("process %d: counter points out of order", pid)
		}
		last := tr[len(tr)-1]
		for k, v := range last.vals {
			if v != 0 {
				t.Errorf("process %d: %s ends at %v GB/s, not 0", pid, k, v)
			}
		}
		moved := map[string]float64{}
		for i := 0; i+1 < len(tr); i++ {
			for k, v := range tr[i].vals { // GB/s × µs = kB
				moved[k] += v * (tr[i+1].ts - tr[i].ts) * 1e3
			}
		}
		for tier, b := range sent[pid] {
			if math.Abs(moved[tier]/b-1) > 0.005 {
				t.Errorf("process %d %s: the counter integrates to %.4g bytes, the slices sent %.4g", pid, tier, moved[tier], b)
			}
		}
	}
}

// TestTraceFilters: --trace-steps, --trace-stages and --trace-ranks keep only
// what they name; bad lists are bad input.
func TestTraceFilters(t *testing.T) {
	_, all := writeTraceOf(t)
	count := func(tf traceFile, pred func(traceEventIn) bool) int {
		n := 0
		for _, e := range tf.TraceEvents {
			if e.Ph == "X" && pred(e) {
				n++
			}
		}
		return n
	}
	any := func(traceEventIn) bool { return true }
	step := func(s float64) func(traceEventIn) bool {
		return func(e traceEventIn) bool { return e.Args["step"] == s }
	}
	lanes := func(tf traceFile) []string {
		var out []string
		for _, e := range tf.TraceEvents {
			if e.Name == "process_name" {
				out = append(out, e.Args["name"].(string))
			}
		}
		sort.Strings(out)
		return out
	}
	if count(all, step(1)) == 0 || count(all, step(0)) == 0 {
		t.Fatal("the unfiltered trace should hold both steps")
	}
	_, one := writeTraceOf(t, "--trace-steps", "1")
	if n := count(one, step(1)); n != 0 || count(one, any) != count(all, step(0)) {
		t.Errorf("--trace-steps 1: %d slices of step 1, %d in all (want 0, %d)", n, count(one, any), count(all, step(0)))
	}
	_, st := writeTraceOf(t, "--trace-stages", "1,3")
	if got := strings.Join(lanes(st), ","); got != "stage 1,stage 3" {
		t.Errorf("--trace-stages 1,3: lanes %s", got)
	}
	// TP 2 × PP 4 × DP 2: pipeline stage s of the first replica is rank 4s.
	_, rk := writeTraceOf(t, "--trace-ranks", "4-8")
	if got := strings.Join(lanes(rk), ","); got != "stage 1,stage 2" {
		t.Errorf("--trace-ranks 4-8: lanes %s", got)
	}
	if count(rk, func(e traceEventIn) bool { r := e.Args["rank"]; return r != 4.0 && r != 8.0 }) != 0 {
		t.Error("--trace-ranks 4-8 kept slices of other ranks")
	}
	for _, bad := range [][]string{{"--trace-ranks", "x"}, {"--trace-ranks", "3-1"}, {"--trace-stages", "-1"}, {"--trace-steps", "-2"}} {
		args := append([]string{"run", tiny, "--trace", filepath.Join(t.TempDir(), "t.json")}, bad...)
		code, _, errs := runCLI(t, args...)
		if code != exitBadInput || !strings.Contains(errs, bad[0]) {
			t.Errorf("%v: exit %d, %q; want 2 naming the flag", bad, code, errs)
		}
	}
}

// TestTraceGolden pins the trace of the tiny scenario's first step on its
// first stage (rank 0): names, args, flows and counters byte for byte.
func TestTraceGolden(t *testing.T) {
	data, _ := writeTraceOf(t, "--trace-steps", "1", "--trace-ranks", "0")
	golden(t, "tiny-trace.json", string(data))
}

// TestTimelineRows: the report's timeline has a row per stage and chunk of
// the interleaved tiny pipeline, every pass of every micro-batch once, and
// the bubble is white space: on every stage the busy time is shorter than
// the step, by at least the report's bubble on that stage.
func TestTimelineRows(t *testing.T) {
	code, out, errs := runCLI(t, "run", tiny, "--timeline", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Stages []struct {
			Stage   int     `json:"stage"`
			BubbleS float64 `json:"bubble_s"`
		} `json:"stages"`
		Timeline struct {
			StepS  float64 `json:"step_s"`
			Stages int     `json:"stages"`
			Chunks int     `json:"chunks"`
			Spans  []struct {
				Stage, Chunk, MB int
				Kind, Stream     string
				Start            float64 `json:"start_s"`
				End              float64 `json:"end_s"`
			} `json:"spans"`
		} `json:"timeline"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	tl := rep.Timeline
	if tl.Stages != 4 || tl.Chunks != 2 {
		t.Fatalf("timeline of %d stages × %d chunks, want 4 × 2", tl.Stages, tl.Chunks)
	}
	passes := map[[4]int]int{}
	busy := make([]float64, tl.Stages)
	for _, s := range tl.Spans {
		if s.Start < 0 || s.End < s.Start || s.End > tl.StepS*(1+1e-9) {
			t.Fatalf("span %+v outside the %v s step", s, tl.StepS)
		}
		if s.Kind == "fwd" || s.Kind == "bwd" {
			ph := 0
			if s.Kind == "bwd" {
				ph = 1
			}
			passes[[4]int{s.Stage, s.Chunk, s.MB, ph}]++
		}
		if s.Stream == "compute" {
			busy[s.Stage] += s.End - s.Start
		}
	}
	for st := 0; st < 4; st++ {
		for c := 0; c < 2; c++ {
			for mb := 0; mb < 8; mb++ {
				for ph := 0; ph < 2; ph++ {
					if passes[[4]int{st, c, mb, ph}] == 0 {
						t.Errorf("no span for stage %d chunk %d mb %d phase %d", st, c, mb, ph)
					}
				}
			}
		}
	}
	for _, s := range rep.Stages {
		idle := tl.StepS - busy[s.Stage]
		if idle <= 0 || idle < 0.5*s.BubbleS {
			t.Errorf("stage %d: busy %.4g s of a %.4g s step leaves %.4g s white, bubble %.4g s", s.Stage, busy[s.Stage], tl.StepS, idle, s.BubbleS)
		}
	}
}

// TestReportShowsTimeline: sim report on the default run written with
// --timeline shows the pipeline timeline (PNG, with the SVG beside it) with
// a row per stage; on the tiny interleaved run, a row per stage and chunk.
func TestReportShowsTimeline(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		rows []string
	}{
		{"default", nil, []string{"stage 0", "stage 15"}},
		{"interleaved", []string{tiny}, []string{"s0 chunk 0", "s0 chunk 1", "s3 chunk 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rj := filepath.Join(dir, "r.json")
			args := append(append([]string{"run"}, tc.args...), "--timeline", "--format", "json", "-o", rj)
			if code, _, errs := runCLI(t, args...); code != 0 {
				t.Fatalf("sim run: exit %d: %s", code, errs)
			}
			out := filepath.Join(dir, "html")
			if code, _, errs := runCLI(t, "report", rj, "--format", "html", "-o", out); code != 0 {
				t.Fatalf("sim report: exit %d: %s", code, errs)
			}
			files := reportFiles(t, out)
			checkPNGs(t, files, "timeline.png")
			page := string(files["report.html"])
			if !strings.Contains(page, `<img src="timeline.png"`) || !strings.Contains(page, "The pipeline, one step") {
				t.Error("report.html does not show the timeline")
			}
			svg := string(files["timeline.svg"])
			for _, r := range tc.rows {
				if !strings.Contains(svg, ">"+r+"<") {
					t.Errorf("timeline.svg has no row %q", r)
				}
			}
		})
	}
}

// TestReportScenarioShowsTimeline: `sim report` without results replays the
// embedded default (or a named scenario file) with its timeline, so the
// report of the default run shows the pipeline; --set applies to it and is
// refused with a results file.
func TestReportScenarioShowsTimeline(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		rows []string
	}{
		{"default", nil, []string{"stage 0", "stage 15"}},
		{"file", []string{tiny}, []string{"s0 chunk 0", "s3 chunk 1"}},
		{"set", []string{"--set", "parallelism.pp=8", "--set", "parallelism.dp=16"}, []string{"stage 0", "stage 7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "rep")
			args := append(append([]string{"report"}, tc.args...), "--format", "html", "-o", out)
			if code, _, errs := runCLI(t, args...); code != 0 {
				t.Fatalf("sim report: exit %d: %s", code, errs)
			}
			files := reportFiles(t, out)
			checkPNGs(t, files, "timeline.png")
			if !strings.Contains(string(files["report.html"]), `<img src="timeline.png"`) {
				t.Error("report.html does not show the timeline")
			}
			svg := string(files["timeline.svg"])
			for _, r := range tc.rows {
				if !strings.Contains(svg, ">"+r+"<") {
					t.Errorf("timeline.svg has no row %q", r)
				}
			}
			if tc.name == "set" && strings.Contains(svg, ">stage 8<") {
				t.Error("--set parallelism.pp=8 ignored: the timeline has a stage 8")
			}
		})
	}
	rj := filepath.Join(t.TempDir(), "r.json")
	if code, _, errs := runCLI(t, "run", "--format", "json", "-o", rj); code != 0 {
		t.Fatalf("sim run: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "report", rj, "--set", "cluster.nodes=16"); code != 2 || !strings.Contains(errs, "--set") {
		t.Errorf("sim report RESULTS --set: exit %d, %q; want exit 2 naming --set", code, errs)
	}
}
