package report

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"trainsim/job"
	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/rl"
	"trainsim/topology"
	"trainsim/units"
)

// Comm is one kind of communication of the reported GPU per step.
type Comm struct {
	TotalS   float64 `json:"total_s"`
	ExposedS float64 `json:"exposed_s"`
	Bytes    float64 `json:"bytes"`
}

// Memory is the memory of the busiest GPU, in bytes.
type Memory struct {
	Peak        float64 `json:"peak"`
	Weights     float64 `json:"weights"`
	Gradients   float64 `json:"gradients"`
	Optimizer   float64 `json:"optimizer"`
	Activations float64 `json:"activations"`
	Transient   float64 `json:"transient"`
	Stage       int     `json:"stage"`
	HBM         float64 `json:"hbm"`
}

// Link is one link tier's, or one link's, load in one step.
type Link struct {
	Tier         string  `json:"tier"`
	Link         string  `json:"link,omitempty"`
	Bytes        float64 `json:"bytes"`
	BusyFraction float64 `json:"busy_fraction"`
	// SaturatedFraction is the share of the step the link ran at capacity
	// (flow mode).
	SaturatedFraction float64 `json:"saturated_fraction,omitempty"`
}

// Bottleneck names the resource that bounds the step.
type Bottleneck struct {
	// Resource is "compute", "hbm", "nvlink", "pcie", "nic", "leaf-spine"
	// or "pipeline-bubble".
	Resource string `json:"resource"`
	// Share is the part of the step it accounts for.
	Share float64 `json:"share"`
	Why   string  `json:"why"`
	// Help says what would shorten the step, read from the breakdown and
	// the layout: the levers on the bottleneck's share of the step.
	Help string `json:"help"`
}

// Breakdown is the reported GPU's step split by where the time went, in seconds.
type Breakdown struct {
	ComputeS   float64 `json:"compute_s"`
	RecomputeS float64 `json:"recompute_s"`
	TPS        float64 `json:"tp_exposed_s"`
	PPS        float64 `json:"pp_exposed_s"`
	DPS        float64 `json:"dp_exposed_s"`
	// CPS is exposed context-parallel communication; omitted without it.
	CPS float64 `json:"cp_exposed_s,omitempty"`
	// EPS is exposed expert-parallel communication; omitted without it.
	EPS        float64 `json:"ep_exposed_s,omitempty"`
	OptimizerS float64 `json:"optimizer_s"`
	BubbleS    float64 `json:"bubble_s"`
	TensorS    float64 `json:"tensor_core_s"`
	HBMS       float64 `json:"hbm_bound_s"`
	Stage      int     `json:"stage"`
}

// Layout echoes the resolved parallel layout.
type Layout struct {
	TP               int    `json:"tp"`
	PP               int    `json:"pp"`
	DP               int    `json:"dp"`
	CP               int    `json:"cp"`
	EP               int    `json:"ep"`
	Microbatch       int    `json:"microbatch"`
	Microbatches     int    `json:"microbatches"`
	Schedule         string `json:"schedule"`
	VirtualStages    int    `json:"virtual_stages"`
	SequenceParallel bool   `json:"sequence_parallel"`
	Recompute        string `json:"recompute"`
	// RecomputeModules is, with selective recomputation, the modules it
	// re-runs (parallelism.recompute_modules); omitted for the default,
	// the attention core.
	RecomputeModules  string `json:"recompute_modules,omitempty"`
	ZeRO              int    `json:"zero"`
	OverlapGradReduce bool   `json:"overlap_grad_reduce"`
	TPOverlap         bool   `json:"tp_overlap"`
	// AsyncTPAllReduce: each column-parallel layer's input-gradient
	// all-reduce beside its weight-gradient GEMM
	// (parallelism.async_tp_allreduce); omitted when false. Its effect is
	// in breakdown.tp_exposed_s (the hidden part stays in comm.tp.total_s).
	AsyncTPAllReduce bool `json:"async_tp_allreduce,omitempty"`
	// ZeRO1AllReduce: ZeRO-1's gradients all-reduced instead of
	// reduce-scattered (parallelism.zero1_allreduce); omitted when false.
	// Its time is in breakdown.dp_exposed_s and comm.dp.
	ZeRO1AllReduce bool `json:"zero1_allreduce,omitempty"`
	// ZeROFP32Reduce: ZeRO-2/3's per-micro-batch reduce-scatter in fp32
	// (parallelism.zero_fp32_reduce, PyTorch FSDP's reduce_dtype float32);
	// omitted when false. Its time is in breakdown.dp_exposed_s and comm.dp.
	ZeROFP32Reduce bool `json:"zero_fp32_reduce,omitempty"`
	// ZeRO3RankLoops: DeepSpeed 2021's per-rank host loops in every ZeRO-3
	// gather and reduce-scatter (parallelism.zero3_rank_loops); omitted
	// when false. Its time is in breakdown.dp_exposed_s and comm.dp.
	ZeRO3RankLoops  bool `json:"zero3_rank_loops,omitempty"`
	PPOverlap       bool `json:"pp_overlap"`
	PPScatterGather bool `json:"pp_scatter_gather"`
	// MoE is the mixture-of-experts layout; omitted for a dense model.
	MoE *MoELayout `json:"moe,omitempty"`
	// PipelineLayout is the per-stage placement the scenario gave
	// (parallelism.pipeline_layout); StageLayers the transformer layers of
	// each virtual stage (chunk c of stage s at c·pp + s) and MTPDepth the
	// multi-token-prediction modules the last one runs besides. StageLayers
	// is omitted where the layers divide evenly, with no layout and no MTP.
	PipelineLayout string `json:"pipeline_layout,omitempty"`
	StageLayers    []int  `json:"stage_layers,omitempty"`
	MTPDepth       int    `json:"mtp_depth,omitempty"`
}

// MoELayout echoes the expert layout of a mixture-of-experts model.
type MoELayout struct {
	Experts int `json:"experts"`
	TopK    int `json:"top_k"`
	// ETP is the expert tensor-parallel degree, ExpertDP the expert
	// data-parallel degree GPUs ÷ (etp × ep × pp).
	ETP            int     `json:"etp"`
	ExpertDP       int     `json:"expert_dp"`
	Skew           float64 `json:"skew"`
	CapacityFactor float64 `json:"capacity_factor"`
	Overlap        bool    `json:"overlap"`
	// DispatchFP8: the dispatch and the combine's gradient sent in FP8
	// (moe.dispatch_fp8).
	DispatchFP8 bool `json:"dispatch_fp8,omitempty"`
	// Dispatcher is "flex" under the node-level dispatcher (moe.dispatcher;
	// empty: NCCL's all-to-all); DispatcherSMs the SMs its kernels take,
	// EPNodes the nodes one expert-parallel group spans on the device mesh
	// and DestinationNodes the expected distinct nodes of those a token's
	// routed copies reach: the figures the all-to-all is priced with
	// (parallelism.Job.FlexSpan; the widest pipeline stage's).
	Dispatcher       string  `json:"dispatcher,omitempty"`
	DispatcherSMs    int     `json:"dispatcher_sms,omitempty"`
	EPNodes          int     `json:"ep_nodes,omitempty"`
	DestinationNodes float64 `json:"destination_nodes,omitempty"`
	// DispatchSyncS is the host's wait before each MoE layer's dispatch,
	// per layer and forward pass: the GPU idle while the host waits for the
	// token counts and issues the dispatch (parallelism.Job.DispatchSync,
	// docs/model.md §7.47). It is in breakdown.compute_s (recompute_s
	// where the forward is re-run) and, as all host waits, hbm_bound_s.
	DispatchSyncS float64 `json:"dispatch_sync_s"`
	// ActiveParams is the parameters one token uses.
	ActiveParams float64 `json:"active_params"`
}

// Training echoes the resolved [training] choices the replay depended on (an
// addition to the report's fixed field contract, docs/scenario.md).
type Training struct {
	GlobalBatch     int    `json:"global_batch"`
	Precision       string `json:"precision"`
	Attention       string `json:"attention"`
	GradAccumFusion bool   `json:"grad_accum_fusion"`
	FP32Grads       bool   `json:"fp32_grads"`
	// EagerElementwise: the element-wise work ran as Hugging Face's eager
	// modules (training.eager_elementwise); omitted when false.
	EagerElementwise bool `json:"eager_elementwise,omitempty"`
	// EagerCrossEntropy: the loss ran as PyTorch's eager cross-entropy on
	// fp32 logits (training.eager_cross_entropy), which memory counts at
	// the last stage; omitted when false.
	EagerCrossEntropy bool `json:"eager_cross_entropy,omitempty"`
	// PPKeepOutputs: every pipeline stage kept each micro-batch's output
	// until the step's end (training.pp_keep_outputs), counted in memory;
	// omitted when false.
	PPKeepOutputs bool `json:"pp_keep_outputs,omitempty"`
	// FP8Param: the linear weights kept in FP8 only and all-gathered in
	// FP8 (training.fp8_param), counted in memory_per_gpu_bytes.weights
	// and the data-parallel all-gather; omitted when false.
	FP8Param bool `json:"fp8_param,omitempty"`
	// MegatronElementwise: Megatron-LM's unmerged element-wise kernels
	// added (training.megatron_elementwise); GradAccumCast: the fp32
	// gradient accumulated through a cast (training.grad_accum_cast). Both
	// omitted when false; their kernels are in breakdown.compute_s (and
	// recompute_s), memory-bound: breakdown.hbm_bound_s.
	MegatronElementwise bool `json:"megatron_elementwise,omitempty"`
	GradAccumCast       bool `json:"grad_accum_cast,omitempty"`
	// EagerHBMFraction is the HBM share the scenario gave the kernels
	// PyTorch launches on its own (training.eager_hbm_fraction); omitted
	// for 0, the family's calibration.hbm_fraction. Their time is in
	// breakdown.compute_s (and recompute_s), memory-bound: hbm_bound_s.
	EagerHBMFraction float64 `json:"eager_hbm_fraction,omitempty"`
	// HostIssueS is the host time per kernel launch the scenario set
	// (training.host_issue); omitted for 0, the GPU family's.
	HostIssueS float64 `json:"host_issue_s,omitempty"`
	// FlashKernel is the flash-attention kernel the scenario named
	// (training.flash_kernel); omitted for the family's fused kernel.
	FlashKernel string `json:"flash_kernel,omitempty"`
}

// flashKernel is the report's flash_kernel: "" for the family's fused
// kernel, the default.
func flashKernel(k model.FlashKernel) string {
	if k == model.FlashFused {
		return ""
	}
	return string(k)
}

// Calibration echoes the site measurements the replay used in place of the
// documented defaults (the scenario's [calibration] table merged over the
// calibration file it names); absent when there are none.
type Calibration struct {
	File             string   `json:"file,omitempty"`
	GEMMPeakFraction *float64 `json:"gemm_peak_fraction,omitempty"`
	HBMFraction      *float64 `json:"hbm_fraction,omitempty"`
	FlashFraction    *float64 `json:"flash_fraction,omitempty"`
	KernelOverheadS  *float64 `json:"kernel_overhead_s,omitempty"`
	CommSMs          *int     `json:"comm_sms,omitempty"`
	NVLinkBusBW      *float64 `json:"nvlink_busbw_bytes_per_s,omitempty"`
	NICBusBW         *float64 `json:"nic_busbw_bytes_per_s,omitempty"`
	MeasuredGEMMs    int      `json:"measured_gemms,omitempty"`
}

func calibrationOf(c parallelism.Calibration) *Calibration {
	if !c.Set() {
		return nil
	}
	out := &Calibration{File: c.File, GEMMPeakFraction: c.GEMMPeakFraction, HBMFraction: c.HBMFraction,
		FlashFraction: c.FlashFraction, CommSMs: c.CommSMs, MeasuredGEMMs: len(c.GEMMs)}
	if c.KernelOverhead != nil {
		v := float64(*c.KernelOverhead)
		out.KernelOverheadS = &v
	}
	if c.NVLinkBusBandwidth != nil {
		v := float64(*c.NVLinkBusBandwidth)
		out.NVLinkBusBW = &v
	}
	if c.NICBusBandwidth != nil {
		v := float64(*c.NICBusBandwidth)
		out.NICBusBW = &v
	}
	return out
}

// Report is one scenario's result; its JSON field names are the report's fixed
// field contract (docs/scenario.md).
type Report struct {
	Scenario string   `json:"scenario"`
	Seed     uint64   `json:"seed"`
	Model    string   `json:"model"`
	Params   float64  `json:"params"`
	System   string   `json:"system"`
	GPU      string   `json:"gpu"`
	GPUs     int      `json:"gpus"`
	Nodes    int      `json:"nodes"`
	Layout   Layout   `json:"layout"`
	Training Training `json:"training"`
	// SoftwareStack is the software.stack the scenario named (its keys
	// are in layout and training); omitted without one.
	SoftwareStack        string       `json:"software_stack,omitempty"`
	Calibration          *Calibration `json:"calibration,omitempty"`
	Feasible             bool         `json:"feasible"`
	Reason               string       `json:"reason,omitempty"`
	StepTimeS            float64      `json:"step_time_s"`
	TokensPerS           float64      `json:"tokens_per_s"`
	ModelFLOPsPerGPUS    float64      `json:"model_flops_per_gpu_s"`
	HardwareFLOPsPerGPUS float64      `json:"hardware_flops_per_gpu_s"`
	MFU                  float64      `json:"mfu"`
	HFU                  float64      `json:"hfu"`
	Tokens               float64      `json:"tokens"`
	TimeToTrainS         float64      `json:"time_to_train_s"`
	TrainingFLOPs        float64      `json:"training_flops"`
	GPUHours             float64      `json:"gpu_hours"`
	BubbleFraction       float64      `json:"bubble_fraction"`
	Breakdown            Breakdown    `json:"breakdown"`
	// Stages is every pipeline stage's breakdown, in stage order.
	Stages       []StageBreakdown `json:"stages"`
	Memory       Memory           `json:"memory_per_gpu_bytes"`
	Comm         map[string]Comm  `json:"comm"`
	Bottleneck   Bottleneck       `json:"bottleneck"`
	Links        []Link           `json:"links"`
	BusiestLinks []Link           `json:"busiest_links"`
	Stragglers   *Stragglers      `json:"stragglers,omitempty"`
	Job          *Job             `json:"job,omitempty"`
	// RL is the RL post-training step of an [rl] table.
	RL     *RL      `json:"rl,omitempty"`
	Tasks  int      `json:"tasks"`
	Events int      `json:"events"`
	Notes  []string `json:"notes"`
	// Timeline is the first step's pipeline, when the run asked for it.
	Timeline *Timeline `json:"timeline,omitempty"`
}

// Input is what Build needs besides the replay result.
type Input struct {
	Name string
	Seed uint64
	// Stack is the scenario's software.stack, "" without one.
	Stack string
	Job   parallelism.Job
	// Whole is the whole run's Monte Carlo under WholeConfig, nil without
	// a [job] table.
	Whole       *job.Result
	WholeConfig job.Config
	// RL is the RL step's replay under RLConfig, nil without an [rl]
	// table; the result Build gets is then its policy optimizer step.
	RL       *rl.Result
	RLConfig rl.Config
}

// Build assembles the report of one replay.
func Build(in Input, r *parallelism.Result) (*Report, error) {
	j := in.Job
	peak, ok := j.Cluster.GPU.Peak(j.Training.Precision)
	if !ok || r.StepTime <= 0 {
		return nil, fmt.Errorf("report: no %s peak for %s or empty step", j.Training.Precision, j.Cluster.GPU.Name)
	}
	gpus := float64(j.Cluster.GPUs())
	step := float64(r.StepTime)
	tokensPerStep := float64(j.Training.GlobalBatch * j.Model.SeqLen)
	var stageLayers []int
	if n := j.Layout.PP * j.Layout.VirtualStages; j.Layout.PipelineLayout != "" || j.Model.MTPDepth > 0 || n > 0 && j.Model.Layers%n != 0 {
		stageLayers = j.StageLayers()
	}
	rep := &Report{
		Scenario: in.Name, Seed: in.Seed,
		Model: j.Model.Name, Params: float64(j.Model.Params()),
		System: j.Cluster.Name, GPU: j.Cluster.GPU.Name, GPUs: j.Cluster.GPUs(), Nodes: j.Cluster.Nodes,
		Layout: Layout{
			TP: j.Layout.TP, PP: j.Layout.PP, DP: j.Layout.DP, CP: j.Layout.CP, EP: j.Layout.EP,
			Microbatch: j.Layout.Microbatch, Microbatches: j.Microbatches(),
			Schedule: string(j.Layout.Schedule), VirtualStages: j.Layout.VirtualStages,
			SequenceParallel: j.Layout.SequenceParallel, Recompute: string(j.Layout.Recompute), RecomputeModules: j.Layout.RecomputeModules,
			ZeRO: j.Layout.ZeRO, OverlapGradReduce: j.Layout.OverlapGradReduce, TPOverlap: j.Layout.TPOverlap, PPOverlap: j.Layout.PPOverlap,
			AsyncTPAllReduce: j.Layout.AsyncTPAllReduce, ZeRO1AllReduce: j.Layout.ZeRO1AllReduce, ZeROFP32Reduce: j.Layout.ZeROFP32Reduce,
			ZeRO3RankLoops:  j.Layout.ZeRO3RankLoops,
			PPScatterGather: !j.Layout.NoPPScatterGather,
			MoE:             moeLayout(j),
			PipelineLayout:  j.Layout.PipelineLayout,
			MTPDepth:        j.Model.MTPDepth,
			StageLayers:     stageLayers,
		},
		Training: Training{
			GlobalBatch: j.Training.GlobalBatch, Precision: string(j.Training.Precision), Attention: string(j.Training.Attention),
			GradAccumFusion: !j.Training.UnfusedGradAccum, FP32Grads: !j.Training.Grads16,
			EagerElementwise: j.Training.Eager, MegatronElementwise: j.Training.MegatronElementwise,
			EagerCrossEntropy: j.Training.EagerCrossEntropy,
			PPKeepOutputs:     j.Training.PPKeepOutputs,
			FP8Param:          j.Training.FP8Param,
			GradAccumCast:     j.Training.GradAccumCast, HostIssueS: float64(j.Training.HostIssue),
			EagerHBMFraction: j.Training.EagerHBMFraction,
			FlashKernel:      flashKernel(j.Training.FlashKernel),
		},
		SoftwareStack:        in.Stack,
		Calibration:          calibrationOf(j.Calibration),
		Feasible:             r.Feasible,
		Reason:               r.Reason,
		StepTimeS:            step,
		TokensPerS:           tokensPerStep / step,
		ModelFLOPsPerGPUS:    float64(r.ModelFLOPs) / step / gpus,
		HardwareFLOPsPerGPUS: float64(r.HardwareFLOPs) / step / gpus,
		Tokens:               j.Training.Tokens,
		Tasks:                r.Tasks,
		Events:               r.Events,
		Notes:                r.Notes,
	}
	rep.MFU = rep.ModelFLOPsPerGPUS / float64(peak)
	rep.HFU = rep.HardwareFLOPsPerGPUS / float64(peak)
	if j.Training.Tokens > 0 {
		rep.TimeToTrainS = j.Training.Tokens / rep.TokensPerS
		rep.TrainingFLOPs = float64(r.ModelFLOPs) * j.Training.Tokens / tokensPerStep
		rep.GPUHours = rep.TimeToTrainS * gpus / 3600
	}
	bd := r.Breakdown
	rep.Breakdown = Breakdown{
		ComputeS: float64(bd.Compute), RecomputeS: float64(bd.Recompute),
		TPS: float64(bd.TP), PPS: float64(bd.PP), DPS: float64(bd.DP), CPS: float64(bd.CP), EPS: float64(bd.EP),
		OptimizerS: float64(bd.Optimizer), BubbleS: float64(bd.Bubble),
		TensorS: float64(bd.TensorCore), HBMS: float64(bd.HBM), Stage: r.Stage,
	}
	rep.BubbleFraction = float64(bd.Bubble) / step
	rep.Stages = stagesOf(r)
	rep.Timeline = TimelineOf(r.Timeline, j.Layout.PP, j.Layout.ChunksPerGPU())
	if t := rep.Timeline; t != nil {
		for _, s := range t.Spans {
			t.StepS = math.Max(t.StepS, s.End)
		}
	}
	mem := r.Memory
	rep.Memory = Memory{
		Peak: float64(mem.Peak), Weights: float64(mem.Weights), Gradients: float64(mem.Gradients),
		Optimizer: float64(mem.Optimizer), Activations: float64(mem.Activations), Transient: float64(mem.Transient),
		Stage: r.MemoryStage, HBM: float64(j.Cluster.GPU.HBM),
	}
	rep.Comm = make(map[string]Comm, len(r.Comm))
	for k, c := range r.Comm {
		rep.Comm[k] = Comm{TotalS: float64(c.Total), ExposedS: float64(c.Exposed), Bytes: float64(c.Bytes)}
	}
	for _, l := range r.Links {
		rep.Links = append(rep.Links, Link{Tier: l.Tier, Bytes: float64(l.Bytes), BusyFraction: l.BusyFraction})
	}
	rep.BusiestLinks = []Link{}
	for _, l := range r.BusiestLinks {
		rep.BusiestLinks = append(rep.BusiestLinks, Link{Tier: l.Tier, Link: l.Link, Bytes: float64(l.Bytes), BusyFraction: l.BusyFraction, SaturatedFraction: l.SaturatedFraction})
	}
	rep.Bottleneck = bottleneck(r, step, j)
	rep.Stragglers = stragglersOf(r.Stragglers, step)
	rep.Job = jobOf(in.WholeConfig, in.Whole)
	rep.RL = RLOf(in.RLConfig, in.RL)
	if rep.RL != nil && !rep.RL.Feasible && rep.Feasible {
		rep.Feasible, rep.Reason = false, "RL step: "+rep.RL.Reason
	}
	if err := rep.check(); err != nil {
		return nil, err
	}
	return rep, nil
}

// check refuses a report that holds a value no physical run gives: a NaN or
// an infinity anywhere, a negative time in the breakdown or a negative
// bubble, an MFU or HFU outside [0, 1]. Validation keeps hardware figures in
// their physical ranges, so such a value is a defect of the model; it is an
// error rather than a number written into a report (or a JSON encoder's
// "unsupported value").
func (r *Report) check() error {
	var bad []string
	walkFloats(reflect.ValueOf(r).Elem(), "", func(path string, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			bad = append(bad, fmt.Sprintf("%s = %v", path, x))
		}
	})
	bd := r.Breakdown
	for _, f := range []struct {
		name string
		v    float64
	}{{"step_time_s", r.StepTimeS}, {"bubble_fraction", r.BubbleFraction}, {"breakdown.compute_s", bd.ComputeS}, {"breakdown.recompute_s", bd.RecomputeS},
		{"breakdown.tp_exposed_s", bd.TPS}, {"breakdown.pp_exposed_s", bd.PPS}, {"breakdown.dp_exposed_s", bd.DPS}, {"breakdown.optimizer_s", bd.OptimizerS}, {"breakdown.bubble_s", bd.BubbleS}} {
		if f.v < 0 {
			bad = append(bad, fmt.Sprintf("%s = %g is negative", f.name, f.v))
		}
	}
	if !(r.MFU >= 0 && r.MFU <= 1) {
		bad = append(bad, fmt.Sprintf("mfu = %g is outside [0, 1]", r.MFU))
	}
	if !(r.HFU >= 0 && r.HFU <= 1) {
		bad = append(bad, fmt.Sprintf("hfu = %g is outside [0, 1]", r.HFU))
	}
	if q := r.RL; q != nil {
		for _, f := range []struct {
			name string
			v    float64
		}{{"rl.step_s", q.StepS}, {"rl.generation_s", q.GenerationS}, {"rl.scoring_s", q.ScoringS}, {"rl.training_s", q.TrainingS},
			{"rl.refit_s", q.RefitS}, {"rl.swap_s", q.SwapS}, {"rl.idle_s", q.IdleS}, {"rl.overlap_s", q.OverlapS},
			{"rl.kv_budget.kv_cache", q.KVBudget.KV}} {
			if f.v < 0 {
				bad = append(bad, fmt.Sprintf("%s = %g is negative", f.name, f.v))
			}
		}
		u := q.Utilisation
		for _, f := range []struct {
			name string
			v    float64
		}{{"rl.utilisation.generation_mfu", u.GenerationMFU}, {"rl.utilisation.scoring_mfu", u.ScoringMFU}, {"rl.utilisation.training_mfu", u.TrainingMFU}, {"rl.utilisation.generation_hbm", u.GenerationHBM}} {
			if !(f.v >= 0 && f.v <= 1) {
				bad = append(bad, fmt.Sprintf("%s = %g is outside [0, 1]", f.name, f.v))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("report of %s: refusing values outside physical sense (%s); check the hardware figures", r.Scenario, strings.Join(bad, "; "))
	}
	return nil
}

// walkFloats calls visit with every float64 v holds, named by its field path.
func walkFloats(v reflect.Value, path string, visit func(string, float64)) {
	switch v.Kind() {
	case reflect.Float64:
		visit(path, v.Float())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkFloats(v.Elem(), path, visit)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			name := t.Field(i).Name
			if path != "" {
				name = path + "." + name
			}
			walkFloats(v.Field(i), name, visit)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkFloats(v.Index(i), fmt.Sprintf("%s[%d]", path, i), visit)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			walkFloats(iter.Value(), fmt.Sprintf("%s[%v]", path, iter.Key()), visit)
		}
	}
}

// bottleneck names the largest consumer of the reported GPU's step, the
// runner-up, and what would help.
func bottleneck(r *parallelism.Result, step float64, j parallelism.Job) Bottleneck {
	bd := r.Breakdown
	type cand struct {
		res  string
		t    units.Seconds
		what string
	}
	cands := []cand{
		{"compute", bd.TensorCore, "tensor-core GEMMs (forward, backward and recompute)"},
		{"hbm", bd.HBM + bd.Optimizer, "memory-bound kernels (norms, softmax, dropout, activations, optimizer) limited by HBM bandwidth"},
		{"nvlink", bd.Exposed[topology.TierNVLink], "exposed communication bounded by NVLink (mostly tensor-parallel collectives)"},
		{"pcie", bd.Exposed[topology.TierPCIe], "exposed communication bounded by the PCIe links between GPUs and NICs"},
		{"nic", bd.Exposed[topology.TierNIC], "exposed communication bounded by the NICs (pipeline sends, data-parallel reductions across nodes)"},
		{"leaf-spine", bd.Exposed[topology.TierSpine], "exposed communication bounded by the leaf–spine links of the fabric (traffic between leaves, oversubscribed)"},
		{"pipeline-bubble", bd.Bubble, "pipeline bubble: stages idle while the pipeline fills and drains"},
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].t > cands[b].t })
	top, next := cands[0], cands[1]
	share := float64(top.t) / step
	why := fmt.Sprintf("%s take %.1f%% of the step on pipeline stage %d; next: %s at %.1f%%",
		top.what, 100*share, r.Stage, resourceNames[next.res], 100*float64(next.t)/step)
	return Bottleneck{Resource: top.res, Share: round(share, 4), Why: why, Help: help(top.res, bd, step, j)}
}

// resourceNames says what each bottleneck resource is, in words.
var resourceNames = map[string]string{
	"compute": "tensor-core compute", "hbm": "HBM bandwidth", "nvlink": "NVLink bandwidth", "pcie": "PCIe bandwidth",
	"nic": "NIC bandwidth", "leaf-spine": "leaf–spine bandwidth", "pipeline-bubble": "the pipeline bubble",
}

// help says what would shorten a step bound by res: the levers the layout
// has not pulled yet, those that act on the largest parts of the
// breakdown first, each with the share of the step it acts on. A lever is
// named only where the scenario leaves room for it (no "interleave" for an
// interleaved schedule, no "flash attention" where it runs already).
func help(res string, bd parallelism.Breakdown, step float64, j parallelism.Job) string {
	l, t := j.Layout, j.Training
	pct := func(x units.Seconds) string { return fmt.Sprintf("%.1f%%", 100*float64(x)/step) }
	var levers []string
	add := func(format string, a ...any) { levers = append(levers, fmt.Sprintf(format, a...)) }
	switch res {
	case "compute":
		if bd.Recompute > 0 && float64(bd.Recompute)/step >= 0.05 {
			if l.Recompute == parallelism.RecomputeFull {
				add("less recomputation (recompute takes %s: selective instead of full, if memory allows)", pct(bd.Recompute))
			} else {
				add("less recomputation (recompute takes %s, if memory allows)", pct(bd.Recompute))
			}
		}
		if t.Precision != units.FP8 && j.Cluster.GPU.PeakDenseFP8 > 0 {
			add("FP8 GEMMs (the GPU's FP8 peak is %s)", j.Cluster.GPU.PeakDenseFP8)
		}
		add("a larger micro-batch (%d now: larger, more efficient GEMMs), if memory allows", l.Microbatch)
		add("otherwise only more or faster GPUs")
	case "hbm":
		if t.Attention == model.AttentionUnfused {
			add("flash attention (training.attention = \"flash\": the unfused softmax and dropout read and write the s×s scores)")
		}
		if t.UnfusedGradAccum {
			add("gradient-accumulation fusion (training.grad_accum_fusion)")
		}
		if t.Eager {
			add("fused element-wise kernels (training.eager_elementwise = false: norms, rotary and activations as single kernels instead of Hugging Face's eager pieces)")
		}
		if bd.Recompute > 0 && float64(bd.Recompute)/step >= 0.05 {
			add("less recomputation (recompute takes %s)", pct(bd.Recompute))
		}
		add("a larger micro-batch (%d now: fewer, larger kernels), if memory allows", l.Microbatch)
	case "nvlink":
		if l.TP > 1 {
			if !l.TPOverlap {
				add("overlapping the tensor-parallel collectives with the GEMMs (parallelism.tp_overlap; TP comm exposed: %s)", pct(bd.TP))
			}
			add("a lower tp (TP %d), with more pipeline or data parallelism", l.TP)
		}
	case "pcie", "nic", "leaf-spine":
		if bd.DP >= bd.PP && bd.DP > 0 {
			if !l.OverlapGradReduce {
				add("overlapping the gradient reduction with the backward pass (parallelism.overlap_grad_reduce; DP comm exposed: %s)", pct(bd.DP))
			} else {
				add("more micro-batches per step to amortise the gradient reduction, or fewer data-parallel replicas (DP comm exposed: %s)", pct(bd.DP))
			}
		}
		if bd.PP > 0 && bd.PP > bd.DP {
			if !l.PPOverlap {
				add("pipeline sends beside compute (parallelism.pp_overlap; PP comm exposed: %s)", pct(bd.PP))
			} else {
				add("fewer pipeline stages (PP comm exposed: %s)", pct(bd.PP))
			}
		}
		if res == "leaf-spine" {
			add("a less oversubscribed fabric (%s:1)", units.Format(j.Cluster.Network.Oversubscription))
		} else {
			add("faster or more NICs")
		}
	case "pipeline-bubble":
		m := j.Microbatches()
		add("more micro-batches per step (%d now for %d stages: a larger global batch or a smaller micro-batch)", m, l.PP)
		if l.Schedule != parallelism.Interleaved && l.PP > 1 {
			add("the interleaved schedule (parallelism.schedule = \"interleaved\")")
		}
		if (l.Schedule == parallelism.OneFOneB || l.Schedule == parallelism.GPipe) && l.PP > 1 {
			add("zero-bubble ZB-H1 (parallelism.schedule = \"zb-h1\": 1F1B's peak memory, W passes fill the cool-down)")
		}
		if l.PP > 1 {
			add("fewer pipeline stages (PP %d)", l.PP)
		}
	}
	return strings.Join(levers, "; ")
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// moeLayout is j's expert layout, nil for a dense model.
func moeLayout(j parallelism.Job) *MoELayout {
	if !j.Model.MoE() {
		return nil
	}
	l := j.Layout
	etp, ep := max(l.ETP, 1), max(l.EP, 1)
	skew := l.Skew
	if skew == 0 {
		skew = 1
	}
	out := &MoELayout{
		Experts: j.Model.Experts, TopK: j.Model.TopK, ETP: etp,
		ExpertDP: j.Cluster.GPUs() / (etp * ep * max(l.PP, 1)),
		Skew:     skew, CapacityFactor: l.CapacityFactor, Overlap: l.MoEOverlap, DispatchFP8: l.DispatchFP8,
		ActiveParams: float64(j.Model.ActiveParams()),
	}
	// A job whose kernel model cannot be built was refused before it was
	// priced.
	if t, err := j.DispatchSync(); err == nil {
		out.DispatchSyncS = float64(t)
	}
	if l.Flex() {
		out.Dispatcher, out.DispatcherSMs = string(l.Dispatcher), l.FlexSMs()
		// The pricer's own figures (parallelism.Job.FlexSpan); a job whose
		// mesh cannot be built was refused before it was priced.
		if sp, err := j.FlexSpan(); err == nil {
			out.EPNodes, out.DestinationNodes = sp.Nodes, sp.Destinations
		}
	}
	return out
}
