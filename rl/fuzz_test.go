package rl_test

import (
	"fmt"
	"math"
	"testing"

	"trainsim/report"
	"trainsim/rl"
	"trainsim/scenario"
	"trainsim/scenarios"
)

// FuzzRL drives an [rl] table through the whole path — Load, Validate,
// rl.Run and the report — with the embedded default's cluster and small
// models: any combination is refused with an error or replays to finite,
// non-negative phases that the report accepts.
func FuzzRL(f *testing.F) {
	f.Add(uint8(0), uint8(8), uint8(4), uint16(64), uint16(128), uint16(256), uint8(0), uint8(0), uint8(1), uint8(0), 0.9, 1.0)
	f.Add(uint8(1), uint8(16), uint8(1), uint16(256), uint16(30), uint16(512), uint8(1), uint8(1), uint8(3), uint8(4), 0.3, 1e-3)
	f.Add(uint8(0), uint8(2), uint8(2), uint16(1), uint16(1), uint16(1), uint8(1), uint8(2), uint8(0), uint8(1), 1e-9, 1e9)
	f.Add(uint8(1), uint8(16), uint8(3), uint16(64), uint16(100), uint16(200), uint8(5), uint8(1), uint8(4), uint8(8), 0.9, 2.0)
	// The KV profiles: vLLM 0.3 at its default tokens, V1 at 8192, an
	// engine prompt shorter than the padded one.
	f.Add(uint8(0), uint8(1), uint8(2), uint16(300), uint16(150), uint16(400), uint8(0), uint8(0), uint8(1), uint8(20), 0.9, 2.0)
	f.Add(uint8(1), uint8(2), uint8(3), uint16(256), uint16(140), uint16(300), uint8(0), uint8(2), uint8(2), uint8(31), 0.6, 3.35)
	_, def := scenarios.Default()
	f.Fuzz(func(t *testing.T, algo, prompts, gens uint8, prompt, mean, longest uint16, placement, off, gentp, batch uint8, mem, hbm float64) {
		sets := []string{
			"cluster.nodes=2", "parallelism.tp=2", "parallelism.pp=2", "parallelism.dp=4", "model.layers=4", "model.hidden=512", "model.heads=8",
			"model.seq_len=512", "training.global_batch=8",
			fmt.Sprintf("rl.algorithm=%s", []string{"grpo", "ppo"}[int(algo)%2]),
			fmt.Sprintf("rl.prompts_per_step=%d", int(prompts)%64),
			fmt.Sprintf("rl.generations_per_prompt=%d", 1+int(gens)%8),
			fmt.Sprintf("rl.prompt_len=%d", int(prompt)%600),
			fmt.Sprintf("rl.response_mean=%d", int(mean)%600),
			fmt.Sprintf("rl.response_max=%d", int(longest)%600),
			fmt.Sprintf("rl.placement=%s", []string{"colocated", "split"}[int(placement)%2]),
			fmt.Sprintf("rl.off_policy=%d", int(off)%10),
			fmt.Sprintf("rl.gen_tp=%d", int(gentp)%5),
			fmt.Sprintf("rl.max_batch=%d", int(batch)%300),
			fmt.Sprintf("rl.batching=%s", []string{"continuous", "static"}[int(batch)%2]),
			fmt.Sprintf("rl.gen_memory_fraction=%g", mem),
			fmt.Sprintf("cluster.gpu.hbm_bandwidth=%gTB/s", hbm),
		}
		if placement%2 == 1 {
			sets = append(sets, "rl.gen_gpus=8")
		}
		if off%2 == 1 {
			// The optimizer offloaded, at a host bandwidth from the fuzzer.
			sets = append(sets, fmt.Sprintf("rl.cpu_adam_bandwidth=%gGB/s", hbm), fmt.Sprintf("rl.offload_pcie_share=%d", int(batch)%4))
		}
		if algo%2 == 1 {
			sets = append(sets, "rl.critic=gpt3-125m", "rl.reward=gpt3-125m")
		}
		if placement%8 >= 4 {
			// Experience in calls and the critic on its own GPUs (the
			// checks refuse what does not fit the placement).
			sets = append(sets, fmt.Sprintf("rl.rollout_ranks=%d", int(gens)%6), fmt.Sprintf("rl.critic_gpus=%d", int(gentp)%5))
		}
		if placement%4 >= 2 {
			sets = append(sets, "rl.reference=policy", "rl.reference_swap=true")
		}
		if off%4 >= 2 {
			// Offload all, the optimizer state at a rate from the fuzzer.
			sets = append(sets, "rl.offload=all", fmt.Sprintf("rl.optimizer_swap_rate=%gGB/s", mem*10))
		}
		if batch%4 >= 2 {
			// NeMo-RL's packing, padded under the fuzz layout's PP 2.
			sets = append(sets, "rl.pad_packs=true")
		}
		if gens%4 >= 2 {
			// The engine's KV budget after a vLLM profile run of a
			// fuzzer-chosen token count (0: the profile's default; the
			// checks refuse what is out of range), and prompts the engine
			// sees shorter than the padded ones (0: prompt_len; the checks
			// refuse more than prompt_len).
			sets = append(sets, fmt.Sprintf("rl.kv_profile=%s", []string{"none", "vllm-0.3", "vllm-v1", "vllm"}[int(prompts)%4]),
				fmt.Sprintf("rl.max_batched_tokens=%d", int(longest)*int(batch)%70000-1000),
				fmt.Sprintf("rl.engine_prompt_len=%d", int(mean)%700-50))
		}
		sc, err := scenario.Load("default.toml", def, sets)
		if err != nil {
			return
		}
		v, err := sc.Validate()
		if err != nil {
			return
		}
		r, err := rl.Run(v, *sc.RL)
		if err != nil {
			return
		}
		for name, x := range map[string]float64{"step": float64(r.Step), "generation": float64(r.Generation), "scoring": float64(r.Scoring),
			"training": float64(r.Training), "refit": float64(r.Refit), "idle": float64(r.Idle), "tokens/s": r.TokensPerSecPerGPU,
			"offload/onload": float64(r.Swap), "optimizer swap": float64(r.OptimizerSwap)} {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				t.Fatalf("%s = %g (%v)", name, x, sets)
			}
		}
		if r.Feasible && !(r.Step > 0) {
			t.Fatalf("feasible with step %g (%v)", float64(r.Step), sets)
		}
		if r.TrainResult == nil {
			t.Fatalf("no training replay (%v)", sets)
		}
		if _, err := report.Build(report.Input{Name: "f", Job: r.TrainJob, RL: r, RLConfig: *sc.RL}, r.TrainResult); err != nil {
			t.Fatalf("report refused: %v (%v)", err, sets)
		}
	})
}

// FuzzPackBins: NeMo-RL's packing keeps every token, never overfills a bin
// (lengths clamped to 1..capacity), and makes the bin count a multiple of
// the ranks when there are enough sequences for it (else one per sequence).
func FuzzPackBins(f *testing.F) {
	f.Add([]byte{200, 10, 90, 40, 255, 3}, uint16(256), uint8(4))
	f.Add([]byte{1}, uint16(1), uint8(1))
	f.Add([]byte{}, uint16(64), uint8(3))
	f.Fuzz(func(t *testing.T, raw []byte, capacity uint16, multiple uint8) {
		c := max(int(capacity), 1)
		lengths := make([]int, len(raw))
		want := 0
		for i, b := range raw {
			lengths[i] = int(b)*int(capacity)/255 + 1
			want += min(max(lengths[i], 1), c)
		}
		m := int(multiple)
		bins := rl.PackBins(lengths, c, m)
		got := 0
		for _, s := range bins {
			if s > c || s < 1 {
				t.Fatalf("bin of %d tokens (capacity %d): %v", s, c, bins)
			}
			got += s
		}
		if got != want {
			t.Fatalf("%d tokens packed, want %d", got, want)
		}
		if m > 1 && len(lengths) >= m && len(bins)%m != 0 && len(bins) != len(lengths) {
			t.Fatalf("%d bins for %d sequences, not a multiple of %d", len(bins), len(lengths), m)
		}
	})
}
