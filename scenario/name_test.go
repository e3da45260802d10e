package scenario

import (
	"fmt"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/scenarios"
	"trainsim/units"
)

// TestNameFollowsOverrides: the report's name is the file's until a --set
// override changes the model or the cluster; then it names what is replayed,
// unless --set name=... names it.
func TestNameFollowsOverrides(t *testing.T) {
	named := "name = \"my run\"\n[model]\npreset = \"gpt-1.7b\"\n[cluster]\nsystem = \"dgx-a100-80gb\"\nnodes = 2\n[training]\nglobal_batch = 16\n"
	unnamed := "[model]\npreset = \"gpt-1.7b\"\n[cluster]\nsystem = \"dgx-a100-80gb\"\nnodes = 2\n[training]\nglobal_batch = 16\n"
	_, def := scenarios.Default()
	for _, c := range []struct {
		what, file, src string
		sets            []string
		want            string
	}{
		{"default as it is", "scenarios/gpt3-175b.toml", string(def), nil, "GPT-3 175B, 1024 x A100-80GB"},
		{"default, layout only", "scenarios/gpt3-175b.toml", string(def), []string{"parallelism.tp=4"}, "GPT-3 175B, 1024 x A100-80GB"},
		{"default on 16 nodes", "scenarios/gpt3-175b.toml", string(def), []string{"cluster.nodes=16"}, "gpt3-175b, 128 x a100-80gb"},
		{"default, other model", "scenarios/gpt3-175b.toml", string(def), []string{"model.preset=llama3-405b", "cluster.system=dgx-h100"}, "llama3-405b, 1024 x h100-sxm"},
		{"default, other GPU", "scenarios/gpt3-175b.toml", string(def), []string{"cluster.gpu.preset=h200"}, "gpt3-175b, 1024 x h200"},
		{"default, model key", "scenarios/gpt3-175b.toml", string(def), []string{"model.layers=48"}, "gpt3-175b, 1024 x a100-80gb"},
		{"--set name wins", "scenarios/gpt3-175b.toml", string(def), []string{"cluster.nodes=16", "name=small"}, "small"},
		{"named file", "runs/a.toml", named, nil, "my run"},
		{"named file, nodes overridden", "runs/a.toml", named, []string{"cluster.nodes=4"}, "gpt-1.7b, 32 x a100-80gb"},
		{"unnamed file", "runs/a.toml", unnamed, nil, "a"},
		{"unnamed file, system overridden", "runs/a.toml", unnamed, []string{"cluster.system=dgx-h100"}, "gpt-1.7b, 16 x h100-sxm"},
	} {
		sc, err := Load(c.file, []byte(c.src), c.sets)
		if err != nil {
			t.Errorf("%s: %v", c.what, err)
			continue
		}
		if sc.Name != c.want {
			t.Errorf("%s: name %q, want %q", c.what, sc.Name, c.want)
		}
	}
}

// TestAutoAttention: training.attention = "auto" (the embedded default's)
// replays unfused attention on Ampere and flash on Hopper and Blackwell; a
// scenario that says which keeps it; without the key it is flash.
func TestAutoAttention(t *testing.T) {
	base := "[model]\npreset = \"gpt-1.7b\"\n[cluster]\nsystem = \"dgx-a100-80gb\"\nnodes = 2\n[training]\nglobal_batch = 16\n"
	for _, c := range []struct {
		what string
		src  string
		sets []string
		want model.Attention
	}{
		{"default scenario on A100", "", nil, model.AttentionUnfused},
		{"default scenario on DGX H100", "", []string{"cluster.system=dgx-h100"}, model.AttentionFlash},
		{"default scenario, H200 GPU", "", []string{"cluster.gpu.preset=h200"}, model.AttentionFlash},
		{"default scenario on DGX B200", "", []string{"cluster.system=dgx-b200"}, model.AttentionFlash},
		{"default scenario on H100, unfused asked", "", []string{"cluster.system=dgx-h100", "training.attention=unfused"}, model.AttentionUnfused},
		{"no key on A100", base, nil, model.AttentionFlash},
		{"no key on H100", base, []string{"cluster.system=dgx-h100"}, model.AttentionFlash},
		{"auto on A100", base, []string{"training.attention=auto"}, model.AttentionUnfused},
		{"auto on H100", base, []string{"training.attention=auto", "cluster.system=dgx-h100"}, model.AttentionFlash},
		{"unfused stack on H100", base, []string{"software.stack=megatron-lm-2022", "cluster.system=dgx-h100"}, model.AttentionUnfused},
	} {
		name, src := scenarios.Default()
		if c.src != "" {
			name, src = "s.toml", []byte(c.src)
		}
		sc, err := Load(name, src, c.sets)
		if err != nil {
			t.Errorf("%s: %v", c.what, err)
			continue
		}
		if got := sc.Job.Training.Attention; got != c.want {
			t.Errorf("%s: attention %q, want %q", c.what, got, c.want)
		}
	}
	if _, err := Load("s.toml", []byte(base), []string{"training.attention=fast"}); err == nil || !strings.Contains(err.Error(), `allowed: "unfused", "flash", "auto"`) {
		t.Errorf("attention=fast: %v, want the allowed values with auto", err)
	}
}

// TestFP8RecipeKey: training.fp8_recipe defaults to delayed (Megatron-Core's
// --fp8-recipe default), takes the four recipes, and refuses another value
// naming the key and the allowed ones.
func TestFP8RecipeKey(t *testing.T) {
	base := []byte("[model]\npreset = \"gpt-1.7b\"\n[cluster]\nsystem = \"dgx-h100\"\nnodes = 2\n[training]\nglobal_batch = 16\nprecision = \"fp8\"\n")
	sc, err := Load("s.toml", base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Job.Training.FP8Recipe; got != model.FP8Delayed {
		t.Errorf("default recipe %q, want delayed", got)
	}
	for _, r := range model.FP8Recipes() {
		sc, err := Load("s.toml", base, []string{"training.fp8_recipe=" + string(r)})
		if err != nil {
			t.Errorf("%s: %v", r, err)
			continue
		}
		if got := sc.Job.Training.FP8Recipe; got != r {
			t.Errorf("recipe %q, want %q", got, r)
		}
	}
	sc, err = Load("s.toml", base, []string{"training.fp8_recipe=nvfp4"})
	if err == nil {
		_, err = sc.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "training.fp8_recipe") || !strings.Contains(err.Error(), `"delayed", "tensorwise", "mxfp8", "blockwise"`) {
		t.Errorf("fp8_recipe=nvfp4: %v, want an error naming the key and the recipes", err)
	}
	// A recipe other than the default named with a 16-bit precision would be
	// ignored: refused, naming the key, its line and the precision it needs.
	for _, tc := range []struct {
		prec, recipe string
		refused      bool
	}{
		{"bf16", "mxfp8", true}, {"fp16", "blockwise", true}, {"bf16", "tensorwise", true},
		{"bf16", "delayed", false}, {"fp8", "mxfp8", false},
	} {
		src := strings.Replace(string(base), "precision = \"fp8\"\n", fmt.Sprintf("precision = %q\nfp8_recipe = %q\n", tc.prec, tc.recipe), 1)
		sc, err := Load("s.toml", []byte(src), nil)
		if err == nil {
			_, err = sc.Validate()
		}
		if !tc.refused {
			if err != nil {
				t.Errorf("%s with %s: %v", tc.recipe, tc.prec, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "s.toml:9: training.fp8_recipe") || !strings.Contains(err.Error(), `training.precision = "fp8"`) {
			t.Errorf("%s with %s: %v, want an error at s.toml:9 naming training.fp8_recipe and the precision it needs", tc.recipe, tc.prec, err)
		}
	}
}

// TestHostIssueKey: training.host_issue is 0 (the GPU family's 10 µs) unless
// given; the Transformer Engine stacks set 27 µs, a scenario's own value
// overrides its stack's, and a value outside 0–10 ms is refused naming the
// key.
func TestHostIssueKey(t *testing.T) {
	base := "[model]\npreset = \"gpt-1.7b\"\n[cluster]\nsystem = \"dgx-h100\"\nnodes = 2\n[training]\nglobal_batch = 16\n"
	for _, tc := range []struct {
		name, src string
		set       []string
		want      units.Seconds
	}{
		{"default", base, nil, 0},
		{"megatron-core-2024", base + "[software]\nstack = \"megatron-core-2024\"\n", nil, 27 * units.Microsecond},
		{"nemo-24.07", base + "[software]\nstack = \"nemo-24.07\"\n", nil, 27 * units.Microsecond},
		{"megatron-lm-2022", base + "[software]\nstack = \"megatron-lm-2022\"\n", nil, 0},
		{"scenario overrides stack", base + "[software]\nstack = \"megatron-core-2024\"\n", []string{"training.host_issue=15us"}, 15 * units.Microsecond},
	} {
		sc, err := Load("s.toml", []byte(tc.src), tc.set)
		if err == nil {
			_, err = sc.Validate()
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := sc.Job.Training.HostIssue; got != tc.want {
			t.Errorf("%s: host_issue %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, v := range []string{"-1us", "11ms"} {
		sc, err := Load("s.toml", []byte(base), []string{"training.host_issue=" + v})
		if err == nil {
			_, err = sc.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), "training.host_issue") {
			t.Errorf("host_issue=%s: %v, want an error naming the key", v, err)
		}
	}
}
