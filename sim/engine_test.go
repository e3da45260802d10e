package sim

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestHandComputed checks small graphs whose schedule is worked out by hand.
func TestHandComputed(t *testing.T) {
	tests := []struct {
		name     string
		build    func(g *Graph) []TaskID
		makespan Time
		starts   []Time
	}{
		{
			name: "one stream runs in order",
			build: func(g *Graph) []TaskID {
				r := g.AddResource("gpu")
				return []TaskID{g.AddTask(r, 3, 0), g.AddTask(r, 4, 0), g.AddTask(r, 5, 0)}
			},
			makespan: 12, starts: []Time{0, 3, 7},
		},
		{
			name: "two streams overlap",
			build: func(g *Graph) []TaskID {
				a, b := g.AddResource("compute"), g.AddResource("comm")
				return []TaskID{g.AddTask(a, 10, 0), g.AddTask(b, 4, 0)}
			},
			makespan: 10, starts: []Time{0, 0},
		},
		{
			name: "dependency across streams delays the second",
			build: func(g *Graph) []TaskID {
				a, b := g.AddResource("compute"), g.AddResource("comm")
				x := g.AddTask(a, 10, 0)
				y := g.AddTask(b, 4, 0)
				g.After(y, x)
				z := g.AddTask(a, 1, 0)
				g.After(z, y)
				return []TaskID{x, y, z}
			},
			makespan: 15, starts: []Time{0, 10, 14},
		},
		{
			name: "diamond waits for the slower branch",
			build: func(g *Graph) []TaskID {
				a, b, c := g.AddResource("a"), g.AddResource("b"), g.AddResource("c")
				s := g.AddTask(a, 1, 0)
				l := g.AddTask(b, 5, 0)
				r := g.AddTask(c, 2, 0)
				g.After(l, s)
				g.After(r, s)
				j := g.AddTask(a, 1, 0)
				g.After(j, l, r)
				return []TaskID{s, l, r, j}
			},
			makespan: 7, starts: []Time{0, 1, 1, 6},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGraph(8)
			ids := tc.build(g)
			res, err := Run(g)
			if err != nil {
				t.Fatal(err)
			}
			if res.Makespan != tc.makespan {
				t.Errorf("makespan = %d, want %d", res.Makespan, tc.makespan)
			}
			for i, id := range ids {
				if res.Start[id] != tc.starts[i] {
					t.Errorf("task %d starts at %d, want %d", i, res.Start[id], tc.starts[i])
				}
			}
		})
	}
}

func TestBindingNamesLastPredecessor(t *testing.T) {
	g := NewGraph(4)
	a, b := g.AddResource("a"), g.AddResource("b")
	x := g.AddTask(a, 2, 0)
	y := g.AddTask(b, 9, 0)
	z := g.AddTask(a, 1, 0)
	g.After(z, y)
	res, err := Run(g)
	if err != nil {
		t.Fatal(err)
	}
	if res.Binding[z] != y {
		t.Errorf("binding of z = %d, want %d (the slower dependency)", res.Binding[z], y)
	}
	if res.Binding[x] != None {
		t.Errorf("binding of x = %d, want None", res.Binding[x])
	}
}

func TestCycle(t *testing.T) {
	g := NewGraph(2)
	a, b := g.AddResource("a"), g.AddResource("b")
	x := g.AddTask(a, 1, 0)
	y := g.AddTask(b, 1, 0)
	g.After(x, y)
	g.After(y, x)
	if _, err := Run(g); !errors.Is(err, ErrCycle) {
		t.Fatalf("err = %v, want ErrCycle", err)
	}
}

// randomDAG builds a random graph: tasks on a few streams, each depending on
// some earlier tasks, so there is never a cycle.
func randomDAG(rng *rand.Rand, tasks, streams int) *Graph {
	g := NewGraph(tasks)
	for i := 0; i < streams; i++ {
		g.AddResource("s")
	}
	for i := 0; i < tasks; i++ {
		id := g.AddTask(ResourceID(rng.IntN(streams)), Time(rng.IntN(100)), Kind(rng.IntN(4)))
		for d := 0; d < rng.IntN(3) && i > 0; d++ {
			g.After(id, TaskID(rng.IntN(i)))
		}
	}
	return g
}

// TestInvariants checks on random graphs that no resource runs two tasks at
// once, that every dependency is respected, that time never goes back, and
// that a task never waits without a reason.
func TestInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		g := randomDAG(rng, 300, 1+rng.IntN(6))
		res, err := Run(g)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		// Dependencies, including stream order, are respected.
		for i := range g.from {
			f, to := g.from[i], g.to[i]
			if res.Start[to] < res.End[f] {
				t.Fatalf("seed %d: task %d starts at %d before its dependency %d ends at %d", seed, to, res.Start[to], f, res.End[f])
			}
		}
		// No resource runs two tasks at once.
		lastEnd := make(map[ResourceID]Time)
		for i := 0; i < g.Tasks(); i++ {
			r := g.res[i]
			if res.Start[i] < lastEnd[r] {
				t.Fatalf("seed %d: resource %d runs task %d at %d while busy until %d", seed, r, i, res.Start[i], lastEnd[r])
			}
			lastEnd[r] = res.End[i]
		}
		// Time never goes back.
		for i := 1; i < len(res.Order); i++ {
			if res.End[res.Order[i]] < res.End[res.Order[i-1]] {
				t.Fatalf("seed %d: completion %d at %d after one at %d", seed, i, res.End[res.Order[i]], res.End[res.Order[i-1]])
			}
		}
		// A task starts exactly when its binding predecessor ends, or at 0.
		for i := 0; i < g.Tasks(); i++ {
			want := Time(0)
			if b := res.Binding[i]; b != None {
				want = res.End[b]
			}
			if res.Start[i] != want {
				t.Fatalf("seed %d: task %d starts at %d, binding predecessor ends at %d", seed, i, res.Start[i], want)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	build := func() *Graph { return randomDAG(rand.New(rand.NewPCG(42, 42)), 2000, 5) }
	a, err := Run(build())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(build())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same graph differ")
	}
}

// BenchmarkEngine measures events per second on a pipeline-like graph: many
// streams, long chains, cross-stream dependencies.
func BenchmarkEngine(b *testing.B) {
	const stages, perStage = 16, 20000
	build := func() *Graph {
		g := NewGraph(stages * perStage)
		res := make([]ResourceID, stages)
		for s := range res {
			res[s] = g.AddResource("stage")
		}
		prev := make([]TaskID, stages)
		for i := 0; i < perStage; i++ {
			for s := 0; s < stages; s++ {
				id := g.AddTask(res[s], Time(1000+i%7), 0)
				if s > 0 {
					g.After(id, prev[s-1])
				}
				prev[s] = id
			}
		}
		return g
	}
	g := build()
	b.ReportAllocs()
	b.ResetTimer()
	events := 0
	for i := 0; i < b.N; i++ {
		res, err := Run(g)
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// TestBeyondRange: durations past the engine's range neither wrap around
// nor panic; Run refuses them with ErrRange, naming the task's resource.
func TestBeyondRange(t *testing.T) {
	if got := FromSeconds(1e300); got != Limit {
		t.Fatalf("FromSeconds(1e300) = %d, want Limit", got)
	}
	if got := FromSeconds(math.NaN()); got != 0 && got != Limit {
		t.Fatalf("FromSeconds(NaN) = %d", got)
	}
	g := NewGraph(2)
	r := g.AddResource("stage 0 compute")
	g.AddTask(r, FromSeconds(3e9), 0)
	g.AddTask(r, FromSeconds(3e9), 0) // each fits; together they pass Limit
	_, err := Run(g)
	if !errors.Is(err, ErrRange) || !strings.Contains(err.Error(), "stage 0 compute") {
		t.Fatalf("Run: %v, want ErrRange naming the resource", err)
	}
}

// chainDAG builds a random graph shaped like a replay: streams of long
// back-to-back runs (chains) with occasional cross-stream dependencies,
// many zero-length tasks and few distinct durations, so that completions
// often tie.
func chainDAG(rng *rand.Rand, tasks, streams int) *Graph {
	g := NewGraph(tasks)
	for i := 0; i < streams; i++ {
		g.AddResource("s")
	}
	for i := 0; i < tasks; i++ {
		d := Time(rng.IntN(4) * 5)
		id := g.AddTask(ResourceID(rng.IntN(streams)), d, Kind(rng.IntN(4)))
		if i > 0 && rng.IntN(6) == 0 {
			for k := 0; k < 1+rng.IntN(3); k++ {
				g.After(id, TaskID(rng.IntN(i)))
			}
		}
	}
	return g
}

// TestRunChainsEqualsRun: RunChains gives every task the start, end and
// binding predecessor Run gives it, on random graphs with chains and ties.
func TestRunChainsEqualsRun(t *testing.T) {
	// Most graphs run on one Scratch, whose arrays hold the previous
	// (larger or smaller) graph's values: reuse must not show.
	var sc Scratch
	for seed := uint64(1); seed <= 400; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		var g *Graph
		if seed%2 == 0 {
			g = randomDAG(rng, 50+rng.IntN(400), 1+rng.IntN(6))
		} else {
			g = chainDAG(rng, 50+rng.IntN(2000), 1+rng.IntN(12))
		}
		want, err := Run(g)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		run := RunChains
		if seed%4 != 1 {
			run = sc.RunChains
		}
		got, err := run(g)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !reflect.DeepEqual(got.Start, want.Start) || !reflect.DeepEqual(got.End, want.End) {
			t.Fatalf("seed %d: times differ", seed)
		}
		if !reflect.DeepEqual(got.Binding, want.Binding) {
			for i := range got.Binding {
				if got.Binding[i] != want.Binding[i] {
					t.Fatalf("seed %d: task %d bound by %d, Run says %d", seed, i, got.Binding[i], want.Binding[i])
				}
			}
		}
		if got.Makespan != want.Makespan || got.Events != want.Events {
			t.Fatalf("seed %d: makespan %d events %d, Run %d %d", seed, got.Makespan, got.Events, want.Makespan, want.Events)
		}
	}
}

// TestRunChainsErrors: cycles and overflows are refused as by Run.
func TestRunChainsErrors(t *testing.T) {
	g := NewGraph(2)
	a, b := g.AddResource("a"), g.AddResource("b")
	x := g.AddTask(a, 1, 0)
	y := g.AddTask(b, 1, 0)
	g.After(x, y)
	g.After(y, x)
	if _, err := RunChains(g); !errors.Is(err, ErrCycle) {
		t.Fatalf("cycle: err = %v, want ErrCycle", err)
	}
	g = NewGraph(2)
	a = g.AddResource("a")
	g.AddTask(a, Limit/2, 0)
	g.AddTask(a, Limit/2, 0)
	if _, err := RunChains(g); !errors.Is(err, ErrRange) {
		t.Fatalf("overflow: err = %v, want ErrRange", err)
	}
	// A network task is refused, also on a Scratch's reused graph (whose
	// previous graph had none).
	var sc Scratch
	for _, share := range []bool{false, true} {
		g = sc.NewGraph(2)
		a = g.AddResource("a")
		x = g.AddTask(a, 1, 0)
		g.AddTask(a, 1, 0)
		if share {
			g.Share(x)
		}
		if _, err := sc.RunChains(g); (err != nil) != share {
			t.Fatalf("network task %v: err = %v", share, err)
		}
	}
}

// memberDAG builds two graphs of one replay-shaped schedule: unrolled, every
// task its own, and merged, where a run of back-to-back tasks on a stream
// that nothing else depends on or waits for is one task of several members
// (Append). of maps each unrolled task to its merged task.
func memberDAG(rng *rand.Rand, tasks, streams int, sc *Scratch) (unrolled, merged *Graph, of []TaskID) {
	unrolled = NewGraph(tasks)
	if sc != nil {
		merged = sc.NewGraph(tasks)
	} else {
		merged = NewGraph(tasks)
	}
	for i := 0; i < streams; i++ {
		unrolled.AddResource("s")
		merged.AddResource("s")
	}
	sealed := map[TaskID]bool{} // merged tasks something depends on
	for i := 0; i < tasks; i++ {
		d := Time(rng.IntN(4) * 5)
		k := Kind(rng.IntN(4))
		r := ResourceID(rng.IntN(streams))
		var deps []TaskID
		if i > 0 && rng.IntN(6) == 0 {
			for n := 0; n < 1+rng.IntN(3); n++ {
				// Only a merged task's last member may have other
				// successors: a dependency on a member inside a run is
				// dropped (in both graphs).
				if dep := TaskID(rng.IntN(i)); int(dep)+1 == i || of[dep+1] != of[dep] {
					deps = append(deps, dep)
				}
			}
		}
		id := unrolled.AddTask(r, d, k)
		unrolled.After(id, deps...)
		last := TaskID(merged.Tasks() - 1)
		if len(deps) == 0 && last != None && merged.Resource(last) == r && !sealed[last] && rng.IntN(4) != 0 && merged.Append(last, d, k) {
			of = append(of, last)
			continue
		}
		m := merged.AddTask(r, d, k)
		for _, dep := range deps {
			merged.After(m, of[dep])
			sealed[of[dep]] = true // it may gain no member after this one
		}
		of = append(of, m)
	}
	return unrolled, merged, of
}

// TestAppendEqualsUnrolled: a graph whose tasks stand for chains of members
// (Append) replays under RunChains as the unrolled graph does under Run:
// each merged task starts when its first member does, ends when its last
// does, its members start back to back, it is bound by the task holding its
// first member's binding predecessor, and the events and makespan agree.
func TestAppendEqualsUnrolled(t *testing.T) {
	var sc Scratch
	merges := 0
	for seed := uint64(1); seed <= 400; seed++ {
		rng := rand.New(rand.NewPCG(seed, 17))
		var s *Scratch
		if seed%3 != 0 {
			s = &sc
		}
		u, g, of := memberDAG(rng, 50+rng.IntN(2000), 1+rng.IntN(12), s)
		merges += u.Tasks() - g.Tasks()
		if g.Units() != u.Tasks() {
			t.Fatalf("seed %d: %d units, unrolled %d tasks", seed, g.Units(), u.Tasks())
		}
		want, err := Run(u)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		run := RunChains
		if s != nil {
			run = s.RunChains
		}
		got, err := run(g)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if got.Makespan != want.Makespan || got.Events != want.Events {
			t.Fatalf("seed %d: makespan %d events %d, unrolled %d %d", seed, got.Makespan, got.Events, want.Makespan, want.Events)
		}
		for i := 0; i < len(of); {
			m := of[i]
			n := g.Members(m)
			for j := 0; j < n; j++ {
				if of[i+j] != m {
					t.Fatalf("seed %d: task %d has %d members, unrolled tasks map elsewhere", seed, m, n)
				}
				if s := got.Start[m] + g.MemberStart(m, j); s != want.Start[i+j] {
					t.Fatalf("seed %d: member %d of task %d starts at %d, unrolled %d", seed, j, m, s, want.Start[i+j])
				}
			}
			if got.Start[m] != want.Start[i] || got.End[m] != want.End[i+n-1] {
				t.Fatalf("seed %d: task %d runs %d–%d, unrolled %d–%d", seed, m, got.Start[m], got.End[m], want.Start[i], want.End[i+n-1])
			}
			wb := want.Binding[i]
			switch {
			case wb == None && got.Binding[m] != None, wb != None && got.Binding[m] != of[wb]:
				t.Fatalf("seed %d: task %d bound by %d, unrolled by %d (task %d)", seed, m, got.Binding[m], wb, of[max(wb, 0)])
			case wb != None && int(wb)+1 < len(of) && of[wb+1] == of[wb]:
				t.Fatalf("seed %d: task %d bound by a member that is not the last of its task", seed, m)
			}
			i += n
		}
		if _, err := Run(g); err == nil {
			t.Fatalf("seed %d: Run replayed a graph with members", seed)
		}
	}
	if merges == 0 {
		t.Fatal("no member appended")
	}
}

// TestAppendRefuses: Append takes a member only on the latest task, of
// positive length, not a network task, starting within 2³² ns of the task.
func TestAppendRefuses(t *testing.T) {
	g := NewGraph(4)
	r := g.AddResource("r")
	a := g.AddTask(r, 5, 0)
	b := g.AddTask(r, 5, 0)
	if g.Append(a, 1, 0) {
		t.Error("appended to a task that is not the latest")
	}
	if g.Append(b, 0, 0) {
		t.Error("appended a member of no length")
	}
	if !g.Append(b, 1<<32-5, 1) || g.Kind(b) != 1 || g.Duration(b) != 1<<32 || g.Members(b) != 2 || g.MemberStart(b, 1) != 5 {
		t.Fatalf("append: kind %d, duration %d, %d members", g.Kind(b), g.Duration(b), g.Members(b))
	}
	if g.Append(b, 1, 0) {
		t.Error("appended a member starting 2³² ns after its task")
	}
	c := g.AddTask(r, 1, 0)
	g.Share(c)
	if g.Append(c, 1, 0) {
		t.Error("appended to a network task")
	}
	if g.Units() != 4 || g.Tasks() != 3 {
		t.Errorf("%d units, %d tasks; want 4, 3", g.Units(), g.Tasks())
	}
}

// TestAppendAll: AppendAll gives the task what Append one member at a time
// gives it, and refuses, changing nothing, where Append would refuse one.
func TestAppendAll(t *testing.T) {
	for _, ds := range [][]Time{{3}, {1, 2, 3}, {7, 7, 7, 7}, {1 << 31, 1 << 31, 5}, {1 << 31, 1 << 31, 1, 5}, {4, 0, 4}} {
		one, all := NewGraph(2), NewGraph(2)
		r1, r2 := one.AddResource("r"), all.AddResource("r")
		a, b := one.AddTask(r1, 2, 0), all.AddTask(r2, 2, 0)
		ok := true
		for i, d := range ds {
			if !one.Append(a, d, Kind(1+i%2)) {
				ok = false
				break
			}
		}
		if got := all.AppendAll(b, ds, Kind(1+(len(ds)-1)%2)); got != ok {
			t.Fatalf("%v: AppendAll %v, Append one by one %v", ds, got, ok)
		}
		if !ok {
			if all.Members(b) != 1 || all.Duration(b) != 2 || all.Units() != 1 {
				t.Fatalf("%v: a refused AppendAll changed the task", ds)
			}
			continue
		}
		if one.Members(a) != all.Members(b) || one.Duration(a) != all.Duration(b) || one.Kind(a) != all.Kind(b) || one.Units() != all.Units() {
			t.Fatalf("%v: members %d/%d, duration %d/%d, kind %d/%d", ds, one.Members(a), all.Members(b), one.Duration(a), all.Duration(b), one.Kind(a), all.Kind(b))
		}
		for i := 0; i < one.Members(a); i++ {
			if one.MemberStart(a, i) != all.MemberStart(b, i) {
				t.Fatalf("%v: member %d starts at %d, one by one %d", ds, i, all.MemberStart(b, i), one.MemberStart(a, i))
			}
		}
	}
}
