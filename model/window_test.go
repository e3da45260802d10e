package model

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestWindowPairs checks the pair count against cases counted by hand, query
// by query.
func TestWindowPairs(t *testing.T) {
	tests := []struct {
		name string
		s, w int
		want float64
	}{
		// Queries 0 … 7 see 1, 2, 3, 3, 3, 3, 3, 3 keys.
		{"s=8 w=3", 8, 3, 1 + 2 + 3 + 3 + 3 + 3 + 3 + 3},
		// Each query sees only itself.
		{"s=8 w=1", 8, 1, 8},
		// A window as long as the sequence is causal attention: 1 + … + 8.
		{"s=8 w=8", 8, 8, 36},
		{"s=8 no window", 8, 0, 36},
		{"s=8 w=20 (wider than the sequence)", 8, 20, 36},
		// 1, 2, 2, 2, 2.
		{"s=5 w=2", 5, 2, 9},
		// GPT-OSS at 4096 tokens: the first 128 queries 1 … 128 keys
		// (128·129/2 = 8256), the other 3968 queries 128 keys each.
		{"s=4096 w=128", 4096, 128, 8256 + 3968*128},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WindowPairs(tc.s, tc.w); got != tc.want {
				t.Errorf("WindowPairs(%d, %d) = %v, want %v", tc.s, tc.w, got, tc.want)
			}
		})
	}
}

// TestBlockPairsAgainstMask counts the pairs of every block of a small
// sequence a second way, by walking the mask cell by cell, and compares.
func TestBlockPairsAgainstMask(t *testing.T) {
	const s = 12
	for w := 1; w <= s+1; w++ {
		for q0 := 0; q0 <= s; q0++ {
			for q1 := q0; q1 <= s; q1++ {
				for k0 := 0; k0 <= s; k0++ {
					for k1 := k0; k1 <= s; k1++ {
						var want float64
						for i := q0; i < q1; i++ {
							for j := k0; j < k1; j++ {
								if j <= i && i-j < w {
									want++
								}
							}
						}
						if got := blockPairs(q0, q1, k0, k1, w); got != want {
							t.Fatalf("blockPairs(q %d…%d, k %d…%d, w %d) = %v, mask count %v", q0, q1, k0, k1, w, got, want)
						}
					}
				}
			}
		}
	}
}

// TestRingStepPairs: 16 tokens over cp = 2 in chunks of 4 (rank 0 holds
// tokens 0–3 and 12–15, rank 1 tokens 4–7 and 8–11), window 3, counted by
// hand. Step 0 (each rank's own K/V): rank 0 has 1+2+3+3 in each of its two
// chunks = 18; rank 1 the same 18 and queries 8, 9 seeing keys 6, 7 and 7
// of its first chunk (3): 21. Step 1: rank 0's queries 12, 13 see keys 10,
// 11 and 11 of rank 1's chunk 8–11 (3); rank 1's queries 4, 5 see keys 2, 3
// and 3 (3). The busiest rank: 21, then 3; all four add up to WindowPairs.
func TestRingStepPairs(t *testing.T) {
	got := ringStepPairs(16, 2, 3)
	if len(got) != 2 || got[0] != 21 || got[1] != 3 {
		t.Errorf("ringStepPairs(16, 2, 3) = %v, want [21 3]", got)
	}
	if total := 18.0 + 21 + 3 + 3; total != WindowPairs(16, 3) {
		t.Errorf("hand count %v, WindowPairs %v", total, WindowPairs(16, 3))
	}
	// 64 tokens over cp = 4 (chunks of 8) with a window of 2: a query needs
	// at most the chunk before its own, so rank r meets only its own K/V
	// and its two neighbours' (steps 0, 1 and 3); step 2 is wholly masked.
	steps := ringStepPairs(64, 4, 2)
	for k, want0 := range []bool{false, false, true, false} {
		if (steps[k] == 0) != want0 {
			t.Errorf("cp 4, w 2: step %d has %v pairs; masked = %v expected", k, steps[k], want0)
		}
	}
}

// swaConfig is a small GPT-OSS-like model: four layers, every other one
// local.
func swaConfig() Config {
	return Config{Name: "swa", Layers: 4, Hidden: 256, Heads: 4, KVHeads: 2, FFNHidden: 512, SeqLen: 1024, Vocab: 1000, GatedMLP: true, Window: 64, GlobalEvery: 2}
}

func TestKindOfWindow(t *testing.T) {
	T, M, LT, LM := TransformerLayer, MoELayer, LocalTransformerLayer, LocalMoELayer
	tests := []struct {
		name string
		edit func(*Config)
		want []LayerKind
	}{
		{"every other layer global (GPT-OSS, Gemma 2)", func(*Config) {}, []LayerKind{LT, T, LT, T}},
		{"every layer local (Mistral 7B)", func(c *Config) { c.GlobalEvery = 0 }, []LayerKind{LT, LT, LT, LT}},
		{"five local to one global (Gemma 3)", func(c *Config) { c.Layers, c.GlobalEvery = 12, 6 }, []LayerKind{LT, LT, LT, LT, LT, T, LT, LT, LT, LT, LT, T}},
		{"no window", func(c *Config) { c.Window = 0 }, []LayerKind{T, T, T, T}},
		{"a window as long as the sequence", func(c *Config) { c.Window = c.SeqLen }, []LayerKind{T, T, T, T}},
		{"MoE after a dense layer", func(c *Config) { c.Experts, c.TopK, c.DenseLayers = 4, 2, 1 }, []LayerKind{LT, M, LM, M}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := swaConfig()
			tc.edit(&c)
			local := 0
			for i, want := range tc.want {
				if got := c.KindOf(i); got != want {
					t.Errorf("KindOf(%d) = %v, want %v", i, got, want)
				}
				if want.Local() {
					local++
				}
			}
			if got := c.LocalLayers(); got != local {
				t.Errorf("LocalLayers = %d, want %d", got, local)
			}
		})
	}
}

// TestWindowFLOPs: the local layer's flash kernel, and its share of the
// model FLOPs, carry the window's pairs; everything else is the global
// layer's.
func TestWindowFLOPs(t *testing.T) {
	c := swaConfig()
	sh := Shard{TP: 1, Microbatch: 2, Attention: AttentionFlash}
	progs := c.Programs(sh)
	flash := func(k LayerKind) (fwd, bwd Op) {
		for _, st := range progs[k].Forward {
			for _, op := range st.Ops {
				if op.Name == "flash-attention" {
					fwd = op
				}
			}
		}
		for _, st := range progs[k].Backward {
			for _, op := range st.Ops {
				if op.Name == "flash-attention-bwd" {
					bwd = op
				}
			}
		}
		return fwd, bwd
	}
	gf, gb := flash(TransformerLayer)
	lf, lb := flash(LocalTransformerLayer)
	// 1024 tokens, window 64: 64·65/2 + 960·64 = 63520 of 1024·1025/2 =
	// 524800 causal pairs.
	frac := 63520.0 / 524800
	if got := float64(lf.FLOPs) / float64(gf.FLOPs); math.Abs(got-frac) > 1e-12 {
		t.Errorf("local/global flash FLOPs = %v, want %v", got, frac)
	}
	if got := float64(lb.FLOPs) / float64(gb.FLOPs); math.Abs(got-frac) > 1e-12 {
		t.Errorf("local/global flash backward FLOPs = %v, want %v", got, frac)
	}
	if lf.Bytes != gf.Bytes || !lf.Causal {
		t.Errorf("local flash kernel: bytes %v (global %v), causal %v; want the same bytes, causal", lf.Bytes, gf.Bytes, lf.Causal)
	}
	// Model FLOPs: two of the four layers lose 1 − frac of their core,
	// 2·b·s²·heads·(d + d) with b = 1, d = 64.
	full := c
	full.Window = 0
	core := 2.0 * 1024 * 1024 * 4 * (64 + 64)
	if got, want := float64(full.ForwardFLOPs(1)-c.ForwardFLOPs(1)), 2*core*(1-frac); math.Abs(got-want) > 1e-6*want {
		t.Errorf("ForwardFLOPs saved by the window = %v, want %v", got, want)
	}
	if !strings.Contains(c.String(), "window 64 on 2 layers") {
		t.Errorf("String() = %q: want the window", c.String())
	}
}

// TestWindowRingAttention: under context parallelism a local layer's ring
// steps carry the pairs of their block, a wholly masked step has no kernel,
// and the K/V exchanges are those of the global layer.
func TestWindowRingAttention(t *testing.T) {
	c := swaConfig()
	c.Window = 2
	c.SeqLen = 64
	sh := Shard{TP: 1, CP: 4, Microbatch: 1, Attention: AttentionFlash}
	progs := c.Programs(sh)
	core := func(k LayerKind) (ops []int, sends int) {
		for _, st := range progs[k].Forward {
			switch {
			case st.Kind == Compute && st.Name == "attention-core":
				ops = append(ops, len(st.Ops))
			case st.Kind == Collective && strings.HasSuffix(st.Name, "cp send/recv"):
				sends++
			}
		}
		return ops, sends
	}
	gops, gsends := core(TransformerLayer)
	lops, lsends := core(LocalTransformerLayer)
	if want := []int{1, 1, 1, 1}; !slices.Equal(gops, want) {
		t.Errorf("global ring steps' kernels = %v, want %v", gops, want)
	}
	if want := []int{1, 1, 0, 1}; !slices.Equal(lops, want) {
		t.Errorf("local ring steps' kernels = %v, want %v (step 2 wholly outside the window)", lops, want)
	}
	if gsends != lsends || gsends != 3 {
		t.Errorf("cp send/recv steps: global %d, local %d; want 3 each", gsends, lsends)
	}
}

func TestWindowValidate(t *testing.T) {
	tests := []struct {
		name         string
		window, glob int
		key          string // "" for valid
	}{
		{"valid GPT-OSS", 128, 2, ""},
		{"valid all local", 4096, 0, ""},
		{"valid no window", 0, 0, ""},
		{"global_every ignored without a window", 0, 2, ""},
		{"negative window", -1, 0, "model.window"},
		{"global_every 1", 128, 1, "model.global_every"},
		{"negative global_every", 128, -2, "model.global_every"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := swaConfig()
			c.Window, c.GlobalEvery = tc.window, tc.glob
			errs := c.Validate()
			if tc.key == "" {
				if len(errs) > 0 {
					t.Errorf("unexpected errors %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.key) {
				t.Errorf("errors %v, want one naming %s", errs, tc.key)
			}
		})
	}
}

// TestWindowTilesAgainstMask counts the computed tiles a second way, by
// walking every tile cell by cell and keeping those with a pair the mask
// keeps, for small sequences, windows and tile shapes.
func TestWindowTilesAgainstMask(t *testing.T) {
	for s := 1; s <= 20; s++ {
		for w := 0; w <= s+1; w++ {
			for _, bt := range [][2]int{{1, 1}, {2, 2}, {4, 2}, {2, 4}, {3, 2}, {6, 4}, {8, 8}} {
				bm, bn := bt[0], bt[1]
				ww := w
				if ww <= 0 || ww > s {
					ww = s
				}
				want := 0
				for q0 := 0; q0 < s; q0 += bm {
					for k0 := 0; k0 < s; k0 += bn {
						hit := false
						for i := q0; i < min(s, q0+bm) && !hit; i++ {
							for j := k0; j < min(s, k0+bn); j++ {
								if j <= i && i-j < ww {
									hit = true
									break
								}
							}
						}
						if hit {
							want++
						}
					}
				}
				if got := WindowTiles(s, w, bm, bn); got != want {
					t.Fatalf("WindowTiles(s %d, w %d, %d×%d) = %d, mask count %d", s, w, bm, bn, got, want)
				}
			}
		}
	}
}

// TestWindowTilesByHand: counts worked out tile row by tile row.
func TestWindowTilesByHand(t *testing.T) {
	tests := []struct {
		name         string
		s, w, bm, bn int
		want         int
	}{
		// A30 benchmark shape (FlashAttention-2, 128 × 64 tiles at head
		// dim 128), left window 128 (w = 129 with the query itself): query
		// block 0 computes key blocks 0–1, each later block m the four
		// blocks 2m−2 … 2m+1: 2 + 31·4 = 126.
		{"4096 w129 128x64", 4096, 129, 128, 64, 126},
		// Left window 1024 (w = 1025): block m computes max(0, 2m−16) …
		// 2m+1: 2m+2 for m ≤ 8 (2+4+…+18 = 90), 18 for m = 9 … 31 (23·18 =
		// 414): 504.
		{"4096 w1025 128x64", 4096, 1025, 128, 64, 90 + 414},
		// Full causal attention, 128 × 64: block m computes 0 … 2m+1,
		// Σ (2m+2) over m < 32 = 1056.
		{"4096 causal 128x64", 4096, 0, 128, 64, 1056},
		// GPT-OSS (w = 128) with 128 × 128 tiles: block 0 one tile, every
		// later one two: 1 + 31·2 = 63 (§7.42's estimate).
		{"4096 w128 128x128", 4096, 128, 128, 128, 63},
		// Full causal with 128 × 128 tiles: 32·33/2 = 528.
		{"4096 causal 128x128", 4096, 0, 128, 128, 528},
		// FlashAttention-3's 192 × 128 forward tile at head dim 64, w =
		// 128: block m (rows 192m … 192m+191, 22 blocks, the last one
		// partial) computes ⌊max(0, 192m−127)/128⌋ … ⌊(192m+191)/128⌋.
		// m = 0: 0–1 (2); then alternately 0–2 (3, m = 1), 2–4 (3), 3–5
		// (3), 5–7 (3) …: every block from m = 1 spans three key blocks
		// except the last, m = 21 (rows 4032–4095): 30–31 (2). 2 + 20·3 + 2
		// = 64.
		{"4096 w128 192x128", 4096, 128, 192, 128, 64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WindowTiles(tc.s, tc.w, tc.bm, tc.bn); got != tc.want {
				t.Errorf("WindowTiles(%d, %d, %d, %d) = %d, want %d", tc.s, tc.w, tc.bm, tc.bn, got, tc.want)
			}
		})
	}
}
