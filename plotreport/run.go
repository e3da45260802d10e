package plotreport

import (
	"fmt"
	"sort"
	"strings"

	"trainsim/field"
	"trainsim/report"
)

// Colours of the parts of a step, as palette indices, so that a part keeps
// its colour in every report.
const (
	colourCompute   = 2  // blue
	colourRecompute = 9  // light blue
	colourTP        = 3  // orange
	colourPP        = 4  // purple
	colourDP        = 1  // green
	colourOptimizer = 12 // brown
	colourBubble    = 7  // light red
	// colourWeightGrad is zb-h1's W pass: a light green beside the
	// backward's green.
	colourWeightGrad = 8
)

// commKinds is the order of the communication kinds in tables; kinds a
// report adds later come after them, sorted.
var commKinds = []string{"tp", "pp", "dp", "cp", "ep"}

// RunDocument builds the report of one run. source names the file it was
// read from (shown as given; pass a base name for output that does not
// depend on where the file is).
func RunDocument(source string, rep *report.Report) *Document {
	d := &Document{Title: "Run report: " + rep.Scenario}
	d.para("Source:", "%s, the report of sim run --format json.", source)
	d.list(runHeader(rep))
	if !rep.Feasible {
		d.para("Infeasible:", "%s", rep.Reason)
	}

	rlBlocks(d, rep)

	d.heading("Key figures")
	d.table(keyFigures(rep))
	if rep.Bottleneck.Resource != "" {
		d.para("Bottleneck: "+rep.Bottleneck.Resource+".", "%s", rep.Bottleneck.Why)
		if rep.Bottleneck.Help != "" {
			d.para("Would help:", "%s", rep.Bottleneck.Help)
		}
	}

	steps := stepParts(rep)
	d.heading("Where the step goes")
	d.para("", "The step of the most loaded GPU (pipeline stage %d), %s in all; exposed communication is the part not overlapped with compute.", rep.Breakdown.Stage, secs(rep.StepTimeS))
	if sum := sumSegments(steps); sum > 0 {
		d.figure(&Figure{File: "step.png", Caption: fmt.Sprintf("Where the %s step goes, pipeline stage %d", secs(rep.StepTimeS), rep.Breakdown.Stage),
			Chart: &StackedBar{Title: "Where the step goes", XLabel: "seconds", Category: fmt.Sprintf("stage %d", rep.Breakdown.Stage), Segments: steps, Format: secs}})
	}
	t := &Table{Header: []string{"part", "time", "share of the step"}, Right: []bool{false, true, true}}
	for _, s := range steps {
		t.Rows = append(t.Rows, []string{s.Label, secs(s.Value), share(s.Value, rep.StepTimeS)})
	}
	d.table(t)
	bd := rep.Breakdown
	d.para("", "Compute and recompute: %s on tensor cores, %s bound by HBM bandwidth.", secs(bd.TensorS), secs(bd.HBMS))

	stageBlocks(d, rep)
	timelineBlocks(d, rep)

	stragglerBlocks(d, rep)
	jobBlocks(d, rep)
	memoryBlocks(d, rep)
	linkBlocks(d, rep)

	if len(rep.Notes) > 0 {
		d.heading("Notes")
		d.list(rep.Notes)
	}
	return d
}

// runHeader describes the scenario: model, cluster, layout.
func runHeader(rep *report.Report) []string {
	l := rep.Layout
	model := "Model: " + rep.Model
	if rep.Params > 0 {
		model += fmt.Sprintf(", %.1f B parameters", rep.Params/1e9)
	}
	cluster := fmt.Sprintf("GPUs: %d × %s", rep.GPUs, rep.GPU)
	if rep.System != "" {
		cluster += " (" + rep.System + " nodes)"
	}
	lines := []string{model, cluster, "Layout: " + layout(l)}
	if sw := software(rep); sw != "" {
		lines = append(lines, "Software: "+sw)
	}
	if rep.Calibration != nil {
		lines = append(lines, "Calibrated: "+rep.Calibration.String())
	}
	return append(lines, fmt.Sprintf("Seed: %d", rep.Seed))
}

// layout describes a parallel layout in one line.
func layout(l report.Layout) string {
	var b strings.Builder
	fmt.Fprintf(&b, "TP %d × PP %d × DP %d", l.TP, l.PP, l.DP)
	if l.CP > 1 {
		fmt.Fprintf(&b, " × CP %d", l.CP)
	}
	if l.EP > 1 {
		fmt.Fprintf(&b, " × EP %d", l.EP)
	}
	fmt.Fprintf(&b, "; micro-batch %d, %s per step; schedule %s", l.Microbatch, field.Count(l.Microbatches, "micro-batch", "micro-batches"), l.Schedule)
	if l.VirtualStages > 1 {
		fmt.Fprintf(&b, " (%d chunks per GPU)", l.VirtualStages)
	}
	fmt.Fprintf(&b, "; recompute %s", l.Recompute)
	if l.SequenceParallel {
		b.WriteString("; sequence parallel")
	}
	fmt.Fprintf(&b, "; ZeRO %d", l.ZeRO)
	var overlaps []string
	if l.OverlapGradReduce {
		overlaps = append(overlaps, "DP")
	}
	if l.TPOverlap {
		overlaps = append(overlaps, "TP")
	}
	if l.PPOverlap {
		overlaps = append(overlaps, "PP")
	}
	if len(overlaps) > 0 {
		fmt.Fprintf(&b, "; %s communication overlapped", strings.Join(overlaps, ", "))
	}
	return b.String()
}

// software names the run's software stack and lists the framework behaviours the run turned on beyond the
// layout (each off by default) under their scenario keys' names; the text
// report of `sim run` says where each one's time is and when the layout
// leaves it no effect.
func software(rep *report.Report) string {
	l, t := rep.Layout, rep.Training
	var s []string
	if rep.SoftwareStack != "" {
		s = append(s, "stack "+rep.SoftwareStack)
	}
	for _, k := range []struct {
		on   bool
		name string
	}{{t.EagerElementwise, "eager_elementwise"}, {t.EagerCrossEntropy, "eager_cross_entropy"}, {t.PPKeepOutputs, "pp_keep_outputs"}, {t.FP8Param, "fp8_param"}, {t.MegatronElementwise, "megatron_elementwise"}, {t.GradAccumCast, "grad_accum_cast"},
		{t.EagerHBMFraction > 0, fmt.Sprintf("eager_hbm_fraction %g", t.EagerHBMFraction)},
		{t.FlashKernel != "", "flash_kernel " + t.FlashKernel},
		{t.HostIssueS > 0, "host_issue " + secs(t.HostIssueS)}, {l.AsyncTPAllReduce, "async_tp_allreduce"}, {l.ZeRO1AllReduce, "zero1_allreduce"},
		{l.ZeROFP32Reduce, "zero_fp32_reduce"}, {l.ZeRO3RankLoops, "zero3_rank_loops"}} {
		if k.on {
			s = append(s, k.name)
		}
	}
	return strings.Join(s, ", ")
}

// keyFigures is the table of the numbers a planner looks at first.
func keyFigures(rep *report.Report) *Table {
	t := &Table{Header: []string{"figure", "value"}}
	add := func(k, format string, a ...any) { t.Rows = append(t.Rows, []string{k, fmt.Sprintf(format, a...)}) }
	add("step time", "%s", secs(rep.StepTimeS))
	add("throughput", "%s tokens/s", count(rep.TokensPerS))
	if rep.TimeToTrainS > 0 {
		add("time to train", "%s for %s tokens (%s GPU-hours)", days(rep.TimeToTrainS), short(rep.Tokens), count(rep.GPUHours))
	} else {
		add("time to train", "not estimated (training.tokens is 0)")
	}
	add("MFU", "%s (%.1f model TFLOP/s per GPU)", pct(rep.MFU), rep.ModelFLOPsPerGPUS/1e12)
	add("HFU", "%s (%.1f TFLOP/s per GPU, recompute counted)", pct(rep.HFU), rep.HardwareFLOPsPerGPUS/1e12)
	add("pipeline bubble", "%s of the step", pct(rep.BubbleFraction))
	m := rep.Memory
	if m.HBM > 0 {
		add("memory per GPU", "%s of %s HBM (%s, pipeline stage %d)", bytesStr(m.Peak), bytesStr(m.HBM), pct(m.Peak/m.HBM), m.Stage)
	} else {
		add("memory per GPU", "%s (pipeline stage %d)", bytesStr(m.Peak), m.Stage)
	}
	add("bottleneck", "%s, %s of the step", rep.Bottleneck.Resource, pct(rep.Bottleneck.Share))
	return t
}

// stepParts splits the step as the report's breakdown does.
func stepParts(rep *report.Report) []Segment {
	bd := rep.Breakdown
	return []Segment{
		{"compute", bd.ComputeS, colourCompute},
		{"recompute", bd.RecomputeS, colourRecompute},
		{"TP comm, exposed", bd.TPS, colourTP},
		{"PP comm, exposed", bd.PPS, colourPP},
		{"DP comm, exposed", bd.DPS, colourDP},
		{"optimizer", bd.OptimizerS, colourOptimizer},
		{"pipeline bubble", bd.BubbleS, colourBubble},
	}
}

func sumSegments(ss []Segment) float64 {
	sum := 0.0
	for _, s := range ss {
		if s.Value > 0 {
			sum += s.Value
		}
	}
	return sum
}

// share is part/whole as a percentage, or "-" without a whole.
func share(part, whole float64) string {
	if whole <= 0 {
		return "-"
	}
	return pct(part / whole)
}

// gib converts bytes to GiB for plot axes.
func gib(b float64) float64 { return b / (1 << 30) }

func memoryBlocks(d *Document, rep *report.Report) {
	m := rep.Memory
	d.heading("Memory per GPU")
	parts := []struct {
		name string
		v    float64
	}{{"weights", m.Weights}, {"gradients", m.Gradients}, {"optimizer", m.Optimizer}, {"activations", m.Activations}, {"transient", m.Transient}, {"peak", m.Peak}}
	chart := &Bars{Title: fmt.Sprintf("Memory per GPU, pipeline stage %d", m.Stage), YLabel: "GiB"}
	t := &Table{Header: []string{"part", "bytes", "share of HBM"}, Right: []bool{false, true, true}}
	for _, p := range parts {
		chart.Labels = append(chart.Labels, p.name)
		chart.Values = append(chart.Values, gib(p.v))
		t.Rows = append(t.Rows, []string{p.name, bytesStr(p.v), share(p.v, m.HBM)})
	}
	if m.HBM > 0 {
		chart.Ref = Ref{Label: "HBM capacity " + bytesStr(m.HBM), Value: gib(m.HBM)}
		t.Rows = append(t.Rows, []string{"HBM capacity", bytesStr(m.HBM), "100.0%"})
	}
	if m.Peak > 0 || m.HBM > 0 {
		d.figure(&Figure{File: "memory.png", Caption: fmt.Sprintf("Memory of the busiest GPU (pipeline stage %d) by part, against its HBM", m.Stage), Chart: chart})
	}
	d.table(t)
}

func linkBlocks(d *Document, rep *report.Report) {
	if len(rep.Links) > 0 {
		d.heading("Link tiers")
		chart := &Bars{Title: "Link tiers: share of the step busy", YLabel: "busy (% of the step)", YMax: 100}
		t := &Table{Header: []string{"tier", "bytes moved per step", "busy"}, Right: []bool{false, true, true}}
		for _, l := range rep.Links {
			chart.Labels = append(chart.Labels, l.Tier)
			chart.Values = append(chart.Values, 100*l.BusyFraction)
			t.Rows = append(t.Rows, []string{l.Tier, bytesStr(l.Bytes), pct(l.BusyFraction)})
		}
		for _, v := range chart.Values {
			if v > 100 {
				chart.YMax = 0 // let the data set the axis
			}
		}
		d.figure(&Figure{File: "links.png", Caption: "Busy fraction of each link tier over the step (the whole cluster's links of that tier)", Chart: chart})
		d.table(t)
	}

	d.heading("Communication per GPU per step")
	var kinds []string
	seen := map[string]bool{}
	for _, k := range commKinds {
		if _, ok := rep.Comm[k]; ok {
			kinds = append(kinds, k)
			seen[k] = true
		}
	}
	var extra []string
	for k := range rep.Comm {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	kinds = append(kinds, extra...)
	t := &Table{Header: []string{"kind", "bytes sent", "transfer time", "exposed", "exposed share of the step"}, Right: []bool{false, true, true, true, true}}
	var idle []string
	for _, k := range kinds {
		c := rep.Comm[k]
		if c.Bytes == 0 && c.TotalS == 0 && c.ExposedS == 0 {
			idle = append(idle, k)
			continue
		}
		t.Rows = append(t.Rows, []string{k, bytesStr(c.Bytes), secs(c.TotalS), secs(c.ExposedS), share(c.ExposedS, rep.StepTimeS)})
	}
	if len(t.Rows) > 0 {
		d.table(t)
	}
	if len(idle) > 0 {
		d.para("", "No %s communication.", strings.Join(idle, ", "))
	}

	if len(rep.BusiestLinks) > 0 {
		d.heading("Busiest links")
		t := &Table{Header: []string{"link", "tier", "bytes per step", "busy", "at capacity"}, Right: []bool{false, false, true, true, true}}
		for _, l := range rep.BusiestLinks {
			sat := "-"
			if l.SaturatedFraction > 0 {
				sat = pct(l.SaturatedFraction)
			}
			t.Rows = append(t.Rows, []string{l.Link, l.Tier, bytesStr(l.Bytes), pct(l.BusyFraction), sat})
		}
		d.table(t)
	}
}

// stageBlocks shows every stage's step side by side, when there are several.
func stageBlocks(d *Document, rep *report.Report) {
	if len(rep.Stages) < 2 {
		return
	}
	d.heading("Every pipeline stage")
	c := &StageBars{Title: "Where each stage's step goes", XLabel: "seconds"}
	parts := []StageSeries{
		{"compute", nil, colourCompute}, {"recompute", nil, colourRecompute},
		{"TP comm, exposed", nil, colourTP}, {"PP comm, exposed", nil, colourPP},
		{"DP comm, exposed", nil, colourDP}, {"optimizer", nil, colourOptimizer},
		{"pipeline bubble", nil, colourBubble},
	}
	t := &Table{Header: []string{"stage", "compute", "recompute", "TP exposed", "PP exposed", "DP exposed", "optimizer", "bubble"},
		Right: []bool{false, true, true, true, true, true, true, true}}
	for _, s := range rep.Stages {
		c.Stages = append(c.Stages, fmt.Sprintf("stage %d", s.Stage))
		vals := []float64{s.ComputeS, s.RecomputeS, s.TPS, s.PPS, s.DPS, s.OptimizerS, s.BubbleS}
		row := []string{fmt.Sprintf("%d", s.Stage)}
		for i, v := range vals {
			parts[i].Values = append(parts[i].Values, v)
			row = append(row, secs(v))
		}
		t.Rows = append(t.Rows, row)
	}
	c.Parts = parts
	d.para("", "The same split for the first GPU of each pipeline stage: the stages differ by the embedding and the output layer, and by how long each waits for the others.")
	d.figure(&Figure{File: "stages.png", Caption: "Where each pipeline stage's step goes", Chart: c})
	d.table(t)
}

// timelineBlocks draws the first step's pipeline when the report has it.
func timelineBlocks(d *Document, rep *report.Report) {
	tl := rep.Timeline
	if tl == nil || len(tl.Spans) == 0 {
		if rep.Layout.PP > 1 && rep.Feasible {
			d.heading("The pipeline, one step")
			d.para("", "This report has no timeline: write the run with sim run --timeline --format json -o FILE (or with --trace) to see the pipeline stage by stage here.")
		}
		return
	}
	d.heading("The pipeline, one step")
	what := "a row per pipeline stage"
	if tl.Chunks > 1 {
		what = "a row per pipeline stage and model chunk"
	}
	d.para("", "The first replayed step as the replay ran it, %s: forward, backward and recomputation of each micro-batch, pipeline sends and data-parallel collectives (on their own stream: the strip at a row's foot) and the optimizer. White space is the pipeline bubble; the tensor-parallel collectives between kernels are drawn with the pass they belong to.", what)
	if tl.Coarse {
		d.para("", "Recomputation is drawn at the start of each backward pass, its total in that pass, to keep the timeline small.")
	}
	if tl.Truncated {
		d.para("", "The timeline was cut at %d spans; the end of the step is missing.", report.MaxTimelineSpans)
	}
	d.figure(&Figure{File: "timeline.png", SVG: "timeline.svg", Caption: fmt.Sprintf("The pipeline over one %s step (%s schedule, %d micro-batches)", secs(tl.StepS), rep.Layout.Schedule, rep.Layout.Microbatches),
		Chart: &PipelineTimeline{Title: "Pipeline timeline, first step", T: tl}})
}
