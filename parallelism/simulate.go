package parallelism

import (
	"errors"
	"fmt"

	"trainsim/collective"
	"trainsim/compute"
	"trainsim/field"
	"trainsim/mesh"
	"trainsim/model"
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
	CP        units.Seconds // exposed context-parallel communication (ring attention)
	EP        units.Seconds // exposed expert-parallel communication (MoE all-to-alls)
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
	// Stages is every pipeline stage's breakdown, in stage order (the first
	// replica's in a full replay): imbalance between stages shows here.
	Stages []StageBreakdown
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
	// Stragglers says what slow GPUs cost the step; nil when every GPU is
	// alike (Job.Variation unset).
	Stragglers *StragglerStats
	// set is the replicas the replay simulated.
	set laneSet
}

// StageBreakdown is one pipeline stage's step: Lane names the GPU lane that
// stands for it.
type StageBreakdown struct {
	Stage     int
	Lane      string
	Breakdown Breakdown
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
	// Step is the training step the task belongs to (0-based). Stage is
	// the lane's pipeline stage, Replica its index among those replayed.
	Step, Stage, Replica int
	// Phase is the pass the task belongs to: "fwd", "bwd" (recompute is
	// Kind "recompute" in a "bwd" pass; the input gradient B of a split
	// backward) or "wgrad" (the weight-gradient pass W split off the
	// backward: by zb-h1, and by dualpipe for the chunks its schedule
	// splits), "" outside passes (gradient reduction after the last pass,
	// optimizer). MicroBatch and Chunk say which pass; -1 outside passes.
	Phase             string
	MicroBatch, Chunk int
	// Bytes is what a communication task sent from this GPU; Tier the link
	// tier that bounded it ("" for computation).
	Bytes units.Bytes
	Tier  string
	// Rank is the global rank of the lane's GPU.
	Rank int
	// FirstLayer and LastLayer are the layers a computation task covers
	// (several when the replay coalesced their kernels into one task): a
	// transformer layer's index in the model (0-based), LayerEmbedding or
	// LayerOutput; LayerNone outside passes and for communication.
	FirstLayer, LastLayer int
	// FLOPs is a computation task's arithmetic work on this GPU.
	FLOPs units.FLOPs
}

// Layer labels of spans that are not a transformer layer.
const (
	LayerNone      = -1
	LayerEmbedding = -2
	LayerOutput    = -3
)

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
	case KindCP:
		return "cp"
	case KindEP:
		return "ep"
	}
	return "barrier"
}

// Simulate replays one training step (or Training.Steps of them) of the job
// Validate accepted and returns its timing, communication and memory.
func Simulate(v Valid) (*Result, error) {
	return SimulateWith(v, nil)
}

// Scratch holds the arrays of a replay (task graph, engine state, task
// records, accounting) for reuse by the next replay made with it, so that a
// caller replaying many jobs one after another (a sweep or search worker, a
// benchmark) does not allocate and clear them afresh each time. The reports
// are the same with or without it. A Scratch is not safe for concurrent
// use: give each worker its own. The zero value is ready to use.
type Scratch struct {
	sim      sim.Scratch
	info     []taskInfo
	runStart []sim.Time
}

// SimulateWith is Simulate reusing the arrays of sc (nil: fresh ones).
// Nothing of the returned Result refers to sc.
func SimulateWith(v Valid, sc *Scratch) (*Result, error) {
	j, err := v.get()
	if err != nil {
		return nil, err
	}
	res, err := replay(j, sc)
	if err != nil {
		return nil, err
	}
	if j.Variation.Set() {
		// The same job with every GPU alike: what the stragglers cost.
		u := j
		u.Variation, u.Options.Timeline = Variation{}, false
		base, err := replay(u, sc)
		if err != nil {
			return nil, err
		}
		res.Stragglers = &StragglerStats{SlowGPUs: res.set.slow, UniformStep: float64(base.StepTime), Replicas: len(res.set.dp), SlowLinks: res.set.slowLinks}
		res.Notes = append(res.Notes, res.set.describe(j))
	}
	res.ModelFLOPs = j.Model.FLOPsPerStep(j.Training.GlobalBatch)
	res.HardwareFLOPs = res.ModelFLOPs + j.recomputeFLOPs()
	if j.Options.Ranks == RanksFull {
		res.Notes = append(res.Notes, fmt.Sprintf("full replay: all %s of %s simulated, one rank per tensor-parallel group; data-parallel collectives start when every replica reaches them", field.Count(j.Layout.DP, "data-parallel pipeline", "data-parallel pipelines"), field.Count(j.Layout.PP, "stage", "stages")))
	} else if !j.Variation.Set() {
		res.Notes = append(res.Notes, fmt.Sprintf("symmetric replay: one pipeline of %s simulated, one rank per tensor-parallel group; %s", field.Count(j.Layout.PP, "stage", "stages"), replicasNote(j.Layout.DP)))
	}
	if l := j.Layout; l.ZeRO == 3 && !l.OverlapGradReduce && l.DP*l.CP > 1 {
		res.Notes = append(res.Notes, "ZeRO-3: the gradient reduce-scatter runs beside the backward pass whatever parallelism.overlap_grad_reduce says (DeepSpeed's stage-3 default, overlap_comm = true); a blocking ZeRO-3 reduction is not modelled")
	}
	if note, err := j.zero3LoopsNote(); err != nil {
		return nil, err
	} else if note != "" {
		res.Notes = append(res.Notes, note)
	}
	if c := j.Calibration; c.GEMMPeakFraction != nil && len(c.GEMMs) > 0 {
		res.Notes = append(res.Notes, "calibration: the measured GEMMs set the level of the GEMMs they correct, so calibration.gemm_peak_fraction does not change those")
	}
	cp := collectiveParams(j)
	if c := cp.NVLinkAllReduce; c != nil && j.Cluster.GPU.Family == "hopper" {
		res.Notes = append(res.Notes, "collectives inside a node: XLA's measured all-reduce (groups of 2, 4 or 8 GPUs; reduce-scatter and all-gather half its time) and all-to-all (groups of 2 or more GPUs, linear in ranks between 2, 4 and 8, the 8-GPU time above) on NVLink 4, not the formula ("+c.Source+")")
	} else if c := cp.NVLinkAllToAll; c != nil && j.Layout.EP > 1 {
		res.Notes = append(res.Notes, "expert all-to-all inside an NVLink domain of 4 or more GPUs: NCCL's measured time on NVLink 5, not the formula ("+c.Source+")")
	}
	if n := j.Cluster.NICNote(); n != "" {
		// An assumption about the hardware: before the notes on the replay.
		res.Notes = append([]string{n}, res.Notes...)
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
	} else if j.Cluster.GPU.Family == "ampere" && j.Cluster.NVLink.Bandwidth == a100NVLink {
		// NCCL's all-reduce measured on A100 NVSwitch nodes replaces the
		// formula inside a node (collective.A100AllReduce); a scenario's
		// own NVLink rate or bus bandwidth keeps the formula.
		p.NVLinkAllReduce = collective.A100AllReduce()
	} else if j.Cluster.GPU.Family == "blackwell" && j.Cluster.NVLink.Bandwidth == nvlink5 {
		// NCCL's all-to-all measured on NVLink 5 replaces the formula
		// inside an NVLink domain (collective.NVLink5AllToAll); a
		// scenario's own NVLink rate or bus bandwidth keeps the formula.
		p.NVLinkAllToAll = collective.NVLink5AllToAll()
	} else if j.Cluster.GPU.Family == "hopper" && j.Cluster.NVLink.Bandwidth == nvlink4 {
		// XLA's measured collectives on one 8-GPU Hopper host replace
		// the formula inside a node: the all-reduce (and its halves) for
		// groups of 2, 4 and 8 GPUs, the all-to-all for groups of 2 or
		// more (collective.HopperCollectives); a scenario's own NVLink rate or
		// bus bandwidth keeps the formula.
		p.NVLinkAllReduce, p.NVLinkAllToAll = collective.HopperCollectives()
	}
	if bw := j.Calibration.NICBusBandwidth; bw != nil && j.Cluster.Network.NICBandwidth > 0 {
		p.NICFraction = float64(*bw / j.Cluster.Network.NICBandwidth)
	}
	return p
}

// a100NVLink is the A100's NVLink 3 rate per direction (12 links × 25
// GB/s), that of the systems the measured all-reduce ran on.
const a100NVLink = 300 * units.GBps

// nvlink4 is NVLink 4's rate per GPU and direction (18 links × 25 GB/s),
// that of the Hopper host XLA's measured collectives ran on.
const nvlink4 = 450 * units.GBps

// nvlink5 is NVLink 5's rate per GPU and direction (18 links × 50 GB/s),
// that of the systems the measured all-to-all ran on.
const nvlink5 = 900 * units.GBps

// kernelModel returns the compute model of j's GPU with its calibration.
func kernelModel(j Job) (compute.Model, error) {
	cm, err := compute.New(j.Cluster.GPU, j.Training.Precision)
	if err != nil {
		return cm, err
	}
	// FP8LinearSlowdown was measured on delayed-scaling runs (Transformer
	// Engine's default recipe, on Hopper and Blackwell alike); the other
	// recipes carry their own modelled quantisation kernels and no such
	// measurement, so they keep the efficiency curve.
	if r := j.Training.FP8Recipe; r != "" && r != model.FP8Delayed {
		cm.Params.FP8LinearSlowdown = 0
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
	if j.Training.HostIssue > 0 {
		cm.Params.HostIssue = j.Training.HostIssue
	}
	if f := j.Training.EagerHBMFraction; f > 0 {
		cm.Params.EagerHBMFraction = f
	}
	return cm, nil
}

// newPricer prices j's steps on its hardware.
func newPricer(j Job) (*pricer, error) {
	cm, err := kernelModel(j)
	if err != nil {
		return nil, err
	}
	m, err := j.mesh()
	if err != nil {
		return nil, err
	}
	memo := j.Options.ECMP
	if memo == nil {
		memo = &collective.ECMPMemo{}
	}
	coll := collective.Model{Cluster: latencyCluster(j), Params: collectiveParams(j), ECMP: memo}
	return &pricer{j: j, mesh: m, cm: cm, coll: coll}, nil
}

// latencyCluster is the cluster the collectives are priced on. In flow mode
// with an explicit topology (cluster.network.file) whose links give
// latencies, the latency terms come from the file: the generic NVLink and
// fabric latencies are replaced by the longest GPU-to-GPU path latency
// inside a node and across nodes (topology.Graph.Latencies), so a
// collective's fixed latency is its steps times its paths' link latencies.
// A file without latencies leaves the generic ones.
func latencyCluster(j Job) topology.Cluster {
	c := j.Cluster
	g := j.Options.Graph
	if j.Options.Network != NetworkFlow || g == nil {
		return c
	}
	intra, inter, hasIntra, hasInter, ok := g.Latencies()
	if !ok {
		return c
	}
	if hasIntra {
		c.NVLink.Latency = intra
	}
	if hasInter {
		c.Network.Latency = inter
	}
	return c
}

// replay builds the task graph of j, runs it and accounts for it, memory
// and feasibility included.
func replay(j Job, sc *Scratch) (*Result, error) {
	pr, err := newPricer(j)
	if err != nil {
		return nil, err
	}
	pl, err := newPlan(pr)
	if err != nil {
		return nil, err
	}
	r, err := runPlan(j, pr, pl, sc)
	if err != nil {
		return nil, err
	}
	res := r.result()
	if sc != nil {
		// Keep the (possibly grown) task records for the next replay.
		sc.info = r.b.info[:0]
	}
	return res, nil
}

// replayed is a replay that has run: the graph as emitted, the engine's
// result and, in flow mode, the network.
type replayed struct {
	j       Job
	b       *builder
	fn      *flowNet // nil in analytical mode
	run     *sim.Result
	progs   [][]step  // each stage's schedule
	names   []string  // per lane
	weights []float64 // per lane: the GPUs it stands for
	set     laneSet   // the replicas replayed
	sc      *Scratch  // arrays to reuse, or nil
	// fellBack is the periodic replay of micro-batches tried and found
	// not to hold (its why), if any: for tests.
	fellBack *mbPeriod
}

// runPlan emits the plan pl of j (priced by pr) as a task graph and runs it.
func runPlan(j Job, pr *pricer, pl *plan, sc *Scratch) (*replayed, error) {
	l := j.Layout
	b := &builder{j: j, pr: pr, plan: pl, m: j.Microbatches(), tim: analytical{}, reps: symmetric{}, dur: uniform{}}
	set := lanesOf(j, pr.mesh)
	reps := len(set.dp)
	lanes := reps * l.PP
	if reps > 1 {
		b.reps = newFullReplicas(reps, lanes)
	}
	names := make([]string, 0, lanes)
	weights := make([]float64, 0, lanes)
	var factor []float64
	for r, d := range set.dp {
		for s := 0; s < l.PP; s++ {
			b.laneRank = append(b.laneRank, pr.mesh.Rank(mesh.Coord{mesh.DP: d, mesh.PP: s}))
			b.laneStage = append(b.laneStage, s)
			b.laneReplica = append(b.laneReplica, r)
			b.laneDP = append(b.laneDP, d)
			names = append(names, laneName(reps, s, d))
			weights = append(weights, float64(l.TP*l.CP*set.weight[r]))
			if set.factor != nil {
				factor = append(factor, set.factor[r][s])
			}
		}
	}
	if factor != nil || set.slowLinks > 0 {
		sc := scaled{factor: factor}
		if set.slowLinks > 0 {
			sc.link = linkFactors(j, pr, b.laneRank, b.laneStage, set.slowNIC)
		}
		b.dur = sc
	}
	// Micro-batches of a steady 1F1B period repeat (period.go): with
	// members (decided below the same way), fewer of them are emitted. Not
	// for combined 1F1B (paired passes, one more warm-up forward).
	// Replicas of GPUs of different speeds each have a period of their
	// own, and what follows their joined reduction is no shift of the
	// shortened replay's: not tried (it would fall back).
	_, alike := b.dur.(uniform)
	if j.Options.Network != NetworkFlow && !j.Options.Timeline && !j.Options.reference &&
		j.Training.Steps == 1 && l.Schedule == OneFOneB && !l.combined1F1B() && !j.Options.noPeriodic && (reps == 1 || alike || j.Options.periodicUnlike) {
		if b.within = newMBPeriod(l.PP, b.m, b.laneStage); b.within != nil {
			b.m -= b.within.extra
			b.rec = make([][]tplComm, lanes)
		}
	}
	// Steps after the second repeat it (period.go) where tried: two are
	// emitted. A full replay joins its replicas' collectives after the
	// last step.
	periodic := j.stepsPeriodic(reps)
	steps := j.Training.Steps
	if periodic {
		steps = 2
	}
	// Validate bounded the tasks of the replay it expected (two steps
	// where the periodic replay is sure to be tried); a full replay after
	// a periodic check that did not hold may be larger: bounded here,
	// before anything is allocated.
	if n := replayTasks(j, steps, float64(reps), float64(b.m)); n > MaxReplayTasks {
		return nil, replayTooLarge(j, n)
	}
	layers := j.maxChunkBlocks()
	est := steps * lanes * b.m * l.ChunksPerGPU() * (4 + layers*12)
	// The embedding and output layers, gradient reductions and the
	// optimizer add a few tasks per pass and per step: room for them, so
	// that the arrays are not copied to grow near the end.
	est += est/16 + steps*lanes*64
	// With members (builder.members, decided below the same way) a pass
	// is a few engine tasks: its marker and kernels, its send, and two
	// more around each overlapped collective or per-layer data-parallel
	// transfer; est then sizes the members.
	units := est
	if j.Options.Network != NetworkFlow && !j.Options.Timeline && !j.Options.reference {
		perLayer := 0
		for i := range pl.layers {
			for _, ids := range [][]stepID{pl.layers[i].fwd, pl.layers[i].bwd, pl.layers[i].rec, pl.layers[i].wgt} {
				n := 0
				for _, id := range ids {
					if pr.steps[id].overlap {
						n++
					}
				}
				perLayer = max(perLayer, n)
			}
		}
		if l.ZeRO >= 2 {
			perLayer++
		}
		est = steps*lanes*b.m*l.ChunksPerGPU()*2*(3+3*layers*perLayer) + steps*lanes*64
	}
	if sc != nil {
		b.g = sc.sim.NewGraph(est)
	} else {
		b.g = sim.NewGraph(est)
	}
	b.g.ReserveMembers(units - est)
	b.st = make([]stageStreams, lanes)
	b.acc = make([]accum, lanes)
	b.pending = make([][]sim.TaskID, lanes)
	b.contention = make([]sim.Time, lanes)
	if sc != nil && cap(sc.info) >= est {
		b.info = sc.info[:0]
	} else {
		b.info = make([]taskInfo, 0, est)
	}
	if j.Options.Timeline {
		b.trace = make([]traceInfo, 0, est)
	}
	var fn *flowNet
	if j.Options.Network == NetworkFlow {
		var err error
		if fn, err = newFlowNet(j, pr); err != nil {
			return nil, err
		}
		b.tim = fn
	}
	for lane := range b.st {
		b.st[lane] = stageStreams{
			main:   b.g.AddResource(fmt.Sprintf("lane %d compute", lane)),
			tp:     b.g.AddResource(fmt.Sprintf("lane %d tp", lane)),
			ppNext: b.g.AddResource(fmt.Sprintf("lane %d pp-next", lane)),
			ppPrev: b.g.AddResource(fmt.Sprintf("lane %d pp-prev", lane)),
			dp:     b.g.AddResource(fmt.Sprintf("lane %d dp", lane)),
		}
		b.st[lane].cp = b.st[lane].tp
		if l.CP > 1 {
			b.st[lane].cp = b.g.AddResource(fmt.Sprintf("lane %d cp", lane))
		}
	}
	_, b.sameGPUs = b.dur.(uniform)
	_, b.closedForm = b.tim.(analytical)
	if b.closedForm && !j.Options.Timeline && !j.Options.reference {
		b.members = true
		b.sums = make([]laneSums, lanes)
		keys := l.PP
		if !b.sameGPUs {
			keys = lanes
		}
		if n := int(model.NumLayerKinds) * numLists * keys * 2; n <= 1<<16 {
			b.tpls = make([]template, n)
		}
		if periodic {
			b.period = &stepPeriod{extra: j.Training.Steps - 2}
		}

	}
	progs, err := b.build()
	if err != nil {
		return nil, err
	}
	var run *sim.Result
	switch {
	case fn != nil:
		run, err = sim.RunWith(b.g, fn)
	case j.Options.reference:
		run, err = sim.Run(b.g)
	default:
		// The same result as sim.Run, a chain of back-to-back tasks (a
		// stage's kernels and blocking collectives) handled in one event.
		if sc != nil {
			run, err = sc.sim.RunChains(b.g)
		} else {
			run, err = sim.RunChains(b.g)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("replaying the step: %w%s", err, rangeHint(err))
	}
	if b.period != nil {
		b.period.rec = b.rec
	}
	if b.within != nil {
		b.within.rec = b.rec
		for s := range progs {
			progs[s] = stageProgram(l, b.within.m, s)
		}
	}
	if b.period != nil && !b.period.holds(b.g, run) || b.within != nil && !b.within.holds(b, run) {
		// The steps may not repeat: all of them, then.
		j.Options.noPeriodic = true
		r, err := runPlan(j, pr, pl, sc)
		if r != nil {
			r.fellBack = b.within
		}
		return r, err
	}
	// The steps and micro-batches not emitted extend the replayed makespan
	// (account adds them); the whole step must stay in the engine's range
	// too, or the sum wraps around to a negative step time.
	end := float64(run.Makespan)
	if b.period != nil {
		end += float64(b.period.extra) * float64(b.period.shift)
	}
	if b.within != nil {
		end += float64(b.within.extra) * float64(b.within.shift)
	}
	if !(end < float64(sim.Limit)) {
		return nil, fmt.Errorf("replaying the step: %w: the replayed micro-batches and steps repeated up to the job's would end at %.3g s%s", sim.ErrRange, end*1e-9, rangeHint(sim.ErrRange))
	}
	if fn != nil {
		fn.tiers(b.info)
	}
	return &replayed{j: j, b: b, fn: fn, run: run, progs: progs, names: names, weights: weights, set: set, sc: sc}, nil
}

// result accounts for the replay: timing, communication, links, memory and
// feasibility.
func (r *replayed) result() *Result {
	j, l, b := r.j, r.j.Layout, r.b
	res := account(accountInput{
		g: b.g, run: r.run, info: b.info, streams: b.st, names: r.names, stage: b.laneStage,
		steps: j.Training.Steps, gpusPerLane: r.weights, cluster: j.Cluster, pr: b.pr, sc: r.sc,
		sums: b.sums, period: b.period, within: b.within,
	})
	if j.Options.Timeline {
		res.Timeline = timeline(b.g, r.run, b.pr, b.info, b.trace, b.laneStage, b.laneReplica, b.laneRank, b.st, r.names)
	}
	if fab := topology.FabricOf(j.Cluster); r.fn == nil && fab.Spines > 0 && j.Cluster.Network.Oversubscription > 1 {
		spread := "spread by ECMP hashing (simulation.routing = \"ecmp\")"
		if j.routing() == RoutingSpray {
			spread = "sprayed evenly over them (simulation.routing = \"spray\": adaptive routing)"
		}
		res.Notes = append(res.Notes, "analytical spine: each collective's transfers between leaves (all its copies at once) share their leaf's uplinks, "+spread+"; other traffic on those uplinks at the same time is not seen (simulation.network = \"flow\" sees it)")
	}
	if fn := r.fn; fn != nil {
		res.Links, res.BusiestLinks = fn.links(r.run.Makespan.Seconds(), j.Training.Steps)
		// The tiers' bytes as both modes count them (tierbytes.go).
		tb := fn.tierBytes(func(t int) int { return int(b.info[t].lane) }, r.weights, j.Training.Steps)
		for i := range res.Links {
			if tier, ok := topology.ParseTier(res.Links[i].Tier); ok {
				res.Links[i].Bytes = tb[tier]
			}
		}
		res.Notes = append(res.Notes, fn.note())
	}
	for s := 0; s < l.PP; s++ {
		mem := j.stageMemory(s, j.inFlightLayers(r.progs[s], s))
		if s == 0 || mem.Peak > res.Memory.Peak {
			res.Memory, res.MemoryStage = mem, s
		}
	}
	res.Feasible = true
	if why := infeasibleMemory(res.MemoryStage, res.Memory, j.Cluster.GPU.HBM); why != "" {
		res.Feasible, res.Reason = false, why
	}
	res.Tasks = b.g.Units()
	res.Events = r.run.Events
	if p := b.period; p != nil {
		res.Tasks += p.extra * p.units
		res.Events += p.extra * p.events
	}
	if q := b.within; q != nil {
		res.Tasks += q.extra * q.per
		res.Events += 2 * q.extra * q.per
	}
	res.set = r.set
	return res
}

// laneName names a lane for the report: "stage 3", or "replica 2 stage 3"
// when reps replicas are replayed.
func laneName(reps, stage, replica int) string {
	if reps > 1 {
		return fmt.Sprintf("replica %d stage %d", replica, stage)
	}
	return fmt.Sprintf("stage %d", stage)
}

// recomputeFLOPs is the extra work recomputation adds per step.
func (j Job) recomputeFLOPs() units.FLOPs {
	m := j.Model
	b, s, h := float64(j.Training.GlobalBatch), float64(m.SeqLen), float64(m.Hidden)
	switch j.Layout.Recompute {
	case RecomputeFull:
		// Every block's forward again: not the output layers (the main
		// one and each MTP module's), nor an MTP module's projection.
		heads := float64(1 + m.MTPDepth)
		return (j.Model.ForwardFLOPs(j.Training.GlobalBatch) - units.FLOPs(heads*2*b*s*h*float64(m.Vocab)+float64(m.MTPDepth)*2*b*s*2*h*h))
	case RecomputeSelective:
		mods := j.Layout.modules()
		var f float64
		if mods.Has(model.ModuleCoreAttn) {
			// Each layer's attention core, a local layer's scaled to
			// the pairs its window keeps (model.Config.CoreFraction).
			var layers float64
			for i := range m.Layers {
				layers += m.CoreFraction(m.KindOf(i))
			}
			layers += float64(m.MTPDepth) * m.CoreFraction(m.MTPBlockKind())
			f += layers * 4 * b * s * s * h
		}
		if mods.Has(model.ModuleMLAUpProj) && m.MLA() {
			// The query and KV up-projections' GEMMs of every layer
			// (multi-latent attention in every block).
			perToken := float64(m.QLoRARank)*float64(m.Heads*m.HeadDim()) + float64(m.KVLoRARank)*float64(m.Heads*(m.QKNopeDim+m.VDim()))
			f += float64(m.Layers+m.MTPDepth) * 2 * b * s * perToken
		}
		if mods.Has(model.ModuleMLP) {
			// The dense layers' MLP forward: 2·B·s·h·f per GEMM, three
			// GEMMs' worth for a gated MLP (gate and up, then down).
			dense := m.Layers - m.MoELayers()
			mu := 2.0
			if m.GatedMLP {
				mu = 3
			}
			f += float64(dense) * 2 * b * s * h * float64(m.FFNHidden) * mu
		}
		// The norms and the expert activation are memory-bound kernels.
		return units.FLOPs(f)
	case RecomputeOpSAC:
		// Every layer's re-run matmuls (model.opSACRecompute): the K
		// projection (kv_heads·d), the output projection (heads·d_v)
		// and, with a gated MLP, w3 (ffn), each 2·B·s·h·n.
		n := float64(m.KVHeads*m.HeadDim() + m.Heads*m.VDim())
		if m.GatedMLP {
			n += float64(m.FFNHidden)
		}
		return units.FLOPs(float64(m.Layers) * 2 * b * s * h * n)
	}
	return 0
}

// inFlightLayers is the most layer activations stage s holds at once under
// its program prog.
func (j Job) inFlightLayers(prog []step, s int) int {
	blocks := j.blockCounts()
	return maxInFlightLayers(prog, func(chunk int) int { return blocks[j.Layout.vsOf(s, chunk)] })
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
	pr, err := newPricer(j)
	if err != nil {
		return 0, 0, err
	}
	layer := j.Model.Programs(j.Shard())[model.TransformerLayer]
	pass := func(progs ...model.Program) (sim.Time, error) {
		lists := make([][]stepID, len(progs))
		for i, prog := range progs {
			lists[i] = pr.compile(prog)
		}
		return pr.passTime(lists...)
	}
	f, err := pass(layer.Forward)
	if err != nil {
		return 0, 0, err
	}
	bw, err := pass(layer.Recompute, layer.Backward)
	if err != nil {
		return 0, 0, err
	}
	return units.Seconds(f.Seconds()), units.Seconds(bw.Seconds()), nil
}

// passTime is the time one pass through a layer takes on one GPU's main
// stream, its step lists run one after another, the way the replay runs them
// (builder.emitPart): a collective not right after a compute step blocks
// the main stream; the overlapped collectives right after a compute step
// start with it, one at a time on their stream (the TP stream; ring
// attention's exchange on its own CP stream when CP > 1), and the next
// main-stream step waits for them all. So a compute step and its overlapped
// collectives take the longest of the compute and each stream's sum: two
// collectives after one compute step share its window (a review found the
// second one's whole time added here, where the replay hides it). A wait
// left at the end of a list falls in the pass. As in the replay (commIn,
// comp), the SMs an overlapped collective's kernels take from computation
// (compute.Model.CommSlowdown of its time) lengthen the next compute step,
// or, with none left in the pass, the pass itself (the next layer's first
// step would pay them).
func (p *pricer) passTime(lists ...[]stepID) (sim.Time, error) {
	var t, owed sim.Time
	for _, list := range lists {
		for i := 0; i < len(list); i++ {
			st := &p.steps[list[i]]
			if st.kind == model.Collective {
				c, err := p.price(st.spec, 0)
				if err != nil {
					return 0, err
				}
				t += toTime(c.Time)
				continue
			}
			d := st.d + owed
			owed = 0
			var tp, cp sim.Time
			for i+1 < len(list) && p.steps[list[i+1]].overlap {
				i++
				spec := p.steps[list[i]].spec
				c, err := p.price(spec, 0)
				if err != nil {
					return 0, err
				}
				ct := toTime(c.Time)
				if p.specs[spec].group == groupCP && p.j.Layout.CP > 1 {
					cp += ct
				} else {
					tp += ct
				}
				owed += sim.Time(p.commSlowdown(spec) * float64(ct))
			}
			t += max(d, tp, cp)
		}
	}
	return t + owed, nil
}

// Models returns the kernel and collective models the replay of v prices
// its steps with: its GPU at its precision with its calibration, and its
// cluster's links (for another replay on the same hardware, such as the
// inference engines of an RL step).
func Models(v Valid) (compute.Model, collective.Model, error) {
	j, err := v.get()
	if err != nil {
		return compute.Model{}, collective.Model{}, err
	}
	cm, err := kernelModel(j)
	if err != nil {
		return compute.Model{}, collective.Model{}, err
	}
	return cm, collective.Model{Cluster: latencyCluster(j), Params: collectiveParams(j)}, nil
}

// rangeHint is what an error past the engine's range adds: the keys whose
// product made the step that long. Each is in range on its own (each has a
// ceiling at its key); their product is not.
func rangeHint(err error) string {
	if !errors.Is(err, sim.ErrRange) {
		return ""
	}
	return "; the model's sizes (model.seq_len, model.hidden, model.layers, model.ffn_hidden, model.vocab), the work per step (training.global_batch, parallelism.microbatch) and the GPU's speeds (cluster.gpu.peak, cluster.gpu.hbm_bandwidth) together make a step longer than that: make the sizes smaller or the GPU faster"
}

// replicasNote says, for the symmetric replay's note, what the dp
// data-parallel replicas do.
func replicasNote(dp int) string {
	if dp == 1 {
		return "one data-parallel replica"
	}
	return fmt.Sprintf("the %d data-parallel replicas run the same program", dp)
}
