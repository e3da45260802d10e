package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reportFiles reads every file of a report folder by name.
func reportFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		files[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
	}
	return files
}

// checkPNGs checks that the named PNGs exist and decode.
func checkPNGs(t *testing.T, files map[string][]byte, names ...string) {
	t.Helper()
	for _, n := range names {
		data, ok := files[n]
		if !ok {
			t.Errorf("no %s", n)
			continue
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// TestReportRun: a run's JSON report becomes report.md and three PNGs in
// NAME-report beside it (the step, every stage, memory, links); a second report is byte-identical.
func TestReportRun(t *testing.T) {
	dir := t.TempDir()
	rj := filepath.Join(dir, "r.json")
	if code, _, errs := runCLI(t, "run", "--format", "json", "-o", rj, "--set", "model.preset=gpt-1.7b", "--set", "cluster.nodes=2", "--set", "parallelism.pp=2", "--set", "training.global_batch=64"); code != 0 {
		t.Fatalf("sim run: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, "report", rj)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := filepath.Join(dir, "r-report")
	if !strings.Contains(out, filepath.Join(want, "report.md")) || !strings.Contains(out, "4 PNG files") {
		t.Errorf("stdout:\n%s", out)
	}
	first := reportFiles(t, want)
	checkPNGs(t, first, "step.png", "stages.png", "memory.png", "links.png")
	md := string(first["report.md"])
	for _, s := range []string{"# Run report: gpt-1.7b, 16 x a100-80gb", "Layout: TP 8 × PP 2 × DP 1", "| step time |", "![Where the", "](step.png)", "](memory.png)", "](links.png)", "## Communication per GPU per step", "**Bottleneck: ", "**Would help:** "} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q:\n%s", s, md)
		}
	}
	if code, _, errs := runCLI(t, "report", rj, "-o", filepath.Join(dir, "again")); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	second := reportFiles(t, filepath.Join(dir, "again"))
	if len(second) != len(first) {
		t.Fatalf("%d files, then %d", len(first), len(second))
	}
	for name, data := range first {
		if !bytes.Equal(data, second[name]) {
			t.Errorf("%s differs between two reports of the same run", name)
		}
	}
}

// TestReportSweep: a sweep directory (results.jsonl with its manifest)
// and a single JSONL file both give a sweep report; --format html writes
// report.html.
func TestReportSweep(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	results := filepath.Join(dir, "small")
	sweepOK(t, "sweep", smallSweep, "--out", results)

	for _, tc := range []struct {
		name   string
		args   []string
		page   string
		has    []string
		pngs   []string
		outDir string
	}{
		{"directory", []string{"report", results}, "report.md",
			[]string{"# Sweep report: ", "**Source:** small/results.jsonl: 8 points (8 of the grid's 8 points)", "Feasible: 4 of 8 points.", "| parallelism.dp | 4 | 0, 2, 4, 6 |", "](pareto.png)"},
			[]string{"step-vs-gpus.png", "mfu-vs-gpus.png", "pareto.png", "best-cluster-nodes.png"}, filepath.Join(dir, "small-report")},
		{"one file, html, top 2", []string{"report", filepath.Join(results, "results.jsonl"), "--format", "html", "-o", filepath.Join(dir, "h"), "--top", "2"}, "report.html",
			[]string{"<!DOCTYPE html>", "The 2 best by step time", `<img src="pareto.png"`},
			[]string{"pareto.png"}, filepath.Join(dir, "h")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			files := reportFiles(t, tc.outDir)
			page := string(files[tc.page])
			for _, s := range tc.has {
				if !strings.Contains(page, s) {
					t.Errorf("%s lacks %q:\n%s", tc.page, s, page)
				}
			}
			checkPNGs(t, files, tc.pngs...)
		})
	}

	// A merged directory reports merged.jsonl, not the shards.
	sh := filepath.Join(dir, "sh")
	for _, i := range []string{"0", "1"} {
		sweepOK(t, "sweep", smallSweep, "--out", sh, "--shards", "2", "--shard-index", i)
	}
	if code, _, errs := runCLI(t, "sweep", "merge", sh); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "report", sh, "-o", filepath.Join(dir, "shr")); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if md := string(readFile(t, filepath.Join(dir, "shr", "report.md"))); !strings.Contains(md, "sh/merged.jsonl: 8 points") {
		t.Errorf("merged report:\n%s", md)
	}
}

// TestReportErrors: bad input exits 2 naming the file and what is wrong.
func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := filepath.Join(dir, "empty-dir")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	badManifest := filepath.Join(dir, "bad-manifest")
	if err := os.Mkdir(badManifest, 0o755); err != nil {
		t.Fatal(err)
	}
	write("bad-manifest/sweep.json", `{"points": 0}`)
	write("bad-manifest/results.jsonl", `{"point":0}`+"\n")
	noRecords := filepath.Join(dir, "no-records")
	if err := os.Mkdir(noRecords, 0o755); err != nil {
		t.Fatal(err)
	}
	write("no-records/results-shard-0-of-2.jsonl", "")
	write("no-records/results-shard-1-of-2.jsonl", "\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing", []string{"report", filepath.Join(dir, "nope.json")}, "nope.json: stat"},
		{"not JSON", []string{"report", write("r.csv", "scenario,gpus\n")}, "r.csv: not JSON: line 1:"},
		{"unknown format", []string{"report", write("o.json", `{"name": "x"}`)}, "o.json: unknown format: a JSON object without step_time_s or point"},
		{"empty file", []string{"report", write("e.jsonl", "")}, "e.jsonl: empty file: no report and no records"},
		{"no records", []string{"report", noRecords}, "no records in " + filepath.Join(noRecords, "results-shard-0-of-2.jsonl") + ", " + filepath.Join(noRecords, "results-shard-1-of-2.jsonl")},
		{"bad line", []string{"report", write("b.jsonl", "{\"point\":0}\n{\"x\":1}\n")}, "b.jsonl: line 2: not a result: no point index"},
		{"bad report", []string{"report", write("g.json", `{"scenario":"x","gpus":0,"feasible":true,"step_time_s":1}`)}, "g.json: gpus: want a positive count, got 0"},
		{"no results in a directory", []string{"report", empty}, "empty-dir: no merged.jsonl and no results*.jsonl"},
		{"bad manifest", []string{"report", badManifest}, "sweep.json: not a sweep manifest"},
		{"bad format", []string{"report", write("ok.jsonl", "{\"point\":0}\n"), "--format", "pdf"}, `--format: "pdf" is not a format (allowed: markdown, html)`},
		{"bad top", []string{"report", write("ok2.jsonl", "{\"point\":0}\n"), "--top", "0"}, "--top: want at least 1, got 0"},
		{"two arguments", []string{"report", "a.json", "b.json"}, "accepts at most 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tc.args...)
			if code != exitBadInput || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
		})
	}
}

func TestDefaultReportDir(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"r.json":               "r-report",
		"/tmp/x/r.json":        "/tmp/x/r-report",
		"/tmp/sweep-13b/":      "/tmp/sweep-13b-report",
		"out/merged.jsonl":     "out/merged-report",
		"results":              "results-report",
		".hidden":              ".hidden-report",
		".":                    filepath.Join(filepath.Dir(wd), filepath.Base(wd)+"-report"),
		"/tmp/a.b/results.old": "/tmp/a.b/results-report",
	} {
		if got := defaultReportDir(in); got != want {
			t.Errorf("defaultReportDir(%q) = %q, want %q", in, got, want)
		}
	}
}
