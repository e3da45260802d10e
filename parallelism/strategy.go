package parallelism

import (
	"sort"

	"trainsim/collective"
	"trainsim/sim"
)

// Two choices shape a replay without changing what is emitted: how a
// collective takes time (timing) and which data-parallel replicas are
// replayed (replicas). Each is a small value chosen once, in replay.

// timing decides how long a communication task lasts.
type timing interface {
	// duration is the task's own duration for a collective of cost c.
	duration(c collective.Cost) sim.Time
	// attach hands task t, collective spec at stage (with peer) of replica
	// (-1 when the task stands for every replica), to the network, if the
	// timing has one; g marks it as a network task.
	attach(g *sim.Graph, t sim.TaskID, spec specID, stage, peer, replica int)
}

// analytical is the closed-form timing: a collective takes its priced time.
type analytical struct{}

func (analytical) duration(c collective.Cost) sim.Time                  { return toTime(c.Time) }
func (analytical) attach(*sim.Graph, sim.TaskID, specID, int, int, int) {}

// replicas decides how many data-parallel replicas are replayed and how
// their collectives meet.
type replicas interface {
	// count is the number of replicas replayed.
	count() int
	// replicaArg is what the network is told of a lane whose replica has
	// data-parallel coordinate dp: -1 when one task stands for every replica.
	replicaArg(dp int) int
	// collective records a data-parallel collective task t of stage.
	collective(t sim.TaskID, lane, stage int)
	// finish adds what makes the replicas' collectives start together.
	finish(b *builder)
}

// symmetric replays one pipeline: every data-parallel replica runs the same
// program at the same time, so one stands for all.
type symmetric struct{}

func (symmetric) count() int                      { return 1 }
func (symmetric) replicaArg(int) int              { return -1 }
func (symmetric) collective(sim.TaskID, int, int) {}
func (symmetric) finish(*builder)                 {}

// fullReplicas replays every data-parallel replica; each data-parallel
// collective starts on all of them when the last one reaches it.
type fullReplicas struct {
	n int
	// joins collect the tasks of one collective across replicas, keyed by
	// stage and sequence number; calls counts, per lane, the collectives
	// issued so far.
	joins map[joinKey][]sim.TaskID
	calls []int
}

type joinKey struct{ stage, seq int }

func newFullReplicas(n, lanes int) *fullReplicas {
	return &fullReplicas{n: n, joins: map[joinKey][]sim.TaskID{}, calls: make([]int, lanes)}
}

func (f *fullReplicas) count() int            { return f.n }
func (f *fullReplicas) replicaArg(dp int) int { return dp }

func (f *fullReplicas) collective(t sim.TaskID, lane, stage int) {
	key := joinKey{stage, f.calls[lane]}
	f.calls[lane]++
	f.joins[key] = append(f.joins[key], t)
}

// finish makes every data-parallel collective start on all replicas
// together: a zero-length join task waits for every member's predecessors,
// and every member waits for it.
func (f *fullReplicas) finish(b *builder) {
	if len(f.joins) == 0 {
		return
	}
	members := map[sim.TaskID]bool{}
	for _, ts := range f.joins {
		for _, t := range ts {
			members[t] = true
		}
	}
	preds := map[sim.TaskID][]sim.TaskID{}
	b.g.Edges(func(from, to sim.TaskID) {
		if members[to] {
			preds[to] = append(preds[to], from)
		}
	})
	keys := make([]joinKey, 0, len(f.joins))
	for k := range f.joins {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].stage != keys[j].stage {
			return keys[i].stage < keys[j].stage
		}
		return keys[i].seq < keys[j].seq
	})
	for _, k := range keys {
		ts := f.joins[k]
		join := b.task(b.g.AddResource("dp join"), int(b.info[ts[0]].lane), 0, KindBarrier)
		for _, t := range ts {
			b.g.After(join, preds[t]...)
			b.g.After(t, join)
		}
	}
}

// durations gives each task of each lane its duration: the price of its
// step on this hardware, as that lane's GPU runs it. It is where per-GPU
// variation plugs in (variation.go: slow GPUs, drawn from the scenario's
// seed so that a replay stays reproducible).
type durations interface {
	compute(lane int, step stepID, d sim.Time) sim.Time
	comm(lane int, spec specID, d sim.Time) sim.Time
}

// uniform gives every GPU the priced duration: all GPUs are alike.
type uniform struct{}

func (uniform) compute(_ int, _ stepID, d sim.Time) sim.Time { return d }
func (uniform) comm(_ int, _ specID, d sim.Time) sim.Time    { return d }
