package rl

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
	"trainsim/units"
)

// testJob is the policy training job m on nodes of system, layout tp × pp.
func testJob(t *testing.T, preset, system string, nodes, tp, pp int) parallelism.Valid {
	t.Helper()
	m, ok := model.Preset(preset)
	if !ok {
		t.Fatalf("no model preset %s", preset)
	}
	sys, ok := topology.SystemPreset(system)
	if !ok {
		t.Fatalf("no system preset %s", system)
	}
	gpus := nodes * sys.GPUsPerNode
	j := parallelism.Job{
		Model: m, Cluster: topology.Cluster{System: sys, Nodes: nodes},
		Layout: parallelism.Layout{TP: tp, PP: pp, DP: gpus / (tp * pp), CP: 1, EP: 1, Microbatch: 1, VirtualStages: 1,
			Schedule: parallelism.OneFOneB, Recompute: parallelism.RecomputeFull, ZeRO: 1, OverlapGradReduce: true, PPOverlap: true},
		Training: parallelism.Training{GlobalBatch: gpus / (tp * pp), Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash},
		Options:  parallelism.Options{Network: parallelism.NetworkAnalytical, Ranks: parallelism.RanksSymmetric},
	}
	v, errs := j.Validate()
	if len(errs) > 0 {
		t.Fatalf("job: %v", errs)
	}
	return v
}

// grpo is a small GRPO step.
func grpo() Config {
	return Config{Algorithm: GRPO, PromptsPerStep: 16, GenerationsPerPrompt: 8, PromptLen: 128, ResponseMean: 300, ResponseMax: 1024,
		TrainBatch: 64, Epochs: 1, Placement: Colocated, GenTP: 1, Batching: Continuous, MaxBatch: 256, GenMemoryFraction: 0.6,
		LogprobMicrobatch: 1, Seed: 1}
}

func TestResponseLengths(t *testing.T) {
	for _, c := range []struct{ n, mean, max int }{{1000, 100, 100}, {1000, 256, 1024}, {4096, 763, 3840}, {512, 3000, 4096}} {
		ls := ResponseLengths(c.n, c.mean, c.max)
		sum := 0
		for _, l := range ls {
			if l < 1 || l > c.max {
				t.Fatalf("%+v: length %d outside [1, %d]", c, l, c.max)
			}
			sum += l
		}
		if got := float64(sum) / float64(c.n); math.Abs(got-float64(c.mean)) > 0.01*float64(c.mean) {
			t.Errorf("%+v: mean %.1f, want %d within 1%%", c, got, c.mean)
		}
		if c.mean == c.max && ls[0] != c.max {
			t.Errorf("%+v: mean = max should make every response %d tokens, first is %d", c, c.max, ls[0])
		}
	}
}

// TestDecodeBytesOverBandwidth checks one decode iteration of GPT-3 6.7B at
// batch 1 on one A100 against a hand count: it reads every weight matrix
// once, 2 B each — 32 layers × 12h² plus the V×h output layer — at 85% of
// 2039 GB/s, and runs 323 kernels (10 per layer, the embedding, the logits
// GEMM and the sampling) at 4 µs each.
func TestDecodeBytesOverBandwidth(t *testing.T) {
	v := testJob(t, "gpt3-6.7b", "dgx-a100-80gb", 1, 1, 1)
	cm, coll, err := parallelism.Models(v)
	if err != nil {
		t.Fatal(err)
	}
	p := pricer{cm: cm, coll: coll, prec: units.BF16}
	m := v.Job().Model
	const h, layers, vocab = 4096.0, 32.0, 51200.0
	weights := 2 * (layers*12*h*h + vocab*h)
	want := weights/(2039e9*0.85) + 323*4e-6
	c, err := p.decode(m, 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := float64(c.Compute + c.Comm)
	if math.Abs(got-want) > 0.005*want {
		t.Errorf("decode iteration: %.4g s, want %.4g s (bytes over bandwidth) within 0.5%%", got, want)
	}
	if c.HBM < c.Compute*0.99 {
		t.Errorf("decode at batch 1 should be HBM-bound: %s of %s", c.HBM, c.Compute)
	}

	// The replay: one response of 200 tokens after a prompt of 16 takes
	// the prefill plus 200 such iterations (the KV cache of ≤ 216 tokens
	// adds 216 × 0.5 MB per iteration at most, under 1%).
	cfg := grpo()
	cfg.PromptsPerStep, cfg.GenerationsPerPrompt, cfg.PromptLen, cfg.ResponseMean, cfg.ResponseMax, cfg.TrainBatch = 1, 1, 16, 200, 200, 1
	one := testJob(t, "gpt3-6.7b", "dgx-a100-80gb", 1, 1, 1)
	// Eight GPUs, eight engines: one gets the response.
	r, err := Run(one, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pre, err := p.forward(m, 1, 16, 1, 1, false, false)
	if err != nil {
		t.Fatal(err)
	}
	wantGen := float64(pre.Compute) + 200*want
	if g := float64(r.Generation); math.Abs(g-wantGen) > 0.01*wantGen {
		t.Errorf("generation of 200 tokens: %.4g s, want %.4g s within 1%%", g, wantGen)
	}
}

// TestKVCache checks the KV cache against 2 · layers · kv_heads/tp ·
// head_dim · 2 B per token (layers · (d_c + d_h^R) · 2 B under latent
// attention, DeepSeek-V2 §2.1), and that it bounds the sequences an engine
// runs.
func TestKVCache(t *testing.T) {
	for _, c := range []struct {
		preset string
		tp     int
		want   float64
	}{
		{"llama3-8b", 1, 2 * 32 * 8 * 128 * 2},
		{"llama2-70b", 8, 2 * 80 * 1 * 128 * 2},
		{"llama2-70b", 16, 2 * 80 * 1 * 128 * 2}, // a head per GPU at least
		{"gpt3-175b", 8, 2 * 96 * 12 * 128 * 2},
		// Latent attention: d_c + d_h^R = 512 + 64 elements per layer,
		// the whole latent on every tensor-parallel rank.
		{"deepseek-v3", 1, 61 * (512 + 64) * 2},
		{"deepseek-v3", 32, 61 * (512 + 64) * 2},
	} {
		m, _ := model.Preset(c.preset)
		if got := float64(m.KVBytesPerToken(c.tp, units.BF16)); got != c.want {
			t.Errorf("%s tp %d: %g B per token, want %g", c.preset, c.tp, got, c.want)
		}
	}
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	cfg := grpo()
	cfg.PromptsPerStep, cfg.GenerationsPerPrompt, cfg.PromptLen, cfg.ResponseMean, cfg.ResponseMax = 8, 8, 100, 100, 100
	cfg.TrainBatch = 64
	// 64 sequences on 8 engines, all at once: 8 × 200 tokens each.
	r, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	perToken := 2.0 * 32 * 8 * 128 * 2
	if got, want := float64(r.Memory.KVCache), 8*200*perToken; got != want {
		t.Errorf("KV cache %g B, want %g", got, want)
	}
	if r.Slots != 8 {
		t.Errorf("slots %d, want 8", r.Slots)
	}
	// Room for 3.5 sequences: the engine runs 3 at once. The fraction is
	// of the memory CUDA reports (79.22 GiB on the H100), not the HBM.
	m := v.Job().Model
	device := float64(v.Job().Cluster.GPU.DeviceMemory())
	if device != 79.22*float64(units.GiB) {
		t.Errorf("H100 device memory %g B, want 79.22 GiB", device)
	}
	cfg.GenMemoryFraction = (2*float64(m.Params()) + 3.5*200*perToken) / device
	r, err = Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Slots != 3 || r.KVCapacity != 700 {
		t.Errorf("slots %d with room for %d tokens, want 3 and 700", r.Slots, r.KVCapacity)
	}
}

// TestRefitBytes checks the refit's bytes against the parameter count of
// GPT-3 175B written out: 96 layers of 12h² + 13h, the V×h token and s×h
// position embeddings, the final layer norm; 2 B each.
func TestRefitBytes(t *testing.T) {
	m, _ := model.Preset("gpt3-175b")
	const h, l, v, s = 12288, 96, 51200, 2048
	params := int64(l*(12*h*h+13*h) + v*h + s*h + 2*h)
	if got := RefitBytes(m, units.BF16); got != units.Bytes(2*params) {
		t.Errorf("refit %g B, want %d (2 × %d parameters)", float64(got), 2*params, params)
	}
}

func TestPlacementAndOffPolicy(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 2, 1, 1)
	run := func(p Placement, k int) *Result {
		t.Helper()
		c := grpo()
		c.PromptsPerStep = 32
		c.Placement, c.OffPolicy = p, k
		if p == Split {
			c.GenGPUs = 8
		}
		r, err := Run(v, c)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Feasible {
			t.Fatalf("%s k=%d infeasible: %s", p, k, r.Reason)
		}
		return r
	}
	col0, col1 := run(Colocated, 0), run(Colocated, 1)
	split0, split1 := run(Split, 0), run(Split, 1)
	if col0.Step != col1.Step {
		t.Errorf("colocated: off-policy changed the step %s → %s; the pools are the same GPUs", col0.Step, col1.Step)
	}
	if !(split1.Step < split0.Step*0.95) {
		t.Errorf("split: one-step off-policy %s should be faster than on-policy %s", split1.Step, split0.Step)
	}
	if col0.Step == split0.Step {
		t.Errorf("colocated and split gave the same step %s", col0.Step)
	}
	// Split on-policy: the pools take turns, so the step is their sum.
	sum := split0.Generation + split0.Scoring + split0.Training + split0.Refit
	if math.Abs(float64(split0.Step-sum)) > 1e-6*float64(sum)+2e-9*4 {
		t.Errorf("split on-policy step %s, want the phases' sum %s", split0.Step, sum)
	}
	// Off-policy: the slower pool sets the pace.
	slower := max(split1.Generation+split1.Refit, split1.Scoring+split1.Training+split1.Refit)
	if math.Abs(float64(split1.Step-slower)) > 1e-3*float64(slower) {
		t.Errorf("split 1-off step %s, want the slower pool's %s", split1.Step, slower)
	}
	// Colocated: the phases add up to the step.
	for _, r := range []*Result{col0, col1} {
		sum := r.Generation + r.Scoring + r.Training + r.Refit + r.Swap + r.Idle
		if math.Abs(float64(r.Step-sum)) > 1e-6*float64(r.Step) {
			t.Errorf("colocated phases sum to %s, step %s", sum, r.Step)
		}
	}
}

func TestStaticWaitsForLongest(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	c := grpo()
	cont, err := Run(v, c)
	if err != nil {
		t.Fatal(err)
	}
	c.Batching = Static
	c.MaxBatch = 4
	static, err := Run(v, c)
	if err != nil {
		t.Fatal(err)
	}
	// 16 sequences per engine in batches of 4: each batch runs as long as
	// its longest response, 4 batches.
	if !(static.Generation > cont.Generation) {
		t.Errorf("static batching %s should be slower than continuous %s", static.Generation, cont.Generation)
	}
	if !strings.Contains(static.GenerationBound, "longest") {
		t.Errorf("static batching of a long-tailed length spread: bound %q, want the longest responses", static.GenerationBound)
	}
	if static.Iterations < 4*c.ResponseMax/2 {
		t.Errorf("static: %d iterations, want at least %d (four batches, each to a long response)", static.Iterations, 4*c.ResponseMax/2)
	}
}

func TestDeterministic(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	a, err := Run(v, grpo())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(v, grpo())
	if err != nil {
		t.Fatal(err)
	}
	a.TrainResult, b.TrainResult = nil, nil
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs of the same step differ")
	}
}

func TestCheck(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 2, 1, 1)
	for _, c := range []struct {
		name string
		edit func(*Config)
		key  string
		// text, where given, is in the problem's message: what is allowed.
		text string
	}{
		{"ppo without critic", func(c *Config) { c.Algorithm = PPO }, "rl.critic", ""},
		{"mean above max", func(c *Config) { c.ResponseMean = 2000 }, "rl.response_mean", ""},
		// 0 is allowed (the default: prompt_len), and the message says so.
		{"engine prompt above prompt", func(c *Config) { c.EnginePromptLen = 129 }, "rl.engine_prompt_len", "0 (prompt_len) or from 1 to 128"},
		{"negative engine prompt", func(c *Config) { c.EnginePromptLen = -1 }, "rl.engine_prompt_len", "0 (prompt_len) or from 1 to 128"},
		{"unknown kv profile", func(c *Config) { c.KVProfile = "vllm" }, "rl.kv_profile", "none vllm-0.3 vllm-v1"},
		{"negative batched tokens", func(c *Config) { c.MaxBatchedTokens = -1 }, "rl.max_batched_tokens", "from 0"},
		{"batched tokens above the cap", func(c *Config) { c.MaxBatchedTokens = MaxTokens + 1 }, "rl.max_batched_tokens", "to 1048576"},
		// Without a profile nothing reads it: refused, as an optimizer swap
		// rate without offload "all" is.
		{"batched tokens without a profile", func(c *Config) { c.MaxBatchedTokens = 16384 }, "rl.max_batched_tokens", `kv_profile "none"`},
		{"batched tokens, profile unset", func(c *Config) { c.KVProfile = ""; c.MaxBatchedTokens = 8192 }, "rl.max_batched_tokens", "vllm-0.3"},
		{"split without gpus", func(c *Config) { c.Placement = Split }, "rl.gen_gpus", ""},
		{"gen_tp not dividing heads", func(c *Config) { c.GenTP = 16; c.Placement = Split; c.GenGPUs = 8 }, "rl.gen_tp", ""},
		{"bad fraction", func(c *Config) { c.GenMemoryFraction = 1.5 }, "rl.gen_memory_fraction", ""},
		{"unknown algorithm", func(c *Config) { c.Algorithm = "dpo" }, "rl.algorithm", ""},
		{"optimizer swap without offload all", func(c *Config) { c.OptimizerSwapRate = 1.57e9 }, "rl.optimizer_swap_rate", ""},
		{"negative optimizer swap", func(c *Config) { c.Offload = OffloadAll; c.OptimizerSwapRate = -1 }, "rl.optimizer_swap_rate", ""},
	} {
		cfg := grpo()
		c.edit(&cfg)
		errs := cfg.Check(v.Job())
		found := false
		for _, e := range errs {
			found = found || e.Field == c.key && strings.Contains(e.Error(), c.text)
		}
		if !found {
			t.Errorf("%s: want a problem with %s saying %q, got %v", c.name, c.key, c.text, errs)
		}
	}
}

// TestRefitSplitOverTheFabric: split over two DGX A100 nodes, one engine of
// tp 8 on one node, the policy trained with tp 1 × pp 1 on the other (no
// all-gather): the eight GPU pairs each carry 1/8 of the 16-bit weights over
// one GPU's share of the node's NICs (8 × 200 Gb/s ÷ 8 GPUs = 25 GB/s) at
// NCCL's 92%.
func TestRefitSplitOverTheFabric(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-a100-80gb", 2, 1, 1)
	c := grpo()
	c.Placement, c.GenGPUs, c.GenTP = Split, 8, 8
	r, err := Run(v, c)
	if err != nil {
		t.Fatal(err)
	}
	m := v.Job().Model
	want := 2 * float64(m.Params()) / 8 / (25e9 * 0.92)
	if got := float64(r.Refit); math.Abs(got-want) > 0.02*want {
		t.Errorf("refit %.4g s, want %.4g s (bytes over the NIC) within 2%%", got, want)
	}
	if got, want := float64(r.RefitBytes), 2*float64(m.Params()); got != want {
		t.Errorf("refit bytes %g, want %g", got, want)
	}
}

// TestHostOverhead: an engine's host loop of h per iteration idles its GPU h
// after the prefill and after every decode iteration, so one response of
// 200 tokens after a prompt takes 201·h more (one prefill, 200 decode
// iterations), whatever the kernels took.
func TestHostOverhead(t *testing.T) {
	one := testJob(t, "gpt3-6.7b", "dgx-a100-80gb", 1, 1, 1)
	cfg := grpo()
	cfg.PromptsPerStep, cfg.GenerationsPerPrompt, cfg.PromptLen, cfg.ResponseMean, cfg.ResponseMax, cfg.TrainBatch = 1, 1, 16, 200, 200, 1
	base, err := Run(one, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HostOverhead = 4 * units.Millisecond
	slow, err := Run(one, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := 201 * 4e-3
	if d := float64(slow.Generation - base.Generation); math.Abs(d-want) > 1e-6 {
		t.Errorf("host overhead added %.6g s to generation, want 201 × 4 ms = %.6g s", d, want)
	}
	if math.Abs(float64(slow.GenHost)-want) > 1e-9 {
		t.Errorf("reported host time %s, want %.6g s", slow.GenHost, want)
	}
	if d := float64(slow.Step - base.Step); math.Abs(d-want) > 1e-6 {
		t.Errorf("colocated step grew by %.6g s, want %.6g s", d, want)
	}
	// Per sequence: 64 responses of 200 tokens on one engine (8 GPUs, 8
	// engines, each its 8 sequences at once): 201 iterations of 8
	// sequences each, 201 × 8 × 0.1 ms.
	cfg = grpo()
	cfg.PromptsPerStep, cfg.GenerationsPerPrompt, cfg.PromptLen, cfg.ResponseMean, cfg.ResponseMax, cfg.TrainBatch = 8, 8, 16, 200, 200, 64
	base, err = Run(one, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HostPerSeq = 100 * units.Microsecond
	slow, err = Run(one, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want = 201 * 8 * 1e-4
	if d := float64(slow.Generation - base.Generation); math.Abs(d-want) > 1e-6 {
		t.Errorf("per-sequence host overhead added %.6g s to generation, want 201 × 8 × 0.1 ms = %.6g s", d, want)
	}
}

// TestOffloadAll: offload "all" moves, colocated, the training state's
// weights and optimizer state (the gradients are dropped: Megatron-Core's
// offload frees the gradient buffer and re-zeroes it) out and back over
// PCIe 5.0 x16 (32 GT/s × 16 lanes × 128/130, 63.0 GB/s), and the engine's
// 16-bit weights (2 B × params at gen TP 1) out and back; overflow only
// what does not fit beside the engine's 60% of HBM, gradients included.
func TestOffloadAll(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	cfg := grpo()
	cfg.Offload = OffloadAll
	r, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := v.Job().Model
	mem := r.TrainResult.Memory
	kept := float64(mem.Weights + mem.Optimizer)
	engine := 2 * float64(m.Params())
	pcie := 32e9 * 16 * 128 / 130 / 8
	want := 2 * (kept + engine) / pcie
	if got := float64(r.Swap); math.Abs(got-want) > 1e-3*want {
		t.Errorf("offload all: %.4g s of offload/onload, want %.4g s", got, want)
	}
	if float64(r.Memory.Offloaded) != kept {
		t.Errorf("offloaded %s, want the weights and optimizer state %.4g B (gradients %s dropped)", r.Memory.Offloaded, kept, mem.Gradients)
	}
	if mem.Gradients <= 0 {
		t.Fatalf("the replay holds no gradients (%s): the test checks nothing", mem.Gradients)
	}
	if r.OptimizerSwap != 0 {
		t.Errorf("optimizer swap %s without rl.optimizer_swap_rate, want 0", r.OptimizerSwap)
	}
	cfg.Offload = OffloadOverflow
	r2, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Overflow moves only what does not fit beside the engine's 60% of
	// 80 GiB.
	state := float64(mem.Weights + mem.Gradients + mem.Optimizer)
	over := max(state-0.4*80*(1<<30), 0)
	wantOver := 2 * over / pcie
	if got := float64(r2.Swap); math.Abs(got-wantOver) > 1e-3*wantOver+1e-12 {
		t.Errorf("overflow: %.4g s of offload/onload, want %.4g s", got, wantOver)
	}
	if d := r.Step - r2.Step; math.Abs(float64(d-(r.Swap-r2.Swap))) > 1e-6*float64(r.Step) {
		t.Errorf("offload all made the step %s longer, want the swaps' difference %s", d, r.Swap-r2.Swap)
	}
}

// TestOptimizerSwapRate: with rl.optimizer_swap_rate R, offload "all" moves
// the optimizer state out and back at R and the rest (weights, the engine's
// weights) over PCIe as before. Llama 3 8B data-parallel over the 8 H100s
// of a node (ZeRO-1): each GPU's optimizer state is 12 B (fp32 master
// weight, two Adam moments) × params / 8 — checked against the replay's
// memory — so at 1.57 GB/s the swap grows by 2 × 12·P/8 × (1/R − 1/PCIe).
// With offload "overflow" the rate is refused.
func TestOptimizerSwapRate(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	cfg := grpo()
	cfg.Offload = OffloadAll
	base, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OptimizerSwapRate = 1.57e9
	r, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := float64(v.Job().Model.Params())
	opt := 12 * p / 8
	if got := float64(r.TrainResult.Memory.Optimizer); math.Abs(got-opt) > 0.01*opt {
		t.Fatalf("optimizer state %.4g B per GPU, want 12 B × %.4g params / 8 = %.4g B", got, p, opt)
	}
	pcie := 32e9 * 16 * 128 / 130 / 8
	wantSwap := 2 * opt / 1.57e9
	if got := float64(r.OptimizerSwap); math.Abs(got-wantSwap) > 0.01*wantSwap {
		t.Errorf("optimizer swap %.4g s, want 2 × %.4g B / 1.57 GB/s = %.4g s", got, opt, wantSwap)
	}
	wantGrow := 2 * opt * (1/1.57e9 - 1/pcie)
	if got := float64(r.Swap - base.Swap); math.Abs(got-wantGrow) > 0.01*wantGrow {
		t.Errorf("offload/onload grew by %.4g s, want %.4g s", got, wantGrow)
	}
	if d := r.Step - base.Step; math.Abs(float64(d-(r.Swap-base.Swap))) > 1e-6*float64(r.Step) {
		t.Errorf("the step grew by %s, want the swap's growth %s", d, r.Swap-base.Swap)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "rl.optimizer_swap_rate") }) {
		t.Errorf("no note names rl.optimizer_swap_rate: %q", r.Notes)
	}
	// A swap slow enough to dominate the step is the bottleneck, and the
	// report names the optimizer's pageable copies and the lever.
	cfg.OptimizerSwapRate = 0.05e9
	slow, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(slow.Bottleneck, "offload/onload") || !strings.Contains(slow.Bottleneck, "pinned host buffers") {
		t.Errorf("bottleneck %q, want offload/onload naming the optimizer's pageable copies", slow.Bottleneck)
	}
	// With offload "overflow" the rate has nothing to move: refused,
	// naming the key (TestCheck has the case too).
	cfg.OptimizerSwapRate = 1.57e9
	cfg.Offload = OffloadOverflow
	if _, err := Run(v, cfg); err == nil || !strings.Contains(err.Error(), "rl.optimizer_swap_rate") {
		t.Errorf("overflow with a swap rate: error %v, want one naming rl.optimizer_swap_rate", err)
	}
}

// TestRefitRate: with rl.refit_rate r, a colocated refit of Llama 3 8B
// trained at TP 1, PP 1 (no all-gather) onto engines of TP 2 is each engine
// GPU taking in half of the 2 B × params at r.
func TestRefitRate(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	cfg := grpo()
	cfg.GenTP = 2
	cfg.RefitRate = 2.5e9
	r, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * float64(v.Job().Model.Params()) / 2 / 2.5e9
	if got := float64(r.Refit); math.Abs(got-want) > 1e-6*want {
		t.Errorf("refit %.6g s, want %.6g s", got, want)
	}
}

// TestOptimizerOffload: with rl.cpu_adam_bandwidth B, each optimizer step of
// Llama 3 8B trained data-parallel over the 8 H100s of a node (ZeRO-1: each
// GPU updates 1/8 of the parameters) adds DeepSpeed's gradient traffic over
// PCIe 5.0 x16 for its micro-batches and the 16-bit weights back, and 46
// bytes per parameter of host memory at B (CPU Adam's 28, DeepSpeed's
// in-place unscaling of the fp32 gradient, 8, the fp32 weight converted to
// 16 bit on the CPU, 6, and its staging through a pinned buffer, 4); the
// training memory loses the
// optimizer state and the fp32 gradients. Llama 3 70B at TP 8 on one node
// does not fit with Adam on the GPU (17.5 GB of weights, 35 GB of fp32
// gradients and 105 GB of optimizer state per GPU) and fits with it on the
// host.
func TestOptimizerOffload(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	cfg := grpo()
	base, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CPUAdamBandwidth = 51.2e9
	r, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The parameters the training replay's memory holds on a GPU of its one
	// pipeline stage (32 layers, the embedding table and the position table
	// of the 1152-token packs; the output layer tied), ZeRO-1 over 8.
	m0 := v.Job().Model
	shard := (32*float64(m0.LayerParams()) + float64(m0.Vocab*m0.Hidden) + 1152*float64(m0.Hidden)) / 8
	pcie := 32e9 * 16 * 128 / 130 / 8 // PCIe 5.0 x16, 128b/130b, bytes/s
	// 64 samples × (128 + 300) tokens = 27392 tokens in 24 packs of 1152,
	// 3 micro-batches per GPU over DP 8: DeepSpeed's offload moves 2 B down
	// for micro-batches 1–2, 2 B back up for 2–3, 4 B (fp32) down at the
	// last and the 2 B weight back: 4·3 + 2 = 14 B per parameter.
	want := 14*shard/pcie + 46*shard/51.2e9
	if got := float64(r.OptimizerOffload); math.Abs(got-want) > 1e-3*want {
		t.Errorf("offload per optimizer step %.5g s, want %.5g s", got, want)
	}
	if d, w := float64(r.Training-base.Training), float64(r.OptimizerSteps)*want; math.Abs(d-w) > 1e-3*w {
		t.Errorf("training grew by %.5g s, want %d optimizer steps × %.5g s = %.5g s", d, r.OptimizerSteps, want, w)
	}
	// ZeRO-3 with fp32 gradients accumulates them in an fp32 host buffer:
	// 4 B down at the first micro-batch, 4 B up and 4 B down at the
	// second and third, 4 B into the optimizer's gradient at the boundary
	// and the 2 B weight back: 2·4·3 + 2 = 26 B per parameter of the same
	// shard (ZeRO-3 over 8 shards the weights as ZeRO-1 shards the state).
	j3 := v.Job()
	j3.Layout.ZeRO = 3
	v3, errs := j3.Validate()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	r3, err := Run(v3, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want3 := 26*shard/pcie + 46*shard/51.2e9
	if got := float64(r3.OptimizerOffload); math.Abs(got-want3) > 1e-3*want3 {
		t.Errorf("ZeRO-3 offload per optimizer step %.5g s, want %.5g s", got, want3)
	}
	// Two GPUs behind one host link (rl.offload_pcie_share 2), both
	// offloading at once: the 14 B per parameter move at half the x16
	// rate, CPU Adam unchanged.
	shared := cfg
	shared.OffloadPCIeShare = 2
	r2, err := Run(v, shared)
	if err != nil {
		t.Fatal(err)
	}
	want2 := 14*shard/(pcie/2) + 46*shard/51.2e9
	if got := float64(r2.OptimizerOffload); math.Abs(got-want2) > 1e-3*want2 {
		t.Errorf("offload per optimizer step with a shared host link %.5g s, want %.5g s", got, want2)
	}
	if n := r2.Notes; !strings.Contains(strings.Join(n, "\n"), "rl.offload_pcie_share") {
		t.Errorf("notes do not name rl.offload_pcie_share: %q", n)
	}
	for _, bad := range []Config{{OffloadPCIeShare: 2}, {OffloadPCIeShare: -1, CPUAdamBandwidth: 1e9}, {OffloadPCIeShare: MaxPCIeShare + 1, CPUAdamBandwidth: 1e9}} {
		c := cfg
		c.OffloadPCIeShare, c.CPUAdamBandwidth = bad.OffloadPCIeShare, bad.CPUAdamBandwidth
		found := false
		for _, e := range c.Check(v.Job()) {
			found = found || strings.Contains(e.Error(), "rl.offload_pcie_share")
		}
		if !found {
			t.Errorf("rl.offload_pcie_share %d with rl.cpu_adam_bandwidth %g: no error naming the key", bad.OffloadPCIeShare, float64(bad.CPUAdamBandwidth))
		}
	}
	m := r.TrainResult.Memory
	if got, w := r.Memory.Training, m.Weights+m.Activations+m.Transient; got != w {
		t.Errorf("training memory %s with the optimizer on the host, want weights + activations + transient %s", got, w)
	}

	big := testJob(t, "llama3-70b", "dgx-h100", 1, 8, 1)
	cfg = grpo()
	cfg.GenTP, cfg.GenMemoryFraction = 8, 0.9
	on, err := Run(big, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if on.Feasible {
		t.Errorf("70B at TP 8 with Adam on the GPU: feasible, want out of memory")
	}
	cfg.CPUAdamBandwidth = 51.2e9
	off, err := Run(big, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !off.Feasible {
		t.Errorf("70B at TP 8 with Adam on the host: %s, want feasible", off.Reason)
	}
}

// TestRefitZeRO3: ZeRO-3 shards the 16-bit weights over the data-parallel
// group, so a colocated refit first all-gathers them from all 8 training
// GPUs of the node; with ZeRO-1 at TP 1, PP 1 every GPU holds the whole
// model and the refit is only the engine's copy in HBM (2 × 2 B × params
// over 85% of 3.35 TB/s).
func TestRefitZeRO3(t *testing.T) {
	j := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1).Job()
	cfg := grpo()
	refit := func(zero int) (units.Seconds, string) {
		t.Helper()
		jj := j
		jj.Layout.ZeRO = zero
		v, errs := jj.Validate()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		r, err := Run(v, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r.Refit, strings.Join(r.Notes, "\n")
	}
	z1, _ := refit(1)
	want := 2 * 2 * float64(j.Model.Params()) / (0.85 * 3.35e12)
	if math.Abs(float64(z1)-want) > 1e-3*want {
		t.Errorf("ZeRO-1 refit %.5g s, want the HBM copy %.5g s", float64(z1), want)
	}
	z3, note := refit(3)
	if z3 <= z1 {
		t.Errorf("ZeRO-3 refit %s, want more than ZeRO-1's %s (an all-gather first)", z3, z1)
	}
	if !strings.Contains(note, "over the 8 training GPUs") {
		t.Errorf("ZeRO-3 refit note does not name the 8 GPUs it gathers from:\n%s", note)
	}
}

// TestEagerScoring checks that training.eager_elementwise slows the scoring
// passes and the training (the reference and critic run in the training
// framework's Hugging Face modules) and leaves the engine's generation as
// it was (vLLM's own kernels).
func TestEagerScoring(t *testing.T) {
	cfg := grpo()
	fused := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	j := fused.Job()
	j.Training.Eager = true
	eager, errs := j.Validate()
	if len(errs) > 0 {
		t.Fatalf("job: %v", errs)
	}
	a, err := Run(fused, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(eager, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if b.Generation != a.Generation {
		t.Errorf("generation %v with eager element-wise kernels, want %v unchanged", b.Generation, a.Generation)
	}
	if b.Scoring <= a.Scoring || b.Training <= a.Training {
		t.Errorf("eager: scoring %v, training %v; want both above the fused %v, %v", b.Scoring, b.Training, a.Scoring, a.Training)
	}
}

// TestScoringExpertParallel: the policy's scoring passes run in the
// training layout, an MoE policy's experts spread over the training EP
// with a dispatch and a combine all-to-all per MoE layer. By hand for
// Qwen3-30B-A3B (48 MoE layers, h 2048, top 8) on one pack of 4096 tokens,
// EP 8 in one DGX H100: each all-to-all moves 4096 · 8 · 2048 · 2 B =
// 134 MB, 7/8 of it to the other GPUs; at no more than the 450 GB/s of
// NVLink per GPU that is ≥ 0.26 ms, so the 96 all-to-alls take ≥ 25 ms.
// A dense model ignores ep.
func TestScoringExpertParallel(t *testing.T) {
	_, p, moe := h100MoEPricer(t)
	one, err := p.forward(moe, 1, 4096, 1, 1, true, true)
	if err != nil {
		t.Fatal(err)
	}
	eight, err := p.forward(moe, 1, 4096, 1, 8, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if one.Comm != 0 {
		t.Errorf("EP 1 at TP 1: %v of communication, want none", one.Comm)
	}
	lo := 96 * 4096 * 8 * 2048 * 2 * 7.0 / 8 / 450e9
	if c := float64(eight.Comm); c < lo || c > 10*lo {
		t.Errorf("EP 8: all-to-alls %.4g s, want between %.4g and 10× that", c, lo)
	}
	dense, _ := model.Preset("llama3-8b")
	a, _ := p.forward(dense, 1, 4096, 1, 1, true, true)
	b, _ := p.forward(dense, 1, 4096, 1, 8, true, true)
	if a != b {
		t.Errorf("dense model: ep 8 changed the pass (%v → %v)", a.Compute+a.Comm, b.Compute+b.Comm)
	}
}

// TestReferenceSwap: with rl.reference_swap the reference pass first swaps
// the reference's weights in from host memory: the policy's 16-bit weights
// out, the reference's in, the policy's back — 3 × 2 B per parameter over
// PCIe Gen5 x16 (32 GT/s × 16 lanes × 128/130 ÷ 8 = 63.0 GB/s). Llama 3 8B
// on one GPU's whole model (TP 1, PP 1, ZeRO 1): 3 · w / 63.0e9 s more
// scoring per step, w the policy's weights as the training replay holds
// them on a GPU (the scoring memory of the policy's shape, 13.99 GiB).
func TestReferenceSwap(t *testing.T) {
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	m := v.Job().Model
	cfg := grpo()
	cfg.Reference = &m
	a, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ReferenceSwap = true
	b, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := 3 * float64(a.Memory.Scoring) / (32e9 * 16 * 128 / 130 / 8)
	if w := float64(a.Memory.Scoring) / 2; math.Abs(w-float64(m.Params())) > 0.01*float64(m.Params()) {
		t.Errorf("weights per GPU %.4g parameters, want the model's %d within 1%%", w, m.Params())
	}
	if got := float64(b.Scoring - a.Scoring); math.Abs(got-want) > 1e-3*want {
		t.Errorf("scoring grew by %.4g s, want %.4g s", got, want)
	}
	if b.Generation != a.Generation || b.Training != a.Training {
		t.Error("the reference swap changed generation or training")
	}
}

// TestScoringPipeline: the policy's scoring passes go through the training
// pipeline (Megatron's forward-only schedule). Eight packed samples on one
// DGX H100 at PP 2 (DP 4): each replica pushes m = 2 micro-batches through
// 2 stages of half the layers, m + pp − 1 = 3 stage times = 1.5 whole
// passes, where PP 1 (8 replicas, one pack each) takes 1 pass: the scoring
// phase grows by exactly half.
func TestScoringPipeline(t *testing.T) {
	cfg := grpo()
	cfg.PromptsPerStep, cfg.GenerationsPerPrompt, cfg.PromptLen, cfg.ResponseMean, cfg.ResponseMax, cfg.TrainBatch = 1, 8, 16, 100, 100, 8
	one, err := Run(testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	two, err := Run(testJob(t, "llama3-8b", "dgx-h100", 1, 1, 2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := float64(two.Scoring) / float64(one.Scoring); math.Abs(got-1.5) > 1e-9 {
		t.Errorf("scoring at PP 2 / PP 1 = %.6g, want 1.5", got)
	}
}

// TestRefitExpertParallel: an MoE policy trained with EP 8 on one DGX H100
// holds 1/8 of its experts per GPU, and the refit's export gathers every
// expert tensor over the EP group, so the refit adds an all-gather of the
// 16-bit weights (2 B × params) over the node's 8 GPUs: half the 8-GPU
// all-reduce of that buffer XLA measured on Hopper
// (collective.HopperCollectives), past its last row (512 MiB, 2431.6 µs)
// along the last segment (+1169.4 µs per 256 MiB). A dense policy's refit
// ignores EP.
func TestRefitExpertParallel(t *testing.T) {
	v, p, moe := h100MoEPricer(t)
	cfg := grpo()
	cfg.RefitRate = 2.5e9
	j := v.Job()
	one, _, err := cfg.refit(p, j, moe, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	j.Layout.EP = 8
	eight, note, err := cfg.refit(p, j, moe, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	mib := float64(units.MiB)
	S := 2 * float64(moe.Params())
	want := (2431.6 + (S-512*mib)/(256*mib)*(2431.6-1262.2)) * 1e-6 / 2
	if got := float64(eight - one); math.Abs(got-want) > 0.05*want {
		t.Errorf("EP 8 added %.4g s to the refit, want the 8-GPU all-gather of 2 B × %.4g params ≈ %.4g s", got, float64(moe.Params()), want)
	}
	if !strings.Contains(note, "over the 8 training GPUs") {
		t.Errorf("refit note %q does not name the 8 GPUs gathered over", note)
	}
	dense := v.Job().Model
	d1, _, _ := cfg.refit(p, v.Job(), dense, 8, 8)
	d8, _, _ := cfg.refit(p, j, dense, 8, 8)
	if d1 != d8 {
		t.Errorf("dense policy: EP 8 changed the refit %s → %s", d1, d8)
	}
}

// h100MoEPricer prices on one DGX H100 (a Llama 3 8B job) in bf16 and
// returns the Qwen3-30B-A3B preset, the mixture-of-experts model the
// expert-parallel tests replay with it.
func h100MoEPricer(t *testing.T) (parallelism.Valid, pricer, model.Config) {
	t.Helper()
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	cm, coll, err := parallelism.Models(v)
	if err != nil {
		t.Fatal(err)
	}
	moe, ok := model.Preset("qwen3-30b-a3b")
	if !ok {
		t.Fatal("no qwen3-30b-a3b preset")
	}
	return v, pricer{cm: cm, coll: coll, prec: units.BF16}, moe
}

// TestPackBins: NeMo-RL's modified first-fit decreasing, by hand. Capacity
// 4096 (large > 2048, medium > 1365.3, small > 682.7, tiny below).
func TestPackBins(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lengths  []int
		multiple int
		want     []int
	}{
		// Large bins [3000] [3000]; the smalls (1000, 1000) do not fit in
		// pairs (2000 > 1096), so phase 4 puts one in each; the tiny 500
		// opens a bin of its own.
		{"greedy fill", []int{3000, 1000, 3000, 500, 1000}, 1, []int{4000, 4000, 500}},
		// Raised to a multiple of 4: one sequence moves out of the bin
		// holding most (two each; the later bin first, as Python's reverse
		// sort of (count, index)).
		{"bin multiple", []int{3000, 1000, 3000, 500, 1000}, 4, []int{4000, 3000, 500, 1000}},
		// Phase 2 puts the medium 1500 beside the large 2500; the smalls
		// (1000, 900, 800) no longer fit and go first-fit decreasing into
		// one new bin.
		{"medium then leftovers", []int{800, 2500, 900, 1500, 1000}, 1, []int{4000, 2700}},
		// Phase 3: two smalls (800 + 900 ≤ 1896) beside a large bin with
		// no medium.
		{"two smalls", []int{900, 2200, 800}, 1, []int{3900}},
	} {
		got := PackBins(tc.lengths, 4096, tc.multiple)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: bins %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPadPacks: under pipeline parallelism NeMo-RL's micro-batches are its
// packing's bins, each padded to the longest. Eight samples of prompt 16 and
// responses of mean 50, longest 100 (ResponseLengths: 6, 19, 31, 44, 56, 69,
// 81, 94) are 22, 35, 47, 60, 72, 85, 97 and 110 tokens; into bins of 116:
// the larges 110, 97, 85, 72, 60 each open one, the medium 47 joins the 60,
// the smalls 22 and 35 fill the 85 and the 72 (phase 4): 5 bins, raised to
// 8 for the 4 data-parallel ranks of PP 2 on one node by moving the 47, the
// 35 and the 22 out — 8 micro-batches of 110 tokens (the longest), where
// the token count gives ⌈528/116⌉ = 5 packs of 116, rounded to 8. The
// policy's scoring runs the same 2 micro-batches per replica, each 110/116
// of a full one. Without pipeline parallelism nothing is padded.
func TestPadPacks(t *testing.T) {
	cfg := grpo()
	cfg.PromptsPerStep, cfg.GenerationsPerPrompt, cfg.PromptLen, cfg.ResponseMean, cfg.ResponseMax, cfg.TrainBatch = 1, 8, 16, 50, 100, 8
	if got := PackBins(cfg.sampleLengths(8), 116, 4); !slices.Equal(got, []int{110, 97, 85, 72, 60, 47, 35, 22}) {
		t.Fatalf("bins %v, want [110 97 85 72 60 47 35 22]", got)
	}
	v := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 2)
	plain, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PadPacks = true
	pad, err := Run(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g, s := plain.TrainJob.Training.GlobalBatch, plain.TrainJob.Model.SeqLen; g != 8 || s != 116 {
		t.Errorf("token packs: %d of %d tokens, want 8 of 116", g, s)
	}
	if g, s := pad.TrainJob.Training.GlobalBatch, pad.TrainJob.Model.SeqLen; g != 8 || s != 110 {
		t.Errorf("padded bins: %d of %d tokens, want 8 of 110", g, s)
	}
	if got := float64(pad.Scoring) / float64(plain.Scoring); math.Abs(got-110.0/116) > 1e-6 { // the replay's times are whole nanoseconds
		t.Errorf("scoring padded / token packs = %.12g, want 110/116 = %.12g", got, 110.0/116)
	}
	v1 := testJob(t, "llama3-8b", "dgx-h100", 1, 1, 1)
	cfg.PadPacks = false
	a, err := Run(v1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PadPacks = true
	b, err := Run(v1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// PP 1 (DP 8): no padding; the 8 samples become 8 bins (one each, to
	// make a multiple of the 8 ranks) of their mean 528/8 = 66 tokens, where
	// the token count gives 5 packs of 116 rounded to 8; the scoring keeps
	// the token count, and generation is untouched.
	if g, s := b.TrainJob.Training.GlobalBatch, b.TrainJob.Model.SeqLen; g != 8 || s != 66 {
		t.Errorf("PP 1 bins: %d of %d tokens, want 8 of 66", g, s)
	}
	if a.Scoring != b.Scoring || a.Generation != b.Generation {
		t.Errorf("PP 1: pad_packs changed scoring (%s → %s) or generation (%s → %s)", a.Scoring, b.Scoring, a.Generation, b.Generation)
	}
	if !(b.Training < a.Training) {
		t.Errorf("PP 1: training %s with 8 micro-batches of 66 tokens, not below %s with 8 of 116", b.Training, a.Training)
	}
}

// BenchmarkPackBins packs a NeMo-RL step's 2048 samples (Qwen3-30B-A3B's
// lengths: mean response 2947 of at most 3840, prompts of 256) into bins of
// 4 × 4096 tokens, as the log-probability passes do.
func BenchmarkPackBins(b *testing.B) {
	c := Config{PromptLen: 256, ResponseMean: 2947, ResponseMax: 3840}
	lengths := c.sampleLengths(2048)
	for b.Loop() {
		PackBins(lengths, 4*4096, 32)
	}
}

// TestScoringSkew: the policy's scoring passes in the training layout's
// expert parallelism route as the training does (moe.skew, capped by
// moe.capacity_factor): Qwen3-30B-A3B at EP 8, 4096 tokens. At skew 2 the
// hottest rank's dispatch and combine buffers are twice the balanced ones
// (96 all-to-alls of 4096 × 8 × 2048 × 2 B × 7/8 each, bandwidth-bound at
// this size): the all-to-alls take between 1.8× and 2× as long, and its
// expert GEMMs compute twice the tokens, so the pass's compute grows too.
// A capacity factor of 1.5 caps the load at 1.5. Without expert
// parallelism, and for the engine's prefill (scoring false), nothing
// changes.
func TestScoringSkew(t *testing.T) {
	_, p, moe := h100MoEPricer(t)
	base, err := p.forward(moe, 1, 4096, 1, 8, true, true)
	if err != nil {
		t.Fatal(err)
	}
	p.skew = 2
	skewed, err := p.forward(moe, 1, 4096, 1, 8, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if r := float64(skewed.Comm / base.Comm); r < 1.8 || r > 2.0 {
		t.Errorf("skew 2: all-to-alls ×%.3f, want between 1.8 and 2", r)
	}
	if !(skewed.Compute > base.Compute) {
		t.Errorf("skew 2: compute %v, not above the balanced %v", skewed.Compute, base.Compute)
	}
	p.capacity = 1.5
	capped, err := p.forward(moe, 1, 4096, 1, 8, true, true)
	if err != nil {
		t.Fatal(err)
	}
	p.skew, p.capacity = 1.5, 0
	oneHalf, err := p.forward(moe, 1, 4096, 1, 8, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if capped != oneHalf {
		t.Errorf("skew 2 capped at 1.5: %v, want skew 1.5's %v", capped.Compute+capped.Comm, oneHalf.Compute+oneHalf.Comm)
	}
	p.skew = 2
	for _, c := range []struct {
		name     string
		ep       int
		scoring  bool
		balanced func() (cost, error)
	}{
		{"EP 1", 1, true, func() (cost, error) { q := p; q.skew = 0; return q.forward(moe, 1, 4096, 1, 1, true, true) }},
		{"prefill", 8, false, func() (cost, error) { q := p; q.skew = 0; return q.forward(moe, 1, 4096, 1, 8, true, false) }},
	} {
		got, err := p.forward(moe, 1, 4096, 1, c.ep, true, c.scoring)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.balanced()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: skew changed the pass (%v → %v)", c.name, want.Compute+want.Comm, got.Compute+got.Comm)
		}
	}
}

// TestRefitEngineShard checks that each engine GPU takes in its vLLM
// shard with the replicated tensors whole: DeepSeek-V3 at gen TP 32,
// (P − R)/32 + R parameters of 2 B with R = 61 × 7168 × 2112 + 58 × 7168 ×
// 256 = 1,029,898,240 (model.EngineReplicatedParams), at rl.refit_rate;
// a dense policy's shard stays P/tp.
func TestRefitEngineShard(t *testing.T) {
	v, p, _ := h100MoEPricer(t)
	cfg := grpo()
	cfg.RefitRate = 2.5e9
	cfg.GenTP = 32
	ds, ok := model.Preset("deepseek-v3")
	if !ok {
		t.Fatal("no deepseek-v3 preset")
	}
	got, note, err := cfg.refit(p, v.Job(), ds, 256, 256)
	if err != nil {
		t.Fatal(err)
	}
	const r = 1029898240.0
	want := 2 * ((float64(ds.Params())-r)/32 + r) / 2.5e9
	if math.Abs(float64(got)-want) > 1e-6*want {
		t.Errorf("DeepSeek-V3 intake %.6g s, want %.6g s (%s)", float64(got), want, note)
	}
	cfg.GenTP = 8
	dense := v.Job().Model
	got, _, err = cfg.refit(p, v.Job(), dense, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * float64(dense.Params()) / 8 / 2.5e9; math.Abs(float64(got)-want) > 1e-6*want {
		t.Errorf("dense intake %.6g s, want %.6g s", float64(got), want)
	}
}
