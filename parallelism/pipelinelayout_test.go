package parallelism

import (
	"slices"
	"strings"
	"testing"

	"trainsim/model"
)

func TestParsePipelineLayout(t *testing.T) {
	for _, tc := range []struct {
		in     string
		layers []int // per stage; nil: an error containing err
		mtp    int   // in the last stage
		err    string
	}{
		{in: "EtL", layers: []int{1}},
		{in: "Ett|ttL", layers: []int{2, 2}},
		// Megatron-Core's docstring example, parse_str_to_list.
		{in: "Ettt|(tt|)*29,m|L", layers: append(append([]int{3}, slices.Repeat([]int{2}, 29)...), 0, 0)},
		{in: "Etttt|(tttt|)*14tmL", layers: append(slices.Repeat([]int{4}, 15), 1), mtp: 1},
		{in: "Et*4|(t*4|)*14t,m*2,L", layers: append(slices.Repeat([]int{4}, 15), 1), mtp: 2},
		{in: "(Et|)*1tL", layers: []int{1, 1}},
		{in: "Et||*3tL", layers: []int{1, 0, 0, 0, 1}},
		{in: "E(t|t|)*3,(|)*2tL", layers: []int{1, 1, 1, 1, 1, 1, 0, 0, 1}},
		{in: "E(|)*1*2L", layers: []int{0, 0, 0}},
		{in: "tEt|tL", err: "the embedding (E) must be the first letter of the first stage"},
		{in: "Ett|tt", err: "the last stage must end with the loss (L)"},
		{in: "tt|ttL", err: "the first stage must begin with the embedding (E)"},
		{in: "EtL|tt", err: "the loss (L) must be the last letter of the last stage"},
		{in: "Etmt|L", err: "a transformer layer (t) after a multi-token-prediction module (m)"},
		{in: "Etx|tL", err: "unknown letter 'x' in stage 0; allowed: E (embedding), t (transformer layer)"},
		{in: "E(t|)tL", err: "must be followed by *n"},
		{in: "E(t|)*0tL", err: "the repeat count after '*' must be a whole number"},
		{in: "E((t|)*2)*2tL", err: "nested parentheses"},
		{in: "Et|t)L", err: "unbalanced ')'"},
		{in: "E(t|tL", err: "unbalanced '('"},
		{in: "E*2t|tL", err: "must be the first letter"},
		{in: "*2EtL", err: "'*' at position 0 follows no letter"},
		{in: "Et*99999999L", err: "the repeat count"},
		{in: "E(tttttttt|)*9000tL", err: "expands to more than"},
	} {
		st, err := parsePipelineLayout(tc.in)
		if tc.layers == nil {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var got []int
		for _, s := range st {
			got = append(got, s.layers)
		}
		if n := PipelineLayoutStages(tc.in); n != len(st) {
			t.Errorf("%q: PipelineLayoutStages %d, want %d", tc.in, n, len(st))
		}
		if !slices.Equal(got, tc.layers) || st[len(st)-1].mtp != tc.mtp || !st[0].embedding || !st[len(st)-1].end {
			t.Errorf("%q: layers %v, mtp %d, want %v, %d", tc.in, got, st[len(st)-1].mtp, tc.layers, tc.mtp)
		}
	}
}

// deepSeekV3Job is DeepSeek-V3 with one MTP module on 16 pipeline stages
// (the layer counts need no cluster).
func deepSeekV3Job(t *testing.T, layout string) Job {
	t.Helper()
	m, ok := model.Preset("deepseek-v3")
	if !ok {
		t.Fatal("no deepseek-v3 preset")
	}
	m.MTPDepth = 1
	return Job{Model: m, Layout: Layout{TP: 1, PP: 16, DP: 16, CP: 1, EP: 8, Microbatch: 1, VirtualStages: 1, Schedule: OneFOneB, PipelineLayout: layout}}
}

// TestDeepSeekV3StageLayers: 61 layers on 16 stages, by hand.
//   - Megatron-Bridge's recipe layout (deepseek_v3.py @ 5776a6d9, pp 16):
//     the embedding and 4 layers, 14 stages of 4, the last layer with the
//     MTP module and the loss: 4 + 56 + 1 = 61.
//   - The even split counts the MTP module as a layer of the last stage:
//     62 = 16·3 + 14, so stages 1–14 hold 4, stage 0 holds 3 and stage 15
//     3 − 1 = 2 layers and the module: 3 + 56 + 2 = 61.
//   - Without MTP: 61 = 16·3 + 13: stages 1–13 hold 4, the others 3.
func TestDeepSeekV3StageLayers(t *testing.T) {
	recipe := append(slices.Repeat([]int{4}, 15), 1)
	even := append(append([]int{3}, slices.Repeat([]int{4}, 14)...), 2)
	plain := append(append([]int{3}, slices.Repeat([]int{4}, 13)...), 3, 3)
	j := deepSeekV3Job(t, "Etttt|(tttt|)*14tmL")
	if got := j.StageLayers(); !slices.Equal(got, recipe) {
		t.Errorf("recipe layout: %v, want %v", got, recipe)
	}
	if got := j.blocksOf(15); got != 2 {
		t.Errorf("recipe layout: the last stage runs %d blocks, want 2 (a layer and the MTP module's)", got)
	}
	j = deepSeekV3Job(t, "")
	if got := j.StageLayers(); !slices.Equal(got, even) {
		t.Errorf("even split with MTP: %v, want %v", got, even)
	}
	j.Model.MTPDepth = 0
	if got := j.StageLayers(); !slices.Equal(got, plain) {
		t.Errorf("even split without MTP: %v, want %v", got, plain)
	}
	// Stage 15's MoE blocks: its layers are all MoE (the first 3 layers
	// of stage 0 are the dense ones), and so is the MTP module's block.
	j = deepSeekV3Job(t, "Etttt|(tttt|)*14tmL")
	if got := j.stageMoELayers(15); got != 2 {
		t.Errorf("recipe layout: stage 15 has %d MoE blocks, want 2", got)
	}
	if got := j.stageMoELayers(0); got != 1 {
		t.Errorf("recipe layout: stage 0 has %d MoE blocks, want 1 (layers 0–2 dense)", got)
	}
}

// TestPipelineLayoutMemory: smallMoE (one dense layer, three MoE) with one
// MTP module on two stages as "Ettt|tmL": stage 0 holds the embedding, the
// dense layer and two MoE layers; stage 1 one MoE layer, the MTP module
// (its norms and projection, 3h + 2h², and a MoE block) and the tied
// output table. Weights are 2 B per parameter, the routed experts split
// over EP 4.
func TestPipelineLayoutMemory(t *testing.T) {
	j := moeJob(t, 2, 4, 1)
	j.Model.MTPDepth = 1
	j.Layout.PipelineLayout = "Ettt|tmL"
	if errs := problems(j); len(errs) > 0 {
		t.Fatalf("valid job refused: %v", errs)
	}
	const (
		h      = 1024
		mtpOwn = 3*h + 2*h*h
		table  = 32000 * h
	)
	want := [2]struct{ params, experts float64 }{
		{handEmbedding + handDenseLayer + 2*handMoEDense, 2 * handMoEExperts / 4.0},
		{handMoEDense + mtpOwn + handMoEDense + table, 2 * handMoEExperts / 4.0},
	}
	for s, w := range want {
		if got := j.stageParams(s); got != w.params {
			t.Errorf("stage %d: params %.0f, want %.0f", s, got, w.params)
		}
		if got := j.stageExpertParams(s); got != w.experts {
			t.Errorf("stage %d: expert params %.0f, want %.0f", s, got, w.experts)
		}
		mem := j.stageMemory(s, 1)
		if got := float64(mem.Weights); got != 2*(w.params+w.experts) {
			t.Errorf("stage %d: weights %.0f B, want %.0f", s, got, 2*(w.params+w.experts))
		}
	}
	// Stage 1 keeps, beyond its blocks' activations, the MTP module's
	// 5 sbh of norm and projection inputs and a second fp32 logits tensor
	// (4·s·V): compared with the same stage without the module.
	noMTP := moeJob(t, 2, 4, 1)
	noMTP.Layout.PipelineLayout = "Ettt|tL"
	with, without := j.stageMemory(1, 2), noMTP.stageMemory(1, 1)
	sbh := 1024.0 * h * 2
	moeAct := float64(j.stageMemory(1, 1).Activations) - 5*sbh // one MoE block
	if d := float64(with.Activations - without.Activations); d != moeAct+5*sbh {
		t.Errorf("stage 1 activations grow by %.0f B with the MTP module, want a MoE block's %.0f + 5 sbh %.0f", d, moeAct, 5*sbh)
	}
	if d := float64(with.Transient - without.Transient); d != 4*1024*32000 {
		t.Errorf("stage 1 transient grows by %.0f B, want one more fp32 logits tensor %d", d, 4*1024*32000)
	}
	// The replay runs the module on stage 1: the step is longer than
	// without it, and longer again with the even split's heavier stage.
	step := func(j Job) float64 {
		v, errs := j.Validate()
		if errs != nil {
			t.Fatal(errs)
		}
		r, err := Simulate(v)
		if err != nil {
			t.Fatal(err)
		}
		return float64(r.StepTime)
	}
	a, b := step(noMTP), step(j)
	if !(b > a) {
		t.Errorf("step with the MTP module %.4g s, without %.4g s: want longer", b, a)
	}
}

// TestPipelineLayoutValidation: each rule names parallelism.pipeline_layout
// (or model.mtp_depth) and says what is allowed.
func TestPipelineLayoutValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout string
		mtp    int
		key    string
		says   string
	}{
		{"too few layers", "Ett|tL", 0, "parallelism.pipeline_layout", "places 3 transformer layers (t); model.layers is 4: the stages' layers must add up to it"},
		{"too many stages", "Et|t|t|tL", 0, "parallelism.pipeline_layout", "has 4 stages; pp × virtual_stages = 2 × 1 = 2"},
		{"mtp not declared", "Ett|ttmL", 0, "parallelism.pipeline_layout", "places 1 multi-token-prediction modules (m); model.mtp_depth is 0"},
		{"mtp not placed", "Ett|ttL", 1, "parallelism.pipeline_layout", "places 0 multi-token-prediction modules (m); model.mtp_depth is 1"},
		{"mtp not last", "Ettm|ttL", 1, "parallelism.pipeline_layout", "they go in the last stage"},
		{"unreadable", "Ett|tt", 0, "parallelism.pipeline_layout", "the last stage must end with the loss (L)"},
		{"even split short of the modules", "", 6, "model.mtp_depth", "set parallelism.pipeline_layout"},
	} {
		j := moeJob(t, 2, 4, 1)
		j.Model.MTPDepth = tc.mtp
		j.Layout.PipelineLayout = tc.layout
		found := false
		for _, e := range problems(j) {
			if e.Field == tc.key && strings.Contains(e.Error(), tc.says) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s error saying %q in %v", tc.name, tc.key, tc.says, problems(j))
		}
	}
	// Allowed: a last stage of only the MTP module and the loss (as
	// Megatron-Bridge's H100 DeepSeek-V3 layout "Et|(tt|)*30mL"), and the
	// even split that leaves the last stage only the module (4 layers + 4
	// modules over 2 stages: 4 and 0).
	for _, tc := range []struct {
		layout string
		mtp    int
		stages []int
	}{{"Etttt|mL", 1, []int{4, 0}}, {"", 4, []int{4, 0}}} {
		j := moeJob(t, 2, 4, 1)
		j.Model.MTPDepth, j.Layout.PipelineLayout = tc.mtp, tc.layout
		if errs := problems(j); len(errs) > 0 {
			t.Errorf("%q mtp %d refused: %v", tc.layout, tc.mtp, errs)
		}
		if got := j.StageLayers(); !slices.Equal(got, tc.stages) {
			t.Errorf("%q mtp %d: stages %v, want %v", tc.layout, tc.mtp, got, tc.stages)
		}
	}
}

func FuzzParsePipelineLayout(f *testing.F) {
	for _, s := range []string{"EtL", "Etttt|(tttt|)*14tmL", "Ettt|(tt|)*29,m|L", "E(t|)*3tL", "Et*4|t*4L", "((", "*", "E(t|)*99999tL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parsePipelineLayout(s)
		if err != nil {
			return
		}
		if len(st) == 0 || !st[0].embedding || !st[len(st)-1].end {
			t.Fatalf("%q parsed without E first or L last: %+v", s, st)
		}
		total := 0
		for i, x := range st {
			if x.layers < 0 || x.mtp < 0 || (x.embedding && i != 0) || (x.end && i != len(st)-1) {
				t.Fatalf("%q: stage %d is %+v", s, i, x)
			}
			total += x.layers + x.mtp
		}
		if total > maxLayoutLetters {
			t.Fatalf("%q expands to %d letters", s, total)
		}
		if n := PipelineLayoutStages(s); n != len(st) {
			t.Fatalf("%q: PipelineLayoutStages %d, parsed %d stages", s, n, len(st))
		}
		x, err := ExpandPipelineLayout(s)
		if err != nil {
			t.Fatalf("%q parses but does not expand: %v", s, err)
		}
		if n := PipelineLayoutStages(x); n != len(st) || strings.ContainsAny(x, "(*,") {
			t.Fatalf("%q expands to %q: %d stages counted, parsed %d", s, x, n, len(st))
		}
		if xs, err := parsePipelineLayout(x); err != nil || !slices.Equal(xs, st) {
			t.Fatalf("%q expands to %q, which parses to %+v (%v), not %+v", s, x, xs, err, st)
		}
	})
}
