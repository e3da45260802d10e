package parallelism

import (
	"sort"

	"trainsim/collective"
	"trainsim/sim"
	"trainsim/topology"
	"trainsim/units"
)

// Accounting: a pure function of the task graph, what emission recorded of
// each task (taskInfo) and the engine's result. It turns the replay into the
// reported figures: the step time, the breakdown of the most loaded GPU with
// its bubble and exposed communication attributed to their causes, the
// communication per kind and the load per link tier.

// accountInput is everything the accounting reads.
type accountInput struct {
	g       *sim.Graph
	run     *sim.Result
	info    []taskInfo
	streams []stageStreams // per lane
	names   []string       // per lane, for the busiest-links list
	stage   []int          // per lane: its pipeline stage
	steps   int            // training steps replayed
	// gpusPerLane is, per lane, how many GPUs of the cluster it stands for.
	gpusPerLane []float64
	cluster     topology.Cluster
	// pr prices the collectives: a communication task sent what its
	// collective costs at its lane's stage (sentOf).
	pr *pricer
	// sc, when not nil, lends its arrays.
	sc *Scratch
	// sums, when not nil, are what the builder added up of each lane's
	// tasks that does not depend on their timing (laneSums); the tasks
	// then may have several members, and only the idle time before each is
	// left to find here.
	sums []laneSums
	// period, when not nil, says the graph holds two of the steps, the
	// others repeating the second (stepPeriod); it comes with sums.
	period *stepPeriod
	// within, when not nil, says the graph holds fewer micro-batches than
	// the job, the others repeating a steady period (mbPeriod).
	within *mbPeriod
}

// sentOf returns the cost of task inf's collective at its lane's stage,
// which holds what it sent (Sent per tier crossed, Bytes in all), or nil
// for a task that sent nothing.
func sentOf(pr *pricer, stage []int, inf *taskInfo) *collective.Cost {
	if inf.spec < 0 {
		return nil
	}
	return &pr.costs[int(inf.spec)*pr.j.Layout.PP+stage[inf.lane]]
}

// account turns the replay into the reported figures.
func account(in accountInput) *Result {
	g, run := in.g, in.run
	p := len(in.streams) // lanes
	steps := float64(in.steps)
	makespan := run.Makespan
	per := in.period
	if per != nil {
		makespan += sim.Time(per.extra) * per.shift
	}
	wi := in.within
	if wi != nil {
		makespan += sim.Time(wi.extra) * wi.shift
	}
	sec := func(t sim.Time) units.Seconds { return units.Seconds(t.Seconds() / steps) }

	type stageAcc struct {
		busy    [numKinds]sim.Time
		tensor  sim.Time
		tier    [topology.NumTiers]sim.Time // exposed communication by bottleneck tier
		exposed [numKinds]sim.Time
		bubble  sim.Time
		total   [numKinds]sim.Time
		sent    [numKinds][topology.NumTiers]units.Bytes
		bytes   [numKinds]units.Bytes
	}
	acc := make([]stageAcc, p)
	// addIdle adds to a, n times, the idle time (exposed, by tier, bubble)
	// accumulated between from and to: a period or step not emitted.
	addIdle := func(a, from, to *stageAcc, n sim.Time) {
		for k := range a.exposed {
			a.exposed[k] += n * (to.exposed[k] - from.exposed[k])
		}
		for tier := range a.tier {
			a.tier[tier] += n * (to.tier[tier] - from.tier[tier])
		}
		a.bubble += n * (to.bubble - from.bubble)
	}
	for s := range in.sums {
		sm := &in.sums[s]
		if per != nil {
			all := per.addSums(s, sm, per.extra)
			sm = &all
		}
		if wi != nil {
			all := wi.addSums(s, sm)
			sm = &all
		}
		acc[s].total, acc[s].busy, acc[s].tensor = sm.total, sm.busy, sm.tensor
		acc[s].tier, acc[s].sent, acc[s].bytes = sm.tier, sm.sent, sm.bytes
	}
	lastEnd := make([]sim.Time, p)
	// runStart[t]: when the run of back-to-back tasks of t's kind on t's
	// resource began; a transfer queued behind others of its kind kept the
	// stream busy since then.
	var runStart []sim.Time
	if in.sc != nil {
		if cap(in.sc.runStart) < g.Tasks() {
			in.sc.runStart = make([]sim.Time, g.Tasks())
		}
		runStart = in.sc.runStart[:g.Tasks()] // every element is written below
	} else {
		runStart = make([]sim.Time, g.Tasks())
	}
	runStarts(g, run, in.info, runStart)
	// Per lane: its main stream and its row of the pricer's cost cache
	// (what sentOf looks up).
	main := make([]sim.ResourceID, p)
	costs := make([][]collective.Cost, p)
	for s := range main {
		main[s] = in.streams[s].main
		costs[s] = in.pr.costs[in.stage[s]:]
	}
	pp := in.pr.j.Layout.PP
	sums := in.sums != nil
	var before []stageAcc       // acc when step 1 began (period)
	var wiFrom, wiTo []stageAcc // acc when period J began and ended (within)
	if wi != nil {
		wiFrom, wiTo = make([]stageAcc, p), make([]stageAcc, p)
	}
	for id := 0; id < g.Tasks(); id++ {
		t := sim.TaskID(id)
		if per != nil && t == per.first {
			before = append([]stageAcc(nil), acc...)
		}
		if wi != nil {
			s := int(in.info[id].lane)
			if t == wi.first[s][1] {
				wiFrom[s] = acc[s]
			}
			if t == wi.first[s][2] {
				wiTo[s] = acc[s]
			}
		}
		inf := &in.info[id]
		s := int(inf.lane)
		k := g.Kind(t)
		d := run.End[t] - run.Start[t] // network tasks last longer than their fixed part
		a := &acc[s]
		if k == KindBarrier {
			continue
		}
		if sums {
			if g.Resource(t) != main[s] {
				continue
			}
		} else {
			a.total[k] += d
			if inf.spec >= 0 { // sentOf, inlined
				c := &costs[s][int(inf.spec)*pp]
				for tier := range c.Sent {
					a.sent[k][tier] += c.Sent[tier]
				}
				a.bytes[k] += c.Bytes
			}
			if g.Resource(t) != main[s] {
				continue
			}
			a.busy[k] += d
			a.tensor += inf.tensor
			if k == KindTP || k == KindPP || k == KindDP || k == KindCP || k == KindEP {
				a.tier[inf.tier] += d
			}
		}
		// Idle time before this task, attributed to what it waited for.
		idleFrom := lastEnd[s]
		gap := run.Start[t] - idleFrom
		lastEnd[s] = run.End[t]
		if gap <= 0 {
			continue
		}
		if cause := causeOf(run, t); cause != sim.None {
			ck := g.Kind(cause)
			if ck == KindPP || ck == KindDP || ck == KindTP || ck == KindCP || ck == KindEP {
				w := max(0, min(gap, run.End[cause]-max(runStart[cause], idleFrom)))
				a.exposed[ck] += w
				a.tier[in.info[cause].tier] += w
				gap -= w
			}
		}
		a.bubble += gap
	}
	if per != nil {
		// Idle time of the steps not emitted: step 1's, once per step.
		n := sim.Time(per.extra)
		for s := range acc {
			addIdle(&acc[s], &before[s], &acc[s], n)
			lastEnd[s] += n * per.shift
		}
	}
	if wi != nil {
		// Idle time of the periods not emitted: period J's, once each.
		n := sim.Time(wi.extra)
		for s := range acc {
			addIdle(&acc[s], &wiFrom[s], &wiTo[s], n)
			lastEnd[s] += n * wi.shift
		}
	}
	// Reported stage: the one with the most compute.
	crit := 0
	for s := 1; s < p; s++ {
		if acc[s].busy[KindCompute]+acc[s].busy[KindRecompute] > acc[crit].busy[KindCompute]+acc[crit].busy[KindRecompute] {
			crit = s
		}
	}
	breakdown := func(s int) Breakdown {
		a := acc[s]
		a.bubble += makespan - lastEnd[s]
		var bd Breakdown
		bd.Compute = sec(a.busy[KindCompute])
		bd.Recompute = sec(a.busy[KindRecompute])
		bd.TP = sec(a.busy[KindTP] + a.exposed[KindTP])
		bd.PP = sec(a.busy[KindPP] + a.exposed[KindPP])
		bd.DP = sec(a.busy[KindDP] + a.exposed[KindDP])
		bd.CP = sec(a.busy[KindCP] + a.exposed[KindCP])
		bd.EP = sec(a.busy[KindEP] + a.exposed[KindEP])
		bd.Optimizer = sec(a.busy[KindOptimizer])
		bd.Bubble = sec(a.bubble)
		bd.TensorCore = sec(a.tensor)
		bd.HBM = bd.Compute + bd.Recompute - bd.TensorCore
		for tier := range a.tier {
			bd.Exposed[tier] = sec(a.tier[tier])
		}
		return bd
	}
	a := acc[crit]
	res := &Result{StepTime: sec(makespan), Stage: in.stage[crit], Breakdown: breakdown(crit)}
	// Every stage's breakdown, the first lane of each stage (the first
	// replica's in a full replay).
	seen := map[int]bool{}
	for s := 0; s < p; s++ {
		if seen[in.stage[s]] {
			continue
		}
		seen[in.stage[s]] = true
		res.Stages = append(res.Stages, StageBreakdown{Stage: in.stage[s], Lane: in.names[s], Breakdown: breakdown(s)})
	}
	res.Comm = map[string]CommStats{}
	for name, k := range map[string]sim.Kind{"tp": KindTP, "pp": KindPP, "dp": KindDP, "cp": KindCP, "ep": KindEP} {
		res.Comm[name] = CommStats{
			Total: sec(a.total[k]),
			// Waiting for another GPU's transfer shows in the breakdown;
			// this GPU's own transfers cannot be more than all exposed.
			Exposed: sec(min(a.busy[k]+a.exposed[k], a.total[k])),
			Bytes:   a.bytes[k] / units.Bytes(steps),
		}
	}

	// Link tiers: every GPU of a stage does the same, tp×dp of them.
	step := makespan.Seconds() / steps
	// The analytical model knows each GPU's traffic per tier crossed.
	fab := topology.FabricOf(in.cluster)
	tiers := []topology.Tier{collective.NVLink, topology.TierPCIe, collective.NIC, collective.Spine}
	rate := map[topology.Tier]units.Bandwidth{collective.NVLink: in.cluster.NVLink.Bandwidth, topology.TierPCIe: fab.PCIe, collective.NIC: in.cluster.NICBandwidthPerGPU()}
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
			tierBytes[tier] += gpu[tier] * units.Bytes(in.gpusPerLane[s])
			if gpu[tier] > 0 && (tier == collective.NVLink || tier == collective.NIC) {
				busiest = append(busiest, LinkStats{
					Tier:         tier.String(),
					Link:         in.names[s] + " GPU → " + tier.String(),
					Bytes:        gpu[tier],
					BusyFraction: float64(gpu[tier].Over(rate[tier])) / step,
				})
			}
		}
	}
	gpus := float64(in.cluster.GPUs())
	for _, tier := range tiers {
		if tierBytes[tier] == 0 && tier != collective.NVLink && tier != collective.NIC {
			continue
		}
		// Busy: the tier's bytes over its links' capacity: one link per GPU,
		// or every leaf's uplinks.
		capacity := units.Bandwidth(gpus) * rate[tier]
		if tier == collective.Spine {
			capacity = units.Bandwidth(fab.Leaves*fab.Spines) * fab.Uplink
		}
		busy := 0.0
		if capacity > 0 {
			busy = float64(tierBytes[tier].Over(capacity)) / step
		}
		res.Links = append(res.Links, LinkStats{Tier: tier.String(), Bytes: tierBytes[tier], BusyFraction: busy})
	}
	sort.SliceStable(busiest, func(x, y int) bool { return busiest[x].BusyFraction > busiest[y].BusyFraction })
	if len(busiest) > 5 {
		busiest = busiest[:5]
	}
	res.BusiestLinks = busiest
	return res
}

// runStarts sets runStart[t], for every task t, to when the run of
// back-to-back tasks of t's kind on t's resource that t ends began (for a
// task of several members: the run its last member ends); a transfer queued
// behind others of its kind kept the stream busy since then.
func runStarts(g *sim.Graph, run *sim.Result, info []taskInfo, runStart []sim.Time) {
	resEnd := make([]sim.Time, g.Resources())
	resLast := make([]sim.TaskID, g.Resources())
	for i := range resLast {
		resLast[i] = sim.None
	}
	for id := 0; id < g.Tasks(); id++ {
		t := sim.TaskID(id)
		r := g.Resource(t)
		// A task of several members of one kind continues the run before
		// it, or not, as a task of one does; one of several kinds ends a
		// run that began at its member runFrom.
		if rf := info[id].runFrom; rf > 0 {
			runStart[t] = run.Start[t] + g.MemberStart(t, int(rf))
		} else if prev := resLast[r]; prev != sim.None && run.Start[t] == resEnd[r] && g.Kind(prev) == g.Kind(t) {
			runStart[t] = runStart[prev]
		} else {
			runStart[t] = run.Start[t]
		}
		resLast[r], resEnd[r] = t, run.End[t]
	}
}

// causeOf returns what held task t up: its binding predecessor, followed
// back through zero-length markers and the optimizer barrier to the work
// (another stage's reduction, say); sim.None when nothing did.
func causeOf(run *sim.Result, t sim.TaskID) sim.TaskID {
	cause := run.Binding[t]
	for cause != sim.None && run.End[cause] == run.Start[cause] && run.Binding[cause] != sim.None {
		cause = run.Binding[cause]
	}
	return cause
}

// timeline lists the tasks that took time on the GPUs' streams.
func timeline(g *sim.Graph, run *sim.Result, pr *pricer, info []taskInfo, trace []traceInfo, stage, replica, rank []int, lanes []stageStreams, names []string) []Span {
	streams := map[sim.ResourceID][2]string{}
	for lane, st := range lanes {
		for r, s := range map[sim.ResourceID]string{st.main: "compute", st.tp: "tp", st.ppNext: "pp-next", st.ppPrev: "pp-prev", st.dp: "dp"} {
			streams[r] = [2]string{names[lane], s}
		}
	}
	var out []Span
	for id := 0; id < g.Tasks(); id++ {
		t := sim.TaskID(id)
		if run.End[t] == run.Start[t] {
			continue
		}
		where, ok := streams[g.Resource(t)]
		if !ok {
			continue
		}
		inf := &info[id]
		lb := trace[id].label
		var bytes units.Bytes
		if c := sentOf(pr, stage, inf); c != nil {
			bytes = c.Bytes
		}
		sp := Span{Lane: where[0], Stream: where[1], Kind: kindName(g.Kind(t)),
			Start: units.Seconds(run.Start[t].Seconds()), End: units.Seconds(run.End[t].Seconds()),
			Step: int(lb.step), Stage: stage[inf.lane], Replica: replica[inf.lane],
			MicroBatch: int(lb.mb), Chunk: int(lb.chunk), Bytes: bytes, Rank: rank[inf.lane],
			FirstLayer: LayerNone, LastLayer: LayerNone}
		switch lb.phase {
		case 1:
			sp.Phase = "fwd"
		case 2:
			sp.Phase = "bwd"
		case 3:
			sp.Phase = "wgrad"
		}
		switch k := g.Kind(t); k {
		case KindTP, KindPP, KindDP:
			sp.Tier = inf.tier.String()
		case KindCompute, KindRecompute:
			if id < len(trace) {
				sp.FLOPs = trace[id].flops
				sp.FirstLayer, sp.LastLayer = int(lb.layer), int(trace[id].lastLayer)
			}
		}
		out = append(out, sp)
	}
	return out
}
