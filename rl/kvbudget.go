package rl

import (
	"fmt"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// KVProfile is how an inference engine sizes its KV cache: what it takes
// from its share of the device's memory before the cache.
type KVProfile string

// The KV-cache profiles.
const (
	// KVProfileNone gives the KV cache the engine's share of the device's
	// memory less its weight shard, nothing else.
	KVProfileNone KVProfile = "none"
	// KVProfileVLLM03 is vLLM 0.3's Worker.profile_num_available_blocks
	// (vllm/worker/worker.py, v0.3.1; vLLM PR #2031): after one profiling
	// forward of max_num_batched_tokens tokens in max_num_seqs sequences,
	// the cache
	// gets total × gpu_memory_utilization − (total − free), everything
	// the device then holds: the weights, the profile's activation peak (the
	// caching allocator keeps it; empty_cache runs before the profile, not
	// after), and the memory outside PyTorch's allocator (cuBLAS
	// workspaces, loaded kernels, NCCL's buffers at TP > 1).
	KVProfileVLLM03 KVProfile = "vllm-0.3"
	// KVProfileVLLMV1 is vLLM V1's Worker.determine_available_memory
	// (vllm/v1/worker/gpu_worker.py, 0.11 to 0.20): requested = total ×
	// gpu_memory_utilization, less the weights, the PyTorch peak of the
	// profile run (a forward of max_num_batched_tokens tokens, then the
	// sampler over min(max_num_seqs, tokens) sequences) and the non-torch
	// memory that grew during it. NCCL's communicators are set up before
	// the baseline snapshot (vLLM PR #25359, 2025-09, in 0.11.0) and are
	// not charged; CUDA graphs are captured after the cache is sized and
	// are not charged either (their estimate, PR #30515, is off by default
	// before 0.21).
	KVProfileVLLMV1 KVProfile = "vllm-v1"
)

// KVProfiles lists the profiles a scenario may name.
func KVProfiles() []KVProfile { return []KVProfile{KVProfileNone, KVProfileVLLM03, KVProfileVLLMV1} }

// SamplerBytesPerLogit is what vLLM's sampler holds per logit at its peak
// when the profile run samples with top-k and top-p (V1's dummy sampling
// metadata, GPUModelRunner._dummy_sampler_run: temperature 0.5, top_p
// 0.9, top_k vocab − 1; V0's profile_run likewise): the 16-bit logits of
// compute_logits (2 B) and their fp32 copy (Sampler.forward, 4), then, in
// topk_topp_sampler.py apply_top_k_top_p, logits.sort's outputs, fp32
// values and int64 indices (12), and while it sorts PyTorch's scratch
// (aten/src/ATen/native/cuda/Sort.cu launch_stable_sort_kernel: from 128
// rows, segmented_sort_pairs allocates an int64 index of every element, 8,
// and CUB's segmented radix sort of key-value pairs takes temporary
// storage for the alternate key and value buffers, 12). 38 B in all; after
// the sort the masks, softmax and scatter hold less (28). Below 128 rows
// (OpenRLHF's engines) PyTorch sorts the tensor whole
// (segmented_sort_pairs_by_full_sort: two int2 buffers and the radix
// sort's scratch), a few bytes more, counted the same. Checked against
// two logged PyTorch peaks: Llama 3 8B, 256 sequences of 128,256 logits
// after a forward of 8192 tokens (vLLM PR #10511: 1.26 GiB; this gives
// 1.22 GiB) and Qwen3-30B-A3B, 1024 sequences of 151,936 after 8192 tokens
// (vLLM issue #30942, a vllm serve on a GPU of ≥ 70 GiB taken: 5.58 GiB;
// this gives 5.54 GiB).
const SamplerBytesPerLogit = 38

// Memory outside PyTorch's allocator that a profile charges.
const (
	// VLLMV1NonTorch is vLLM V1's non-torch increase over the profile run
	// (cuBLAS workspaces, kernels loaded on first use; NCCL is in the
	// baseline): 0.61 GiB in the debug log of vLLM issue #30942 (2025-12,
	// Qwen3-30B-A3B, "non-torch forward increase memory: 0.61GiB").
	VLLMV1NonTorch = 0.61 * units.GiB
	// VLLM03NonTorch and VLLM03NCCL are the memory outside PyTorch's
	// allocator in vLLM PR #10511's logs (2024-12, Llama 3 8B):
	// non_torch_memory 1.79 GiB at TP 1 and 3.58 GiB at TP 2, NCCL's
	// buffers the difference. vLLM 0.3's profile counts it all.
	VLLM03NonTorch = 1.79 * units.GiB
	VLLM03NCCL     = (3.58 - 1.79) * units.GiB
)

// Default profile forwards (max_num_batched_tokens) when rl.max_batched_tokens is 0.
const (
	// vLLM 0.3.1's SchedulerConfig: max(max_model_len, 2048).
	vllm03MinBatchedTokens = 2048
	// vLLM V1's SchedulerConfig.DEFAULT_MAX_NUM_BATCHED_TOKENS, what an
	// engine gets without a usage context that sets another.
	vllmV1BatchedTokens = 2048
)

// KVBudget is the memory an engine GPU gives its KV cache, and its terms.
type KVBudget struct {
	Profile KVProfile
	// Device is the GPU's memory as the CUDA driver reports it; Fraction
	// the engine's share of it (gpu_memory_utilization).
	Device   units.Bytes
	Fraction float64
	// Weights is the engine's weight shard; Activation the peak of the
	// profile run (the larger of its forward and its sampler); NonTorch the
	// memory outside PyTorch's allocator the profile charges.
	Weights, Activation, NonTorch units.Bytes
	// ProfileTokens and ProfileSeqs are the profile forward's tokens and
	// the sequences its sampler samples; 0 without a profile.
	ProfileTokens, ProfileSeqs int
	// KV is what is left for the KV cache (negative: nothing).
	KV units.Bytes
}

// Share is the memory the engine may use: Device × Fraction.
func (b KVBudget) Share() units.Bytes { return units.Bytes(float64(b.Device) * b.Fraction) }

// profileTokens is the profile forward's tokens for c.
func (c Config) profileTokens() int {
	switch {
	case c.MaxBatchedTokens > 0:
		return c.MaxBatchedTokens
	case c.KVProfile == KVProfileVLLM03:
		return max(c.PromptLen+c.ResponseMax, vllm03MinBatchedTokens)
	}
	return vllmV1BatchedTokens
}

// kvBudget is the KV-cache budget of one engine GPU for policy m on gpu.
func (c Config) kvBudget(gpu topology.GPU, m model.Config, p units.Precision) KVBudget {
	e := p.ElementBytes()
	b := KVBudget{Profile: c.KVProfile, Device: gpu.DeviceMemory(), Fraction: c.GenMemoryFraction,
		Weights: units.Bytes(m.EngineParams(c.GenTP)) * e}
	if b.Profile == "" {
		b.Profile = KVProfileNone
	}
	if b.Profile != KVProfileNone {
		b.ProfileTokens = c.profileTokens()
		b.ProfileSeqs = min(c.MaxBatch, b.ProfileTokens)
		b.Activation = ProfileActivation(m, c.GenTP, p, b.ProfileTokens, b.ProfileSeqs)
		switch b.Profile {
		case KVProfileVLLMV1:
			b.NonTorch = VLLMV1NonTorch
		case KVProfileVLLM03:
			b.NonTorch = VLLM03NonTorch
			if c.GenTP > 1 {
				b.NonTorch += VLLM03NCCL
			}
		}
	}
	b.KV = b.Share() - b.Weights - b.Activation - b.NonTorch
	return b
}

// ProfileActivation is the PyTorch peak of an engine's profile run on one
// GPU of tensor-parallel degree tp: a forward of tokens tokens, then the
// sampler over seqs sequences, whichever holds more.
//
// The forward holds, in the layer whose transients are largest, the
// residual stream and the normalised input (2h per token) and: for the
// attention, the QKV projection and the attention output; for a dense MLP,
// the gate-up projection and the activation (3f/tp, gated; 2f/tp without a
// gate; for a mixture-of-experts model only if it has dense layers); for a
// mixture-of-experts MLP, vLLM's fused_experts buffers
// (fused_moe.py: intermediate_cache1 of 2f/tp per routed token and
// intermediate_cache3 of h sharing one buffer, intermediate_cache2 of
// f/tp), top_k routed copies of every token. The sampler holds the
// forward's hidden states (h per token) and SamplerBytesPerLogit for each
// of its sequences' vocabulary logits (the full vocabulary on every rank:
// the logits are gathered).
func ProfileActivation(m model.Config, tp int, p units.Precision, tokens, seqs int) units.Bytes {
	e := float64(p.ElementBytes())
	t := max(tp, 1)
	h := float64(m.Hidden)
	hd := float64(m.HeadDim())
	heads, kvHeads := float64(max(m.Heads/t, 1)), float64(max(m.KVHeads/t, 1))
	attn := (heads+2*kvHeads)*hd + heads*hd
	f := float64(m.FFNHidden) / float64(t)
	mlp := 2 * f
	if m.GatedMLP {
		mlp = 3 * f
	}
	layer := attn
	if !m.MoE() || m.DenseLayers > 0 {
		layer = max(layer, mlp)
	}
	if m.MoE() {
		fe := float64(m.ExpertFFN()) / float64(t)
		layer = max(layer, float64(m.TopK)*(max(2*fe, h)+fe))
	}
	n := float64(tokens)
	forward := n * e * (2*h + layer)
	sampler := n*h*e + float64(seqs)*float64(m.Vocab)*SamplerBytesPerLogit
	return units.Bytes(max(forward, sampler))
}

// String says how the budget is made: the share, each term taken from it
// and what is left.
func (b KVBudget) String() string {
	s := fmt.Sprintf("the engine's %s (%.2f of the %s the device reports) less %s of weights", b.Share(), b.Fraction, b.Device, b.Weights)
	if b.Profile != KVProfileNone {
		s += fmt.Sprintf(", %s of profile activations (%s: a forward of %d tokens, the sampler over %d sequences) and %s outside PyTorch's allocator",
			b.Activation, b.Profile, b.ProfileTokens, b.ProfileSeqs, b.NonTorch)
	}
	return s + fmt.Sprintf(" leaves %s for the KV cache", units.Bytes(max(float64(b.KV), 0)))
}
