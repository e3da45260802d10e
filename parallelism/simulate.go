package parallelism

import (
	"fmt"
	"sort"

	"trainsim/collective"
	"trainsim/compute"
	"trainsim/sim"
	"trainsim/topology"
	"trainsim/units"
)

// Breakdown splits one GPU's step into where its time went. The parts add up
// to the step time.
type Breakdown struct {
	Compute   units.Seconds // forward and backward kernels: tensor-core and memory-bound
	Recompute units.Seconds // activation recomputation
	TP        units.Seconds // exposed tensor-parallel communication
	PP        units.Seconds // exposed pipeline sends (waiting on a transfer)
	DP        units.Seconds // exposed data-parallel communication
	Optimizer units.Seconds
	Bubble    units.Seconds // pipeline idle: waiting for other stages
	// TensorCore and HBM split Compute+Recompute by what bounds the kernels.
	TensorCore, HBM units.Seconds
	// Exposed splits the exposed communication (TP+PP+DP) by the link tier
	// that bounded each transfer, indexed by topology.Tier.
	Exposed [topology.NumTiers]units.Seconds
}

// CommStats is one kind of communication as one GPU sees it in one step.
type CommStats struct {
	Total   units.Seconds // time its transfers took
	Exposed units.Seconds // the part not hidden behind computation
	Bytes   units.Bytes   // bytes this GPU sent
}

// LinkStats is the load of one link tier, or of one link.
type LinkStats struct {
	Tier string
	// Link names one link ("stage 3 GPU → NIC") for the busiest-links list.
	Link  string
	Bytes units.Bytes
	// BusyFraction is bytes / (datasheet rate × step time), averaged over
	// the tier's links: the share of the step the link would be busy at
	// full rate.
	BusyFraction float64
	// SaturatedFraction is the share of the step the link ran at capacity
	// (flow mode only): a link that limits transfers.
	SaturatedFraction float64
}

// Result is the outcome of replaying a job.
type Result struct {
	Feasible bool
	Reason   string
	StepTime units.Seconds
	// Stage is the pipeline stage whose GPU is reported (the most loaded).
	Stage     int
	Breakdown Breakdown
	// Comm maps "tp", "pp", "dp", "cp", "ep" to the reported GPU's traffic.
	Comm map[string]CommStats
	// Memory is that of the GPU that needs most; MemoryStage says which stage.
	Memory       Memory
	MemoryStage  int
	Links        []LinkStats
	BusiestLinks []LinkStats
	// ModelFLOPs and HardwareFLOPs are per step for the whole job; the
	// latter counts recomputation.
	ModelFLOPs, HardwareFLOPs units.FLOPs
	// Tasks and Events size the replay.
	Tasks, Events int
	// Notes record modelling assumptions the reader should know.
	Notes []string
	// Timeline holds every task that took time, in task order, when
	// Options.Timeline asks for it.
	Timeline []Span
}

// Span is one task of the replay: where it ran and when.
type Span struct {
	// Lane names the GPU ("stage 3", or "replica 1 stage 3" in full mode);
	// Stream the stream on it ("compute", "tp", "pp-next", "pp-prev", "dp").
	Lane, Stream string
	// Kind is what the task did: "compute", "recompute", "tp", "pp", "dp",
	// "optimizer".
	Kind       string
	Start, End units.Seconds
}

// kindName names a task kind for traces.
func kindName(k sim.Kind) string {
	switch k {
	case KindCompute:
		return "compute"
	case KindRecompute:
		return "recompute"
	case KindTP:
		return "tp"
	case KindPP:
		return "pp"
	case KindDP:
		return "dp"
	case KindOptimizer:
		return "optimizer"
	}
	return "barrier"
}

// Simulate replays one training step (or Training.Steps of them) of the job
// Validate accepted and returns its timing, communication and memory.
func Simulate(v Valid) (*Result, error) {
	j, err := v.get()
	if err != nil {
		return nil, err
	}
	b, err := newBuilder(j)
	if err != nil {
		return nil, err
	}
	res, err := b.replay()
	if err != nil {
		return nil, err
	}
	res.ModelFLOPs = j.Model.FLOPsPerStep(j.Training.GlobalBatch)
	res.HardwareFLOPs = res.ModelFLOPs + j.recomputeFLOPs()
	if j.Options.Ranks == RanksFull {
		res.Notes = append(res.Notes, fmt.Sprintf("full replay: all %d data-parallel pipelines of %d stages simulated, one rank per tensor-parallel group; data-parallel collectives start when every replica reaches them", j.Layout.DP, j.Layout.PP))
	} else {
		res.Notes = append(res.Notes, fmt.Sprintf("symmetric replay: one pipeline of %d stages simulated, one rank per tensor-parallel group; the %d data-parallel replicas run the same program", j.Layout.PP, j.Layout.DP))
	}
	if c := j.Calibration; c.GEMMPeakFraction != nil && len(c.GEMMs) > 0 {
		res.Notes = append(res.Notes, "calibration: the measured GEMMs set the level of the GEMMs they correct, so calibration.gemm_peak_fraction does not change those")
	}
	return res, nil
}

// collectiveParams returns the collective model's constants with the
// scenario's forced all-reduce algorithm and calibration, if any.
func collectiveParams(j Job) collective.Params {
	p := collective.DefaultParams()
	p.AllReduce = j.Options.AllReduce
	if bw := j.Calibration.NVLinkBusBandwidth; bw != nil && j.Cluster.NVLink.Bandwidth > 0 {
		p.NVLinkFraction = float64(*bw / j.Cluster.NVLink.Bandwidth)
	}
	if bw := j.Calibration.NICBusBandwidth; bw != nil && j.Cluster.Network.NICBandwidth > 0 {
		p.NICFraction = float64(*bw / j.Cluster.Network.NICBandwidth)
	}
	return p
}

// kernelModel returns the compute model of j's GPU with its calibration.
func kernelModel(j Job) (compute.Model, error) {
	cm, err := compute.New(j.Cluster.GPU, j.Training.Precision)
	if err != nil {
		return cm, err
	}
	c := j.Calibration
	if c.GEMMPeakFraction != nil {
		cm.Params.GEMMPeakFraction = *c.GEMMPeakFraction
	}
	if c.HBMFraction != nil {
		cm.Params.HBMFraction = *c.HBMFraction
	}
	if c.FlashFraction != nil {
		cm.Params.FlashFraction = *c.FlashFraction
	}
	if c.KernelOverhead != nil {
		cm.Params.KernelOverhead = *c.KernelOverhead
	}
	if c.CommSMs != nil {
		cm.Params.CommSMs = *c.CommSMs
	}
	cm.Measured = c.GEMMs
	return cm, nil
}

// newBuilder prices the building blocks of j.
func newBuilder(j Job) (*builder, error) {
	cm, err := kernelModel(j)
	if err != nil {
		return nil, err
	}
	l := j.Layout
	b := &builder{
		j:      j,
		cm:     cm,
		coll:   collective.Model{Cluster: j.Cluster, Params: collectiveParams(j)},
		layers: (j.Model.Layers + l.PP*l.VirtualStages - 1) / (l.PP * l.VirtualStages),
		m:      j.Microbatches(),
		reps:   1,
	}
	if j.Options.Ranks == RanksFull {
		b.reps = l.DP
	}
	if err := b.prepare(); err != nil {
		return nil, err
	}
	return b, nil
}

// replay builds the task graph from b's costs, runs it and accounts for it,
// memory and feasibility included.
func (b *builder) replay() (*Result, error) {
	j, l := b.j, b.j.Layout
	b.reps = max(1, b.reps)
	lanes := b.reps * l.PP
	// Validate (run by Simulate) has bounded j.ReplayTasks, so est fits.
	est := j.Training.Steps * lanes * b.m * l.VirtualStages * (4 + b.layers*12)
	b.g = sim.NewGraph(est)
	b.st = make([]stageStreams, lanes)
	b.acc = make([]accum, lanes)
	b.pending = make([][]sim.TaskID, lanes)
	b.contention = make([]sim.Time, lanes)
	b.joins = map[joinKey][]sim.TaskID{}
	b.dpCalls = make([]int, lanes)
	b.info = make([]taskInfo, 0, est)
	b.flow = nil
	if j.Options.Network == NetworkFlow {
		f, err := newFlowNet(b)
		if err != nil {
			return nil, err
		}
		b.flow = f
	}
	for s := range b.st {
		b.st[s] = stageStreams{
			main:   b.g.AddResource(fmt.Sprintf("lane %d compute", s)),
			tp:     b.g.AddResource(fmt.Sprintf("lane %d tp", s)),
			ppNext: b.g.AddResource(fmt.Sprintf("lane %d pp-next", s)),
			ppPrev: b.g.AddResource(fmt.Sprintf("lane %d pp-prev", s)),
			dp:     b.g.AddResource(fmt.Sprintf("lane %d dp", s)),
		}
	}
	progs, err := b.build()
	if err != nil {
		return nil, err
	}
	var net sim.Network
	if b.flow != nil {
		net = b.flow
	}
	run, err := sim.RunWith(b.g, net)
	if err != nil {
		return nil, fmt.Errorf("replaying the step: %w", err)
	}
	res := b.account(run)
	if j.Options.Timeline {
		res.Timeline = b.timeline(run)
	}
	if b.flow != nil {
		res.Links, res.BusiestLinks = b.flow.links(run.Makespan.Seconds(), j.Training.Steps)
		res.Notes = append(res.Notes, fmt.Sprintf("flow-level network: %d transfers shared the links of a %d-link graph max-min fairly; collectives inside one node were simulated for one representative group", b.flow.flows, len(b.flow.topo.Links)))
	}
	for s := 0; s < l.PP; s++ {
		mem := j.stageMemory(s, j.inFlightLayers(progs[s], s))
		if s == 0 || mem.Peak > res.Memory.Peak {
			res.Memory, res.MemoryStage = mem, s
		}
	}
	res.Feasible = true
	if why := infeasibleMemory(res.MemoryStage, res.Memory, j.Cluster.GPU.HBM); why != "" {
		res.Feasible, res.Reason = false, why
	}
	res.Tasks = b.g.Tasks()
	res.Events = run.Events
	return res, nil
}

func sumBytes(b [topology.NumTiers]units.Bytes) units.Bytes {
	var t units.Bytes
	for _, x := range b {
		t += x
	}
	return t
}

// timeline lists the tasks that took time on the GPUs' streams.
func (b *builder) timeline(run *sim.Result) []Span {
	streams := map[sim.ResourceID][2]string{}
	for lane, st := range b.st {
		name := b.laneName(lane)
		for r, s := range map[sim.ResourceID]string{st.main: "compute", st.tp: "tp", st.ppNext: "pp-next", st.ppPrev: "pp-prev", st.dp: "dp"} {
			streams[r] = [2]string{name, s}
		}
	}
	var out []Span
	for id := 0; id < b.g.Tasks(); id++ {
		t := sim.TaskID(id)
		if run.End[t] == run.Start[t] {
			continue
		}
		where, ok := streams[b.g.Resource(t)]
		if !ok {
			continue
		}
		out = append(out, Span{Lane: where[0], Stream: where[1], Kind: kindName(b.g.Kind(t)),
			Start: units.Seconds(run.Start[t].Seconds()), End: units.Seconds(run.End[t].Seconds())})
	}
	return out
}

// laneName names a lane for the report: "stage 3", or "replica 2 stage 3"
// in full mode.
func (b *builder) laneName(lane int) string {
	if b.reps > 1 {
		return fmt.Sprintf("replica %d stage %d", b.replica(lane), b.stage(lane))
	}
	return fmt.Sprintf("stage %d", lane)
}

// recomputeFLOPs is the extra work recomputation adds per step.
func (j Job) recomputeFLOPs() units.FLOPs {
	m := j.Model
	b, s, h := float64(j.Training.GlobalBatch), float64(m.SeqLen), float64(m.Hidden)
	switch j.Layout.Recompute {
	case RecomputeFull:
		return (j.Model.ForwardFLOPs(j.Training.GlobalBatch) - units.FLOPs(2*b*s*h*float64(m.Vocab)))
	case RecomputeSelective:
		return units.FLOPs(float64(m.Layers) * 4 * b * s * s * h)
	}
	return 0
}

// inFlightLayers is the most layer activations stage s holds at once under
// its program prog.
func (j Job) inFlightLayers(prog []step, s int) int {
	return maxInFlightLayers(prog, func(chunk int) int { return j.LayersOf(chunk*j.Layout.PP + s) })
}

// account turns the replay into the reported figures.
func (b *builder) account(run *sim.Result) *Result {
	j, l := b.j, b.j.Layout
	p := b.reps * l.PP // lanes
	steps := float64(j.Training.Steps)
	makespan := run.Makespan
	sec := func(t sim.Time) units.Seconds { return units.Seconds(t.Seconds() / steps) }

	type stageAcc struct {
		busy    [numKinds]sim.Time
		tensor  sim.Time
		tier    [topology.NumTiers]sim.Time // exposed communication by bottleneck tier
		exposed [numKinds]sim.Time
		bubble  sim.Time
		total   [numKinds]sim.Time
		sent    [numKinds][topology.NumTiers]units.Bytes
	}
	acc := make([]stageAcc, p)
	lastEnd := make([]sim.Time, p)
	// runStart[t]: when the run of back-to-back tasks of t's kind on t's
	// resource began; a transfer queued behind others of its kind kept the
	// stream busy since then.
	runStart := make([]sim.Time, b.g.Tasks())
	resEnd := make([]sim.Time, b.g.Resources())
	resLast := make([]sim.TaskID, b.g.Resources())
	for i := range resLast {
		resLast[i] = sim.None
	}
	for id := 0; id < b.g.Tasks(); id++ {
		t := sim.TaskID(id)
		r := b.g.Resource(t)
		if prev := resLast[r]; prev != sim.None && run.Start[t] == resEnd[r] && b.g.Kind(prev) == b.g.Kind(t) {
			runStart[t] = runStart[prev]
		} else {
			runStart[t] = run.Start[t]
		}
		resLast[r], resEnd[r] = t, run.End[t]
	}
	for id := 0; id < b.g.Tasks(); id++ {
		t := sim.TaskID(id)
		inf := b.info[id]
		s := int(inf.stage)
		k := b.g.Kind(t)
		d := run.End[t] - run.Start[t] // network tasks last longer than their fixed part
		a := &acc[s]
		if k == KindBarrier {
			continue
		}
		a.total[k] += d
		for tier := range inf.sent {
			a.sent[k][tier] += inf.sent[tier]
		}
		if b.g.Resource(t) != b.st[s].main {
			continue
		}
		a.busy[k] += d
		a.tensor += inf.tensor
		if k == KindTP || k == KindPP || k == KindDP {
			a.tier[inf.tier] += d
		}
		// Idle time before this task, attributed to what it waited for.
		idleFrom := lastEnd[s]
		gap := run.Start[t] - idleFrom
		lastEnd[s] = run.End[t]
		if gap <= 0 {
			continue
		}
		// Follow zero-length markers and the optimizer barrier back to the
		// work that held this task up (another stage's reduction, say).
		cause := run.Binding[t]
		for cause != sim.None && run.End[cause] == run.Start[cause] && run.Binding[cause] != sim.None {
			cause = run.Binding[cause]
		}
		if cause != sim.None {
			ck := b.g.Kind(cause)
			if ck == KindPP || ck == KindDP || ck == KindTP {
				w := max(0, min(gap, run.End[cause]-max(runStart[cause], idleFrom)))
				a.exposed[ck] += w
				a.tier[b.info[cause].tier] += w
				gap -= w
			}
		}
		a.bubble += gap
	}
	// Reported stage: the one with the most compute.
	crit := 0
	for s := 1; s < p; s++ {
		if acc[s].busy[KindCompute]+acc[s].busy[KindRecompute] > acc[crit].busy[KindCompute]+acc[crit].busy[KindRecompute] {
			crit = s
		}
	}
	a := acc[crit]
	a.bubble += makespan - lastEnd[crit]
	res := &Result{StepTime: sec(makespan), Stage: b.stage(crit)}
	bd := &res.Breakdown
	bd.Compute = sec(a.busy[KindCompute])
	bd.Recompute = sec(a.busy[KindRecompute])
	bd.TP = sec(a.busy[KindTP] + a.exposed[KindTP])
	bd.PP = sec(a.busy[KindPP] + a.exposed[KindPP])
	bd.DP = sec(a.busy[KindDP] + a.exposed[KindDP])
	bd.Optimizer = sec(a.busy[KindOptimizer])
	bd.Bubble = sec(a.bubble)
	bd.TensorCore = sec(a.tensor)
	bd.HBM = bd.Compute + bd.Recompute - bd.TensorCore
	for tier := range a.tier {
		bd.Exposed[tier] = sec(a.tier[tier])
	}
	res.Comm = map[string]CommStats{}
	for name, k := range map[string]sim.Kind{"tp": KindTP, "pp": KindPP, "dp": KindDP} {
		res.Comm[name] = CommStats{
			Total: sec(a.total[k]),
			// Waiting for another GPU's transfer shows in the breakdown;
			// this GPU's own transfers cannot be more than all exposed.
			Exposed: sec(min(a.busy[k]+a.exposed[k], a.total[k])),
			Bytes:   sumBytes(a.sent[k]) / units.Bytes(steps),
		}
	}
	res.Comm["cp"] = CommStats{}
	res.Comm["ep"] = CommStats{}

	// Link tiers: every GPU of a stage does the same, tp×dp of them.
	perStage := float64(l.TP * l.DP / b.reps)
	step := makespan.Seconds() / steps
	// The analytical model knows each GPU's NVLink and NIC traffic.
	tiers := []topology.Tier{collective.NVLink, collective.NIC}
	rate := map[topology.Tier]units.Bandwidth{collective.NVLink: j.Cluster.NVLink.Bandwidth, collective.NIC: j.Cluster.NICBandwidthPerGPU()}
	var tierBytes [topology.NumTiers]units.Bytes
	var busiest []LinkStats
	for s := 0; s < p; s++ {
		var gpu [topology.NumTiers]units.Bytes
		for k := range acc[s].sent {
			for tier := range gpu {
				gpu[tier] += acc[s].sent[k][tier] / units.Bytes(steps)
			}
		}
		for _, tier := range tiers {
			tierBytes[tier] += gpu[tier] * units.Bytes(perStage)
			if gpu[tier] > 0 {
				busiest = append(busiest, LinkStats{
					Tier:         tier.String(),
					Link:         b.laneName(s) + " GPU → " + tier.String(),
					Bytes:        gpu[tier],
					BusyFraction: float64(gpu[tier].Over(rate[tier])) / step,
				})
			}
		}
	}
	gpus := float64(j.Cluster.GPUs())
	for _, tier := range tiers {
		res.Links = append(res.Links, LinkStats{
			Tier:         tier.String(),
			Bytes:        tierBytes[tier],
			BusyFraction: float64((tierBytes[tier] / units.Bytes(gpus)).Over(rate[tier])) / step,
		})
	}
	sort.SliceStable(busiest, func(x, y int) bool { return busiest[x].BusyFraction > busiest[y].BusyFraction })
	if len(busiest) > 5 {
		busiest = busiest[:5]
	}
	res.BusiestLinks = busiest
	return res
}

// LayerTimes returns the time of one transformer layer's forward and backward
// pass for one micro-batch on one GPU, tensor-parallel communication
// included and recomputation (as the layout asks) counted in the backward.
// It is what Korthikanti et al. 2022, Table 4 measured.
func LayerTimes(v Valid) (fwd, bwd units.Seconds, err error) {
	j, err := v.get()
	if err != nil {
		return 0, 0, err
	}
	cm, err := kernelModel(j)
	if err != nil {
		return 0, 0, err
	}
	b := &builder{j: j, cm: cm, coll: collective.Model{Cluster: j.Cluster, Params: collectiveParams(j)}, m: 1}
	if err := b.prepare(); err != nil {
		return 0, 0, err
	}
	c := b.c
	comm := sim.Time(0)
	if j.Layout.TP > 1 {
		tc, err := b.price(c.tpComm, 0, 0)
		if err != nil {
			return 0, 0, err
		}
		comm = 2 * sim.Time(c.tpCount) * toTime(tc.Time)
	}
	f := c.attnFwd + c.mlpFwd + comm
	bw := c.attnBwd + c.mlpBwd + comm
	switch j.Layout.Recompute {
	case RecomputeFull:
		bw += f
	case RecomputeSelective:
		bw += c.core
	}
	return units.Seconds(f.Seconds()), units.Seconds(bw.Seconds()), nil
}
