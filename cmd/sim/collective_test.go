package main

import (
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func collectiveJSON(t *testing.T, args ...string) []perfTable {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"collective", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var tables []perfTable
	if err := json.Unmarshal([]byte(out), &tables); err != nil {
		t.Fatal(err)
	}
	return tables
}

func num(t *testing.T, n json.Number) float64 {
	t.Helper()
	f, err := n.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCollectiveDGXNode: on the default's DGX A100 nodes, 8 GPUs in one node:
// a large all-reduce's busbw approaches the achievable NVLink rate (0.78 ×
// 300 GB/s); calibration.nvlink_busbw, a measured busbw fed back, sets it;
// at 8 B the time is latency (14 ring steps of 1 us), the bandwidth nil.
func TestCollectiveDGXNode(t *testing.T) {
	tab := collectiveJSON(t, "--gpus", "8", "-b", "8", "-e", "8G")[0]
	if tab.Op != "all_reduce" || tab.Ranks != 8 || tab.Nodes != 1 || len(tab.Rows) != 31 || num(t, tab.BusFactor) != 1.75 {
		t.Fatalf("table %+v", tab)
	}
	big := tab.Rows[len(tab.Rows)-1]
	if b := num(t, big.BusBW); b < 0.995*234 || b > 234 {
		t.Errorf("8 GiB busbw %v GB/s, want just under 234", b)
	}
	small := tab.Rows[0]
	if us := num(t, small.TimeUS); us < 14 || us > 14.01 || num(t, small.AlgBW) > 0.01 {
		t.Errorf("8 B: %v us at %v GB/s, want 14 us of latency", us, small.AlgBW)
	}
	cal := collectiveJSON(t, "--gpus", "8", "-b", "8G", "-e", "8G", "--set", "calibration.nvlink_busbw=200GB/s")[0]
	if b := num(t, cal.Rows[0].BusBW); b < 0.995*200 || b > 200 {
		t.Errorf("calibrated to 200 GB/s: busbw %v", b)
	}
}

// TestCollectiveAcrossNodes: 16 GPUs on two nodes are bound by the NICs; the
// data-parallel group of the default (one rank per node) too.
func TestCollectiveAcrossNodes(t *testing.T) {
	for _, args := range [][]string{{"--gpus", "16"}, {"--group", "dp"}} {
		tab := collectiveJSON(t, append(args, "--op", "all", "-b", "1G", "-e", "1G")...)
		if len(tab) != 5 {
			t.Fatalf("%v: %d tables, want 5", args, len(tab))
		}
		for _, tb := range tab {
			if tb.Nodes < 2 || len(tb.Rows) != 1 || tb.Rows[0].Bottleneck != "nic" {
				t.Errorf("%v %s: %+v", args, tb.Op, tb)
			}
		}
	}
}

func TestCollectiveFormats(t *testing.T) {
	code, out, errs := runCLI(t, "collective", "--op", "all_gather,sendrecv", "-b", "1K", "-e", "1M", "-f", "4", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+2*6 || recs[0][4] != "size_bytes" || recs[1][0] != "all_gather" || recs[12][0] != "sendrecv" {
		t.Errorf("csv: %v", recs)
	}
	code, out, _ = runCLI(t, "collective", "-b", "1M", "-e", "1M")
	if code != 0 || !strings.Contains(out, "#        (B)    (elements)") || !strings.Contains(out, "# Avg bus bandwidth") {
		t.Errorf("text: %s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			f := strings.Fields(line)
			if len(f) != 10 || f[0] != "1048576" || f[1] != "262144" || f[2] != "float" || f[3] != "sum" || f[4] != "-1" {
				t.Errorf("row %q", line)
			}
			if _, err := strconv.ParseFloat(f[5], 64); err != nil {
				t.Errorf("time %q", f[5])
			}
		}
	}
}

func TestCollectiveBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--op", "broadcast"}, {"--gpus", "0"}, {"--gpus", "2000"}, {"--group", "xp"},
		{"-b", "0"}, {"-b", "1G", "-e", "1M"}, {"-f", "1"}, {"-d", "float7"}, {"--format", "xml"},
		{"--gpus", "8", "--group", "tp"}, {"--set", "parallelism.tp=3"},
	} {
		code, _, errs := runCLI(t, append([]string{"collective"}, args...)...)
		if code != exitBadInput || errs == "" {
			t.Errorf("%v: exit %d %q, want 2 with a message", args, code, errs)
		}
	}
}

// TestCollectiveOneGPUGroup: --group names a group the layout leaves at one
// GPU (no CP, no experts, TP 1, one data-parallel replica): refused as bad
// input naming the group and its size, not a table of zeros.
func TestCollectiveOneGPUGroup(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--group", "cp"}, "scenarios/gpt3-175b.toml: group cp: the layout has cp = 1 (parallelism.cp), a group of one GPU: no collective runs over it\n"},
		{[]string{"--group", "ep"}, "scenarios/gpt3-175b.toml: group ep: the layout has ep = 1 (parallelism.ep), a group of one GPU: no collective runs over it\n"},
		{[]string{"--group", "TP", "--set", "parallelism.tp=1"}, "scenarios/gpt3-175b.toml: group tp: the layout has tp = 1 (parallelism.tp), a group of one GPU: no collective runs over it\n"},
		{[]string{"--group", "dp", "--set", "cluster.nodes=16"}, "scenarios/gpt3-175b.toml: group dp: the layout has dp = 1 (parallelism.dp), a group of one GPU: no collective runs over it\n"},
	} {
		code, out, errs := runCLI(t, append([]string{"collective"}, c.args...)...)
		if code != exitBadInput || out != "" || errs != c.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	// A group of two or more GPUs still gets its table.
	if code, out, _ := runCLI(t, "collective", "../../scenarios/mixtral-8x7b-ep8.toml", "--group", "ep"); code != 0 || !strings.Contains(out, "ep group, 8 ranks") {
		t.Errorf("mixtral --group ep: exit %d\n%s", code, out)
	}
}
