package flow

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// LinkID names a link: an index into the capacities given to New.
type LinkID = int32

// FlowID names a flow. IDs are handed out in the order flows are added,
// starting at 0, and are never reused.
type FlowID int32

// Finished reports a flow that has transferred all its bytes.
type Finished struct {
	ID    FlowID
	Group int32 // as given to Add
	// Bottleneck is the link that bounded the flow's rate at its last
	// recomputation, or -1 if its own cap did (or it never needed a rate:
	// an empty transfer, or an empty path without a cap).
	Bottleneck LinkID
}

// Tolerances. They absorb floating-point error, not modelling choices.
const (
	// tolBytes and tolNs: a flow counts as finished once it has at most
	// this many bytes, or this many nanoseconds of transfer at its current
	// rate, left (as the package contract says).
	tolBytes = 1e-6
	tolNs    = 1.0
	// snapNs: a finish time this close above a whole nanosecond is rounded
	// down to it, not up, so that 3 flows of 1000 B sharing 1 GB/s finish at
	// 3000 ns and not at 3001 ns because 1000/(1e9/3)·1e9 = 3000.0000000000005.
	snapNs = 1e-3
	// saturatedFrac: a link carrying at least this fraction of its capacity
	// counts as saturated in LinkSaturated.
	saturatedFrac = 0.999
	// arenaChunk: LinkIDs allocated at once for the paths of new slots.
	arenaChunk = 1 << 14
	// maxTime: finish times at or beyond this are reported as MaxInt64.
	maxTime = float64(math.MaxInt64) / 2
)

// entry is one crossing of a link by a flow.
type entry struct {
	slot int32 // the flow's slot
	k    int32 // index of the link in the flow's path
}

type link struct {
	capacity float64
	entries  []entry // crossings by active flows; swap-removed
	load     float64 // summed rates since acc, bytes/s

	// Accounting, settled up to time acc.
	acc       int64
	bytes     float64
	busy, sat int64

	// Scratch for a recomputation.
	left float64 // capacity not yet given to frozen flows
	n    int32   // crossings by unfrozen flows
	nw   float64 // their summed weights (= n when every weight is 1)
	mark uint32  // epoch of the last component search that reached it
}

type flow struct {
	id      FlowID
	group   int32
	path    []LinkID
	pos     []int32   // pos[k]: index of this flow's entry in links[path[k]].entries
	weight  []float64 // weight[k]: its weight on path[k]; nil: all 1
	rem     float64   // bytes left at time upd
	upd     int64
	rate    float64 // bytes/s; 0 until the first recomputation
	maxRate float64 // 0 = unlimited
	bneck   LinkID

	// Scratch for a recomputation.
	mark     uint32
	frozen   bool
	newRate  float64
	newBneck LinkID
}

// Network holds links with capacities (bytes/s) and the active flows. It is a
// deterministic state machine driven by its caller; it is not safe for
// concurrent use.
type Network struct {
	now   int64
	links []link

	flows  []flow  // by slot; slots of finished flows are reused
	free   []int32 // free slots
	slotOf []int32 // by FlowID: its slot, or -1 once it has left the network
	active int     // flows holding a slot

	fh iheap // flow slots by finish time (ns, float)
	lh iheap // water-filling: links by fair share, and capped flows (item len(links)+slot) by cap

	seeds     []LinkID // links whose flows changed since the last recomputation
	epoch     uint32
	compLinks []LinkID
	compFlows []int32

	arena []LinkID // where new slots' path buffers are carved from

	pending []Finished // finished but not yet returned by Advance
	out     []Finished
}

// New returns a network of len(capacity) links, link i carrying at most
// capacity[i] bytes per second. It panics if a capacity is not a finite
// positive number.
func New(capacity []float64) *Network {
	n := &Network{links: make([]link, len(capacity))}
	for i, c := range capacity {
		if !(c > 0) || math.IsInf(c, 1) {
			panic(fmt.Sprintf("flow: link %d has capacity %v bytes/s, want a finite number > 0", i, c))
		}
		n.links[i].capacity = c
	}
	n.lh.grow(len(capacity))
	return n
}

// Add starts a flow of bytes over path (links, in order; a link may appear
// more than once) at time now, and returns its ID. maxRate caps the flow's
// own rate in bytes/s (0 or +Inf: no cap), e.g. a protocol ceiling. group is
// an opaque value returned with the flow when it finishes.
//
// A flow with an empty path is limited only by its cap; one with an empty
// path and no cap, or with bytes <= 0, finishes at now.
//
// Add first moves the clock to now as Advance does; flows that finish by then
// are reported by the next call to Advance. It panics if now is before the
// network's clock, a link does not exist, bytes is NaN or infinite, or maxRate
// is negative or NaN.
func (n *Network) Add(now int64, path []LinkID, bytes float64, maxRate float64, group int32) FlowID {
	return n.AddWeighted(now, path, nil, bytes, maxRate, group)
}

// AddWeighted is Add with a weight for each crossing: weight[k] > 0 is how
// many flows of this one's rate it stands for on path[k]. On that link it
// consumes weight[k] × its rate and counts weight[k] times in the fair
// share, so a flow of weight w is exactly w identical flows on that link,
// and weight 1/S on each of S parallel links is one flow split evenly over
// them. The flow's own rate (and its bytes, and its cap) are those of one
// flow. A nil weight means 1 everywhere, as Add; with every weight 1 the
// results are those of Add to the bit. It panics as Add does, and if weight
// is not nil and not as long as path, or a weight is not a finite number
// > 0.
func (n *Network) AddWeighted(now int64, path []LinkID, weight []float64, bytes float64, maxRate float64, group int32) FlowID {
	if weight != nil {
		if len(weight) != len(path) {
			panic(fmt.Sprintf("flow: AddWeighted: %d weights for a path of %d links", len(weight), len(path)))
		}
		for k, w := range weight {
			if !(w > 0) || math.IsInf(w, 1) {
				panic(fmt.Sprintf("flow: AddWeighted: weight %v on link %d, want a finite number > 0", w, path[k]))
			}
		}
	}
	for _, l := range path {
		if l < 0 || int(l) >= len(n.links) {
			panic(fmt.Sprintf("flow: Add: link %d does not exist (have %d)", l, len(n.links)))
		}
	}
	if math.IsNaN(bytes) || math.IsInf(bytes, 0) {
		panic(fmt.Sprintf("flow: Add: bytes = %v, want a finite number", bytes))
	}
	if !(maxRate >= 0) {
		panic(fmt.Sprintf("flow: Add: maxRate = %v bytes/s, want >= 0 (0 = unlimited)", maxRate))
	}
	if math.IsInf(maxRate, 1) {
		maxRate = 0
	}
	if now != n.now {
		// At the same time, leave the recomputation to whoever next needs
		// rates, so that many flows added at once cost one.
		n.advance(now)
	}

	id := FlowID(len(n.slotOf))
	n.slotOf = append(n.slotOf, -1)
	if bytes <= 0 || (len(path) == 0 && maxRate == 0) {
		n.pending = append(n.pending, Finished{ID: id, Group: group, Bottleneck: -1})
		return id
	}

	s := n.alloc()
	f := &n.flows[s]
	f.id, f.group = id, group
	// path and pos share one buffer, kept with the slot for its next flow.
	k := len(path)
	if cap(f.path) < 2*k {
		if len(n.arena)+2*k > cap(n.arena) {
			n.arena = make([]LinkID, 0, max(arenaChunk, 2*k))
		}
		f.path = n.arena[len(n.arena) : len(n.arena)+2*k : len(n.arena)+2*k]
		n.arena = n.arena[:len(n.arena)+2*k]
	}
	f.path = f.path[:k]
	f.pos = f.path[k : 2*k : 2*k]
	copy(f.path, path)
	if weight != nil {
		f.weight = append(f.weight[:0], weight...)
	} else {
		f.weight = nil
	}
	for k, l := range path {
		L := &n.links[l]
		f.pos[k] = int32(len(L.entries))
		L.entries = append(L.entries, entry{slot: s, k: int32(k)})
	}
	f.rem, f.upd = bytes, n.now
	f.rate, f.maxRate = 0, maxRate
	f.bneck = -1
	n.slotOf[id] = s
	n.active++
	if len(path) == 0 {
		f.rate = maxRate
		n.fh.set(s, float64(n.now)+bytes/maxRate*1e9)
	} else {
		n.seeds = append(n.seeds, path...)
	}
	return id
}

// alloc returns a free flow slot.
func (n *Network) alloc() int32 {
	if k := len(n.free); k > 0 {
		s := n.free[k-1]
		n.free = n.free[:k-1]
		return s
	}
	n.flows = append(n.flows, flow{})
	n.fh.grow(len(n.flows))
	n.lh.grow(len(n.links) + len(n.flows))
	return int32(len(n.flows) - 1)
}

// Next returns the earliest time (ns, rounded up to a whole ns) at which an
// active flow finishes, and false if none is active.
func (n *Network) Next() (int64, bool) {
	n.recompute()
	if len(n.pending) > 0 {
		return n.now, true
	}
	s, ok := n.fh.top()
	if !ok {
		return 0, false
	}
	return n.due(s), true
}

// Advance moves the network's clock to now, draining bytes at the current
// rates, removes every flow whose remaining bytes reach zero (within 1e-6
// bytes or 1 ns of transfer), recomputes rates, and returns the finished
// flows in FlowID order, with those that finished during earlier calls to Add.
//
// Advance stops at every finish time before now on the way, so that the
// bandwidth a finished flow frees goes to the others from that moment, even
// if the caller jumps past Next. The returned slice is reused by the next
// call. It panics if now is before the network's clock.
func (n *Network) Advance(now int64) []Finished {
	n.advance(now)
	n.out = append(n.out[:0], n.pending...)
	n.pending = n.pending[:0]
	slices.SortFunc(n.out, func(a, b Finished) int { return cmp.Compare(a.ID, b.ID) })
	return n.out
}

func (n *Network) advance(now int64) {
	if now < n.now {
		panic(fmt.Sprintf("flow: time goes back from %d ns to %d ns", n.now, now))
	}
	for {
		n.recompute()
		s, ok := n.fh.top()
		if !ok {
			break
		}
		t := n.due(s)
		if t > now {
			if !n.finishesAt(s, now) {
				break
			}
			t = now
		}
		n.now = t
		// The top flow is due at t by construction; others may be too.
		n.remove(s)
		for {
			s, ok := n.fh.top()
			if !ok || !n.finishesAt(s, t) {
				break
			}
			n.remove(s)
		}
	}
	n.now = now
}

// due is the whole ns at which flow slot s finishes at its current rate.
func (n *Network) due(s int32) int64 {
	f := n.fh.keyOf(s)
	if f >= maxTime {
		return math.MaxInt64
	}
	t := int64(math.Ceil(f - snapNs))
	return max(t, n.now)
}

// finishesAt says whether flow slot s is done at time t, within tolerance.
func (n *Network) finishesAt(s int32, t int64) bool {
	return n.fh.keyOf(s) <= float64(t)+tolNs || n.remAt(s, t) <= tolBytes
}

func (n *Network) remAt(s int32, t int64) float64 {
	f := &n.flows[s]
	return f.rem - f.rate*float64(t-f.upd)*1e-9
}

// remove takes flow slot s out of the network at n.now and queues it as
// finished.
func (n *Network) remove(s int32) {
	f := &n.flows[s]
	// The links have been charged rate×time for this flow, which overshoots
	// (or falls short of) its bytes by what is left now; settle the difference
	// so that each link carries exactly the bytes of the flows that crossed it.
	left := n.remAt(s, n.now)
	for k, l := range f.path {
		L := &n.links[l]
		L.bytes += left * f.w(k)
		p := f.pos[k]
		last := int32(len(L.entries) - 1)
		if p != last {
			e := L.entries[last]
			L.entries[p] = e
			n.flows[e.slot].pos[e.k] = p
		}
		L.entries = L.entries[:last]
		n.seeds = append(n.seeds, l)
	}
	n.fh.remove(s)
	n.pending = append(n.pending, Finished{ID: f.id, Group: f.group, Bottleneck: f.bneck})
	n.slotOf[f.id] = -1
	n.free = append(n.free, s)
	n.active--
}

// recompute gives max-min fair rates, from n.now on, to the flows of the
// connected components (flows linked by shared links) that contain a seed
// link. Flows elsewhere keep their rates.
func (n *Network) recompute() {
	if len(n.seeds) == 0 {
		return
	}
	n.epoch++
	if n.epoch == 0 { // wrapped: clear old marks
		for i := range n.links {
			n.links[i].mark = 0
		}
		for i := range n.flows {
			n.flows[i].mark = 0
		}
		n.epoch = 1
	}
	ep := n.epoch

	// Breadth-first search from the seeds over link → flow → link.
	cl, cf := n.compLinks[:0], n.compFlows[:0]
	for _, l := range n.seeds {
		if L := &n.links[l]; L.mark != ep {
			L.mark = ep
			cl = append(cl, l)
		}
	}
	n.seeds = n.seeds[:0]
	for i := 0; i < len(cl); i++ {
		for _, e := range n.links[cl[i]].entries {
			f := &n.flows[e.slot]
			if f.mark == ep {
				continue
			}
			f.mark = ep
			cf = append(cf, e.slot)
			for _, m := range f.path {
				if M := &n.links[m]; M.mark != ep {
					M.mark = ep
					cl = append(cl, m)
				}
			}
		}
	}
	n.compLinks, n.compFlows = cl, cf

	// Progressive filling. The heap holds every link with unfrozen flows,
	// keyed by the fair share it could give them, and every unfrozen capped
	// flow, keyed by its cap; the smallest key is the next to freeze. Links
	// sort before flows on equal keys, so a flow whose cap equals its fair
	// share is reported as bounded by the link.
	//
	// Freezing a flow only raises the fair share of the other links it
	// crosses ((left-x)/(n-1) >= left/n when x <= left/n), so their keys are
	// refreshed lazily: a link whose key has gone stale is re-keyed when it
	// reaches the top. A link whose flows are all frozen leaves the heap at
	// once: most links do, from near the bottom, which costs less than
	// popping them from the top (the order of the other pops is the same).
	now := n.now
	nl := int32(len(n.links))
	for _, l := range cl {
		L := &n.links[l]
		n.settle(L, now)
		L.left, L.n, L.load = L.capacity, int32(len(L.entries)), 0
		L.nw = 0
		for _, e := range L.entries {
			L.nw += n.flows[e.slot].w(int(e.k))
		}
		if L.n > 0 {
			n.lh.add(l, L.left/L.nw)
		}
	}
	for _, s := range cf {
		f := &n.flows[s]
		f.frozen = false
		if f.maxRate > 0 {
			n.lh.add(nl+s, f.maxRate)
		}
	}
	n.lh.heapify()
	level := 0.0 // rates are frozen in non-decreasing order
	for len(n.lh.items) > 0 {
		top := n.lh.items[0]
		if top.it >= nl {
			n.lh.pop()
			if s := top.it - nl; !n.flows[s].frozen {
				level = max(top.key, level)
				n.freeze(s, level, -1)
			}
			continue
		}
		L := &n.links[top.it]
		if L.n == 0 {
			n.lh.pop()
			continue
		}
		if share := max(L.left, 0) / L.nw; share > top.key {
			n.lh.rekeyTop(share)
			continue
		}
		n.lh.pop()
		level = max(top.key, level)
		for _, e := range L.entries {
			if !n.flows[e.slot].frozen {
				n.freeze(e.slot, level, top.it)
			}
		}
	}

	// Apply: settle the bytes of flows whose rate changed and reschedule them.
	for _, s := range cf {
		f := &n.flows[s]
		f.bneck = f.newBneck
		for k, m := range f.path {
			n.links[m].load += f.newRate * f.w(k)
		}
		if f.newRate == f.rate {
			continue
		}
		f.rem -= f.rate * float64(now-f.upd) * 1e-9
		f.upd = now
		f.rate = f.newRate
		n.fh.set(s, float64(now)+f.rem/f.rate*1e9)
	}
}

// freeze fixes flow slot s at rate x, bounded by link b (-1: its cap).
func (n *Network) freeze(s int32, x float64, b LinkID) {
	f := &n.flows[s]
	f.frozen, f.newRate, f.newBneck = true, x, b
	if f.weight == nil {
		for _, m := range f.path {
			M := &n.links[m]
			M.left -= x
			M.n--
			M.nw--
			if M.n == 0 {
				n.lh.remove(m)
			}
		}
		return
	}
	for k, m := range f.path {
		M := &n.links[m]
		w := f.weight[k]
		M.left -= w * x
		M.n--
		M.nw -= w
		if M.n == 0 {
			n.lh.remove(m)
		}
	}
}

// w is the flow's weight on path[k].
func (f *flow) w(k int) float64 {
	if f.weight == nil {
		return 1
	}
	return f.weight[k]
}

// settle charges link L's traffic since its last settlement, up to t.
func (n *Network) settle(L *link, t int64) {
	if dt := t - L.acc; dt > 0 && L.load > 0 {
		L.bytes += L.load * float64(dt) * 1e-9
		L.busy += dt
		if L.load >= saturatedFrac*L.capacity {
			L.sat += dt
		}
	}
	L.acc = t
}

// Rate returns the current rate of flow id in bytes/s, or 0 if it is not in
// the network (finished, or never added).
func (n *Network) Rate(id FlowID) float64 {
	n.recompute()
	if id < 0 || int(id) >= len(n.slotOf) {
		return 0
	}
	s := n.slotOf[id]
	if s < 0 {
		return 0
	}
	return n.flows[s].rate
}

// Active returns the number of flows added and not yet returned by Advance.
func (n *Network) Active() int { return n.active + len(n.pending) }

// LinkBytes returns the bytes link l has carried so far.
func (n *Network) LinkBytes(l LinkID) float64 {
	n.recompute()
	L := &n.links[l]
	return L.bytes + L.load*float64(n.now-L.acc)*1e-9
}

// LinkBusy returns the ns during which link l carried any traffic so far.
func (n *Network) LinkBusy(l LinkID) int64 {
	n.recompute()
	L := &n.links[l]
	if L.load > 0 {
		return L.busy + n.now - L.acc
	}
	return L.busy
}

// LinkSaturated returns the ns during which link l carried at least 99.9% of
// its capacity so far.
func (n *Network) LinkSaturated(l LinkID) int64 {
	n.recompute()
	L := &n.links[l]
	if L.load >= saturatedFrac*L.capacity {
		return L.sat + n.now - L.acc
	}
	return L.sat
}

// heapItem is an entry of a heap: an item and its key, kept together so
// that comparisons touch one array.
type heapItem struct {
	key float64
	it  int32
}

func (a heapItem) less(b heapItem) bool { return a.key < b.key || (a.key == b.key && a.it < b.it) }

// iheap is an indexed binary min-heap of small integer items ordered by
// (key, item). It is written out rather than built on container/heap to
// avoid an interface call per comparison.
type iheap struct {
	items []heapItem
	pos   []int32 // by item: index in items, or -1
}

// grow makes room for items 0..n-1.
func (h *iheap) grow(n int) {
	for len(h.pos) < n {
		h.pos = append(h.pos, -1)
	}
}

func (h *iheap) top() (int32, bool) {
	if len(h.items) == 0 {
		return 0, false
	}
	return h.items[0].it, true
}

// keyOf returns the key of item it, which must be in the heap.
func (h *iheap) keyOf(it int32) float64 { return h.items[h.pos[it]].key }

// push inserts item it, which must not be in the heap, with key k.
func (h *iheap) push(it int32, k float64) {
	h.pos[it] = int32(len(h.items))
	h.items = append(h.items, heapItem{k, it})
	h.up(len(h.items) - 1)
}

// add appends item it, which must not be in the heap, with key k, leaving
// the heap order to heapify.
func (h *iheap) add(it int32, k float64) {
	h.pos[it] = int32(len(h.items))
	h.items = append(h.items, heapItem{k, it})
}

// heapify restores the heap order after add, in linear time. The order of
// later pops does not depend on how the heap was built: (key, item) is a
// total order.
func (h *iheap) heapify() {
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// set gives item it key k, inserting it if absent.
func (h *iheap) set(it int32, k float64) {
	i := h.pos[it]
	if i < 0 {
		h.push(it, k)
		return
	}
	old := h.items[i].key
	h.items[i].key = k
	if k < old {
		h.up(int(i))
	} else {
		h.down(int(i))
	}
}

// rekeyTop raises the key of the top item to k.
func (h *iheap) rekeyTop(k float64) {
	h.items[0].key = k
	h.down(0)
}

// pop removes the top item.
func (h *iheap) pop() { h.remove(h.items[0].it) }

// remove takes item it out of the heap if present.
func (h *iheap) remove(it int32) {
	i := int(h.pos[it])
	if i < 0 {
		return
	}
	h.pos[it] = -1
	last := len(h.items) - 1
	if i == last {
		h.items = h.items[:last]
		return
	}
	moved := h.items[last]
	h.items = h.items[:last]
	h.items[i] = moved
	h.pos[moved.it] = int32(i)
	if i > 0 && moved.less(h.items[(i-1)/2]) {
		h.up(i)
	} else {
		h.down(i)
	}
}

func (h *iheap) up(i int) {
	x := h.items[i]
	for i > 0 {
		p := (i - 1) / 2
		if !x.less(h.items[p]) {
			break
		}
		h.items[i] = h.items[p]
		h.pos[h.items[i].it] = int32(i)
		i = p
	}
	h.items[i] = x
	h.pos[x.it] = int32(i)
}

func (h *iheap) down(i int) {
	n := len(h.items)
	x := h.items[i]
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.items[r].less(h.items[l]) {
			m = r
		}
		if !h.items[m].less(x) {
			break
		}
		h.items[i] = h.items[m]
		h.pos[h.items[i].it] = int32(i)
		i = m
	}
	h.items[i] = x
	h.pos[x.it] = int32(i)
}
