package parallelism

import (
	"reflect"
	"testing"
)

// TestFastReplayEqualsReference replays a table of layouts twice: the way
// Simulate does (sim.RunChains, chains of back-to-back tasks in one event)
// and with the reference engine (sim.Run, every task its own event), and
// requires identical results, field by field: step, breakdowns of every
// stage, communication, links, memory, task and event counts, notes and
// the timeline. A third replay reuses one Scratch over all the cases (whose
// arrays then hold the previous, larger or smaller, replay's values) and
// must give the same result too.
func TestFastReplayEqualsReference(t *testing.T) {
	type tc struct {
		name string
		job  func(t *testing.T) Job
	}
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
	}
	var sc Scratch
	for _, c := range cases {
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
