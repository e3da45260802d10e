package model

import (
	"fmt"
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
	// HeadSize is the width of one attention head when it is not
	// Hidden/Heads (Qwen3's 128 with 64 heads of a 5120-wide model); 0:
	// Hidden/Heads.
	HeadSize int
	// GatedMLP marks a SwiGLU-style MLP with three weight matrices (Llama,
	// PaLM) instead of GPT's two.
	GatedMLP bool
	// Source cites where the shape was published.
	Source string
}

// HeadDim is the width of one attention head: HeadSize, else h/a.
func (c Config) HeadDim() int {
	if c.HeadSize > 0 {
		return c.HeadSize
	}
	return c.Hidden / c.Heads
}

// AttnWidth is the width of the queries and of the attention's output,
// heads × head_dim: h unless HeadSize departs from h/a.
func (c Config) AttnWidth() int { return c.Heads * c.HeadDim() }

// KVHidden is the width of the key (or value) projection: kv_heads × head_dim.
func (c Config) KVHidden() int { return c.KVHeads * c.HeadDim() }

// mlpMatrices is the number of h×ffn weight matrices in one MLP.
func (c Config) mlpMatrices() int {
	if c.GatedMLP {
		return 3
	}
	return 2
}

// LayerParams is the parameter count of one dense transformer block, biases
// and layer-norm gains included: QKV and output projections, the MLP, two
// layer norms. For GPT (ffn=4h, no GQA) this is 12h² + 13h.
func (c Config) LayerParams() int64 {
	return c.attnParams() + c.mlpParams(c.FFNHidden) + 4*int64(c.Hidden)
}

// attnParams is the attention's weights and biases: QKV and output
// projection.
func (c Config) attnParams() int64 {
	h, q, kv := int64(c.Hidden), int64(c.AttnWidth()), int64(c.KVHidden())
	return h*(q+2*kv) + (q + 2*kv) + q*h + h
}

// mlpParams is one MLP of inner width f: weights, first-layer biases, output
// bias.
func (c Config) mlpParams(f int) int64 {
	h, m := int64(c.Hidden), int64(c.mlpMatrices())
	return m*h*int64(f) + (m-1)*int64(f) + h
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
// included, as LayerParams does).
func (c Config) ExpertParams() int64 {
	return int64(c.Experts) * c.mlpParams(c.ExpertFFN())
}

// MoEDenseParams is the parameters of one MoE layer that are not routed
// experts: attention, two layer norms, the router (h × Experts) and the
// shared experts (one MLP SharedExperts × ExpertFFN wide). Every rank of
// the layer's tensor-parallel group holds 1/TP of them, like a dense
// layer's.
func (c Config) MoEDenseParams() int64 {
	p := c.attnParams() + 4*int64(c.Hidden) + int64(c.Hidden)*int64(c.Experts)
	if c.SharedExperts > 0 {
		p += c.mlpParams(c.SharedExperts * c.ExpertFFN())
	}
	return p
}

// LinearWeights is the weight count of one dense layer's linear layers
// (QKV, output projection, MLP): the tensors FP8 training runs its GEMMs
// on.
func (c Config) LinearWeights() int64 {
	h, f, q, kv := int64(c.Hidden), int64(c.FFNHidden), int64(c.AttnWidth()), int64(c.KVHidden())
	return h*(q+2*kv) + q*h + int64(c.mlpMatrices())*h*f
}

// LayerTensors returns the parameter count of each weight tensor of one
// transformer block, in the order a forward pass uses them: layer norm gain
// and bias, QKV weight and bias, output projection weight and bias, layer
// norm, the MLP's weights and biases. They sum to LayerParams for a dense
// model. Frameworks that gather parameters tensor by tensor (ZeRO-3) issue
// one collective per entry.
func (c Config) LayerTensors() []int64 {
	h, f, q, kv := int64(c.Hidden), int64(c.FFNHidden), int64(c.AttnWidth()), int64(c.KVHidden())
	out := []int64{h, h, h * (q + 2*kv), q + 2*kv, q * h, h, h, h}
	if c.GatedMLP {
		out = append(out, h*f, f, h*f, f, f*h, h)
	} else {
		out = append(out, h*f, f, f*h, h)
	}
	return out
}

// EmbeddingParams is the parameter count of the token and position embeddings
// (the output layer shares the token embedding, as in GPT and Megatron-LM).
func (c Config) EmbeddingParams() int64 {
	return int64(c.Vocab)*int64(c.Hidden) + int64(c.SeqLen)*int64(c.Hidden)
}

// Params is the total parameter count, final layer norm included.
func (c Config) Params() int64 {
	moe := int64(c.MoELayers())
	return (int64(c.Layers)-moe)*c.LayerParams() + moe*(c.MoEDenseParams()+c.ExpertParams()) + c.EmbeddingParams() + 2*int64(c.Hidden)
}

// Validate checks that the shape is usable and returns every problem found,
// each naming the scenario key it concerns ("model.hidden") and the other
// keys its rule read.
func (c Config) Validate() []field.Error {
	var errs []field.Error
	pos := func(key string, v int) {
		if v <= 0 {
			errs = append(errs, field.Errorf("model."+key, "must be a positive integer, got %d", v))
		}
	}
	pos("layers", c.Layers)
	pos("hidden", c.Hidden)
	pos("heads", c.Heads)
	pos("kv_heads", c.KVHeads)
	pos("ffn_hidden", c.FFNHidden)
	pos("seq_len", c.SeqLen)
	pos("vocab", c.Vocab)
	if c.Heads > 0 && c.Hidden > 0 && c.Hidden%c.Heads != 0 {
		errs = append(errs, field.Errorf("model.hidden", "%d is not divisible by heads (%d)", c.Hidden, c.Heads).Using("model.heads"))
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
	if c.MoEFFNHidden < 0 || c.SharedExperts < 0 || c.DenseLayers < 0 {
		errs = append(errs, field.Errorf("model.moe_ffn_hidden", "moe_ffn_hidden, shared_experts and dense_layers must not be negative").Using("model.shared_experts", "model.dense_layers"))
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
	fmt.Fprintf(&b, ", ffn=%d, seq %d, vocab %d, %.1fB params", c.FFNHidden, c.SeqLen, c.Vocab, float64(c.Params())/1e9)
	return b.String()
}
