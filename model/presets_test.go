package model

import (
	"math"
	"regexp"
	"sort"
	"testing"
)

func TestPresetsValidate(t *testing.T) {
	for _, c := range Presets() {
		t.Run(c.Name, func(t *testing.T) {
			for _, err := range c.Validate() {
				t.Error(err)
			}
			if c.Source == "" {
				t.Error("Source is empty: every preset cites where its shape was published")
			}
			if (c.Experts == 0) != (c.TopK == 0) {
				t.Errorf("experts=%d top_k=%d: both zero (dense) or both set (MoE)", c.Experts, c.TopK)
			}
		})
	}
}

func TestPresetNames(t *testing.T) {
	names := PresetNames()
	if !sort.StringsAreSorted(names) {
		t.Errorf("PresetNames is not sorted: %v", names)
	}
	valid := regexp.MustCompile(`^[a-z0-9.]+(-[a-z0-9.]+)*$`)
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			t.Errorf("preset %q appears twice", n)
		}
		seen[n] = true
		if !valid.MatchString(n) {
			t.Errorf("preset name %q is not lower-case words joined by dashes", n)
		}
		c, ok := Preset(n)
		if !ok || c.Name != n {
			t.Errorf("Preset(%q) = %q, %v; want the preset with its name filled in", n, c.Name, ok)
		}
		if got := Presets()[i].Name; got != n {
			t.Errorf("Presets()[%d].Name = %q, want %q (same order as PresetNames)", i, got, n)
		}
	}
	if _, ok := Preset("no-such-model"); ok {
		t.Error("Preset(\"no-such-model\") reported ok")
	}
}

// TestPresetsAreFresh checks that a caller changing what it got back cannot
// change what the next caller gets.
func TestPresetsAreFresh(t *testing.T) {
	all := Presets()
	all[0].Layers = -1
	c, _ := Preset("gpt3-175b")
	c.Hidden = 1
	if Presets()[0].Layers == -1 {
		t.Error("changing a Presets() element changed the table")
	}
	if c2, _ := Preset("gpt3-175b"); c2.Hidden != 12288 {
		t.Error("changing a Preset() result changed the table")
	}
}

// TestGPT3Shape pins the gpt3-175b shape, one of the presets the user contract
// requires (docs/scenario.md).
func TestGPT3Shape(t *testing.T) {
	c, ok := Preset("gpt3-175b")
	if !ok {
		t.Fatal("gpt3-175b missing (a required preset)")
	}
	want := Config{Name: "gpt3-175b", Layers: 96, Hidden: 12288, Heads: 96, KVHeads: 96, FFNHidden: 49152, SeqLen: 2048, Vocab: 51200, LinearBias: true,
		AttnDropout: 0.1, HiddenDropout: 0.1, Position: PositionLearned, TiedEmbeddings: true, Source: c.Source}
	if c != want {
		t.Errorf("gpt3-175b = %+v\nwant %+v", c, want)
	}
}

// TestValidationModelsHavePresets checks that every model shape among the
// published cases (validation/data/published.toml, transcribed here because
// model may not import validation) has a preset with that shape.
// seq or vocab 0 means the case does not give it.
func TestValidationModelsHavePresets(t *testing.T) {
	shapes := []struct {
		source                            string
		layers, hidden, heads, seq, vocab int
	}{
		{"SC21 Table 1 / README 2021: 1.7B", 24, 2304, 24, 2048, 51200},
		{"SC21 Table 1 / README 2021: 3.6B", 30, 3072, 32, 2048, 51200},
		{"SC21 Table 1 / README 2021: 7.5B", 36, 4096, 32, 2048, 51200},
		{"SC21 Table 1 / README 2021: 18.4B", 40, 6144, 48, 2048, 51200},
		{"SC21 Table 1 / README 2021: 39.1B", 48, 8192, 64, 2048, 51200},
		{"SC21 Table 1 / README 2021: 76.1B", 60, 10240, 80, 2048, 51200},
		{"SC21 Table 1 / README 2021: 145.6B", 80, 12288, 96, 2048, 51200},
		{"SC21 Table 1: 310.1B", 96, 16384, 128, 2048, 51200},
		{"README 2021-01: 290.8B", 90, 16384, 128, 2048, 51200},
		{"SC21 Tables 1, 2 / Korthikanti: 529.6B", 105, 20480, 128, 2048, 51200},
		{"SC21 Table 1 / Korthikanti: 1T", 128, 25600, 160, 2048, 51200},
		{"SC21 Table 2 / Korthikanti / NeMo 24.07: GPT-3 175B", 96, 12288, 96, 2048, 51200},
		{"Korthikanti 2022: 22B", 48, 6144, 64, 2048, 51200},
		{"Megatron README 2024 H100: 1.7B", 24, 2048, 16, 4096, 131072},
		{"Megatron README 2024 H100: 7.1B", 30, 4096, 32, 4096, 131072},
		{"Megatron README 2024 H100: 16B", 32, 6144, 48, 4096, 131072},
		{"Megatron README 2024 H100: 32B", 48, 7168, 56, 4096, 131072},
		{"Megatron README 2024 H100: 70B", 84, 8192, 64, 4096, 131072},
		{"Megatron README 2024 H100: 119B", 92, 10240, 80, 4096, 131072},
		{"Megatron README 2024 H100: 177B", 96, 12288, 96, 4096, 131072},
		{"Megatron README 2024 H100: 314B", 96, 16384, 128, 4096, 131072},
		{"Megatron README 2024 H100: 462B", 112, 18432, 144, 4096, 131072},
	}
	for _, s := range shapes {
		found := false
		for _, c := range Presets() {
			if c.Layers == s.layers && c.Hidden == s.hidden && c.Heads == s.heads && c.KVHeads == c.Heads &&
				c.FFNHidden == 4*c.Hidden && !c.GatedMLP &&
				(s.seq == 0 || c.SeqLen == s.seq) && (s.vocab == 0 || c.Vocab == s.vocab) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no preset has the shape of %s (%d layers, h %d, %d heads, seq %d, vocab %d)",
				s.source, s.layers, s.hidden, s.heads, s.seq, s.vocab)
		}
	}
}

// Structural terms a published count includes and Config does not model.
// Each is added to Params before comparing, so the comparison stays tight and
// the gap is stated, not hidden in a loose tolerance.

// untiedOutput: the output layer is a separate V×h matrix (Llama, the 2024
// Megatron-Core benchmark models); Params assumes it shares the input
// embedding.
func untiedOutput(c Config) float64 { return float64(c.Vocab) * float64(c.Hidden) }

// relativePosition: Transformer-XL relative position encoding (Gopher) has an
// extra h×h projection per layer.
func relativePosition(c Config) float64 {
	return float64(c.Layers) * float64(c.Hidden) * float64(c.Hidden)
}

// attentionWidth returns the correction for a model whose attention width
// heads×headDim differs from d_model, with kvHeads key/value heads: Params
// assumes Q and O are h×h and K, V are h×(kvHeads·h/heads).
func attentionWidth(headDim int) func(Config) float64 {
	return func(c Config) float64 {
		h := float64(c.Hidden)
		real := 2*h*float64(c.Heads*headDim) + 2*h*float64(c.KVHeads*headDim)
		modelled := 2*h*h + 2*h*float64(c.KVHidden())
		return float64(c.Layers) * (real - modelled)
	}
}

// nonEmbedding removes the embeddings for a count published without them.
func nonEmbedding(c Config) float64 { return -float64(c.EmbeddingParams()) }

func TestPresetParams(t *testing.T) {
	tests := []struct {
		name      string
		published float64 // parameters, as the source states them
		tol       float64 // relative
		adjust    []func(Config) float64
		why       string
	}{
		// SC21 Table 2 gives the exact GPT-3 count for this shape.
		{"gpt3-175b", 174.6e9, 0.002, nil, "SC21 Table 2: 174.6B"},
		// GPT-3 Table 2.1 rounds to two or three figures.
		{"gpt3-125m", 125e6, 0.02, nil, "Brown 2020 Table 2.1"},
		{"gpt3-350m", 350e6, 0.02, nil, "Brown 2020 Table 2.1"},
		{"gpt3-760m", 760e6, 0.02, nil, "Brown 2020 Table 2.1"},
		{"gpt3-1.3b", 1.3e9, 0.02, nil, "Brown 2020 Table 2.1"},
		{"gpt3-2.7b", 2.7e9, 0.02, nil, "Brown 2020 Table 2.1"},
		{"gpt3-6.7b", 6.7e9, 0.02, nil, "Brown 2020 Table 2.1"},
		{"gpt3-13b", 13e9, 0.02, nil, "Brown 2020 Table 2.1 (with h 5120)"},
		// SC21 Table 1 counts with the same formula as Params (to 0.1B).
		{"gpt-1.7b", 1.7e9, 0.03, nil, "SC21 Table 1, rounded to 0.1B (1.652B rounds to 1.7B)"},
		{"gpt-3.6b", 3.6e9, 0.02, nil, "SC21 Table 1"},
		{"gpt-7.5b", 7.5e9, 0.01, nil, "SC21 Table 1"},
		{"gpt-18.4b", 18.4e9, 0.005, nil, "SC21 Table 1"},
		{"gpt-39.1b", 39.1e9, 0.002, nil, "SC21 Table 1"},
		{"gpt-76.1b", 76.1e9, 0.002, nil, "SC21 Table 1"},
		{"gpt-145.6b", 145.6e9, 0.002, nil, "SC21 Table 1"},
		{"gpt-310.1b", 310.1e9, 0.002, nil, "SC21 Table 1"},
		{"gpt-529.6b", 529.6e9, 0.002, nil, "SC21 Table 1"},
		{"gpt-1t", 1008.0e9, 0.002, nil, "SC21 Table 1: 1008.0B"},
		{"gpt-290.8b", 290.8e9, 0.002, nil, "Megatron-LM README 2021-01"},
		{"gpt-22b", 22e9, 0.02, nil, "Korthikanti 2022"},
		{"megatron-h100-1.7b", 1.7e9, 0.04, []func(Config) float64{untiedOutput}, "README 2024 rounds to 0.1B"},
		{"megatron-h100-7.1b", 7.1e9, 0.02, []func(Config) float64{untiedOutput}, "README 2024"},
		{"megatron-h100-16b", 16e9, 0.02, []func(Config) float64{untiedOutput}, "README 2024"},
		{"megatron-h100-32b", 32e9, 0.02, []func(Config) float64{untiedOutput}, "README 2024"},
		{"megatron-h100-70b", 70e9, 0.02, []func(Config) float64{untiedOutput}, "README 2024"},
		{"megatron-h100-119b", 119e9, 0.02, []func(Config) float64{untiedOutput}, "README 2024"},
		{"megatron-h100-177b", 177e9, 0.02, []func(Config) float64{untiedOutput}, "README 2024"},
		{"megatron-h100-314b", 314e9, 0.02, []func(Config) float64{untiedOutput}, "README 2024"},
		{"megatron-h100-462b", 462e9, 0.02, []func(Config) float64{untiedOutput}, "README 2024"},
		{"opt-175b", 175e9, 0.02, nil, "Zhang 2022"},
		{"qwen3-32b", 32.8e9, 0.02, []func(Config) float64{untiedOutput}, "Qwen3 technical report: 32.8B"},
		{"opt-350m", 350e6, 0.03, nil, "Zhang 2022 Table 1: 350M (its 512-wide embedding is modelled at 1024)"},
		{"opt-13b", 13e9, 0.02, nil, "Zhang 2022 Table 1"},
		{"opt-30b", 30e9, 0.02, nil, "Zhang 2022 Table 1"},
		{"opt-66b", 66e9, 0.02, nil, "Zhang 2022 Table 1"},
		{"bloom-176b", 176.247e9, 0.01, nil, "BigScience 2022: 176,247M"},
		{"gopher-280b", 280e9, 0.02, []func(Config) float64{relativePosition}, "Rae 2021 Table 1"},
		{"mt-nlg-530b", 530e9, 0.02, nil, "Smith 2022"},
		{"palm-540b", 540.35e9, 0.01, nil, "Chowdhery 2022 Table 1: 540.35B (head_dim 256)"},
		{"lamda-137b", 137e9, 0.02, []func(Config) float64{nonEmbedding}, "Thoppilan 2022: 137B non-embedding (head_dim 128)"},
		{"turing-nlg-17b", 17e9, 0.02, nil, "Microsoft blog 2020"},
		// BERT-large is an encoder: its 340M (rounded) also counts token-type
		// embeddings, the pooler and the MLM head, which Config does not model
		// (about 1-2M together); Params lands about 2% under, so the check is
		// loose rather than skipped.
		{"bert-large", 340e6, 0.03, nil, "Devlin 2018: 340M (rounded)"},
		{"llama2-7b", 6.74e9, 0.02, []func(Config) float64{untiedOutput}, "Touvron 2023 (released weights: 6.74B)"},
		{"llama2-13b", 13.02e9, 0.02, []func(Config) float64{untiedOutput}, "Touvron 2023 (released weights: 13.02B)"},
		{"llama2-70b", 70e9, 0.02, []func(Config) float64{untiedOutput}, "Touvron 2023 (released weights: 68.98B)"},
		{"llama3-8b", 8e9, 0.02, []func(Config) float64{untiedOutput}, "Dubey 2024"},
		{"llama3-70b", 70e9, 0.02, []func(Config) float64{untiedOutput}, "Dubey 2024"},
		{"llama3-405b", 405e9, 0.02, []func(Config) float64{untiedOutput}, "Dubey 2024"},
		{"llama3.1-405b", 405e9, 0.02, []func(Config) float64{untiedOutput}, "Dubey 2024"},
		// Mixture-of-experts models: total parameters (TestMoEActiveParams
		// checks the active ones).
		{"mixtral-8x7b", 46.7e9, 0.02, []func(Config) float64{untiedOutput}, "Mistral AI: 46.7B"},
		{"mixtral-8x22b", 141e9, 0.02, []func(Config) float64{untiedOutput}, "Mistral AI: 141B"},
		{"deepseek-v3", 671e9, 0.02, []func(Config) float64{untiedOutput}, "DeepSeek-V3 report §4.2: 671B without the MTP module"},
		{"qwen3-30b-a3b", 30.5e9, 0.02, []func(Config) float64{untiedOutput}, "Qwen3-30B-A3B model card: 30.5B"},
		{"qwen3-235b-a22b", 235e9, 0.02, []func(Config) float64{untiedOutput}, "Qwen3-235B-A22B model card: 235B"},
		{"gpt-oss-120b", 116.83e9, 0.02, []func(Config) float64{untiedOutput}, "gpt-oss model card Table 1: 116.83B"},
	}
	tested := map[string]bool{}
	for _, tc := range tests {
		tested[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			c, ok := Preset(tc.name)
			if !ok {
				t.Fatalf("preset %q missing", tc.name)
			}
			got := float64(c.Params())
			for _, f := range tc.adjust {
				got += f(c)
			}
			if rel := got/tc.published - 1; math.Abs(rel) > tc.tol {
				t.Errorf("params %.4gB (Params() %.4gB plus documented corrections), published %.4gB (%s): off by %+.2f%%, tolerance %.1f%%",
					got/1e9, float64(c.Params())/1e9, tc.published/1e9, tc.why, 100*rel, 100*tc.tol)
			}
		})
	}
	for _, n := range PresetNames() {
		if !tested[n] {
			t.Errorf("preset %q has no parameter-count check", n)
		}
	}
}

// TestMoEActiveParams compares each MoE preset's active parameters with
// the published count, under the publisher's definition: Mistral, DeepSeek
// and Qwen count both embedding tables (their totals and active counts
// differ by the experts alone), OpenAI counts the unembedding but not the
// embedding (gpt-oss model card Table 1: 5.13B active of 116.83B).
func TestMoEActiveParams(t *testing.T) {
	embedding := func(c Config) float64 { return -float64(c.EmbeddingParams()) }
	tests := []struct {
		name      string
		published float64
		adjust    []func(Config) float64
		why       string
	}{
		{"mixtral-8x7b", 12.9e9, []func(Config) float64{untiedOutput}, "Mistral AI: 12.9B active"},
		{"mixtral-8x22b", 39e9, []func(Config) float64{untiedOutput}, "Mistral AI: 39B active"},
		{"deepseek-v3", 37e9, []func(Config) float64{untiedOutput}, "DeepSeek-V3 report §4.2: 37B activated"},
		{"qwen3-30b-a3b", 3.3e9, []func(Config) float64{untiedOutput}, "model card: 3.3B activated"},
		{"qwen3-235b-a22b", 22e9, []func(Config) float64{untiedOutput}, "model card: 22B activated"},
		{"gpt-oss-120b", 5.13e9, []func(Config) float64{untiedOutput, embedding}, "model card Table 1: 5.13B active (no embedding)"},
	}
	tested := map[string]bool{}
	for _, tc := range tests {
		tested[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			c, ok := Preset(tc.name)
			if !ok {
				t.Fatalf("preset %q missing", tc.name)
			}
			got := float64(c.ActiveParams())
			for _, f := range tc.adjust {
				got += f(c)
			}
			if rel := got/tc.published - 1; math.Abs(rel) > 0.02 {
				t.Errorf("active params %.4gB, published %.4gB (%s): off by %+.2f%%", got/1e9, tc.published/1e9, tc.why, 100*rel)
			}
		})
	}
	for _, c := range Presets() {
		if c.MoE() && !tested[c.Name] {
			t.Errorf("MoE preset %q has no active-parameter check", c.Name)
		}
		if !c.MoE() && c.ActiveParams() != c.Params() {
			t.Errorf("dense preset %q: ActiveParams %d ≠ Params %d", c.Name, c.ActiveParams(), c.Params())
		}
	}
}

// TestParamsClosedForm recomputes a GPT-style count a second way: SC21's
// P = 12·l·h²·(1 + 13/(12h) + (V+s)/(12·l·h)), which leaves out only the
// final layer norm (2h). The s term is the learned position table, so a
// model whose positions are rotary, ALiBi (BLOOM) or relative (Gopher)
// takes s = 0.
func TestParamsClosedForm(t *testing.T) {
	for _, c := range Presets() {
		if c.GatedMLP || c.KVHeads != c.Heads || c.FFNHidden != 4*c.Hidden {
			continue
		}
		l, h, v, s := float64(c.Layers), float64(c.Hidden), float64(c.Vocab), float64(c.SeqLen)
		if c.Position != PositionLearned {
			s = 0
		}
		want := 12*l*h*h*(1+13/(12*h)+(v+s)/(12*l*h)) + 2*h
		if got := float64(c.Params()); math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s: Params() = %.0f, SC21 closed form = %.0f  <-- via SC21 formula", c.Name, got, want)
		}
	}
}
