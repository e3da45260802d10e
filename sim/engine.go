package sim

import (
	"errors"
	"fmt"
	"math"
)

// Time is virtual time in nanoseconds.
type Time int64

// Seconds converts t to seconds.
func (t Time) Seconds() float64 { return float64(t) * 1e-9 }

// Limit is the end of the engine's range: 2⁶² ns, about 146 years. No
// task may end at or after it; keeping every time below it also keeps the
// sum of a time and a duration from overflowing.
const Limit = Time(1) << 62

// ErrRange is returned when a task would end at or beyond Limit.
var ErrRange = errors.New("sim: time beyond the engine's range (2^62 ns, about 146 years)")

// FromSeconds converts seconds to Time, rounding to the nearest nanosecond.
// A duration at or beyond Limit (or NaN) comes back as Limit, which Run
// refuses, rather than wrapping around.
func FromSeconds(s float64) Time {
	if s <= 0 {
		return 0
	}
	if !(s*1e9 < float64(Limit)) {
		return Limit
	}
	return Time(s*1e9 + 0.5)
}

// ResourceID names a resource of a Graph.
type ResourceID int32

// TaskID names a task of a Graph.
type TaskID int32

// None is the TaskID used where there is no task.
const None TaskID = -1

// Kind is a caller-defined category of task, used for accounting.
type Kind uint8

// Graph is a set of tasks on resources with dependencies between them. Build
// it with AddResource, AddTask and After, then Run it. A Graph is not safe for
// concurrent use.
type Graph struct {
	resNames []string
	lastOn   []TaskID // per resource: the latest task added to it

	res    []ResourceID
	dur    []Time
	kind   []Kind
	shared []bool // task's transfer time comes from the Network
	// anyShared: Share was called (some task may be a network task).
	anyShared bool

	// Dependency edges as pairs; compacted into adjacency lists by Run.
	from, to []TaskID

	// Members (Append): a task may stand for a chain of back-to-back
	// tasks. first[t] indexes moff at t's second member; moff holds each
	// further member's start, relative to the task's start (below 2³² ns,
	// 4.29 s: Append refuses a member that would start later). Only the
	// latest task may gain members, so every task's lie together. Both
	// stay empty until the first Append (hasMembers).
	first      []int32
	moff       []uint32
	hasMembers bool
}

// NewGraph returns an empty graph with room for about n tasks.
func NewGraph(n int) *Graph {
	return &Graph{
		res:    make([]ResourceID, 0, n),
		dur:    make([]Time, 0, n),
		kind:   make([]Kind, 0, n),
		shared: make([]bool, 0, n),
		from:   make([]TaskID, 0, 2*n),
		to:     make([]TaskID, 0, 2*n),
	}
}

// AddResource adds an in-order resource (a stream) and returns its ID.
func (g *Graph) AddResource(name string) ResourceID {
	g.resNames = append(g.resNames, name)
	g.lastOn = append(g.lastOn, None)
	return ResourceID(len(g.resNames) - 1)
}

// ResourceName returns the name given to r.
func (g *Graph) ResourceName(r ResourceID) string { return g.resNames[r] }

// Resources returns the number of resources.
func (g *Graph) Resources() int { return len(g.resNames) }

// Tasks returns the number of tasks.
func (g *Graph) Tasks() int { return len(g.res) }

// AddTask appends a task of duration d and kind k to resource r. It runs
// after every task added to r before it.
func (g *Graph) AddTask(r ResourceID, d Time, k Kind) TaskID {
	if d < 0 {
		d = 0
	}
	id := TaskID(len(g.res))
	g.res = append(g.res, r)
	g.dur = append(g.dur, d)
	g.kind = append(g.kind, k)
	g.shared = append(g.shared, false)
	if g.hasMembers {
		g.first = append(g.first, int32(len(g.moff)))
	}
	if prev := g.lastOn[r]; prev != None {
		g.from = append(g.from, prev)
		g.to = append(g.to, id)
	}
	g.lastOn[r] = id
	return id
}

// After makes t wait for every task in deps. None entries are ignored, so
// callers can pass "no dependency" without a branch.
func (g *Graph) After(t TaskID, deps ...TaskID) {
	for _, d := range deps {
		if d == None || d == t {
			continue
		}
		g.from = append(g.from, d)
		g.to = append(g.to, t)
	}
}

// Extend adds d to the duration of t. It lets a builder coalesce consecutive
// kernels of one stream into one task while nothing depends on the first part.
func (g *Graph) Extend(t TaskID, d Time) {
	if d > 0 {
		g.dur[t] += d
	}
}

// Append adds a member of duration d and kind k to t, the latest task
// added: t then stands for a chain of tasks, its members, run back to back
// on its resource, the new one last: the same as adding the member as a
// task of its own whose only dependency is t and on which nothing but the
// next member (or t's successors) depends. RunChains replays such a graph
// as it would the unrolled one (the same start for t's first member, the
// same end for its last, the same binding predecessors and event count);
// Kind(t) becomes the last member's kind. Append reports false, changing
// nothing, when t is not the latest task, d is not positive (a member of
// no length at the end would hide the one before it) or the member would
// start 2³² ns (4.29 s) or more after t (the graph keeps 32-bit offsets).
func (g *Graph) Append(t TaskID, d Time, k Kind) bool {
	if int(t) != len(g.res)-1 || d <= 0 || g.shared[t] || g.dur[t] > math.MaxUint32 {
		return false
	}
	if !g.hasMembers {
		// Every task so far has one member.
		if cap(g.first) < cap(g.res) {
			g.first = make([]int32, len(g.res), cap(g.res))
		} else {
			g.first = g.first[:len(g.res)]
			clear(g.first)
		}
		g.hasMembers = true
	}
	g.moff = append(g.moff, uint32(g.dur[t]))
	g.dur[t] += d
	g.kind[t] = k
	return true
}

// AppendAll appends members of durations ds to t, the last of kind k, as
// Append would one by one (the graph keeps only the last member's kind);
// it reports false, changing nothing, where Append would refuse one of them.
func (g *Graph) AppendAll(t TaskID, ds []Time, k Kind) bool {
	if len(ds) == 0 {
		return true
	}
	if int(t) != len(g.res)-1 || g.shared[t] {
		return false
	}
	end := g.dur[t]
	for _, d := range ds {
		if d <= 0 || end > math.MaxUint32 {
			return false
		}
		end += d
	}
	if !g.Append(t, ds[0], k) {
		return false
	}
	cur := g.dur[t]
	for _, d := range ds[1:] {
		g.moff = append(g.moff, uint32(cur))
		cur += d
	}
	g.dur[t] = cur
	return true
}

// ReserveMembers makes room for n members (Append) beyond the tasks'
// first.
func (g *Graph) ReserveMembers(n int) {
	if n > cap(g.moff)-len(g.moff) {
		g.moff = append(make([]uint32, 0, len(g.moff)+n), g.moff...)
	}
}

// Members returns the number of members of t: 1, or more after Append.
func (g *Graph) Members(t TaskID) int { return 1 + g.extra(t) }

// extra is the number of members t gained by Append.
func (g *Graph) extra(t TaskID) int {
	if !g.hasMembers {
		return 0
	}
	if int(t)+1 < len(g.first) {
		return int(g.first[t+1] - g.first[t])
	}
	return len(g.moff) - int(g.first[t])
}

// MemberStart returns when member i of t starts, after t's start.
func (g *Graph) MemberStart(t TaskID, i int) Time {
	if i == 0 {
		return 0
	}
	return Time(g.moff[int(g.first[t])+i-1])
}

// Units returns the number of tasks counting every member of each: the
// size of the unrolled graph.
func (g *Graph) Units() int { return len(g.res) + len(g.moff) }

// Share makes t a network task: when it starts, Run hands it to the Network,
// and it ends its own duration (a fixed latency) after the Network reports
// its transfers done.
func (g *Graph) Share(t TaskID) { g.shared[t], g.anyShared = true, true }

// Shared reports whether t is a network task.
func (g *Graph) Shared(t TaskID) bool { return g.shared[t] }

// Edges calls visit for every dependency added so far (stream order
// included), in the order they were added.
func (g *Graph) Edges(visit func(from, to TaskID)) {
	for i, f := range g.from {
		visit(f, g.to[i])
	}
}

// Last returns the latest task added to r, or None.
func (g *Graph) Last(r ResourceID) TaskID { return g.lastOn[r] }

// Resource returns the resource of t.
func (g *Graph) Resource(t TaskID) ResourceID { return g.res[t] }

// Duration returns the duration of t.
func (g *Graph) Duration(t TaskID) Time { return g.dur[t] }

// Kind returns the kind of t.
func (g *Graph) Kind(t TaskID) Kind { return g.kind[t] }

// Result is what happened when a Graph ran.
type Result struct {
	// Start and End hold each task's start and end time, indexed by TaskID.
	Start, End []Time
	// Binding holds, for each task, the predecessor (on its resource or a
	// dependency) that finished last, or None for a task that could start at 0.
	Binding []TaskID
	// Makespan is the end of the last task.
	Makespan Time
	// Order lists the tasks in the order their completion events were
	// processed; their end times never decrease along it.
	Order []TaskID
	// Events is the number of events processed (one start and one end per task).
	Events int
}

// ErrCycle is returned when some tasks can never start because their
// dependencies form a cycle.
var ErrCycle = errors.New("sim: dependency cycle")

// Network is a model of transfers that share links, such as a flow-level
// network. Run tells it when a network task starts; it tells Run when the
// transfers of started tasks are done. It must be deterministic.
type Network interface {
	// Start begins the transfers of task t at time now.
	Start(now Time, t TaskID)
	// Next returns the earliest time at which a started task's transfers
	// may finish, and false when none is in flight.
	Next() (Time, bool)
	// Advance moves the network to now and returns the tasks whose
	// transfers have all finished, in increasing TaskID order.
	Advance(now Time) []TaskID
}

// Run replays g and returns when each task ran. It fails only if the
// dependencies form a cycle. Network tasks (see Share) need RunWith.
func Run(g *Graph) (*Result, error) { return RunWith(g, nil) }

// RunWith replays g, handing network tasks to net.
func RunWith(g *Graph, net Network) (*Result, error) {
	if len(g.moff) > 0 {
		return nil, errors.New("sim: the graph has tasks of several members (Append); only RunChains replays it")
	}
	n := len(g.res)
	// Compact edges into adjacency lists (CSR), keeping insertion order.
	off := make([]int32, n+1)
	pending := make([]int32, n)
	for i, f := range g.from {
		off[f+1]++
		pending[g.to[i]]++
	}
	for i := 0; i < n; i++ {
		off[i+1] += off[i]
	}
	succ := make([]TaskID, len(g.from))
	fill := make([]int32, n)
	copy(fill, off[:n])
	for i, f := range g.from {
		succ[fill[f]] = g.to[i]
		fill[f]++
	}

	r := &Result{
		Start:   make([]Time, n),
		End:     make([]Time, n),
		Binding: make([]TaskID, n),
		Order:   make([]TaskID, 0, n),
	}
	for i := range r.Binding {
		r.Binding[i] = None
	}
	q := eventQueue{items: make([]event, 0, 1024)}
	var seq uint64
	// A network wake-up is an event with task None; only the one carrying
	// the latest version is acted on.
	var netVersion uint64
	var netChanged bool
	// overflow is a task that would end beyond Limit.
	overflow := None
	start := func(t TaskID, now Time) {
		r.Start[t] = now
		r.Events++
		if g.shared[t] && net != nil {
			net.Start(now, t)
			netChanged = true
			return
		}
		end := now + g.dur[t]
		if g.dur[t] >= Limit || end >= Limit || end < now {
			overflow = t
		}
		r.End[t] = end
		q.push(event{at: end, seq: seq, task: t})
		seq++
	}
	wake := func() {
		if !netChanged || net == nil {
			return
		}
		netChanged = false
		netVersion++
		if at, ok := net.Next(); ok {
			q.push(event{at: at, seq: seq, task: None, version: netVersion})
			seq++
		}
	}
	for i := 0; i < n; i++ {
		if pending[i] == 0 {
			r.Binding[i] = None
			start(TaskID(i), 0)
		}
	}
	for i := 0; i < n; i++ {
		if g.shared[i] && net == nil {
			return nil, fmt.Errorf("sim: task %d is a network task but no network was given", i)
		}
	}
	wake()
	done := 0
	for q.len() > 0 {
		if overflow != None {
			return nil, fmt.Errorf("%w: task %d on %s (duration %d ns) would end past it", ErrRange, overflow, g.resNames[g.res[overflow]], g.dur[overflow])
		}
		ev := q.pop()
		now := ev.at
		if ev.task == None {
			if ev.version != netVersion {
				continue
			}
			if now >= Limit {
				return nil, fmt.Errorf("%w: a network transfer would end at %d ns", ErrRange, now)
			}
			for _, t := range net.Advance(now) {
				end := now + g.dur[t]
				if g.dur[t] >= Limit || end >= Limit || end < now {
					overflow = t
				}
				r.End[t] = end
				q.push(event{at: end, seq: seq, task: t})
				seq++
			}
			netChanged = true
			wake()
			continue
		}
		done++
		r.Events++
		r.Order = append(r.Order, ev.task)
		if now > r.Makespan {
			r.Makespan = now
		}
		for _, s := range succ[off[ev.task]:off[ev.task+1]] {
			// Events come in time order, so the last predecessor to finish
			// is the one whose completion drops the count to zero.
			pending[s]--
			if pending[s] == 0 {
				r.Binding[s] = ev.task
				start(s, now)
			}
		}
		wake()
	}
	if done != n {
		return nil, fmt.Errorf("%w: %d of %d tasks never started", ErrCycle, n-done, n)
	}
	return r, nil
}

// event is the completion of a task.
type event struct {
	at      Time
	seq     uint64
	task    TaskID
	version uint64 // of a network wake-up (task None)
}

// eventQueue is a binary min-heap of events ordered by (at, seq). It is
// written out rather than built on container/heap to avoid an interface call
// per comparison on the engine's hot path.
type eventQueue struct{ items []event }

func (q *eventQueue) len() int { return len(q.items) }

func less(a, b event) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

func (q *eventQueue) push(e event) {
	q.items = append(q.items, e)
	i := len(q.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(q.items[i], q.items[p]) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items = q.items[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= last {
			break
		}
		m := l
		if r := l + 1; r < last && less(q.items[r], q.items[l]) {
			m = r
		}
		if !less(q.items[m], q.items[i]) {
			break
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
	return top
}

// RunChains replays g like Run and returns the same Start, End, Binding,
// Makespan and Events, but handles chains of tasks in one event each, so it
// processes far fewer events on graphs of long back-to-back sequences (a
// pipeline stage's kernels and blocking collectives). Result.Order is nil.
// It takes no Network: network tasks need RunWith.
//
// A chain is a run of tasks t₁ → t₂ → … → t_k where each edge tᵢ → tᵢ₊₁ is
// tᵢ's only outgoing edge and tᵢ₊₁'s only incoming one. Then tᵢ₊₁ starts
// exactly when tᵢ ends and its binding predecessor is tᵢ, whatever else
// happens, so when t₁ starts the whole chain's times are known; only t_k's
// completion, which may start other tasks, needs an event.
//
// Exactness of the order: Run processes completions at equal times in the
// order their tasks started (a sequence number), and that order decides
// which predecessor is a task's binding one when several end together.
// RunChains assigns no sequence numbers to the tasks inside chains, so it
// orders ties by what the sequence number encodes instead: a task that
// started earlier comes first; two that started at the same time come in the
// order of the completions that started them (compared the same way, back
// along the binding predecessors), and two started by the same completion in
// the order of its successor list; tasks that start at 0 with no
// predecessor come first, by ID. Every task's start time and binding
// predecessor are set when it starts, chain members included, so this order
// is the order Run would have processed the same events in
// (TestRunChainsEqualsRun compares the two on random graphs).
func RunChains(g *Graph) (*Result, error) {
	return new(Scratch).RunChains(g)
}

// Scratch holds the arrays of one graph and of its RunChains replay so that
// the next graph and replay built with the same Scratch reuse them instead
// of allocating (and clearing) fresh ones. A graph returned by NewGraph and
// a result returned by RunChains are valid until the next call of that
// method on the same Scratch. A Scratch is not safe for concurrent use:
// give each worker its own. The zero value is ready to use.
type Scratch struct {
	g                  Graph
	off, pending, head []int32
	succ, binding, nxt []TaskID
	start, end         []Time
	items              []chainEvent
	res                Result
}

// grow returns buf resized to n elements, reusing its array when it is
// large enough. The elements' values are unspecified.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// NewGraph returns an empty graph with room for about n tasks, built on
// the arrays of the previous graph s returned (which it replaces).
func (s *Scratch) NewGraph(n int) *Graph {
	g := &s.g
	reuse := func(buf []TaskID, n int) []TaskID {
		if cap(buf) < n {
			return make([]TaskID, 0, n)
		}
		return buf[:0]
	}
	g.resNames = g.resNames[:0]
	g.lastOn = g.lastOn[:0]
	g.res = grow(g.res, n)[:0]
	g.dur = grow(g.dur, n)[:0]
	g.kind = grow(g.kind, n)[:0]
	g.shared = grow(g.shared, n)[:0]
	g.anyShared = false
	g.first = g.first[:0]
	g.moff = g.moff[:0]
	g.hasMembers = false
	g.from = reuse(g.from, 2*n)
	g.to = reuse(g.to, 2*n)
	return g
}

// RunChains is RunChains (the package function) on the arrays of s; the
// result is overwritten by the next call.
func (s *Scratch) RunChains(g *Graph) (*Result, error) {
	n := len(g.res)
	for i := 0; g.anyShared && i < n; i++ {
		if g.shared[i] {
			return nil, fmt.Errorf("sim: task %d is a network task; RunChains takes no network", i)
		}
	}
	s.off = grow(s.off, n+1)
	s.pending = grow(s.pending, n)
	off, pending := s.off, s.pending
	clear(off)
	clear(pending)
	for i, f := range g.from {
		off[f+1]++
		pending[g.to[i]]++
	}
	for i := 0; i < n; i++ {
		off[i+1] += off[i]
	}
	s.succ = grow(s.succ, len(g.from))
	succ := s.succ
	// head serves first as each task's fill pointer into succ, then (reset)
	// as the start counter below.
	s.head = grow(s.head, n)
	head := s.head
	copy(head, off[:n])
	for i, f := range g.from {
		succ[head[f]] = g.to[i]
		head[f]++
	}
	// A chain member (a task whose only predecessor has no other
	// successor) is marked -1 in head; other tasks get their start counter
	// there when they start.
	// nxt[t] is the task that follows t in its chain, or None.
	clear(head)
	s.nxt = grow(s.nxt, n)
	nxt := s.nxt
	for t := 0; t < n; t++ {
		nxt[t] = None
		if off[t+1]-off[t] == 1 {
			if m := succ[off[t]]; pending[m] == 1 {
				head[m] = -1
				nxt[t] = m
			}
		}
	}
	// Every task's Start, End and Binding are written when it starts (a
	// task that never starts fails the run), so none needs clearing.
	fresh := cap(s.binding) < n
	s.start, s.end, s.binding = grow(s.start, n), grow(s.end, n), grow(s.binding, n)
	s.res = Result{Start: s.start, End: s.end, Binding: s.binding}
	r := &s.res
	if fresh {
		// Not needed for the result, but touching new memory in order
		// first is much faster than the scattered writes below would be.
		for i := range r.Binding {
			r.Binding[i] = None
		}
	}
	// head[t]: for a task started by an event or at the outset (not inside
	// a chain), 1 + the number of such tasks started before it, which is
	// their order in Run too; -1 for chain members.
	heads := int32(0)
	done := 0 // tasks started (their chains are done by the end)
	if s.items == nil {
		s.items = make([]chainEvent, 0, 1024)
	}
	q := chainQueue{items: s.items[:0], start: r.Start, binding: r.Binding, head: head, g: g}
	overflow := None
	check := func(t TaskID, now, end Time) {
		if overflow == None && (g.dur[t] >= Limit || end >= Limit || end < now) {
			overflow = t
		}
	}
	// start starts t at now and, with it, the rest of its chain; it queues
	// the chain's last completion.
	start := func(t TaskID, now Time) {
		heads++
		head[t] = heads
		r.Start[t] = now
		end := now + g.dur[t]
		check(t, now, end)
		r.End[t] = end
		r.Events += 1 + 2*g.extra(t)
		done++ // every chain started is done when its completion is popped
		for m := nxt[t]; m != None; m = nxt[m] {
			r.Start[m] = end
			r.Binding[m] = t
			e := end + g.dur[m]
			check(m, end, e)
			r.End[m] = e
			r.Events += 2 + 2*g.extra(m)
			done++
			t, end = m, e
		}
		q.push(chainEvent{at: end, task: t})
	}
	for i := 0; i < n; i++ {
		if pending[i] == 0 {
			r.Binding[i] = None
			start(TaskID(i), 0)
		}
	}
	for q.len() > 0 {
		if overflow != None {
			return nil, fmt.Errorf("%w: task %d on %s (duration %d ns) would end past it", ErrRange, overflow, g.resNames[g.res[overflow]], g.dur[overflow])
		}
		ev := q.pop()
		now := ev.at
		r.Events++
		if now > r.Makespan {
			r.Makespan = now
		}
		for _, s := range succ[off[ev.task]:off[ev.task+1]] {
			pending[s]--
			if pending[s] == 0 {
				r.Binding[s] = ev.task
				start(s, now)
			}
		}
	}
	if overflow != None {
		return nil, fmt.Errorf("%w: task %d on %s (duration %d ns) would end past it", ErrRange, overflow, g.resNames[g.res[overflow]], g.dur[overflow])
	}
	s.items = q.items[:0]
	if done != n {
		return nil, fmt.Errorf("%w: %d of %d tasks never started", ErrCycle, n-done, n)
	}
	return r, nil
}

// chainEvent is the completion of the last task of a chain.
type chainEvent struct {
	at   Time
	task TaskID
}

// chainQueue is a binary min-heap of chain completions ordered by time, then
// by the order Run would have started their tasks in (before).
type chainQueue struct {
	items   []chainEvent
	start   []Time
	binding []TaskID
	head    []int32
	g       *Graph // its tasks' members
}

func (q *chainQueue) len() int { return len(q.items) }

// before reports whether task a started before task b in Run's order: by
// start time, then by the order of the completions that started them. Two
// tasks both started by an event (or at the outset) compare by when
// RunChains started them: it processes events in Run's order and starts
// their successors in the same order, so that is Run's order too; it also
// ends the walk back through chains, which would otherwise go back as far
// as two identical replicas' histories are alike.
func (q *chainQueue) before(a, b TaskID) bool {
	if len(q.g.moff) == 0 {
		return q.beforeTasks(a, b)
	}
	// Members (Append): the walk goes through each task's members, last
	// to first, as it would through the unrolled chain; only a first
	// member can have been started by an event.
	ia, ib := q.g.extra(a), q.g.extra(b)
	for a != b || ia != ib {
		if sa, sb := q.start[a]+q.g.MemberStart(a, ia), q.start[b]+q.g.MemberStart(b, ib); sa != sb {
			return sa < sb
		}
		if ia == 0 && ib == 0 {
			if ha, hb := q.head[a], q.head[b]; ha > 0 && hb > 0 {
				return ha < hb
			}
		}
		if ia > 0 {
			ia--
		} else if a = q.binding[a]; a != None {
			ia = q.g.extra(a)
		}
		if ib > 0 {
			ib--
		} else if b = q.binding[b]; b != None {
			ib = q.g.extra(b)
		}
		switch {
		case a == None:
			return true
		case b == None:
			return false
		}
	}
	return false
}

// beforeTasks is before on a graph whose tasks have one member each.
func (q *chainQueue) beforeTasks(a, b TaskID) bool {
	for a != b {
		if sa, sb := q.start[a], q.start[b]; sa != sb {
			return sa < sb
		}
		if ha, hb := q.head[a], q.head[b]; ha > 0 && hb > 0 {
			// Both started by an event: in the order they were started.
			return ha < hb
		}
		// One of them is inside a chain, so its binding predecessor has
		// no other successor: the two have different ones (or none), and
		// the order is that of those completions.
		pa, pb := q.binding[a], q.binding[b]
		switch {
		case pa == None:
			return true
		case pb == None:
			return false
		}
		a, b = pa, pb
	}
	return false
}

func (q *chainQueue) less(a, b chainEvent) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return q.before(a.task, b.task)
}

func (q *chainQueue) push(e chainEvent) {
	q.items = append(q.items, e)
	i := len(q.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(q.items[i], q.items[p]) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

func (q *chainQueue) pop() chainEvent {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items = q.items[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= last {
			break
		}
		m := l
		if r := l + 1; r < last && q.less(q.items[r], q.items[l]) {
			m = r
		}
		if !q.less(q.items[m], q.items[i]) {
			break
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
	return top
}
