package model

import (
	"slices"

	"trainsim/mesh"
	"trainsim/units"
)

// The step as data: each kind of layer is described, per pass, as an ordered
// list of steps — runs of kernels and collectives over a group of the device
// mesh — that one builder (package parallelism) turns into tasks, whatever
// the layer. A new operation in a layer is a new step here, not a new code
// path in the builder (the approach of Chakra execution traces, which
// ASTRA-sim replays: typed compute and communication nodes walked
// generically).

// StepKind is what a step of a layer program does.
type StepKind uint8

// The kinds of steps.
const (
	// Compute runs kernels back to back on one GPU.
	Compute StepKind = iota
	// Collective moves data over one group of the device mesh.
	Collective
)

// CommOp is the collective operation of a step.
type CommOp uint8

// The collective operations.
const (
	AllReduce CommOp = iota
	ReduceScatter
	AllGather
	SendRecv
	AllToAll
)

func (o CommOp) String() string {
	return [...]string{"all-reduce", "reduce-scatter", "all-gather", "send/recv", "all-to-all"}[o]
}

// Step is one entry of a layer program.
type Step struct {
	// Name says which tensor or block the step works on ("attention",
	// "mlp-bwd", "attention tp all-reduce").
	Name string
	Kind StepKind
	// Ops are the kernels of a Compute step, in the order they run; the
	// replay prices them together as one task.
	Ops []Op
	// Comm, Group and Bytes describe a Collective step: the operation, the
	// mesh dimension of the group it runs over and the buffer's size (the
	// all-reduce input, the reduce-scatter input, the all-gather output).
	Comm  CommOp
	Group mesh.Dim
	Bytes units.Bytes
	// Expert marks a collective over a group of the expert sub-mesh
	// (Group mesh.TP is then the expert tensor-parallel group).
	Expert bool
	// Overlappable marks a collective that may run beside the compute step
	// before it (tensor-parallel communication overlapped with the block's
	// GEMMs): it may start when that compute starts, and the step after it
	// waits for it. Whether it does is the layout's choice (tp_overlap);
	// otherwise, and always without the mark, it runs after the compute,
	// and the GPU waits for it.
	Overlappable bool
	// NodeLevel marks an expert all-to-all run by a node-level (flex)
	// dispatcher (Shard.FlexDispatch): a token crosses the fabric once per
	// destination node and is forwarded there over NVLink
	// (collective.Placement.NodeCopies).
	NodeLevel bool
	// Async marks a collective that always runs beside the compute step
	// before it, whatever the layout's tp_overlap: Megatron-LM's
	// asynchronous input-gradient all-reduce of a column-parallel layer,
	// issued before its weight-gradient GEMM (Shard.AsyncDgrad).
	Async bool
}

// Program is the ordered steps of one pass through one layer. Each step
// depends on the one before it, except where Overlappable says otherwise.
type Program []Step

// SplitWeightGrad splits a backward program into its input-gradient part B
// and its weight-gradient part W, as zero-bubble pipeline schedules run them
// (Qi et al. 2024, "Zero Bubble Pipeline Parallelism", ICLR, §2): every
// compute step keeps its other kernels in B (an emptied step stays, of no
// work, so that the collectives overlapped with it keep their place) and
// gives its WeightGrad kernels to a step of W named after it; collectives
// stay in B. B followed by W runs the same kernels as the program.
func SplitWeightGrad(p Program) (in, weight Program) {
	for _, st := range p {
		if st.Kind != Compute {
			in = append(in, st)
			continue
		}
		b, w := st, Step{Name: st.Name + " wgrad", Kind: Compute}
		b.Ops = nil
		for _, op := range st.Ops {
			if op.WeightGrad {
				w.Ops = append(w.Ops, op)
			} else {
				b.Ops = append(b.Ops, op)
			}
		}
		in = append(in, b)
		if len(w.Ops) > 0 {
			weight = append(weight, w)
		}
	}
	return in, weight
}

// LayerKind names a kind of layer.
type LayerKind uint8

// The kinds of layers a decoder-only transformer is built of.
const (
	// EmbeddingLayer is the token and position embedding lookup (the
	// first layer of the first pipeline stage).
	EmbeddingLayer LayerKind = iota
	// TransformerLayer is one attention + MLP block.
	TransformerLayer
	// LogitsLayer is the output layer (sharing the token embedding) and
	// the cross-entropy loss (the last layer of the last stage).
	LogitsLayer
	// MoELayer is one attention + mixture-of-experts block.
	MoELayer
	// MTPLayer is one multi-token-prediction module (mtp.go): its input
	// norms and projection, a transformer block, and the shared output
	// head with its loss, on the last pipeline stage.
	MTPLayer
	// LocalTransformerLayer and LocalMoELayer are TransformerLayer and
	// MoELayer with sliding-window attention (Config.Window; window.go):
	// the same blocks, the attention core priced over the window.
	LocalTransformerLayer
	LocalMoELayer
	NumLayerKinds
)

func (k LayerKind) String() string {
	return [...]string{"embedding", "transformer", "logits", "moe", "mtp", "transformer-local", "moe-local"}[k]
}

// MoE reports whether a layer of kind k is a mixture-of-experts block.
func (k LayerKind) MoE() bool { return k == MoELayer || k == LocalMoELayer }

// Local reports whether a layer of kind k uses sliding-window attention.
func (k LayerKind) Local() bool { return k == LocalTransformerLayer || k == LocalMoELayer }

// Uses reports whether c has layers of kind k (the embedding, the logits
// and TransformerLayer always count as used, as a program for them is
// always built).
func (c Config) Uses(k LayerKind) bool {
	switch k {
	case MoELayer:
		return c.MoE()
	case MTPLayer:
		return c.MTPDepth > 0
	case LocalTransformerLayer:
		return c.LocalLayers() > 0
	case LocalMoELayer:
		return c.MoE() && c.LocalLayers() > 0
	}
	return true
}

// computeStep is a Compute step of ops: the GPU's kernels between two
// communication points, which a layer program's passes are made of.
func computeStep(name string, ops []Op) Step { return Step{Name: name, Kind: Compute, Ops: ops} }

// Recompute is an activation recomputation policy (Korthikanti et al. 2022).
type Recompute string

// The recomputation policies.
const (
	RecomputeNone      Recompute = "none"
	RecomputeSelective Recompute = "selective" // re-run the attention core only
	RecomputeFull      Recompute = "full"      // re-run each layer's forward
	// RecomputeOpSAC is torchtitan's op-level selective activation
	// checkpointing (opSACRecompute): the outputs of every other matmul
	// and of the attention kernel are kept, everything else re-run.
	RecomputeOpSAC Recompute = "op_sac"
)

// Layer is one kind of layer as one GPU runs it after the parallel split:
// its program for each pass and the parameters it holds.
type Layer struct {
	Kind LayerKind
	// Forward and Backward are the passes; Recompute is what the backward
	// pass re-runs first under Shard.Recompute (nil: nothing).
	Forward, Backward, Recompute Program
	// Params is the parameter count one tensor-parallel rank holds of the
	// layer: what its gradient reduction and parameter gathers move.
	Params float64
	// Tensors lists, for a layer whose parameters a sharded optimizer
	// (ZeRO-3) gathers tensor by tensor before each pass, the parameter
	// count of each weight tensor before the tensor-parallel split; nil for
	// a table gathered in one call.
	Tensors []int64
	// Tied marks the output layer whose weight is the embedding table:
	// when one model chunk holds both, their gradients are one tensor.
	Tied bool
	// ExpertParams is, for an MoE layer, the routed experts' parameters one
	// rank holds (Experts/EP of them); their gradients are reduced over the
	// expert data-parallel group of the expert sub-mesh, not with Params.
	ExpertParams float64
}

// Programs returns the layer kinds of c as sh runs them, indexed by
// LayerKind.
func (c Config) Programs(sh Shard) [NumLayerKinds]Layer {
	e := sh.Precision.ElementBytes()
	t := sh.TP
	// One activation tensor of the micro-batch: what the tensor-parallel
	// collectives move (s/cp tokens of each sequence under context
	// parallelism).
	act := units.Bytes(float64(sh.Microbatch*c.SeqLen/sh.cp()*c.Hidden)) * e
	// tp returns the tensor-parallel collectives after a block: an
	// all-reduce of its output, or with sequence parallelism a
	// reduce-scatter of its output and the all-gather of the next block's
	// input (Korthikanti et al. 2022, §4.2.2).
	tp := func(name string) Program {
		switch {
		case t == 1:
			return nil
		case sh.SequenceParallel:
			return Program{
				{Name: name + " tp reduce-scatter", Kind: Collective, Comm: ReduceScatter, Group: mesh.TP, Bytes: act, Overlappable: true},
				{Name: name + " tp all-gather", Kind: Collective, Comm: AllGather, Group: mesh.TP, Bytes: act, Overlappable: true},
			}
		}
		return Program{{Name: name + " tp all-reduce", Kind: Collective, Comm: AllReduce, Group: mesh.TP, Bytes: act, Overlappable: true}}
	}
	// replicated is the all-reduce of a tensor every TP rank needs whole:
	// the embedding's output, the gradient of the logits' input. It is not
	// overlapped.
	replicated := func(name string) Program {
		if t == 1 {
			return nil
		}
		return Program{{Name: name + " tp all-reduce", Kind: Collective, Comm: AllReduce, Group: mesh.TP, Bytes: act}}
	}

	var out [NumLayerKinds]Layer
	// blocks returns the transformer and MoE layers built of one attention
	// block and one MLP block: the global layers' or the local ones'.
	blocks := func(attn, mlp Block) (Layer, Layer) {
		attnFwd := Program{computeStep("attention", attn.Forward)}
		attnBwd := Program{computeStep("attention-bwd", attn.Backward)}
		coreFwd := Program{computeStep("attention-core", attn.Core)}
		if cp := sh.cp(); cp > 1 {
			attnFwd, attnBwd, coreFwd = ringAttention(sh, attn, c.KVBlockBytes(sh))
		}
		fwd := slices.Concat(attnFwd, tp("attention"), Program{computeStep("mlp", mlp.Forward)}, tp("mlp"))
		mlpBwd := slices.Concat(Program{computeStep("mlp-bwd", mlp.Backward)}, tp("mlp-bwd"))
		attnBwdTP := slices.Concat(attnBwd, tp("attention-bwd"))
		if sh.AsyncDgrad && sh.AsyncDgradIdle() == "" {
			// tp's one all-reduce (no sequence parallelism), and attnBwd one
			// step (no ring attention).
			mlpBwd = asyncDgrad("mlp-bwd", mlp.Backward, "mlp-up", tp("mlp-bwd")[0])
			attnBwdTP = asyncDgrad("attention-bwd", attn.Backward, "qkv", tp("attention-bwd")[0])
		}
		tl := Layer{
			Kind:     TransformerLayer,
			Forward:  fwd,
			Backward: slices.Concat(mlpBwd, attnBwdTP),
			Params:   float64(c.LayerParams()) / float64(t),
			Tensors:  c.LayerTensors(),
		}
		switch sh.Recompute {
		case RecomputeFull:
			tl.Recompute = fwd
		case RecomputeSelective:
			// A dense layer's only norm of its own is multi-latent
			// attention's input norm (ModuleLayernorm).
			var norms []Op
			if c.MLA() {
				norms = opsNamed(attn.Forward, "layernorm")
			}
			// The dense MLP's forward but its bias-dropout-add (ModuleMLP).
			var mlpOps []Op
			for _, o := range mlp.Forward {
				if o.Name != "bias-dropout-add" {
					mlpOps = append(mlpOps, o)
				}
			}
			tl.Recompute = selectiveRecompute(sh, coreFwd, mlpOps, norms, opsNamed(attn.Forward, "q-up", "kv-up"), nil)
		case RecomputeOpSAC:
			tl.Recompute = opSACRecompute(c, sh, attn.Forward, mlp.Forward)
		}
		var moe Layer
		if c.MoE() {
			moe = c.moeLayer(sh, attnFwd, attnBwd, coreFwd, tp("attention"))
		}
		return tl, moe
	}
	out[TransformerLayer], out[MoELayer] = blocks(c.LayerBlocks(sh))
	if c.LocalLayers() > 0 {
		// The local layers: the same blocks, the attention over the window.
		tl, moe := blocks(c.layerBlocks(sh, c.Window))
		tl.Kind, moe.Kind = LocalTransformerLayer, LocalMoELayer
		out[LocalTransformerLayer] = tl
		if c.MoE() {
			out[LocalMoELayer] = moe
		}
	}
	if c.MTPDepth > 0 {
		out[MTPLayer] = c.mtpLayer(sh, out[c.MTPBlockKind()])
	}

	embParams := float64(c.Vocab) * float64(c.Hidden) / float64(t)
	ef, eb := c.EmbeddingOps(sh)
	out[EmbeddingLayer] = Layer{
		Kind:     EmbeddingLayer,
		Forward:  slices.Concat(Program{computeStep("embedding", ef)}, replicated("embedding")),
		Backward: Program{computeStep("embedding-bwd", eb)},
		// The token table's shard and the whole position table.
		Params: embParams + float64(c.SeqLen)*float64(c.Hidden),
	}
	lf, lb := c.LogitsOps(sh)
	out[LogitsLayer] = Layer{
		Kind:     LogitsLayer,
		Forward:  Program{computeStep("logits", lf)},
		Backward: slices.Concat(Program{computeStep("logits-bwd", lb)}, replicated("logits-input-grad")),
		Params:   embParams,
		Tied:     true,
	}
	return out
}

// asyncDgrad splits a block's backward kernels around its column-parallel
// layer's (gemm's) weight gradient, as Megatron-LM's
// LinearWithGradAccumulationAndAsyncCommunication runs it (megatron/mpu/
// layers.py @7fccd6a; megatron/core/tensor_parallel/layers.py since):
// the input-gradient GEMM, then its all-reduce issued asynchronously and
// the weight-gradient GEMM (and its accumulation) beside it, then the
// kernels that need the reduced gradient (the layer norm's backward and
// what follows). ar is the block's tensor-parallel all-reduce; without the
// weight-gradient GEMM in ops it returns the block as one step followed by
// ar as it is.
func asyncDgrad(name string, ops []Op, gemm string, ar Step) Program {
	w := slices.IndexFunc(ops, func(o Op) bool { return o.Name == gemm+"-wgrad" })
	if w < 0 {
		return Program{computeStep(name, ops), ar}
	}
	end := w + 1
	if end < len(ops) && ops[end].Name == gemm+"-grad-accum" {
		end++
	}
	ar.Async = true
	return Program{computeStep(name, ops[:w]), computeStep(name+" wgrad", ops[w:end]), ar, computeStep(name+" input", ops[end:])}
}

// KindOf returns the kind of transformer layer i (0-based) of the stack:
// every layer of a dense model is a TransformerLayer; an MoE model's first
// DenseLayers are, the others MoELayers.
//
// A layer with sliding-window attention (Config.LocalLayer) is the local
// kind of the same block: LocalTransformerLayer or LocalMoELayer.
func (c Config) KindOf(i int) LayerKind {
	moe := c.MoE() && i >= c.DenseLayers
	switch local := c.LocalLayer(i); {
	case moe && local:
		return LocalMoELayer
	case moe:
		return MoELayer
	case local:
		return LocalTransformerLayer
	}
	return TransformerLayer
}

// moeLayer returns the MoE layer as sh runs it (Megatron-Core's MoELayer
// with the all-to-all token dispatcher): the attention block as in a dense
// layer (attnFwd, attnBwd; coreFwd is what selective recomputation
// re-runs), then the MoE block on the rank's sequence-parallel tokens. With
// TP > 1 (and so sequence parallelism) the attention's output is
// reduce-scattered, the MoE block works on the rank's 1/TP of the tokens,
// and the layer's output is all-gathered for the next layer's attention;
// the backward mirrors it (an all-gather of the gradient before the
// attention's backward, whose own collectives follow it). The dispatch and
// combine all-to-alls run over the EP group of the expert sub-mesh; with
// ETP > 1 the tokens an expert rank received are all-gathered over the
// expert tensor-parallel group before the expert GEMMs and the outputs
// reduce-scattered after them. The shared experts, split over TP like a
// dense MLP, all-gather their input and reduce-scatter their output.
//
// With sh.MoEOverlap each all-to-all is Overlappable with the compute step
// before it, which stands for Megatron-Core's overlap of one micro-batch's
// all-to-all with another micro-batch's compute (--overlap-moe-expert-
// parallel-comm, DeepSeek-V3's DualPipe, arXiv:2412.19437 §3.2.1): the
// shared experts run before the dispatch, as Megatron-Core's
// --moe-shared-expert-overlap runs them beside it, the combine beside the
// expert GEMMs; in the backward the combine's gradient beside the shared
// experts' backward and the dispatch's beside the expert GEMMs' backward.
func (c Config) moeLayer(sh Shard, attnFwd, attnBwd, coreFwd, attnTP Program) Layer {
	router, experts, shared, combine := c.MoEBlock(sh)
	a2a := func(name string, fp8 bool) Program {
		b := c.DispatchBytes(sh)
		if fp8 && sh.DispatchFP8 {
			b = c.FP8DispatchBytes(sh)
		}
		return Program{{Name: name, Kind: Collective, Comm: AllToAll, Group: mesh.EP, Bytes: b, Expert: true, Overlappable: sh.MoEOverlap, NodeLevel: sh.FlexDispatch}}
	}
	// Before its dispatch the all-to-all dispatcher all-gathers every
	// rank's token count per expert over the expert TP×EP group and copies
	// the splits to the host (preprocess: gather_from_sequence_parallel_region
	// of num_local_tokens_per_expert, then the device-to-host sync at
	// "before_ep_alltoall"; megatron/core/transformer/moe/token_dispatcher.py
	// @ core_v0.15.0): a small, latency-bound collective in every MoE
	// layer's forward. One int64 per expert per rank. Under moe.overlap it
	// runs beside the compute step before it, as the dispatch does, so
	// that it does not stand between that step and the dispatch.
	counts := Program{{Name: "moe token-count all-gather", Kind: Collective, Comm: AllGather, Group: mesh.EP, Bytes: units.Bytes(8 * c.Experts * sh.ep() * sh.etp()), Expert: true, Overlappable: sh.MoEOverlap}}
	var etpAG, etpRS Program
	if g := c.ExpertGatherBytes(sh); g > 0 {
		etpAG = Program{{Name: "expert etp all-gather", Kind: Collective, Comm: AllGather, Group: mesh.TP, Bytes: g, Expert: true}}
		etpRS = Program{{Name: "expert etp reduce-scatter", Kind: Collective, Comm: ReduceScatter, Group: mesh.TP, Bytes: g, Expert: true}}
	}
	e := sh.Precision.ElementBytes()
	act := units.Bytes(float64(sh.Microbatch*c.SeqLen/sh.cp()*c.Hidden)) * e
	var rs, ag Program
	if sh.TP > 1 {
		rs = Program{{Name: "attention tp reduce-scatter", Kind: Collective, Comm: ReduceScatter, Group: mesh.TP, Bytes: act, Overlappable: true}}
		ag = Program{{Name: "moe tp all-gather", Kind: Collective, Comm: AllGather, Group: mesh.TP, Bytes: act, Overlappable: true}}
	} else {
		rs = attnTP
	}
	sharedFwd, sharedBwd := Program{}, Program{}
	if len(shared.Forward) > 0 {
		sharedFwd = Program{computeStep("shared-experts", shared.Forward)}
		sharedBwd = Program{computeStep("shared-experts-bwd", shared.Backward)}
		if sh.TP > 1 {
			sharedFwd = Program{
				{Name: "shared tp all-gather", Kind: Collective, Comm: AllGather, Group: mesh.TP, Bytes: act},
				sharedFwd[0],
				{Name: "shared tp reduce-scatter", Kind: Collective, Comm: ReduceScatter, Group: mesh.TP, Bytes: act, Overlappable: true},
			}
			sharedBwd = Program{
				{Name: "shared-bwd tp all-gather", Kind: Collective, Comm: AllGather, Group: mesh.TP, Bytes: act},
				sharedBwd[0],
				{Name: "shared-bwd tp reduce-scatter", Kind: Collective, Comm: ReduceScatter, Group: mesh.TP, Bytes: act, Overlappable: true},
			}
		}
	}
	routerFwd := Program{computeStep("moe-router", router.Forward)}
	expertsFwd := Program{computeStep("moe-experts", experts.Forward)}
	combineFwd := Program{computeStep("moe-combine", combine.Forward)}
	// The host blocks on the token counts before the dispatch (DispatchSync,
	// docs/model.md §7.47): its own step between the count all-gather and
	// the dispatch, the GPU idle while the host waits for the copies and
	// then issues the all-to-alls. Under moe.overlap another micro-batch's
	// kernels, already issued, run while the host waits: the wait joins the
	// router's step, which the host issue bound prices as max(GPU, host).
	sync := c.DispatchSync(sh)
	var fwd Program
	if sh.MoEOverlap {
		routerFwd = Program{computeStep("moe-router", append(slices.Clip(router.Forward), sync))}
		fwd = slices.Concat(attnFwd, rs, routerFwd, sharedFwd, counts, a2a("moe dispatch all-to-all", true), etpAG, expertsFwd, a2a("moe combine all-to-all", false), etpRS, combineFwd, ag)
	} else {
		syncFwd := Program{computeStep("moe-dispatch-sync", []Op{sync})}
		fwd = slices.Concat(attnFwd, rs, routerFwd, counts, syncFwd, a2a("moe dispatch all-to-all", true), etpAG, expertsFwd, etpRS, a2a("moe combine all-to-all", false), sharedFwd, combineFwd, ag)
	}
	bwd := slices.Concat(Program{computeStep("moe-combine-bwd", combine.Backward)}, sharedBwd,
		a2a("moe combine-bwd all-to-all", true), etpAG, Program{computeStep("moe-experts-bwd", experts.Backward)}, a2a("moe dispatch-bwd all-to-all", false), etpRS,
		Program{computeStep("moe-router-bwd", router.Backward)}, ag, attnBwd)
	if sh.TP > 1 {
		bwd = append(bwd, Program{
			{Name: "attention-bwd tp reduce-scatter", Kind: Collective, Comm: ReduceScatter, Group: mesh.TP, Bytes: act, Overlappable: true},
			{Name: "attention-bwd tp all-gather", Kind: Collective, Comm: AllGather, Group: mesh.TP, Bytes: act, Overlappable: true},
		}...)
	}
	l := Layer{
		Kind:         MoELayer,
		Forward:      fwd,
		Backward:     bwd,
		Params:       float64(c.MoEDenseParams()) / float64(sh.TP),
		ExpertParams: float64(c.ExpertParams()) / float64(sh.ep()*sh.etp()),
	}
	switch sh.Recompute {
	case RecomputeFull:
		l.Recompute = fwd
	case RecomputeSelective:
		// The pre-MLP norm (the router block's), and multi-latent
		// attention's input norm.
		var attnOps []Op
		for _, st := range attnFwd {
			attnOps = append(attnOps, st.Ops...)
		}
		norms := opsNamed(router.Forward, "layernorm")
		if c.MLA() {
			norms = append(opsNamed(attnOps, "layernorm"), norms...)
		}
		l.Recompute = selectiveRecompute(sh, coreFwd, nil, norms, opsNamed(attnOps, "q-up", "kv-up"), opsNamed(experts.Forward, "expert-activation"))
	}
	return l
}

// ringAttention returns the attention block's forward and backward programs
// under context parallelism, and the attention core's forward (what
// selective recomputation re-runs): the block's kernels before the core, the
// cp steps of ring attention, the kernels after it. Each step's compute runs
// beside a send/recv around the CP group (each rank sends to the next and
// receives from the previous one), as Transformer Engine's
// AttnFuncWithCPAndKVP2P issues the next step's exchange before computing
// the current one:
//   - forward: steps 0 … cp−2 pass on the K/V chunk the next step needs
//     (cp − 1 messages of KVBlockBytes);
//   - backward: step 0 passes on K/V, steps 1 … cp−2 K/V and the dK/dV
//     accumulated so far, step cp−1 only dK/dV, which thus ends on the rank
//     that owns the chunk (cp messages, 2·(cp − 1) chunks in all).
//
// The step after the ring waits for the last exchange.
//
// Under sliding-window attention a step whose block lies wholly outside
// every rank's window has no kernel (its op in attn.Core is the zero Op,
// see layerBlocks): its compute step is empty, and its K/V exchange stays,
// as the ring still passes every chunk on.
func ringAttention(sh Shard, attn Block, kv units.Bytes) (fwd, bwd, core Program) {
	cp := sh.cp()
	ring := func(name string, ops []Op, bytes func(i int) units.Bytes) Program {
		var p Program
		for i, op := range ops {
			if op == (Op{}) {
				p = append(p, computeStep(name, nil))
			} else {
				p = append(p, computeStep(name, []Op{op}))
			}
			if n := bytes(i); n > 0 {
				p = append(p, Step{Name: name + " cp send/recv", Kind: Collective, Comm: SendRecv, Group: mesh.CP, Bytes: n, Overlappable: true})
			}
		}
		return p
	}
	core = ring("attention-core", attn.Core, func(i int) units.Bytes {
		if i < cp-1 {
			return kv
		}
		return 0
	})
	nf, nb := len(attn.Core), len(attn.CoreBackward)
	fwd = append(Program{computeStep("attention", attn.Forward[:attn.CoreAt])}, core...)
	fwd = append(fwd, computeStep("attention-out", attn.Forward[attn.CoreAt+nf:]))
	bwd = Program{computeStep("attention-bwd", attn.Backward[:attn.CoreBackwardAt])}
	bwd = append(bwd, ring("attention-core-bwd", attn.CoreBackward, func(i int) units.Bytes {
		if i == 0 || i == cp-1 {
			return kv
		}
		return 2 * kv
	})...)
	bwd = append(bwd, computeStep("attention-in-bwd", attn.Backward[attn.CoreBackwardAt+nb:]))
	return fwd, bwd, core
}
