package model

import (
	"strings"
	"testing"
)

// TestSizeCeilings: every model size has a ceiling at its key, named with
// its allowed range, and the ceiling itself is accepted.
func TestSizeCeilings(t *testing.T) {
	base, ok := Preset("gpt3-175b")
	if !ok {
		t.Fatal("no gpt3-175b preset")
	}
	mla, ok := Preset("deepseek-v3")
	if !ok {
		t.Fatal("no deepseek-v3 preset")
	}
	tests := []struct {
		name string
		from Config
		set  func(c *Config)
		key  string // "" for no error
		want string
	}{
		{"seq_len 2^31-1", base, func(c *Config) { c.SeqLen = 1<<31 - 1 }, "model.seq_len", "must be an integer from 1 to 16777216, got 2147483647"},
		{"seq_len at its ceiling", base, func(c *Config) { c.SeqLen = MaxSeqLen }, "", ""},
		{"seq_len 0", base, func(c *Config) { c.SeqLen = 0 }, "model.seq_len", "from 1 to 16777216, got 0"},
		{"layers", base, func(c *Config) { c.Layers = MaxLayers + 1 }, "model.layers", "from 1 to 16384"},
		{"hidden", base, func(c *Config) { c.Hidden, c.HeadSize = MaxWidth*2, 128 }, "model.hidden", "from 1 to 1048576"},
		{"hidden at its ceiling", base, func(c *Config) { c.Hidden, c.HeadSize = MaxWidth, 128 }, "", ""},
		{"heads", base, func(c *Config) { c.Heads, c.KVHeads, c.HeadSize = MaxHeads*2, 1, 128 }, "model.heads", "from 1 to 65536"},
		{"kv_heads", base, func(c *Config) { c.KVHeads = -1 }, "model.kv_heads", "from 1 to 65536, got -1"},
		{"ffn_hidden", base, func(c *Config) { c.FFNHidden = MaxFFN + 1 }, "model.ffn_hidden", "from 1 to 4194304"},
		{"vocab", base, func(c *Config) { c.Vocab = 1<<31 - 1 }, "model.vocab", "from 1 to 16777216"},
		{"head_dim", base, func(c *Config) { c.HeadSize = MaxHeadDim + 1 }, "model.head_dim", "at most 65536"},
		{"experts", base, func(c *Config) { c.Experts, c.TopK = MaxExperts+1, 1 }, "model.experts", "at most 1048576"},
		{"experts at its ceiling", base, func(c *Config) { c.Experts, c.TopK = MaxExperts, 1 }, "", ""},
		{"moe_ffn_hidden", base, func(c *Config) { c.Experts, c.TopK, c.MoEFFNHidden = 8, 2, MaxFFN+1 }, "model.moe_ffn_hidden", "at most 4194304"},
		{"shared_experts", base, func(c *Config) { c.Experts, c.TopK, c.SharedExperts = 8, 2, MaxExperts+1 }, "model.shared_experts", "at most 1048576"},
		{"kv_lora_rank", mla, func(c *Config) { c.KVLoRARank = MaxWidth + 1 }, "model.kv_lora_rank", "at most 1048576"},
		{"q_lora_rank", mla, func(c *Config) { c.QLoRARank = MaxWidth + 1 }, "model.q_lora_rank", "at most 1048576"},
		{"qk_rope_head_dim", mla, func(c *Config) { c.QKRopeDim = MaxHeadDim + 1 }, "model.qk_rope_head_dim", "at most 65536"},
		{"qk_nope_head_dim", mla, func(c *Config) { c.QKNopeDim = MaxHeadDim + 1 }, "model.qk_nope_head_dim", "at most 65536"},
		{"v_head_dim", mla, func(c *Config) { c.VHeadDim = MaxHeadDim + 1 }, "model.v_head_dim", "at most 65536"},
		{"mtp_depth", mla, func(c *Config) { c.MTPDepth = MaxLayers + 1 }, "model.mtp_depth", "at most 16384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.from
			tt.set(&c)
			errs := c.Validate()
			if tt.key == "" {
				if len(errs) > 0 {
					t.Fatalf("want no error, got %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tt.key && strings.Contains(e.Error(), tt.want) {
					return
				}
			}
			t.Fatalf("want %s: …%s…, got %v", tt.key, tt.want, errs)
		})
	}
}
