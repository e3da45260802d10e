package parallelism

import "trainsim/sim"

// Periodic replay of training steps. Every step emits the same tasks, and
// a step's tasks depend on the step before only through that step's tail:
// the optimizer and what follows it, which all wait for the step's
// barrier. So when nothing of step 0 before its barrier is still running
// at the barrier, and every task of step 1 starts after it, step 1 saw of
// step 0 only a tail that is a function of the barrier's time: step 2
// sees of step 1 the same tail shifted by the time between the barriers
// (Δ), and so on by induction — every step after the first is step 1
// shifted by a multiple of Δ, its bindings, tie order and run starts
// included (the engine's choices depend only on times relative to each
// other and on the order of task ids, which the steps repeat). The replay
// then emits and runs two steps only and extrapolates the others: the
// makespan and every lane's last end move by Δ per step; durations, idle
// time and counts, all integers, add step 1's part once per further
// step; the bytes sent, floating-point, are added again in the order the
// unrolled replay adds them (step 1's sequence, recorded while emitting),
// so that the sums are the same bit for bit. Where a condition fails
// (a transfer of step 0 still in flight at its barrier, a task of step 1
// starting before step 0's barrier, a replay of several replicas whose
// collectives are joined after the last step), the job is replayed in
// full. TestPeriodicStepsEqualUnrolled checks the result field by field
// against the full replay.
type stepPeriod struct {
	barrier [2]sim.TaskID
	first   sim.TaskID // step 1's first task
	units0  int        // tasks (members counted) before step 1
	sums0   []laneSums // b.sums before step 1
	// rec, per lane, is the communication step 1 added to the byte sums,
	// in order.
	rec   [][]tplComm
	extra int      // steps not emitted
	shift sim.Time // Δ: the time between the barriers of steps 0 and 1
	// units and events of step 1, per further step.
	units, events int
}

// start marks the beginning of step 1 while b emits it.
func (p *stepPeriod) start(b *builder) {
	p.first = sim.TaskID(b.g.Tasks())
	p.units0 = b.g.Units()
	p.sums0 = append([]laneSums(nil), b.sums...)
	p.rec = make([][]tplComm, len(b.sums))
}

// holds reports whether the replay run of the two steps emitted in g meets
// the conditions under which the steps after them repeat step 1, and then
// sets the shift and the counts.
func (p *stepPeriod) holds(g *sim.Graph, run *sim.Result) bool {
	b0, b1 := run.Start[p.barrier[0]], run.Start[p.barrier[1]]
	if b1 <= b0 || run.Events != 2*g.Units() {
		return false
	}
	for t := sim.TaskID(0); t < p.barrier[0]; t++ {
		if run.End[t] > b0 {
			return false
		}
	}
	var end sim.Time
	for t := p.first; int(t) < g.Tasks(); t++ {
		if run.Start[t] <= b0 || (t < p.barrier[1] && run.End[t] > b1) {
			return false
		}
		end = max(end, run.End[t])
	}
	if end != run.Makespan {
		return false
	}
	p.shift = b1 - b0
	p.units = g.Units() - p.units0
	p.events = 2 * p.units
	return true
}

// addSums adds x further steps like step 1 to a lane's timing-free sums:
// the integer ones at once, the bytes one addition at a time in the
// unrolled order.
func (p *stepPeriod) addSums(lane int, now *laneSums, x int) laneSums {
	out := *now
	was := &p.sums0[lane]
	n := sim.Time(x)
	for k := range out.total {
		out.total[k] += n * (now.total[k] - was.total[k])
		out.busy[k] += n * (now.busy[k] - was.busy[k])
	}
	out.tensor += n * (now.tensor - was.tensor)
	for tier := range out.tier {
		out.tier[tier] += n * (now.tier[tier] - was.tier[tier])
	}
	for i := 0; i < x; i++ {
		for _, c := range p.rec[lane] {
			for tier := range c.c.Sent {
				out.sent[c.k][tier] += c.c.Sent[tier]
			}
			out.bytes[c.k] += c.c.Bytes
		}
	}
	return out
}
