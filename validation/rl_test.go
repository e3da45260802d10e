package validation

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"trainsim/rl"
)

// TestRLTable replays rl.toml: every case is listed, each either scored
// with a prediction or carrying its reason; the mixture-of-experts cases are
// not scored without their presets; and no group's error grows past the level
// recorded here (a guard against regressions, not the target of
// 15%, which docs/validation.md reports as missed where it is).
func TestRLTable(t *testing.T) {
	chk, err := CheckRL(2)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range chk.Results {
		ids[r.ID] = true
		switch {
		case r.Scored && !r.Replayed:
			t.Errorf("%s %s: scored but not replayed", r.ID, r.Metric)
		case !r.Scored && r.Why == "":
			t.Errorf("%s %s: not scored and no reason", r.ID, r.Metric)
		case r.Scored && !(r.Predicted > 0):
			t.Errorf("%s %s: prediction %g", r.ID, r.Metric, r.Predicted)
		}
		if strings.Contains(r.ID, "dsv3") || strings.Contains(r.ID, "a3b") {
			if !r.Scored && !strings.Contains(r.Why, "mixture-of-experts") {
				t.Errorf("%s: not scored, but not for want of its mixture-of-experts preset: %s", r.ID, r.Why)
			}
		}
	}
	if len(ids) != 17 {
		t.Errorf("%d cases listed, want the 17 of rl.toml", len(ids))
	}
	// Recorded levels (MAE %, rounded up) of the groups with two or more
	// scored cases. NeMo-RL's was re-recorded (32 → 47) when the
	// mixture-of-experts presets arrived: its three MoE cases (Qwen3-30B-A3B
	// twice, DeepSeek-V3; −38% to −78%, training with the published EP)
	// are scored since; the dense cases did not change. Then (branch rl2)
	// 47 → 39 with NeMo-RL's offload and refit rules, and the other groups
	// with the engine host loop and OpenRLHF's engine batch (model.md §9.1).
	// Then (branch rl3) NeMo-RL 39 → 28 with the vLLM V1 engine loop rule,
	// OpenRLHF's phases 38 → 34 with its Adam offload. Then (branch rl4)
	// with Hugging Face's eager element-wise kernels (framework rule):
	// DeepSpeed-Chat 17 → 16, OpenRLHF's phases 34 → 32 (training phases
	// −26/−38/−42% → −18/−33/−39%), and OpenRLHF's step RAISED 13 → 16
	// (12.5% → 15.4%): its 7B and 13B steps were already too slow (+20%,
	// +1%) from generation phases of +59% and +28% (the fixed prompt and
	// response lengths at the caps, model.md §9.1), which the slower
	// training and scoring now add to; the 70B improves (−16.3 → −15.0%).
	// NeMo-RL 28 → 27 (27.1% after main's MoE work, 26.7% with the
	// policy's scoring passes over the training EP, 26.5% with NeMo-RL's
	// reference swap, 26.7% with latent attention's KV cache as vLLM
	// holds it, 26.4% with the scoring passes through the pipeline).
	// Then (branch rlmoe) NeMo-RL 27 → 17 (26.4% → 16.3%) with its
	// optimizer swap rule: the colocated offload moves the optimizer state
	// through pageable host memory at 7.6 ns per parameter each way
	// (NVIDIA-NeMo/RL issue #3976's trace; 1.57 GB/s of the replay's 12 B
	// per parameter), the gradients dropped, not copied, and the refit's
	// all-gather over the expert-parallel group too.
	// Then (branch rlphase) OpenRLHF 16 → 14 and its phases 32 → 25
	// (15.4% → 13.4%, 31.4% → 25.0%): experience made in blocking calls
	// per actor rank, each scored before the next (rl.rollout_ranks), the
	// critic training on its own GPUs beside the actor (rl.critic_gpus),
	// ZeRO-3's offload accumulating fp32 gradients on the host (13.0%,
	// 25.7% up to here); and DeepSpeed-Chat 16 → 13 (15.5% → 12.9%) with
	// DeepSpeed's ZeRO-2 gradient reduction on the compute stream
	// (overlap_comm's default below stage 3), which also moves OpenRLHF's
	// 7B and 13B training (13.0% → 13.2%: the 7B step, over, rises);
	// then the offload's weight copy-back converted on the host (38 B per
	// parameter, was 30): OpenRLHF 13.4%, phases 26 → 25 (25.0%).
	// Both branches merged: NeMo-RL 16.2% (level 16.5; rlphase's ZeRO-2
	// and offload rules do not touch it), DeepSpeed-Chat 12.5%, OpenRLHF
	// 13.4% (level 13.5), phases 25.0%.
	// Then (branch rlnemo) NeMo-RL 16.5 → 15 (16.2% → 14.9%): NeMo-RL's
	// sequence packing, each micro-batch padded to the longest bin under
	// pipeline parallelism (rl.pad_packs: 15.0%, Qwen3-32B −12.3% → −7.7%),
	// and the Megatron-Core training stack with NeMo-RL's 16-bit gradient
	// reduction (14.9%), then the bins as micro-batches at PP 1 too (14.8%);
	// a level of 14 fails.
	// Then (branch rlphase2) OpenRLHF's phases 25 → 19.5 (25.0% → 19.1%;
	// training −12.8/−25.4/−30.8% → −4.7/−13.4/−19.3%, the offload's PCIe
	// shared by the two GPUs of an HGX A100 PCIe switch and DeepSpeed's
	// host-side unscaling of the gradient; 70B generation −15.8% → −12.2%,
	// vLLM's per-step Ray task for its TP 2 workers), and OpenRLHF's step
	// RAISED 13.5 → 14.5 (13.4% → 14.3%): the 7B step (+18.5% → +22.2%)
	// rides on its generation, +44.8% over at the 1024-token caps, which
	// the benchmark's real, unpublished lengths did not reach (model.md
	// §9.1); 13B +1.8 → +6.7%, 70B −19.9 → −14.1%.
	// Then (branch kvbudget) NeMo-RL 15 → 10 (14.8% → 9.7%): vLLM V1's
	// KV-cache budget (rl.kv_profile "vllm-v1": the H100's 79.22 GiB as
	// CUDA reports it, less the profile run's activation peak and the
	// non-torch memory as well as the weights; 10.5%, Qwen3-30B-A3B −25.1%
	// → −11.3% and −13.5% → −6.2%, Qwen3-32B −7.7% → −7.2%), then vLLM's
	// own max_num_seqs (1024 for the LLM class on an H100, 128 for
	// AsyncLLM, not 256): A3B +0.1% and +14.0% (the 1-off case, AsyncLLM,
	// now over), Qwen3-32B −6.4%. Then the engine loop re-derived with the
	// same engine model (its v0.3 blog replay now sized by these rules:
	// 4.3 → 3.7 ms per iteration): 9.7% → 10.3%, level 10 → 10.5 (still
	// under main's 15); DeepSeek-V3 −27.4 → −28.0%, A3B +0.1 → −2.1% and
	// +14.0 → +11.0%, Llama 3.1 8B −0.3 → −2.8%, Qwen3-32B −6.4 → −7.7%.
	// Then (branch orlhflen) OpenRLHF 14.5 → 8.5 and its phases 19.5 → 11
	// (14.3% → 8.0%, 19.1% → 10.7%): the engines get the prompts unpadded,
	// 148 tokens on average (the OpenRLHF engine prompts rule: Anthropic
	// HH's mean from the Llama 2 paper's Table 6), scoring and training
	// still padded at the caps; generation +44.8/+20.3/−12.2% →
	// +10.5/+1.5/−14.8%, training unchanged.
	// Then (branch nemorldsv3) NeMo-RL 10.5 → 10.2 (main's 10.24% →
	// 10.08%): vLLM's replicated tensors (DeepSeek-V3's latent
	// down-projections and routers whole on every TP rank: refit intake
	// and KV budget) and the logits' all-gather with the sampling over the
	// whole vocabulary (model.md §9.1 items 29–30); DeepSeek-V3 −27.9 →
	// −27.2%, the A3B one-step row +11.0 → +11.5%.
	// Then (branch h100coll) NeMo-RL 10.2 → 9.7 (9.6%): XLA's measured
	// Hopper all-reduce and all-to-all inside a node (model.md §7.37).
	ceiling := map[string]float64{
		"NeMo-RL-perf-summary":        9.7,
		"DeepSpeed-Chat-step3-e2e":    13,
		"OpenRLHF-benchmark":          8.5,
		"OpenRLHF-benchmark (phases)": 11,
	}
	for _, g := range chk.Groups {
		c, ok := ceiling[g.Group]
		if g.Scored >= 2 && !ok {
			t.Errorf("group %s has %d scored cases and no recorded level", g.Group, g.Scored)
		}
		if ok && g.MAEPct > c {
			t.Errorf("group %s: MAE %.1f%% above the recorded %.0f%%", g.Group, g.MAEPct, c)
		}
	}
}

// TestRLScenarioRuns: the scenario a case is replayed with is one a user
// can run.
func TestRLScenarioOf(t *testing.T) {
	src, found, err := RLScenarioOf("dschat-opt13b-8xa100-80g")
	if err != nil || !found {
		t.Fatalf("found %v, %v", found, err)
	}
	if _, err := replayRL(string(src)); err != nil {
		t.Fatal(err)
	}
	// A case whose ZeRO-2 training does not fit is printed as it is
	// replayed, with ZeRO-3.
	if src, _, err := RLScenarioOf("openrlhf-bench-llama2-70b-rayvllm-16gpu"); err != nil || !strings.Contains(string(src), "zero = 3") {
		t.Errorf("OpenRLHF 70B scenario (err %v) does not say zero = 3:\n%s", err, src)
	}
	// OpenRLHF's rules: every case's actor and critic have an even GPU
	// count, so two offloading GPUs share each host PCIe link; only the
	// 70B's engines (TP 2) have Ray workers to schedule each iteration.
	for id, tp2 := range map[string]bool{"openrlhf-bench-llama2-7b-rayvllm-8gpu": false, "openrlhf-bench-llama2-70b-rayvllm-16gpu": true} {
		src, _, err := RLScenarioOf(id)
		if err != nil || !strings.Contains(string(src), "offload_pcie_share = 2") {
			t.Errorf("%s (err %v) does not share the PCIe link:\n%s", id, err, src)
		}
		if got := strings.Contains(string(src), `engine_host_overhead = "2ms"`); got != tp2 {
			t.Errorf("%s: 2 ms Ray worker step %v, want %v:\n%s", id, got, tp2, src)
		}
	}
	if _, found, err := RLScenarioOf("verl-onestepoff-doc-qwen2.5-math-7b-colocate-fsdp2-16xh20"); !found || err == nil {
		t.Errorf("a case without its prompts per step: found %v, err %v; want found and not replayable", found, err)
	}
	// The mixture-of-experts cases replay now that their presets exist.
	if _, found, err := RLScenarioOf("nemorl-v0.6-h100-dsv3-grpo-onpolicy-256gpu"); !found || err != nil {
		t.Errorf("DeepSeek-V3 case: found %v, err %v; want its scenario", found, err)
	}
	if _, found, _ := RLScenarioOf("no-such-case"); found {
		t.Error("an unknown id was found")
	}
}

func FuzzParseRL(f *testing.F) {
	if src, err := data.ReadFile(rlFile); err == nil {
		f.Add(string(src))
	}
	f.Add("[[case]]\nid = \"a\"\ngroup = \"NeMo-RL-x\"\n[case.model]\nname = \"Llama-3.1-8B\"\n[case.hardware]\ngpu = \"H100\"\ngpus = -8\n[case.rl]\nprompts_per_step = 0\ngen_tp = 1e300\n")
	f.Add("[[case]]\nid = \"b\"\ngroup = \"OpenRLHF-y\"\n[case.model]\nname = \"Llama-2-7B\"\n[case.hardware]\ngpu = \"A800\"\n[case.rl]\nprompts_per_step = 4\ngpu_roles_interpreted = \"vLLM 0 GPUs x TP99999999999\"\n")
	f.Fuzz(func(t *testing.T, src string) {
		cases, err := parseRL("f.toml", []byte(src))
		if err == nil && len(cases) == 0 {
			t.Fatal("no error and no cases")
		}
		for _, c := range cases {
			p := planRL(c)
			if p.why == "" && p.scenario == "" {
				t.Fatalf("%s: no scenario and no reason", c.ID)
			}
		}
	})
}

// nemoRLBlogScenario is one of the two set-ups of NeMo-RL's v0.3 blog
// (2025-07-21; its step-time table is quoted in NVIDIA-NeMo/RL issue #959)
// as the NeMo-RL rules replay them: examples/configs/grpo_math_8B_megatron.yaml
// and grpo_math_70B_megatron.yaml at v0.3.0 (64 prompts × 32 generations,
// 4096 tokens, no recomputation, vLLM at 60% of the device's memory), the
// blog's mean generated tokens per sample, and loop as the engine's host
// time per iteration. The engine is sized as the NeMo-RL KV budget and
// engine batch rules size vLLM's LLM class on an H100 (v0.3.0 pins vLLM
// 0.9.0, also a V1 engine): kv_profile vllm-v1, 16384 profile tokens,
// max_num_seqs 1024. (With the whole 60% of 80 GiB less the weights for
// the KV cache and 256 sequences, this derivation gave 4.3 ms.)
func nemoRLBlogScenario(preset string, nodes, tp, pp, genTP, mean int, loop string) string {
	return fmt.Sprintf(`name = "nemo-rl-v0.3-blog"
[model]
preset = %q
[cluster]
system = "dgx-h100"
nodes = %d
[parallelism]
tp = %d
pp = %d
sequence_parallel = %t
recompute = "none"
zero = 1
[training]
global_batch = %d
precision = "bf16"
[rl]
algorithm = "grpo"
reward = "none"
reference = "policy"
prompts_per_step = 64
generations_per_prompt = 32
train_batch = 512
offload = "all"
refit_rate = "2.5GB/s"
prompt_len = 256
response_max = 3840
response_mean = %d
gen_tp = %d
gen_memory_fraction = 0.6
logprob_microbatch = 4
engine_host_overhead = %q
kv_profile = "vllm-v1"
max_batch = 1024
max_batched_tokens = 16384
`, preset, nodes, tp, pp, tp > 1, nodes*8/(tp*pp), mean, genTP, loop)
}

// TestNeMoRLEngineLoopDerivation re-derives the NeMo-RL engine loop rule's
// 3.7 ms from the blog's Llama 3.1 8B row (generation 58 s, 795 tokens per
// response, one DGX H100): (58 s − the replay's generation without the
// loop) ÷ its iterations must still round to 3.7 ms, so that a change of the
// decode model that moves it shows here. Then the held-out check: the
// blog's Llama 3.1 70B row (8 nodes, TP 4 PP 4, vLLM TP 4, 398 tokens per
// response) generates in 84 s; with the rule the replay must stay within
// 10% of it.
func TestNeMoRLEngineLoopDerivation(t *testing.T) {
	run := func(src string) *rl.Result {
		t.Helper()
		r, err := replayRL(src)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// A 1 ns loop counts the iterations: host time ÷ 1 ns.
	r := run(nemoRLBlogScenario("llama3-8b", 1, 1, 2, 1, 795, "1ns"))
	iters := float64(r.GenHost) / 1e-9
	loop := (58 - (float64(r.Generation) - float64(r.GenHost))) / iters
	t.Logf("8B: generation %.2f s, %.0f iterations: %.3f ms per iteration", float64(r.Generation), iters, loop*1e3)
	if math.Abs(loop-3.7e-3) > 0.05e-3 {
		t.Errorf("8B: generation %.2f s over %.0f iterations re-derives %.2f ms per iteration, not the rule's 3.7 ms", float64(r.Generation), iters, loop*1e3)
	}
	big := run(nemoRLBlogScenario("llama3-70b", 8, 4, 4, 4, 398, "3.7ms"))
	t.Logf("70B: generation %.1f s (blog 84 s); logprobs %.1f s (blog 18 s); training %.1f s (blog 28 s)", float64(big.Generation), float64(big.Scoring), float64(big.Training))
	t.Logf("8B: logprobs %.1f s (blog 18 s)", float64(r.Scoring))
	if g := float64(big.Generation); math.Abs(g-84)/84 > 0.10 {
		t.Errorf("70B: generation %.1f s with the 3.7 ms loop, want within 10%% of the blog's 84 s", g)
	}
}

// TestOpenRLHFCapsRoofline: OpenRLHF's Llama 2 7B generation (481.86 s
// published: 1024 prompts, 2 vLLM engines of TP 1 on A800-80GB, each actor
// rank's 32 calls of 16 prompts, each call scored before the next) cannot
// have run at the 1024-token caps the benchmark settings rule assumes, by
// hand: at 100% of the HBM bandwidth and of the tensor peak, with no kernel
// or host cost, one engine's 32 calls of 1024 decode iterations read the
// weights (2 B × 6.607 G parameters of the decode: 32 layers of 4h² + 3hf,
// and the V·h logits) and the KV cache (2 · 32 · 4096 · 2 B per token, 16
// sequences at contexts 1024 … 2047) every iteration: 419.4 s at 2039 GB/s;
// their prefills 32 × 16 × 1024 tokens × 2 × 6.607 G FLOPs at 312 TFLOP/s
// (22.2 s) and the rank's 32 scoring waits, at least the policy's own
// forward over 16 × 2048 tokens each (44.4 s): 486.0 s > 481.86 s. The
// replay with no kernel overhead, the full HBM bandwidth and no host loop
// must reproduce the decode (2%) and stay above the bound (it never beats a
// roofline), so no cheaper per-kernel, per-iteration or per-sequence
// overhead can bring the 7B's generation to the measurement at the caps:
// only shorter real sequences can (model.md §9.1, branch orlhfgen).
func TestOpenRLHFCapsRoofline(t *testing.T) {
	const (
		measured             = 481.86 // s, generation (make_experience) per step
		layers, h, f, vocab  = 32.0, 4096.0, 11008.0, 32000.0
		hbm, peak            = 2039e9, 312e12
		calls, batch, capTok = 32.0, 16.0, 1024.0
	)
	params := layers*(4*h*h+3*h*f) + vocab*h      // 6.607e9
	kv := 2 * layers * h * 2                      // B per token
	ctxSum := capTok*capTok + (capTok-1)*capTok/2 // Σ over a call's iterations of 1024 + i
	decode := calls * (capTok*2*params + batch*kv*ctxSum) / hbm
	prefill := calls * batch * capTok * 2 * params / peak
	waits := calls * batch * 2 * capTok * 2 * params / peak
	bound := decode + prefill + waits
	if math.Abs(decode-419.4) > 0.1 || math.Abs(bound-486.0) > 0.1 {
		t.Fatalf("hand: decode %.2f s, bound %.2f s; want 419.4 and 486.0", decode, bound)
	}
	if bound <= measured {
		t.Errorf("hand bound %.1f s not above the measured %.2f s", bound, measured)
	}

	src, found, err := RLScenarioOf("openrlhf-bench-llama2-7b-rayvllm-8gpu")
	if err != nil || !found {
		t.Fatalf("found %v, %v", found, err)
	}
	ruled, err := replayRL(string(src))
	if err != nil {
		t.Fatal(err)
	}
	caps := string(src)
	for _, kv := range [][2]string{{"prompt_len", "1024"}, {"engine_prompt_len", "1024"}, {"response_max", "1024"}, {"response_mean", "1024"}, {"engine_host_per_seq", `"0us"`}} {
		re := regexp.MustCompile(`(?m)^` + kv[0] + ` = .*$`)
		if !re.MatchString(caps) {
			t.Fatalf("scenario has no %s:\n%s", kv[0], caps)
		}
		caps = re.ReplaceAllString(caps, kv[0]+" = "+kv[1])
	}
	caps += "\n[calibration]\nkernel_overhead = \"0us\"\nhbm_fraction = 1.0\n"
	floor, err := replayRL(caps)
	if err != nil {
		t.Fatal(err)
	}
	gen := float64(floor.Generation + floor.Scoring) // what the rules compare with the published generation
	t.Logf("replay: rules %.1f s (engine prompts of %d); at the caps, no overheads, full HBM: %.1f s (decode %.1f, prefill %.1f); hand bound %.1f s; measured %.2f s",
		float64(ruled.Generation+ruled.Scoring), OpenRLHFEnginePrompt(), gen, float64(floor.Decode), float64(floor.Prefill), bound, measured)
	if d := float64(floor.Decode); math.Abs(d-decode)/decode > 0.02 {
		t.Errorf("replay decode %.1f s at full HBM, no overheads; hand %.1f s (2%%)", d, decode)
	}
	if gen < bound*(1-0.005) {
		t.Errorf("replay generation %.1f s below the hand roofline %.1f s", gen, bound)
	}
	capsRuled, err := replayRL(regexp.MustCompile(`(?m)^engine_prompt_len = .*$`).ReplaceAllString(string(src), "engine_prompt_len = 1024"))
	if err != nil {
		t.Fatal(err)
	}
	if r := float64(capsRuled.Generation + capsRuled.Scoring); r < gen {
		t.Errorf("the rules' generation at the caps %.1f s below the overhead-free %.1f s", r, gen)
	}
}

// TestOpenRLHFEnginePrompt checks the OpenRLHF engine prompts rule by
// hand. The Llama 2 paper's Table 6 gives per example, per prompt and per
// response tokens; an RL prompt is the dialogue before the last response,
// per example − per response: Anthropic Helpful 251.5 − 88.4 = 163.1,
// Harmless 152.5 − 46.4 = 106.1; for the single-turn sets that difference
// is the table's own prompt column (WebGPT 237.2 − 188.9 = 48.3, synthetic
// GPT-J 123.3 − 110.3 = 13.0). Over the HH comparisons (122,387 and
// 43,966): (122387 · 163.1 + 43966 · 106.1) / 166353 = 148.04 → 148, the
// longest of the blend's components. The replay then gives the engines
// prompts of 148 tokens and nothing else: its generation is that of prompts
// of 148 throughout, and its training that of the caps; and at 100% of the
// HBM bandwidth, no kernel or host cost, one engine's 32 calls of 16
// sequences decode 1024 iterations at contexts 148 … 1171: 32 × (1024 ×
// 2 B × 6.607 G + 16 × 524,288 B × (148 · 1024 + 1023 · 1024 / 2)) / 2039
// GB/s = 301.2 s (419.4 s at the caps).
func TestOpenRLHFEnginePrompt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prompt float64
	}{{"Anthropic Helpful", 163.1}, {"Anthropic Harmless", 106.1}, {"OpenAI WebGPT", 48.3}, {"Synthetic GPT-J", 13.0}} {
		found := false
		for _, s := range Llama2Table6 {
			if s.Name != tc.name {
				continue
			}
			found = true
			if math.Abs(s.RLPrompt()-tc.prompt) > 1e-9 {
				t.Errorf("%s: RL prompt %.2f tokens, want %.1f", s.Name, s.RLPrompt(), tc.prompt)
			}
			if !strings.HasPrefix(s.Name, "Anthropic") && math.Abs(s.RLPrompt()-s.Prompt) > 1e-9 {
				t.Errorf("%s: single-turn, per example − response %.2f ≠ the prompt column %.1f", s.Name, s.RLPrompt(), s.Prompt)
			}
			if s.RLPrompt() > 163.1 {
				t.Errorf("%s: %.1f tokens, longer than Anthropic Helpful's", s.Name, s.RLPrompt())
			}
		}
		if !found {
			t.Errorf("no Table 6 row %s", tc.name)
		}
	}
	if got := OpenRLHFEnginePrompt(); got != 148 {
		t.Fatalf("engine prompt %d tokens, want 148 by hand", got)
	}
	for _, id := range []string{"openrlhf-bench-llama2-7b-rayvllm-8gpu", "openrlhf-bench-llama2-13b-rayvllm-8gpu", "openrlhf-bench-llama2-70b-rayvllm-16gpu"} {
		src, _, err := RLScenarioOf(id)
		if err != nil || !strings.Contains(string(src), "engine_prompt_len = 148\n") || !strings.Contains(string(src), "prompt_len = 1024\n") {
			t.Errorf("%s (err %v): not engine prompts of 148 with padded prompts of 1024:\n%s", id, err, src)
		}
	}
	src, _, err := RLScenarioOf("openrlhf-bench-llama2-7b-rayvllm-8gpu")
	if err != nil {
		t.Fatal(err)
	}
	set := func(src string, kvs ...[2]string) string {
		for _, kv := range kvs {
			re := regexp.MustCompile(`(?m)^` + kv[0] + ` = .*$`)
			if !re.MatchString(src) {
				t.Fatalf("scenario has no %s:\n%s", kv[0], src)
			}
			src = re.ReplaceAllString(src, kv[0]+" = "+kv[1])
		}
		return src
	}
	ruled, err := replayRL(string(src))
	if err != nil {
		t.Fatal(err)
	}
	short, err := replayRL(set(string(src), [2]string{"prompt_len", "148"}))
	if err != nil {
		t.Fatal(err)
	}
	caps, err := replayRL(set(string(src), [2]string{"engine_prompt_len", "1024"}))
	if err != nil {
		t.Fatal(err)
	}
	if ruled.Decode != short.Decode || ruled.Prefill != short.Prefill {
		t.Errorf("engine decode %s and prefill %s with engine prompts of 148; %s and %s with prompts of 148", ruled.Decode, ruled.Prefill, short.Decode, short.Prefill)
	}
	if ruled.Training != caps.Training || ruled.Scoring != caps.Scoring {
		t.Errorf("scoring %s and training %s with engine prompts of 148; %s and %s at the caps", ruled.Scoring, ruled.Training, caps.Scoring, caps.Training)
	}
	if !(ruled.Generation < caps.Generation) {
		t.Errorf("generation %s with engine prompts of 148, not below the caps' %s", ruled.Generation, caps.Generation)
	}
	const (
		layers, h, f, vocab = 32.0, 4096.0, 11008.0, 32000.0
		hbm                 = 2039e9
		calls, batch, resp  = 32.0, 16.0, 1024.0
		prompt              = 148.0
	)
	params := layers*(4*h*h+3*h*f) + vocab*h
	kv := 2 * layers * h * 2
	decode := calls * (resp*2*params + batch*kv*(prompt*resp+(resp-1)*resp/2)) / hbm
	if math.Abs(decode-301.2) > 0.1 {
		t.Fatalf("hand decode %.2f s, want 301.2", decode)
	}
	floor, err := replayRL(set(string(src), [2]string{"engine_host_per_seq", `"0us"`}) + "\n[calibration]\nkernel_overhead = \"0us\"\nhbm_fraction = 1.0\n")
	if err != nil {
		t.Fatal(err)
	}
	if d := float64(floor.Decode); math.Abs(d-decode)/decode > 0.02 {
		t.Errorf("replay decode %.1f s with engine prompts of 148 at full HBM, no overheads; hand %.1f s (2%%)", d, decode)
	}
}

// TestRLSystem checks the RL hardware rule by hand: each case GPU name and
// the system preset it maps to ("" where none), the H200 not taken for an
// H20.
func TestRLSystem(t *testing.T) {
	tests := []struct{ gpu, system, nvlink string }{
		{"H20", "hgx-h20", ""},
		{"NVIDIA H20 96GB", "hgx-h20", ""},
		{"8x H20", "hgx-h20", ""},
		{"H200", "", ""},
		{"H100 80GB (DGX-H100)", "dgx-h100", ""},
		{"A100 40GB", "dgx-a100-40gb", ""},
		{"A800-SXM-80GB", "dgx-a100-80gb", "200GB/s"},
		{"GH200", "", ""},
		{"H20X", "", ""},
	}
	for _, tc := range tests {
		sys, nv, ok := rlSystem(tc.gpu)
		if sys != tc.system || nv != tc.nvlink || ok != (tc.system != "") {
			t.Errorf("rlSystem(%q) = %q, %q, %v; want %q, %q", tc.gpu, sys, nv, ok, tc.system, tc.nvlink)
		}
	}
	// The verl cases are listed with their reason, hardware mapped.
	chk, err := CheckRL(2)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range chk.Results {
		if r.Group != "verl-one-step-off-recipe" {
			continue
		}
		n++
		if r.Scored || !strings.Contains(r.Why, "mean response length not published") || !strings.Contains(r.Why, "hgx-h20") {
			t.Errorf("%s %s: scored %v, why %q; want listed for want of the mean response, on hgx-h20", r.ID, r.Metric, r.Scored, r.Why)
		}
	}
	if n != 6 {
		t.Errorf("%d verl rows, want 6 (2 steps, 4 phases)", n)
	}
}

// TestRLRulesQuoteTheirConstants: a rule that quotes a constant of the
// model quotes the value the model uses, so that the report's assumptions
// do not contradict the replay (the NeMo-RL KV budget rule's sampler
// bytes per logit, rl.SamplerBytesPerLogit; the engine loop's and KV
// profile's figures, rl.VLLMV1NonTorch).
func TestRLRulesQuoteTheirConstants(t *testing.T) {
	for _, c := range []struct {
		rule, want string
		wrong      *regexp.Regexp
	}{
		{"NeMo-RL KV budget", fmt.Sprintf("rl.SamplerBytesPerLogit, %d B per logit", rl.SamplerBytesPerLogit), regexp.MustCompile(`SamplerBytesPerLogit, \d+ B`)},
		{"NeMo-RL KV budget", fmt.Sprintf("%.2f GiB of non-torch increase", float64(rl.VLLMV1NonTorch)/(1<<30)), regexp.MustCompile(`[0-9.]+ GiB of non-torch increase`)},
	} {
		var rule string
		for _, r := range RLRules() {
			if strings.HasPrefix(r, c.rule+":") {
				rule = r
			}
		}
		if rule == "" {
			t.Errorf("no rule %q", c.rule)
			continue
		}
		if !strings.Contains(rule, c.want) {
			t.Errorf("rule %q quotes %q, the model uses %q", c.rule, c.wrong.FindString(rule), c.want)
		}
	}
}

// TestNeMoRLAttentionKernel checks the attention kernel of NeMo-RL's
// training stack rule: every scored NeMo-RL case trains on the Megatron
// policy, whose Transformer Engine picks cuDNN's fused attention on
// Hopper, so its scenario names no flash_kernel (the fused default) and
// the case says so in its assumptions (docs/model.md §7.55).
func TestNeMoRLAttentionKernel(t *testing.T) {
	raws, err := readRL()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range raws {
		if !strings.HasPrefix(c.Group, "NeMo-RL") {
			continue
		}
		n++
		p := planRL(c)
		if p.why != "" {
			t.Errorf("%s: not replayed: %s", c.ID, p.why)
			continue
		}
		if strings.Contains(p.scenario, "flash_kernel") {
			t.Errorf("%s: scenario names a flash kernel; want TE's fused (cuDNN) default:\n%s", c.ID, p.scenario)
		}
		if !strings.Contains(strings.Join(p.assumptions, "\n"), "cuDNN's fused attention") {
			t.Errorf("%s: assumptions do not name cuDNN's fused attention: %q", c.ID, p.assumptions)
		}
	}
	if n != 5 {
		t.Errorf("%d NeMo-RL cases, want 5", n)
	}
}
