package sweep

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/scenario"
	"trainsim/scenarios"
	"trainsim/units"
)

// readDefault stands in for the file system: every base is the embedded
// default scenario (GPT-3 175B on 128 DGX A100 nodes, TP 8, PP 16).
func readDefault(string) ([]byte, error) {
	_, src := scenarios.Default()
	return src, nil
}

func mustParse(t *testing.T, src string, sets ...string) *Sweep {
	t.Helper()
	s, err := Parse(Input{File: "sweeps/test.toml", Src: []byte(src), ReadBase: readDefault, Sets: sets})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

// small is the test sweep: GPT 1.7B on 8 or 16 DGX A100 nodes, pipeline
// depth 1 or 2, the rest as in the default scenario.
const small = `base = "gpt3-175b.toml"
[model]
preset = "gpt-1.7b"
[grid]
"cluster.nodes" = [8, 16]
"parallelism.pp" = [1, 2]
`

// TestEnumerationOrder: keys in the order the file writes them (not
// sorted), the last varying fastest; recomputed here with nested loops.
func TestEnumerationOrder(t *testing.T) {
	s := mustParse(t, `base = "b.toml"
[grid]
"parallelism.pp" = [1, 2]
cluster.nodes = [8, 16, 32]     # a dotted key works as well as a quoted one
"parallelism.microbatch" = [1, 2]
`)
	if got, want := s.Keys(), []string{"parallelism.pp", "cluster.nodes", "parallelism.microbatch"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	if s.Len() != 12 {
		t.Fatalf("Len %d, want 12", s.Len())
	}
	if lines := []int{s.Axes[0].Line, s.Axes[1].Line, s.Axes[2].Line}; !reflect.DeepEqual(lines, []int{3, 4, 5}) {
		t.Errorf("axis lines %v, want [3 4 5]", lines)
	}
	i := 0
	for _, pp := range []int64{1, 2} {
		for _, nodes := range []int64{8, 16, 32} {
			for _, mb := range []int64{1, 2} {
				want := []Param{{"parallelism.pp", pp}, {"cluster.nodes", nodes}, {"parallelism.microbatch", mb}}
				if got := s.Point(i); !reflect.DeepEqual(got, want) {
					t.Errorf("point %d: %v, want %v  <-- via nested loops", i, got, want)
				}
				i++
			}
		}
	}
	if sets := s.Sets(5); !reflect.DeepEqual(sets, []string{"parallelism.pp=1", "cluster.nodes=32", "parallelism.microbatch=2"}) {
		t.Errorf("Sets(5) = %q", sets)
	}
}

// TestFormatTOMLRoundTrip: every grid value, written back as a --set value,
// decodes to the same value of the same kind.
func TestFormatTOMLRoundTrip(t *testing.T) {
	values := []any{
		int64(8), int64(-3), int64(0), int64(1 << 40),
		2.0, 1.5, 3e11, 1e-7, 0.1, -0.0, 1e300, 123456789.125,
		"gpipe", "", `a "quoted" \ back = slash`, "ü → µs\n\ttab", "=", "x\x01y",
		true, false,
	}
	for _, v := range values {
		text := FormatTOML(v)
		var doc map[string]any
		if _, err := toml.Decode("v = "+text, &doc); err != nil {
			t.Errorf("%#v → %s: not TOML: %v", v, text, err)
			continue
		}
		if got := doc["v"]; !reflect.DeepEqual(got, v) || reflect.TypeOf(got) != reflect.TypeOf(v) {
			t.Errorf("%#v → %s → %#v (%T)", v, text, got, got)
		}
	}
	if got := FormatTOML(2.0); got != "2.0" {
		t.Errorf("2.0 formats as %s: it would come back as an integer", got)
	}
}

// TestValuesThroughScenario: the grid values reach the resolved job, through
// scenario.Load's --set, with their kinds: integers, floats, strings, bools.
func TestValuesThroughScenario(t *testing.T) {
	s := mustParse(t, small+`"training.tokens" = [1.5e11, 300000000000, 2.0]
"parallelism.sequence_parallel" = [true, false]
name = ["plain", "with \"quotes\", = and ü"]
`)
	for i := range s.Len() {
		sc, err := s.Load(i)
		if err != nil {
			t.Fatalf("point %d: %v", i, err)
		}
		p := s.Point(i)
		want := map[string]any{}
		for _, x := range p {
			want[x.Key] = x.Value
		}
		if got := int64(sc.Job.Cluster.Nodes); got != want["cluster.nodes"] {
			t.Errorf("point %d: nodes %d, want %v", i, got, want["cluster.nodes"])
		}
		tokens := want["training.tokens"]
		if n, ok := tokens.(int64); ok {
			tokens = float64(n)
		}
		if sc.Job.Training.Tokens != tokens {
			t.Errorf("point %d: tokens %g, want %v", i, sc.Job.Training.Tokens, tokens)
		}
		if sc.Job.Layout.SequenceParallel != want["parallelism.sequence_parallel"] {
			t.Errorf("point %d: sequence_parallel %v", i, sc.Job.Layout.SequenceParallel)
		}
		if sc.Name != want["name"] {
			t.Errorf("point %d: name %q, want %q", i, sc.Name, want["name"])
		}
	}
}

// TestInvalidPointsRecorded: combinations the scenario rejects are records
// with feasible=false and the reason, not errors of the sweep.
func TestInvalidPointsRecorded(t *testing.T) {
	s := mustParse(t, `base = "gpt3-175b.toml"
[model]
preset = "gpt-1.7b"
[grid]
"cluster.nodes" = [8]
"parallelism.tp" = [5, 8]
"parallelism.pp" = [1]
`)
	bad := s.Evaluate(0, nil)
	if bad.Report != nil || bad.Feasible() {
		t.Fatalf("tp=5: got a report")
	}
	for _, want := range []string{"parallelism.tp: 5 does not divide model.heads (24)", "parallelism.dp"} {
		if !strings.Contains(bad.Reason, want) {
			t.Errorf("reason lacks %q: %s", want, bad.Reason)
		}
	}
	if strings.Contains(bad.Reason, "--set") || strings.Contains(bad.Reason, ".toml:") {
		t.Errorf("reason carries a place: %s", bad.Reason)
	}
	if bad.Scenario != "GPT-3 175B, 1024 x A100-80GB" {
		t.Errorf("scenario %q", bad.Scenario)
	}
	line, err := bad.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(line, []byte(`{"point":0,"grid":{"cluster.nodes":8,"parallelism.tp":5,"parallelism.pp":1},"scenario":`)) || !bytes.Contains(line, []byte(`"feasible":false`)) {
		t.Errorf("line: %s", line)
	}
	good := s.Evaluate(1, nil)
	if !good.Feasible() || good.Report.GPUs != 64 || good.Report.Layout.TP != 8 {
		t.Fatalf("tp=8: %+v %s", good.Report, good.Reason)
	}
}

// TestShardPartition: the shards of a grid are disjoint and cover it.
func TestShardPartition(t *testing.T) {
	for total := range 23 {
		for shards := 1; shards <= 7; shards++ {
			seen := make([]int, total)
			for idx := range shards {
				if err := CheckShard(idx, shards); err != nil {
					t.Fatal(err)
				}
				prev := -1
				for _, p := range Shard(total, idx, shards) {
					if p%shards != idx || p <= prev {
						t.Fatalf("total %d shard %d/%d: point %d out of place", total, idx, shards, p)
					}
					prev = p
					seen[p]++
				}
			}
			for p, n := range seen {
				if n != 1 {
					t.Fatalf("total %d, %d shards: point %d in %d shards", total, shards, p, n)
				}
			}
		}
	}
	for _, c := range [][2]int{{-1, 4}, {4, 4}, {0, 0}, {1, -2}} {
		if CheckShard(c[0], c[1]) == nil {
			t.Errorf("CheckShard(%d, %d) accepted", c[0], c[1])
		}
	}
}

// evaluateAll runs the sweep as the command does and returns the JSONL.
func evaluateAll(t *testing.T, s *Sweep, points []int, workers int) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := Run(slices.Values(points), workers, func(i int) Record { return s.Evaluate(i, nil) }, func(r Record) error {
		line, err := r.MarshalLine()
		buf.Write(line)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func allPoints(s *Sweep) []int { return Shard(s.Len(), 0, 1) }

// TestDeterministic: the same sweep twice, and on 1 or 4 workers, gives
// byte-identical results.
func TestDeterministic(t *testing.T) {
	s := mustParse(t, small)
	a := evaluateAll(t, s, allPoints(s), 1)
	b := evaluateAll(t, s, allPoints(s), 4)
	c := evaluateAll(t, mustParse(t, small), allPoints(s), 4)
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatalf("results differ:\n%s\n%s", a, b)
	}
	if n := bytes.Count(a, []byte{'\n'}); n != 4 {
		t.Fatalf("%d lines, want 4", n)
	}
}

// TestRunOrder: records come out in point order whatever order the workers
// finish in, and Run stops at emit's first error.
func TestRunOrder(t *testing.T) {
	points := []int{3, 5, 7, 9, 11, 13, 15, 17, 19, 21}
	r := rand.New(rand.NewPCG(1, 2))
	delay := make(map[int]time.Duration)
	for _, p := range points {
		delay[p] = time.Duration(r.IntN(3000)) * time.Microsecond
	}
	var got []int
	err := Run(slices.Values(points), 4, func(i int) Record { time.Sleep(delay[i]); return Record{Point: i} }, func(rec Record) error {
		got = append(got, rec.Point)
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, points) {
		t.Fatalf("got %v (%v), want %v", got, err, points)
	}
	boom := errors.New("disk full")
	n := 0
	err = Run(slices.Values(points), 3, func(i int) Record { return Record{Point: i} }, func(Record) error {
		n++
		if n == 4 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 4 {
		t.Fatalf("after a failed emit: %v, %d emitted", err, n)
	}
}

// TestJournalResume: a results file is read back line by line; a truncated
// last line is left out and the points after it are what a rerun computes,
// giving the same bytes as a run that was never stopped.
func TestJournalResume(t *testing.T) {
	s := mustParse(t, small)
	full := evaluateAll(t, s, allPoints(s), 2)
	lines := bytes.SplitAfter(full, []byte{'\n'})
	cut := len(lines[0]) + len(lines[1]) + 17 // two lines and part of the third
	j, err := ReadJournal(full[:cut])
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Records) != 2 || j.Complete != len(lines[0])+len(lines[1]) || !j.Truncated(full[:cut]) {
		t.Fatalf("%d records, complete %d", len(j.Records), j.Complete)
	}
	done := map[int]bool{}
	for _, r := range j.Records {
		done[r.Point] = true
	}
	var todo []int
	for _, p := range allPoints(s) {
		if !done[p] {
			todo = append(todo, p)
		}
	}
	resumed := append(append([]byte(nil), full[:j.Complete]...), evaluateAll(t, s, todo, 3)...)
	if !bytes.Equal(resumed, full) {
		t.Fatalf("resumed run differs from a whole one")
	}
	if _, err := ReadJournal([]byte("{\"point\":0}\nnot json\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad complete line: %v", err)
	}
}

// TestLineRoundTrip: a line read back and written again is the same bytes,
// for a report and for an invalid point; the CSV of the read-back records
// is the CSV of the originals.
func TestLineRoundTrip(t *testing.T) {
	s := mustParse(t, small+`"parallelism.tp" = [8, 3]
"training.tokens" = [2.0, 1e+06]
`)
	var orig, back []Record
	for _, i := range []int{0, 1, 2, 3} {
		r := s.Evaluate(i, nil)
		line, err := r.MarshalLine()
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseLine(bytes.TrimSuffix(line, []byte{'\n'}))
		if err != nil {
			t.Fatal(err)
		}
		p.line = nil // make MarshalLine encode it again
		again, err := p.MarshalLine()
		if err != nil || !bytes.Equal(line, again) {
			t.Errorf("point %d:\n%s\n%s", i, line, again)
		}
		orig, back = append(orig, r), append(back, p)
	}
	if orig[2].Report != nil || orig[0].Report == nil {
		t.Fatalf("tp=3 should be invalid, tp=8 valid")
	}
	var a, b bytes.Buffer
	if err := WriteCSV(&a, s.Keys(), orig); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&b, s.Keys(), back); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("CSV differs:\n%s\n%s", a.String(), b.String())
	}
	head := strings.SplitN(a.String(), "\n", 2)[0]
	if !strings.HasPrefix(head, "scenario,model,") || !strings.HasSuffix(head, ",bottleneck,straggler_slowdown,job_p50_s,job_p90_s,job_p99_s,goodput,interruptions,gpu_hours,nodes,zero,sequence_parallel,virtual_stages,cluster.nodes,parallelism.pp,parallelism.tp,training.tokens") {
		t.Errorf("CSV header: %s", head)
	}
	if row := strings.Split(a.String(), "\n")[2]; !strings.HasSuffix(row, ",8,1,8,1e+06") {
		t.Errorf("CSV row of point 1: %s", row)
	}
}

// TestMerge: shards joined in point order, a duplicate dropped, missing
// points listed (a truncated line counts as missing).
func TestMerge(t *testing.T) {
	s := mustParse(t, small+`"parallelism.microbatch" = [1, 2]
`)
	shard0 := evaluateAll(t, s, Shard(s.Len(), 0, 3), 2)
	shard1 := evaluateAll(t, s, Shard(s.Len(), 1, 3), 2)
	// Shard 2 stopped during its second line; point 2 was also computed by
	// an earlier unsharded run that got no further.
	shard2 := evaluateAll(t, s, Shard(s.Len(), 2, 3), 2)
	l := bytes.SplitAfter(shard2, []byte{'\n'})
	shard2 = shard2[:len(l[0])+10]
	early := evaluateAll(t, s, []int{0, 1, 2}, 1)
	m, err := Merge(s.Len(), []File{{"results-shard-0-of-3.jsonl", shard0}, {"results-shard-1-of-3.jsonl", shard1}, {"results-shard-2-of-3.jsonl", shard2}, {"results.jsonl", early}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Duplicates != 3 {
		t.Errorf("%d duplicates, want 3", m.Duplicates)
	}
	if !reflect.DeepEqual(m.Missing, []int{5}) {
		t.Errorf("missing %v, want [5]", m.Missing)
	}
	if !reflect.DeepEqual(m.Truncated, []string{"results-shard-2-of-3.jsonl"}) {
		t.Errorf("truncated %v", m.Truncated)
	}
	var got bytes.Buffer
	if err := WriteJSONL(&got, m.Records); err != nil {
		t.Fatal(err)
	}
	whole := evaluateAll(t, s, allPoints(s), 4)
	wl := bytes.SplitAfter(whole, []byte{'\n'})
	want := bytes.Join(append(append([][]byte(nil), wl[:5]...), wl[6:]...), nil)
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("merged:\n%s\nwant:\n%s", got.Bytes(), want)
	}
	if _, err := Merge(2, []File{{"x.jsonl", shard1}}); err == nil {
		t.Error("a point outside the sweep was accepted")
	}
}

// TestBest: feasible points only, by objective, ties by point index.
func TestBest(t *testing.T) {
	rec := func(p int, step, hours float64, ok bool) Record {
		return Record{Point: p, Report: &report.Report{Feasible: ok, StepTimeS: step, GPUHours: hours, Tokens: 1}}
	}
	recs := []Record{rec(0, 3, 10, true), rec(1, 1, 30, false), rec(2, 2, 10, true), rec(3, 2, 5, true), {Point: 4, Reason: "invalid"}}
	points := func(rs []Record) []int {
		var ps []int
		for _, r := range rs {
			ps = append(ps, r.Point)
		}
		return ps
	}
	if got := points(Best(recs, StepTime, 0)); !reflect.DeepEqual(got, []int{2, 3, 0}) {
		t.Errorf("by step time: %v", got)
	}
	if got := points(Best(recs, Cost, 2)); !reflect.DeepEqual(got, []int{3, 0}) {
		t.Errorf("by cost, keep 2: %v", got)
	}
	if got := points(Output(recs, StepTime, 0)); !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("output without keep: %v", got)
	}
}

// TestParseErrors: bad sweep files are refused with every problem, each
// placed at its line.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"no grid", "base = \"b.toml\"\n", []string{"sweeps/test.toml: grid: missing"}},
		{"empty grid", "base = \"b.toml\"\n[grid]\n", []string{"sweeps/test.toml:2: grid: empty"}},
		{"grid not a table", "base = \"b.toml\"\ngrid = 4\n", []string{"sweeps/test.toml:2: grid: want a table"}},
		{"not an array", "base = \"b.toml\"\n[grid]\n\"cluster.nodes\" = 8\n", []string{"sweeps/test.toml:3: cluster.nodes: want an array of values"}},
		{"empty array", "base = \"b.toml\"\n[grid]\n\"cluster.nodes\" = []\n", []string{"sweeps/test.toml:3: cluster.nodes: empty array"}},
		{"table value", "base = \"b.toml\"\n[grid]\n\"cluster.nodes\" = [{a = 1}]\n", []string{"sweeps/test.toml:3: cluster.nodes: value 1: want an integer"}},
		{"repeated value", "base = \"b.toml\"\n[grid]\n\"cluster.nodes\" = [8, 16, 8]\n", []string{"sweeps/test.toml:3: cluster.nodes: value 3 (8) repeats value 1"}},
		{"twice", "base = \"b.toml\"\n[grid]\n\"parallelism.tp\" = [8]\nparallelism.tp = [4]\n", []string{"sweeps/test.toml:4: parallelism.tp: set twice in [grid] (first on line 3)"}},
		{"unknown grid key", "base = \"b.toml\"\n[grid]\n\"parallelism.tpp\" = [4, 8]\n", []string{`sweeps/test.toml:3: parallelism.tpp: unknown key; did you mean "tp"?`}},
		{"grid key is a table", "base = \"b.toml\"\n[grid]\n\"cluster\" = [4]\n", []string{"sweeps/test.toml:3: cluster: want a table"}},
		{"wrong kind of value", "base = \"b.toml\"\n[grid]\n\"cluster.nodes\" = [8, \"16\"]\n", []string{`sweeps/test.toml:3: cluster.nodes: value 2 ("16"): want an integer, got the string "16"`}},
		{"unknown preset in grid", "base = \"b.toml\"\n[grid]\n\"model.preset\" = [\"gpt-1.7b\", \"gpt-17b\"]\n", []string{`sweeps/test.toml:3: model.preset: value 2 ("gpt-17b"): no built-in model called "gpt-17b"`}},
		{"unknown top-level key", "base = \"b.toml\"\n[gird]\n\"cluster.nodes\" = [8]\n", []string{`sweeps/test.toml:2: gird: unknown key; did you mean "grid"?`, "grid: missing"}},
		{"unknown inline key", "base = \"b.toml\"\n[model]\npreset = \"gpt-1.7b\"\nlayerz = 4\n[grid]\n\"cluster.nodes\" = [8]\n", []string{`sweeps/test.toml:4: model.layerz: unknown key; did you mean "layers"?`}},
		{"wrong kind inline", "base = \"b.toml\"\n[cluster]\nnodes = \"8\"\n[grid]\n\"parallelism.tp\" = [8]\n", []string{`sweeps/test.toml:3: cluster.nodes: want an integer`}},
		{"job table", "base = \"b.toml\"\n[job]\nruns = \"10\"\n[grid]\n\"parallelism.tp\" = [8]\n", []string{`sweeps/test.toml:3: job.runs: want an integer`}},
		{"bad objective", "base = \"b.toml\"\n[grid]\n\"cluster.nodes\" = [8]\n[search]\nobjective = \"speed\"\nkeep = 0\nkept = 3\n", []string{`sweeps/test.toml:5: search.objective: want "step_time_s" or "cost"`, "sweeps/test.toml:6: search.keep: want a positive integer", `sweeps/test.toml:7: search.kept: unknown key; did you mean "keep"?`}},
		{"base not a string", "base = 3\n[grid]\n\"cluster.nodes\" = [8]\n", []string{"sweeps/test.toml:1: base: want the path of a scenario file"}},
		{"syntax", "base = \"b.toml\"\n[grid\n", []string{"sweeps/test.toml:3: invalid TOML: expected"}},
		// An integer past 64 bits names its key (and the seed's range).
		{"seed past int64", "base = \"b.toml\"\n[grid]\nseed = [9223372036854775808]\n", []string{"sweeps/test.toml:3: seed: must be an integer from 0 to 9223372036854775807 (2^63 − 1), got 9223372036854775808"}},
		{"count past int64", "base = \"b.toml\"\n[grid]\n\"cluster.nodes\" = [99999999999999999999]\n", []string{"sweeps/test.toml:3: cluster.nodes: 99999999999999999999 is past TOML's 64-bit integers"}},
		{"no base, missing keys", "[model]\npreset = \"gpt-1.7b\"\n[grid]\n\"cluster.nodes\" = [8]\n", []string{"sweeps/test.toml: cluster.gpus_per_node: required", "sweeps/test.toml: training.global_batch: required"}},
		{"every problem at once", "base = \"b.toml\"\n[modle]\npreset = \"gpt-1.7b\"\n[grid]\n\"parallelism.tpp\" = [4, 8]\n\"cluster.nodes\" = 8\n\"parallelism.pp\" = [1, \"2\"]\n[search]\nobjective = \"speed\"\n", []string{
			"sweeps/test.toml:2: modle: unknown key; did you mean \"model\"?\n" +
				"sweeps/test.toml:5: parallelism.tpp: unknown key; did you mean \"tp\"?\n" +
				"sweeps/test.toml:6: cluster.nodes: want an array of values, e.g. [4, 8], got the integer 8\n" +
				"sweeps/test.toml:7: parallelism.pp: value 2 (\"2\"): want an integer, got the string \"2\"\n" +
				"sweeps/test.toml:9: search.objective: want \"step_time_s\" or \"cost\", got the string \"speed\""}},
		{"bad --set", "base = \"b.toml\"\n[grid]\n\"cluster.nodes\" = [8]\n", []string{"--set: parallelism.tpp: unknown key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sets []string
			if tc.name == "bad --set" {
				sets = []string{"parallelism.tpp=2"}
			}
			_, err := Parse(Input{File: "sweeps/test.toml", Src: []byte(tc.src), ReadBase: readDefault, Sets: sets})
			if err == nil {
				t.Fatal("accepted")
			}
			var list scenario.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("not an ErrorList: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("lacks %q:\n%s", w, err)
				}
			}
		})
	}
	// A base that cannot be read is reported at the base key, with the
	// path joined to the sweep file's directory.
	_, err := Parse(Input{File: "sweeps/test.toml", Src: []byte("\nbase = \"b.toml\"\n[grid]\n\"cluster.nodes\" = [8]\n"),
		ReadBase: func(path string) ([]byte, error) { return nil, fmt.Errorf("open %s: no such file", path) }})
	if want := "sweeps/test.toml:2: base: open " + filepath.Join("sweeps", "b.toml") + ": no such file"; err == nil || err.Error() != want {
		t.Errorf("unreadable base: %v, want %s", err, want)
	}
}

// TestCombinationsAreNotErrors: values that only fail in some combinations
// (TP 5 here) pass Parse; their points are recorded as infeasible.
func TestCombinationsAreNotErrors(t *testing.T) {
	s := mustParse(t, small+`"parallelism.tp" = [5, 8]
`)
	if s.Len() != 8 {
		t.Fatal(s.Len())
	}
}

// TestExampleFile parses the example in testdata against the real base.
func TestExampleFile(t *testing.T) {
	name := filepath.Join("testdata", "example.toml")
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(Input{File: name, Src: src, ReadBase: os.ReadFile})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 54 || s.Objective != Cost || s.Keep != 5 || s.Base != filepath.Join("..", "scenarios", "gpt3-175b.toml") {
		t.Errorf("example: %d points, objective %s, keep %d, base %s", s.Len(), s.Objective, s.Keep, s.Base)
	}
}

// TestSlurmTestFile parses the sweep .ci/slurm-test.sh runs (4 shards of 6
// points), so that it keeps up with the scenario's keys without Slurm.
func TestSlurmTestFile(t *testing.T) {
	name := filepath.Join("testdata", "slurm.toml")
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(Input{File: name, Src: src, ReadBase: os.ReadFile})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 24 || s.Objective != Cost || s.Keep != 5 {
		t.Errorf("slurm.toml: %d points, objective %s, keep %d", s.Len(), s.Objective, s.Keep)
	}
}

// BenchmarkExample evaluates every point of the example sweep on all CPUs.
func BenchmarkExample(b *testing.B) {
	name := filepath.Join("testdata", "example.toml")
	src, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	s, err := Parse(Input{File: name, Src: src, ReadBase: os.ReadFile})
	if err != nil {
		b.Fatal(err)
	}
	points := Shard(s.Len(), 0, 1)
	start := time.Now()
	for b.Loop() {
		_ = Run(slices.Values(points), runtime.NumCPU(), func(i int) Record { return s.Evaluate(i, nil) }, func(Record) error { return nil })
	}
	b.ReportMetric(float64(b.N*len(points))/time.Since(start).Seconds(), "points/s")
}

func TestListPoints(t *testing.T) {
	for _, tc := range []struct {
		pts   []int
		limit int
		want  string
	}{
		{nil, 3, ""},
		{[]int{4, 7}, 3, "4, 7"},
		{[]int{1, 2, 3}, 3, "1, 2, 3"},
		{[]int{1, 2, 3, 9, 12}, 3, "1, 2, 3, … (2 more)"},
	} {
		if got := ListPoints(tc.pts, tc.limit); got != tc.want {
			t.Errorf("ListPoints(%v, %d) = %q, want %q", tc.pts, tc.limit, got, tc.want)
		}
	}
}

// TestShardPointsStream: a shard of a 2³⁰-point grid is enumerated without
// a slice of its points — the first few come at once, with next to no
// allocation — and ShardLen counts what ShardPoints yields.
func TestShardPointsStream(t *testing.T) {
	const total = 1 << 30
	allocs := testing.AllocsPerRun(1, func() {
		n := 0
		for p := range ShardPoints(total, 1, 3) {
			if n++; n == 1000 {
				break
			}
			_ = p
		}
	})
	if allocs > 10 {
		t.Fatalf("%v allocations for 1000 points of a 2^30 grid", allocs)
	}
	for _, c := range [][3]int{{10, 0, 1}, {10, 3, 4}, {10, 9, 4}, {3, 5, 8}, {total, 2, 7}} {
		if c[0] > 100 {
			if got, want := ShardLen(c[0], c[1], c[2]), (c[0]-c[1]+c[2]-1)/c[2]; got != want {
				t.Errorf("ShardLen%v = %d, want %d", c, got, want)
			}
			continue
		}
		if got, want := ShardLen(c[0], c[1], c[2]), len(Shard(c[0], c[1], c[2])); got != want {
			t.Errorf("ShardLen%v = %d, want %d", c, got, want)
		}
	}
	// Run draws from the sequence as it goes: stopping after 5 records
	// evaluates a handful of points, not the grid.
	evaluated := 0
	var mu sync.Mutex
	stop := errors.New("stop")
	emitted := 0
	err := Run(ShardPoints(total, 0, 1), 2, func(i int) Record {
		mu.Lock()
		evaluated++
		mu.Unlock()
		return Record{Point: i}
	}, func(Record) error {
		if emitted++; emitted == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || evaluated > 20 {
		t.Fatalf("Run: %v after %d evaluations", err, evaluated)
	}
}

// TestBuiltinBase: base = "default" is the embedded default scenario, read
// without the file system; its points run as a sweep over a copy of the
// default's file would, and are named after what they replay.
func TestBuiltinBase(t *testing.T) {
	noFiles := func(path string) ([]byte, error) { return nil, fmt.Errorf("open %s: no such file", path) }
	src := "base = \"default\"\n[grid]\n\"cluster.nodes\" = [64, 128]\n"
	s, err := Parse(Input{File: "sweeps/test.toml", Src: []byte(src), ReadBase: noFiles})
	if err != nil {
		t.Fatal(err)
	}
	name, _ := scenarios.Default()
	if s.Base != name {
		t.Errorf("Base %q, want %q", s.Base, name)
	}
	for i, want := range []string{"gpt3-175b, 512 x a100-80gb", "gpt3-175b, 1024 x a100-80gb"} {
		sc, err := s.Load(i)
		if err != nil {
			t.Fatalf("point %d: %v", i, err)
		}
		if sc.Name != want || sc.Job.Layout.TP != 8 || sc.Job.Layout.PP != 16 {
			t.Errorf("point %d: %q, tp %d, pp %d; want %q, the default's TP 8 PP 16", i, sc.Name, sc.Job.Layout.TP, sc.Job.Layout.PP, want)
		}
	}
	// A relative file a point names resolves against the working directory,
	// as sim run resolves the default's.
	if got := s.Path("calibration.file", "calib.toml", name); got != "calib.toml" {
		t.Errorf("calibration.file of the built-in base resolves to %q", got)
	}
	// A file called default is written ./default.
	_, err = Parse(Input{File: "sweeps/test.toml", Src: []byte("base = \"./default\"\n[grid]\n\"cluster.nodes\" = [64]\n"), ReadBase: noFiles})
	if err == nil || !strings.Contains(err.Error(), "sweeps/default") {
		t.Errorf("base ./default: %v, want the file sweeps/default", err)
	}
}

// TestCSVColumns: the sweep CSV carries each point's GPU-hours, nodes, ZeRO
// stage, sequence parallelism and virtual stages, as its report has them.
func TestCSVColumns(t *testing.T) {
	s := mustParse(t, `base = "gpt3-175b.toml"
[model]
preset = "gpt-1.7b"
[parallelism]
zero = 1
sequence_parallel = true
schedule = "interleaved"
[training]
global_batch = 256
[grid]
"cluster.nodes" = [8, 16]
"parallelism.pp" = [2]
`)
	var recs []Record
	for i := range s.Len() {
		recs = append(recs, s.Evaluate(i, nil))
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s.Keys(), recs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, r := range recs {
		if r.Report == nil {
			t.Fatalf("point %d: %s", i, r.Reason)
		}
		row := rows[i+1]
		want := map[string]string{
			"gpu_hours": units.Number(r.Report.GPUHours), "nodes": []string{"8", "16"}[i],
			"zero": "1", "sequence_parallel": "true", "virtual_stages": "2", "cluster.nodes": []string{"8", "16"}[i],
		}
		for k, v := range want {
			c, ok := col[k]
			if !ok {
				t.Fatalf("no column %s in %v", k, rows[0])
			}
			if row[c] != v {
				t.Errorf("point %d: %s = %q, want %q", i, k, row[c], v)
			}
		}
		if r.Report.GPUHours <= 0 {
			t.Errorf("point %d: gpu_hours %g", i, r.Report.GPUHours)
		}
	}
}

// scratchSweep varies what changes a replay's size (nodes, pipeline depth,
// micro-batch, schedule), so that a worker's reused arrays hold a larger or
// smaller previous replay.
const scratchSweep = small + `"parallelism.microbatch" = [1, 2]
"parallelism.schedule" = ["1f1b", "interleaved"]
"parallelism.virtual_stages" = [1, 2]
`

// evaluateScratch is evaluateAll with each worker replaying on a
// parallelism.Scratch of its own, as `sim sweep` does.
func evaluateScratch(t *testing.T, s *Sweep, points []int, workers int) []byte {
	t.Helper()
	var buf bytes.Buffer
	scratch := make([]parallelism.Scratch, workers)
	err := RunWorkers(slices.Values(points), workers, func(w, i int) Record { return s.EvaluateWith(i, nil, &scratch[w]) }, func(r Record) error {
		line, err := r.MarshalLine()
		buf.Write(line)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestScratchReuse: replaying with each worker's reused arrays gives the
// bytes fresh arrays give, on 1, 2 or 3 workers and with GOMAXPROCS 1 or 2;
// points are also taken in a shuffled order, so that each worker's previous
// replay differs.
func TestScratchReuse(t *testing.T) {
	s := mustParse(t, scratchSweep)
	points := allPoints(s)
	want := evaluateAll(t, s, points, 1)
	if n := bytes.Count(want, []byte(`"step_time_s"`)); n < 8 {
		t.Fatalf("only %d of %d points replayed", n, len(points))
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for _, w := range []int{1, 2, 3} {
			if got := evaluateScratch(t, s, points, w); !bytes.Equal(got, want) {
				t.Fatalf("GOMAXPROCS %d, %d workers: records differ from fresh replays", procs, w)
			}
		}
	}
	shuffled := slices.Clone(points)
	rand.New(rand.NewPCG(5, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got, fresh := evaluateScratch(t, s, shuffled, 2), evaluateAll(t, s, shuffled, 1); !bytes.Equal(got, fresh) {
		t.Fatal("shuffled points: records differ from fresh replays")
	}
}

// BenchmarkSweepFresh and BenchmarkSweepScratch evaluate the 32 points of
// scratchSweep (GPT 1.7B, some refused) on one worker with fresh arrays per
// replay or one reused Scratch:
// go test -run=^$ -bench=Sweep -benchmem -cpu 1 ./sweep/
func BenchmarkSweepFresh(b *testing.B) {
	s, err := Parse(Input{File: "sweeps/test.toml", Src: []byte(scratchSweep), ReadBase: readDefault})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, i := range allPoints(s) {
			s.Evaluate(i, nil)
		}
	}
}

func BenchmarkSweepScratch(b *testing.B) {
	s, err := Parse(Input{File: "sweeps/test.toml", Src: []byte(scratchSweep), ReadBase: readDefault})
	if err != nil {
		b.Fatal(err)
	}
	var scratch parallelism.Scratch
	for b.Loop() {
		for _, i := range allPoints(s) {
			s.EvaluateWith(i, nil, &scratch)
		}
	}
}

// TestRunAheadBounded: while the first point is slow, the other workers go
// on only as far as the run-ahead window, so the records held back for
// reordering stay bounded (they used to pile up without limit).
func TestRunAheadBounded(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		var mu sync.Mutex
		evaluated, mostAhead := 0, 0
		emitted := 0
		err := Run(ShardPoints(1<<20, 0, 1), workers, func(i int) Record {
			if i == 0 {
				time.Sleep(20 * time.Millisecond)
			}
			mu.Lock()
			evaluated++
			mu.Unlock()
			return Record{Point: i}
		}, func(r Record) error {
			mu.Lock()
			mostAhead = max(mostAhead, evaluated-emitted)
			mu.Unlock()
			if emitted++; emitted == 100 {
				return errStopTest
			}
			return nil
		})
		if !errors.Is(err, errStopTest) {
			t.Fatalf("workers %d: %v", workers, err)
		}
		if limit := 4 * workers; mostAhead > limit { // runAhead's documented window
			t.Errorf("workers %d: %d records evaluated ahead of the output, limit %d", workers, mostAhead, limit)
		}
	}
}

var errStopTest = errors.New("stop")
