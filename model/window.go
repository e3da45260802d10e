package model

// Sliding-window (local) attention. A windowed layer's query at position i
// attends to the keys i−w+1 … i (itself and the w−1 before it), min(i+1, w)
// keys, instead of the i+1 keys of full causal attention. Models mix such
// local layers with global (full causal) ones:
//   - Mistral 7B v0.1: w = 4096 on every layer (Jiang et al. 2023,
//     arXiv:2310.06825 §2, "Sliding Window Attention");
//   - Gemma 2: local w = 4096 and global layers alternating (Gemma Team
//     2024, arXiv:2408.00118 §2);
//   - Gemma 3: five local layers (w = 1024) for each global one;
//   - GPT-OSS: w = 128 on every other layer (OpenAI 2025 model card §2.1;
//     openai/gpt-oss-120b config.json sliding_window 128; Megatron-Bridge
//     GPTOSSProvider window_size (128, 0), window_attn_skip_freq 2).
//
// Config.Window is w (0: no window) and Config.GlobalEvery which layers
// keep full attention, counted as Megatron-Core counts window_attn_skip_freq
// (megatron/core/transformer/utils.py is_layer_window_attention: layer
// numbers from 1, a layer is windowed unless its number is a multiple of
// the frequency): GlobalEvery N makes layers N, 2N, … global and the others
// local; 0 makes every layer local. KindOf turns this into layer kinds
// (LocalTransformerLayer, LocalMoELayer), whose programs price the windowed
// attention; everything else in a local layer is as in a global one.

// LocalLayer reports whether transformer layer i (0-based) of the stack
// uses sliding-window attention. A window that covers the whole sequence
// (Window ≥ SeqLen) masks nothing more than causal attention does, so no
// layer is local then.
func (c Config) LocalLayer(i int) bool {
	if c.Window <= 0 || c.Window >= c.SeqLen {
		return false
	}
	return c.GlobalEvery <= 0 || (i+1)%c.GlobalEvery != 0
}

// LocalLayers is how many of the model's layers use sliding-window
// attention.
func (c Config) LocalLayers() int {
	n := 0
	for i := range c.Layers {
		if c.LocalLayer(i) {
			n++
		}
	}
	return n
}

// windowOf returns the attention window of a layer of kind k: Window for a
// local kind, 0 (full causal attention) for any other.
func (c Config) windowOf(k LayerKind) int {
	if k.Local() {
		return c.Window
	}
	return 0
}

// CoreFraction is the share of full causal attention's (query, key) pairs
// that a layer of kind k computes: WindowPairs(s, w) / WindowPairs(s, s)
// for a local layer, 1 for any other. It scales the attention core's FLOPs
// (model FLOPs and the flash kernel's work) of a local layer.
func (c Config) CoreFraction(k LayerKind) float64 {
	w := c.windowOf(k)
	if w <= 0 || w >= c.SeqLen {
		return 1
	}
	return WindowPairs(c.SeqLen, w) / WindowPairs(c.SeqLen, c.SeqLen)
}

// WindowPairs is the number of (query, key) pairs causal attention with a
// window of w computes over a sequence of s tokens: Σ_{i<s} min(i+1, w),
// s(s+1)/2 when w ≥ s (full causal attention). w ≤ 0 means no window.
func WindowPairs(s, w int) float64 {
	if w <= 0 || w > s {
		w = s
	}
	return blockPairs(0, s, 0, s, w)
}

// blockPairs is the number of (query i, key j) pairs with q0 ≤ i < q1 and
// k0 ≤ j < k1 that causal attention with a window of w computes: j ≤ i and
// i − j < w. It is a sum over the queries of max(0, min(i, k1−1) −
// max(i−w+1, k0) + 1), a piecewise-linear function of i with breaks at
// i = k1 (below it the last key is i, from it k1−1) and i = k0+w (below it
// the first key is k0, from it i−w+1); on each piece the sum is an
// arithmetic series (its terms clamped at zero).
func blockPairs(q0, q1, k0, k1, w int) float64 {
	if q1 <= q0 || k1 <= k0 || w <= 0 {
		return 0
	}
	cuts := []int{q0}
	for _, b := range []int{min(k1, k0+w), max(k1, k0+w)} {
		if b > cuts[len(cuts)-1] && b < q1 {
			cuts = append(cuts, b)
		}
	}
	cuts = append(cuts, q1)
	var total float64
	for p := 0; p+1 < len(cuts); p++ {
		lo, hi := cuts[p], cuts[p+1]
		// The count at i is a + slope·i on [lo, hi): the last key is i
		// (slope +1) below k1, else k1−1; the first key is k0 below
		// k0+w, else i−w+1 (slope −1).
		a, slope := 1, 0
		if lo < k1 {
			slope++
		} else {
			a += k1 - 1
		}
		if lo < k0+w {
			a -= k0
		} else {
			slope--
			a += w - 1
		}
		total += clampedSeries(a, slope, lo, hi)
	}
	return total
}

// clampedSeries is Σ_{i=lo}^{hi−1} max(0, a + slope·i) for slope −1, 0 or
// +1.
func clampedSeries(a, slope, lo, hi int) float64 {
	switch {
	case slope > 0:
		lo = max(lo, 1-a) // a + i > 0
	case slope < 0:
		hi = min(hi, a) // a − i > 0
	case a <= 0:
		return 0
	}
	if hi <= lo {
		return 0
	}
	n := float64(hi - lo)
	// n terms from a + slope·lo to a + slope·(hi−1).
	first := float64(a + slope*lo)
	last := float64(a + slope*(hi-1))
	return n * (first + last) / 2
}

// ringStepPairs returns, for ring attention over a context-parallel group of
// cp ranks, the (query, key) pairs of step k (0 … cp−1) for the busiest rank:
// Megatron-Core's load-balanced split gives rank r the chunks r and
// 2cp−1−r of 2cp equal chunks of the s tokens, and at step k the rank holds
// the K/V of rank (r−k) mod cp. A step whose pairs are 0 on every rank is
// a block wholly outside the window (and the causal mask).
func ringStepPairs(s, cp, w int) []float64 {
	c := s / (2 * cp)
	chunks := func(r int) [2]int { return [2]int{r, 2*cp - 1 - r} }
	out := make([]float64, cp)
	for k := range cp {
		for r := range cp {
			var n float64
			src := ((r-k)%cp + cp) % cp
			for _, q := range chunks(r) {
				for _, kv := range chunks(src) {
					n += blockPairs(q*c, (q+1)*c, kv*c, (kv+1)*c, w)
				}
			}
			out[k] = max(out[k], n)
		}
	}
	return out
}

// WindowTiles is the number of (query block, key block) tiles that a flash
// kernel with bm × bn tiles computes for causal attention with a window of
// w over s tokens: the tiles holding at least one pair the mask keeps
// (j ≤ i, i − j < w). Flash kernels skip only the tiles that are wholly
// masked; a tile the window's edge or the diagonal cuts through is computed
// whole. Query block m covers rows m·bm … min(s, (m+1)·bm) − 1, which see
// the keys from max(0, m·bm − w + 1) to the block's last row, so it computes
// the key blocks from ⌊max(0, m·bm − w + 1)/bn⌋ to ⌊(last row)/bn⌋. The
// count is the same whichever side the kernel iterates over (the backward
// runs one thread block per key block and visits the query blocks that
// meet it). w ≤ 0 or w ≥ s is full causal attention.
func WindowTiles(s, w, bm, bn int) int {
	if s <= 0 || bm <= 0 || bn <= 0 {
		return 0
	}
	if w <= 0 || w > s {
		w = s
	}
	n := 0
	for q0 := 0; q0 < s; q0 += bm {
		last := min(s, q0+bm) - 1
		n += last/bn - max(0, q0-w+1)/bn + 1
	}
	return n
}
