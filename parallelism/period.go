package parallelism

import (
	"trainsim/sim"
	"trainsim/topology"
	"trainsim/units"
)

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
	b.rec = make([][]tplComm, len(b.sums))
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

// addTimes adds to s, n times, the integer sums (durations, busy,
// tensor-core and exposed-tier time) accumulated between from and to.
func (s *laneSums) addTimes(from, to *laneSums, n sim.Time) {
	for k := range s.total {
		s.total[k] += n * (to.total[k] - from.total[k])
		s.busy[k] += n * (to.busy[k] - from.busy[k])
	}
	s.tensor += n * (to.tensor - from.tensor)
	for tier := range s.tier {
		s.tier[tier] += n * (to.tier[tier] - from.tier[tier])
	}
}

// addSums adds x further steps like step 1 to a lane's timing-free sums:
// the integer ones at once, the bytes one addition at a time in the
// unrolled order.
func (p *stepPeriod) addSums(lane int, now *laneSums, x int) laneSums {
	out := *now
	out.addTimes(&p.sums0[lane], now, sim.Time(x))
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

// Periodic replay of micro-batches (1F1B, one step). Lane
// s's pass list is a warm-up of w_s = p−s−1 forwards, steady periods j
// (the forward of micro-batch j+w_s, then the backward of j) and a
// cool-down. Period j of lane s waits only for period j of lane s+1 (the
// backward's gradient), period j−1 of lane s−1 (the forward's
// activations) and its own lane's period j−1 (each stream runs its tasks
// in order): for 1 ≤ j ≤ m−p, the periods x_j of all lanes are the same
// max-plus function of x_{j−1}, which commutes with adding a constant.
// So if x_J = x_{J−1} + Δ, task for task, every later all-lane period is
// x_J shifted by a multiple of Δ, and what follows the last of them (the
// cool-down, the gradient reduction, the optimizer) is what follows x_J
// with fewer micro-batches, shifted. The replay emits and runs the job
// with m' = min(m, p+mbWindow) micro-batches, checks x_J against x_{J−1}
// at J = m'−p (start, end, duration, kind, members, stream, tier,
// collective, run start, and the binding predecessor one period later
// on its own lane), and inserts the m−m' missing periods as copies of
// x_J: times after it move by (m−m')Δ, each lane's integer sums and idle
// time gain (m−m') times its period's, and the bytes are added again in
// the unrolled order (the recorded additions of the lane, the period's
// repeated in place). Where the check fails the job is replayed in full.
type mbPeriod struct {
	m, extra int // the job's micro-batches; periods not emitted
	at       int // J
	// per lane: the pass list index where period J−1, J and J+1 begin
	// (J+1: the pass after period J).
	pass [][3]int
	// per lane, at those passes: first task, units, sums, recorded bytes.
	first [][3]sim.TaskID
	units [][3]int
	sums  [][3]laneSums
	mark  [][3]int
	rec   [][]tplComm
	shift sim.Time
	// tasks (members counted) of one period, all lanes.
	per int
	// why says which check failed (for tests).
	why string
}

// mbWindow is how many periods beyond the first one the shortened replay
// has (J = m' − p = mbWindow): the steady state must have set in by then.
const mbWindow = 4

// newMBPeriod returns the periodic replay of m micro-batches on p stages
// for lanes of the stages given, or nil when m is too few for it to save
// anything.
func newMBPeriod(p, m int, stage []int) *mbPeriod {
	lanes := len(stage)
	mp := p + mbWindow
	if p == 1 {
		// Period J must not hold the last backward (the gradient
		// reduction), which on one stage is period m′−1.
		mp++
	}
	if m <= mp+1 {
		return nil
	}
	q := &mbPeriod{m: m, extra: m - mp, at: mbWindow}
	q.pass = make([][3]int, lanes)
	q.first = make([][3]sim.TaskID, lanes)
	q.units = make([][3]int, lanes)
	q.sums = make([][3]laneSums, lanes)
	q.mark = make([][3]int, lanes)
	for s := range q.pass {
		w := p - stage[s] - 1
		for i := range 3 {
			q.pass[s][i] = w + 2*(q.at-1+i)
		}
	}
	return q
}

// before notes the state of lane s before its pass i is emitted.
func (q *mbPeriod) before(b *builder, s, i int) {
	for k := range 3 {
		if q.pass[s][k] == i {
			q.first[s][k] = sim.TaskID(b.g.Tasks())
			q.units[s][k] = b.g.Units()
			q.sums[s][k] = b.sums[s]
			q.mark[s][k] = len(b.rec[s])
		}
	}
}

// holds checks period J against period J−1 on every lane.
func (q *mbPeriod) holds(b *builder, run *sim.Result) bool {
	g := b.g
	if run.Events != 2*g.Units() {
		q.why = "events"
		return false
	}
	if f, ok := b.reps.(*fullReplicas); ok {
		// A data-parallel collective joined across replicas in the
		// periods checked: its join task lies outside them.
		for _, ts := range f.joins {
			for _, t := range ts {
				s := b.info[t].lane
				if t >= q.first[s][0] && t < q.first[s][2] {
					q.why = "a data-parallel collective joined across replicas in the periods"
					return false
				}
			}
		}
	}
	runStart := make([]sim.Time, g.Tasks())
	runStarts(g, run, b.info, runStart)
	stride := make([]sim.TaskID, len(q.first))
	for s := range q.first {
		f := q.first[s]
		stride[s] = f[2] - f[1]
		if f[1]-f[0] != stride[s] || q.units[s][2]-q.units[s][1] != q.units[s][1]-q.units[s][0] {
			q.why = "periods of different sizes"
			return false
		}
	}
	// lane of a task, and whether it lies in period J−1 or J of it.
	q.shift = -1
	q.per = 0
	for s := range q.first {
		f := q.first[s]
		q.per += q.units[s][2] - q.units[s][1]
		for t := f[1]; t < f[2]; t++ {
			u := t - stride[s]
			d := run.Start[t] - run.Start[u]
			if q.shift < 0 {
				q.shift = d
			}
			if d != q.shift || run.End[t]-run.End[u] != d || runStart[t]-runStart[u] != d ||
				g.Duration(t) != g.Duration(u) || g.Kind(t) != g.Kind(u) || g.Resource(t) != g.Resource(u) ||
				g.Members(t) != g.Members(u) || b.info[t].tier != b.info[u].tier || b.info[t].spec != b.info[u].spec ||
				b.info[t].lane != b.info[u].lane || b.info[t].runFrom != b.info[u].runFrom {
				q.why = "a task differs"
				return false
			}
			bt, bu := run.Binding[t], run.Binding[u]
			if (bt == sim.None) != (bu == sim.None) || bt != sim.None && bt-bu != stride[b.info[bu].lane] {
				q.why = "a binding predecessor differs"
				return false
			}
		}
	}
	return q.shift > 0
}

// addSums returns lane's timing-free sums now with the periods not
// emitted: the integer ones period J's once each, the bytes added again
// from the start in the unrolled order.
func (q *mbPeriod) addSums(lane int, now *laneSums) laneSums {
	out := *now
	out.addTimes(&q.sums[lane][1], &q.sums[lane][2], sim.Time(q.extra))
	out.sent, out.bytes = [numKinds][topology.NumTiers]units.Bytes{}, [numKinds]units.Bytes{}
	rec, m1, m2 := q.rec[lane], q.mark[lane][1], q.mark[lane][2]
	add := func(cs []tplComm) {
		for _, c := range cs {
			for tier := range c.c.Sent {
				out.sent[c.k][tier] += c.c.Sent[tier]
			}
			out.bytes[c.k] += c.c.Bytes
		}
	}
	add(rec[:m2])
	for range q.extra {
		add(rec[m1:m2])
	}
	add(rec[m2:])
	return out
}
