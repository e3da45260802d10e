package parallelism

import (
	"fmt"
	"math"

	"trainsim/collective"
	"trainsim/compute"
	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// Schedule is a pipeline schedule.
type Schedule string

// The pipeline schedules trainsim replays.
const (
	GPipe       Schedule = "gpipe"
	OneFOneB    Schedule = "1f1b"
	Interleaved Schedule = "interleaved"
)

// Recompute is an activation recomputation policy (Korthikanti et al. 2022).
type Recompute string

// The recomputation policies.
const (
	RecomputeNone      Recompute = "none"
	RecomputeSelective Recompute = "selective" // re-run the attention core only
	RecomputeFull      Recompute = "full"      // re-run each layer's forward
)

// Layout is how a training job is split over the GPUs.
type Layout struct {
	TP, PP, DP, CP, EP int
	// Microbatch is the micro-batch size in sequences.
	Microbatch int
	Schedule   Schedule
	// VirtualStages is the number of model chunks per GPU (interleaved schedule).
	VirtualStages    int
	SequenceParallel bool
	Recompute        Recompute
	// ZeRO is the optimizer-sharding stage: 0 none, 1 optimizer state (the
	// distributed optimizer), 2 also gradients, 3 also parameters.
	ZeRO int
	// OverlapGradReduce overlaps the data-parallel gradient reduction with the
	// backward pass of the last micro-batch.
	OverlapGradReduce bool
	// TPOverlap overlaps tensor-parallel communication with GEMMs.
	TPOverlap bool
	// PPOverlap runs pipeline sends beside computation; when false a stage
	// waits for its own sends, as Megatron-LM did until 2022 (it called
	// torch.cuda.synchronize() after each batch of point-to-point ops).
	PPOverlap bool
	// NoPPScatterGather sends whole activations between pipeline stages from
	// every TP rank, as Megatron-Core does since 2023; false, the default,
	// is Megatron-LM's scatter/gather (a 1/t slice each, all-gathered over
	// NVLink by the receiver). Without TP or with sequence parallelism the
	// two are the same. Scenario key parallelism.pp_scatter_gather (its
	// negation).
	NoPPScatterGather bool
}

// Training is what one optimizer step and the whole run process.
type Training struct {
	GlobalBatch int // sequences per step
	Precision   units.Precision
	// UnfusedGradAccum adds each weight gradient into the fp32 gradient
	// buffer with a separate kernel per weight and micro-batch, as
	// Megatron-LM did before --gradient-accumulation-fusion (2021); false,
	// the default, lets the weight-gradient GEMM accumulate into the buffer.
	// Scenario key training.grad_accum_fusion (its negation).
	UnfusedGradAccum bool
	// Grads16 keeps gradients in 16 bit: the gradient buffer, its
	// accumulation and the data-parallel reduction (Megatron-LM's default
	// with --fp16 unless --accumulate-allreduce-grads-in-fp32 is given;
	// it forces fp32 with bf16). False, the default, keeps them in fp32.
	// Scenario key training.fp32_grads (its negation).
	Grads16 bool
	Tokens  float64 // tokens of the whole run, for time-to-train
	Steps   int     // steps replayed event by event
	// Attention is how the attention core runs: model.AttentionUnfused or
	// model.AttentionFlash.
	Attention model.Attention
}

// Network fidelities.
const (
	NetworkAnalytical = "analytical"
	NetworkFlow       = "flow"
)

// Rank modes.
const (
	RanksSymmetric = "symmetric"
	RanksFull      = "full"
)

// Options selects how the replay is done.
type Options struct {
	// Network is NetworkAnalytical or NetworkFlow.
	Network string
	// Ranks is RanksSymmetric or RanksFull.
	Ranks string
	// AllReduce forces the all-reduce algorithm: "auto" (the cheaper of
	// ring and tree per call, as NCCL's tuner does), "ring" or "tree".
	AllReduce string
	// Graph is the explicit topology loaded from Cluster.Network.File, for
	// the flow-level network; nil builds one from the cluster's template.
	Graph *topology.Graph
	// Timeline asks Simulate to return every task's interval (for traces).
	Timeline bool
	// Seed seeds every random draw of the replay (which GPUs are slow): the
	// scenario's seed.
	Seed uint64
}

// Calibration replaces the generic kernel and NCCL efficiencies with a
// site's own measurements. Nil fields keep the documented defaults.
type Calibration struct {
	// GEMMPeakFraction is the share of the dense peak a large GEMM sustains
	// (measured, e.g., with a cuBLAS benchmark at the training's shapes).
	GEMMPeakFraction *float64
	// HBMFraction is the share of the HBM bandwidth a streaming kernel reaches.
	HBMFraction *float64
	// FlashFraction is the share of the dense peak flash attention sustains.
	FlashFraction *float64
	// KernelOverhead is the fixed cost of one kernel launch.
	KernelOverhead *units.Seconds
	// CommSMs is how many SMs overlapped communication takes from compute.
	CommSMs *int
	// NVLinkBusBandwidth is the nccl-tests all-reduce bus bandwidth of a
	// large message inside one node.
	NVLinkBusBandwidth *units.Bandwidth
	// NICBusBandwidth is the bus bandwidth one NIC sustains across nodes
	// (nccl-tests across nodes, divided by the NICs a rank uses).
	NICBusBandwidth *units.Bandwidth
	// GEMMs are measured GEMM throughputs at the training precision; they
	// correct the efficiency curve near the measured shapes.
	GEMMs []compute.MeasuredGEMM
	// File names a calibration file (the scenario's calibration.file) whose
	// values were merged under the scenario's own; informational here, the
	// loader at the edge reads it.
	File string
}

// Over returns c with every value c leaves unset taken from base: a site's
// calibration file under a scenario's own [calibration] keys. A scenario
// that lists measured GEMMs replaces the file's list rather than adding to it.
func (c Calibration) Over(base Calibration) Calibration {
	pick := func(a, b *float64) *float64 {
		if a != nil {
			return a
		}
		return b
	}
	out := c
	out.GEMMPeakFraction = pick(c.GEMMPeakFraction, base.GEMMPeakFraction)
	out.HBMFraction = pick(c.HBMFraction, base.HBMFraction)
	out.FlashFraction = pick(c.FlashFraction, base.FlashFraction)
	if out.KernelOverhead == nil {
		out.KernelOverhead = base.KernelOverhead
	}
	if out.CommSMs == nil {
		out.CommSMs = base.CommSMs
	}
	if out.NVLinkBusBandwidth == nil {
		out.NVLinkBusBandwidth = base.NVLinkBusBandwidth
	}
	if out.NICBusBandwidth == nil {
		out.NICBusBandwidth = base.NICBusBandwidth
	}
	if out.GEMMs == nil {
		out.GEMMs = base.GEMMs
	}
	return out
}

// Set reports whether any calibration value is given.
func (c Calibration) Set() bool {
	return c.GEMMPeakFraction != nil || c.HBMFraction != nil || c.FlashFraction != nil ||
		c.KernelOverhead != nil || c.CommSMs != nil || c.NVLinkBusBandwidth != nil ||
		c.NICBusBandwidth != nil || len(c.GEMMs) > 0
}

// Job is everything the replay needs: what is trained, on what, how it is split.
type Job struct {
	Model       model.Config
	Cluster     topology.Cluster
	Layout      Layout
	Training    Training
	Options     Options
	Calibration Calibration
	// Variation is how GPUs differ in speed (stragglers).
	Variation Variation
}

// LayersOf returns how many transformer layers virtual stage vs (chunk c of
// stage s is vs = c·pp + s) holds. When the layers do not divide evenly,
// the remainder goes one each to the virtual stages after the first, which
// also holds the embedding, as uneven Megatron-DeepSpeed and Megatron-Core
// partitions lighten the stages with extra work.
func (j Job) LayersOf(vs int) int {
	n := j.Layout.PP * j.Layout.VirtualStages
	base, extra := j.Model.Layers/n, j.Model.Layers%n
	if extra > 0 && vs >= 1 && vs <= extra {
		return base + 1
	}
	return base
}

// stageLayers returns the layers a GPU of stage s holds over all its chunks.
func (j Job) stageLayers(s int) int {
	total := 0
	for c := 0; c < j.Layout.VirtualStages; c++ {
		total += j.LayersOf(c*j.Layout.PP + s)
	}
	return total
}

// Microbatches returns the number of micro-batches per pipeline per step.
func (j Job) Microbatches() int {
	return j.Training.GlobalBatch / (j.Layout.DP * j.Layout.Microbatch)
}

// MaxReplayTasks bounds the task graph one replay may unroll. At about 230
// bytes per task (the default scenario: 234k tasks in 53 MB) it keeps a
// replay near 2.3 GB, 43 times the default; a larger job is refused by
// Validate, before any allocation, instead of running the machine out of
// memory.
const MaxReplayTasks = 10_000_000

// ReplayTasks estimates the tasks a replay of j unrolls: per step, per
// replayed pipeline stage, per micro-batch and model chunk, a dozen per
// layer plus a few per pass. It is computed in floating point so that no
// size overflows.
func (j Job) ReplayTasks() float64 {
	l := j.Layout
	if l.PP < 1 || l.VirtualStages < 1 || l.DP < 1 || l.Microbatch < 1 {
		return 0
	}
	reps := 1.0
	if j.Options.Ranks == RanksFull || j.Variation.Set() {
		reps = float64(l.DP)
	}
	chunks := float64(l.PP) * float64(l.VirtualStages)
	layers := math.Ceil(float64(j.Model.Layers) / chunks)
	m := float64(j.Training.GlobalBatch) / (float64(l.DP) * float64(l.Microbatch))
	return float64(max(1, j.Training.Steps)) * reps * float64(l.PP) * m * float64(l.VirtualStages) * (4 + 12*layers)
}

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
