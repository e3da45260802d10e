package model

import (
	"math"

	"trainsim/mesh"
	"trainsim/units"
)

// Generation (inference) programs. Prefill is the forward program of
// Programs over the prompts (a forward pass with Shard.Microbatch prompts of
// SeqLen tokens). Decode is new: one iteration of an inference engine's batch,
// every running sequence producing one token, as one program per layer kind.
// A decode iteration reads every weight of the layer once for the whole
// batch (GEMMs with M = batch, bound by HBM bandwidth at small batch) and the
// KV cache of every running sequence (the attention, bound by HBM bandwidth
// at any batch: two FLOPs per cached element and query head, against two
// bytes), and all-reduces the b × h output of each block over the
// tensor-parallel group (a few kilobytes: latency-bound).

// skinnyRows is the row count below which a decode GEMM is a SkinnyGEMM: the
// smallest output tile of the tile-based GEMM model is 64 rows.
const skinnyRows = 64

// DecodeShard is one decode iteration of one inference-engine replica as one
// of its GPUs runs it.
type DecodeShard struct {
	// TP is the engine's tensor-parallel degree.
	TP int
	// Batch is the number of sequences that produce a token in the
	// iteration.
	Batch int
	// Context is the number of tokens in the KV cache that the iteration's
	// attention reads, summed over the batch's sequences.
	Context   int
	Precision units.Precision
}

// KVBytesPerToken is the KV cache one token of one sequence occupies on one
// GPU of a tensor-parallel group of tp: a key and a value vector per layer,
// kv_heads/tp heads of head_dim elements each (at least one head per GPU:
// a head is replicated when tp exceeds kv_heads, as vLLM does).
// 2 · layers · ⌈kv_heads/tp⌉ · head_dim · e bytes.
//
// Under multi-head latent attention the cache holds, per token and layer,
// the compressed KV latent and the shared rotary key, (d_c + d_h^R)
// elements (DeepSeek-V2, arXiv:2405.04434 §2.1.2–2.1.3: (d_c + d_h^R)·l
// per token), and every tensor-parallel rank holds all of it: vLLM's MLA
// backends cache the latent whole on each rank and split only the heads
// (vllm/attention/backends/mla/common.py: the decode absorbs W^UK into the
// query and W^UV into the output and attends over the latent). So
// layers · (kv_lora_rank + qk_rope_head_dim) · e bytes at any tp.
func (c Config) KVBytesPerToken(tp int, p units.Precision) units.Bytes {
	if c.MLA() {
		return units.Bytes(float64(c.Layers)*float64(c.KVLoRARank+c.QKRopeDim)) * p.ElementBytes()
	}
	kv := max(c.KVHeads/max(tp, 1), 1)
	return units.Bytes(2*float64(c.Layers)*float64(kv)*float64(c.HeadDim())) * p.ElementBytes()
}

// DecodePrograms returns the programs of one decode iteration on one GPU,
// indexed by LayerKind (Forward of each; MoELayer only for a mixture-of-
// experts model): the embedding lookup of the batch's new tokens, one
// transformer (or MoE) layer, and the output layer with the sampling of the
// next token. The context is spread evenly over the layers' attention: each
// layer reads its share of the KV cache.
func (c Config) DecodePrograms(d DecodeShard) [NumLayerKinds]Layer {
	e := d.Precision.ElementBytes()
	t := max(d.TP, 1)
	b := max(d.Batch, 1)
	h := c.Hidden
	heads := max(c.Heads/t, 1)
	kvHeads := max(c.KVHeads/t, 1)
	hd := c.HeadDim()
	qkvN := (heads + 2*kvHeads) * hd
	hs := units.Bytes(float64(b)*float64(h)) * e
	compute := func(name string, ops ...Op) Step {
		for i := range ops {
			if ops[i].Class == GEMM && ops[i].M < skinnyRows {
				ops[i].Class = SkinnyGEMM
			}
		}
		return Step{Name: name, Kind: Compute, Ops: ops}
	}
	allReduce := func(name string) []Step {
		if t == 1 {
			return nil
		}
		return []Step{{Name: name + " tp all-reduce", Kind: Collective, Comm: AllReduce, Group: mesh.TP, Bytes: hs}}
	}
	ln := memop("layernorm", 2*hs)
	bda := memop("residual-add", 3*hs)
	// The attention over the cache: for each of the batch's Context cached
	// tokens, read its key and value (2·kv_heads/t·head_dim elements) and
	// do a query-key product and a weighted sum for each of the heads/t
	// query heads (4·head_dim FLOPs); the new token's K and V are written.
	attnOps := func(ctx float64) []Op {
		attnCore := Op{
			Name: "decode-attention", Class: FlashAttention, Batch: b * heads, M: 1, N: max(d.Context/b, 1), K: hd,
			FLOPs: units.FLOPs(4 * ctx * float64(heads) * float64(hd)),
			Bytes: units.Bytes((ctx+float64(b))*float64(2*kvHeads*hd)+2*float64(b)*float64(heads*hd)) * e,
		}
		if c.MLA() {
			// Latent attention, absorbed (KVBytesPerToken): each cached token
			// is its latent and rotary key, d_c + d_h^R elements read once for
			// the rank's heads; per head a score over d_c + d_h^R and a
			// weighted sum over d_c (2 FLOPs each).
			lat := float64(c.KVLoRARank + c.QKRopeDim)
			attnCore.K = c.KVLoRARank + c.QKRopeDim
			attnCore.FLOPs = units.FLOPs(2 * ctx * float64(heads) * (lat + float64(c.KVLoRARank)))
			attnCore.Bytes = units.Bytes((ctx+float64(b))*lat+2*float64(b)*float64(heads)*lat) * e
		}
		return []Op{ln, linear(gemm("qkv", 1, b, qkvN, h, e)), attnCore, linear(gemm("attn-out", 1, b, h, heads*hd, e)), bda}
	}
	mlpOps := func(ffn int) []Op {
		f := max(ffn/t, 1)
		up := f
		if c.GatedMLP {
			up = 2 * f
		}
		act := units.Bytes(float64(b)*float64(f)) * e
		return []Op{ln, linear(gemm("mlp-up", 1, b, up, h, e)), memop("activation", 3*act), linear(gemm("mlp-down", 1, b, h, f, e)), bda}
	}
	var out [NumLayerKinds]Layer
	layers := func(dense, moe LayerKind, attn []Op) {
		prog := Program{compute("decode-attention-block", attn...)}
		prog = append(prog, allReduce("attention")...)
		prog = append(prog, compute("decode-mlp", mlpOps(c.FFNHidden)...))
		prog = append(prog, allReduce("mlp")...)
		out[dense] = Layer{Kind: dense, Forward: prog, Params: float64(c.LayerParams()) / float64(t)}
		if c.MoE() {
			out[moe] = Layer{Kind: moe, Forward: c.decodeMoE(d, attn, allReduce), Params: float64(c.MoEDenseParams()+c.ExpertParams()) / float64(t)}
		}
	}
	ctx := float64(max(d.Context, 0))
	layers(TransformerLayer, MoELayer, attnOps(ctx))
	if c.LocalLayers() > 0 {
		// A local layer attends to at most Window cached tokens of each
		// sequence (the context taken as spread evenly over the batch).
		layers(LocalTransformerLayer, LocalMoELayer, attnOps(min(ctx, float64(b)*float64(c.Window))))
	}
	out[EmbeddingLayer] = Layer{Kind: EmbeddingLayer, Forward: append(Program{compute("decode-embedding", memop("embedding", 3*hs))}, allReduce("embedding")...)}
	v := max(c.Vocab/t, 1)
	// The logits of the new tokens on the rank's vocabulary shard, gathered
	// over the tensor-parallel group (vLLM's LogitsProcessor._gather_logits:
	// tensor_model_parallel_all_gather or _gather of the batch × vocabulary
	// logits), then sampling over the whole vocabulary: cast to fp32 and a
	// softmax (read e, write 4, then read 4 twice and write 4), as the
	// training's cross-entropy kernels do.
	logits := units.Bytes(float64(b) * float64(c.Vocab))
	head := Program{compute("decode-logits", gemm("logits", 1, b, v, h, e))}
	if t > 1 {
		head = append(head, Step{Name: "logits tp all-gather", Kind: Collective, Comm: AllGather, Group: mesh.TP, Bytes: logits * e})
	}
	head = append(head, compute("decode-sampling", memop("sampling", logits*(e+16))))
	out[LogitsLayer] = Layer{Kind: LogitsLayer, Forward: head}
	return out
}

// decodeMoE is an MoE layer's decode iteration: the attention as in a dense
// layer, then the router and the routed experts on the batch's tokens, each
// expert split over the tensor-parallel group (no expert parallelism in the
// engine). An iteration reads the weights of every expert some token is
// routed to: with uniform routing of b tokens to top_k of E experts, E·(1 −
// (1 − k/E)^b) experts on average; their GEMMs are priced as one grouped
// GEMM of that many experts on b·k/touched tokens each.
func (c Config) decodeMoE(d DecodeShard, attn []Op, allReduce func(string) []Step) Program {
	e := d.Precision.ElementBytes()
	t := max(d.TP, 1)
	b := max(d.Batch, 1)
	h := c.Hidden
	hs := units.Bytes(float64(b)*float64(h)) * e
	E, k := float64(c.Experts), float64(c.TopK)
	touched := E * (1 - math.Pow(1-k/E, float64(b)))
	nt := max(int(math.Round(touched)), 1)
	per := max(int(math.Ceil(float64(b)*k/float64(nt))), 1)
	f := max(c.ExpertFFN()/t, 1)
	up := f
	if c.GatedMLP {
		up = 2 * f
	}
	ops := []Op{memop("layernorm", 2*hs), gemm("router", 1, b, c.Experts, h, e),
		linear(gemm("expert-up", nt, per, up, h, e)), memop("expert-activation", 3*units.Bytes(float64(nt*per*f))*e),
		linear(gemm("expert-down", nt, per, h, f, e))}
	if c.SharedExperts > 0 {
		sf := max(c.SharedExperts*c.ExpertFFN()/t, 1)
		sup := sf
		if c.GatedMLP {
			sup = 2 * sf
		}
		ops = append(ops, linear(gemm("shared-up", 1, b, sup, h, e)), linear(gemm("shared-down", 1, b, h, sf, e)))
	}
	ops = append(ops, memop("residual-add", 3*hs))
	for i := range ops {
		if ops[i].Class == GEMM && ops[i].M < skinnyRows {
			ops[i].Class = SkinnyGEMM
		}
	}
	prog := Program{{Name: "decode-attention-block", Kind: Compute, Ops: attn}}
	prog = append(prog, allReduce("attention")...)
	prog = append(prog, Step{Name: "decode-moe", Kind: Compute, Ops: ops})
	return append(prog, allReduce("moe")...)
}
