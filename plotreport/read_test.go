package plotreport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trainsim/sweep"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSniff(t *testing.T) {
	run := readTestdata(t, "run.json")
	jsonl := readTestdata(t, "sweep.jsonl")
	firstLine := jsonl[:strings.IndexByte(string(jsonl), '\n')+1]
	for _, tc := range []struct {
		name string
		data string
		want Kind
		err  string
	}{
		{"run report", string(run), RunReport, ""},
		{"sweep JSONL", string(jsonl), SweepResults, ""},
		{"one JSONL line", string(firstLine), SweepResults, ""},
		{"two reports", string(run) + string(run), SweepResults, ""},
		{"empty", " \n\t", 0, "empty file: no report and no records"},
		{"not JSON", "scenario,gpus\nx,8\n", 0, "not JSON: line 1: invalid character 's'"},
		{"broken on line 3", "{\n\"a\": 1,\n\"b\" 2}", 0, "not JSON: line 3: invalid character '2' after object key"},
		{"array", "[1, 2]", 0, "unknown format: the file holds an array, not a JSON object"},
		{"number", "42", 0, "unknown format: the file holds a number"},
		{"other object", `{"name": "x"}`, 0, "unknown format: a JSON object without step_time_s or point; want the report of `sim run --format json`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Sniff([]byte(tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || k != tc.want {
				t.Fatalf("kind %v, error %v; want %v", k, err, tc.want)
			}
		})
	}
}

func TestReadRun(t *testing.T) {
	rep, err := ReadRun(readTestdata(t, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.GPUs != 1024 || rep.Layout.PP != 16 || rep.Comm["tp"].Bytes == 0 || len(rep.Links) != 2 {
		t.Errorf("read %d GPUs, PP %d, tp bytes %g, %d link tiers", rep.GPUs, rep.Layout.PP, rep.Comm["tp"].Bytes, len(rep.Links))
	}
	for _, tc := range []struct{ name, data, err string }{
		{"missing fields", `{"scenario": "x", "gpus": 8}`, "unknown format: no feasible, step_time_s"},
		{"wrong type", `{"scenario": "x", "gpus": "eight", "feasible": true, "step_time_s": 1}`, "gpus: want int, got a JSON string"},
		{"no GPUs", `{"scenario": "x", "gpus": 0, "feasible": true, "step_time_s": 1}`, "gpus: want a positive count, got 0"},
		{"negative step", `{"scenario": "x", "gpus": 8, "feasible": true, "step_time_s": -1}`, "step_time_s: want a non-negative number"},
		{"not JSON", `{"scenario": `, "not JSON"},
		{"array", `[]`, "unknown format: the file holds an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRun([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestReadSweep(t *testing.T) {
	data := readTestdata(t, "sweep.jsonl")
	lines := strings.SplitAfter(string(data), "\n")
	file := func(name string, ls ...string) sweep.File {
		return sweep.File{Name: name, Data: []byte(strings.Join(ls, ""))}
	}

	t.Run("one file", func(t *testing.T) {
		s, err := ReadSweep([]sweep.File{file("r.jsonl", lines...)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Records) != 12 || s.Duplicates != 0 || s.Points != 0 || s.Objective != sweep.StepTime || len(s.Notes) != 0 {
			t.Errorf("%d records, %d duplicates, %d points, %s, notes %q", len(s.Records), s.Duplicates, s.Points, s.Objective, s.Notes)
		}
		if got := strings.Join(s.Keys, " "); got != "cluster.nodes parallelism.tp parallelism.recompute" {
			t.Errorf("keys %q", got)
		}
	})

	t.Run("shards with a manifest", func(t *testing.T) {
		// Shard 1 holds the odd points and, again, point 2; the last line of
		// shard 0 lacks its newline but is complete; point 10 is missing.
		var even, odd []string
		for i, l := range lines[:10] {
			if i%2 == 0 {
				even = append(even, l)
			} else {
				odd = append(odd, l)
			}
		}
		odd = append(odd, lines[2], lines[11])
		even[len(even)-1] = strings.TrimSuffix(even[len(even)-1], "\n")
		m := &sweep.Manifest{Points: 12, Keys: []string{"cluster.nodes", "parallelism.tp", "parallelism.recompute"}, Objective: sweep.Cost, Fingerprint: "x"}
		s, err := ReadSweep([]sweep.File{file("a.jsonl", even...), file("b.jsonl", odd...)}, m)
		if err != nil {
			t.Fatal(err)
		}
		var points []int
		for _, r := range s.Records {
			points = append(points, r.Point)
		}
		if len(points) != 11 || points[0] != 0 || points[10] != 11 || s.Duplicates != 1 || len(s.Missing) != 1 || s.Missing[0] != 10 || s.Objective != sweep.Cost {
			t.Errorf("points %v, %d duplicates, missing %v, %s", points, s.Duplicates, s.Missing, s.Objective)
		}
	})

	t.Run("cut-off last line", func(t *testing.T) {
		s, err := ReadSweep([]sweep.File{file("dir/r.jsonl", lines[0], lines[1][:40])}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Records) != 1 || len(s.Notes) != 1 || !strings.HasPrefix(s.Notes[0], "r.jsonl: the last line is cut off") {
			t.Errorf("%d records, notes %q", len(s.Records), s.Notes)
		}
	})

	for _, tc := range []struct {
		name  string
		files []sweep.File
		m     *sweep.Manifest
		err   string
	}{
		{"no files", nil, nil, "no results files"},
		{"no records", []sweep.File{file("a.jsonl", "\n\n"), file("b.jsonl")}, nil, "no records in a.jsonl, b.jsonl"},
		{"a line that is not a result", []sweep.File{file("a.jsonl", lines[0], "{\"x\": 1}\n")}, nil, "a.jsonl: line 2: not a result: no point index"},
		{"not JSON", []sweep.File{file("a.jsonl", "hello\n")}, nil, "a.jsonl: line 1: not a result"},
		{"point outside the manifest", []sweep.File{file("a.jsonl", lines...)}, &sweep.Manifest{Points: 4, Fingerprint: "x"}, "a.jsonl: point 4 is outside the sweep's 4 points"},
		{"report without GPUs", []sweep.File{file("a.jsonl", `{"point":0,"grid":{},"scenario":"x","gpus":0,"feasible":true,"step_time_s":1}`+"\n")}, nil, "a.jsonl: point 0: gpus: want a positive count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSweep(tc.files, tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}
