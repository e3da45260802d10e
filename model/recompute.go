package model

import (
	"fmt"
	"strings"

	"trainsim/units"
)

// RecomputeModule is one of the modules Megatron-Core's selective
// recomputation re-runs (TransformerConfig.recompute_modules,
// megatron/core/transformer/transformer_config.py @ core_v0.15.0; the
// default is ["core_attn"]).
type RecomputeModule string

// The modules trainsim replays. "core_attn" uses Megatron-Core's normal
// checkpointing; the other three its output-discarding checkpoint
// (tensor_parallel.CheckpointWithoutOutput): the module's output is freed
// once its consumer has run and recomputed just before that consumer's
// backward pass.
const (
	// ModuleCoreAttn re-runs the attention core (trainsim's selective
	// policy before recompute_modules).
	ModuleCoreAttn RecomputeModule = "core_attn"
	// ModuleLayernorm re-runs the layer norms that are modules of their
	// own: input_layernorm where it is not fused into the next linear layer
	// (the TE layer spec fuses it into linear_qkv for standard attention,
	// not for multi-latent attention, whose two down-projections share it)
	// and pre_mlp_layernorm, a module of its own only before an MoE block
	// (gpt_layer_specs.py get_gpt_layer_with_transformer_engine_spec;
	// transformer_layer.py: a norm that is an IdentityOp is not
	// recomputed).
	ModuleLayernorm RecomputeModule = "layernorm"
	// ModuleMoEAct re-runs the routed experts' activation function, whose
	// output (the second expert GEMM's input) is freed (experts.py
	// TEGroupedMLP; with FP8 the GEMM saves the original 16-bit input,
	// set_save_original_input, which is what is freed).
	ModuleMoEAct RecomputeModule = "moe_act"
	// ModuleMLAUpProj re-runs the multi-latent attention's query and KV
	// up-projections (and RoPE), whose outputs, the attention core's Q, K
	// and V, are freed after the core's forward
	// (multi_latent_attention.py qkv_up_checkpoint).
	ModuleMLAUpProj RecomputeModule = "mla_up_proj"
	// ModuleMLP re-runs a dense layer's MLP (its fused pre-MLP norm, both
	// GEMMs and the activation) with Megatron-Core's normal checkpoint: the
	// module's input is kept, everything inside it is freed; an MoE layer's
	// MLP is not recomputed by it (transformer_layer.py: "mlp" applies when
	// the MLP is not an MoELayer).
	ModuleMLP RecomputeModule = "mlp"
)

// RecomputeModuleNames lists the modules parallelism.recompute_modules may
// name.
func RecomputeModuleNames() []RecomputeModule {
	return []RecomputeModule{ModuleCoreAttn, ModuleLayernorm, ModuleMoEAct, ModuleMLAUpProj, ModuleMLP}
}

// Modules is a set of RecomputeModules (bit i: RecomputeModuleNames()[i]);
// 0 is Megatron-Core's default, the attention core alone.
type Modules uint8

// ParseModules reads a list of module names separated by commas or spaces
// ("layernorm, moe_act"); "" is the default set (0).
func ParseModules(s string) (Modules, error) {
	var m Modules
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		found := false
		for i, n := range RecomputeModuleNames() {
			if f == string(n) {
				m |= 1 << i
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%q is not a module", f)
		}
	}
	return m, nil
}

// Has reports whether the set names x; the default set (0) holds the
// attention core alone.
func (m Modules) Has(x RecomputeModule) bool {
	if m == 0 {
		return x == ModuleCoreAttn
	}
	for i, n := range RecomputeModuleNames() {
		if n == x {
			return m&(1<<i) != 0
		}
	}
	return false
}

// recomputes reports whether sh's recomputation re-runs module x: selective
// recomputation re-runs the modules of sh.Modules.
func (sh Shard) recomputes(x RecomputeModule) bool {
	return sh.Recompute == RecomputeSelective && sh.Modules.Has(x)
}

// selectiveRecompute is what a layer's backward pass re-runs first under
// selective recomputation: a dense layer's MLP, the output-discarding
// modules' kernels (norms, the up-projections, the expert activation; those
// of them the layer has), then the attention core.
func selectiveRecompute(sh Shard, core Program, mlp, norms, upProj, act []Op) Program {
	var ops []Op
	if sh.recomputes(ModuleMLP) {
		ops = append(ops, mlp...)
	}
	if sh.recomputes(ModuleLayernorm) {
		ops = append(ops, norms...)
	}
	if sh.recomputes(ModuleMLAUpProj) {
		ops = append(ops, upProj...)
	}
	if sh.recomputes(ModuleMoEAct) {
		ops = append(ops, act...)
	}
	var p Program
	if len(ops) > 0 {
		p = Program{computeStep("module-recompute", ops)}
	}
	if sh.recomputes(ModuleCoreAttn) {
		p = append(p, core...)
	}
	return p
}

// opsNamed returns the ops of ops whose names are among names, in order.
func opsNamed(ops []Op, names ...string) []Op {
	var out []Op
	for _, o := range ops {
		for _, n := range names {
			if o.Name == n {
				out = append(out, o)
			}
		}
	}
	return out
}

// opSACRecompute is what a dense layer's backward pass re-runs first under
// torchtitan's op-level selective activation checkpointing
// (selective_ac_option = "op"; torchtitan @9dec370
// torchtitan/parallelisms/parallelize_llama.py, _save_list and
// _custom_policy). The policy keeps the outputs of the ops in its save list
// (aten.mm, the flash and memory-efficient SDPA kernels, the functional
// reduce-scatter, abs and max), except every second mm of the block, and
// re-runs everything else. A Llama block (torchtitan/models/llama/model.py)
// calls its matmuls in the order wq, wk, wv, wo, then w1, w3, w2 (gated
// MLP; w1, w2 without the gate), so the 2nd, 4th and 6th are re-run: the
// K projection, the output projection and the MLP's gate-partner (w3) or,
// ungated, its down projection. The recomputation stops once every tensor
// the backward pass needs is back (PyTorch's checkpoint early stop), after
// the MLP's activation product: a gated MLP's w2 output is kept anyway and
// an ungated MLP's w2 output is needed by no backward kernel. So it re-runs:
// every memory-bound kernel of the attention block (norm, residual add and,
// in eager PyTorch, the rotary embedding's kernels), the K part of the QKV
// GEMM, the output projection, the MLP's norm, w3 (half the fused gate-and-up
// GEMM) and the activation; not the attention core, whose output and
// log-sum-exp are kept.
func opSACRecompute(c Config, sh Shard, attn, mlp []Op) Program {
	t := max(sh.TP, 1)
	heads, kvHeads := c.Heads/t, max(c.KVHeads/t, 1)
	var ops []Op
	for _, o := range attn {
		switch {
		case o.Class == FlashAttention:
			// The attention kernel's output and log-sum-exp are kept.
			continue
		case o.Name == "qkv":
			// The K projection: kvHeads of the heads + 2·kvHeads columns.
			ops = append(ops, narrowed(o, "qkv-k", o.N*kvHeads/(heads+2*kvHeads)))
		default:
			ops = append(ops, o)
		}
	}
	for _, o := range mlp {
		if o.Name == "mlp-down" {
			break
		}
		if o.Name == "mlp-up" {
			if !c.GatedMLP {
				continue // w1, the first MLP matmul, is kept
			}
			// w3: half the fused gate-and-up GEMM.
			o = narrowed(o, "mlp-up-w3", o.N/2)
		}
		ops = append(ops, o)
	}
	return Program{computeStep("op-sac-recompute", ops)}
}

// narrowed is GEMM o with n output columns instead of o.N: its FLOPs scale
// with n, its bytes are recounted at o's element size.
func narrowed(o Op, name string, n int) Op {
	b, m, k := float64(o.Batch), float64(o.M), float64(o.K)
	elem := float64(o.Bytes) / (b * (m*k + k*float64(o.N) + m*float64(o.N)))
	o.Name = name
	o.FLOPs = o.FLOPs * units.FLOPs(n) / units.FLOPs(o.N)
	o.Bytes = units.Bytes(b * (m*k + k*float64(n) + m*float64(n)) * elem)
	o.N = n
	return o
}
