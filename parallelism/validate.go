package parallelism

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"trainsim/collective"
	"trainsim/field"
	"trainsim/model"
	"trainsim/units"
)

// Valid is a job that passed Validate. Simulate and LayerTimes take only a
// Valid job, so every job they replay was checked, once, by whoever built it
// (the scenario reader after merging the files a scenario names); only
// Validate makes one.
type Valid struct {
	job Job
	ok  bool
}

// Job returns the job that passed validation.
func (v Valid) Job() Job { return v.job }

// get returns the job v holds, or an error for a Valid that Validate did not
// return (the zero value).
func (v Valid) get() (Job, error) {
	if !v.ok {
		return Job{}, errors.New("parallelism: the job was not validated (Job.Validate makes a Valid job)")
	}
	return v.job, nil
}

// The physical ranges of the calibration's figures (the cluster's are
// topology's MinPeak and the rest).
const (
	// MinBusBandwidth is the least bus bandwidth a calibration may give:
	// 100 MB/s.
	MinBusBandwidth units.Bandwidth = 1e8
	// MaxKernelOverhead is the most a kernel launch may cost: 10 ms.
	MaxKernelOverhead units.Seconds = 10e-3
	// MaxTokens is the most tokens a run may train: 1e18, ten thousand
	// times the largest published runs (Llama 3: 15.6e12, Dubey et al.
	// 2024), and far below where the training FLOPs (6 × parameters ×
	// tokens) leave the float64 range (training.tokens = 1e300 made them
	// +Inf, refused only as the report was written, without the key).
	MaxTokens = 1e18
	// MinFraction is the least share of a datasheet peak or bandwidth a
	// kernel-efficiency fraction may give: 1%. Below it the figure is a
	// slip, not a measurement (1e-300 priced kernels past the engine's
	// 146-year range, refused then without the key).
	MinFraction = 0.01
)

// Validate checks the model, the cluster and the job: ranges, divisibility,
// what the files the scenario names brought (an explicit topology's GPU
// count, a calibration file's values against the cluster), and the size of
// the replay. Without a problem it returns the job as Valid; otherwise every
// problem found, each naming the dotted scenario key it concerns
// ("parallelism.tp") and the other keys its rule read, so that callers can
// point at the line that set it.
func (j Job) Validate() (Valid, []field.Error) {
	errs := append(j.Model.Validate(), j.Cluster.Validate()...)
	errs = append(errs, j.check()...)
	if len(errs) > 0 {
		return Valid{}, errs
	}
	return Valid{job: j, ok: true}, nil
}

// check returns the problems of the job's own rules: layout, training,
// options and calibration.
func (j Job) check() []field.Error {
	var errs []field.Error
	add := func(e field.Error) { errs = append(errs, e) }
	l, m := j.Layout, j.Model
	for _, f := range []struct {
		key string
		v   int
	}{{"parallelism.tp", l.TP}, {"parallelism.pp", l.PP}, {"parallelism.dp", l.DP}, {"parallelism.cp", l.CP}, {"parallelism.ep", l.EP}, {"parallelism.microbatch", l.Microbatch}, {"parallelism.virtual_stages", l.VirtualStages}} {
		if f.v < 1 {
			add(field.Errorf(f.key, "must be a positive integer, got %d", f.v))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	gpus := j.Cluster.GPUs()
	if l.TP*l.PP*l.DP*l.CP != gpus {
		add(field.Errorf("parallelism", "tp(%d) × pp(%d) × dp(%d) × cp(%d) = %d ≠ %d GPUs (cluster.nodes × gpus_per_node)", l.TP, l.PP, l.DP, l.CP, l.TP*l.PP*l.DP*l.CP, gpus).
			Using("parallelism.tp", "parallelism.pp", "parallelism.dp", "parallelism.cp", "cluster.nodes", "cluster.gpus_per_node"))
	}
	if m.Heads > 0 && m.Heads%l.TP != 0 {
		add(field.Errorf("parallelism.tp", "%d does not divide model.heads (%d)", l.TP, m.Heads).Using("model.heads"))
	}
	if m.KVHeads > 0 && m.KVHeads != m.Heads && (l.TP > m.KVHeads && l.TP%m.KVHeads != 0 || l.TP <= m.KVHeads && m.KVHeads%l.TP != 0) {
		add(field.Errorf("parallelism.tp", "%d is neither a divisor nor a multiple of model.kv_heads (%d)", l.TP, m.KVHeads).Using("model.kv_heads", "model.heads"))
	}
	if m.FFNHidden > 0 && m.FFNHidden%l.TP != 0 {
		add(field.Errorf("parallelism.tp", "%d does not divide model.ffn_hidden (%d)", l.TP, m.FFNHidden).Using("model.ffn_hidden"))
	}
	errs = append(errs, j.checkPipelineLayout()...)
	if m.Layers > 0 && m.Layers < l.PP*l.VirtualStages && l.PipelineLayout == "" {
		add(field.Errorf("parallelism.pp", "model.layers (%d) is fewer than pp × virtual_stages (%d × %d): a pipeline stage would hold no layer", m.Layers, l.PP, l.VirtualStages).
			Using("model.layers", "parallelism.virtual_stages"))
	}
	if m.MTPDepth > 0 && l.PipelineLayout == "" && m.Layers >= l.PP*l.VirtualStages && j.evenLayersOf(l.PP*l.VirtualStages-1) < 0 {
		add(field.Errorf("model.mtp_depth", "%d multi-token-prediction modules are more than the last of pp × virtual_stages = %d stages holds in the even split of model.layers (%d), which counts each module as a layer of that stage; set parallelism.pipeline_layout", m.MTPDepth, l.PP*l.VirtualStages, m.Layers).
			Using("model.layers", "parallelism.pp", "parallelism.virtual_stages", "parallelism.pipeline_layout"))
	}
	if l.CP > 1 && m.SeqLen%(2*l.CP) != 0 {
		add(field.Errorf("parallelism.cp", "model.seq_len (%d) is not divisible by 2 × cp (%d)", m.SeqLen, 2*l.CP).Using("model.seq_len"))
	}
	if l.CP > 1 && j.Training.Attention != model.AttentionFlash {
		add(field.Errorf("parallelism.cp", "context parallelism runs ring attention on a fused attention kernel; set training.attention = \"flash\"").Using("training.attention"))
	}
	// A negative experts count is the model's own problem (Config.Validate).
	if l.EP > 1 && m.Experts == 0 {
		add(field.Errorf("parallelism.ep", "%d needs a mixture-of-experts model (model.experts > 0)", l.EP).Using("model.experts"))
	}
	if m.Experts > 0 && l.EP > 0 {
		if m.Experts%l.EP != 0 {
			add(field.Errorf("parallelism.ep", "%d does not divide model.experts (%d)", l.EP, m.Experts).Using("model.experts"))
		}
		if w := l.TP * l.CP * l.DP * l.PP; l.EP*l.PP > w || w%(l.EP*l.PP) != 0 {
			add(field.Errorf("parallelism.ep", "ep × pp (%d × %d) does not divide the %d GPUs (the expert sub-mesh is etp × ep × expert-dp × pp)", l.EP, l.PP, w).Using("parallelism.pp", "parallelism.tp", "parallelism.cp", "parallelism.dp"))
		}
		if l.ZeRO > 1 {
			add(field.Errorf("parallelism.zero", "mixture-of-experts models support ZeRO 0 and 1 (the distributed optimizer), got %d", l.ZeRO).Using("model.experts"))
		}
		if l.TP > 1 && !l.SequenceParallel {
			add(field.Errorf("parallelism.sequence_parallel", "mixture-of-experts layers with tp > 1 need sequence parallelism, as Megatron-Core requires").Using("model.experts", "parallelism.tp"))
		}
		if m.SeqLen > 0 && l.CP > 0 && (m.SeqLen/l.CP)%l.TP != 0 {
			add(field.Errorf("model.seq_len", "the tokens per rank (seq_len / cp = %d) are not divisible by tp (%d)", m.SeqLen/l.CP, l.TP).Using("parallelism.tp", "parallelism.cp"))
		}
	}
	if l.ETP < 0 {
		add(field.Errorf("parallelism.etp", "must be a positive integer, got %d", l.ETP))
	}
	if l.ETP > 1 {
		switch {
		case m.Experts == 0:
			add(field.Errorf("parallelism.etp", "%d needs a mixture-of-experts model (model.experts > 0)", l.ETP).Using("model.experts"))
		case m.ExpertFFN()%l.ETP != 0:
			add(field.Errorf("parallelism.etp", "%d does not divide the expert width model.moe_ffn_hidden (%d)", l.ETP, m.ExpertFFN()).Using("model.moe_ffn_hidden", "model.ffn_hidden"))
		}
		if w := l.TP * l.CP * l.DP * l.PP; l.EP > 0 && (l.ETP*l.EP*l.PP > w || w%(l.ETP*l.EP*l.PP) != 0) {
			add(field.Errorf("parallelism.etp", "etp × ep × pp (%d × %d × %d) does not divide the %d GPUs (the expert sub-mesh is etp × ep × expert-dp × pp)", l.ETP, l.EP, l.PP, w).Using("parallelism.ep", "parallelism.pp", "parallelism.tp", "parallelism.cp", "parallelism.dp"))
		}
	}
	if l.Skew != 0 && !(l.Skew >= 1 && l.Skew <= 1000) {
		add(field.Errorf("moe.skew", "must be from 1 (balanced) to 1000, got %g", l.Skew))
	}
	// Below 1 every expert drops tokens even when the routing is
	// balanced, while the model FLOPs (and so MFU) count every token:
	// 0.2 on Mixtral 8x7B reported an MFU of 1.13, refused only as the
	// report was written, without the key. Switch Transformer (Fedus et
	// al. 2021, Table 1) and Megatron-Core's examples use 1 to 2.
	if l.CapacityFactor != 0 && !(l.CapacityFactor >= 1 && l.CapacityFactor <= 1000) {
		add(field.Errorf("moe.capacity_factor", "must be 0 (dropless) or from 1 to 1000 (below 1 every expert drops tokens even under balanced routing, while the model FLOPs count them), got %g", l.CapacityFactor))
	}
	if l.DispatchFP8 && m.Experts == 0 {
		add(field.Errorf("moe.dispatch_fp8", "needs a mixture-of-experts model (model.experts > 0)").Using("model.experts"))
	} else if l.DispatchFP8 && j.Training.Precision != units.FP8 {
		add(field.Errorf("moe.dispatch_fp8", "FP8 dispatch goes with FP8 training (DeepSeek-V3 quantizes the up-projection's input, which its FP8 GEMM takes); training.precision is %q", j.Training.Precision).Using("training.precision"))
	}
	if l.Dispatcher != "" && !slices.Contains(Dispatchers(), l.Dispatcher) {
		add(field.Errorf("moe.dispatcher", "%q is not a dispatcher (allowed: %s)", l.Dispatcher, field.Quote(Dispatchers())))
	} else if l.Flex() && m.Experts == 0 {
		add(field.Errorf("moe.dispatcher", "\"flex\" needs a mixture-of-experts model (model.experts > 0)").Using("model.experts"))
	} else if l.Flex() && j.Options.Network == NetworkFlow {
		add(field.Errorf("moe.dispatcher", "\"flex\" is priced by the analytic network only: the flow-level network (simulation.network = %q) carries the pairwise exchange; use alltoall there", NetworkFlow).Using("simulation.network"))
	}
	if l.DispatcherSMs < 0 || l.DispatcherSMs > j.Cluster.GPU.SMs {
		add(field.Errorf("moe.dispatcher_sms", "must be between 0 (the default, %d) and the GPU's %d SMs, got %d", DefaultFlexSMs, j.Cluster.GPU.SMs, l.DispatcherSMs).Using("cluster.gpu.sms"))
	}
	if m.Experts == 0 && (l.Skew > 1 || l.CapacityFactor > 0 || l.MoEOverlap) {
		add(field.Errorf("moe.skew", "moe.skew, moe.capacity_factor and moe.overlap need a mixture-of-experts model (model.experts > 0)").Using("model.experts", "moe.capacity_factor", "moe.overlap"))
	}
	if l.SequenceParallel && l.CP > 1 && m.SeqLen%l.CP == 0 && (m.SeqLen/l.CP)%l.TP != 0 {
		add(field.Errorf("parallelism.sequence_parallel", "model.seq_len / cp (%d) is not divisible by tp (%d)", m.SeqLen/l.CP, l.TP).Using("model.seq_len", "parallelism.tp", "parallelism.cp"))
	}
	if l.SequenceParallel && m.SeqLen%l.TP != 0 {
		add(field.Errorf("parallelism.sequence_parallel", "model.seq_len (%d) is not divisible by tp (%d)", m.SeqLen, l.TP).Using("model.seq_len", "parallelism.tp"))
	}
	switch l.Schedule {
	case GPipe, OneFOneB, ZBH1:
		if l.VirtualStages != 1 {
			add(field.Errorf("parallelism.virtual_stages", "%d model chunks need schedule = \"interleaved\" (schedule is %q)", l.VirtualStages, l.Schedule).Using("parallelism.schedule"))
		}
	case Interleaved:
		if l.PP < 2 {
			add(field.Errorf("parallelism.schedule", "\"interleaved\" needs pp ≥ 2").Using("parallelism.pp"))
		}
	case DualPipe:
		// The conditions deepseek-ai/DualPipe's step asserts (dualpipe.go).
		if l.PP < 2 || l.PP%2 != 0 {
			add(field.Errorf("parallelism.schedule", "\"dualpipe\" needs an even pp ≥ 2 (each GPU holds stages s and pp−1−s), got pp = %d", l.PP).Using("parallelism.pp"))
		}
		if l.VirtualStages != 1 {
			add(field.Errorf("parallelism.virtual_stages", "%d model chunks: \"dualpipe\" runs its own two per GPU (stages s and pp−1−s); virtual_stages must be 1", l.VirtualStages).Using("parallelism.schedule"))
		}
		if l.ZeRO > 1 {
			add(field.Errorf("parallelism.zero", "\"dualpipe\" is replayed with ZeRO 0 or 1 (DeepSeek-V3 trains it with ZeRO-1, arXiv:2412.19437 §3.2), got %d", l.ZeRO).Using("parallelism.schedule"))
		}
	default:
		add(field.Errorf("parallelism.schedule", "%q is not a schedule (allowed: %s)", l.Schedule, field.Quote(Schedules())))
	}
	if !slices.Contains(RecomputePolicies(), l.Recompute) {
		add(field.Errorf("parallelism.recompute", "%q is not a policy (allowed: %s)", l.Recompute, field.Quote(RecomputePolicies())))
	}
	if l.Recompute == RecomputeOpSAC {
		// torchtitan's op-level policy as trainsim replays it: a Llama
		// block (dense MLP, standard attention) whose attention is the
		// flash SDPA kernel the policy keeps.
		switch {
		case m.MoE():
			add(field.Errorf("parallelism.recompute", "op_sac is replayed for dense models only (model.experts is %d)", m.Experts).Using("model.experts"))
		case m.MLA():
			add(field.Errorf("parallelism.recompute", "op_sac is replayed for standard attention only (model.kv_lora_rank is %d)", m.KVLoRARank).Using("model.kv_lora_rank"))
		case j.Training.Attention != model.AttentionFlash:
			add(field.Errorf("parallelism.recompute", "op_sac keeps the flash-attention kernel's output: it needs training.attention = %q (it is %q)", model.AttentionFlash, j.Training.Attention).Using("training.attention"))
		}
	}
	if mods, err := model.ParseModules(l.RecomputeModules); err != nil {
		add(field.Errorf("parallelism.recompute_modules", "%v (allowed: %s, separated by commas)", err, field.Quote(model.RecomputeModuleNames())))
	} else if l.RecomputeModules != "" {
		// Megatron-Core reads recompute_modules with the selective
		// granularity only, and refuses moe_act without (grouped) experts
		// and mla_up_proj without multi-latent attention
		// (transformer_config.py __post_init__ @ core_v0.15.0).
		switch {
		case l.Recompute != RecomputeSelective:
			add(field.Errorf("parallelism.recompute_modules", "%q is read with recompute = \"selective\" only (recompute is %q)", l.RecomputeModules, l.Recompute).Using("parallelism.recompute"))
		case mods.Has(model.ModuleMoEAct) && !m.MoE():
			add(field.Errorf("parallelism.recompute_modules", "moe_act needs a mixture-of-experts model (model.experts is %d)", m.Experts).Using("model.experts"))
		case mods.Has(model.ModuleMLAUpProj) && !m.MLA():
			add(field.Errorf("parallelism.recompute_modules", "mla_up_proj needs multi-latent attention (model.kv_lora_rank is 0)").Using("model.kv_lora_rank"))
		}
	}
	if !slices.Contains(ZeROStages(), l.ZeRO) {
		stages := make([]string, len(ZeROStages()))
		for i, s := range ZeROStages() {
			stages[i] = strconv.Itoa(s)
		}
		add(field.Errorf("parallelism.zero", "%d is not a ZeRO stage (allowed: %s)", l.ZeRO, strings.Join(stages, ", ")))
	}
	t := j.Training
	if t.GlobalBatch < 1 {
		add(field.Errorf("training.global_batch", "must be a positive integer, got %d", t.GlobalBatch))
	} else if t.GlobalBatch%(l.DP*l.Microbatch) != 0 {
		add(field.Errorf("training.global_batch", "%d is not divisible by dp × microbatch (%d × %d)", t.GlobalBatch, l.DP, l.Microbatch).
			Using("parallelism.dp", "parallelism.microbatch"))
	} else if mbs := j.Microbatches(); l.Schedule == DualPipe && l.PP >= 2 && (mbs%2 != 0 || mbs < 2*l.PP) {
		add(field.Errorf("training.global_batch", "\"dualpipe\" needs an even micro-batch count of at least 2 × pp (%d), half fed in at each end of the pipeline; global_batch / (dp × microbatch) = %d / (%d × %d) = %d", 2*l.PP, t.GlobalBatch, l.DP, l.Microbatch, mbs).
			Using("parallelism.dp", "parallelism.microbatch", "parallelism.schedule", "parallelism.pp"))
	} else if l.Schedule == Interleaved && j.Microbatches()%l.PP != 0 {
		add(field.Errorf("training.global_batch", "the interleaved schedule needs the micro-batch count (%d) to be a multiple of pp (%d)", j.Microbatches(), l.PP).
			Using("parallelism.dp", "parallelism.microbatch", "parallelism.schedule", "parallelism.pp"))
	}
	if !t.Precision.Valid() {
		add(field.Errorf("training.precision", "%q is not supported (allowed: %s)", t.Precision, field.Quote(units.Precisions())))
	} else if _, ok := j.Cluster.GPU.Peak(t.Precision); !ok {
		add(field.Errorf("training.precision", "%s is not supported by %s", t.Precision, j.Cluster.GPU.Name).
			Using("cluster.gpu.peak", "cluster.gpu.peak_fp8"))
	}
	if f := t.EagerHBMFraction; !(f == 0 || f >= MinFraction && f <= 1) {
		add(field.Errorf("training.eager_hbm_fraction", "must be a fraction in [%g, 1], or 0 for the GPU family's calibration.hbm_fraction, got %g", MinFraction, f))
	}
	if t.HostIssue < 0 || t.HostIssue > MaxKernelOverhead {
		add(field.Errorf("training.host_issue", "%s is outside the physical range 0–%s (0: the GPU family's)", t.HostIssue, MaxKernelOverhead))
	}
	if t.FP8Recipe != "" && !slices.Contains(model.FP8Recipes(), t.FP8Recipe) {
		add(field.Errorf("training.fp8_recipe", "%q is not a recipe (allowed: %s)", t.FP8Recipe, field.Quote(model.FP8Recipes())))
	} else if t.FP8Recipe != "" && t.FP8Recipe != model.FP8Delayed && t.Precision != units.FP8 {
		// A recipe is read only in FP8: named with another precision it would
		// be dropped without a word, as virtual_stages without interleaving is not.
		add(field.Errorf("training.fp8_recipe", "%q is read only when training.precision = \"fp8\" (precision is %q); set precision = \"fp8\" or leave the recipe out", t.FP8Recipe, t.Precision).
			Using("training.precision"))
	}
	if t.FP8Param && t.Precision != units.FP8 {
		add(field.Errorf("training.fp8_param", "FP8 parameters are read only when training.precision = \"fp8\" (precision is %q); set precision = \"fp8\" or leave fp8_param out", t.Precision).
			Using("training.precision"))
	}
	if !slices.Contains(model.Attentions(), t.Attention) {
		add(field.Errorf("training.attention", "%q is not an implementation (allowed: %s)", t.Attention, field.Quote(model.Attentions())))
	}
	if t.FlashKernel != "" && !slices.Contains(model.FlashKernels(), t.FlashKernel) {
		add(field.Errorf("training.flash_kernel", "%q is not a flash-attention kernel (allowed: %s)", t.FlashKernel, field.Quote(model.FlashKernels())))
	}
	if t.Tokens < 0 {
		add(field.Errorf("training.tokens", "must not be negative, got %g", t.Tokens))
	} else if t.Tokens > MaxTokens {
		add(field.Errorf("training.tokens", "%g is outside the physical range 0–%g (the largest published runs train a few times 1e13)", t.Tokens, MaxTokens))
	}
	if t.Steps < 1 {
		add(field.Errorf("training.steps", "must be a positive integer, got %d", t.Steps))
	}
	// The tasks the replay builds at first: with the periodic replay of
	// steps, two of them (runPlan bounds a full replay again if that one
	// falls back).
	if n := j.BuiltReplayTasks(); n > MaxReplayTasks {
		add(replayTooLarge(j, n))
	} else if n := j.ReplayTasks(); n > MaxPeriodicTasks && j.stepsPeriodic(1) {
		add(field.Errorf("training.steps", "%d steps stand for about %.3g tasks, more than the %.3g a periodic replay may stand for (the steps after the second are not unrolled, but each adds its sums again, in order: about a ninth of the work of replaying it); use fewer training.steps", t.Steps, n, float64(MaxPeriodicTasks)).
			Using("training.global_batch", "parallelism.pp", "parallelism.dp", "parallelism.microbatch", "parallelism.virtual_stages", "model.layers"))
	}
	if !slices.Contains(Networks(), j.Options.Network) {
		add(field.Errorf("simulation.network", "%q is not a fidelity (allowed: %s)", j.Options.Network, field.Quote(Networks())))
	}
	if a := j.Options.AllReduce; a != "" && !slices.Contains(collective.Algorithms(), a) {
		add(field.Errorf("simulation.allreduce", "%q is not an algorithm (allowed: %s)", a, field.Quote(collective.Algorithms())))
	}
	if c := j.Cluster; j.Options.Network == NetworkFlow && c.Network.File == "" && c.GPUsPerNode > 0 && c.Network.NICsPerNode > c.GPUsPerNode {
		// The flow graph attaches GPU i to the one NIC i × nics ÷ gpus
		// (topology.Build), so the NICs no GPU lands on would carry
		// nothing, while the analytical network gives each GPU
		// nics ÷ gpus NICs' bandwidth: the two would disagree silently.
		add(field.Errorf("cluster.network.nics_per_node", "%d NICs per node for %d GPUs (cluster.gpus_per_node): the flow-level network (simulation.network = %q) attaches each GPU to one NIC, so %d of them would carry nothing; give at most %d NICs per node, or use simulation.network = %q, which splits all %d NICs' bandwidth over the GPUs",
			c.Network.NICsPerNode, c.GPUsPerNode, NetworkFlow, c.Network.NICsPerNode-c.GPUsPerNode, c.GPUsPerNode, NetworkAnalytical, c.Network.NICsPerNode).
			Using("cluster.gpus_per_node", "simulation.network"))
	}
	if f := j.Cluster.Network.File; f != "" {
		if j.Options.Network != NetworkFlow {
			add(field.Errorf("cluster.network.file", "an explicit topology is used by the flow-level network only; set simulation.network = \"flow\"").Using("simulation.network"))
		} else if g := j.Options.Graph; g != nil && g.GPUs() != j.Cluster.GPUs() {
			add(field.Errorf("cluster.network.file", "%s has %d GPUs, the cluster %d (cluster.nodes × gpus_per_node)", f, g.GPUs(), j.Cluster.GPUs()).
				Using("cluster.nodes", "cluster.gpus_per_node"))
		}
	}
	cal := j.Calibration
	for _, f := range []struct {
		key string
		v   *float64
	}{{"calibration.gemm_peak_fraction", cal.GEMMPeakFraction}, {"calibration.hbm_fraction", cal.HBMFraction}, {"calibration.flash_fraction", cal.FlashFraction}} {
		if f.v != nil && !(*f.v >= MinFraction && *f.v <= 1) {
			add(field.Errorf(f.key, "must be a fraction in [%g, 1], got %g", MinFraction, *f.v))
		}
	}
	if cal.CommSMs != nil && (*cal.CommSMs < 0 || *cal.CommSMs > j.Cluster.GPU.SMs) {
		add(field.Errorf("calibration.comm_sms", "must be between 0 and the GPU's %d SMs, got %d", j.Cluster.GPU.SMs, *cal.CommSMs).Using("cluster.gpu.sms"))
	}
	if bw := cal.NVLinkBusBandwidth; bw != nil && !(*bw >= MinBusBandwidth && *bw <= j.Cluster.NVLink.Bandwidth) {
		add(field.Errorf("calibration.nvlink_busbw", "must be at least %s and at most the NVLink rate (%s), got %s", MinBusBandwidth, j.Cluster.NVLink.Bandwidth, *bw).Using("cluster.nvlink.bandwidth"))
	}
	if bw := cal.NICBusBandwidth; bw != nil && !(*bw >= MinBusBandwidth && *bw <= j.Cluster.Network.NICBandwidth) {
		add(field.Errorf("calibration.nic_busbw", "must be at least %s and at most the NIC rate (%s), got %s", MinBusBandwidth, j.Cluster.Network.NICBandwidth, *bw).Using("cluster.network.nic_bandwidth"))
	}
	if o := cal.KernelOverhead; o != nil && !(*o >= 0 && *o <= MaxKernelOverhead) {
		add(field.Errorf("calibration.kernel_overhead", "%s is outside the physical range 0–%s", *o, MaxKernelOverhead))
	}
	for i, g := range cal.GEMMs {
		peak, _ := j.Cluster.GPU.Peak(j.Training.Precision)
		if g.Batch < 1 || g.M < 1 || g.N < 1 || g.K < 1 || !(g.Rate > 0) || (peak > 0 && g.Rate > peak) {
			add(field.Errorf("calibration.gemm", "entry %d needs positive batch, m, n, k and a rate up to the %s peak (%s), got %+v", i+1, j.Training.Precision, peak, g).
				Using("training.precision", "cluster.gpu.peak", "cluster.gpu.peak_fp8"))
		}
	}
	if !slices.Contains(RankModes(), j.Options.Ranks) {
		add(field.Errorf("simulation.ranks", "%q is not a mode (allowed: %s)", j.Options.Ranks, field.Quote(RankModes())))
	}
	v := j.Variation
	if !(v.SlowFraction >= 0 && v.SlowFraction <= 1) {
		add(field.Errorf("job.straggler_fraction", "must be a fraction in [0, 1], got %g", v.SlowFraction))
	}
	if !(v.Slowdown >= 0 && v.Slowdown <= 100) {
		add(field.Errorf("job.straggler_slowdown", "must be from 0 to 100 (kernels 101 times as long), got %g", v.Slowdown))
	} else if v.SlowFraction > 0 && v.Slowdown == 0 {
		add(field.Errorf("job.straggler_slowdown", "must be positive when job.straggler_fraction is (%g): how much longer a slow GPU's kernels take, e.g. 0.2", v.SlowFraction).Using("job.straggler_fraction"))
	}
	if !(v.LinkFraction >= 0 && v.LinkFraction <= 1) {
		add(field.Errorf("job.slow_link_fraction", "must be a fraction in [0, 1], got %g", v.LinkFraction))
	}
	if !(v.LinkSlowdown >= 0 && v.LinkSlowdown <= 100) {
		add(field.Errorf("job.slow_link_slowdown", "must be from 0 to 100, got %g", v.LinkSlowdown))
	} else if v.LinkFraction > 0 && v.LinkSlowdown == 0 {
		add(field.Errorf("job.slow_link_slowdown", "must be positive when job.slow_link_fraction is (%g): how much longer a collective through a slow NIC takes, e.g. 1 for twice as long", v.LinkFraction).Using("job.slow_link_fraction"))
	}
	if v.links() && j.Options.Network == NetworkFlow {
		add(field.Errorf("job.slow_link_fraction", "slow links are modelled with simulation.network = %q only (flow mode would slow the links' capacity; not built yet)", NetworkAnalytical).Using("simulation.network"))
	}
	if !(v.Spread >= 0 && v.Spread <= 1) {
		add(field.Errorf("job.straggler_spread", "must be from 0 to 1 (σ of the log-normal factor), got %g", v.Spread))
	}
	return errs
}
