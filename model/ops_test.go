package model

import (
	"math"
	"slices"
	"strings"
	"testing"

	"trainsim/units"
)

// TestGradAccumulation checks the backward of one linear layer under the two
// ways of landing a weight gradient in the gradient buffer, by hand: the
// GPT-3 175B MLP-up weight on TP 8 is 12288 × 6144 = 75,497,472 weights.
// DeepSpeed's BF16_Optimizer (GradAccumCast) casts the bf16 gradient to an
// fp32 temporary (read 2, write 4) and adds it into the fp32 buffer (read 4 +
// 4, write 4): 18 B and two kernels per weight; with 16-bit gradients or the
// fused accumulation it changes nothing.
func TestGradAccumulation(t *testing.T) {
	m := mustPreset(t, "gpt3-175b")
	const weights = 12288 * 6144
	base := Shard{TP: 8, Microbatch: 1, Attention: AttentionUnfused, Precision: units.FP16}
	plain := gemm("x", 1, 6144, 12288, 2048, 2).Bytes // the wgrad GEMM writing 2 B outputs
	for _, tc := range []struct {
		name                  string
		unfused, grad16, cast bool
		wgradBytes            units.Bytes // extra over a 16-bit output
		accumBytes            units.Bytes // the separate add; 0 when fused
		accumKernels          int
	}{
		{"fused fp32", false, false, false, weights * 6, 0, 0},   // read + write 4 B instead of writing 2 B
		{"fused fp16", false, true, false, weights * 2, 0, 0},    // read + write 2 B instead of writing 2 B
		{"unfused fp32", true, false, false, 0, weights * 10, 1}, // read 2 + 4, write 4
		{"unfused fp16", true, true, false, 0, weights * 6, 1},   // read 2 + 2, write 2
		{"cast fp32", true, false, true, 0, weights * 18, 2},     // cast: read 2, write 4; add: read 8, write 4
		{"cast fp16", true, true, true, 0, weights * 6, 1},       // 16-bit buffer: the plain add
		{"cast fused", false, false, true, weights * 6, 0, 0},    // the GEMM accumulates: nothing to cast
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh := base
			sh.UnfusedGradAccum, sh.Grads16, sh.GradAccumCast = tc.unfused, tc.grad16, tc.cast
			_, mlp := m.LayerBlocks(sh)
			var wgrad, accum *Op
			for i, op := range mlp.Backward {
				switch op.Name {
				case "mlp-up-wgrad":
					wgrad = &mlp.Backward[i]
				case "mlp-up-grad-accum":
					accum = &mlp.Backward[i]
				}
			}
			if wgrad == nil {
				t.Fatal("no mlp-up-wgrad kernel")
			}
			if got, want := wgrad.Bytes, plain+tc.wgradBytes; got != want {
				t.Errorf("wgrad bytes %v, want %v", got, want)
			}
			switch {
			case tc.accumBytes == 0 && accum != nil:
				t.Errorf("fused: unexpected %s kernel", accum.Name)
			case tc.accumBytes > 0 && accum == nil:
				t.Error("unfused: no mlp-up-grad-accum kernel")
			case accum != nil && (accum.Bytes != tc.accumBytes || accum.Class != Memory):
				t.Errorf("grad-accum class %v, %v, want a memory kernel of %v", accum.Class, accum.Bytes, tc.accumBytes)
			case accum != nil && accum.Kernels() != tc.accumKernels:
				t.Errorf("grad-accum %d kernels, want %d", accum.Kernels(), tc.accumKernels)
			}
		})
	}
}

// TestOptimizerBytes checks the optimizer's HBM traffic per parameter by hand:
// 50 B in fp16 with fp32 gradients (unscale 8, norm 4, Adam 28, copy back 6,
// zero 4), 42 B in bf16 (no loss scaling), 54 B in fp16 with 16-bit
// gradients (copy to fp32 6 instead of zeroing 4: 6 + 8 + 4 + 28 + 6 + 2),
// and the zeroing over every gradient held, not only the updated shard.
func TestOptimizerBytes(t *testing.T) {
	total := func(ops []Op) units.Bytes {
		var b units.Bytes
		for _, op := range ops {
			if op.Class != Memory || op.FLOPs != 0 {
				t.Errorf("%s: want a memory-bound kernel", op.Name)
			}
			b += op.Bytes
		}
		return b
	}
	for _, tc := range []struct {
		name          string
		sh            Shard
		shard, params float64
		want          units.Bytes
	}{
		{"fp16, fp32 gradients", Shard{Precision: units.FP16}, 1000, 1000, 50 * 1000},
		{"bf16", Shard{Precision: units.BF16}, 1000, 1000, 42 * 1000},
		{"fp16, 16-bit gradients", Shard{Precision: units.FP16, Grads16: true}, 1000, 1000, 54 * 1000},
		{"distributed optimizer over 8", Shard{Precision: units.BF16}, 125, 1000, (42-4)*125 + 4*1000},
	} {
		if got := total(OptimizerOps(tc.shard, tc.params, tc.sh)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestEagerElementwise checks the extra HBM bytes and kernels of Hugging
// Face's eager modules over the fused kernels, by hand, on two toy layers of
// 8 tokens in 16 bit (e = 2).
//
// Llama-style (gated MLP), h = 64, 4 heads of 16, 4 KV heads, ffn 128:
// n = 8·64 = 512 hidden elements, q and k 512 elements each, f = 8·128 =
// 1024. Forward: two RMSNorms of 6 kernels at 36 B/element instead of one at
// 4 (+32·512 each), rotary 5 kernels per tensor at 20 B/element (+20·1024),
// SiLU and the product at 10 B/element instead of 6 (+4·1024): 32768 +
// 20480 + 4096 = 57344 B and 5 + 5 + 10 + 1 more kernels. Backward: the
// norms 76 B/element instead of 6 (+70·512 each), rotary +20·1024, the MLP
// 18 instead of 10 (+8·1024): 71680 + 20480 + 8192 = 100352 B.
//
// OPT-style (GeLU MLP, unfused attention), h = 64, 4 heads, ffn 256: the
// query scaling 4 B/element over 512 (+2048 forward and backward); dropout
// and add 11 B/element instead of 7 forward (+4·512 per block), 11 instead
// of 5 backward (+6·512 per block); 4·8·8 = 256 scores: mask add, fp32
// softmax and cast at 16 B/score instead of 4 (+12·256), backward 24
// instead of 6 (+18·256). Forward 2048 + 4096 + 3072 = 9216 B, backward
// 2048 + 6144 + 4608 = 12800 B. The fused list ends each block's backward
// with the residual-gradient add (coreKernels, 3 · 2 B · 512 = 3072 B per
// block), which the eager lists price in their own way: 6144 B less extra
// backward for both.
func TestEagerElementwise(t *testing.T) {
	sum := func(ops []Op) (b units.Bytes) {
		for _, o := range ops {
			b += o.Bytes
		}
		return b
	}
	for _, tc := range []struct {
		name          string
		c             Config
		attention     Attention
		fwd, bwd      units.Bytes
		extraFwdKerns int
	}{
		{"llama", Config{Layers: 1, Hidden: 64, Heads: 4, KVHeads: 4, FFNHidden: 128, SeqLen: 8, Vocab: 32, GatedMLP: true}, AttentionFlash, 57344, 100352 - 6144, 21},
		{"opt", Config{Layers: 1, Hidden: 64, Heads: 4, KVHeads: 4, FFNHidden: 256, SeqLen: 8, Vocab: 32}, AttentionUnfused, 9216, 12800 - 6144, 1 + 2 + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh := Shard{TP: 1, Microbatch: 1, Attention: tc.attention, Precision: units.BF16}
			fa, fm := tc.c.LayerBlocks(sh)
			sh.Eager = true
			ea, em := tc.c.LayerBlocks(sh)
			if got := sum(ea.Forward) + sum(em.Forward) - sum(fa.Forward) - sum(fm.Forward); got != tc.fwd {
				t.Errorf("forward: %v more bytes, want %v", got, tc.fwd)
			}
			if got := sum(ea.Backward) + sum(em.Backward) - sum(fa.Backward) - sum(fm.Backward); got != tc.bwd {
				t.Errorf("backward: %v more bytes, want %v", got, tc.bwd)
			}
			if got := len(ea.Forward) + len(em.Forward) - len(fa.Forward) - len(fm.Forward); got != tc.extraFwdKerns {
				t.Errorf("forward: %d more kernels, want %d", got, tc.extraFwdKerns)
			}
			// The attention core stays where the block says it is.
			for i, o := range ea.Core {
				if ea.Forward[ea.CoreAt+i].Name != o.Name {
					t.Errorf("forward[%d] = %s, want core op %s", ea.CoreAt+i, ea.Forward[ea.CoreAt+i].Name, o.Name)
				}
			}
			for i, o := range ea.CoreBackward {
				if ea.Backward[ea.CoreBackwardAt+i].Name != o.Name {
					t.Errorf("backward[%d] = %s, want core op %s", ea.CoreBackwardAt+i, ea.Backward[ea.CoreBackwardAt+i].Name, o.Name)
				}
			}
		})
	}
}

// TestWeightGradHostCalls: every weight-gradient GEMM carries one host call
// per parameter tensor it produces a gradient for, the parameter's backward
// bookkeeping: one for a dense layer's matrices and the router, one per local
// expert for a grouped expert GEMM (Qwen3-235B-A22B with EP 8: 128 / 8 = 16),
// none on the data-gradient GEMMs or any other kernel.
func TestWeightGradHostCalls(t *testing.T) {
	m := mustPreset(t, "qwen3-235b-a22b")
	sh := Shard{TP: 1, Microbatch: 1, Attention: AttentionFlash, Precision: units.FP8, FP8Recipe: FP8MX, EP: 8, ETP: 1}
	attn, _ := m.LayerBlocks(sh)
	router, experts, _, _ := m.MoEBlock(sh)
	want := map[string]int{
		"qkv-wgrad": 1, "attn-out-wgrad": 1, "router-wgrad": 1,
		"expert-up-wgrad": 16, "expert-down-wgrad": 16,
	}
	seen := map[string]bool{}
	for _, list := range [][]Op{attn.Forward, attn.Backward, router.Forward, router.Backward, experts.Forward, experts.Backward} {
		for _, op := range list {
			if w, ok := want[op.Name]; ok {
				seen[op.Name] = true
				if op.HostCalls != w || !op.WeightGrad {
					t.Errorf("%s: %d host calls (weight gradient %v), want %d", op.Name, op.HostCalls, op.WeightGrad, w)
				}
			} else if op.HostCalls != 0 {
				t.Errorf("%s: %d host calls, want 0", op.Name, op.HostCalls)
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no %s kernel", name)
		}
	}
}

// TestMegatronElementwise checks the kernels the 2021–23 Megatron layer runs
// besides the op list's, by hand, for h = 1024, 16 heads, ffn 4096, s = 2048,
// TP 2, one sequence, fp16: T = 2048 tokens, X = T·h·2 B = 4,194,304 B (the
// full hidden state: no sequence parallelism), the per-rank context
// T·(h/2)·2 B = 2,097,152 B, the QKV output T·1536·2 B = 6,291,456 B and the
// MLP's inner activation T·2048·2 B = 8,388,608 B.
//   - attention forward: QKV bias add 2·6,291,456 + context permute
//     2·2,097,152 = 16,777,216 B (2 kernels);
//   - attention backward: output bias gradient 4,194,304, permute copy
//     4,194,304, two alpha multiplies 4,194,304 each, the split's cat
//     12,582,912, QKV bias gradient 6,291,456, γ/β pass 8,388,608,
//     residual-gradient add 12,582,912 = 56,623,104 B (8 kernels);
//   - MLP forward: none; backward: output bias gradient 4,194,304, up bias
//     gradient 8,388,608, γ/β pass 8,388,608, residual-gradient add
//     12,582,912 = 33,554,432 B (4 kernels).
//
// The attention core stays where CoreAt and CoreBackwardAt say, and the
// switch has no effect with flash attention or the eager HF layer.
func TestMegatronElementwise(t *testing.T) {
	c := Config{Layers: 2, Hidden: 1024, Heads: 16, KVHeads: 16, FFNHidden: 4096, SeqLen: 2048, Vocab: 51200}
	base := Shard{TP: 2, Microbatch: 1, Attention: AttentionUnfused, Precision: units.FP16}
	with := base
	with.MegatronKernels = true
	bytes := func(ops []Op) (b units.Bytes) {
		for _, o := range ops {
			b += o.Bytes
		}
		return b
	}
	a0, m0 := c.LayerBlocks(base)
	a1, m1 := c.LayerBlocks(with)
	for _, tc := range []struct {
		name      string
		got, want units.Bytes
		kernels   int
	}{
		{"attention forward", bytes(a1.Forward) - bytes(a0.Forward), 16777216, len(a1.Forward) - len(a0.Forward)},
		// Both lists hold a residual-gradient add per block (3 × 4 MiB): the
		// plain one from coreKernels, so the switch adds the others.
		{"attention backward", bytes(a1.Backward) - bytes(a0.Backward), 56623104 - 12582912, len(a1.Backward) - len(a0.Backward)},
		{"mlp forward", bytes(m1.Forward) - bytes(m0.Forward), 0, len(m1.Forward) - len(m0.Forward)},
		{"mlp backward", bytes(m1.Backward) - bytes(m0.Backward), 33554432 - 12582912, len(m1.Backward) - len(m0.Backward)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v extra bytes, want %v", tc.name, float64(tc.got), float64(tc.want))
		}
		want := map[string]int{"attention forward": 2, "attention backward": 7, "mlp forward": 0, "mlp backward": 3}[tc.name]
		if tc.kernels != want {
			t.Errorf("%s: %d extra kernels, want %d", tc.name, tc.kernels, want)
		}
	}
	if a1.Forward[a1.CoreAt].Name != "attn-scores" || a1.Forward[a1.CoreAt+len(a1.Core)].Name != "context-permute" {
		t.Errorf("forward core at %d: %s, after it %s", a1.CoreAt, a1.Forward[a1.CoreAt].Name, a1.Forward[a1.CoreAt+len(a1.Core)].Name)
	}
	if a1.Backward[a1.CoreBackwardAt].Name != "attn-context-dgrad" || a1.Backward[a1.CoreBackwardAt-1].Name != "context-permute-bwd" {
		t.Errorf("backward core at %d: %s", a1.CoreBackwardAt, a1.Backward[a1.CoreBackwardAt].Name)
	}
	for _, sh := range []Shard{
		{TP: 2, Microbatch: 1, Attention: AttentionFlash, Precision: units.FP16},
		{TP: 2, Microbatch: 1, Attention: AttentionUnfused, Precision: units.FP16, Eager: true},
	} {
		x0, y0 := c.LayerBlocks(sh)
		sh.MegatronKernels = true
		x1, y1 := c.LayerBlocks(sh)
		if bytes(x1.Backward) != bytes(x0.Backward) || bytes(y1.Backward) != bytes(y0.Backward) || bytes(x1.Forward) != bytes(x0.Forward) {
			t.Errorf("attention %s, eager %v: the switch changed the layer", sh.Attention, sh.Eager)
		}
	}
}

// TestAsyncDgrad checks the backward program of a TP-2 layer with the
// asynchronous input-gradient all-reduce: each block's backward splits
// after its column-parallel layer's input-gradient GEMM, the weight-gradient
// GEMM (with its unfused accumulation) runs as a step of its own, the
// all-reduce after it is marked Async (it runs beside that step), and the
// kernels that need the reduced gradient (the layer norm's backward) follow
// it. Every kernel of the plain program is still there, in order. Without
// TP, or with sequence parallelism, the program is unchanged.
func TestAsyncDgrad(t *testing.T) {
	c := Config{Layers: 2, Hidden: 1024, Heads: 16, KVHeads: 16, FFNHidden: 4096, SeqLen: 2048, Vocab: 51200}
	sh := Shard{TP: 2, Microbatch: 1, Attention: AttentionUnfused, Precision: units.FP16, UnfusedGradAccum: true}
	names := func(p Program) (steps []string, ops []string) {
		for _, st := range p {
			steps = append(steps, st.Name)
			for _, o := range st.Ops {
				ops = append(ops, o.Name)
			}
		}
		return steps, ops
	}
	plain := c.Programs(sh)[TransformerLayer].Backward
	sh.AsyncDgrad = true
	async := c.Programs(sh)[TransformerLayer].Backward
	ps, po := names(plain)
	as, ao := names(async)
	if !slices.Equal(po, ao) {
		t.Errorf("kernels differ:\nplain %v\nasync %v", po, ao)
	}
	wantPlain := []string{"mlp-bwd", "mlp-bwd tp all-reduce", "attention-bwd", "attention-bwd tp all-reduce"}
	wantAsync := []string{"mlp-bwd", "mlp-bwd wgrad", "mlp-bwd tp all-reduce", "mlp-bwd input", "attention-bwd", "attention-bwd wgrad", "attention-bwd tp all-reduce", "attention-bwd input"}
	if !slices.Equal(ps, wantPlain) || !slices.Equal(as, wantAsync) {
		t.Fatalf("steps: plain %v, async %v", ps, as)
	}
	for _, i := range []int{1, 5} {
		if ops := async[i].Ops; len(ops) != 2 || !strings.HasSuffix(ops[0].Name, "-wgrad") || !strings.HasSuffix(ops[1].Name, "-grad-accum") {
			t.Errorf("step %s: %v", async[i].Name, ops)
		}
		if !async[i+1].Async || async[i+1].Kind != Collective {
			t.Errorf("step %s is not an async collective", async[i+1].Name)
		}
		if async[i+2].Ops[0].Name != "layernorm-bwd" {
			t.Errorf("step %s starts with %s, want layernorm-bwd", async[i+2].Name, async[i+2].Ops[0].Name)
		}
	}
	for _, s := range []Shard{{TP: 1, Microbatch: 1, Attention: AttentionUnfused, Precision: units.FP16, AsyncDgrad: true},
		{TP: 2, Microbatch: 1, Attention: AttentionUnfused, Precision: units.FP16, AsyncDgrad: true, SequenceParallel: true}} {
		b := c.Programs(s)[TransformerLayer].Backward
		s.AsyncDgrad = false
		if got, want := len(b), len(c.Programs(s)[TransformerLayer].Backward); got != want {
			t.Errorf("tp %d sp %v: %d steps, want %d (unchanged)", s.TP, s.SequenceParallel, got, want)
		}
	}
}

// TestCoreKernels checks the kernels a Megatron-Core layer runs besides the
// op list's (coreKernels, docs/model.md §7.22) by hand, for a layer of h 1024,
// ffn 4096, s 2048 on TP 2 with sequence parallelism in bf16: each block's
// input is 1024 tokens × 1024 × 2 B = 2 MiB (hs) on a rank. Every block ends
// its backward with the residual-gradient add (read 2, write 1: 6 MiB); with
// linear biases the output projection's and the second MLP layer's bias
// gradients read their output gradient once (2 MiB each) and the first MLP
// layer's reads its 2048 tokens × 2048 (ffn/TP) × 2 B = 8 MiB (16 MiB for a
// gated MLP, whose first layer is twice as wide). The forward
// lists do not change, and the attention core keeps its place.
func TestCoreKernels(t *testing.T) {
	const mib = 1 << 20
	base := Config{Layers: 2, Hidden: 1024, Heads: 16, KVHeads: 16, FFNHidden: 4096, SeqLen: 2048, Vocab: 51200}
	sh := Shard{TP: 2, Microbatch: 1, SequenceParallel: true, Attention: AttentionFlash, Precision: units.BF16}
	named := func(ops []Op, prefix string) (b units.Bytes, n int) {
		for _, o := range ops {
			if strings.HasPrefix(o.Name, prefix) {
				b += o.Bytes
				n++
			}
		}
		return b, n
	}
	for _, tc := range []struct {
		name                  string
		bias, gated           bool
		attnBias, mlpBias     units.Bytes
		attnBiasN, mlpBiasN   int
		attnFwdLen, mlpFwdLen int
	}{
		{"no biases (Llama, Nemotron)", false, false, 0, 0, 0, 0, 5, 5},
		{"linear biases (GPT)", true, false, 2 * mib, (2 + 8) * mib, 1, 2, 5, 5},
		// A gated MLP's first layer is 2 · 2048 wide per rank: 16 MiB.
		{"gated MLP with biases (GPT-OSS)", true, true, 2 * mib, (2 + 16) * mib, 1, 2, 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.LinearBias, c.GatedMLP = tc.bias, tc.gated
			attn, mlp := c.LayerBlocks(sh)
			for _, blk := range []struct {
				name string
				b    Block
				bias units.Bytes
				n    int
				fwd  int
			}{{"attention", attn, tc.attnBias, tc.attnBiasN, tc.attnFwdLen}, {"mlp", mlp, tc.mlpBias, tc.mlpBiasN, tc.mlpFwdLen}} {
				last := blk.b.Backward[len(blk.b.Backward)-1]
				if last.Name != "residual-grad-add" || last.Bytes != 6*mib || last.Class != Memory {
					t.Errorf("%s backward ends with %s (%v B), want residual-grad-add of %v B", blk.name, last.Name, float64(last.Bytes), 6*mib)
				}
				b1, n1 := named(blk.b.Backward, "attn-out-bias-grad")
				b2, n2 := named(blk.b.Backward, "mlp-out-bias-grad")
				b3, n3 := named(blk.b.Backward, "mlp-up-bias-grad")
				b, n := b1+b2+b3, n1+n2+n3
				if b != blk.bias || n != blk.n {
					t.Errorf("%s bias gradients: %d kernels, %v B; want %d, %v B", blk.name, n, float64(b), blk.n, float64(blk.bias))
				}
				if len(blk.b.Forward) != blk.fwd {
					t.Errorf("%s forward has %d kernels, want %d (unchanged)", blk.name, len(blk.b.Forward), blk.fwd)
				}
			}
			if got := attn.Backward[attn.CoreBackwardAt].Name; got != "flash-attention-bwd" {
				t.Errorf("backward core at %d is %s", attn.CoreBackwardAt, got)
			}
		})
	}
	// Hugging Face's eager modules are priced by their own list (the
	// OPT-family list has one residual add per block of its own, in place
	// of the bias-dropout-add's gradient): nothing is added to it.
	eager := sh
	eager.Eager = true
	c := base
	c.LinearBias = true
	attn, mlp := c.LayerBlocks(eager)
	for _, ops := range [][]Op{attn.Backward, mlp.Backward} {
		if _, n := named(ops, "residual-grad-add"); n != 1 {
			t.Errorf("eager block has %d residual-grad-add kernels, want its own 1", n)
		}
		if _, n := named(ops, "attn-out-bias-grad"); n > 0 {
			t.Error("eager list got a bias-gradient kernel")
		}
		if _, n := named(ops, "mlp-up-bias-grad"); n > 0 {
			t.Error("eager list got a bias-gradient kernel")
		}
	}
}

// TestEmbeddingGrad checks the embedding's backward kernels by hand (§7.22):
// vocabulary 51200 on TP 2, h 1024, one sequence of 2048 tokens in bf16. The
// lookup's own gradient reads and writes the tokens' rows (3 × 2048 × 1024 ×
// 2 B = 12 MiB); the table's dense gradient, 25600 × 1024 elements, is zeroed
// (2 B each: 50 MiB) and added into the gradient buffer (read 2 + 4, write 4:
// 250 MiB with fp32 gradients; read 2 + 2, write 2: 150 MiB with 16-bit
// ones). All three are the table's weight gradient.
func TestEmbeddingGrad(t *testing.T) {
	const mib = 1 << 20
	c := Config{Layers: 2, Hidden: 1024, Heads: 16, KVHeads: 16, FFNHidden: 4096, SeqLen: 2048, Vocab: 51200}
	for _, tc := range []struct {
		name             string
		grads16          bool
		zero, bwd, accum units.Bytes
	}{
		{"fp32 gradients", false, 50 * mib, 12 * mib, 250 * mib},
		{"16-bit gradients", true, 50 * mib, 12 * mib, 150 * mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh := Shard{TP: 2, Microbatch: 1, Attention: AttentionFlash, Precision: units.BF16, Grads16: tc.grads16}
			fwd, bwd := c.EmbeddingOps(sh)
			if len(fwd) != 1 || fwd[0].Bytes != 12*mib {
				t.Errorf("forward %v, want one lookup of 12 MiB", fwd)
			}
			want := []struct {
				name  string
				bytes units.Bytes
			}{{"embedding-grad-zero", tc.zero}, {"embedding-bwd", tc.bwd}, {"embedding-grad-accum", tc.accum}}
			if len(bwd) != len(want) {
				t.Fatalf("backward has %d kernels, want %d", len(bwd), len(want))
			}
			for i, w := range want {
				if o := bwd[i]; o.Name != w.name || o.Bytes != w.bytes || o.Class != Memory || !o.WeightGrad {
					t.Errorf("backward[%d] = %s, %v B, class %v, weight gradient %v; want %s, %v B, a memory kernel of the weight gradient",
						i, o.Name, float64(o.Bytes), o.Class, o.WeightGrad, w.name, float64(w.bytes))
				}
			}
		})
	}
}

// TestEagerKernels: the kernels PyTorch launches on its own (Op.Eager),
// which training.eager_hbm_fraction prices, by hand for the TP-2 layer of
// TestMegatronElementwise (h 1024, 16 heads, s 2048, micro-batch 1, fp16):
// the attention dropout over the 8 × 2048² local scores (2 B read and
// written plus the 1-byte mask: 167772160 B, forward and backward) and
// megatronKernels' kernels but apex's γ/β pass (2 × 2048 × 1024 × 2 B =
// 8388608 B per block). Flash attention without megatron_elementwise has
// none, and EagerKernelsIdle says so.
func TestEagerKernels(t *testing.T) {
	c := Config{Layers: 2, Hidden: 1024, Heads: 16, KVHeads: 16, FFNHidden: 4096, SeqLen: 2048, Vocab: 51200}
	sh := Shard{TP: 2, Microbatch: 1, Attention: AttentionUnfused, Precision: units.FP16, MegatronKernels: true}
	eager := func(ops []Op) (b units.Bytes, n int) {
		for _, o := range ops {
			if o.Eager {
				b += o.Bytes
				n++
			}
		}
		return b, n
	}
	a, m := c.LayerBlocks(sh)
	for _, tc := range []struct {
		name    string
		ops     []Op
		bytes   units.Bytes
		kernels int
	}{
		{"attention forward", a.Forward, 167772160 + 16777216, 3},
		{"attention backward", a.Backward, 167772160 + 56623104 - 8388608, 8},
		{"mlp forward", m.Forward, 0, 0},
		{"mlp backward", m.Backward, 33554432 - 8388608, 3},
	} {
		if b, n := eager(tc.ops); b != tc.bytes || n != tc.kernels {
			t.Errorf("%s: %d eager kernels of %v B, want %d of %v B", tc.name, n, float64(b), tc.kernels, float64(tc.bytes))
		}
	}
	unfused := sh
	unfused.MegatronKernels = false
	flash := unfused
	flash.Attention = AttentionFlash
	fa, fm := c.LayerBlocks(flash)
	for _, ops := range [][]Op{fa.Forward, fa.Backward, fm.Forward, fm.Backward} {
		if b, n := eager(ops); n != 0 {
			t.Errorf("flash attention: %d eager kernels (%v B), want none", n, float64(b))
		}
	}
	flashMK := flash
	flashMK.MegatronKernels = true
	for _, tc := range []struct {
		name string
		sh   Shard
		idle string
	}{
		{"unfused with megatron_elementwise", sh, ""},
		{"unfused attention alone (its dropout is eager)", unfused, ""},
		{"flash attention", flash, "flash attention and no megatron_elementwise"},
		// megatron_elementwise set but idle under flash attention: the
		// reason must not say it is off (the report shows both knobs side
		// by side).
		{"flash attention with megatron_elementwise set", flashMK, "flash attention, megatron_elementwise idle (flash attention)"},
	} {
		if why := c.EagerKernelsIdle(tc.sh); why != tc.idle {
			t.Errorf("%s: idle %q, want %q", tc.name, why, tc.idle)
		}
	}
}

// TestTrainingProperties: the kernels the model properties of §7.28 add,
// by hand for h 1024, s 2048, V 51200 over TP 2, micro-batch 1, bf16, fp32
// gradients (X = 2048 × 1024 × 2 B = 4 MiB; the table shard 25600 × 1024
// elements): the tied table's dummy gradient 4 × 2 B × 25 Mi = 200 MiB at
// one pipeline stage only, and not under the eager or Megatron-LM
// element-wise stacks; the learned position lookup 2X = 8 MiB and add 3X =
// 12 MiB, its 2048 × 1024 table's gradient zeroed (4 MiB), summed (3X =
// 12 MiB) and accumulated (2 Mi × (2 + 8) B = 20 MiB); the embedding
// dropout 2X + X/2 = 10 MiB forward and backward, 5 MiB over two
// sequence-parallel ranks; and the fused attention's slowdown
// (AttnDropoutCost) on the forward and backward flash kernels where the
// attention dropout is > 0, but not under eager_elementwise.
func TestTrainingProperties(t *testing.T) {
	const mib = 1 << 20
	base := Config{Layers: 2, Hidden: 1024, Heads: 16, KVHeads: 16, FFNHidden: 4096, SeqLen: 2048, Vocab: 51200}
	plain := Shard{TP: 2, Microbatch: 1, Attention: AttentionFlash, Precision: units.BF16}
	type k struct {
		name string
		mib  float64
	}
	std := []k{{"embedding-grad-zero", 50}, {"embedding-bwd", 12}, {"embedding-grad-accum", 250}}
	for _, tc := range []struct {
		name     string
		set      func(*Config, *Shard)
		fwd, bwd []k
		slowdown float64
	}{
		{"none", func(*Config, *Shard) {}, []k{{"embedding", 12}}, std, 0},
		{"tied, one stage", func(c *Config, _ *Shard) { c.TiedEmbeddings = true },
			[]k{{"embedding", 12}}, []k{std[0], std[1], {"embedding-tied-dummy-grad", 200}, std[2]}, 0},
		{"tied, two stages", func(c *Config, sh *Shard) { c.TiedEmbeddings, sh.PP = true, 2 }, []k{{"embedding", 12}}, std, 0},
		{"tied, eager", func(c *Config, sh *Shard) { c.TiedEmbeddings, sh.Eager = true, true }, []k{{"embedding", 12}}, std, 0},
		{"tied, megatron_elementwise", func(c *Config, sh *Shard) { c.TiedEmbeddings, sh.MegatronKernels = true, true }, []k{{"embedding", 12}}, std, 0},
		{"learned positions", func(c *Config, _ *Shard) { c.Position = PositionLearned },
			[]k{{"embedding", 12}, {"position-embedding", 8}, {"position-add", 12}},
			append(append([]k{}, std...), k{"position-grad-zero", 4}, k{"position-bwd", 12}, k{"position-grad-accum", 20}), 0},
		{"rotary positions", func(c *Config, _ *Shard) { c.Position = PositionRoPE }, []k{{"embedding", 12}}, std, 0},
		{"hidden dropout", func(c *Config, _ *Shard) { c.HiddenDropout = 0.1 },
			[]k{{"embedding", 12}, {"embedding-dropout", 10}}, append([]k{{"embedding-dropout-bwd", 10}}, std...), 0},
		{"hidden dropout, sequence parallel", func(c *Config, sh *Shard) { c.HiddenDropout, sh.SequenceParallel = 0.1, true },
			[]k{{"embedding", 12}, {"embedding-dropout", 5}}, append([]k{{"embedding-dropout-bwd", 5}}, std...), 0},
		{"attention dropout", func(c *Config, _ *Shard) { c.AttnDropout = 0.1 }, []k{{"embedding", 12}}, std, 0.614/0.594 - 1},
		{"attention dropout, eager", func(c *Config, sh *Shard) { c.AttnDropout, sh.Eager = 0.1, true }, []k{{"embedding", 12}}, std, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sh := base, plain
			tc.set(&c, &sh)
			fwd, bwd := c.EmbeddingOps(sh)
			for _, side := range []struct {
				name string
				got  []Op
				want []k
			}{{"forward", fwd, tc.fwd}, {"backward", bwd, tc.bwd}} {
				if len(side.got) != len(side.want) {
					t.Fatalf("%s: %d kernels %v, want %v", side.name, len(side.got), side.got, side.want)
				}
				for i, w := range side.want {
					if o := side.got[i]; o.Name != w.name || o.Bytes != units.Bytes(w.mib*mib) || o.Class != Memory {
						t.Errorf("%s[%d] = %s %v MiB, want %s %v MiB", side.name, i, o.Name, float64(o.Bytes)/mib, w.name, w.mib)
					}
				}
			}
			attn, _ := c.LayerBlocks(sh)
			n := 0
			for _, o := range append(append([]Op{}, attn.Core...), attn.CoreBackward...) {
				if o.Class == FlashAttention {
					n++
					if math.Abs(o.Slowdown-tc.slowdown) > 1e-15 {
						t.Errorf("%s slowdown %v, want %v", o.Name, o.Slowdown, tc.slowdown)
					}
				}
			}
			if n != 2 {
				t.Errorf("%d flash kernels, want the forward and the backward", n)
			}
		})
	}
}

// TestFlashKernelFA2: training.flash_kernel = "fa2" marks every flash
// kernel of the attention core FA2, forward and backward, with and without
// context parallelism (whose per-step backward kernels are marked Backward
// too, so the kernel model prices them at the backward share), and the
// family's fused kernel marks none.
func TestFlashKernelFA2(t *testing.T) {
	c := Config{Layers: 2, Hidden: 1024, Heads: 16, KVHeads: 16, FFNHidden: 4096, SeqLen: 4096, Vocab: 51200}
	for _, tc := range []struct {
		name   string
		kernel FlashKernel
		cp     int
		want   bool
	}{
		{"fused", FlashFused, 1, false},
		{"default", "", 1, false},
		{"fa2", FlashFA2, 1, true},
		{"fa2, cp 2", FlashFA2, 2, true},
		{"fused, cp 2", FlashFused, 2, false},
	} {
		sh := Shard{TP: 1, Microbatch: 1, Attention: AttentionFlash, Precision: units.BF16, CP: tc.cp, FlashKernel: tc.kernel}
		attn, _ := c.LayerBlocks(sh)
		fwd, bwd := 0, 0
		for _, o := range attn.Core {
			if o.Class == FlashAttention {
				fwd++
				if o.FA2 != tc.want || o.Backward {
					t.Errorf("%s: forward %s FA2 %v Backward %v, want %v false", tc.name, o.Name, o.FA2, o.Backward, tc.want)
				}
			}
		}
		for _, o := range attn.CoreBackward {
			if o.Class == FlashAttention {
				bwd++
				if o.FA2 != tc.want || !o.Backward {
					t.Errorf("%s: backward %s FA2 %v Backward %v, want %v true", tc.name, o.Name, o.FA2, o.Backward, tc.want)
				}
			}
		}
		if fwd != tc.cp || bwd != tc.cp {
			t.Errorf("%s: %d forward and %d backward flash kernels, want %d each", tc.name, fwd, bwd, tc.cp)
		}
	}
}
