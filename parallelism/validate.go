package parallelism

import (
	"fmt"

	"trainsim/collective"
	"trainsim/model"
)

// Validate checks divisibility and ranges, returning every problem found. Each
// error starts with the dotted scenario key it concerns ("parallelism.tp: ...")
// so that callers can point at the line that set it.
func (j Job) Validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	l, m := j.Layout, j.Model
	for _, f := range []struct {
		key string
		v   int
	}{{"parallelism.tp", l.TP}, {"parallelism.pp", l.PP}, {"parallelism.dp", l.DP}, {"parallelism.cp", l.CP}, {"parallelism.ep", l.EP}, {"parallelism.microbatch", l.Microbatch}, {"parallelism.virtual_stages", l.VirtualStages}} {
		if f.v < 1 {
			add("%s: must be a positive integer, got %d", f.key, f.v)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	gpus := j.Cluster.GPUs()
	if l.TP*l.PP*l.DP*l.CP != gpus {
		add("parallelism: tp(%d) × pp(%d) × dp(%d) × cp(%d) = %d ≠ %d GPUs (cluster.nodes × gpus_per_node)", l.TP, l.PP, l.DP, l.CP, l.TP*l.PP*l.DP*l.CP, gpus)
	}
	if m.Heads > 0 && m.Heads%l.TP != 0 {
		add("parallelism.tp: %d does not divide model.heads (%d)", l.TP, m.Heads)
	}
	if m.KVHeads > 0 && m.KVHeads != m.Heads && (l.TP > m.KVHeads && l.TP%m.KVHeads != 0 || l.TP <= m.KVHeads && m.KVHeads%l.TP != 0) {
		add("parallelism.tp: %d is neither a divisor nor a multiple of model.kv_heads (%d)", l.TP, m.KVHeads)
	}
	if m.FFNHidden > 0 && m.FFNHidden%l.TP != 0 {
		add("parallelism.tp: %d does not divide model.ffn_hidden (%d)", l.TP, m.FFNHidden)
	}
	if m.Layers > 0 && m.Layers < l.PP*l.VirtualStages {
		add("parallelism.pp: model.layers (%d) is fewer than pp × virtual_stages (%d × %d): a pipeline stage would hold no layer", m.Layers, l.PP, l.VirtualStages)
	}
	if l.CP > 1 && m.SeqLen%(2*l.CP) != 0 {
		add("parallelism.cp: model.seq_len (%d) is not divisible by 2 × cp (%d)", m.SeqLen, 2*l.CP)
	}
	if l.CP > 1 {
		add("parallelism.cp: context parallelism is not supported yet (allowed: 1)")
	}
	if l.EP > 1 || m.Experts > 0 {
		add("model.experts: mixture-of-experts models are not supported yet (allowed: experts = 0, parallelism.ep = 1)")
	}
	if l.SequenceParallel && m.SeqLen%l.TP != 0 {
		add("parallelism.sequence_parallel: model.seq_len (%d) is not divisible by tp (%d)", m.SeqLen, l.TP)
	}
	switch l.Schedule {
	case GPipe, OneFOneB:
		if l.VirtualStages != 1 {
			add("parallelism.virtual_stages: %d model chunks need schedule = \"interleaved\" (schedule is %q)", l.VirtualStages, l.Schedule)
		}
	case Interleaved:
		if l.PP < 2 {
			add("parallelism.schedule: \"interleaved\" needs pp ≥ 2")
		}
	default:
		add("parallelism.schedule: %q is not a schedule (allowed: \"gpipe\", \"1f1b\", \"interleaved\")", l.Schedule)
	}
	switch l.Recompute {
	case RecomputeNone, RecomputeSelective, RecomputeFull:
	default:
		add("parallelism.recompute: %q is not a policy (allowed: \"none\", \"selective\", \"full\")", l.Recompute)
	}
	if l.ZeRO < 0 || l.ZeRO > 3 {
		add("parallelism.zero: %d is not a ZeRO stage (allowed: 0, 1, 2, 3)", l.ZeRO)
	}
	t := j.Training
	if t.GlobalBatch < 1 {
		add("training.global_batch: must be a positive integer, got %d", t.GlobalBatch)
	} else if t.GlobalBatch%(l.DP*l.Microbatch) != 0 {
		add("training.global_batch: %d is not divisible by dp × microbatch (%d × %d)", t.GlobalBatch, l.DP, l.Microbatch)
	} else if l.Schedule == Interleaved && j.Microbatches()%l.PP != 0 {
		add("training.global_batch: the interleaved schedule needs the micro-batch count (%d) to be a multiple of pp (%d)", j.Microbatches(), l.PP)
	}
	if !t.Precision.Valid() {
		add("training.precision: %q is not supported (allowed: \"fp16\", \"bf16\", \"fp8\")", t.Precision)
	} else if _, ok := j.Cluster.GPU.Peak(t.Precision); !ok {
		add("training.precision: %s is not supported by %s", t.Precision, j.Cluster.GPU.Name)
	}
	if t.Attention != model.AttentionUnfused && t.Attention != model.AttentionFlash {
		add("training.attention: %q is not an implementation (allowed: %q, %q)", t.Attention, model.AttentionUnfused, model.AttentionFlash)
	}
	if t.Tokens < 0 {
		add("training.tokens: must not be negative, got %g", t.Tokens)
	}
	if t.Steps < 1 {
		add("training.steps: must be a positive integer, got %d", t.Steps)
	}
	if n := j.ReplayTasks(); n > MaxReplayTasks {
		key := "training.global_batch"
		if t.Steps > 1 {
			key = "training.steps"
		}
		add("%s: the replay would unroll about %.3g tasks (steps × pipeline stages × micro-batches × model chunks × a dozen per layer), more than the %d one run may take (about 2.3 GB of memory); use fewer training.steps, a smaller global batch per pipeline or a larger micro-batch", key, n, MaxReplayTasks)
	}
	if j.Options.Network != NetworkAnalytical && j.Options.Network != NetworkFlow {
		add("simulation.network: %q is not a fidelity (allowed: %q, %q)", j.Options.Network, NetworkAnalytical, NetworkFlow)
	}
	switch j.Options.AllReduce {
	case "", collective.AlgorithmAuto, collective.AlgorithmRing, collective.AlgorithmTree:
	default:
		add("simulation.allreduce: %q is not an algorithm (allowed: %q, %q, %q)", j.Options.AllReduce, collective.AlgorithmAuto, collective.AlgorithmRing, collective.AlgorithmTree)
	}
	if f := j.Cluster.Network.File; f != "" {
		if j.Options.Network != NetworkFlow {
			add("cluster.network.file: an explicit topology is used by the flow-level network only; set simulation.network = \"flow\"")
		} else if g := j.Options.Graph; g != nil && g.GPUs() != j.Cluster.GPUs() {
			add("cluster.network.file: %s has %d GPUs, the cluster %d (cluster.nodes × gpus_per_node)", f, g.GPUs(), j.Cluster.GPUs())
		}
	}
	cal := j.Calibration
	for _, f := range []struct {
		key string
		v   *float64
	}{{"calibration.gemm_peak_fraction", cal.GEMMPeakFraction}, {"calibration.hbm_fraction", cal.HBMFraction}, {"calibration.flash_fraction", cal.FlashFraction}} {
		if f.v != nil && !(*f.v > 0 && *f.v <= 1) {
			add("%s: must be a fraction in (0, 1], got %g", f.key, *f.v)
		}
	}
	if cal.CommSMs != nil && (*cal.CommSMs < 0 || *cal.CommSMs > j.Cluster.GPU.SMs) {
		add("calibration.comm_sms: must be between 0 and the GPU's %d SMs, got %d", j.Cluster.GPU.SMs, *cal.CommSMs)
	}
	if bw := cal.NVLinkBusBandwidth; bw != nil && !(*bw > 0 && *bw <= j.Cluster.NVLink.Bandwidth) {
		add("calibration.nvlink_busbw: must be positive and at most the NVLink rate (%s), got %s", j.Cluster.NVLink.Bandwidth, *bw)
	}
	if bw := cal.NICBusBandwidth; bw != nil && !(*bw > 0 && *bw <= j.Cluster.Network.NICBandwidth) {
		add("calibration.nic_busbw: must be positive and at most the NIC rate (%s), got %s", j.Cluster.Network.NICBandwidth, *bw)
	}
	for i, g := range cal.GEMMs {
		peak, _ := j.Cluster.GPU.Peak(j.Training.Precision)
		if g.Batch < 1 || g.M < 1 || g.N < 1 || g.K < 1 || !(g.Rate > 0) || (peak > 0 && g.Rate > peak) {
			add("calibration.gemm: entry %d needs positive batch, m, n, k and a rate up to the %s peak (%s), got %+v", i+1, j.Training.Precision, peak, g)
		}
	}
	if j.Options.Ranks != RanksFull && j.Options.Ranks != RanksSymmetric {
		add("simulation.ranks: %q is not a mode (allowed: %q, %q)", j.Options.Ranks, RanksSymmetric, RanksFull)
	}
	return errs
}
