package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
	"trainsim/units"
)

func testJob(t *testing.T) parallelism.Job {
	t.Helper()
	m, _ := model.Preset("gpt-18.4b")
	if m.Layers == 0 {
		t.Fatal("no gpt-18.4b preset")
	}
	sys, _ := topology.SystemPreset("dgx-a100-80gb")
	return parallelism.Job{
		Model: m, Cluster: topology.Cluster{System: sys, Nodes: 4},
		Layout:   parallelism.Layout{TP: 8, PP: 2, DP: 2, CP: 1, EP: 1, Microbatch: 1, Schedule: parallelism.OneFOneB, VirtualStages: 1, Recompute: parallelism.RecomputeFull},
		Training: parallelism.Training{GlobalBatch: 32, Precision: units.BF16, Tokens: 1e9, Steps: 1, Attention: model.AttentionFlash},
		Options:  parallelism.Options{Network: parallelism.NetworkAnalytical, Ranks: parallelism.RanksSymmetric},
	}
}

// TestSpecFields checks that the JSON report has every field of the report's
// fixed field contract (docs/scenario.md),
// with sane values.
func TestSpecFields(t *testing.T) {
	j := testJob(t)
	rep, err := Build(Input{Name: "t", Seed: 1, Job: j}, replayed(t, j))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	decodeJSON(t, rep, &got)
	for _, k := range []string{"scenario", "gpus", "feasible", "step_time_s", "tokens_per_s", "model_flops_per_gpu_s", "mfu", "hfu", "time_to_train_s", "bubble_fraction", "memory_per_gpu_bytes", "comm", "bottleneck", "links"} {
		if _, ok := got[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	mem := got["memory_per_gpu_bytes"].(map[string]any)
	for _, k := range []string{"peak", "weights", "gradients", "optimizer", "activations"} {
		if v, ok := mem[k].(float64); !ok || v <= 0 {
			t.Errorf("memory_per_gpu_bytes.%s = %v", k, mem[k])
		}
	}
	comm := got["comm"].(map[string]any)
	for _, k := range []string{"tp", "pp", "dp", "cp", "ep"} {
		c, ok := comm[k].(map[string]any)
		if !ok {
			t.Errorf("comm.%s missing", k)
			continue
		}
		for _, f := range []string{"total_s", "exposed_s", "bytes"} {
			if _, ok := c[f]; !ok {
				t.Errorf("comm.%s.%s missing", k, f)
			}
		}
	}
	if rep.MFU <= 0 || rep.MFU > rep.HFU || rep.HFU > 1 {
		t.Errorf("mfu %v, hfu %v", rep.MFU, rep.HFU)
	}
	if want := 1e9 / rep.TokensPerS; rep.TimeToTrainS != want {
		t.Errorf("time_to_train_s %v, want tokens/throughput %v", rep.TimeToTrainS, want)
	}
	if rep.BubbleFraction <= 0 || rep.BubbleFraction >= 1 {
		t.Errorf("bubble fraction %v", rep.BubbleFraction)
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep, j); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Step time", "Time to train", "MFU", "HFU", "pipeline bubble", "Memory per GPU", "Bottleneck"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text summary lacks %q", s)
		}
	}
}

// TestRefusesUnphysical: a replay result that would put an MFU above 1, a
// negative bubble or an infinity into the report makes Build fail, naming the
// field, instead of writing the value (or failing in the JSON encoder).
func TestRefusesUnphysical(t *testing.T) {
	j := testJob(t)
	v, errs := j.Validate()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range []struct {
		field string
		spoil func(r *parallelism.Result)
	}{
		{"mfu", func(r *parallelism.Result) { r.ModelFLOPs *= 1e6 }},
		{"bubble", func(r *parallelism.Result) { r.Breakdown.Bubble = -r.Breakdown.Bubble - 1 }},
		{"Inf", func(r *parallelism.Result) { r.HardwareFLOPs = units.FLOPs(math.Inf(1)) }},
	} {
		res, err := parallelism.Simulate(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Build(Input{Name: "x", Job: j}, res); err != nil {
			t.Fatalf("unspoilt: %v", err)
		}
		c.spoil(res)
		_, err = Build(Input{Name: "x", Job: j}, res)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: Build error %v, want one naming it", c.field, err)
		}
	}
}

// TestStageLayers: a hand pipeline layout and an MTP module appear in the
// JSON layout (pipeline_layout, stage_layers, mtp_depth) and on a stages
// line; an even split without them leaves all three out. gpt-18.4b has 40
// layers: "Et*19|t*21L" on PP 2 is 19 and 21 layers (with one MTP module
// "Et*19|t*21mL").
func TestStageLayers(t *testing.T) {
	for _, tc := range []struct {
		layout string
		mtp    int
		stages []any
		line   string
	}{
		{"", 0, nil, ""},
		{"Et*19|t*21L", 0, []any{19.0, 21.0}, "stages   transformer layers per virtual stage: 19, 21 (pipeline_layout \"Et*19|t*21L\")"},
		{"Et*19|t*21mL", 1, []any{19.0, 21.0}, "stages   transformer layers per virtual stage: 19, 21; 1 MTP module(s) on the last"},
		// The even split of 40 + 1 over 2: 21 = 20 + 1 on stage 1, which
		// runs the module (20 layers), and 20 on stage 0.
		{"", 1, []any{20.0, 20.0}, "stages   transformer layers per virtual stage: 20 ×2; 1 MTP module(s) on the last"},
	} {
		j := testJob(t)
		j.Layout.PipelineLayout, j.Model.MTPDepth = tc.layout, tc.mtp
		rep, err := Build(Input{Name: "t", Seed: 1, Job: j}, replayed(t, j))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Layout map[string]any `json:"layout"`
		}
		decodeJSON(t, rep, &got)
		st, _ := got.Layout["stage_layers"].([]any)
		if len(st) != len(tc.stages) || (len(st) > 0 && (st[0] != tc.stages[0] || st[1] != tc.stages[1])) {
			t.Errorf("%q mtp %d: stage_layers %v, want %v", tc.layout, tc.mtp, got.Layout["stage_layers"], tc.stages)
		}
		if l, _ := got.Layout["pipeline_layout"].(string); l != tc.layout {
			t.Errorf("%q: pipeline_layout %q", tc.layout, l)
		}
		if d, _ := got.Layout["mtp_depth"].(float64); int(d) != tc.mtp {
			t.Errorf("%q: mtp_depth %v, want %d", tc.layout, got.Layout["mtp_depth"], tc.mtp)
		}
		var buf bytes.Buffer
		if err := WriteText(&buf, rep, j); err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(buf.String(), "  stages   ")
		if tc.line == "" && has || tc.line != "" && !strings.Contains(buf.String(), tc.line) {
			t.Errorf("%q mtp %d: text report, want stages line %q:\n%s", tc.layout, tc.mtp, tc.line, buf.String()[:min(buf.Len(), 600)])
		}
	}
}

// replayed validates and replays j, failing the test on any error.
func replayed(t *testing.T, j parallelism.Job) *parallelism.Result {
	t.Helper()
	v, errs := j.Validate()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	res, err := parallelism.Simulate(v)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// decodeJSON writes rep as the JSON report and decodes it into into.
func decodeJSON(t *testing.T, rep *Report, into any) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf.Bytes(), into); err != nil {
		t.Fatal(err)
	}
}

// TestDualPipeLayoutLine: a DualPipe run's layout line says which stages a
// GPU holds, its JSON schedule is "dualpipe", and its timeline has two
// chunks per stage (the two directions).
func TestDualPipeLayoutLine(t *testing.T) {
	j := testJob(t)
	j.Layout.Schedule = parallelism.DualPipe
	j.Options.Timeline = true
	rep, err := Build(Input{Name: "t", Seed: 1, Job: j}, replayed(t, j))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, rep, j); err != nil {
		t.Fatal(err)
	}
	if want := "dualpipe (stages s and 1 − s on GPU s, half the micro-batches from each end)"; !strings.Contains(buf.String(), want) {
		t.Errorf("text report lacks %q:\n%s", want, buf.String()[:min(buf.Len(), 600)])
	}
	if rep.Layout.Schedule != "dualpipe" || rep.Timeline == nil || rep.Timeline.Chunks != 2 {
		t.Errorf("schedule %q, timeline %+v: want dualpipe with 2 chunks", rep.Layout.Schedule, rep.Timeline)
	}
}
