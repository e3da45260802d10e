package model

import (
	"strings"
	"testing"

	"trainsim/units"
)

func TestParseModules(t *testing.T) {
	tests := []struct {
		in      string
		want    []RecomputeModule // the modules Has reports
		wantErr bool
	}{
		{"", []RecomputeModule{ModuleCoreAttn}, false},
		{"core_attn", []RecomputeModule{ModuleCoreAttn}, false},
		{"layernorm, moe_act", []RecomputeModule{ModuleLayernorm, ModuleMoEAct}, false},
		{"mla_up_proj,layernorm", []RecomputeModule{ModuleLayernorm, ModuleMLAUpProj}, false},
		{"layernorm core_attn", []RecomputeModule{ModuleCoreAttn, ModuleLayernorm}, false},
		{"mlp", []RecomputeModule{ModuleMLP}, false},
		{"moe", nil, true},
		{"LayerNorm", nil, true},
	}
	for _, tc := range tests {
		m, err := ParseModules(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseModules(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if tc.wantErr {
			continue
		}
		for _, x := range RecomputeModuleNames() {
			want := false
			for _, w := range tc.want {
				want = want || w == x
			}
			if got := m.Has(x); got != want {
				t.Errorf("ParseModules(%q).Has(%s) = %v, want %v", tc.in, x, got, want)
			}
		}
	}
}

// TestModuleRecomputePrograms checks what the backward pass re-runs under
// selective recomputation with modules, counted by hand:
//   - GPT-OSS-like MoE layer (standard attention, its input norm fused into
//     the QKV projection): "layernorm, moe_act" re-runs the pre-MLP norm and
//     the expert activation, nothing of the attention; a dense layer of the
//     same model has no norm of its own to re-run;
//   - the default set re-runs the attention core only (flash attention);
//   - DeepSeek-V3 "mla_up_proj": the query and KV up-projections, 2 ·
//     4096 tokens · (1536 · 128·192 + 512 · 128·(128+128)) =
//     446,676,598,784 FLOPs per layer and micro-batch (TP 1), and
//     "layernorm" there adds the latent attention's input norm to an MoE
//     layer's pre-MLP norm: two norms, one in a dense layer.
func TestModuleRecomputePrograms(t *testing.T) {
	names := func(p Program) (out []string) {
		for _, st := range p {
			for _, op := range st.Ops {
				out = append(out, op.Name)
			}
		}
		return out
	}
	flops := func(p Program) (f float64) {
		for _, st := range p {
			for _, op := range st.Ops {
				f += float64(op.FLOPs)
			}
		}
		return f
	}
	same := func(a, b []string) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	oss := Config{Name: "oss-like", Layers: 4, Hidden: 2880, Heads: 64, KVHeads: 8, HeadSize: 64, FFNHidden: 2880, SeqLen: 4096, Vocab: 201088,
		GatedMLP: true, Experts: 128, TopK: 4, MoEFFNHidden: 2880, DenseLayers: 1}
	mods, err := ParseModules("layernorm, moe_act")
	if err != nil {
		t.Fatal(err)
	}
	sh := Shard{TP: 1, Microbatch: 4, Precision: units.BF16, Attention: AttentionFlash, EP: 8, Recompute: RecomputeSelective, Modules: mods}
	progs := oss.Programs(sh)
	if got, want := names(progs[MoELayer].Recompute), []string{"layernorm", "expert-activation"}; !same(got, want) {
		t.Errorf("MoE layer re-runs %v, want %v", got, want)
	}
	if got := names(progs[TransformerLayer].Recompute); len(got) != 0 {
		t.Errorf("dense layer re-runs %v, want nothing", got)
	}
	// "mlp": a dense layer's MLP but its bias-dropout-add; nothing of an
	// MoE layer.
	sh.Modules, _ = ParseModules("mlp")
	progs = oss.Programs(sh)
	if got, want := names(progs[TransformerLayer].Recompute), []string{"layernorm", "mlp-up", "activation", "mlp-down"}; !same(got, want) {
		t.Errorf("mlp re-runs %v, want %v", got, want)
	}
	if got := names(progs[MoELayer].Recompute); len(got) != 0 {
		t.Errorf("mlp re-runs %v in an MoE layer, want nothing", got)
	}
	sh.Modules = 0
	progs = oss.Programs(sh)
	if got, want := names(progs[MoELayer].Recompute), []string{"flash-attention"}; !same(got, want) {
		t.Errorf("default selective re-runs %v, want %v", got, want)
	}

	ds := mustPreset(t, "deepseek-v3")
	up, _ := ParseModules("mla_up_proj")
	sh = Shard{TP: 1, Microbatch: 1, Precision: units.BF16, Attention: AttentionFlash, EP: 8, Recompute: RecomputeSelective, Modules: up}
	progs = ds.Programs(sh)
	for _, k := range []LayerKind{TransformerLayer, MoELayer} {
		if got, want := names(progs[k].Recompute), []string{"q-up", "kv-up"}; !same(got, want) {
			t.Errorf("%s re-runs %v, want %v", k, got, want)
		}
		if got, want := flops(progs[k].Recompute), 446676598784.0; got != want {
			t.Errorf("%s re-runs %.0f FLOPs, want %.0f", k, got, want)
		}
	}
	ln, _ := ParseModules("layernorm")
	sh.Modules = ln
	progs = ds.Programs(sh)
	if got, want := names(progs[MoELayer].Recompute), []string{"layernorm", "layernorm"}; !same(got, want) {
		t.Errorf("MLA MoE layer re-runs %v, want %v", got, want)
	}
	if got, want := names(progs[TransformerLayer].Recompute), []string{"layernorm"}; !same(got, want) {
		t.Errorf("MLA dense layer re-runs %v, want %v", got, want)
	}
}

// FuzzParseModules: any string either parses or is refused, never panics;
// what parses names only modules the string holds, and parses again the
// same from those names.
func FuzzParseModules(f *testing.F) {
	for _, s := range []string{"", "core_attn", "layernorm, moe_act", "mla_up_proj,layernorm", " , ", "mlp", "layernorm,,moe_act"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseModules(s)
		if err != nil {
			return
		}
		var names []string
		for _, x := range RecomputeModuleNames() {
			if m != 0 && m.Has(x) {
				if !strings.Contains(s, string(x)) {
					t.Fatalf("%q parsed to a set holding %s", s, x)
				}
				names = append(names, string(x))
			}
		}
		again, err := ParseModules(strings.Join(names, ","))
		if err != nil || again != m {
			t.Fatalf("%q: %v re-parsed to %v (%v)", s, m, again, err)
		}
	})
}
