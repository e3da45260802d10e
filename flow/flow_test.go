package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

const (
	gbps = 1e9 // 1 GB/s in bytes/s
	rel  = 1e-9
)

// spec is one flow of a scenario.
type spec struct {
	start   int64
	path    []LinkID
	bytes   float64
	maxRate float64
}

// finRec is a flow as it finished.
type finRec struct {
	At int64
	F  Finished
}

// outcome is everything a scenario's replay reports.
type outcome struct {
	Fins      []finRec
	End       int64
	LinkBytes []float64
	Busy, Sat []int64
}

// replay adds the flows of specs (sorted by start) at their start times and
// drives the network to completion the way the simulator does: Advance to the
// earlier of the next start and Next, then add what starts then. After each
// step it calls check, if not nil, with the IDs (= spec indexes) still active.
// If noisy, it also calls Next, Rate and Advance again at each step.
func replay(t testing.TB, caps []float64, specs []spec, check func(now int64, n *Network, active []FlowID, fins []Finished), noisy bool) outcome {
	t.Helper()
	n := New(caps)
	var o outcome
	var active []FlowID
	i := 0
	for {
		at, ok := n.Next()
		byNext := ok
		if i < len(specs) && (!ok || specs[i].start <= at) {
			byNext = ok && at == specs[i].start
			at = specs[i].start
		} else if !ok {
			break
		}
		fins := n.Advance(at)
		if byNext && len(fins) == 0 {
			t.Fatalf("t=%d: Advance to Next finished nothing", at)
		}
		finish := func(fins []Finished) {
			for _, f := range fins {
				o.Fins = append(o.Fins, finRec{at, f})
				j := slices.Index(active, f.ID)
				if j < 0 {
					t.Fatalf("t=%d: flow %d finished but was not active", at, f.ID)
				}
				active = slices.Delete(active, j, j+1)
			}
		}
		finish(fins)
		for i < len(specs) && specs[i].start == at {
			s := specs[i]
			id := n.Add(at, s.path, s.bytes, s.maxRate, int32(i))
			if id != FlowID(i) {
				t.Fatalf("flow %d got id %d", i, id)
			}
			active = append(active, id)
			i++
		}
		if noisy {
			n.Next()
			for _, id := range active {
				n.Rate(id)
			}
			more := n.Advance(at)
			for _, f := range more {
				if !instant(specs[f.ID]) {
					t.Fatalf("t=%d: a second Advance returned flow %d", at, f.ID)
				}
			}
			finish(more)
		}
		if check != nil {
			check(at, n, active, fins)
		}
		o.End = at
	}
	if len(active) != 0 || n.Active() != 0 {
		t.Fatalf("%d flows never finished (Active() = %d)", len(active), n.Active())
	}
	for l := range caps {
		o.LinkBytes = append(o.LinkBytes, n.LinkBytes(LinkID(l)))
		o.Busy = append(o.Busy, n.LinkBusy(LinkID(l)))
		o.Sat = append(o.Sat, n.LinkSaturated(LinkID(l)))
	}
	return o
}

// TestHandComputed checks rates, bottlenecks and finish times worked out by
// hand. All flows of a case start at 0 unless they say otherwise.
func TestHandComputed(t *testing.T) {
	tests := []struct {
		name   string
		caps   []float64
		flows  []spec
		rates  []float64 // at time 0, after every flow starting at 0 is added
		bneck  []LinkID
		finish []int64 // nil: not checked
	}{
		{
			name:   "a flow alone gets the smallest capacity on its path",
			caps:   []float64{4 * gbps, 2 * gbps, 8 * gbps},
			flows:  []spec{{path: []LinkID{0, 1, 2}, bytes: 2e6}},
			rates:  []float64{2 * gbps},
			bneck:  []LinkID{1},
			finish: []int64{1e6},
		},
		{
			name:   "a flow alone below its cap's rate gets its cap",
			caps:   []float64{4 * gbps},
			flows:  []spec{{path: []LinkID{0}, bytes: 1e6, maxRate: 1 * gbps}},
			rates:  []float64{1 * gbps},
			bneck:  []LinkID{-1},
			finish: []int64{1e6},
		},
		{
			name:   "two flows on one link get half each",
			caps:   []float64{1 * gbps},
			flows:  []spec{{path: []LinkID{0}, bytes: 1e6}, {path: []LinkID{0}, bytes: 1e6}},
			rates:  []float64{0.5 * gbps, 0.5 * gbps},
			bneck:  []LinkID{0, 0},
			finish: []int64{2e6, 2e6},
		},
		{
			name: "the shorter flow finishes, then the longer one gets the link",
			caps: []float64{1 * gbps},
			// 1e6 B each at 0.5 GB/s takes 2 ms; the last 1e6 B alone 1 ms.
			flows:  []spec{{path: []LinkID{0}, bytes: 1e6}, {path: []LinkID{0}, bytes: 2e6}},
			rates:  []float64{0.5 * gbps, 0.5 * gbps},
			bneck:  []LinkID{0, 0},
			finish: []int64{2e6, 3e6},
		},
		{
			name: "three thirds finish on the whole ns despite rounding",
			caps: []float64{1 * gbps},
			flows: []spec{
				{path: []LinkID{0}, bytes: 1000}, {path: []LinkID{0}, bytes: 1000}, {path: []LinkID{0}, bytes: 1000},
			},
			rates:  []float64{gbps / 3, gbps / 3, gbps / 3},
			bneck:  []LinkID{0, 0, 0},
			finish: []int64{3000, 3000, 3000},
		},
		{
			// Link 0 (1 GB/s, 2 flows) fills first at 0.5; link 1 has
			// 2-0.5 = 1.5 left for 2 flows, 0.75 each; link 2 has
			// 3-0.5-0.75 = 1.75 left for its last flow.
			name: "classic max-min over three links",
			caps: []float64{1 * gbps, 2 * gbps, 3 * gbps},
			flows: []spec{
				{path: []LinkID{0, 1, 2}, bytes: 1e9},
				{path: []LinkID{0}, bytes: 1e9},
				{path: []LinkID{1}, bytes: 1e9},
				{path: []LinkID{1, 2}, bytes: 1e9},
				{path: []LinkID{2}, bytes: 1e9},
			},
			rates: []float64{0.5 * gbps, 0.5 * gbps, 0.75 * gbps, 0.75 * gbps, 1.75 * gbps},
			bneck: []LinkID{0, 0, 1, 1, 2},
		},
		{
			name: "a capped flow leaves its share to the others",
			caps: []float64{3 * gbps},
			flows: []spec{
				{path: []LinkID{0}, bytes: 1e6, maxRate: 0.5 * gbps},
				{path: []LinkID{0}, bytes: 1e6},
				{path: []LinkID{0}, bytes: 1e6},
			},
			rates: []float64{0.5 * gbps, 1.25 * gbps, 1.25 * gbps},
			bneck: []LinkID{-1, 0, 0},
			// 1e6 B at 1.25 GB/s = 800 µs; the capped flow's last 6e5 B at
			// 0.5 GB/s take 1.2 ms more.
			finish: []int64{2e6, 8e5, 8e5},
		},
		{
			name:   "an empty path is limited by the cap only",
			caps:   []float64{1 * gbps},
			flows:  []spec{{bytes: 1e6, maxRate: 4 * gbps}},
			rates:  []float64{4 * gbps},
			bneck:  []LinkID{-1},
			finish: []int64{250e3},
		},
		{
			name:   "an empty path without a cap and an empty transfer finish at once",
			caps:   []float64{1 * gbps},
			flows:  []spec{{bytes: 1e6}, {path: []LinkID{0}, bytes: 0}, {start: 7, bytes: 1}},
			rates:  []float64{0, 0, 0},
			bneck:  []LinkID{-1, -1, -1},
			finish: []int64{0, 0, 7},
		},
		{
			// At 1 ms the first has 1e6 B left; both at 0.5 GB/s until the
			// second is done at 2 ms; the first's last 5e5 B alone: 0.5 ms.
			name:   "a later flow changes rates from its start on",
			caps:   []float64{1 * gbps},
			flows:  []spec{{path: []LinkID{0}, bytes: 2e6}, {start: 1e6, path: []LinkID{0}, bytes: 5e5}},
			rates:  []float64{1 * gbps, 0},
			bneck:  []LinkID{0, 0},
			finish: []int64{2.5e6, 2e6},
		},
		{
			name:   "a flow crossing a link twice uses it twice",
			caps:   []float64{1 * gbps, 4 * gbps},
			flows:  []spec{{path: []LinkID{0, 1, 0}, bytes: 1e6}},
			rates:  []float64{0.5 * gbps},
			bneck:  []LinkID{0},
			finish: []int64{2e6},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := New(tc.caps)
			for i, s := range tc.flows {
				if s.start == 0 {
					n.Add(0, s.path, s.bytes, s.maxRate, int32(i))
				}
			}
			for i, want := range tc.rates {
				if got := n.Rate(FlowID(i)); !near(got, want) {
					t.Errorf("flow %d: rate %g B/s, want %g", i, got, want)
				}
			}
			o := replay(t, tc.caps, tc.flows, nil, false)
			slices.SortFunc(o.Fins, func(a, b finRec) int { return int(a.F.ID - b.F.ID) })
			for i, r := range o.Fins {
				if r.F.Bottleneck != tc.bneck[i] {
					t.Errorf("flow %d: bottleneck %d, want %d", i, r.F.Bottleneck, tc.bneck[i])
				}
				if tc.finish != nil && r.At != tc.finish[i] {
					t.Errorf("flow %d: finished at %d ns, want %d", i, r.At, tc.finish[i])
				}
				if r.F.Group != int32(i) {
					t.Errorf("flow %d: group %d, want %d", i, r.F.Group, i)
				}
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }

// TestAdvancePastNext: a caller that jumps past finish times still gets the
// bandwidth a finished flow frees given to the others from that moment.
func TestAdvancePastNext(t *testing.T) {
	n := New([]float64{1 * gbps})
	n.Add(0, []LinkID{0}, 1e6, 0, 0)
	n.Add(0, []LinkID{0}, 3e6, 0, 1)
	if at, _ := n.Next(); at != 2e6 {
		t.Fatalf("Next = %d, want 2e6", at)
	}
	got := n.Advance(10e6)
	if len(got) != 2 || got[0].ID != 0 || got[1].ID != 1 {
		t.Fatalf("Advance returned %v, want flows 0 and 1", got)
	}
	// The second flow ran alone from 2 ms and ended at 4 ms.
	if b := n.LinkBusy(0); b != 4e6 {
		t.Errorf("busy %d ns, want 4e6", b)
	}
	if b := n.LinkBytes(0); !near(b, 4e6) {
		t.Errorf("carried %g B, want 4e6", b)
	}
	if _, ok := n.Next(); ok || n.Active() != 0 {
		t.Errorf("network not empty: Active() = %d", n.Active())
	}
}

// TestAddReportsEarlierFinishes: Add at a later time moves the clock; flows
// that finished on the way come back from the next Advance.
func TestAddReportsEarlierFinishes(t *testing.T) {
	n := New([]float64{1 * gbps})
	n.Add(0, []LinkID{0}, 1e3, 0, 5)
	n.Add(5e3, []LinkID{0}, 1e3, 0, 6)
	if n.Active() != 2 {
		t.Errorf("Active() = %d, want 2 (one finished, not yet reported)", n.Active())
	}
	if r := n.Rate(1); !near(r, gbps) {
		t.Errorf("second flow's rate %g, want the whole link", r)
	}
	got := n.Advance(5e3)
	if len(got) != 1 || got[0] != (Finished{ID: 0, Group: 5, Bottleneck: 0}) {
		t.Fatalf("Advance returned %v, want flow 0", got)
	}
	if at, _ := n.Next(); at != 6e3 {
		t.Errorf("Next = %d, want 6000", at)
	}
}

// TestAccounting: busy and saturated time on hand-computed cases.
func TestAccounting(t *testing.T) {
	// Link 0 at 4 GB/s carries a 1 GB/s-capped flow for 1 ms then nothing
	// for 1 ms, then two uncapped flows that saturate it for 0.5 ms.
	caps := []float64{4 * gbps, 1 * gbps}
	o := replay(t, caps, []spec{
		{path: []LinkID{0}, bytes: 1e6, maxRate: 1 * gbps},
		{start: 2e6, path: []LinkID{0}, bytes: 1e6},
		{start: 2e6, path: []LinkID{0}, bytes: 1e6},
	}, nil, false)
	if o.Busy[0] != 1.5e6 || o.Sat[0] != 0.5e6 || !near(o.LinkBytes[0], 3e6) {
		t.Errorf("link 0: busy %d, saturated %d, bytes %g; want 1.5e6, 0.5e6, 3e6", o.Busy[0], o.Sat[0], o.LinkBytes[0])
	}
	if o.Busy[1] != 0 || o.Sat[1] != 0 || o.LinkBytes[1] != 0 {
		t.Errorf("idle link 1: busy %d, saturated %d, bytes %g", o.Busy[1], o.Sat[1], o.LinkBytes[1])
	}
}

// randomScenario returns links and flows drawn from seed: capacities from a
// few standard values (so that fair shares tie) and random ones, paths of
// 0–4 links, log-uniform sizes, some caps, start times on a coarse grid so
// that many flows start together.
func randomScenario(seed uint64, nLinks, nFlows int) ([]float64, []spec) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	caps := make([]float64, nLinks)
	std := []float64{12.5 * gbps, 25 * gbps, 50 * gbps, 300 * gbps}
	for i := range caps {
		if r.IntN(2) == 0 {
			caps[i] = std[r.IntN(len(std))]
		} else {
			caps[i] = (1 + 99*r.Float64()) * gbps
		}
	}
	specs := make([]spec, nFlows)
	for i := range specs {
		s := &specs[i]
		s.start = r.Int64N(200) * 5e3
		np := r.IntN(5)
		if r.IntN(20) == 0 {
			np = 0
		}
		for range np {
			s.path = append(s.path, LinkID(r.IntN(nLinks)))
		}
		s.bytes = math.Pow(10, 3+4*r.Float64())
		if r.IntN(50) == 0 {
			s.bytes = 0
		}
		if r.IntN(3) == 0 {
			s.maxRate = (1 + 49*r.Float64()) * gbps
		}
	}
	slices.SortStableFunc(specs, func(a, b spec) int { return int(a.start - b.start) })
	return caps, specs
}

// instant says whether a flow finishes as it starts: nothing to send, or
// nothing to limit its rate.
func instant(s spec) bool { return s.bytes <= 0 || (len(s.path) == 0 && s.maxRate == 0) }

// refRates computes the max-min fair rates of the given flows a second way:
// progressive filling over all links, from scratch, in O(links × flows) per
// step.
func refRates(caps []float64, flows []spec) []float64 {
	rate := make([]float64, len(flows))
	frozen := make([]bool, len(flows))
	left := slices.Clone(caps)
	todo := len(flows)
	for i, f := range flows {
		if instant(f) || len(f.path) == 0 {
			rate[i], frozen[i] = f.maxRate, true
			if instant(f) {
				rate[i] = 0
			}
			todo--
		}
	}
	freeze := func(i int, x float64) {
		rate[i], frozen[i] = x, true
		todo--
		for _, l := range flows[i].path {
			left[l] -= x
		}
	}
	cnt := make([]int, len(caps))
	for todo > 0 {
		clear(cnt)
		for i, f := range flows {
			if !frozen[i] {
				for _, l := range f.path {
					cnt[l]++
				}
			}
		}
		best, bl := math.Inf(1), -1
		for l, c := range cnt {
			if c > 0 && left[l]/float64(c) < best {
				best, bl = left[l]/float64(c), l
			}
		}
		bf := -1
		for i, f := range flows {
			if !frozen[i] && f.maxRate > 0 && f.maxRate < best {
				best, bf = f.maxRate, i
			}
		}
		if bf >= 0 {
			freeze(bf, best)
			continue
		}
		for i, f := range flows {
			if !frozen[i] && slices.Contains(f.path, LinkID(bl)) {
				freeze(i, best)
			}
		}
	}
	return rate
}

// checker verifies, after every step of a replay, the invariants of a
// max-min fair fluid network, recomputing what it can a second way.
type checker struct {
	t     testing.TB
	caps  []float64
	specs []spec

	last     int64
	rate     []float64 // by flow: rate over the previous step
	moved    []float64 // by flow: Σ rate×dt
	bneckOK  []uint8   // by flow: bit k set if path[k] qualified as its bottleneck
	load     []float64 // by link, over the previous step
	busy     []int64
	finished int
}

func newChecker(t testing.TB, caps []float64, specs []spec) *checker {
	return &checker{
		t: t, caps: caps, specs: specs,
		rate: make([]float64, len(specs)), moved: make([]float64, len(specs)), bneckOK: make([]uint8, len(specs)),
		load: make([]float64, len(caps)), busy: make([]int64, len(caps)),
	}
}

func (c *checker) check(now int64, n *Network, active []FlowID, fins []Finished) {
	t := c.t
	t.Helper()
	if now < c.last {
		t.Fatalf("time went back from %d to %d", c.last, now)
	}
	dt := now - c.last
	for l, x := range c.load {
		if x > 0 {
			c.busy[l] += dt
		}
	}
	// Bytes moved over the last step, at the rates Rate reported.
	for i := range c.specs {
		c.moved[i] += c.rate[i] * float64(dt) * 1e-9
	}
	for _, f := range fins {
		c.finished++
		s := c.specs[f.ID]
		r := c.rate[f.ID]
		// A flow may end up to 1 ns of transfer early or late, at the rate
		// it had or the one it was given at the end, which is at most the
		// smallest capacity on its path.
		top := math.Inf(1)
		if s.maxRate > 0 {
			top = s.maxRate
		}
		for _, l := range s.path {
			top = min(top, c.caps[l])
		}
		if tol := 1e-6 + rel*s.bytes + max(r, top)*1e-9; !instant(s) && math.Abs(c.moved[f.ID]-s.bytes) > tol {
			t.Errorf("t=%d: flow %d finished having moved %.9g B of %.9g (tolerance %.3g)", now, f.ID, c.moved[f.ID], s.bytes, tol)
		}
		switch {
		case f.Bottleneck == -1:
			if r > 0 && !(s.maxRate > 0 && near(r, s.maxRate)) {
				t.Errorf("t=%d: flow %d reports its cap as bottleneck at %g B/s, cap %g", now, f.ID, r, s.maxRate)
			}
		default:
			k := slices.Index(s.path, f.Bottleneck)
			if k < 0 || c.bneckOK[f.ID]&(1<<k) == 0 {
				t.Errorf("t=%d: flow %d reports bottleneck %d, not a saturated link where it is fastest (path %v)", now, f.ID, f.Bottleneck, s.path)
			}
		}
		c.rate[f.ID] = 0
	}

	// Current rates, against the reference and the max-min conditions.
	flows := make([]spec, len(active))
	for i, id := range active {
		flows[i] = c.specs[id]
	}
	want := refRates(c.caps, flows)
	clear(c.load)
	fastest := make([]float64, len(c.caps))
	for i, id := range active {
		r := n.Rate(id)
		c.rate[id] = r
		if instant(c.specs[id]) {
			if r != 0 {
				t.Errorf("t=%d: flow %d that ends as it starts has rate %g", now, id, r)
			}
			continue
		}
		if !(r > 0) {
			t.Fatalf("t=%d: active flow %d has rate %g", now, id, r)
		}
		if math.Abs(r-want[i]) > 1e-9*want[i] {
			t.Errorf("t=%d: flow %d rate %.12g, reference %.12g", now, id, r, want[i])
		}
		for _, l := range c.specs[id].path {
			c.load[l] += r
			fastest[l] = max(fastest[l], r)
		}
	}
	for l, x := range c.load {
		if x > c.caps[l]*(1+rel) {
			t.Errorf("t=%d: link %d carries %g B/s, capacity %g", now, l, x, c.caps[l])
		}
	}
	for _, id := range active {
		s, r := c.specs[id], c.rate[id]
		if instant(s) {
			continue
		}
		var ok uint8
		for k, l := range s.path {
			if c.load[l] >= c.caps[l]*(1-rel) && r >= fastest[l]*(1-rel) {
				ok |= 1 << k
			}
		}
		c.bneckOK[id] = ok
		if ok == 0 && !(s.maxRate > 0 && near(r, s.maxRate)) {
			t.Errorf("t=%d: flow %d at %g B/s has no bottleneck and is below its cap %g", now, id, r, s.maxRate)
		}
	}
	if n.Active() != len(active) {
		t.Errorf("t=%d: Active() = %d, want %d", now, n.Active(), len(active))
	}
	if at, ok := n.Next(); ok && at < now {
		t.Errorf("t=%d: Next = %d, in the past", now, at)
	}
	c.last = now
}

// TestRandomNetworks replays random scenarios and checks every step against
// the properties of max-min fairness and a from-scratch reference.
func TestRandomNetworks(t *testing.T) {
	for _, tc := range []struct {
		seed          uint64
		links, nflows int
	}{
		{1, 20, 200}, {2, 30, 400}, {3, 50, 500}, {4, 20, 800}, {42, 40, 300},
	} {
		t.Run(fmt.Sprintf("seed=%d/links=%d/flows=%d", tc.seed, tc.links, tc.nflows), func(t *testing.T) {
			caps, specs := randomScenario(tc.seed, tc.links, tc.nflows)
			c := newChecker(t, caps, specs)
			o := replay(t, caps, specs, c.check, false)
			if c.finished != len(specs) {
				t.Fatalf("%d of %d flows finished", c.finished, len(specs))
			}
			// Finish times in the order reported never go back.
			for i := 1; i < len(o.Fins); i++ {
				if o.Fins[i].At < o.Fins[i-1].At {
					t.Fatalf("finish %d at %d before finish %d at %d", i, o.Fins[i].At, i-1, o.Fins[i-1].At)
				}
			}
			// Conservation: each link carried exactly the bytes of the flows
			// that crossed it (once per crossing).
			want := make([]float64, len(caps))
			for _, s := range specs {
				for _, l := range s.path {
					want[l] += s.bytes
				}
			}
			for l := range caps {
				if math.Abs(o.LinkBytes[l]-want[l]) > 1e-9*want[l]+1e-6 {
					t.Errorf("link %d carried %.12g B, flows crossing it %.12g B", l, o.LinkBytes[l], want[l])
				}
				if o.Busy[l] != c.busy[l] {
					t.Errorf("link %d busy %d ns, <-- recomputed from rates: %d", l, o.Busy[l], c.busy[l])
				}
				if o.Sat[l] > o.Busy[l] || o.Busy[l] > o.End {
					t.Errorf("link %d: saturated %d ns > busy %d ns or busy > run %d ns", l, o.Sat[l], o.Busy[l], o.End)
				}
			}
		})
	}
}

// TestDeterministic: the same calls give the same results, to the bit.
func TestDeterministic(t *testing.T) {
	caps, specs := randomScenario(7, 40, 1000)
	a := replay(t, caps, specs, nil, false)
	b := replay(t, caps, specs, nil, false)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two replays of the same scenario differ")
	}
}

// TestSameTimeCalls: Add and Advance may be called many times at one time;
// extra Advance, Next and Rate calls in between change nothing but when the
// flows that end as they start are reported.
func TestSameTimeCalls(t *testing.T) {
	caps, specs := randomScenario(9, 25, 300)
	plain := replay(t, caps, specs, nil, false)
	noisy := replay(t, caps, specs, nil, true)
	drop := func(fins []finRec) (kept []finRec) {
		for _, r := range fins {
			if instant(specs[r.F.ID]) {
				if r.At < specs[r.F.ID].start {
					t.Errorf("flow %d ended at %d, before its start %d", r.F.ID, r.At, specs[r.F.ID].start)
				}
				continue
			}
			kept = append(kept, r)
		}
		return kept
	}
	if a, b := drop(plain.Fins), drop(noisy.Fins); !reflect.DeepEqual(a, b) {
		t.Fatalf("finishes differ:\n%v\n%v", a, b)
	}
	for _, r := range noisy.Fins {
		if instant(specs[r.F.ID]) && r.At != specs[r.F.ID].start {
			t.Errorf("flow %d ended at %d, want its start %d", r.F.ID, r.At, specs[r.F.ID].start)
		}
	}
}

// TestPanics: misuse is reported with the rule broken.
func TestPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"zero capacity", func() { New([]float64{1, 0}) }},
		{"unknown link", func() { New([]float64{1}).Add(0, []LinkID{1}, 1, 0, 0) }},
		{"NaN bytes", func() { New([]float64{1}).Add(0, nil, math.NaN(), 0, 0) }},
		{"negative cap", func() { New([]float64{1}).Add(0, nil, 1, -1, 0) }},
		{"time goes back", func() { n := New([]float64{1}); n.Advance(5); n.Advance(4) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f()
		})
	}
}

// Two transfers share a 1 GB/s link; when the smaller one ends, the other
// gets the whole link.
func Example() {
	n := New([]float64{1e9})
	n.Add(0, []LinkID{0}, 1e6, 0, 100)
	n.Add(0, []LinkID{0}, 3e6, 0, 200)
	fmt.Println("rates:", n.Rate(0), n.Rate(1))
	for {
		now, ok := n.Next()
		if !ok {
			break
		}
		for _, f := range n.Advance(now) {
			fmt.Printf("t=%d ns: flow %d of group %d done, bounded by link %d\n", now, f.ID, f.Group, f.Bottleneck)
		}
	}
	fmt.Println("link 0 busy", n.LinkBusy(0), "ns, carried", n.LinkBytes(0), "B")
	// Output:
	// rates: 5e+08 5e+08
	// t=2000000 ns: flow 0 of group 100 done, bounded by link 0
	// t=4000000 ns: flow 1 of group 200 done, bounded by link 0
	// link 0 busy 4000000 ns, carried 4e+06 B
}

// FuzzNetwork checks the invariants on small scenarios drawn from a seed.
func FuzzNetwork(f *testing.F) {
	for _, s := range []uint64{0, 1, 2, 3} {
		f.Add(s, uint8(5), uint8(30))
	}
	// Found by fuzzing: a flow ends within 1 ns of transfer at the rate it
	// gets when another flow's end frees bandwidth, not at its old rate.
	f.Add(uint64(152), uint8(4), uint8(32))
	f.Fuzz(func(t *testing.T, seed uint64, links, flows uint8) {
		nl, nf := 1+int(links)%16, int(flows)%64
		caps, specs := randomScenario(seed, nl, nf)
		c := newChecker(t, caps, specs)
		replay(t, caps, specs, c.check, false)
	})
}

// TestNoAllocSteadyState: once buffers have grown, a step allocates nothing
// but the growth of the FlowID table.
func TestNoAllocSteadyState(t *testing.T) {
	n := New([]float64{gbps, gbps, gbps})
	path := []LinkID{0, 1}
	step := func() {
		now, _ := n.Next()
		n.Advance(now)
		n.Add(now, path, 1e6, 0, 0)
	}
	n.Add(0, path, 1e6, 0, 0)
	n.Add(0, []LinkID{1, 2}, 1e9, 0, 0)
	for range 1000 {
		step()
	}
	if a := testing.AllocsPerRun(1000, step); a > 0.01 {
		t.Errorf("%.3f allocations per step", a)
	}
}

// ringCollectives runs the pattern of BenchmarkRingAllReduce once: 32 GPUs,
// each with an uplink (2g) and a downlink (2g+1) at 50 GB/s; 1000 collectives
// each of 8 flows in a ring over 8 of the GPUs, 16 in flight at once; a
// collective starts when an earlier one ends. It returns the flows run.
func ringCollectives() int {
	const gpus, ranks, total, inFlight = 32, 8, 1000, 16
	caps := make([]float64, 2*gpus)
	for i := range caps {
		caps[i] = 50 * gbps
	}
	n := New(caps)
	left := make([]int, total)
	var path [2]LinkID
	started := 0
	start := func(now int64) {
		k := started
		started++
		left[k] = ranks
		for i := range ranks {
			g := (k*3 + i*4) % gpus
			h := (k*3 + (i+1)%ranks*4) % gpus
			path[0], path[1] = LinkID(2*g), LinkID(2*h+1)
			n.Add(now, path[:], float64(1<<20*(1+k%5)), 0, int32(k))
		}
	}
	for range inFlight {
		start(0)
	}
	for {
		now, ok := n.Next()
		if !ok {
			break
		}
		for _, f := range n.Advance(now) {
			left[f.Group]--
			if left[f.Group] == 0 && started < total {
				start(now)
			}
		}
	}
	return started * ranks
}

func BenchmarkRingAllReduce(b *testing.B) {
	flows := 0
	for b.Loop() {
		flows += ringCollectives()
	}
	b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkLargeRing: a ring over 1,536 GPUs (192 nodes of 8) with 8
// channels, each GPU with an uplink and a downlink (3,072 links); channel c
// visits each node's GPUs rotated by c, so the channels' flows interlock into
// one component. All 12,288 flows start at once; channel c carries (c+1)
// MiB per hop, so they drain in 8 waves, each a recomputation of what is left.
func BenchmarkLargeRing(b *testing.B) {
	const nodes, per, channels = 192, 8, 8
	const gpus = nodes * per
	caps := make([]float64, 2*gpus)
	for i := range caps {
		caps[i] = 50 * gbps
	}
	ring := make([]int, gpus)
	flows := 0
	for b.Loop() {
		n := New(caps)
		for c := range channels {
			for p := range ring {
				ring[p] = p/per*per + (p%per+c)%per
			}
			for p, g := range ring {
				h := ring[(p+1)%gpus]
				n.Add(0, []LinkID{LinkID(2 * g), LinkID(2*h + 1)}, float64(1<<20*(c+1)), 0, int32(c))
			}
		}
		for {
			now, ok := n.Next()
			if !ok {
				break
			}
			flows += len(n.Advance(now))
		}
	}
	b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
}

// TestWeightedIsManyFlows: a flow of weight w on a link behaves exactly like
// w identical flows there (rates, finish times, link bytes), and weight 1/S
// on S parallel links is one flow split evenly over them. Hand-computed:
//
// Links A (4 GB/s) and B (0.5 GB/s). Three flows of 3 GB on A and one of
// 1 GB on A→B, all at t=0. Filling: B's share 0.5 GB/s < A's 1 GB/s, so the
// A→B flow freezes at 0.5 GB/s; A has 3.5 GB/s left for three flows, 7/6
// GB/s each. The A→B flow finishes at 2 s; the three have 3 − 7/3 = 2/3 GB
// left, now at 4/3 GB/s each: they finish at 2.5 s. A carries 3×3 + 1 = 10 GB.
func TestWeightedIsManyFlows(t *testing.T) {
	caps := []float64{4 * gbps, 0.5 * gbps}
	plain := New(caps)
	for range 3 {
		plain.Add(0, []LinkID{0}, 3e9, 0, 0)
	}
	plain.Add(0, []LinkID{0, 1}, 1e9, 0, 1)
	weighted := New(caps)
	weighted.AddWeighted(0, []LinkID{0}, []float64{3}, 3e9, 0, 0)
	weighted.AddWeighted(0, []LinkID{0, 1}, []float64{1, 1}, 1e9, 0, 1)
	for name, n := range map[string]*Network{"three flows": plain, "weight 3": weighted} {
		var ends []int64
		for n.Active() > 0 {
			at, _ := n.Next()
			for range n.Advance(at) {
				ends = append(ends, at)
			}
		}
		want := []int64{2e9, 2.5e9}
		if name == "three flows" {
			want = []int64{2e9, 2.5e9, 2.5e9, 2.5e9}
		}
		if !slices.Equal(ends, want) {
			t.Errorf("%s: finishes at %v ns, want %v", name, ends, want)
		}
		if b := n.LinkBytes(0); math.Abs(b/10e9-1) > rel {
			t.Errorf("%s: link A carried %g bytes, want 10e9", name, b)
		}
		if b := n.LinkBytes(1); math.Abs(b/1e9-1) > rel {
			t.Errorf("%s: link B carried %g bytes, want 1e9", name, b)
		}
	}

	// Spread: one 8 GB flow over two 1 GB/s links at 1/2 each runs at
	// 2 GB/s (4 s), each link carrying 4 GB; a second flow of weight 1 on
	// link 0 alone gets the same share x: x/2 + x = 1 GB/s on link 0 gives
	// x = 2/3 GB/s, so link 1 carries only 1/3 GB/s.
	n := New([]float64{gbps, gbps})
	n.AddWeighted(0, []LinkID{0, 1}, []float64{0.5, 0.5}, 8e9, 0, 0)
	if r := n.Rate(0); math.Abs(r/(2*gbps)-1) > rel {
		t.Errorf("spread flow alone: %g B/s, want 2e9", r)
	}
	n.Add(0, []LinkID{0}, 1e9, 0, 1)
	if r := n.Rate(0); math.Abs(r/(2.0/3*gbps)-1) > rel {
		t.Errorf("spread flow with a rival: %g B/s, want 2/3e9", r)
	}
	if r := n.Rate(1); math.Abs(r/(2.0/3*gbps)-1) > rel {
		t.Errorf("rival: %g B/s, want 2/3e9", r)
	}
}

// TestWeightedOnesAreAdd: AddWeighted with every weight 1 is Add, to the
// bit, on random networks.
func TestWeightedOnesAreAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for c := 0; c < 20; c++ {
		caps := make([]float64, 1+rng.IntN(8))
		for i := range caps {
			caps[i] = (0.5 + rng.Float64()) * gbps
		}
		a, b := New(caps), New(caps)
		for f := 0; f < 30; f++ {
			path := make([]LinkID, 1+rng.IntN(len(caps)))
			ones := make([]float64, len(path))
			for k := range path {
				path[k], ones[k] = LinkID(rng.IntN(len(caps))), 1
			}
			now := int64(f) * 1e6
			bytes := (1 + rng.Float64()) * 1e7
			a.Add(now, path, bytes, 0, int32(f))
			b.AddWeighted(now, path, ones, bytes, 0, int32(f))
		}
		var ra, rb []finRec
		for _, x := range []struct {
			n   *Network
			out *[]finRec
		}{{a, &ra}, {b, &rb}} {
			for x.n.Active() > 0 {
				at, _ := x.n.Next()
				for _, fin := range x.n.Advance(at) {
					*x.out = append(*x.out, finRec{at, fin})
				}
			}
		}
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("case %d: Add and AddWeighted(1…) differ", c)
		}
		for l := range caps {
			if a.LinkBytes(LinkID(l)) != b.LinkBytes(LinkID(l)) || a.LinkSaturated(LinkID(l)) != b.LinkSaturated(LinkID(l)) {
				t.Fatalf("case %d: link %d accounting differs", c, l)
			}
		}
	}
}
