package parallelism

import (
	"reflect"
	"testing"

	"trainsim/sim"
)

// TestFastReplayEqualsReference replays a table of layouts twice: the way
// Simulate does (a layer's back-to-back kernels and blocking collectives
// as members of one engine task, sim.Graph.Append, the accounting's
// timing-free sums added up while emitting, sim.RunChains handling chains
// of tasks in one event) and fully unrolled (every kernel and collective a
// task of its own, each task its own event in the reference engine
// sim.Run, every task accounted for one by one), and requires identical
// results, field by field: step, breakdowns of every stage, communication,
// links, memory, task and event counts, notes and the timeline. A third
// replay reuses one Scratch over all the cases (whose arrays then hold the
// previous, larger or smaller, replay's values) and must give the same
// result too. Where the timeline is asked for, members are off (it lists
// every task): the same job without it, with members, must give the same
// figures.
func TestFastReplayEqualsReference(t *testing.T) {
	var sc Scratch
	for _, c := range exactCases() {
		t.Run(c.name, func(t *testing.T) {
			j := c.job(t)
			fast := simulate(t, j)
			v, errs := j.Validate()
			if len(errs) > 0 {
				t.Fatal(errs[0])
			}
			reused, err := SimulateWith(v, &sc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, reused) {
				t.Errorf("results differ with a reused Scratch:\nfresh  %+v\nreused %+v", fast, reused)
			}
			if j.Options.Timeline {
				// The same job without the timeline, with members.
				u := j
				u.Options.Timeline = false
				plain := simulate(t, u)
				withTL := *fast
				withTL.Timeline = nil
				if !reflect.DeepEqual(&withTL, plain) {
					t.Errorf("with members (no timeline) the results differ:\ntimeline %+v\nmembers  %+v", &withTL, plain)
				}
			} else if n := engineTasks(t, j); n >= fast.Tasks {
				t.Errorf("%d engine tasks for %d tasks: no members appended", n, fast.Tasks)
			}
			j.Options.reference = true
			ref := simulate(t, j)
			if fast.Tasks != ref.Tasks || fast.Events != ref.Events {
				t.Fatalf("tasks/events %d/%d, reference %d/%d", fast.Tasks, fast.Events, ref.Tasks, ref.Events)
			}
			if fast.StepTime <= 0 || fast.Tasks == 0 {
				t.Fatalf("empty replay: step %v, %d tasks", fast.StepTime, fast.Tasks)
			}
			if !reflect.DeepEqual(fast, ref) {
				t.Errorf("results differ:\nfast %+v\nref  %+v", fast, ref)
			}
		})
	}
}

// exactCase is a job the exactness tests replay both ways.
type exactCase struct {
	name string
	job  func(t *testing.T) Job
}

// exactCases are layouts of every schedule, recomputation, ZeRO stage,
// overlap, context and expert parallelism, full ranks, stragglers, several
// steps and the timeline.
func exactCases() []exactCase {
	type tc = exactCase
	gpt := func(nodes int, l Layout, batch int) func(t *testing.T) Job {
		return func(t *testing.T) Job { return gpt3Job(t, nodes, l, batch) }
	}
	with := func(f func(t *testing.T) Job, change func(j *Job)) func(t *testing.T) Job {
		return func(t *testing.T) Job {
			j := f(t)
			change(&j)
			return j
		}
	}
	def := gpt(128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	best := gpt(128, Layout{TP: 8, PP: 4, DP: 32, Microbatch: 4, Schedule: Interleaved, VirtualStages: 6, Recompute: RecomputeSelective,
		SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true, TPOverlap: true, PPOverlap: true}, 1536)
	cases := []tc{
		{"default 1f1b", def},
		{"interleaved x6 selective SP ZeRO-1 all overlaps", best},
		{"interleaved x3 no overlaps", gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: Interleaved, VirtualStages: 3, Recompute: RecomputeFull}, 32)},
		{"gpipe no recompute", gpt(8, Layout{TP: 4, PP: 8, DP: 2, Microbatch: 2, Schedule: GPipe, Recompute: RecomputeNone}, 64)},
		{"gpipe tp overlap", gpt(4, Layout{TP: 8, PP: 4, DP: 1, Microbatch: 1, Schedule: GPipe, Recompute: RecomputeFull, TPOverlap: true}, 16)},
		{"zb-h1", gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: ZBH1, Recompute: RecomputeSelective, ZeRO: 1, OverlapGradReduce: true}, 32)},
		{"zb-h1 blocking", gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: ZBH1, Recompute: RecomputeFull}, 32)},
		{"ZeRO-1 blocking", gpt(8, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 1}, 32)},
		{"ZeRO-2 overlapped", gpt(8, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeSelective, SequenceParallel: true, ZeRO: 2, OverlapGradReduce: true}, 32)},
		{"ZeRO-2 blocking", gpt(8, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 2}, 32)},
		{"ZeRO-3 pp overlap", gpt(8, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 3, OverlapGradReduce: true, PPOverlap: true}, 32)},
		{"ZeRO-3 no pipeline", gpt(16, Layout{TP: 1, PP: 1, DP: 128, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 3}, 128)},
		{"two steps", with(gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: Interleaved, VirtualStages: 2, Recompute: RecomputeSelective, ZeRO: 1, OverlapGradReduce: true}, 32),
			func(j *Job) { j.Training.Steps = 2 })},
		{"full ranks", with(gpt(16, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, OverlapGradReduce: true}, 32),
			func(j *Job) { j.Options.Ranks = RanksFull })},
		{"stragglers", with(gpt(16, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 32),
			func(j *Job) { j.Variation = Variation{SlowFraction: 0.05, Slowdown: 0.3} })},
		{"stragglers spread and slow links", with(gpt(16, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: Interleaved, VirtualStages: 2, Recompute: RecomputeFull, ZeRO: 1, OverlapGradReduce: true}, 32),
			func(j *Job) { j.Variation = Variation{Spread: 0.05, LinkFraction: 0.1, LinkSlowdown: 1} })},
		{"timeline", with(gpt(4, Layout{TP: 8, PP: 4, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 16),
			func(j *Job) { j.Options.Timeline = true })},
		{"mixture of experts", with(gpt(8, Layout{TP: 8, PP: 2, DP: 4, EP: 4, CP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true}, 32),
			func(j *Job) { j.Model.Experts, j.Model.TopK, j.Model.Layers = 8, 2, 16 })},
		{"mixture of experts blocking", with(gpt(8, Layout{TP: 8, PP: 2, DP: 4, EP: 2, CP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeSelective, SequenceParallel: true}, 32),
			func(j *Job) { j.Model.Experts, j.Model.TopK, j.Model.Layers = 8, 2, 16 })},
		{"context parallel", func(t *testing.T) Job { return llama2Long(t, 4, RecomputeSelective) }},
		{"context parallel no recompute", func(t *testing.T) Job { return llama2Long(t, 2, RecomputeNone) }},
		{"zb-h1 tp overlap SP", gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: ZBH1, Recompute: RecomputeNone, SequenceParallel: true, TPOverlap: true, PPOverlap: true}, 32)},
		{"interleaved ZeRO-3 tp overlap", gpt(8, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: Interleaved, VirtualStages: 2, Recompute: RecomputeSelective, ZeRO: 3, OverlapGradReduce: true, TPOverlap: true}, 32)},
		{"full ranks interleaved all overlaps", with(gpt(16, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: Interleaved, VirtualStages: 2, Recompute: RecomputeSelective, SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true, TPOverlap: true, PPOverlap: true}, 32),
			func(j *Job) { j.Options.Ranks = RanksFull })},
		{"full ranks gpipe blocking", with(gpt(16, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: GPipe, Recompute: RecomputeFull}, 32),
			func(j *Job) { j.Options.Ranks = RanksFull })},
		{"mixture of experts, recompute modules", with(gpt(8, Layout{TP: 8, PP: 2, DP: 4, EP: 4, CP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeSelective, RecomputeModules: "layernorm, moe_act", SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true}, 32),
			func(j *Job) { j.Model.Experts, j.Model.TopK, j.Model.Layers = 8, 2, 16 })},
		{"mixture of experts overlapped all-to-alls", with(gpt(8, Layout{TP: 8, PP: 2, DP: 4, EP: 4, CP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeSelective, SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true, MoEOverlap: true, TPOverlap: true}, 32),
			func(j *Job) { j.Model.Experts, j.Model.TopK, j.Model.Layers = 8, 2, 16 })},
		{"mixture of experts across nodes, tensor parallel across nodes", with(gpt(8, Layout{TP: 16, PP: 2, DP: 2, EP: 2, CP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, SequenceParallel: true, OverlapGradReduce: true}, 32),
			func(j *Job) { j.Model.Experts, j.Model.TopK, j.Model.Layers = 8, 2, 16 })},
		{"expert parallel across nodes", with(gpt(8, Layout{TP: 1, PP: 2, DP: 32, EP: 16, CP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeSelective, ZeRO: 1, OverlapGradReduce: true}, 64),
			func(j *Job) { j.Model.Experts, j.Model.TopK, j.Model.Layers = 16, 2, 8 })},
		{"full ranks 1f1b 16 micro-batches", with(gpt(16, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeSelective, ZeRO: 1, OverlapGradReduce: true}, 64),
			func(j *Job) { j.Options.Ranks = RanksFull })},
		{"MTP module, hand layout, overlapped all-to-alls", with(gpt(8, Layout{TP: 8, PP: 2, DP: 4, EP: 4, CP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeSelective, SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true, MoEOverlap: true, PipelineLayout: "Et*9|t*7mL"}, 32),
			func(j *Job) { j.Model.Experts, j.Model.TopK, j.Model.Layers, j.Model.MTPDepth = 8, 2, 16, 1 })},
		{"MTP module interleaved ZeRO-3", with(gpt(8, Layout{TP: 8, PP: 2, DP: 4, Microbatch: 1, Schedule: Interleaved, VirtualStages: 2, Recompute: RecomputeFull, ZeRO: 3, OverlapGradReduce: true}, 32),
			func(j *Job) { j.Model.MTPDepth = 1 })},
		{"MTP module alone on the last stage, an empty stage", with(gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 1, OverlapGradReduce: true, PipelineLayout: "Et*8|t*8||mL"}, 32),
			func(j *Job) { j.Model.Layers, j.Model.MTPDepth = 16, 1 })},
		{"two MTP modules zb-h1", with(gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: ZBH1, Recompute: RecomputeNone, SequenceParallel: true, TPOverlap: true, PPOverlap: true}, 32),
			func(j *Job) { j.Model.MTPDepth = 2 })},
		{"dualpipe", gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: DualPipe, Recompute: RecomputeSelective, ZeRO: 1, OverlapGradReduce: true}, 16)},
		{"dualpipe tp overlap SP blocking grads", gpt(8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: DualPipe, Recompute: RecomputeNone, SequenceParallel: true, TPOverlap: true, PPOverlap: true}, 20)},
		{"dualpipe overlapped all-to-alls MTP two steps", with(gpt(8, Layout{TP: 8, PP: 2, DP: 4, EP: 4, CP: 1, Microbatch: 1, Schedule: DualPipe, Recompute: RecomputeSelective, SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true, MoEOverlap: true, TPOverlap: true}, 32),
			func(j *Job) {
				j.Model.Experts, j.Model.TopK, j.Model.Layers, j.Model.MTPDepth = 8, 2, 16, 1
				j.Training.Steps = 2
			})},
		{"dualpipe full ranks stragglers", with(gpt(16, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: DualPipe, Recompute: RecomputeFull, ZeRO: 1, OverlapGradReduce: true}, 32),
			func(j *Job) {
				j.Options.Ranks = RanksFull
				j.Variation = Variation{SlowFraction: 0.05, Slowdown: 0.3}
			})},
		{"dualpipe timeline", with(gpt(4, Layout{TP: 8, PP: 4, DP: 1, Microbatch: 1, Schedule: DualPipe, Recompute: RecomputeFull}, 8),
			func(j *Job) { j.Options.Timeline = true })},
		{"stragglers ZeRO-3 three steps", with(gpt(16, Layout{TP: 8, PP: 4, DP: 4, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 3, OverlapGradReduce: true}, 32),
			func(j *Job) {
				j.Variation = Variation{SlowFraction: 0.05, Slowdown: 0.3}
				j.Training.Steps = 3
			})},
	}
	return cases
}

// engineTasks returns how many tasks of the engine's the replay of j runs
// (the members of each counted once).
func engineTasks(t *testing.T, j Job) int {
	t.Helper()
	return replayedFor(t, j).b.g.Tasks()
}

// BenchmarkReplayFull16k replays GPT-3 175B on 16,384 A100s (TP8 PP16
// DP128) rank by rank (simulation.ranks = full), 192 micro-batches per
// pipeline as in the default (global batch 24,576): 30 million tasks.
//
//	go test -run=^$ -bench=ReplayFull16k -benchtime=1x -benchmem -cpu 1 ./parallelism/
func BenchmarkReplayFull16k(b *testing.B) { benchFull(b, 128) }

// BenchmarkReplayFull2k is the same at 2,048 GPUs (DP 16): 3.7 million tasks.
func BenchmarkReplayFull2k(b *testing.B) { benchFull(b, 16) }

func benchFull(b *testing.B, dp int) {
	j := gpt3Job(b, 16*dp, Layout{TP: 8, PP: 16, DP: dp, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 192*dp)
	j.Options.Ranks = RanksFull
	b.ReportAllocs()
	for b.Loop() {
		res, err := simulateJob(j)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Tasks), "tasks")
		b.ReportMetric(float64(res.StepTime), "step-s")
	}
}

// TestMembersMatchUnrolled checks, task by task, the claim members rest on
// (builder.members): every engine task's members are a chain of the
// unrolled graph (the replay with every kernel and collective a task of
// its own, run by the reference engine) — no edge enters a member but the
// first or leaves one but the last — and the engine task runs as that
// chain does: it starts with its first member, ends with its last, each
// member starts when the unrolled one does, it is bound by the task holding
// its first member's binding predecessor, it has its last member's kind and
// bottleneck tier, its last member's back-to-back run (runStarts) starts
// when the unrolled one's does, and what held it up (causeOf) is the task
// holding what held the first member up.
func TestMembersMatchUnrolled(t *testing.T) {
	for _, c := range exactCases() {
		t.Run(c.name, func(t *testing.T) {
			j := c.job(t)
			if j.Options.Timeline {
				t.Skip("no members with the timeline")
			}
			// Every micro-batch and step emitted: the periodic replay is
			// checked against this one by TestPeriodicStepsEqualUnrolled.
			j.Options.noPeriodic = true
			m, u := replayedFor(t, j), replayedFor(t, withReference(j))
			g, gu := m.b.g, u.b.g
			if g.Units() != gu.Tasks() {
				t.Fatalf("%d units, unrolled %d tasks", g.Units(), gu.Tasks())
			}
			// first[T]: T's first member in the unrolled graph; of[u]: the
			// engine task holding unrolled task u.
			first := make([]int, g.Tasks()+1)
			of := make([]sim.TaskID, 0, gu.Tasks())
			for T := 0; T < g.Tasks(); T++ {
				first[T+1] = first[T] + g.Members(sim.TaskID(T))
				for range g.Members(sim.TaskID(T)) {
					of = append(of, sim.TaskID(T))
				}
			}
			last := func(T sim.TaskID) sim.TaskID { return sim.TaskID(first[T+1] - 1) }
			// Edges: the unrolled graph's, less the chains' inner ones,
			// are the engine graph's, in the same order.
			var want, got [][2]sim.TaskID
			gu.Edges(func(from, to sim.TaskID) {
				if of[from] == of[to] && to == from+1 {
					return // inside a chain
				}
				if from != last(of[from]) || int(to) != first[of[to]] {
					t.Fatalf("unrolled edge %d → %d enters or leaves a member inside task %d or %d", from, to, of[from], of[to])
				}
				want = append(want, [2]sim.TaskID{of[from], of[to]})
			})
			g.Edges(func(from, to sim.TaskID) { got = append(got, [2]sim.TaskID{from, to}) })
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("edges differ: %d, unrolled less chains %d", len(got), len(want))
			}
			rs, rsu := make([]sim.Time, g.Tasks()), make([]sim.Time, gu.Tasks())
			runStarts(g, m.run, m.b.info, rs)
			runStarts(gu, u.run, u.b.info, rsu)
			r, ru := m.run, u.run
			mapped := func(T sim.TaskID) sim.TaskID {
				if T == sim.None {
					return sim.None
				}
				return last(T)
			}
			members := 0
			for i := 0; i < g.Tasks(); i++ {
				T := sim.TaskID(i)
				f, l := sim.TaskID(first[T]), last(T)
				members += int(l - f)
				switch {
				case g.Resource(T) != gu.Resource(f) || g.Kind(T) != gu.Kind(l) || m.b.info[T].lane != u.b.info[f].lane:
					t.Fatalf("task %d: resource, kind or lane differ from its members %d–%d", T, f, l)
				case r.Start[T] != ru.Start[f] || r.End[T] != ru.End[l]:
					t.Fatalf("task %d runs %d–%d, its members %d–%d", T, r.Start[T], r.End[T], ru.Start[f], ru.End[l])
				case mapped(r.Binding[T]) != ru.Binding[f]:
					t.Fatalf("task %d bound by %d, its first member by %d", T, r.Binding[T], ru.Binding[f])
				case rs[T] != rsu[l]:
					t.Fatalf("task %d: its last run starts at %d, unrolled %d", T, rs[T], rsu[l])
				case mapped(causeOf(r, T)) != causeOf(ru, f):
					t.Fatalf("task %d held up by %d, its first member by %d", T, causeOf(r, T), causeOf(ru, f))
				}
				if k := g.Kind(T); (k == KindTP || k == KindPP || k == KindDP || k == KindCP || k == KindEP) && m.b.info[T].tier != u.b.info[l].tier {
					t.Fatalf("task %d: bottleneck tier %v, its last member's %v", T, m.b.info[T].tier, u.b.info[l].tier)
				}
				for k := 0; k < g.Members(T); k++ {
					if r.Start[T]+g.MemberStart(T, k) != ru.Start[int(f)+k] {
						t.Fatalf("member %d of task %d starts at %d, unrolled %d", k, T, r.Start[T]+g.MemberStart(T, k), ru.Start[int(f)+k])
					}
				}
			}
			if members == 0 {
				t.Fatal("no members appended")
			}
		})
	}
}

// replayedFor emits and runs j: the replay's internals, for tests that look
// past its Result.
func replayedFor(t testing.TB, j Job) *replayed {
	t.Helper()
	pr, err := newPricer(j)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := newPlan(pr)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runPlan(j, pr, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// withReference is j replayed the reference way: unrolled, by sim.Run.
func withReference(j Job) Job {
	j.Options.reference = true
	return j
}
