package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"trainsim/compute"
	"trainsim/field"
	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/units"
)

// WriteJSON writes rep as one indented JSON object, its floats as
// units.Number writes them (EncodeJSON).
func WriteJSON(w io.Writer, rep *Report) error { return EncodeJSON(w, rep) }

// csvColumn is one flat field of a report.
type csvColumn struct {
	name string
	get  func(r *Report) string
}

// csvColumns returns the flat fields of a report, in column order.
func csvColumns() []csvColumn {
	return []csvColumn{
		{"scenario", func(r *Report) string { return r.Scenario }},
		{"model", func(r *Report) string { return r.Model }},
		{"gpu", func(r *Report) string { return r.GPU }},
		{"gpus", func(r *Report) string { return strconv.Itoa(r.GPUs) }},
		{"tp", func(r *Report) string { return strconv.Itoa(r.Layout.TP) }},
		{"pp", func(r *Report) string { return strconv.Itoa(r.Layout.PP) }},
		{"dp", func(r *Report) string { return strconv.Itoa(r.Layout.DP) }},
		{"microbatch", func(r *Report) string { return strconv.Itoa(r.Layout.Microbatch) }},
		{"schedule", func(r *Report) string { return r.Layout.Schedule }},
		{"recompute", func(r *Report) string { return r.Layout.Recompute }},
		{"feasible", func(r *Report) string { return strconv.FormatBool(r.Feasible) }},
		{"reason", func(r *Report) string { return r.Reason }},
		{"step_time_s", func(r *Report) string { return f(r.StepTimeS) }},
		{"tokens_per_s", func(r *Report) string { return f(r.TokensPerS) }},
		{"model_flops_per_gpu_s", func(r *Report) string { return f(r.ModelFLOPsPerGPUS) }},
		{"mfu", func(r *Report) string { return f(r.MFU) }},
		{"hfu", func(r *Report) string { return f(r.HFU) }},
		{"time_to_train_s", func(r *Report) string { return f(r.TimeToTrainS) }},
		{"bubble_fraction", func(r *Report) string { return f(r.BubbleFraction) }},
		{"memory_peak_bytes", func(r *Report) string { return f(r.Memory.Peak) }},
		{"tp_exposed_s", func(r *Report) string { return f(r.Comm["tp"].ExposedS) }},
		{"pp_exposed_s", func(r *Report) string { return f(r.Comm["pp"].ExposedS) }},
		{"dp_exposed_s", func(r *Report) string { return f(r.Comm["dp"].ExposedS) }},
		{"bottleneck", func(r *Report) string { return r.Bottleneck.Resource }},
		{"straggler_slowdown", func(r *Report) string {
			return jobField(r.Stragglers != nil, func() float64 { return r.Stragglers.Slowdown })
		}},
		{"job_p50_s", func(r *Report) string { return jobField(r.Job != nil, func() float64 { return r.Job.P50S }) }},
		{"job_p90_s", func(r *Report) string { return jobField(r.Job != nil, func() float64 { return r.Job.P90S }) }},
		{"job_p99_s", func(r *Report) string { return jobField(r.Job != nil, func() float64 { return r.Job.P99S }) }},
		{"goodput", func(r *Report) string { return jobField(r.Job != nil, func() float64 { return r.Job.Goodput }) }},
		{"interruptions", func(r *Report) string { return jobField(r.Job != nil, func() float64 { return r.Job.Interruptions }) }},
		// Added after the first columns, at the end so that readers by
		// position keep working.
		{"gpu_hours", func(r *Report) string { return f(r.GPUHours) }},
		{"nodes", func(r *Report) string { return strconv.Itoa(r.Nodes) }},
		{"zero", func(r *Report) string { return strconv.Itoa(r.Layout.ZeRO) }},
		{"sequence_parallel", func(r *Report) string { return strconv.FormatBool(r.Layout.SequenceParallel) }},
		{"virtual_stages", func(r *Report) string { return strconv.Itoa(r.Layout.VirtualStages) }},
	}
}

// f writes a float cell as every machine-readable report writes a float
// (units.Number): the same digits as the JSON report's field.
func f(x float64) string { return units.Number(x) }

// sci prints a large number in scientific notation without the exponent's
// plus sign: 3.23e23.
func sci(x float64) string { return strings.Replace(strconv.FormatFloat(x, 'e', 2, 64), "e+", "e", 1) }

// jobField formats get() when present, else leaves the cell empty.
func jobField(present bool, get func() float64) string {
	if !present {
		return ""
	}
	return f(get())
}

// WriteCSV writes a header and one row per report.
func WriteCSV(w io.Writer, reps ...*Report) error {
	cw := csv.NewWriter(w)
	cols := csvColumns()
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range reps {
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = c.get(r)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteText writes the summary a planner reads.
func WriteText(w io.Writer, rep *Report, j parallelism.Job) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	pct := func(x float64) string { return fmt.Sprintf("%5.1f%%", 100*x) }
	sec := func(x float64) string { return units.Seconds(x).String() }
	net := j.Cluster.Network
	peak, _ := j.Cluster.GPU.Peak(j.Training.Precision)

	p("%s\n", rep.Scenario)
	p("  model    %s\n", j.Model)
	p("  cluster  %d × %s = %d × %s (%s %s), NVLink %s/GPU, %d × %.0f Gb/s NICs per node, %s",
		j.Cluster.Nodes, j.Cluster.Name, rep.GPUs, j.Cluster.GPU.Name, peak, j.Training.Precision,
		j.Cluster.NVLink.Bandwidth, net.NICsPerNode, float64(net.NICBandwidth)*8/1e9, net.Topology)
	if net.Oversubscription > 1 {
		p(" %s:1 oversubscribed", units.Format(net.Oversubscription))
	}
	p("\n")
	l := rep.Layout
	cp := ""
	if l.CP > 1 {
		cp = fmt.Sprintf(" × CP %d", l.CP)
	}
	p("  layout   TP %d × PP %d × DP %d%s; micro-batch %d, %s per step; %s", l.TP, l.PP, l.DP, cp, l.Microbatch, field.Count(l.Microbatches, "micro-batch", "micro-batches"), l.Schedule)
	if l.VirtualStages > 1 {
		p(" (%d chunks per GPU)", l.VirtualStages)
	}
	if l.Schedule == string(parallelism.DualPipe) {
		p(" (stages s and %d − s on GPU s, half the micro-batches from each end)", l.PP-1)
	}
	p("; recompute %s", l.Recompute)
	if l.RecomputeModules != "" {
		p(" (%s)", l.RecomputeModules)
	}
	if l.SequenceParallel {
		p("; sequence parallel")
	}
	p("; ZeRO %d; global batch %d × %d tokens\n", l.ZeRO, j.Training.GlobalBatch, j.Model.SeqLen)
	if len(l.StageLayers) > 0 {
		p("  stages   transformer layers per virtual stage: %s", compactCounts(l.StageLayers))
		if l.MTPDepth > 0 {
			p("; %d MTP module(s) on the last", l.MTPDepth)
		}
		if l.PipelineLayout != "" {
			p(" (pipeline_layout %q)", l.PipelineLayout)
		}
		p("\n")
	}
	if m := l.MoE; m != nil {
		p("  experts  %d experts, top %d (%.1fB of %.1fB params active); EP %d × ETP %d × expert-DP %d × PP %d; skew %g",
			m.Experts, m.TopK, m.ActiveParams/1e9, rep.Params/1e9, l.EP, m.ETP, m.ExpertDP, l.PP, m.Skew)
		if m.CapacityFactor > 0 {
			p("; capacity factor %g", m.CapacityFactor)
		} else {
			p("; dropless")
		}
		if m.Overlap {
			p("; all-to-all overlapped")
		}
		if m.DispatchFP8 {
			p("; dispatch in FP8")
		}
		if m.Dispatcher != "" {
			p("; %s dispatcher (node-level: a token crosses the fabric once per destination node, %.2f of the %d nodes the expert group spans; %d SMs)",
				m.Dispatcher, m.DestinationNodes, m.EPNodes, m.DispatcherSMs)
		}
		if m.DispatchSyncS > 0 {
			where := "the GPU idle; in compute"
			if m.Overlap {
				where = "in the router's step, beside its kernels"
			}
			p("; host sync before each dispatch %s (%s)", units.Seconds(m.DispatchSyncS), where)
		}
		p("\n")
	}
	sw := softwareKnobs(rep, j)
	if rep.SoftwareStack != "" {
		sw = append([]string{"stack " + rep.SoftwareStack}, sw...)
	}
	if len(sw) > 0 {
		p("  software %s\n", strings.Join(sw, "; "))
	}
	if mp := modelProperties(j); len(mp) > 0 {
		p("  props    %s\n", strings.Join(mp, "; "))
	}
	if c := rep.Calibration; c != nil {
		p("  calib    %s\n", c)
	}
	p("\n")

	if rep.RL != nil {
		if err := WriteRLText(&b, rep.RL); err != nil {
			return err
		}
		p("The policy's optimizer step (one of the %d above), replayed:\n", rep.RL.OptimizerSteps)
	}
	if !rep.Feasible {
		p("INFEASIBLE: %s\n\n", rep.Reason)
	}
	p("Step time        %s   (%.0f tokens/s)\n", sec(rep.StepTimeS), rep.TokensPerS)
	if rep.TimeToTrainS > 0 {
		p("Time to train    %.1f days for %s tokens; %s training FLOPs, %s GPU-hours\n",
			rep.TimeToTrainS/86400, units.Short(rep.Tokens), sci(rep.TrainingFLOPs), units.Grouped(rep.GPUHours))
		if rep.Job == nil {
			p("                 (assumes every one of the %s tokens at this step time, %d GPUs busy around the clock:\n", units.Short(rep.Tokens), rep.GPUs)
			p("                 no batch ramp-up, failure, checkpoint, restart or slow GPU; a [job] table models them)\n")
		} else {
			p("                 (every token at this step time, nothing lost: the whole job below adds the losses)\n")
		}
	}
	if s := rep.Stragglers; s != nil {
		links := ""
		if s.SlowLinks > 0 {
			links = fmt.Sprintf(" and %d slow NICs", s.SlowLinks)
		}
		p("Stragglers       %d slow GPUs%s: step %s against %s with every GPU and link alike (+%.1f%%, %s per step)\n",
			s.SlowGPUs, links, sec(rep.StepTimeS), sec(s.UniformStepS), 100*s.Slowdown, sec(s.LostPerStepS))
	}
	if jb := rep.Job; jb != nil {
		day := func(x float64) string { return fmt.Sprintf("%.2f d", x/86400) }
		sec := func(x float64) string {
			switch {
			case x >= 86400:
				return fmt.Sprintf("%.2f d", x/86400)
			case x >= 3600:
				return fmt.Sprintf("%.2f h", x/3600)
			case x >= 60:
				return fmt.Sprintf("%.1f min", x/60)
			}
			return units.Seconds(x).String()
		}
		ci := func(c [2]float64) string { return fmt.Sprintf("[%.2f, %.2f]", c[0]/86400, c[1]/86400) }
		p("Whole job        %d Monte-Carlo runs (seed %d): time to train p50 %s %s, p90 %s %s, p99 %s %s\n",
			jb.Runs, rep.Seed, day(jb.P50S), ci(jb.P50CIS), day(jb.P90S), ci(jb.P90CIS), day(jb.P99S), ci(jb.P99CIS))
		p("  goodput %.1f%%: training %s; lost to failures %s, restarts %s, checkpoints %s, stragglers %s\n",
			100*jb.Goodput, day(jb.TrainS), day(jb.Lost.Failures), day(jb.Lost.Restarts), day(jb.Lost.Checkpoints), day(jb.Lost.Stragglers))
		if jb.RampS > 0 {
			p("  batch ramp-up: %s of the training at the smaller batches of job.ramp\n", day(jb.RampS))
		}
		if jb.JobMTBFS > 0 {
			p("  interruptions %.1f per run (%.2f per day; one every %s); checkpoint every %s, %s to write, restart %s\n",
				jb.Interruptions, jb.InterruptionsPerDay, sec(jb.JobMTBFS), sec(jb.CheckpointIntervalS), sec(jb.CheckpointWriteS), sec(jb.RestartS))
		}
		if jb.BestCheckpointIntervalS > 0 {
			p("  best checkpoint interval %s (Young/Daly √(2·write·MTBF): %s)\n", sec(jb.BestCheckpointIntervalS), sec(jb.YoungDalyIntervalS))
		}
	}
	p("Throughput       %.1f model TFLOP/s per GPU (MFU %.1f%%); %.1f with recompute (HFU %.1f%%)\n\n",
		rep.ModelFLOPsPerGPUS/1e12, 100*rep.MFU, rep.HardwareFLOPsPerGPUS/1e12, 100*rep.HFU)

	bd := rep.Breakdown
	p("Where the step goes (pipeline stage %d, the most loaded GPU)\n", bd.Stage)
	for _, row := range []struct {
		name string
		v    float64
	}{
		{"compute", bd.ComputeS}, {"recompute", bd.RecomputeS},
		{"TP comm, exposed", bd.TPS}, {"PP comm, exposed", bd.PPS}, {"DP comm, exposed", bd.DPS},
		{"CP comm, exposed", bd.CPS}, {"EP comm, exposed", bd.EPS},
		{"optimizer", bd.OptimizerS}, {"pipeline bubble", bd.BubbleS},
	} {
		if (row.name == "CP comm, exposed" || row.name == "EP comm, exposed") && row.v == 0 {
			continue
		}
		p("  %-18s %10s  %s\n", row.name, sec(row.v), pct(row.v/rep.StepTimeS))
	}
	p("  (compute+recompute: %s on tensor cores, %s bound by HBM)\n", sec(bd.TensorS), sec(bd.HBMS))
	// A stage also waits on other GPUs' transfers (the optimizer step waits
	// for every stage's gradient reduction): the breakdown counts that wait,
	// the communication table only this GPU's own transfers.
	for _, k := range []struct {
		name string
		v    float64
	}{{"tp", bd.TPS}, {"pp", bd.PPS}, {"dp", bd.DPS}, {"cp", bd.CPS}, {"ep", bd.EPS}} {
		own := rep.Comm[k.name].ExposedS
		if wait := k.v - own; wait > 1e-4 && wait > 0.01*k.v {
			p("  (%s comm, exposed = %s of its own transfers + %s waiting for other GPUs' %s; the table below: its own)\n",
				strings.ToUpper(k.name), sec(own), sec(wait), strings.ToUpper(k.name))
		}
	}
	p("\n")

	m := rep.Memory
	p("Memory per GPU   %s of %s (pipeline stage %d)\n", units.Bytes(m.Peak), units.Bytes(m.HBM), m.Stage)
	p("  weights %s, gradients %s, optimizer %s, activations %s, transient %s\n\n",
		units.Bytes(m.Weights), units.Bytes(m.Gradients), units.Bytes(m.Optimizer), units.Bytes(m.Activations), units.Bytes(m.Transient))

	p("Communication per GPU per step (this GPU's own transfers; exposed: not hidden behind its compute)\n")
	for _, k := range []string{"tp", "pp", "dp", "cp", "ep"} {
		c := rep.Comm[k]
		if c.Bytes == 0 && c.TotalS == 0 {
			continue
		}
		p("  %-3s %12s sent, %10s of transfers, %10s exposed\n", k, units.Bytes(c.Bytes), sec(c.TotalS), sec(c.ExposedS))
	}
	p("Links            ")
	for i, lk := range rep.Links {
		if i > 0 {
			p("; ")
		}
		p("%s %s moved, %.1f%% busy", lk.Tier, units.Bytes(lk.Bytes), 100*lk.BusyFraction)
	}
	p("\n")
	for i, lk := range rep.BusiestLinks {
		if i == 0 {
			p("Busiest links\n")
		}
		p("  %-48s %12s  %5.1f%% busy", lk.Link, units.Bytes(lk.Bytes), 100*lk.BusyFraction)
		if lk.SaturatedFraction > 0 {
			p(", at capacity %.1f%% of the step", 100*lk.SaturatedFraction)
		}
		p("\n")
	}
	p("\nBottleneck       %s: %s\n", rep.Bottleneck.Resource, rep.Bottleneck.Why)
	if h := rep.Bottleneck.Help; h != "" {
		p("                 would help: %s\n", h)
	}
	for _, n := range rep.Notes {
		p("Note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String lists the calibrated values under the [calibration] table's key
// names, and the calibration file they were merged over.
func (c *Calibration) String() string {
	var parts []string
	f := func(key string, v *float64, format string, scale float64) {
		if v != nil {
			parts = append(parts, fmt.Sprintf("%s "+format, key, units.Format(*v*scale)))
		}
	}
	f("gemm_peak_fraction", c.GEMMPeakFraction, "%s", 1)
	f("hbm_fraction", c.HBMFraction, "%s", 1)
	f("flash_fraction", c.FlashFraction, "%s", 1)
	f("kernel_overhead", c.KernelOverheadS, "%sµs", 1e6)
	if c.CommSMs != nil {
		parts = append(parts, fmt.Sprintf("comm_sms %d", *c.CommSMs))
	}
	f("nvlink_busbw", c.NVLinkBusBW, "%s GB/s", 1e-9)
	f("nic_busbw", c.NICBusBW, "%s GB/s", 1e-9)
	if c.MeasuredGEMMs > 0 {
		parts = append(parts, fmt.Sprintf("measured GEMMs: %d", c.MeasuredGEMMs))
	}
	s := strings.Join(parts, ", ")
	if c.File != "" {
		s += " (merged over " + c.File + ")"
	}
	return s
}

// compactCounts writes counts as "3, 4 ×14, 2": runs of one count joined.
func compactCounts(c []int) string {
	var parts []string
	for i := 0; i < len(c); {
		k := i
		for k < len(c) && c[k] == c[i] {
			k++
		}
		if k-i > 1 {
			parts = append(parts, fmt.Sprintf("%d ×%d", c[i], k-i))
		} else {
			parts = append(parts, strconv.Itoa(c[i]))
		}
		i = k
	}
	return strings.Join(parts, ", ")
}

// modelProperties lists the model's training properties that add work to
// the step (docs/model.md §7.28) and, where the stack or the layout leaves
// one without a kernel, why.
func modelProperties(j parallelism.Job) []string {
	c, sh := j.Model, j.Shard()
	var out []string
	add := func(s, noEffect string) {
		if noEffect != "" {
			s += " (not run here: " + noEffect + ")"
		}
		out = append(out, s)
	}
	if c.AttnDropout > 0 {
		why := ""
		switch {
		case sh.Eager:
			why = "eager_elementwise"
		case sh.Attention != model.AttentionFlash:
			why = "the unfused core prices its dropout kernel itself"
		}
		add(fmt.Sprintf("attention_dropout %g: fused attention +%.1f%% (in compute)", c.AttnDropout, 100*model.AttnDropoutCost), why)
	}
	if c.HiddenDropout > 0 {
		add(fmt.Sprintf("hidden_dropout %g: the embedding's dropout (in compute, HBM-bound)", c.HiddenDropout), "")
	}
	if c.TiedEmbeddings {
		why := ""
		switch {
		case sh.PP > 1:
			why = "the output layer on the last stage"
		case sh.Eager:
			why = "eager_elementwise"
		case sh.MegatronKernels:
			why = "megatron_elementwise"
		}
		add("tied_embeddings: the output layer's dummy table gradient (in compute, HBM-bound)", why)
	}
	if c.Position == model.PositionLearned {
		add("position_embedding learned: the table's lookup, add and gradient (in compute, HBM-bound)", "")
	}
	return out
}

// flashKernelIdle says why training.flash_kernel = "fa2" changes nothing
// in j ("" where it does): no flash attention, or a GPU family whose
// flash rate FlashAttention-2 shares (compute.Params.FA2Fwd, FA2Bwd 0):
// its own (compute.Params.FA2Own) or one with no FlashAttention-2
// measurement to scale it by.
func flashKernelIdle(j parallelism.Job, sh model.Shard) string {
	if sh.Attention != model.AttentionFlash {
		return "attention " + string(sh.Attention)
	}
	p, err := compute.ParamsFor(j.Cluster.GPU.Family)
	switch {
	case err != nil || p.FA2Fwd != 0 || p.FA2Bwd != 0:
		return ""
	case p.FA2Own:
		return "the " + j.Cluster.GPU.Family + " flash rate is FlashAttention-2's own"
	}
	return "the " + j.Cluster.GPU.Family + " flash rate has no FlashAttention-2 measurement"
}

// softwareKnobs lists the framework behaviours the scenario turned on that
// the layout line does not show (off by default, so a default report has
// none), each under its key, with the part of the breakdown its time is in
// and, where the layout leaves it no effect, why: the model's own test
// (model.Config.MegatronKernelsIdle, model.Shard.GradAccumCastIdle and
// AsyncDgradIdle, which the op list and the layer program ask too), and
// for zero1_allreduce the gradient-reduction rule of parallelism's plan.
func softwareKnobs(rep *Report, j parallelism.Job) []string {
	l, t := rep.Layout, rep.Training
	// The model's own conditions say where an option adds nothing.
	sh := j.Shard()
	var out []string
	add := func(s, noEffect string) {
		if noEffect != "" {
			s += " (no effect here: " + noEffect + ")"
		}
		out = append(out, s)
	}
	if t.EagerElementwise {
		add("eager_elementwise: Hugging Face's eager element-wise kernels, one per tensor operation (in compute, HBM-bound)", "")
	}
	if t.EagerCrossEntropy {
		add("eager_cross_entropy: PyTorch's eager cross-entropy on fp32 logits (in memory: the last stage's transient)", "")
	}
	if t.PPKeepOutputs {
		add("pp_keep_outputs: each pipeline stage keeps every micro-batch's output until the step ends (in memory: the activations)", "")
	}
	if t.FP8Param {
		add("fp8_param: the linear weights in FP8 only, all-gathered in FP8 (in memory: the weights; in the data-parallel all-gather)", "")
	}
	if t.MegatronElementwise {
		add("megatron_elementwise: Megatron-LM's unmerged element-wise kernels (in compute, HBM-bound)", j.Model.MegatronKernelsIdle(sh))
	}
	if t.GradAccumCast {
		add("grad_accum_cast: each micro-batch's weight gradient cast to fp32, then added (in compute, HBM-bound)", sh.GradAccumCastIdle())
	}
	if t.EagerHBMFraction > 0 {
		add(fmt.Sprintf("eager_hbm_fraction: PyTorch's own element-wise kernels at %g of the HBM bandwidth (in compute, HBM-bound)", t.EagerHBMFraction), j.Model.EagerKernelsIdle(sh))
	}
	if t.FlashKernel != "" {
		add(fmt.Sprintf("flash_kernel %s: FlashAttention-2's flash-attention kernels, at its measured share of the family's fused rate (in compute)", t.FlashKernel), flashKernelIdle(j, sh))
	}
	if t.HostIssueS > 0 {
		add(fmt.Sprintf("host_issue %s per kernel launch (in compute where the host is slower than the GPU)", units.Seconds(t.HostIssueS)), "")
	}
	if l.AsyncTPAllReduce {
		add("async_tp_allreduce: the column-parallel layers' input-gradient all-reduce beside their weight-gradient GEMM (hides part of the TP comm)", sh.AsyncDgradIdle())
	}
	if l.ZeRO1AllReduce {
		why := ""
		if l.ZeRO != 1 {
			why = fmt.Sprintf("ZeRO %d", l.ZeRO)
		}
		add("zero1_allreduce: ZeRO-1's gradients all-reduced, not reduce-scattered (in DP comm)", why)
	}
	if l.ZeROFP32Reduce {
		why := ""
		if l.ZeRO < 2 {
			why = fmt.Sprintf("ZeRO %d", l.ZeRO)
		}
		add("zero_fp32_reduce: ZeRO-2/3's per-micro-batch gradient reduce-scatter in fp32 (in DP comm)", why)
	}
	if l.ZeRO3RankLoops {
		why := ""
		switch {
		case l.ZeRO != 3:
			why = fmt.Sprintf("ZeRO %d", l.ZeRO)
		case l.DP == 1:
			why = "DP 1"
		}
		add("zero3_rank_loops: DeepSpeed 2021's per-rank host loops in each ZeRO-3 gather and reduce-scatter (in DP comm)", why)
	}
	return out
}
