package scenario

import (
	"fmt"
	"strconv"
	"strings"

	"trainsim/collective"
	"trainsim/compute"
	"trainsim/job"
	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/rl"
	"trainsim/topology"
	"trainsim/units"
)

// Every scenario key is declared once, in declarations: its dotted name, what
// its value is written as (with a unit for quantities), where the value goes,
// its default, the values an enumeration allows, when it is required, the keys
// its default derives from, and a line of documentation. The decoder, the
// --set parser, the "did you mean" candidates, the table structure, the [job]
// keys that are recognised and refused, the defaults resolve applies, the
// required-key checks and the key tables of docs/scenario.md all follow from
// it. A new key is one entry here, the field it fills and the code that uses
// the field.

// settings is what a scenario's keys fill: the job, and beside it the keys
// that are not part of it.
type settings struct {
	name                           string
	seed                           uint64
	modelPreset, system, gpuPreset string
	jobPreset                      string
	stack                          string
	job                            parallelism.Job
	// whole is the [job] table, beside the job the replay needs.
	whole Whole
	// rl is the [rl] table: an RL post-training step around the job.
	rl rlKeys
}

// key is the declaration of one scenario key.
type key struct {
	// name is the dotted key ("parallelism.tp").
	name string
	// value decodes the key's value and stores it, or its default, where it
	// goes; nil for a key that is recognised only to be refused.
	value value
	// preset marks a key that names a preset (model.preset, cluster.system,
	// cluster.gpu.preset): stored first, so that resolve can build the job
	// from the preset before the other keys override what it gives.
	preset bool
	// def is the default as the key table shows it, when the value's own
	// default does not say it (one that a preset gives or resolve derives).
	def string
	// allowed lists the values an enumeration takes, from the Go constants
	// its validator checks against.
	allowed []string
	// need says when the key must be given.
	need need
	// from lists the keys the value of the key derives from when it is not
	// given, beyond the presets need names: when one of them is wrong, so is
	// this key's value.
	from []string
	// doc says in one line what the key means and the rules it obeys.
	doc string
	// refused is the problem reported for a key that is recognised but not
	// supported.
	refused string
}

// sources lists every key an unset key's value derives from: the presets
// that would give it, and the keys its default follows.
func (k key) sources() []string { return append(append([]string(nil), k.need.unless...), k.from...) }

// need says when a key must be given: always (why says what it is), or when
// none of the presets in unless is named.
type need struct {
	required bool
	why      string
	unless   []string
}

// required is a need for a key that must always be given; why explains it
// in the message ("(the number of nodes)").
func required(why string) need { return need{required: true, why: why} }

// requiredUnless is a need for a key that one of the presets gives.
func requiredUnless(presets ...string) need { return need{required: true, unless: presets} }

// message is what a missing key is told: "required when model.preset is
// not given".
func (n need) message() string {
	switch len(n.unless) {
	case 0:
		return "required " + n.why
	case 1:
		return "required when " + n.unless[0] + " is not given"
	}
	return "required when neither " + strings.Join(n.unless, " nor ") + " is given"
}

// The keys that name presets.
const (
	keyModelPreset = "model.preset"
	keySystem      = "cluster.system"
	keyGPUPreset   = "cluster.gpu.preset"
	keyJobPreset   = "job.preset"
	keyStack       = "software.stack"
)

// declarations returns every scenario key, bound to where s holds its value.
// The order is the order of the key tables and of the "allowed:" lists of
// unknown keys.
func declarations(s *settings) []key {
	m, c, l, t, o, k := &s.job.Model, &s.job.Cluster, &s.job.Layout, &s.job.Training, &s.job.Options, &s.job.Calibration
	w, v := &s.whole, &s.job.Variation
	r := &s.rl.cfg
	g, nl, n := &c.GPU, &c.NVLink, &c.Network
	modelShape := requiredUnless(keyModelPreset)
	node := requiredUnless(keySystem)
	gpu := requiredUnless(keySystem, keyGPUPreset)
	fromGPU := []string{keySystem, keyGPUPreset}
	gpuDefault := "system / GPU preset"
	return []key{
		{name: "name", value: text(into(&s.name)), def: "the file's base name without extension (`scenario` if none)",
			doc: "the scenario's name, as reports show it; when a `--set` override changes a `[model]` or `[cluster]` key the report is named after what it replays instead (`MODEL, N x GPU`, e.g. `llama3-405b, 1024 x h100-sxm`) unless `--set name=...` names it"},
		{name: "seed", value: whole(into(&s.seed)).or(1),
			doc: "seeds every random choice of the simulation; 0 to 2^63 − 1 (9223372036854775807); `--seed N` overrides it. It draws the slow GPUs and NICs (`job.straggler_*`, `job.slow_link_*`), the Monte Carlo of the whole run (`[job]`: when failures strike) and, in an RL step (`[rl]`), the order of the responses in the generation engines' queues; without these it changes nothing"},

		{name: keyModelPreset, value: text(into(&s.modelPreset)), preset: true, def: "none",
			doc: "a built-in model (`sim presets` lists them); the other `[model]` keys override what it gives"},
		{name: "model.layers", value: count(into(&m.Layers)), def: "preset", need: modelShape,
			doc: "transformer blocks; 1–16384"},
		{name: "model.hidden", value: count(into(&m.Hidden)), def: "preset", need: modelShape,
			doc: "model width h; 1–1048576 and divisible by `heads`"},
		{name: "model.heads", value: count(into(&m.Heads)), def: "preset", need: modelShape,
			doc: "attention heads; 1–65536"},
		{name: "model.kv_heads", value: count(into(&m.KVHeads)), from: []string{keyModelPreset, "model.heads"},
			def: "`heads` (follows an overridden `heads` unless the preset uses grouped-query attention)",
			doc: "key/value heads; 1–65536, and `heads` a multiple of it"},
		{name: "model.ffn_hidden", value: count(into(&m.FFNHidden)), from: []string{keyModelPreset, "model.hidden"},
			def: "`4 × hidden` (follows an overridden `hidden` unless the preset departs from 4h)",
			doc: "MLP inner width; 1–4194304"},
		{name: "model.seq_len", value: count(into(&m.SeqLen)), def: "preset", need: modelShape,
			doc: "tokens per sequence; 1–16777216"},
		{name: "model.vocab", value: count(into(&m.Vocab)), def: "preset", need: modelShape,
			doc: "vocabulary size; 1–16777216"},
		{name: "model.experts", value: count(into(&m.Experts)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "experts per MLP layer; 0–1048576; > 0 makes the MLP layers mixture-of-experts layers (router, dispatch and combine all-to-all, grouped expert GEMMs)"},
		{name: "model.top_k", value: count(into(&m.TopK)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "experts each token is routed to; ≥ 0, in 1..`experts` for a mixture-of-experts model"},
		{name: "model.router_groups", value: count(into(&m.RouterGroups)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "group-limited routing: the experts fall into this many equal groups and a token's `top_k` experts come from `router_group_topk` of them (DeepSeek-V3's node-limited routing, arXiv:2412.19437 §2.1.2: 8 groups, 4 chosen; Hugging Face's `n_group`, Megatron-Core's `moe_router_num_groups`); 0: none; must divide `experts`. Read only by `moe.dispatcher = \"flex\"`, whose cross-node traffic depends on how many nodes a token reaches"},
		{name: "model.router_group_topk", value: count(into(&m.RouterGroupTopK)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "groups a token's experts come from (Hugging Face's `topk_group`, Megatron-Core's `moe_router_group_topk`); 1..`router_groups`, holding at least `top_k` experts; needs `router_groups` > 0"},
		{name: "model.moe_ffn_hidden", value: count(into(&m.MoEFFNHidden)), def: "preset, else `ffn_hidden`", from: []string{keyModelPreset, "model.ffn_hidden"},
			doc: "inner width of one routed (and shared) expert's MLP; 1–4194304; needs `experts` > 0"},
		{name: "model.shared_experts", value: count(into(&m.SharedExperts)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "experts every token also goes through (one dense MLP `shared_experts × moe_ffn_hidden` wide, split over TP); 0–1048576; needs `experts` > 0"},
		{name: "model.dense_layers", value: count(into(&m.DenseLayers)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "leading layers that keep a dense MLP of `ffn_hidden` (DeepSeek-V3's first 3); ≥ 0 and < `layers`; needs `experts` > 0"},
		{name: "model.head_dim", value: count(into(&m.HeadSize)), def: "preset, else `hidden ÷ heads`", from: []string{keyModelPreset, "model.hidden", "model.heads"},
			doc: "width of one attention head where `heads × head_dim` ≠ `hidden` (PaLM 256, Qwen3 128); 1–65536; with it `hidden` need not divide by `heads`"},
		{name: "model.q_lora_rank", value: count(into(&m.QLoRARank)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "multi-head latent attention: rank of the query's low-rank projection; 0 = a full query projection; 0–1048576"},
		{name: "model.kv_lora_rank", value: count(into(&m.KVLoRARank)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "> 0 selects multi-head latent attention (DeepSeek-V2/V3): rank of the joint key/value latent (at most 1048576); then `qk_nope_head_dim` and `v_head_dim` > 0 and `kv_heads` is not used"},
		{name: "model.qk_rope_head_dim", value: count(into(&m.QKRopeDim)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "multi-head latent attention: the rotary part of each query/key head (shared by the heads for keys); 0–65536"},
		{name: "model.qk_nope_head_dim", value: count(into(&m.QKNopeDim)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "multi-head latent attention: the non-rotary part of each query/key head; 0–65536"},
		{name: "model.v_head_dim", value: count(into(&m.VHeadDim)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "multi-head latent attention: the width of each head's value; 0–65536"},
		{name: "model.mtp_depth", value: count(into(&m.MTPDepth)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "multi-token-prediction modules trained beside the model (DeepSeek-V3: 1, arXiv:2412.19437 §2.2); 0–16384. Each runs on the last pipeline stage: two RMSNorms, a 2h → h projection, one transformer block of the last layer's kind and the shared output head with its loss; their FLOPs count as model FLOPs ([model.md §2.5](model.md#25-multi-token-prediction))"},
		{name: "model.window", value: count(into(&m.Window)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "sliding-window (local) attention width in tokens: a query of a local layer attends to itself and the `window − 1` tokens before it (Mistral 7B 4096, Gemma 2 4096, Gemma 3 1024, GPT-OSS 128); 0 = none (every layer full causal attention); ≥ 0. A window ≥ `seq_len` changes nothing. The fused (flash) attention kernel of a local layer does, and model FLOPs count, the share of the causal pairs the window keeps; under context parallelism a ring step wholly outside the window runs no kernel (its K/V exchange stays); the unfused core and activations are unchanged ([model.md §7.42](model.md#742-sliding-window-local-attention-as-a-model-property-issue-10))"},
		{name: "model.global_every", value: count(into(&m.GlobalEvery)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "with `window` > 0, which layers keep full (global) attention: layers N, 2N, 3N, … counting from 1 (Megatron-Core's `window_attn_skip_freq`; GPT-OSS and Gemma 2: 2, Gemma 3: 6); 0 = every layer local (Mistral 7B); 0 or ≥ 2"},
		{name: "model.gated_mlp", value: boolean(into(&m.GatedMLP)), def: "preset, else false", from: []string{keyModelPreset},
			doc: "true: SwiGLU-style MLP with three weight matrices (Llama, PaLM) instead of GPT's two"},
		{name: "model.linear_bias", value: boolean(into(&m.LinearBias)), def: "preset, else false", from: []string{keyModelPreset},
			doc: "true: the linear layers carry biases (GPT-2/3, OPT, BERT, GPT-OSS; Megatron-Core's add_bias_linear): a Megatron-Core layer then also runs the output-projection and MLP bias gradients, reductions of their output gradients ([model.md §7.22](model.md#722-sixth-round-h100-dense-the-megatron-core-layers-residual-gradient-adds-and-bias-gradients-and-the-embeddings-dense-gradient)), a MoE layer its experts' bias kernels, and the biases and the layer norms' bias vectors count as parameters ([model.md §7.29](model.md#729-linear-biases-in-the-parameter-count-and-the-routed-experts-bias-kernels-issues-1013)); false: Llama-, Qwen-, Mixtral-, DeepSeek- and Nemotron-style layers"},
		{name: "model.attention_dropout", value: number(into(&m.AttnDropout)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "dropout probability on the attention probabilities, in [0, 1) (Megatron-LM's `--attention-dropout`, 0.1 by default: the GPT presets; 0 for Llama-, Qwen-, DeepSeek- and Mixtral-style models and OPT). > 0: the fused attention kernel (Transformer Engine / FlashAttention, not `eager_elementwise`) takes 3.4% longer, forward and backward (TransformerEngine issue #3312; [model.md §7.28](model.md#728-dropout-a-tied-output-layer-and-learned-positions-as-model-properties))"},
		{name: "model.hidden_dropout", value: number(into(&m.HiddenDropout)), def: "preset, else 0", from: []string{keyModelPreset},
			doc: "dropout probability on the hidden states, in [0, 1) (Megatron-LM's `--hidden-dropout`, 0.1 by default: the GPT presets). > 0: the embedding's output dropout and its backward (read and write the activation, a 1-byte mask) are priced; the layers' bias-dropout-add is priced either way"},
		{name: "model.tied_embeddings", value: boolean(into(&m.TiedEmbeddings)), def: "preset, else false", from: []string{keyModelPreset},
			doc: "true: the output layer shares the input embedding's table (Megatron-LM's default, GPT-2/3, OPT, BLOOM). With one pipeline stage Megatron-Core's output layer then returns a zeroed dummy gradient that is summed with the lookup's: 4 bytes per element (16-bit) of the `vocab / tp × hidden` table, every micro-batch (not with `eager_elementwise` or `megatron_elementwise`); false: an untied output layer (Llama, Qwen, the README 2024 table)"},
		{name: "model.position_embedding", value: text(into(&m.Position)), def: "preset, else none", from: []string{keyModelPreset}, allowed: names(model.Positions()),
			doc: "position encoding: `learned` adds a learned absolute `seq_len × hidden` table (GPT, OPT, BERT): its lookup and add to the token embedding, and its dense gradient, every micro-batch; `rope` (rotary, in the attention), `alibi` (BLOOM) and `none` add no kernels"},

		{name: keySystem, value: text(into(&s.system)), preset: true, def: "none", allowed: topology.SystemPresetNames(),
			doc: "a built-in node type (`sim presets`); the other `[cluster]` keys override what it gives; `gb200-nvl72` is one 72-GPU NVLink domain per node"},
		{name: "cluster.nodes", value: count(into(&c.Nodes)), def: "— (required)", need: required("(the number of nodes)"),
			doc: "nodes; 1–1048576, and at most 16777216 GPUs in all (nodes × gpus_per_node)"},
		{name: "cluster.gpus_per_node", value: count(into(&c.GPUsPerNode)), def: "system", need: node,
			doc: "GPUs per node; 1–1048576. Overriding a system's, its NICs follow unless `network.nics_per_node` is stated"},
		{name: keyGPUPreset, value: text(into(&s.gpuPreset)), preset: true, def: "the system's GPU", allowed: topology.GPUPresetNames(),
			doc: "a built-in GPU; replaces the system's GPU"},
		{name: "cluster.gpu.family", value: text(into(&g.Family)), def: gpuDefault, need: gpu, allowed: topology.Families(),
			doc: "selects the kernel-efficiency constants ([model.md](model.md#constants)) and the PCIe generation of the flow graph"},
		{name: "cluster.gpu.peak", value: quantity(into(&g.PeakDense16), "312TFLOP/s"), def: gpuDefault, need: gpu,
			doc: "dense FP16/BF16 tensor-core peak; 1 TFLOP/s–100 PFLOP/s"},
		{name: "cluster.gpu.peak_fp8", value: quantity(into(&g.PeakDenseFP8), "989TFLOP/s"), def: "system / GPU preset (0 on A100)", from: fromGPU,
			doc: "dense FP8 tensor-core peak; 0 means no FP8, else 1 TFLOP/s–100 PFLOP/s"},
		{name: "cluster.gpu.hbm", value: quantity(into(&g.HBM), "80GiB"), def: gpuDefault, need: gpu,
			doc: "HBM capacity; 1 GiB–100 TiB"},
		{name: "cluster.gpu.hbm_bandwidth", value: quantity(into(&g.HBMBandwidth), "2039GB/s"), def: gpuDefault, need: gpu,
			doc: "HBM bandwidth; 1 GB/s–100 TB/s"},
		{name: "cluster.gpu.sms", value: count(into(&g.SMs)), def: gpuDefault, need: gpu,
			doc: "streaming multiprocessors; 1–1024 (wave quantisation, and the share of SMs overlapped communication takes)"},
		{name: "cluster.nvlink.bandwidth", value: quantity(into(&nl.Bandwidth), "300GB/s"), def: "system", need: node,
			doc: "NVLink bandwidth per GPU, per direction; 1 GB/s–100 TB/s"},
		{name: "cluster.nvlink.latency", value: quantity(into(&nl.Latency), "1us"), def: "system (1 µs)", need: node,
			doc: "latency of a message over NVLink; 0–10 ms"},
		{name: "cluster.network.topology", value: text(into(&n.Topology)), def: "system (`fat-tree`)", need: node, allowed: topology.Fabrics(),
			doc: "the inter-node fabric: priced the same in analytical mode, different graphs in flow mode"},
		{name: "cluster.network.nic_bandwidth", value: quantity(into(&n.NICBandwidth), "200Gb/s"), def: "system", need: node,
			doc: "line rate of one NIC; 1 GB/s–100 TB/s"},
		{name: "cluster.network.nics_per_node", value: count(into(&n.NICsPerNode)), def: "system (scaled to `gpus_per_node`)", need: node, from: []string{"cluster.gpus_per_node"},
			doc: "NICs per node; > 0. Not stated while `gpus_per_node` overrides the system's, the system's NICs are scaled to it, keeping its NICs per GPU (a DGX's 8 for 8 GPUs → 4 for 4), rounded up to a whole NIC, at least 1, and the report's notes say so ([Changing the node size](#changing-the-node-size-of-a-system)). The flow-level network takes at most `gpus_per_node` (each GPU sends through one NIC)"},
		{name: "cluster.network.latency", value: quantity(into(&n.Latency), "2us"), def: "system (2 µs)", need: node,
			doc: "end-to-end latency of a small message across the fabric; 0–10 ms"},
		{name: "cluster.network.oversubscription", value: number(into(&n.Oversubscription)), def: "system, else 1", from: []string{keySystem},
			doc: "ratio of leaf down-link to up-link capacity; 1–1000 (1 = non-blocking); slows groups whose ranks span more than one leaf"},
		{name: "cluster.network.nodes_per_leaf", value: count(into(&n.NodesPerLeaf)), def: "system (20 HDR, 32 NDR, 4 `gb200-nvl72`)", need: node,
			doc: "nodes one leaf switch connects; > 0"},
		{name: "cluster.network.transport", value: text(into(&n.Transport)), def: "system (`infiniband` for every built-in), else `infiniband`", from: []string{keySystem}, allowed: topology.Transports(),
			doc: "the inter-node link layer: `infiniband` or `roce` (RDMA over Converged Ethernet). It sets the default `simulation.routing`: NCCL enables adaptive routing on InfiniBand by default and not on RoCE"},
		{name: "cluster.network.file", value: text(into(&n.File)), def: "none",
			doc: "a topology file (`[[vertex]]`/`[[link]]`, see [network.md](network.md)), relative to the scenario file (to the working directory when set with `--set` on the embedded default); flow mode only, and it must have as many GPUs as the cluster (both checked once the file is read, exit 2)"},

		{name: "parallelism.tp", value: count(into(&l.TP)).or(1),
			doc: "tensor-parallel degree; ≥ 1; divides `heads` and `ffn_hidden`; when larger than `kv_heads`, a multiple of it"},
		{name: "parallelism.pp", value: count(into(&l.PP)).or(1),
			doc: "pipeline-parallel degree; ≥ 1; `layers` ≥ `pp × virtual_stages`. Layers need not divide evenly: the remainder goes one layer each to virtual stages 1, 2, …, and each MTP module (`mtp_depth`) counts as a layer of the last virtual stage, which runs it; `pipeline_layout` places them by hand ([model.md §3.1](model.md#31-parameters-gradients-optimizer-state))"},
		{name: "parallelism.dp", value: count(into(&l.DP)), def: "GPUs ÷ (tp × pp × cp)",
			from: []string{"parallelism.tp", "parallelism.pp", "parallelism.cp", "cluster.nodes", "cluster.gpus_per_node"},
			doc:  "data-parallel degree; ≥ 1; `tp × pp × dp × cp` must equal `nodes × gpus_per_node`"},
		{name: "parallelism.cp", value: count(into(&l.CP)).or(1),
			doc: "context-parallel degree; ≥ 1; with cp > 1: ring attention over the CP group (flash attention, `seq_len` divisible by 2 × cp, each rank two mirrored chunks), gradients reduced over CP × DP ([model.md](model.md))"},
		{name: "parallelism.ep", value: count(into(&l.EP)).or(1),
			doc: "expert-parallel degree; ≥ 1; experts are split over the EP group of the expert sub-mesh (expert-DP = GPUs ÷ (etp × ep × pp)); tokens reach them by all-to-all, inside a node or across the fabric as the mesh places the group; needs `experts` divisible by ep"},
		{name: "parallelism.etp", value: count(into(&l.ETP)).or(1),
			doc: "expert tensor-parallel degree; ≥ 1; each expert's MLP split over etp ranks of the expert sub-mesh (etp × ep × expert-dp × pp = GPUs), which all-gather their received tokens before the expert GEMMs and reduce-scatter after; divides `moe_ffn_hidden`"},
		{name: "parallelism.microbatch", value: count(into(&l.Microbatch)).or(1),
			doc: "micro-batch size in sequences; ≥ 1"},
		{name: "parallelism.schedule", value: text(into(&l.Schedule)).or(parallelism.OneFOneB), allowed: names(parallelism.Schedules()),
			doc: "pipeline schedule; `interleaved` needs `pp ≥ 2` and a micro-batch count that is a multiple of `pp`; `zb-h1` is zero-bubble ZB-H1 (backward split into input and weight gradients, W passes filling the cool-down; docs/model.md §5); `dualpipe` is DeepSeek-V3's bidirectional DualPipe (each GPU holds stages s and pp−1−s, so two copies of the weights and gradients; half the micro-batches fed in at each end; forward and backward chunks of different micro-batches paired, each one's overlapped collectives beside the other's compute; needs an even `pp`, `virtual_stages` 1, `zero` ≤ 1 and an even micro-batch count ≥ 2 × pp; docs/model.md §5)"},
		{name: "parallelism.virtual_stages", value: count(into(&l.VirtualStages)).or(1), def: "1, or 2 with `interleaved`", from: []string{"parallelism.schedule"},
			doc: "model chunks per GPU; must be 1 unless the schedule is `interleaved`"},
		{name: "parallelism.pipeline_layout", value: text(into(&l.PipelineLayout)), def: "none (the remainder rule of `pp`)",
			doc: "places the layers on the virtual stages by hand, in Megatron-Core's `--pipeline-model-parallel-layout` form: `E` embedding, `t` transformer layer, `m` MTP module, `L` loss, a vertical bar between stages (virtual-stage order), `x*n` and `(…)*n` repeat, commas ignored (DeepSeek-V3's example in model.md §3.1). It must have `pp × virtual_stages` stages, `layers` t's and `mtp_depth` m's (in the last stage), E first and L last; a stage may hold no t ([model.md §3.1](model.md#31-parameters-gradients-optimizer-state))"},
		{name: "parallelism.sequence_parallel", value: boolean(into(&l.SequenceParallel)).or(false),
			doc: "sequence parallelism; `seq_len` divisible by `tp`"},
		{name: "parallelism.recompute", value: text(into(&l.Recompute)).or(parallelism.RecomputeNone), allowed: names(parallelism.RecomputePolicies()),
			doc: "activation recomputation: `selective` re-runs the attention core (or the modules of `recompute_modules`), `full` each layer's forward, `op_sac` torchtitan's op-level selective checkpointing (keeps the outputs of every other matmul, wq, wv, w1 and w2, and of the flash-attention kernel, plus the layer input; re-runs the K and output projections, w3 and every memory-bound kernel; dense models with standard attention and `training.attention = \"flash\"` only; [model.md §7.54](model.md))"},
		{name: "parallelism.recompute_modules", value: text(into(&l.RecomputeModules)), def: "`core_attn` (Megatron-Core's default)",
			doc: "with `recompute = \"selective\"`, the modules it re-runs, separated by commas (Megatron-Core's `--recompute-modules`): `core_attn` the attention core; `layernorm` the norms that are modules of their own (multi-latent attention's input norm, an MoE layer's pre-MLP norm), `moe_act` the routed experts' activation, `mla_up_proj` the latent attention's up-projections: these three free their outputs after use and recompute them before the backward pass that needs them (less activation memory, the kernels run twice; [model.md](model.md)); `mlp` a dense layer's MLP, checkpointed whole (not an MoE layer's). `moe_act` needs experts, `mla_up_proj` multi-latent attention"},
		{name: "parallelism.zero", value: count(into(&l.ZeRO)).or(0), allowed: numbers(parallelism.ZeROStages()),
			doc: "optimizer sharding: 1 the optimizer state (the distributed optimizer), 2 also gradients, 3 also weights"},
		{name: "parallelism.overlap_grad_reduce", value: boolean(into(&l.OverlapGradReduce)).or(true),
			doc: "ZeRO 0–1: gradient buckets reduced during the last backward pass; ZeRO 1–2: also the parameter all-gather overlapped with the next step's forward; ZeRO-2: false reduce-scatters each micro-batch's gradients on the compute stream, the backward waiting (DeepSpeed's `overlap_comm`, false by default below stage 3); ZeRO-3 always overlaps it (stage 3's default), and the report's notes say so when this key is false"},
		{name: "parallelism.tp_overlap", value: boolean(into(&l.TPOverlap)).or(false),
			doc: "tensor-parallel collectives overlap their block's compute"},
		{name: "parallelism.async_tp_allreduce", value: boolean(into(&l.AsyncTPAllReduce)).or(false),
			doc: "each column-parallel layer's (QKV, MLP up) input-gradient all-reduce runs beside its weight-gradient GEMM, whatever `tp_overlap` says: Megatron-LM's `--async-tensor-model-parallel-allreduce` (on by default since 2022, megatron/mpu/layers.py @7fccd6a; off with sequence parallelism, and forced off under DeepSpeed in Megatron-DeepSpeed's arguments.py). No effect with `sequence_parallel`, `cp` > 1 or `tp` = 1 ([model.md §7.15](model.md#715-fifth-round-a100-dense-the-megatron-layers-unmerged-kernels-and-the-asynchronous-input-gradient-all-reduce))"},
		{name: "parallelism.pp_overlap", value: boolean(into(&l.PPOverlap)).or(true),
			doc: "pipeline sends run beside compute; false: each send blocks its sender's compute stream (Megatron-LM 2021–22 synchronised after every send/receive; the embedded default scenario sets false)"},
		{name: "parallelism.pp_scatter_gather", value: boolean(not(&l.NoPPScatterGather)).or(true),
			doc: "Megatron-LM's pipeline scatter/gather: with TP > 1 and no sequence parallelism each TP rank sends 1/tp of the activation and the receiver all-gathers it over NVLink; false: every TP rank sends the whole activation, as Megatron-Core has since 2023 and Megatron-LM did before the SC21 paper (April 2021) introduced the optimization — the embedded default scenario, the January 2021 run, sets false. No effect without TP or with sequence parallelism"},

		{name: "parallelism.zero1_allreduce", value: boolean(into(&l.ZeRO1AllReduce)).or(false),
			doc: "with `zero = 1`: reduce the gradients with an all-reduce (each rank then updates its shard of the optimizer state) instead of a reduce-scatter, as DeepSpeed's BF16_Optimizer does under its pipeline engine (`_bf16_reduce_grads` → `buffered_allreduce_fallback` over the fp32 gradients, deepspeed/runtime/pipe/engine.py @56c522386); the parameters' all-gather after the step stays. No effect with another `zero`"},

		{name: "parallelism.zero_fp32_reduce", value: boolean(into(&l.ZeROFP32Reduce)).or(false),
			doc: "with `zero = 2` or `3`: reduce-scatter each micro-batch's gradients in fp32 (4 bytes per parameter), as PyTorch FSDP does with `reduce_dtype` float32 — torchtitan's default (`training.mixed_precision_reduce = \"float32\"`, torchtitan/config_manager.py @9dec370) and Composer's `DEFAULT` FSDP mixed precision (mosaicml/composer @fb1dd382, composer/trainer/mosaic_fsdp_utils.py); false: the 16-bit gradients (2 bytes), as DeepSpeed reduces them (its `communication_data_type` defaults to the training precision). The stack `pytorch-fsdp` sets true ([model.md §7.46](model.md#746-pytorch-native-fsdp-torchtitan-and-llm-foundry-as-a-held-out-family)). No effect with another `zero`"},
		{name: "parallelism.zero3_rank_loops", value: boolean(into(&l.ZeRO3RankLoops)).or(false),
			doc: "with `zero = 3`: DeepSpeed's stage 3 of 2021 (v0.3.13–v0.4.x) on PyTorch ≤ 1.8, whose collectives loop over the data-parallel ranks on the host: each parameter gather costs N view calls of host time before its transfer (`_allgather_param`'s per-rank `narrow`, after a device synchronisation) and N copy kernels beside it (c10d's per-rank `copy_` out of its flat buffer, counted where they outlast the transfer), each gradient reduce-scatter, one per parameter tensor, N × (two view calls + one copy kernel) before its transfer; tensors under 100,000 elements (`stage3_param_persistence_threshold`) are not gathered before each pass but re-gathered after every optimizer step, N × (three view calls + one copy kernel) each (`_allgather_params`), at `training.host_issue` per kernel and 10 µs per call ([model.md §7.48](model.md)). No effect with another `zero` or with `dp = 1`; the report says so (`(no effect here: …)`) and echoes `layout.zero3_rank_loops`"},

		{name: "moe.skew", value: number(into(&l.Skew)).or(1),
			doc: "routing skew: the hottest expert-parallel rank's routed tokens over the balanced share, 1..1000; that rank's all-to-alls and expert GEMMs gate every layer (NVIDIA's published MoE runs force balance: 1)"},
		{name: "moe.capacity_factor", value: number(into(&l.CapacityFactor)).or(0),
			doc: "0: dropless; else 1..1000: an expert takes at most this multiple of the balanced share of tokens and drops the rest, so the hottest rank's load is min(skew, capacity_factor)"},
		{name: "moe.dispatch_fp8", value: boolean(into(&l.DispatchFP8)).or(false),
			doc: "the token dispatch all-to-all and the backward's all-to-all of the combine's gradient carry FP8 elements with one fp32 scale per 128 (1.03 bytes an element instead of 2); the combine and the dispatch's gradient stay 16-bit (DeepSeek-V3 §3.3.4); needs `training.precision = \"fp8\"`"},
		{name: "moe.dispatcher", value: text(into(&l.Dispatcher)).or(parallelism.DispatcherAllToAll), allowed: names(parallelism.Dispatchers()),
			doc: "how tokens reach their experts: `alltoall` (NCCL's pairwise all-to-all, Megatron-Core's `alltoall` dispatcher: every routed copy for another node's GPU goes through the NIC) or `flex` (a node-level dispatch, Megatron-Core's `flex` dispatcher with DeepEP or HybridEP: a token crosses the fabric once to each node holding one of its experts and is forwarded there over NVLink; the combine mirrors it). Under `flex` the NIC carries the expected distinct destination nodes per token (from `top_k`, `experts`, the nodes the expert group spans and `model.router_groups`) instead of every copy, and the kernels take `moe.dispatcher_sms` SMs from overlapped computation ([model.md §7.45](model.md#745-the-moe-dispatcher-as-a-key-nccl-all-to-all-or-node-level-flex-dispatch-issue-10)). Needs `model.experts` > 0 and the analytic network"},
		{name: "moe.dispatcher_sms", value: count(into(&l.DispatcherSMs)).or(0), def: "0 (20)",
			doc: "SMs the flex dispatcher's kernels take from computation running beside them; 0: 20, Megatron-Core's `moe_deepep_num_sms` default (HybridEP's `moe_hybridep_num_sms` default is 16); 0..the GPU's SMs. Read with `moe.dispatcher = \"flex\"` only (NCCL's collectives take `calibration.comm_sms`)"},
		{name: "moe.overlap", value: boolean(into(&l.MoEOverlap)).or(false),
			doc: "the dispatch and combine all-to-alls run beside computation (Megatron-Core's `--overlap-moe-expert-parallel-comm`): each beside the compute step before it, the shared experts moved before the dispatch; under `parallelism.schedule = \"dualpipe\"`, and under the interleaved schedule or the 1f1b one with pp = 1 (Megatron-Core's combined 1F1B: one more warm-up forward, each steady-state forward paired with the next backward; docs/model.md §7.25), also beside the paired pass's computation"},

		{name: "training.global_batch", value: count(into(&t.GlobalBatch)), def: "— (required)", need: required("(sequences per step)"),
			doc: "sequences per step; > 0 and divisible by `dp × microbatch`"},
		{name: "training.precision", value: text(into(&t.Precision)).or(units.BF16), allowed: names(units.Precisions()),
			doc: "the number format of the GEMMs; the GPU must have a peak for it"},
		{name: "training.tokens", value: number(into(&t.Tokens)).or(0), def: "0 (no time-to-train)",
			doc: "tokens of the whole run, for the time-to-train estimate; 0–1e18"},
		{name: "training.steps", value: count(into(&t.Steps)).or(1),
			doc: "steps replayed event by event; ≥ 1. Where the steps repeat, the third and later are extrapolated from the second (their sums added again one step at a time), up to about 1e9 tasks' worth (steps × the tasks of a step); more is refused"},
		{name: "training.attention", value: text(into(&t.Attention)).or(model.AttentionFlash), allowed: append(names(model.Attentions()), attentionAuto),
			doc: "how the attention core runs: `unfused` (separate score GEMMs, softmax, dropout) or `flash`; `auto` follows the GPU family: `unfused` on ampere (Megatron-LM's A100 runs of 2021 predate FlashAttention, Dao et al. 2022), `flash` on hopper and blackwell (Megatron-Core with Transformer Engine runs fused attention there by default). The embedded default scenario sets `auto`, so `--set cluster.system=dgx-h100` replays flash attention"},
		{name: "training.flash_kernel", value: text(into(&t.FlashKernel)).or(model.FlashFused), allowed: names(model.FlashKernels()),
			doc: "which library's kernel runs flash attention (read with `attention = \"flash\"`): `fused`, the GPU family's fused kernel, whose rate `calibration.flash_fraction` gives (Transformer Engine's choice: cuDNN's fused attention on Hopper, which it prefers to FlashAttention-2 on sm90); `fa2`, FlashAttention-2 (the flash-attn 2.x package, PyTorch SDPA's flash backend), which runs Ampere's mma.sync kernels on Hopper: there at 0.616 of that rate in the forward pass and 0.621 in the backward (the FlashAttention-3 paper's H100 measurements, FlashAttention-2 against cuDNN at head dimension 128, Shah et al. 2024 Fig. 5 and 6); on ampere the family's rate is FlashAttention-2's own, and blackwell has no published measurement, so there `fa2` prices as `fused`. The stack `pytorch-fsdp` sets `fa2` ([model.md §7.49](model.md#749-flashattention-2-on-hopper-as-a-kernel-property)); `sim validate` also sets it for a Transformer Engine run on Hopper that ran flash-attn 2: TE before v1.2 (2023-12) or `NVTE_FUSED_ATTN=0` ([model.md §7.53](model.md#753-transformer-engines-era-and-the-attention-kernel-it-ran-on-hopper-rule-kept))"},
		{name: "training.fp8_recipe", value: text(into(&t.FP8Recipe)).or(model.FP8Delayed), allowed: names(model.FP8Recipes()),
			doc: "Transformer Engine's FP8 scaling recipe (Megatron-Core's `--fp8-recipe`, default `delayed`); read with `precision = \"fp8\"` only (a recipe other than `delayed` with a 16-bit precision is refused, not ignored), and by two things: the grouped expert GEMMs (`delayed` quantises every local expert's input in one fused kernel, `tensorwise` (current scaling), `mxfp8` and `blockwise` with one kernel per expert: Transformer Engine's `split_quantize`), and Hopper's FP8 linear-GEMM slowdown, calibrated on delayed-scaling runs and applied to `delayed` only (model.md §7.12)"},
		{name: "training.fp8_param", value: boolean(into(&t.FP8Param)).or(false),
			doc: "with `precision = \"fp8\"` only (refused otherwise): the linear layers' weights are kept in FP8 only, with no 16-bit copy beside the FP8 weight and its transpose (2 of the 4 bytes per linear weight), and the distributed optimizer's parameter all-gather after the step moves them in FP8, 1 byte each (Megatron-Core's `--fp8-param-gather` / `TransformerConfig.fp8_param`, which Megatron-Bridge's FP8 precision configurations set: `fp8_param_gather = True` in `bf16_with_fp8_current_scaling_mixed` and `bf16_with_mxfp8_mixed`, src/megatron/bridge/training/mixed_precision.py @ 5776a6d9); the fp32 master weights stay in the optimizer state. No effect on the kernels' time ([model.md §7.65](model.md#765-fp8-current-scaling-priced-from-transformer-engines-source-and-fp8-only-parameters-current-scaling-cost-examined-not-kept-trainingfp8_param-kept-no-prediction-change))"},
		{name: "training.host_issue", value: quantity(into(&t.HostIssue), "27us"), def: "10us (an eager PyTorch operator); 27us in the stacks megatron-core-2024 and nemo-24.07",
			doc: "host (CPU) time the framework spends to issue one kernel; 0–10 ms (0: the default). The replay prices each run of kernels between two communication points at the longer of the GPU's time and the host's issue time ([model.md §1.1](model.md#11-kernel-time-computecomputego-modeltime)). Transformer Engine's modules cost the host about 2.7× an eager PyTorch operator per call (NVIDIA/TransformerEngine issue #2053: `te.Linear` 99.66 µs against `torch.nn.Linear` 37.08 µs on GB200, 90.53 against 33.17 µs on GH200, TE of August 2025; its CPU-overhead reductions, PRs #2377 and #2400, came after release 2.9), so the Transformer Engine stacks set 27us"},
		{name: "training.grad_accum_fusion", value: boolean(not(&t.UnfusedGradAccum)).or(true),
			doc: "the weight-gradient GEMM accumulates into the gradient buffer (Megatron-LM's `--gradient-accumulation-fusion`); false: a separate add kernel per weight matrix and micro-batch, as Megatron-LM ran in 2021 (the embedded default scenario sets false)"},
		{name: "training.grad_accum_cast", value: boolean(into(&t.GradAccumCast)).or(false),
			doc: "with `grad_accum_fusion = false` and fp32 gradients: each micro-batch's 16-bit weight gradient is cast to an fp32 temporary and then added into the fp32 buffer, two kernels per weight (reading 2 and writing 4 bytes, then reading 8 and writing 4, against one add reading 2 + 4 and writing 4), as DeepSpeed's BF16_Optimizer does after every micro-batch's backward pass (`update_hp_grads`: `hp_grad.add_(lp.grad.to(fp32))`, deepspeed/runtime/bf16_optimizer.py @56c522386, microsoft/DeepSpeed PR #1801, 2022; its pipeline engine calls it on every stage). The stack `megatron-deepspeed` sets it; no effect with 16-bit gradients (fp16)"},
		{name: "training.eager_elementwise", value: boolean(into(&t.Eager)).or(false),
			doc: "run the layers' element-wise work as Hugging Face transformers' eager PyTorch modules do (v4.38 modeling_llama.py / modeling_opt.py), one kernel per tensor operation: RMSNorm in fp32 pieces, rotary embedding and SiLU·mul unfused for gated-MLP (Llama-family) models; the query scaling, dropout apart from the residual add and an fp32 softmax with its casts for the others (OPT). Training frameworks that train Hugging Face models directly (DeepSpeed-Chat, OpenRLHF) run this way; false: the fused kernels of Megatron-LM / Transformer Engine"},
		{name: "training.eager_cross_entropy", value: boolean(into(&t.EagerCrossEntropy)).or(false),
			doc: "memory only: the loss is PyTorch's eager `cross_entropy` on the fp32 upcast of the logits, as torchtitan computes it (`cross_entropy(pred.flatten(0, 1).float(), …)`, not compiled: train.py @9dec370) and Hugging Face transformers' `ForCausalLMLoss` (`logits.float()`, src/transformers/loss/loss_utils.py @0114da07), instead of a fused vocab-parallel cross-entropy. The last pipeline stage then holds 12 bytes per element of its [tokens, vocab/tp] logits at the start of the backward pass (the fp32 log-probabilities, nll_loss's dense fp32 gradient and log_softmax's fp32 gradient) instead of the fused loss's 4, and 16 with `tp` > 1 (PyTorch's `loss_parallel`, which torchtitan turns on with tensor parallelism: the saved log-probabilities, its zeros, exp and their sum); tokens are the micro-batch's, over `cp`. The step time does not change. The stack `pytorch-fsdp` sets true; `sim validate` sets false for llm-foundry, whose MPT loss is flash-attn's fused cross-entropy ([model.md §7.57](model.md#757-the-eager-fp32-cross-entropy-of-pytorch-native-stacks-in-memory))"},
		{name: "training.pp_keep_outputs", value: boolean(into(&t.PPKeepOutputs)).or(false),
			doc: "memory only: with `pp` > 1 every pipeline stage keeps each micro-batch's output until the step ends, as torch.distributed.pipelining did from pytorch/pytorch PR #138504 (2024-10-21) to PR #153383 (2025-05-13): forward_one_chunk appends it to the stage's `output_chunks`, which only the next step's `clear_runtime_states` empties (stage.py, schedules.py). Each virtual stage a GPU holds then keeps, per micro-batch of the step, its 16-bit hidden states ([micro-batch, seq/cp, hidden], over `tp` with sequence parallelism) or, on the last virtual stage, its 16-bit logits ([micro-batch, seq/cp, vocab/tp]); counted with the activations. The step time does not change. `sim validate` sets it for torchtitan runs with `pp` > 1 ([model.md §7.61](model.md))"},
		{name: "training.megatron_elementwise", value: boolean(into(&t.MegatronElementwise)).or(false),
			doc: "add the memory-bound kernels Megatron-LM's 2021–23 layer with unfused attention runs besides the fused ones the op list holds, each priced by its bytes: the QKV bias add and its gradient, the context's permute copy and its backward, the scores' two alpha multiplies and the QKV split's cat in the backward, the output and MLP bias gradients, apex's layer-norm γ/β pass and the two residual-gradient adds (megatron/model/transformer.py, megatron/mpu/layers.py @e270f68; [model.md §7.15](model.md#715-fifth-round-a100-dense-the-megatron-layers-unmerged-kernels-and-the-asynchronous-input-gradient-all-reduce)). Only with `attention = \"unfused\"`, no latent attention, `cp` = 1 and `eager_elementwise` false"},
		{name: "training.eager_hbm_fraction", value: number(into(&t.EagerHBMFraction)).or(0), def: "0 (the GPU family's calibration.hbm_fraction, 0.85)",
			doc: "[0.01, 1]: share of the datasheet HBM bandwidth reached by the memory-bound kernels PyTorch launches one tensor operation at a time where the framework has no fused kernel of its own: the unfused attention core's dropout and the kernels of `megatron_elementwise` (not apex's layer-norm γ/β pass); 0: the family's `calibration.hbm_fraction` for them too. 0.51 is what the SC21 paper's operator-fusion measurement gives for PyTorch 1.8 (NGC 20.12, the container of examples/sc21/SRUN.sh): fusion took the 175B and 530B models from 113 to 135 and from 133 to 148 TFLOP/s per GPU (Narayanan et al. 2021, §5.8), and the kernels fusion removes (the fp32 cast, scale, mask, softmax and cast back of the unfused softmax; bias + GeLU; bias + dropout + add; Megatron-LM @a5acbf539e) move 5.84 and 8.09 GB more per layer pass at TP 8, in 5.52 and 8.00 ms: 1.06 and 1.01 TB/s, 52% and 50% of the A100's 2.04 TB/s ([model.md §7.24](model.md#724-seventh-round-a100-dense-where-the-misses-beyond-12-sit-pytorchs-own-kernels-at-the-rate-sc21s-fusion-measurement-gives))"},
		{name: "training.fp32_grads", value: boolean(not(&t.Grads16)).or(true),
			doc: "fp32 gradient buffer and data-parallel reduction (`--accumulate-allreduce-grads-in-fp32`, forced with bf16); false: 16-bit, Megatron-LM's default with `--fp16` (the embedded default scenario sets false). ZeRO-2/3 reduce-scatters stay 16-bit either way"},

		{name: "simulation.network", value: text(into(&o.Network)).or(parallelism.NetworkAnalytical), allowed: parallelism.Networks(),
			doc: "network fidelity: `flow` replays a flow-level network on the cluster's graph (see [network.md](network.md))"},
		{name: "simulation.allreduce", value: text(into(&o.AllReduce)).or(collective.AlgorithmAuto), allowed: collective.Algorithms(),
			doc: "all-reduce algorithm: `auto` takes the cheaper of ring and double binary tree per call, as NCCL's tuner does; a tree is only ever used for an all-reduce over more than two nodes, so `tree` leaves smaller groups on the ring"},
		{name: "simulation.routing", value: text(into(&o.Routing)).or(parallelism.RoutingAuto), allowed: parallelism.Routings(),
			doc: "how a transfer between leaves uses the spines. `ecmp`: one spine per transfer, chosen by a hash of its source, destination and task (collisions included); `spray`: split evenly over every spine, the limit of adaptive routing and packet spraying (no collisions); `auto` follows `cluster.network.transport`: `spray` on InfiniBand, where NCCL enables adaptive routing by default (`NCCL_IB_ADAPTIVE_ROUTING`, NVIDIA/nccl `src/transport/net_ib.cc`) and DGX SuperPOD fabrics run it, `ecmp` on RoCE. Flow mode routes its transfers so; the analytical spine model charges ECMP hash collisions under `ecmp` and an even share of the leaf's uplinks under `spray` (see [network.md](network.md))"},
		{name: "simulation.flow_copies", value: text(into(&o.FlowCopies)).or(parallelism.FlowCopiesClasses), allowed: parallelism.FlowCopyModes(),
			doc: "flow mode: `classes` simulates one representative per class of identical copies of a collective (each data-parallel replica's, each TP rank's), weighted by how many copies load each link: exact, and far faster at scale; it applies to the symmetric replay when no path depends on the ECMP hash (`spray`, or no transfer crosses a spine of a built fabric) and falls back to every copy otherwise. `all`: every copy simulated (the unreduced replay, for checking). See [network.md](network.md)"},
		{name: "simulation.ranks", value: text(into(&o.Ranks)).or(parallelism.RanksSymmetric), allowed: parallelism.RankModes(),
			doc: "`symmetric`: one data-parallel replica stands for all (fast); `full`: every replica replayed, data-parallel collectives joined across replicas — DP times slower, the check that the symmetric shortcut is exact (identical step in analytical mode, tested)"},

		{name: "calibration.gemm_peak_fraction", value: number(intoNew(&k.GEMMPeakFraction)), def: perFamily(func(p compute.Params) float64 { return p.GEMMPeakFraction }),
			doc: "[0.01, 1]: share of the dense peak a large GEMM sustains (a cuBLAS benchmark at the job's shapes). With measured GEMMs (`gemm`) it no longer matters for the GEMMs they correct: the nearest measurement sets their level, and this fraction cancels out"},
		{name: "calibration.hbm_fraction", value: number(intoNew(&k.HBMFraction)), def: perFamily(func(p compute.Params) float64 { return p.HBMFraction }),
			doc: "[0.01, 1]: share of the HBM bandwidth a streaming kernel reaches"},
		{name: "calibration.flash_fraction", value: number(intoNew(&k.FlashFraction)), def: perFamily(func(p compute.Params) float64 { return p.FlashFraction }),
			doc: "[0.01, 1]: share of the dense peak flash attention sustains"},
		{name: "calibration.kernel_overhead", value: quantity(intoNew(&k.KernelOverhead), "4us"), def: familyParam(func(p compute.Params) string { return p.KernelOverhead.String() }),
			doc: "fixed cost of one kernel launch; 0–10 ms"},
		{name: "calibration.comm_sms", value: count(intoNew(&k.CommSMs)), def: familyParam(func(p compute.Params) string { return strconv.Itoa(p.CommSMs) }),
			doc: "0..`gpu.sms`: SMs overlapped communication takes from computation ([model.md §1.3](model.md#13-overlapped-communication-takes-sms))"},
		{name: "calibration.nvlink_busbw", value: quantity(intoNew(&k.NVLinkBusBandwidth), "230GB/s"), def: fmt.Sprintf("%.2f × NVLink rate; A100 nodes at 300 GB/s: NCCL's measured all-reduce; Hopper at 450 GB/s: XLA's measured all-reduce and all-to-all; Blackwell at 900 GB/s: NCCL's measured all-to-all", collective.DefaultParams().NVLinkFraction),
			doc: "≥ 100 MB/s and ≤ the NVLink rate: nccl-tests all-reduce bus bandwidth of a large message inside a node; set, it also replaces the measured in-node times (A100 all-reduce, Hopper all-reduce and all-to-all, NVLink-5 all-to-all; [model.md §2.1](model.md#21-bandwidths-and-the-nccl-protocol-factor)) by the formula at this bus bandwidth"},
		{name: "calibration.nic_busbw", value: quantity(intoNew(&k.NICBusBandwidth), "23GB/s"), def: fmt.Sprintf("%.2f × NIC rate", collective.DefaultParams().NICFraction),
			doc: "≥ 100 MB/s and ≤ the NIC rate: bus bandwidth one NIC sustains across nodes; in flow mode the same fraction of line rate scales every non-NVLink link"},
		{name: "calibration.gemm", value: gemms(&k.GEMMs), def: "none",
			doc: "measured GEMMs at the training precision, `[[calibration.gemm]]` with `m`, `n`, `k`, optional `batch` (default 1), and `tflops = \"200TFLOP/s\"` (positive, at most the GPU's peak at the training precision); no other keys. A GEMM's modelled efficiency is scaled by measured/modelled at the nearest measured shape (distance in log M·batch, log N, log K), so it is exact at a measured shape"},
		{name: "calibration.file", value: text(into(&k.File)), def: "none",
			doc: "a calibration file: a TOML file holding only a `[calibration]` table with the keys of this table (not `file`), read relative to the scenario file. Its values apply wherever this table leaves a key unset; a `gemm` list here replaces the file's. Errors in it, and values it gives that do not fit the cluster, are reported at its own lines"},

		{name: keyStack, value: text(into(&s.stack)), preset: true, def: "none", allowed: StackNames(),
			doc: stackDoc()},

		{name: keyJobPreset, value: text(into(&s.jobPreset)), preset: true, def: "none", allowed: job.PresetNames(),
			doc: "a published failure profile: `llama3-16k` is Llama 3 405B's 16,384 H100s (419 interruptions in 54 days, by part; [model.md §8](model.md#8-the-whole-job)); the other `[job]` keys override what it gives"},
		{name: "job.gpu_mtbf", value: quantity(into(&w.GPUMTBF), "50000h"), def: "preset, else none (GPUs never fail)", from: []string{keyJobPreset},
			doc: "mean time between failures of one GPU; ≥ 0 (0: never)"},
		{name: "job.node_mtbf", value: quantity(into(&w.NodeMTBF), "20000h"), def: "preset, else none", from: []string{keyJobPreset},
			doc: "mean time between failures of one node's host (CPU, memory, software, power); ≥ 0"},
		{name: "job.link_mtbf", value: quantity(into(&w.LinkMTBF), "500000h"), def: "preset, else none", from: []string{keyJobPreset},
			doc: "mean time between failures of one NIC link (a link per NIC: `nodes × nics_per_node`); ≥ 0"},
		{name: "job.fatal_fraction", value: number(into(&w.FatalFraction)).or(1),
			doc: "share of failures that interrupt the job, in [0, 1]"},
		{name: "job.checkpoint_interval", value: quantity(intoNew(&w.CheckpointInterval), "30min"), def: "the interval that minimises the expected wall time (Daly 2006); none without failures",
			doc: "training time between two checkpoints; > 0"},
		{name: "job.checkpoint_write", value: quantity(intoNew(&w.CheckpointWrite), "60s"), def: "checkpoint bytes (16-bit weights + fp32 optimizer state, 14 B per parameter) ÷ `storage_bandwidth`", from: []string{"job.storage_bandwidth"},
			doc: "time one checkpoint stops training; ≥ 0"},
		{name: "job.storage_bandwidth", value: quantity(into(&w.StorageBandwidth), "100GB/s"), def: "preset, else 100 GB/s (an assumption: a parallel file system of a 100-node cluster)", from: []string{keyJobPreset},
			doc: "sustained rate the whole job writes a checkpoint at; > 0"},
		{name: "job.restart", value: quantity(into(&w.Restart), "10min"), def: "preset, else 10 min (an assumption)", from: []string{keyJobPreset},
			doc: "time from an interruption to training again: detection, rescheduling, reloading the checkpoint; ≥ 0"},
		{name: "job.ramp", value: ramp(&w.Ramp), def: "none",
			doc: "batch ramp-up: `[[job.ramp]]` phases in order, each `global_batch` (a valid batch for the layout) for `tokens` (> 0, together at most `training.tokens`), replayed each at its batch; the rest of the run goes at `training.global_batch` (GPT-3 ramped from 32K tokens to its full batch over the first 4–12 B tokens, Brown et al. 2020 §2.3)"},
		{name: "job.runs", value: count(into(&w.Runs)).or(1000),
			doc: fmt.Sprintf("Monte-Carlo replicas of the whole run, from the scenario's seed; 1..%d", job.MaxRuns)},
		{name: "job.straggler_fraction", value: number(into(&v.SlowFraction)).or(0),
			doc: "share of GPUs that are slow, in [0, 1]; round(share × GPUs) of them, drawn from the seed"},
		{name: "job.straggler_slowdown", value: number(into(&v.Slowdown)).or(0),
			doc: "how much longer a slow GPU's kernels take: 0.2 is 20% longer; ≥ 0, and > 0 when `straggler_fraction` is"},
		{name: "job.straggler_spread", value: number(into(&v.Spread)).or(0),
			doc: "σ of a log-normal factor on every GPU's kernel times (median 1); 0..1"},
		{name: "job.slow_link_fraction", value: number(into(&v.LinkFraction)).or(0),
			doc: "share of NICs that are slow, in [0, 1]; round(share × nodes × nics_per_node) of them, drawn from the seed; analytical network only"},
		{name: "job.slow_link_slowdown", value: number(into(&v.LinkSlowdown)).or(0),
			doc: "how much longer a collective across nodes takes when a member sends through a slow NIC: 1 is twice as long; ≥ 0, and > 0 when `slow_link_fraction` is"},

		{name: "rl.algorithm", value: text(into(&r.Algorithm)), def: "— (required with `[rl]`)", need: required("with [rl] (the RL algorithm: ppo or grpo)"), allowed: names(rl.Algorithms()),
			doc: "the RL step around the job's model (the policy): `ppo` (policy, critic, reward and reference models; Ouyang et al. 2022) or `grpo` (no critic, several generations per prompt; Shao et al. 2024). Any `rl.*` key makes the run an RL step ([model.md §9](model.md#9-rl-post-training))"},
		{name: "rl.critic", value: text(into(&s.rl.critic)).or(rlNone),
			doc: "the critic (value model) of `ppo`: a model preset, or `policy` for the policy's shape; `none` for `grpo`"},
		{name: "rl.reward", value: text(into(&s.rl.reward)).or(rlNone),
			doc: "the reward model: a model preset, `policy`, or `none` (a rule-based reward, no forward pass)"},
		{name: "rl.reference", value: text(into(&s.rl.reference)).or(rlPolicy),
			doc: "the frozen reference model of the KL penalty: `policy` (a copy of the policy), a preset, or `none`"},
		{name: "rl.prompts_per_step", value: count(into(&r.PromptsPerStep)), def: "— (required with `[rl]`)", need: required("with [rl] (prompts per RL step)"),
			doc: "prompts per RL step; ≥ 1"},
		{name: "rl.generations_per_prompt", value: count(into(&r.GenerationsPerPrompt)).or(1),
			doc: "responses generated per prompt (GRPO's group); ≥ 1; samples per step = prompts × generations"},
		{name: "rl.prompt_len", value: count(into(&r.PromptLen)), def: "— (required with `[rl]`)", need: required("with [rl] (tokens of every prompt)"),
			doc: "tokens of every prompt; ≥ 1"},
		{name: "rl.engine_prompt_len", value: count(into(&r.EnginePromptLen)).or(0), def: "`prompt_len`", from: []string{"rl.prompt_len"},
			doc: "the prompts' mean length as the inference engine sees them, 1..`prompt_len`, when the engine gets each prompt without padding while scoring and training see `prompt_len` (padded shapes: OpenRLHF strips the left padding before vLLM); prefill and decode attend to it, the packed training sequences keep `prompt_len`"},
		{name: "rl.response_max", value: count(into(&r.ResponseMax)), def: "— (required with `[rl]`)", need: required("with [rl] (the longest response in tokens)"),
			doc: "the longest response in tokens (the generation cap); ≥ 1; packed training sequences are `prompt_len + response_max` tokens"},
		{name: "rl.response_mean", value: count(into(&r.ResponseMean)).or(0), def: "`response_max`", from: []string{"rl.response_max"},
			doc: "the responses' mean length, 1..`response_max`; lengths are spread as the quantiles max·u^p with p = max/mean − 1"},
		{name: "rl.train_batch", value: count(into(&r.TrainBatch)).or(0), def: "samples per step (one optimizer step)", from: []string{"rl.prompts_per_step", "rl.generations_per_prompt"},
			doc: "samples per optimizer step (PPO's mini-batch); a step runs ⌈samples ÷ train_batch⌉ × `epochs` optimizer steps, each replayed as a training step on the packed samples"},
		{name: "rl.epochs", value: count(into(&r.Epochs)).or(1),
			doc: "passes over a step's samples (PPO epochs); 1..64"},
		{name: "rl.placement", value: text(into(&r.Placement)).or(rl.Colocated), allowed: names(rl.Placements()),
			doc: "`colocated`: every phase time-shares all GPUs (training state offloaded to host memory when it does not fit beside the engine); `split`: `gen_gpus` generate, the rest score and train"},
		{name: "rl.gen_gpus", value: count(into(&r.GenGPUs)).or(0), def: "0 (all, colocated)",
			doc: "generation GPUs of a `split` placement: a multiple of `gpus_per_node` on several nodes, leaving a multiple of `tp × pp × cp` to train"},
		{name: "rl.off_policy", value: count(into(&r.OffPolicy)).or(0),
			doc: "off-policy depth k, 0..8: generation of step n+k overlaps training of step n (split only; colocated it cannot overlap)"},
		{name: "rl.gen_tp", value: count(into(&r.GenTP)).or(0), def: "`parallelism.tp`", from: []string{"parallelism.tp"},
			doc: "tensor-parallel degree of each inference-engine replica; divides the generation GPUs and the heads; engine replicas = generation GPUs ÷ gen_tp"},
		{name: "rl.batching", value: text(into(&r.Batching)).or(rl.Continuous), allowed: names(rl.Batchings()),
			doc: "`continuous`: a finished sequence's slot is refilled at once (vLLM); `static`: a batch runs until its longest response is done"},
		{name: "rl.max_batch", value: count(into(&r.MaxBatch)).or(defaultMaxBatch),
			doc: "the most sequences an engine runs at once (vLLM's `max_num_seqs`, default 256); the KV cache may allow fewer"},
		{name: "rl.gen_memory_fraction", value: number(into(&r.GenMemoryFraction)).or(defaultGenMemory),
			doc: "(0, 1]: share of the device's memory (the HBM as the CUDA driver reports it: 79.22 GiB on an H100) an engine takes for its weights, profile and KV cache (vLLM's `gpu_memory_utilization`, default 0.9); the KV cache is the rest after the weights and what `kv_profile` takes, and bounds the sequences running at once"},
		{name: "rl.kv_profile", value: text(into(&r.KVProfile)).or(rl.KVProfileNone), allowed: names(rl.KVProfiles()),
			doc: "what the engine takes from its `gen_memory_fraction` of the device's memory (as the CUDA driver reports it) before its KV cache: `none`, the weights only; `vllm-0.3`, vLLM 0.3's profile_num_available_blocks (the weights, the profile run's activation peak, the memory outside PyTorch's allocator with NCCL's buffers at TP > 1); `vllm-v1`, vLLM V1's determine_available_memory (0.11 on: the weights, the profile run's PyTorch peak, the non-torch increase; NCCL is in the baseline). The profile run is a forward of `max_batched_tokens` tokens and the sampler over min(`max_batch`, tokens) sequences (model.md §9.1)"},
		{name: "rl.max_batched_tokens", value: count(into(&r.MaxBatchedTokens)).or(0), def: "0 (the profile's default)",
			doc: "the engine's `max_num_batched_tokens`: the tokens of the profile forward of `kv_profile`; 0: vLLM 0.3's max(prompt_len + response_max, 2048), V1's 2048 (vLLM's LLM class sets 16384 on an H100, 8192 on an A100); 0 to 1048576"},
		{name: "rl.reference_swap", value: boolean(into(&r.ReferenceSwap)).or(false),
			doc: "a reference of the policy's shape keeps its weights in host memory and swaps them with the policy's for each reference pass: the policy's weight shard to the host, the reference's in, the policy's back, three crossings of PCIe per step (NeMo-RL's Megatron policy worker, use_reference_model)"},
		{name: "rl.engine_host_overhead", value: quantity(into(&r.HostOverhead), "4ms").or(0), def: "0s",
			doc: "fixed host time per engine iteration (prefill or decode) during which the engine's GPUs wait: scheduling, the sampled tokens' copy to the host (a synchronous engine loop: vLLM before 0.6, or vLLM V1 without `--async-scheduling`, about 3.7 ms per iteration in NeMo-RL's runs, model.md §9.1); 0 to 1s"},
		{name: "rl.engine_host_per_seq", value: quantity(into(&r.HostPerSeq), "100us").or(0), def: "0s",
			doc: "host time per engine iteration for each sequence it runs, the GPUs waiting: output processing and detokenisation of a synchronous engine loop (vLLM before 0.6: about 0.1 ms, vLLM issue #6913); 0 to 1ms"},
		{name: "rl.offload", value: text(into(&r.Offload)).or(rl.OffloadOverflow), allowed: names(rl.Offloads()),
			doc: "colocated: `overflow` moves to host memory only the training state that does not fit beside the engine; `all` moves the training state (weights and optimizer state; the gradients are dropped and re-zeroed, not copied) out before generation and back after it, and the engine's weights out after generation and back before the next (NeMo-RL's offload and vLLM sleep/wake_up)"},
		{name: "rl.refit_rate", value: quantity(into(&r.RefitRate), "2.5GB/s").or(0), def: "0 (the hardware's rate)",
			doc: "rate at which an engine GPU takes in its shard of the new weights at a refit, the framework's handoff included (CUDA IPC handles, the engine's weight loader); 0: an HBM copy colocated, the link split, no software cost; else 1MB/s–1PB/s"},
		{name: "rl.optimizer_swap_rate", value: quantity(into(&r.OptimizerSwapRate), "1.57GB/s").or(0), def: "0 (the PCIe rate)",
			doc: "with `rl.offload = \"all\"` (refused with `overflow`): the rate, each direction, at which each GPU's optimizer state (the training replay's, 12 B per parameter) goes to host memory before generation and comes back for training (NeMo-RL copies each state tensor with a synchronous `.to()` into pageable host memory, far below PCIe); 0: at the system's PCIe rate like the weights; else 1MB/s–1PB/s"},
		{name: "rl.cpu_adam_bandwidth", value: quantity(into(&r.CPUAdamBandwidth), "51.2GB/s").or(0), def: "0 (the optimizer on the GPU)",
			doc: "> 0 offloads the training's optimizer to the host (DeepSpeed ZeRO-Offload, OpenRLHF's `--adam_offload`): each GPU's shard of fp32 weights, Adam moments and fp32 gradients lives in host memory, every optimizer step sends the shard's 16-bit gradients down and its 16-bit weights back over PCIe, and the host streams 46 bytes per parameter at this host-memory bandwidth per GPU (CPU Adam's 28, DeepSpeed's in-place unscaling of the fp32 gradient, 8, the weight's conversion to 16 bit and its pinned staging, 10); the training then needs only weights, activations and transients in HBM; 0 or 1MB/s–1PB/s"},
		{name: "rl.offload_pcie_share", value: count(into(&r.OffloadPCIeShare)).or(1),
			doc: "with `rl.cpu_adam_bandwidth`: the GPUs that send their optimizer-offload traffic through one host PCIe link at the same time (a PCIe switch's x16 uplink to the CPU: 2 on a DGX A100, whose four PCIe 4.0 switches each hold two GPUs, when every GPU of a switch trains); the offload's PCIe part runs at the x16 rate over this share; 0 or 1 (each GPU its own link) to 16"},
		{name: "rl.logprob_microbatch", value: count(into(&r.LogprobMicrobatch)).or(1),
			doc: "packed sequences per scoring forward pass; 1..1024"},
		{name: "rl.pad_packs", value: boolean(into(&r.PadPacks)).or(false),
			doc: "the samples are packed into micro-batches as NeMo-RL packs them: modified first-fit decreasing into bins of the pack length (training) or `logprob_microbatch` pack lengths (log-probabilities), the bin count a multiple of the data-parallel ranks; with pipeline parallelism in the training layout every micro-batch of the policy's training and log-probability passes is padded to the longest bin (a pipeline needs one shape), without it the training's micro-batches are the bins at their mean length and the scoring keeps the token count; false: the packs are the tokens over the pack length"},
		{name: "rl.critic_gpus", value: count(into(&r.CriticGPUs)).or(0), def: "0 (the whole training pool, after the policy)",
			doc: "split placement, PPO: the critic trains on its own GPUs of the training pool at the same time as the policy trains on the rest (OpenRLHF's Ray roles: the actor starts the critic's fit as a remote call, then trains); both shares multiples of tp × pp × cp"},
		{name: "rl.rollout_ranks", value: count(into(&r.RolloutRanks)).or(0), def: "0 (every prompt queued at once)",
			doc: "split placement: experience made by this many actor ranks, each sending its prompts to engine rank mod replicas in blocking calls of `rl.max_batch` samples (prompt × generation) and scoring each call's samples (every scoring model on its own GPUs at once) before the next call (OpenRLHF 2024's RemoteExperienceMaker); 0: the engines get every prompt at once and the samples are scored on the training pool after generation"},
		{name: "rl.prompts", value: number(into(&r.Prompts)).or(0), def: "0 (none)",
			doc: "a number of prompts to report the processing time of (`rl.prompts_time_s`); ≥ 0"},
	}
}

// names turns string constants into the allowed values of a key.
func names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// numbers turns integer constants into the allowed values of a key.
func numbers(values []int) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strconv.Itoa(v)
	}
	return out
}

// perFamily shows a kernel-efficiency constant's default per GPU family, as
// compute.ParamsFor holds it: "0.78 Ampere, 0.70 Hopper and Blackwell".
func perFamily(get func(compute.Params) float64) string {
	return familyParam(func(p compute.Params) string { return fmt.Sprintf("%.2f", get(p)) })
}

// familyParam shows a compute constant per GPU family, families with the
// same value grouped: "8", or "0.78 Ampere, 0.70 Hopper and Blackwell".
func familyParam(show func(compute.Params) string) string {
	var values []string
	byValue := map[string][]string{}
	for _, f := range topology.Families() {
		p, err := compute.ParamsFor(f)
		if err != nil {
			continue
		}
		v := show(p)
		if _, seen := byValue[v]; !seen {
			values = append(values, v)
		}
		byValue[v] = append(byValue[v], strings.ToUpper(f[:1])+f[1:])
	}
	if len(values) == 1 {
		return values[0]
	}
	parts := make([]string, len(values))
	for i, v := range values {
		fams := byValue[v]
		list := fams[len(fams)-1]
		if len(fams) > 1 {
			list = strings.Join(fams[:len(fams)-1], ", ") + " and " + list
		}
		parts[i] = v + " " + list
	}
	return strings.Join(parts, ", ")
}
