package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"trainsim/units"
)

// significantDigits counts a number literal's significant digits (trailing
// zeros of an integer not counted: 107449726864000 has 12).
func significantDigits(s string) int {
	m, _, _ := strings.Cut(strings.TrimPrefix(s, "-"), "e")
	m, _, _ = strings.Cut(m, "E")
	frac := strings.Contains(m, ".")
	d := strings.TrimLeft(strings.Replace(m, ".", "", 1), "0")
	if !frac {
		d = strings.TrimRight(d, "0")
	}
	return len(d)
}

// TestNoFloatNoise: every number in the machine-readable outputs — the JSON
// and CSV reports of the default and of every scenario in scenarios/ (RL
// and MoE ones among them), a whole job with stragglers, a timeline, a
// search, the collective tables, the presets, a validation group — has at
// most units.ReportDigits significant digits: no 30.775627418000003.
func TestNoFloatNoise(t *testing.T) {
	runs := [][]string{
		{"run", "--format", "json"},
		{"run", "--format", "csv"},
		{"run", "--set", "job.gpu_mtbf=50000h", "--set", "job.runs=20", "--set", "job.straggler_fraction=0.01", "--set", "job.straggler_slowdown=0.2", "--format", "json"},
		{"run", tiny, "--timeline", "--format", "json"},
		{"search", tiny, "--format", "json", "--set", "training.tokens=1e10", "--price-per-gpu-hour", "2.5"},
		{"search", tiny, "--format", "csv"},
		{"collective", "--op", "all", "--gpus", "64", "--format", "json"},
		{"collective", "--op", "all", "--gpus", "64", "--format", "csv"},
		{"presets", "--format", "json"},
		{"validate", "--group", "Korthikanti2022-Table5", "--format", "json"},
	}
	files, err := filepath.Glob("../../scenarios/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("scenarios: %v %v", files, err)
	}
	for _, f := range files {
		runs = append(runs, []string{"run", f, "--format", "json"}, []string{"run", f, "--format", "csv"})
	}
	for _, args := range runs {
		code, out, errs := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var nums []string
		if args[len(args)-1] == "csv" {
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			for _, r := range rows[1:] {
				for _, c := range r {
					if _, err := strconv.ParseFloat(c, 64); err == nil {
						nums = append(nums, c)
					}
				}
			}
		} else {
			d := json.NewDecoder(strings.NewReader(out))
			d.UseNumber()
			for {
				tok, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				if n, ok := tok.(json.Number); ok {
					nums = append(nums, string(n))
				}
			}
		}
		if len(nums) == 0 {
			t.Errorf("%v: no numbers", args)
		}
		for _, n := range nums {
			if significantDigits(n) > units.ReportDigits {
				t.Errorf("%v: %s has more than %d significant digits", args, n, units.ReportDigits)
				break
			}
		}
	}
}

// TestReportBytesAcrossGOMAXPROCS: the written JSON and CSV do not depend
// on how many threads ran the replay.
func TestReportBytesAcrossGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first [2]string
	for i, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for k, format := range []string{"json", "csv"} {
			code, out, errs := runCLI(t, "run", "../../scenarios/mixtral-8x7b-ep8.toml", "--format", format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if i == 0 {
				first[k] = out
			} else if !bytes.Equal([]byte(out), []byte(first[k])) {
				t.Errorf("GOMAXPROCS %d: the %s report differs from GOMAXPROCS 1", procs, format)
			}
		}
	}
}
