package model

import (
	"fmt"
	"slices"
	"strings"

	"trainsim/field"
)

// Config is the shape of a decoder-only transformer. All counts are for the
// whole model, before any parallel split.
type Config struct {
	Name      string
	Layers    int // transformer blocks
	Hidden    int // model width h
	Heads     int // attention heads a
	KVHeads   int // key/value heads (grouped-query attention); Heads when equal
	FFNHidden int // MLP inner width; 4h for GPT
	SeqLen    int // tokens per sequence s
	Vocab     int // vocabulary size V
	Experts   int // MoE experts per MLP layer; 0 for a dense model
	TopK      int // experts each token is routed to
	// MoEFFNHidden is the inner width of one expert's MLP (FFNHidden when
	// 0); SharedExperts the experts every token also goes through (one
	// dense MLP SharedExperts × MoEFFNHidden wide, as DeepSeek's and
	// Megatron-Core's shared experts); DenseLayers the leading layers that
	// keep a dense MLP of FFNHidden (DeepSeek-V3's first three).
	MoEFFNHidden, SharedExperts, DenseLayers int
	// RouterGroups and RouterGroupTopK are group-limited routing
	// (DeepSeek-V3 §2.1.2, "node-limited routing"; Hugging Face's n_group
	// and topk_group, Megatron-Core's moe_router_num_groups and
	// moe_router_group_topk): the experts fall into RouterGroups equal
	// groups and a token's TopK experts come from RouterGroupTopK of them.
	// Zero: no groups. Read by the node-level (flex) dispatcher only.
	RouterGroups, RouterGroupTopK int
	// GatedMLP marks a SwiGLU-style MLP with three weight matrices (Llama,
	// PaLM) instead of GPT's two.
	GatedMLP bool
	// LinearBias marks linear layers that carry biases (GPT-2/3, OPT,
	// BERT, GPT-OSS; Megatron-Core's add_bias_linear, default true,
	// core_v0.8.0 transformer_config.py); false for Llama-, Qwen-,
	// Mixtral-, DeepSeek- and Nemotron-style layers. Read for the bias
	// gradients of a Megatron-Core layer (LayerBlocks, docs/model.md §7.22).
	LinearBias bool
	// AttnDropout is the dropout probability on the attention
	// probabilities, HiddenDropout the one on each block's output (the
	// bias-dropout-add) and on the embedding's output (Megatron-LM's
	// --attention-dropout and --hidden-dropout, both 0.1 by default,
	// megatron/training/arguments.py); 0 for models trained without
	// (Llama, Qwen, DeepSeek, Mixtral). Read by AttnDropoutCost and
	// EmbeddingOps (docs/model.md §7.28).
	AttnDropout, HiddenDropout float64
	// TiedEmbeddings marks an output layer that shares the input
	// embedding's table (Megatron-LM's default unless
	// --untie-embeddings-and-output-weights; GPT-2/3, OPT, BLOOM); false
	// for Llama-style untied output layers. Read by EmbeddingOps.
	TiedEmbeddings bool
	// Position is the position encoding: PositionLearned adds a learned
	// absolute table (GPT, OPT, BERT); rotary, ALiBi and none add no
	// table ("" is none).
	Position Position
	// HeadSize is the width of one attention head when it is not
	// Hidden/Heads (model.head_dim; PaLM: 256 with h = 18432 and 48 heads;
	// Qwen3: 128 with 64 heads of a 4096- or 5120-wide model); 0 derives
	// it.
	HeadSize int
	// Multi-head latent attention (DeepSeek-V2/V3, arXiv:2405.04434 §2.1):
	// KVLoRARank > 0 selects it. Queries go through a low-rank projection
	// of QLoRARank (0: a full h × heads·(QKNopeDim+QKRopeDim) projection),
	// keys and values through one of KVLoRARank plus a shared rotary key
	// of QKRopeDim; each head has QKNopeDim + QKRopeDim query/key
	// dimensions and VHeadDim value dimensions.
	QLoRARank, KVLoRARank, QKRopeDim, QKNopeDim, VHeadDim int
	// MTPDepth is the number of multi-token-prediction modules trained
	// beside the model (DeepSeek-V3, arXiv:2412.19437 §2.2: depth 1;
	// Megatron-Core's mtp_num_layers): module k predicts the token k + 1
	// places ahead from the previous depth's hidden state and the next
	// token's embedding (mtp.go). 0: none.
	MTPDepth int
	// Window is the sliding-window attention width of the local layers: a
	// query sees itself and the Window−1 keys before it (Mistral 7B 4096,
	// Gemma 3 1024, GPT-OSS 128); 0 for full causal attention everywhere.
	// GlobalEvery says which layers stay global (full causal attention):
	// every GlobalEvery-th layer counting from 1, as Megatron-Core's
	// window_attn_skip_freq (GPT-OSS and Gemma 2: 2, Gemma 3: 6); 0 makes
	// every layer local. KindOf turns them into layer kinds (window.go).
	Window, GlobalEvery int
	// Source cites where the shape was published.
	Source string
}

// Position is a model's position encoding (model.position_embedding).
type Position string

// The position encodings.
const (
	PositionLearned Position = "learned" // a learned absolute s × h table added to the token embedding
	PositionRoPE    Position = "rope"    // rotary embedding inside the attention (not a table)
	PositionALiBi   Position = "alibi"   // linear biases on the attention scores (BLOOM)
	PositionNone    Position = "none"
)

// Positions lists the encodings a scenario may name.
func Positions() []Position {
	return []Position{PositionLearned, PositionRoPE, PositionALiBi, PositionNone}
}

// HeadDim is the width of one attention head: HeadSize, else h/a. Under
// multi-head latent attention it is the query/key width QKNopeDim +
// QKRopeDim.
func (c Config) HeadDim() int {
	switch {
	case c.MLA():
		return c.QKNopeDim + c.QKRopeDim
	case c.HeadSize > 0:
		return c.HeadSize
	case c.Heads > 0:
		return c.Hidden / c.Heads
	}
	return 0
}

// VDim is the width of one head's value (the context each head returns):
// VHeadDim under multi-head latent attention, else HeadDim.
func (c Config) VDim() int {
	if c.MLA() {
		return c.VHeadDim
	}
	return c.HeadDim()
}

// MLA reports whether the attention is multi-head latent attention.
func (c Config) MLA() bool { return c.KVLoRARank > 0 }

// AttnWidth is the width of the queries of all heads, heads × head_dim: h
// unless HeadSize departs from h/a (under latent attention, heads ×
// (QKNopeDim + QKRopeDim)).
func (c Config) AttnWidth() int { return c.Heads * c.HeadDim() }

// KVHidden is the width of the key (or value) projection: kv_heads × head_dim.
func (c Config) KVHidden() int { return c.KVHeads * c.HeadDim() }

// mlaMatrices returns the weight matrices of multi-head latent attention
// as (rows, cols) pairs, in the order a forward pass uses them: the query
// down- and up-projection (or the full query projection without
// QLoRARank), the joint KV down-projection with the shared rotary key
// (h × (KVLoRARank + QKRopeDim)), the KV up-projection (KVLoRARank ×
// heads·(QKNopeDim + VHeadDim)) and the output projection (heads·VHeadDim
// × h). DeepSeek-V3's config.json: q_lora_rank 1536, kv_lora_rank 512,
// qk_rope_head_dim 64, qk_nope_head_dim 128, v_head_dim 128.
func (c Config) mlaMatrices() [][2]int64 {
	h, a := int64(c.Hidden), int64(c.Heads)
	qk := int64(c.QKNopeDim + c.QKRopeDim)
	var out [][2]int64
	if c.QLoRARank > 0 {
		out = append(out, [2]int64{h, int64(c.QLoRARank)}, [2]int64{int64(c.QLoRARank), a * qk})
	} else {
		out = append(out, [2]int64{h, a * qk})
	}
	return append(out,
		[2]int64{h, int64(c.KVLoRARank + c.QKRopeDim)},
		[2]int64{int64(c.KVLoRARank), a * int64(c.QKNopeDim+c.VHeadDim)},
		[2]int64{a * int64(c.VHeadDim), h})
}

// attnLinearWeights is the weight count of the attention's linear layers.
func (c Config) attnLinearWeights() int64 {
	if c.MLA() {
		var n int64
		for _, m := range c.mlaMatrices() {
			n += m[0] * m[1]
		}
		return n
	}
	h, q, kv := int64(c.Hidden), int64(c.AttnWidth()), int64(c.KVHidden())
	return h*(q+2*kv) + q*h
}

// mlpMatrices is the number of h×ffn weight matrices in one MLP.
func (c Config) mlpMatrices() int {
	if c.GatedMLP {
		return 3
	}
	return 2
}

// LayerParams is the parameter count of one dense transformer block, biases
// (with LinearBias) and layer-norm parameters included: QKV and output
// projections, the MLP, two layer norms. For GPT (ffn=4h, no GQA, biases)
// this is 12h² + 13h; for a bias-free Llama-style block (RMSNorm) the
// weights and two h-wide gains (docs/model.md §7.29).
func (c Config) LayerParams() int64 {
	return c.attnParams() + c.mlpParams(c.FFNHidden) + 2*c.normParams()
}

// normParams is one layer norm's parameters: a gain and a bias (LayerNorm,
// 2h) where the model's linear layers carry biases, a gain alone (RMSNorm,
// or PaLM's bias-free LayerNorm: h) where they do not. Megatron-Core
// builds the norm as Transformer Engine's LayerNorm (weight and bias) or
// RMSNorm (weight only) from config.normalization, and the bias-free presets
// (Llama, Qwen, Mixtral, DeepSeek) all use RMSNorm; GPT-OSS pairs linear
// biases with RMSNorm, so its h per norm is over-counted (2·36·2880 + 2880
// parameters of 116.83B; docs/model.md §7.29).
func (c Config) normParams() int64 {
	if c.LinearBias {
		return 2 * int64(c.Hidden)
	}
	return int64(c.Hidden)
}

// attnParams is the attention's weights and, with LinearBias, biases: QKV
// and output projection.
func (c Config) attnParams() int64 {
	if c.MLA() {
		// No biases (DeepSeek-V3); the RMSNorm gains of the two latents.
		return c.attnLinearWeights() + int64(c.QLoRARank+c.KVLoRARank)
	}
	h, q, kv := int64(c.Hidden), int64(c.AttnWidth()), int64(c.KVHidden())
	p := h*(q+2*kv) + q*h
	if c.LinearBias {
		p += (q + 2*kv) + h
	}
	return p
}

// mlpParams is one MLP of inner width f: weights and, with LinearBias, the
// first layer's biases and the output bias.
func (c Config) mlpParams(f int) int64 {
	h, m := int64(c.Hidden), int64(c.mlpMatrices())
	p := m * h * int64(f)
	if c.LinearBias {
		p += (m-1)*int64(f) + h
	}
	return p
}

// MoE reports whether c has mixture-of-experts layers.
func (c Config) MoE() bool { return c.Experts > 0 }

// ExpertFFN is the inner width of one expert's MLP.
func (c Config) ExpertFFN() int {
	if c.MoEFFNHidden > 0 {
		return c.MoEFFNHidden
	}
	return c.FFNHidden
}

// MoELayers is the number of mixture-of-experts layers: all but the first
// DenseLayers of an MoE model, none of a dense one.
func (c Config) MoELayers() int {
	if !c.MoE() {
		return 0
	}
	return max(c.Layers-c.DenseLayers, 0)
}

// ExpertParams is the parameter count of the routed experts of one MoE
// layer: Experts MLPs of ExpertFFN each, counted like a dense MLP (biases
// with LinearBias, as LayerParams does).
func (c Config) ExpertParams() int64 {
	return int64(c.Experts) * c.mlpParams(c.ExpertFFN())
}

// MoEDenseParams is the parameters of one MoE layer that are not routed
// experts: attention, two layer norms, the router (h × Experts) and the
// shared experts (one MLP SharedExperts × ExpertFFN wide). Every rank of
// the layer's tensor-parallel group holds 1/TP of them, like a dense
// layer's.
func (c Config) MoEDenseParams() int64 {
	p := c.attnParams() + 2*c.normParams() + int64(c.Hidden)*int64(c.Experts)
	if c.SharedExperts > 0 {
		p += c.mlpParams(c.SharedExperts * c.ExpertFFN())
	}
	return p
}

// LinearWeights is the weight count of one dense layer's linear layers
// (QKV, output projection, MLP): the tensors FP8 training runs its GEMMs
// on.
func (c Config) LinearWeights() int64 {
	h, f := int64(c.Hidden), int64(c.FFNHidden)
	return c.attnLinearWeights() + int64(c.mlpMatrices())*h*f
}

// MoELinearWeights is the weight count of one MoE layer's linear layers
// that every rank of its tensor-parallel group splits: the attention's and
// the shared experts' (the router stays in 16 bit).
func (c Config) MoELinearWeights() int64 {
	return c.attnLinearWeights() + int64(c.mlpMatrices())*int64(c.Hidden)*int64(c.SharedExperts*c.ExpertFFN())
}

// ExpertLinearWeights is the weight count of one MoE layer's routed
// experts.
func (c Config) ExpertLinearWeights() int64 {
	return int64(c.Experts) * int64(c.mlpMatrices()) * int64(c.Hidden) * int64(c.ExpertFFN())
}

// LayerTensors returns the parameter count of each weight tensor of one
// transformer block, in the order a forward pass uses them: layer norm gain
// and bias, QKV weight and bias, output projection weight and bias, layer
// norm, the MLP's weights and biases; without LinearBias the biases and the
// norms' bias tensors are absent (normParams). They sum to LayerParams for a
// dense model. Frameworks that gather parameters tensor by tensor (ZeRO-3)
// issue one collective per entry.
func (c Config) LayerTensors() []int64 {
	h, f, q, kv := int64(c.Hidden), int64(c.FFNHidden), int64(c.AttnWidth()), int64(c.KVHidden())
	var out []int64
	// add appends a weight and, with LinearBias, its bias of b elements.
	add := func(w, b int64) {
		out = append(out, w)
		if c.LinearBias {
			out = append(out, b)
		}
	}
	if c.MLA() {
		add(h, h)
		for _, m := range c.mlaMatrices() {
			out = append(out, m[0]*m[1])
		}
		out = append(out, int64(c.QLoRARank+c.KVLoRARank))
	} else {
		add(h, h)
		add(h*(q+2*kv), q+2*kv)
		add(q*h, h)
	}
	add(h, h)
	if c.GatedMLP {
		add(h*f, f)
		add(h*f, f)
	} else {
		add(h*f, f)
	}
	add(f*h, h)
	return out
}

// EmbeddingParams is the parameter count of the token embedding and, with
// learned absolute positions (Position), the s × h position table; rotary,
// ALiBi and no position encoding have no table (the output layer shares the
// token embedding, as in GPT and Megatron-LM).
func (c Config) EmbeddingParams() int64 {
	p := int64(c.Vocab) * int64(c.Hidden)
	if c.Position == PositionLearned {
		p += int64(c.SeqLen) * int64(c.Hidden)
	}
	return p
}

// Params is the total parameter count, final layer norm included, and the
// multi-token-prediction modules' own parameters (MTPParams).
func (c Config) Params() int64 {
	moe := int64(c.MoELayers())
	return (int64(c.Layers)-moe)*c.LayerParams() + moe*(c.MoEDenseParams()+c.ExpertParams()) + c.EmbeddingParams() + c.normParams() + c.MTPParams()
}

// EngineReplicatedParams is the parameters a vLLM engine keeps whole on
// every tensor-parallel rank instead of splitting them: under latent
// attention the query and key-value down-projections (h × (d_c' + d_c +
// d_h^R) per layer: DeepseekV2MLAAttention's fused_qkv_a_proj, a
// MergedColumnParallelLinear with disable_tp=True, earlier q_a_proj and
// kv_a_proj_with_mqa as ReplicatedLinear, in
// vllm/model_executor/models/deepseek_v2.py), and every MoE layer's router
// (h × Experts: ReplicatedLinear or GateLinear in deepseek_v2.py,
// qwen3_moe.py, mixtral.py). The latents' RMSNorm gains are left out
// (d_c' + d_c elements a layer).
func (c Config) EngineReplicatedParams() int64 {
	var r int64
	if c.MLA() {
		r += int64(c.Layers) * int64(c.Hidden) * int64(c.QLoRARank+c.KVLoRARank+c.QKRopeDim)
	}
	r += int64(c.MoELayers()) * int64(c.Hidden) * int64(c.Experts)
	return r
}

// EngineParams is the parameters one rank of a vLLM engine of tensor
// parallelism tp holds: 1/tp of Params, and all of EngineReplicatedParams
// (Params at tp 1).
func (c Config) EngineParams(tp int) float64 {
	t := max(tp, 1)
	r := c.EngineReplicatedParams()
	return float64(c.Params()-r)/float64(t) + float64(r)
}

// ActiveParams is the parameters one token's forward pass uses: Params
// without the routed experts a token is not sent to (Experts − TopK of
// each MoE layer). Equal to Params for a dense model.
func (c Config) ActiveParams() int64 {
	return c.Params() - int64(c.MoELayers()+c.mtpMoELayers())*int64(c.Experts-c.TopK)*c.mlpParams(c.ExpertFFN())
}

// The largest model sizes Validate takes. Each is far above the largest
// published model's (validation's cases reach 128 layers, hidden 25600, 160
// heads, ffn_hidden 53248, a vocabulary of 256000, 256 experts and
// sequences of 1048576 tokens), and low enough that a step of the default
// scenario with any one of them stays well inside the event engine's range
// of 2^62 ns (about 146 years): model.seq_len = 2^31 − 1 made one
// attention kernel alone 14 years long, and the step ran past the range,
// refused without naming the key.
const (
	MaxLayers  = 1 << 14 // 16384 layers (also the most MTP modules)
	MaxWidth   = 1 << 20 // hidden and the latent-attention ranks: 1048576
	MaxHeads   = 1 << 16 // heads and kv_heads: 65536
	MaxHeadDim = 1 << 16 // head_dim and the MLA head sizes: 65536
	MaxFFN     = 1 << 22 // ffn_hidden and moe_ffn_hidden: 4194304
	MaxSeqLen  = 1 << 24 // seq_len: 16777216 tokens, 16 × the longest case
	MaxVocab   = 1 << 24 // vocab: 16777216
	// MaxExperts: 1048576 experts (and shared experts), the million-expert
	// layer of He 2024, "Mixture of A Million Experts", arXiv:2407.04202.
	MaxExperts = 1 << 20
)

// Validate checks that the shape is usable and returns every problem found,
// each naming the scenario key it concerns ("model.hidden") and the other
// keys its rule read.
func (c Config) Validate() []field.Error {
	var errs []field.Error
	pos := func(key string, v, hi int) {
		if v <= 0 || v > hi {
			errs = append(errs, field.Errorf("model."+key, "must be an integer from 1 to %d, got %d", hi, v))
		}
	}
	pos("layers", c.Layers, MaxLayers)
	pos("hidden", c.Hidden, MaxWidth)
	pos("heads", c.Heads, MaxHeads)
	pos("kv_heads", c.KVHeads, MaxHeads)
	pos("ffn_hidden", c.FFNHidden, MaxFFN)
	pos("seq_len", c.SeqLen, MaxSeqLen)
	pos("vocab", c.Vocab, MaxVocab)
	// The optional sizes (0: unset) have the same ceilings.
	for _, o := range []struct {
		key   string
		v, hi int
	}{
		{"moe_ffn_hidden", c.MoEFFNHidden, MaxFFN}, {"experts", c.Experts, MaxExperts}, {"shared_experts", c.SharedExperts, MaxExperts},
		{"head_dim", c.HeadSize, MaxHeadDim}, {"q_lora_rank", c.QLoRARank, MaxWidth}, {"kv_lora_rank", c.KVLoRARank, MaxWidth},
		{"qk_rope_head_dim", c.QKRopeDim, MaxHeadDim}, {"qk_nope_head_dim", c.QKNopeDim, MaxHeadDim}, {"v_head_dim", c.VHeadDim, MaxHeadDim},
		{"mtp_depth", c.MTPDepth, MaxLayers},
	} {
		if o.v > o.hi {
			errs = append(errs, field.Errorf("model."+o.key, "must be at most %d, got %d", o.hi, o.v))
		}
	}
	if c.HeadSize < 0 || c.QLoRARank < 0 || c.KVLoRARank < 0 || c.QKRopeDim < 0 || c.QKNopeDim < 0 || c.VHeadDim < 0 {
		errs = append(errs, field.Errorf("model.head_dim", "head_dim and the latent-attention sizes (q_lora_rank, kv_lora_rank, qk_rope_head_dim, qk_nope_head_dim, v_head_dim) must not be negative").
			Using("model.q_lora_rank", "model.kv_lora_rank", "model.qk_rope_head_dim", "model.qk_nope_head_dim", "model.v_head_dim"))
	}
	if c.KVLoRARank > 0 && (c.QKNopeDim <= 0 || c.VHeadDim <= 0) {
		errs = append(errs, field.Errorf("model.kv_lora_rank", "multi-head latent attention (kv_lora_rank %d) needs qk_nope_head_dim and v_head_dim > 0, got %d and %d", c.KVLoRARank, c.QKNopeDim, c.VHeadDim).
			Using("model.qk_nope_head_dim", "model.v_head_dim"))
	}
	if c.KVLoRARank == 0 && (c.QLoRARank > 0 || c.QKRopeDim > 0 || c.QKNopeDim > 0 || c.VHeadDim > 0) {
		errs = append(errs, field.Errorf("model.kv_lora_rank", "q_lora_rank, qk_rope_head_dim, qk_nope_head_dim and v_head_dim describe multi-head latent attention, which kv_lora_rank > 0 selects").
			Using("model.q_lora_rank", "model.qk_rope_head_dim", "model.qk_nope_head_dim", "model.v_head_dim"))
	}
	if c.Heads > 0 && c.Hidden > 0 && c.Hidden%c.Heads != 0 && c.HeadSize == 0 && !c.MLA() {
		errs = append(errs, field.Errorf("model.hidden", "%d is not divisible by heads (%d); set head_dim where the heads' width is not hidden / heads", c.Hidden, c.Heads).Using("model.heads", "model.head_dim"))
	}
	if c.Heads > 0 && c.KVHeads > 0 && c.Heads%c.KVHeads != 0 {
		errs = append(errs, field.Errorf("model.kv_heads", "heads (%d) must be a multiple of kv_heads (%d)", c.Heads, c.KVHeads).Using("model.heads"))
	}
	if c.Experts < 0 || c.TopK < 0 {
		errs = append(errs, field.Errorf("model.experts", "experts and top_k must not be negative").Using("model.top_k"))
	}
	if c.Experts > 0 && (c.TopK < 1 || c.TopK > c.Experts) {
		errs = append(errs, field.Errorf("model.top_k", "must be between 1 and experts (%d) for an MoE model, got %d", c.Experts, c.TopK).Using("model.experts"))
	}
	switch {
	case c.RouterGroups < 0 || c.RouterGroupTopK < 0:
		errs = append(errs, field.Errorf("model.router_groups", "router_groups and router_group_topk must not be negative").Using("model.router_group_topk"))
	case c.RouterGroups > 0 && (c.Experts == 0 || c.Experts%c.RouterGroups != 0):
		errs = append(errs, field.Errorf("model.router_groups", "must divide experts (%d) for an MoE model, got %d", c.Experts, c.RouterGroups).Using("model.experts"))
	case c.RouterGroups > 0 && (c.RouterGroupTopK < 1 || c.RouterGroupTopK > c.RouterGroups):
		errs = append(errs, field.Errorf("model.router_group_topk", "must be between 1 and router_groups (%d), got %d", c.RouterGroups, c.RouterGroupTopK).Using("model.router_groups"))
	case c.RouterGroups > 0 && c.RouterGroupTopK*(c.Experts/c.RouterGroups) < c.TopK:
		errs = append(errs, field.Errorf("model.router_group_topk", "router_group_topk (%d) groups of %d experts hold fewer than top_k (%d)", c.RouterGroupTopK, c.Experts/c.RouterGroups, c.TopK).Using("model.router_groups", "model.top_k"))
	case c.RouterGroups == 0 && c.RouterGroupTopK > 0:
		errs = append(errs, field.Errorf("model.router_group_topk", "needs router_groups > 0, got router_group_topk %d", c.RouterGroupTopK).Using("model.router_groups"))
	}
	if c.MoEFFNHidden < 0 || c.SharedExperts < 0 || c.DenseLayers < 0 {
		errs = append(errs, field.Errorf("model.moe_ffn_hidden", "moe_ffn_hidden, shared_experts and dense_layers must not be negative").Using("model.shared_experts", "model.dense_layers"))
	}
	if c.Experts == 0 && (c.MoEFFNHidden > 0 || c.SharedExperts > 0 || c.DenseLayers > 0) {
		errs = append(errs, field.Errorf("model.experts", "moe_ffn_hidden, shared_experts and dense_layers describe mixture-of-experts layers, which experts > 0 selects").
			Using("model.moe_ffn_hidden", "model.shared_experts", "model.dense_layers"))
	}
	for _, d := range []struct {
		key string
		p   float64
	}{{"attention_dropout", c.AttnDropout}, {"hidden_dropout", c.HiddenDropout}} {
		if !(d.p >= 0 && d.p < 1) {
			errs = append(errs, field.Errorf("model."+d.key, "a dropout probability must be in [0, 1), got %v", d.p))
		}
	}
	if c.Position != "" && !slices.Contains(Positions(), c.Position) {
		errs = append(errs, field.Errorf("model.position_embedding", "unknown position encoding %q (learned, rope, alibi or none)", string(c.Position)))
	}
	if c.MTPDepth < 0 {
		errs = append(errs, field.Errorf("model.mtp_depth", "must not be negative, got %d", c.MTPDepth))
	}
	if c.Window < 0 {
		errs = append(errs, field.Errorf("model.window", "must be 0 (no sliding window) or a positive number of tokens, got %d", c.Window))
	}
	if c.GlobalEvery < 0 || c.GlobalEvery == 1 {
		errs = append(errs, field.Errorf("model.global_every", "must be 0 (every layer windowed) or at least 2 (layers N, 2N, … keep full attention), got %d; for no windowed layer set model.window = 0", c.GlobalEvery).Using("model.window"))
	}
	if c.Experts > 0 && c.Layers > 0 && c.DenseLayers >= c.Layers {
		errs = append(errs, field.Errorf("model.dense_layers", "%d leaves no mixture-of-experts layer of %d", c.DenseLayers, c.Layers).Using("model.layers"))
	}
	return errs
}

// String is a one-line description such as "gpt3-175b: 96 layers, h=12288, 96 heads, 174.6B params".
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d layers, h=%d, %d heads", c.Name, c.Layers, c.Hidden, c.Heads)
	if c.KVHeads != c.Heads {
		fmt.Fprintf(&b, " (%d kv)", c.KVHeads)
	}
	fmt.Fprintf(&b, ", ffn=%d, seq %d, vocab %d", c.FFNHidden, c.SeqLen, c.Vocab)
	if c.MTPDepth > 0 {
		fmt.Fprintf(&b, ", MTP depth %d", c.MTPDepth)
	}
	if n := c.LocalLayers(); n > 0 {
		fmt.Fprintf(&b, ", window %d on %d layers", c.Window, n)
	}
	fmt.Fprintf(&b, ", %.1fB params", float64(c.Params())/1e9)
	return b.String()
}
