// Package model describes the transformer being trained: its shape, its
// parameter count and the work one layer does.
//
// A Config holds the shape of a decoder-only transformer (layers, hidden
// width, attention and key/value heads, MLP width, sequence length,
// vocabulary, and for mixture-of-experts models the experts and top-k),
// checked by Validate. From it the package derives parameter counts (per
// layer, embeddings, whole model) and the operations of a layer, its
// embedding, logits and optimizer: matrix multiplications with their shapes,
// FLOPs and HBM bytes, and memory-bound kernels with their bytes, as they run
// on one GPU once the layer is split over its tensor-parallel group. Other
// packages turn these operations into time (compute) and into a schedule
// (parallelism); this package knows nothing of GPUs, links or time.
//
// Layer programs describe the step as data. Config.Programs returns, for each
// LayerKind (EmbeddingLayer, TransformerLayer, LogitsLayer, MoELayer for a
// mixture-of-experts model, MTPLayer for a multi-token-prediction module,
// mtp.go, LocalTransformerLayer and LocalMoELayer for the layers with
// sliding-window attention, window.go), a Layer as one
// GPU runs it under a Shard (tensor-parallel degree, micro-batch, sequence
// parallelism, attention kernel, precision, recomputation): its Forward,
// Backward and Recompute passes, each a Program — an ordered list of Steps —
// and the parameters it holds (Params, Tensors, Tied). A Step is either
// Compute, a run of Ops priced together, or Collective, an operation (Comm)
// over one dimension of the device mesh (Group, a mesh.Dim) on a buffer of
// Bytes, which may be Overlappable with the compute step before it. A
// transformer layer is its attention block and MLP block, each followed by its
// tensor-parallel collectives: an all-reduce, or with sequence parallelism a
// reduce-scatter and an all-gather; its Recompute is nothing, the attention
// core (selective) or the whole forward (full). Config.KindOf says which kind
// each layer of the stack is. One builder in package parallelism replays any
// program, so a new operation in a layer is a new Step here. This is why the
// package imports mesh: a collective names the group it runs over, not the
// ranks in it.
//
// Built-in shapes (Preset, Presets, PresetNames) are the models of the
// published measurements the project validates against (the Megatron-LM SC21
// family, Korthikanti et al. 2022, the 2024 Megatron-Core H100 table) and
// well-known dense models (GPT-3, OPT, BLOOM, Gopher, MT-NLG, PaLM, LaMDA,
// Turing-NLG, BERT, Llama 2 and 3). Each cites the paper and table its numbers
// come from, and says where the model differs from what Config can express.
//
// What it leaves out: the output layer is assumed to share the input
// embedding, and position embeddings are counted as learned (s×h) ones;
// attention width is always the hidden width (heads × hidden/heads), so
// models whose heads are wider or narrower than d_model/heads (PaLM, LaMDA)
// are approximated; biases are always counted; relative position encodings,
// parallel attention/MLP blocks, encoder-decoder and encoder-only specifics
// (BERT's pooler and token-type embeddings) are not modelled. Parameter counts
// of such models therefore differ from the published ones by the amounts the
// presets' Source fields state. Numerics (precision effects on accuracy) and
// data loading are outside the package.
package model
