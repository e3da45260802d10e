package sim

import (
	"sort"
	"testing"
)

// sharedPipe is a test Network: one pipe of rate 1 unit/ns shared equally by
// the tasks in flight (processor sharing), each task carrying work units.
type sharedPipe struct {
	work   map[TaskID]float64
	active []TaskID
	last   Time
}

func (p *sharedPipe) drain(now Time) {
	if len(p.active) > 0 {
		each := float64(now-p.last) / float64(len(p.active))
		for _, t := range p.active {
			p.work[t] -= each
		}
	}
	p.last = now
}

func (p *sharedPipe) Start(now Time, t TaskID) {
	p.drain(now)
	p.active = append(p.active, t)
}

func (p *sharedPipe) Next() (Time, bool) {
	if len(p.active) == 0 {
		return 0, false
	}
	min := p.work[p.active[0]]
	for _, t := range p.active {
		if p.work[t] < min {
			min = p.work[t]
		}
	}
	return p.last + Time(min*float64(len(p.active))+0.5), true
}

func (p *sharedPipe) Advance(now Time) []TaskID {
	p.drain(now)
	var done, keep []TaskID
	for _, t := range p.active {
		if p.work[t] <= 1e-9 {
			done = append(done, t)
		} else {
			keep = append(keep, t)
		}
	}
	p.active = keep
	sort.Slice(done, func(i, j int) bool { return done[i] < done[j] })
	return done
}

// TestNetworkTasksShare: two transfers of 10 units on one pipe, the second
// starting at 4, share it from then on: the first ends at 4+2·6 = 16, the
// second at 16+4 = 20; each then pays its latency (its own duration).
func TestNetworkTasksShare(t *testing.T) {
	g := NewGraph(4)
	a, b, c := g.AddResource("a"), g.AddResource("b"), g.AddResource("c")
	x := g.AddTask(a, 1, 0) // latency 1
	g.Share(x)
	pre := g.AddTask(b, 4, 0)
	y := g.AddTask(b, 0, 0)
	g.Share(y)
	z := g.AddTask(c, 1, 0)
	g.After(z, x, y)
	net := &sharedPipe{work: map[TaskID]float64{x: 10, y: 10}}
	res, err := RunWith(g, net)
	if err != nil {
		t.Fatal(err)
	}
	if res.End[x] != 17 || res.End[y] != 20 || res.Start[z] != 20 || res.Makespan != 21 {
		t.Fatalf("x ends %d (want 17), y ends %d (want 20), z starts %d (want 20), makespan %d (want 21)", res.End[x], res.End[y], res.Start[z], res.Makespan)
	}
	_ = pre
	if _, err := Run(g); err == nil {
		t.Fatal("network tasks without a network should fail")
	}
}
