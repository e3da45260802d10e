package report

import (
	"fmt"
	"io"
	"strings"

	"trainsim/rl"
	"trainsim/units"
)

// RL is an RL post-training step (the scenario's [rl] table), measured from
// its replay; absent without one.
type RL struct {
	Algorithm string `json:"algorithm"`
	Placement string `json:"placement"`
	OffPolicy int    `json:"off_policy"`
	// StepS is the steady-state step; the phases are the slowest engine's
	// generation and the training pool's scoring, training, refit and
	// offload/onload (swap); IdleS the GPU-averaged time no phase ran;
	// OverlapS (split) what the phases overlapped.
	StepS       float64 `json:"step_s"`
	GenerationS float64 `json:"generation_s"`
	ScoringS    float64 `json:"scoring_s"`
	TrainingS   float64 `json:"training_s"`
	RefitS      float64 `json:"refit_s"`
	SwapS       float64 `json:"swap_s"`
	IdleS       float64 `json:"idle_s"`
	OverlapS    float64 `json:"overlap_s"`
	// SamplesPerStep responses; TokensPerStep their prompt + response
	// tokens; TokensPerSPerGPU those per second and GPU.
	SamplesPerStep   int     `json:"samples_per_step"`
	TokensPerStep    int     `json:"tokens_per_step"`
	TokensPerSPerGPU float64 `json:"tokens_per_s_per_gpu"`
	GenGPUs          int     `json:"gen_gpus"`
	TrainGPUs        int     `json:"train_gpus"`
	Replicas         int     `json:"engine_replicas"`
	// Slots is the most sequences an engine ran at once; KVCapacity the
	// KV tokens an engine holds.
	Slots      int `json:"max_running_sequences"`
	KVCapacity int `json:"kv_capacity_tokens"`
	// KVBudget is the memory of an engine GPU the KV cache gets (0 when
	// the terms taken before it exceed the share), and what was taken
	// before it.
	KVBudget RLKVBudget `json:"kv_budget"`
	// The slowest engine's generation: prefill, decode kernels (split by
	// what bounded them), tensor-parallel all-reduces, the decode time
	// spent waiting for the longest responses, and its iterations.
	Generation RLGeneration `json:"generation"`
	// Utilisation is model FLOPs over the pool's peak per phase, and the
	// HBM bandwidth generation used.
	Utilisation RLUtilisation `json:"utilisation"`
	Memory      RLMemory      `json:"memory"`
	// RefitBytes is the policy's 16-bit weights each engine replica
	// receives.
	RefitBytes     float64 `json:"refit_bytes"`
	OptimizerSteps int     `json:"optimizer_steps"`
	TrainingStepS  float64 `json:"optimizer_step_s"`
	// OptimizerOffloadS is what the optimizer's offload to the host
	// (rl.cpu_adam_bandwidth) adds to each of the policy's optimizer steps,
	// in optimizer_step_s and so in training_s; OffloadPCIeShare the GPUs
	// sharing one host PCIe link for it (rl.offload_pcie_share). Both
	// omitted without the offload, the share also when 1.
	OptimizerOffloadS float64 `json:"optimizer_offload_s,omitempty"`
	OffloadPCIeShare  int     `json:"offload_pcie_share,omitempty"`
	// PadPacks: the samples packed as NeMo-RL packs them and, under
	// pipeline parallelism, padded to the longest pack (rl.pad_packs),
	// which is in scoring_s and training_s; omitted when false.
	PadPacks   bool   `json:"pad_packs,omitempty"`
	Bottleneck string `json:"bottleneck"`
	// PromptsTimeS is the time to process Prompts prompts (rl.prompts).
	Prompts      float64  `json:"prompts,omitempty"`
	PromptsTimeS float64  `json:"prompts_time_s,omitempty"`
	Feasible     bool     `json:"feasible"`
	Reason       string   `json:"reason,omitempty"`
	Notes        []string `json:"notes"`
	Timeline     []RLSpan `json:"timeline"`
	Tasks        int      `json:"tasks"`
	Events       int      `json:"events"`
}

// RLGeneration splits the slowest engine's generation.
type RLGeneration struct {
	PrefillS   float64 `json:"prefill_s"`
	DecodeS    float64 `json:"decode_s"`
	DecodeHBMS float64 `json:"decode_hbm_bound_s"`
	DecodeTCS  float64 `json:"decode_tensor_bound_s"`
	TPS        float64 `json:"tp_allreduce_s"`
	TailS      float64 `json:"longest_response_tail_s"`
	HostS      float64 `json:"engine_host_s"`
	Iterations int     `json:"decode_iterations"`
	Bound      string  `json:"bound"`
}

// RLUtilisation is each phase's model FLOPs over its pool's peak.
type RLUtilisation struct {
	GenerationMFU float64 `json:"generation_mfu"`
	GenerationHBM float64 `json:"generation_hbm"`
	ScoringMFU    float64 `json:"scoring_mfu"`
	TrainingMFU   float64 `json:"training_mfu"`
}

// RLMemory is one GPU's memory in each phase, bytes.
type RLMemory struct {
	GenerationWeights float64 `json:"generation_weights"`
	KVCache           float64 `json:"kv_cache"`
	Scoring           float64 `json:"scoring"`
	Training          float64 `json:"training"`
	Offloaded         float64 `json:"offloaded"`
}

// RLKVBudget is an engine GPU's KV-cache budget, bytes: the device's
// memory as CUDA reports it times the engine's fraction, less the weights
// and, under a profile (rl.kv_profile), the profile run's activation peak
// and the memory outside PyTorch's allocator.
type RLKVBudget struct {
	Profile       string  `json:"profile"`
	Device        float64 `json:"device_memory"`
	Fraction      float64 `json:"fraction"`
	Weights       float64 `json:"weights"`
	Activation    float64 `json:"profile_activation"`
	NonTorch      float64 `json:"non_torch"`
	ProfileTokens int     `json:"profile_tokens,omitempty"`
	ProfileSeqs   int     `json:"profile_sequences,omitempty"`
	KV            float64 `json:"kv_cache"`
}

// RLSpan is one phase of one replayed step on one lane.
type RLSpan struct {
	Lane   string  `json:"lane"`
	Phase  string  `json:"phase"`
	Step   int     `json:"step"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
}

// RLOf turns the RL replay r of step c into its report object.
func RLOf(c rl.Config, r *rl.Result) *RL {
	if r == nil {
		return nil
	}
	out := &RL{
		Algorithm: string(c.Algorithm), Placement: string(c.Placement), OffPolicy: c.OffPolicy,
		StepS: float64(r.Step), GenerationS: float64(r.Generation), ScoringS: float64(r.Scoring), TrainingS: float64(r.Training),
		RefitS: float64(r.Refit), SwapS: float64(r.Swap), IdleS: float64(r.Idle), OverlapS: float64(r.Overlap),
		SamplesPerStep: r.Samples, TokensPerStep: r.Tokens, TokensPerSPerGPU: r.TokensPerSecPerGPU,
		GenGPUs: r.GenGPUs, TrainGPUs: r.TrainGPUs, Replicas: r.Replicas, Slots: r.Slots, KVCapacity: r.KVCapacity,
		KVBudget: RLKVBudget{Profile: string(r.KVBudget.Profile), Device: float64(r.KVBudget.Device), Fraction: r.KVBudget.Fraction,
			Weights: float64(r.KVBudget.Weights), Activation: float64(r.KVBudget.Activation), NonTorch: float64(r.KVBudget.NonTorch),
			ProfileTokens: r.KVBudget.ProfileTokens, ProfileSeqs: r.KVBudget.ProfileSeqs, KV: max(float64(r.KVBudget.KV), 0)},
		Generation: RLGeneration{PrefillS: float64(r.Prefill), DecodeS: float64(r.Decode), DecodeHBMS: float64(r.DecodeHBM), DecodeTCS: float64(r.DecodeTensor),
			TPS: float64(r.GenComm), TailS: float64(r.Tail), HostS: float64(r.GenHost), Iterations: r.Iterations, Bound: r.GenerationBound},
		Utilisation: RLUtilisation{GenerationMFU: r.GenerationMFU, GenerationHBM: r.GenerationHBM, ScoringMFU: r.ScoringMFU, TrainingMFU: r.TrainingMFU},
		Memory: RLMemory{GenerationWeights: float64(r.Memory.GenerationWeights), KVCache: float64(r.Memory.KVCache), Scoring: float64(r.Memory.Scoring),
			Training: float64(r.Memory.Training), Offloaded: float64(r.Memory.Offloaded)},
		RefitBytes: float64(r.RefitBytes), OptimizerSteps: r.OptimizerSteps, TrainingStepS: float64(r.TrainingStep),
		OptimizerOffloadS: float64(r.OptimizerOffload), PadPacks: c.PadPacks,
		Bottleneck: r.Bottleneck, Prompts: c.Prompts, PromptsTimeS: float64(r.PromptsTime),
		Feasible: r.Feasible, Reason: r.Reason, Notes: append([]string{}, r.Notes...), Tasks: r.Tasks, Events: r.Events,
		Timeline: []RLSpan{},
	}
	if c.CPUAdamBandwidth > 0 && c.OffloadPCIeShare > 1 {
		out.OffloadPCIeShare = c.OffloadPCIeShare
	}
	for _, s := range r.Timeline {
		out.Timeline = append(out.Timeline, RLSpan{Lane: s.Lane, Phase: s.Phase, Step: s.Step, StartS: float64(s.Start), EndS: float64(s.End)})
	}
	return out
}

// WriteRLText writes the RL step's summary: phases, what bounds it,
// utilisation, memory, and the replayed steps as a timeline of bars.
func WriteRLText(w io.Writer, r *RL) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	sec := func(x float64) string { return units.Seconds(x).String() }
	gib := func(x float64) string { return units.Bytes(x).String() }
	pct := func(x float64) string {
		if r.StepS <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*x/r.StepS)
	}
	p("RL step          %s, %s, off-policy %d: %s per step, %d samples (%d tokens), %.0f tokens/s per GPU\n",
		r.Algorithm, r.Placement, r.OffPolicy, sec(r.StepS), r.SamplesPerStep, r.TokensPerStep, r.TokensPerSPerGPU)
	if !r.Feasible {
		p("  INFEASIBLE: %s\n", r.Reason)
	}
	p("  generation     %10s  %6s  %d GPUs, %d engines; prefill %s, decode %s (%d iterations; HBM-bound %s, tensor-bound %s), tp collectives %s, longest-response tail %s\n",
		sec(r.GenerationS), pct(r.GenerationS), r.GenGPUs, r.Replicas, sec(r.Generation.PrefillS), sec(r.Generation.DecodeS), r.Generation.Iterations,
		sec(r.Generation.DecodeHBMS), sec(r.Generation.DecodeTCS), sec(r.Generation.TPS), sec(r.Generation.TailS))
	if r.Generation.HostS > 0 {
		p("                 engine host loop %s (scheduling and output processing between iterations, the GPU idle)\n", sec(r.Generation.HostS))
	}
	p("                 generation bound by %s\n", r.Generation.Bound)
	p("  scoring        %10s  %6s\n", sec(r.ScoringS), pct(r.ScoringS))
	p("  training       %10s  %6s  %d optimizer steps of %s", sec(r.TrainingS), pct(r.TrainingS), r.OptimizerSteps, sec(r.TrainingStepS))
	if r.OptimizerOffloadS > 0 {
		p(", each with %s of optimizer offload (PCIe and CPU Adam", sec(r.OptimizerOffloadS))
		if r.OffloadPCIeShare > 1 {
			p("; %d GPUs share a host PCIe link, offload_pcie_share", r.OffloadPCIeShare)
		}
		p(")")
	}
	p("\n")
	if r.PadPacks {
		p("                 samples packed as NeMo-RL packs them, padded to the longest pack under pipeline parallelism (pad_packs: in scoring and training)\n")
	}
	p("  refit          %10s  %6s  %s of weights per engine\n", sec(r.RefitS), pct(r.RefitS), gib(r.RefitBytes))
	if r.SwapS > 0 {
		p("  offload/onload %10s  %6s  %s per GPU to host and back\n", sec(r.SwapS), pct(r.SwapS), gib(r.Memory.Offloaded))
	}
	if r.Placement == string(rl.Split) {
		p("  idle           %10s  %6s  per GPU on average: each pool waits while the other works\n", sec(r.IdleS), pct(r.IdleS))
	} else {
		p("  idle           %10s  %6s\n", sec(r.IdleS), pct(r.IdleS))
	}
	if r.OverlapS > 0 {
		p("  overlapped     %10s  %6s  (split, off-policy: the pools work at once; the phases add up to the step plus this)\n", sec(r.OverlapS), pct(r.OverlapS))
	}
	p("  bottleneck     %s\n", r.Bottleneck)
	p("  utilisation    generation MFU %.1f%% (HBM %.0f%%), scoring MFU %.1f%%, training MFU %.1f%%\n",
		100*r.Utilisation.GenerationMFU, 100*r.Utilisation.GenerationHBM, 100*r.Utilisation.ScoringMFU, 100*r.Utilisation.TrainingMFU)
	p("  memory/GPU     generation %s weights + %s KV cache (%d tokens per engine, %d sequences at most); scoring %s weights; training %s\n",
		gib(r.Memory.GenerationWeights), gib(r.Memory.KVCache), r.KVCapacity, r.Slots, gib(r.Memory.Scoring), gib(r.Memory.Training))
	if k := r.KVBudget; k.Device > 0 {
		p("  KV budget/GPU  %s × %.2f = %s, less %s weights", gib(k.Device), k.Fraction, gib(k.Device*k.Fraction), gib(k.Weights))
		if k.Profile != string(rl.KVProfileNone) {
			p(", %s profile activations (%s: %d tokens, sampler over %d sequences), %s outside PyTorch", gib(k.Activation), k.Profile, k.ProfileTokens, k.ProfileSeqs, gib(k.NonTorch))
		}
		p(" → %s for the KV cache\n", gib(max(k.KV, 0)))
	}
	if r.PromptsTimeS > 0 {
		p("  %.4g prompts   %.2f h\n", r.Prompts, r.PromptsTimeS/3600)
	}
	writeRLTimeline(&b, r)
	for _, n := range r.Notes {
		p("  note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String()+"\n")
	return err
}

// writeRLTimeline draws the replayed steps as one bar per lane (the first
// engine and the training pool): g generation, s scoring, t training, r
// refit, o offload/onload.
func writeRLTimeline(b *strings.Builder, r *RL) {
	const width = 72
	end := 0.0
	for _, s := range r.Timeline {
		end = max(end, s.EndS)
	}
	if end <= 0 {
		return
	}
	mark := map[string]byte{"generation": 'g', "scoring": 's', "training": 't', "refit": 'r', "onload": 'o', "offload": 'o'}
	for _, lane := range []string{"engine 0", "train"} {
		row := []byte(strings.Repeat(".", width))
		for _, s := range r.Timeline {
			if s.Lane != lane {
				continue
			}
			a := int(s.StartS / end * width)
			z := max(int(s.EndS/end*width), a+1)
			for i := a; i < min(z, width); i++ {
				row[i] = mark[s.Phase]
			}
		}
		fmt.Fprintf(b, "  %-9s |%s| %s\n", lane, row, units.Seconds(end))
	}
	fmt.Fprintf(b, "  (g generation, s scoring, t training, r refit, o offload/onload; %d steps replayed)\n", 1+maxStep(r.Timeline))
}

func maxStep(spans []RLSpan) int {
	m := 0
	for _, s := range spans {
		m = max(m, s.Step)
	}
	return m
}
