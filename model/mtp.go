package model

import (
	"slices"

	"trainsim/mesh"
	"trainsim/units"
)

// Multi-token prediction (MTP; DeepSeek-V3, arXiv:2412.19437 §2.2, and
// Megatron-Core's MultiTokenPredictionBlock, megatron/core/transformer/
// multi_token_prediction.py): beside the main model's next-token loss, D
// sequential modules each predict one more token ahead. Module k takes the
// previous depth's hidden state h_{k−1} (the main model's output for k = 1)
// and the embedding of the token k places ahead, normalises both with an
// RMSNorm (enorm, hnorm), concatenates them (2h wide) and projects them
// back to h with the matrix M (eh_proj, 2h → h, no bias), runs one
// transformer block (DeepSeek-V3's is a MoE block like the model's last
// layers: its Hugging Face checkpoint's layer 61), normalises the result
// (final_layernorm; shared_head.norm in DeepSeek's checkpoint) and applies
// the output head and a cross-entropy loss. The embedding table and the
// output head are the main model's ("shared embedding and output head",
// §2.2): their parameters are counted once, but the MTP module's lookup,
// logits and loss are work of their own. Megatron-Core places the MTP
// modules on the last pipeline stage, before the loss (its pipeline layout
// "m" entries must stand in the last stage that holds the loss).

// MTPBlockKind is the kind of the transformer block of an MTP module: the
// kind of the model's last layer (a MoE block for an MoE model whose last
// layer routes, as DeepSeek-V3; Megatron-Bridge's FLOP count also takes
// the last layer's kind, flop_utils.py @ 5776a6d9: last_layer_is_moe).
func (c Config) MTPBlockKind() LayerKind { return c.KindOf(c.Layers - 1) }

// mtpMoELayers is how many of the MTP modules' blocks are MoE blocks.
func (c Config) mtpMoELayers() int {
	if c.MTPDepth > 0 && c.MTPBlockKind().MoE() {
		return c.MTPDepth
	}
	return 0
}

// MTPOwnParams is the parameters of one MTP module beyond its transformer
// block: the two input RMSNorm gains and the output RMSNorm gain (3h) and
// the projection M (2h × h, no bias).
func (c Config) MTPOwnParams() int64 {
	h := int64(c.Hidden)
	return 3*h + 2*h*h
}

// MTPModuleParams is the parameters of one MTP module: MTPOwnParams and its
// transformer block (the block's dense part and, for a MoE block, its
// routed experts). The shared embedding and output head are not counted.
func (c Config) MTPModuleParams() int64 {
	if c.MTPBlockKind().MoE() {
		return c.MTPOwnParams() + c.MoEDenseParams() + c.ExpertParams()
	}
	return c.MTPOwnParams() + c.LayerParams()
}

// MTPParams is the parameters of all MTP modules (MTPDepth of them).
func (c Config) MTPParams() int64 {
	return int64(c.MTPDepth) * c.MTPModuleParams()
}

// mtpForwardFLOPs is the matrix-multiply FLOPs of the MTP modules' forward
// pass over batch sequences, given the forward FLOPs of one transformer
// layer of the modules' block kind (MTPBlockKind) over them: per module the projection M (2 FLOPs per
// weight and token, 2h² weights), the block and the shared output head
// (2·h·V per token). The RMSNorms and the loss are not matrix work and are
// left out, as for the main model. Megatron-Bridge's count
// (num_floating_point_operations, src/megatron/bridge/training/utils/
// flop_utils.py @ 5776a6d9, the one NVIDIA's performance tables report as
// model TFLOP/s) adds the same three terms for each of mtp_num_layers
// (one more transformer layer of the last layer's kind, "MTP eh proj" 2h²
// and "Logit … (mtp_num_layers + 1)") and 3h per token for the norms.
func (c Config) mtpForwardFLOPs(b, s, block float64) float64 {
	if c.MTPDepth == 0 {
		return 0
	}
	h := float64(c.Hidden)
	return float64(c.MTPDepth) * (2*b*s*2*h*h + block + 2*b*s*h*float64(c.Vocab))
}

// mtpLayer returns one MTP module as sh runs it on the last pipeline
// stage, around block, the program of its transformer block (the model's
// layer of kind MTPBlockKind).
//
// Forward: the lookup of the next tokens' embeddings in the shared table
// (as EmbeddingOps), the two RMSNorms (read and write the h-wide tensor
// each), the concatenation (read 2h, write 2h), the projection M (a
// column-parallel GEMM of the tokens × 2h by 2h × h/t; with TP > 1 its
// output is all-gathered over TP for the block), the block, the output
// RMSNorm and the shared output head with its cross-entropy (LogitsOps).
// Backward mirrors it: the head and loss (with the all-reduce of the
// logits' input gradient over TP), the norm, the block, the projection's
// input and weight gradients (the 2h-wide input gradient all-reduced over
// TP), the split of the concatenation, the two norms' gradients (read the
// input and the gradient, write the input gradient) and the gradient of
// the looked-up rows into the shared table's gradient.
//
// Its parameters are MTPOwnParams over TP and the block's; its routed
// experts' are the block's ExpertParams. The output head's gradient goes
// into the shared embedding's, held by the stage already (Tied of the
// logits layer), so no parameter of it is added.
func (c Config) mtpLayer(sh Shard, block Layer) Layer {
	e := sh.Precision.ElementBytes()
	t := sh.TP
	tokens := sh.Microbatch * c.SeqLen / sh.cp()
	hs := units.Bytes(float64(tokens)*float64(c.Hidden)) * e
	proj := linear(gemm("mtp-eh-proj", 1, tokens, c.Hidden/t, 2*c.Hidden, e))
	emb := memop("mtp-embedding", 3*hs)
	embGrad := memop("mtp-embedding-bwd", 3*hs)
	embGrad.WeightGrad = true
	in := Program{computeStep("mtp-input", []Op{emb, memop("mtp-enorm", 2*hs), memop("mtp-hnorm", 2*hs), memop("mtp-concat", 4*hs), proj})}
	inBwd := Program{computeStep("mtp-input-bwd", append(dgradWgrad(proj, sh),
		memop("mtp-concat-bwd", 4*hs), memop("mtp-enorm-bwd", 3*hs), memop("mtp-hnorm-bwd", 3*hs), embGrad))}
	lf, lb := c.LogitsOps(sh)
	for i := range lf {
		lf[i].Name = "mtp-" + lf[i].Name
	}
	for i := range lb {
		lb[i].Name = "mtp-" + lb[i].Name
	}
	out := Program{computeStep("mtp-head", append([]Op{memop("mtp-final-norm", 2*hs)}, lf...))}
	outBwd := Program{computeStep("mtp-head-bwd", append(lb, memop("mtp-final-norm-bwd", 3*hs)))}
	if t > 1 {
		in = append(in, Step{Name: "mtp eh-proj tp all-gather", Kind: Collective, Comm: AllGather, Group: mesh.TP, Bytes: hs})
		outBwd = append(outBwd, Step{Name: "mtp-logits-input-grad tp all-reduce", Kind: Collective, Comm: AllReduce, Group: mesh.TP, Bytes: hs})
		inBwd = append(Program{{Name: "mtp eh-proj-bwd tp all-reduce", Kind: Collective, Comm: AllReduce, Group: mesh.TP, Bytes: 2 * hs}}, inBwd...)
	}
	var tensors []int64
	if block.Tensors != nil {
		h := int64(c.Hidden)
		tensors = append([]int64{h, h, 2 * h * h}, block.Tensors...)
		tensors = append(tensors, h)
	}
	return Layer{
		Kind:         MTPLayer,
		Forward:      slices.Concat(in, block.Forward, out),
		Backward:     slices.Concat(outBwd, block.Backward, inBwd),
		Recompute:    block.Recompute,
		Params:       float64(c.MTPOwnParams())/float64(t) + block.Params,
		Tensors:      tensors,
		ExpertParams: block.ExpertParams,
	}
}
