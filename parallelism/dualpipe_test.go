package parallelism

import (
	"math"
	"strings"
	"testing"
	"trainsim/collective"
	"trainsim/model"

	"trainsim/units"
)

// TestDualPipeBubbleByHand replays pipelines of p ranks, one layer per
// stage (so two per GPU under DualPipe), m micro-batches, with passes of
// F, B (input gradient) and W (weight gradient) units and nothing else,
// against the bubble DeepSeek-V3's Table 2 (arXiv:2412.19437 §3.2.1) and
// deepseek-ai/DualPipe's README give: (p/2 − 1)(F&B + B_full − 3W), where
// B_full = B + W is a whole backward chunk and F&B the time of an
// overlapped forward-backward pair, F + B_full here since nothing
// communicates (no overlap to gain). Every GPU computes m·(F + B + W)
// units: half the micro-batches through each of its two stages.
//
// F = B = W = 1: p = 4, m = 8: 24 units of work and a bubble of
// (2 − 1)(3 + 2 − 3) = 2, a step of 26 on every rank (1F1B: 33, ZB-H1: 27,
// TestZBH1BubbleByHand); p = 8, m = 16: 48 + (4 − 1)·2 = 54; p = 4,
// m = 20: 60 + 2 = 62 (the bubble does not grow with m). With B = 2F
// (F = 1, B = 2, W = 1, as a layer's GEMMs are) the formula gives
// (p/2 − 1)(4 + 3 − 3) = 4 per half-rank, an upper bound the replay meets
// within one F per rank (the middle ranks' first pair, which DualPipe runs
// apart, lets the others start earlier); and it stays below ZB-H1's
// (p − 1)(F + B − W) = 2(p − 1).
func TestDualPipeBubbleByHand(t *testing.T) {
	u := units.Seconds(1e-3)
	for _, tc := range []struct {
		p, m    int
		f, b, w float64
		exact   bool
	}{
		{4, 8, 1, 1, 1, true},
		{8, 16, 1, 1, 1, true},
		{4, 20, 1, 1, 1, true},
		{4, 8, 1, 2, 1, false},
		{8, 16, 1, 2, 1, false},
		{8, 64, 1, 2, 1, false},
	} {
		res := zbReplay(t, DualPipe, tc.p, tc.m, units.Seconds(tc.f)*u, units.Seconds(tc.b)*u, units.Seconds(tc.w)*u, 1)
		work := float64(tc.m) * (tc.f + tc.b + tc.w)
		full := tc.b + tc.w
		formula := float64(tc.p/2-1) * ((tc.f + full) + full - 3*tc.w)
		zb := float64(tc.p-1) * (tc.f + tc.b - tc.w)
		for _, st := range res.Stages {
			got := float64(st.Breakdown.Bubble / u)
			switch {
			case tc.exact && math.Abs(got-formula) > 1e-6:
				t.Errorf("p=%d m=%d F,B,W=%g,%g,%g stage %d: bubble %.6f units, want (p/2−1)(F&B+B−3W) = %g", tc.p, tc.m, tc.f, tc.b, tc.w, st.Stage, got, formula)
			case !tc.exact && (got > formula+1e-6 || got < formula-tc.f-1e-6 || got >= zb):
				t.Errorf("p=%d m=%d F,B,W=%g,%g,%g stage %d: bubble %.6f units, want within one F below %g and below ZB-H1's %g", tc.p, tc.m, tc.f, tc.b, tc.w, st.Stage, got, formula, zb)
			}
		}
		if got := float64(res.StepTime / u); tc.exact && math.Abs(got-(work+formula)) > 1e-6 {
			t.Errorf("p=%d m=%d: step %.6f units, want %g + %g", tc.p, tc.m, got, work, formula)
		}
	}
}

// TestDualPipeProgram: on every rank each micro-batch of direction d runs
// through chunk d, forward then backward (then W when its backward was
// split) exactly once; a paired forward is followed by a backward of the
// other direction; and every rank holds at most p + 1 micro-batches'
// activations (Table 2's "PP + 1"; a split backward's micro-batch is
// counted until its W), one more than 1F1B's first stage.
func TestDualPipeProgram(t *testing.T) {
	for _, tc := range []struct{ p, m int }{{2, 4}, {4, 8}, {4, 10}, {8, 16}, {8, 64}, {16, 120}} {
		for s := 0; s < tc.p; s++ {
			prog := program(DualPipe, tc.p, 1, tc.m, s)
			phase := map[int]int{}
			split := map[int]bool{}
			for i, st := range prog {
				if d := st.mb / (tc.m / 2); st.chunk != d {
					t.Fatalf("p=%d m=%d rank %d: micro-batch %d (direction %d) on chunk %d", tc.p, tc.m, s, st.mb, d, st.chunk)
				}
				want, next := 0, 1
				switch {
				case st.weight:
					want, next = 2, 3
				case !st.forward:
					want, next = 1, 2
					if st.split {
						split[st.mb] = true
					} else {
						next = 3
					}
				}
				if phase[st.mb] != want || st.weight && !split[st.mb] {
					t.Fatalf("p=%d m=%d rank %d: %+v out of order (micro-batch at phase %d)", tc.p, tc.m, s, st, phase[st.mb])
				}
				phase[st.mb] = next
				if st.pair {
					if !st.forward || i+1 == len(prog) || prog[i+1].forward || prog[i+1].weight || prog[i+1].chunk == st.chunk {
						t.Fatalf("p=%d m=%d rank %d: pair at %d is not a forward followed by a backward of the other direction", tc.p, tc.m, s, i)
					}
				}
			}
			for mb := 0; mb < tc.m; mb++ {
				if phase[mb] != 3 {
					t.Errorf("p=%d m=%d rank %d: micro-batch %d ends at phase %d", tc.p, tc.m, s, mb, phase[mb])
				}
			}
			if got := maxInFlight(prog); got != tc.p+1 {
				t.Errorf("p=%d m=%d rank %d: %d micro-batches in flight, want p + 1 = %d", tc.p, tc.m, s, got, tc.p+1)
			}
		}
	}
}

// TestDualPipeMemoryByHand: GPT-3 175B (h = 12288, 96 layers, vocabulary
// 51200, 2048 tokens), TP 8, PP 4, DP 2, ZeRO-1, 8 micro-batches. A stage
// holds 24 layers of 12h² + 13h = 1,812,099,072 parameters, 1/8 of them per
// GPU: 5,436,297,216. Rank 0 holds stages 0 and 3: twice that, the token
// table (51200·12288/8 = 78,643,200), the position table (2048·12288 =
// 25,165,824) and the output layer's copy of the token table (78,643,200):
// 11,055,046,656 parameters; rank 1 holds stages 1 and 2: 10,872,594,432.
// Weights 2 B each (fp16), gradients 4 B (fp32), optimizer 12 B over the
// 2·DP = 4 ranks that hold a copy (3 B per parameter held). Activations:
// p + 1 = 5 passes of 24 layers in flight (1F1B's first stage: 4).
func TestDualPipeMemoryByHand(t *testing.T) {
	j := gpt3Job(t, 8, Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: DualPipe, VirtualStages: 1, Recompute: RecomputeNone, ZeRO: 1, OverlapGradReduce: true}, 16)
	if _, errs := j.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	one := j
	one.Layout.Schedule = OneFOneB
	for _, tc := range []struct {
		s      int
		params float64
	}{{0, 11055046656}, {1, 10872594432}, {2, 10872594432}, {3, 11055046656}} {
		if got := j.stageParams(tc.s); got != tc.params {
			t.Errorf("rank %d: %.0f parameters, want %.0f", tc.s, got, tc.params)
		}
		mem := j.stageMemory(tc.s, j.inFlightLayers(program(DualPipe, 4, 1, 8, tc.s), tc.s))
		act := float64(j.layerActivationBytes())
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"weights", float64(mem.Weights), 2 * tc.params},
			{"gradients", float64(mem.Gradients), 4 * tc.params},
			{"optimizer", float64(mem.Optimizer), 3 * tc.params},
			{"activations", float64(mem.Activations), 5 * 24 * act},
		} {
			if math.Abs(c.got-c.want) > 1e-6*c.want {
				t.Errorf("rank %d %s: %.0f B, want %.0f", tc.s, c.name, c.got, c.want)
			}
		}
	}
	// 1F1B's stage 0 holds one stage: half the weights, 4 passes in flight.
	m1 := one.stageMemory(0, one.inFlightLayers(program(OneFOneB, 4, 1, 8, 0), 0))
	if want := 2 * (5436297216.0 + 78643200 + 25165824); float64(m1.Weights) != want {
		t.Errorf("1f1b stage 0 weights %v, want %.0f", m1.Weights, want)
	}
	if want := 4 * 24 * float64(one.layerActivationBytes()); math.Abs(float64(m1.Activations)-want) > 1e-6*want {
		t.Errorf("1f1b stage 0 activations %v, want %.0f", m1.Activations, want)
	}
}

// TestDualPipeRefusals: the conditions deepseek-ai/DualPipe's step asserts
// (pp even, micro-batches even and at least 2·pp) and what the replay
// does not model with it (model chunks, ZeRO-2/3), each refused naming the
// key.
func TestDualPipeRefusals(t *testing.T) {
	base := Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: DualPipe, VirtualStages: 1, Recompute: RecomputeNone, ZeRO: 1}
	for _, tc := range []struct {
		name  string
		edit  func(*Layout)
		batch int
		key   string
		text  string
	}{
		{"fine", func(*Layout) {}, 16, "", ""},
		{"odd pp", func(l *Layout) { l.PP, l.DP = 3, 2 }, 24, "parallelism.schedule", "even pp"},
		{"few micro-batches", func(*Layout) {}, 14, "training.global_batch", "at least 2 × pp"},
		{"odd micro-batches", func(*Layout) {}, 18, "training.global_batch", "even micro-batch count"},
		{"chunks", func(l *Layout) { l.VirtualStages = 2 }, 16, "parallelism.virtual_stages", "virtual_stages must be 1"},
		{"zero 2", func(l *Layout) { l.ZeRO = 2 }, 16, "parallelism.zero", "ZeRO 0 or 1"},
	} {
		l := base
		tc.edit(&l)
		nodes := l.TP * l.PP * l.DP / 8
		j := gpt3Job(t, nodes, l, tc.batch)
		_, errs := j.Validate()
		if tc.key == "" {
			if len(errs) > 0 {
				t.Errorf("%s: %v", tc.name, errs)
			}
			continue
		}
		found := false
		for _, e := range errs {
			if e.Field == tc.key && strings.Contains(e.Msg, tc.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s error saying %q in %v", tc.name, tc.key, tc.text, errs)
		}
	}
}

// TestDualPipeHidesAllToAll: 16 MoE layers (8 experts, top 2) over PP 2 and
// EP 16 across two nodes, the all-to-alls marked overlappable (moe.overlap).
// Under 1F1B each all-to-all can hide only behind the compute step of its
// own pass before it; DualPipe's paired passes run each one beside the
// other pass's computation, so less of the expert-parallel traffic is
// exposed, with the same traffic sent.
func TestDualPipeHidesAllToAll(t *testing.T) {
	run := func(s Schedule) *Result {
		j := gpt3Job(t, 8, Layout{TP: 1, PP: 2, DP: 32, EP: 16, CP: 1, Microbatch: 1, Schedule: s, Recompute: RecomputeSelective, ZeRO: 1, OverlapGradReduce: true, MoEOverlap: true}, 512)
		j.Model.Experts, j.Model.TopK, j.Model.Layers = 16, 2, 8
		return simulate(t, j)
	}
	one, dual := run(OneFOneB), run(DualPipe)
	if dual.Breakdown.EP >= one.Breakdown.EP {
		t.Errorf("exposed all-to-all: dualpipe %v, not below 1f1b's %v", dual.Breakdown.EP, one.Breakdown.EP)
	}
	if dual.StepTime >= one.StepTime {
		t.Errorf("step: dualpipe %v, not below 1f1b's %v", dual.StepTime, one.StepTime)
	}
	t.Logf("exposed EP 1f1b %v dualpipe %v; step %v %v", one.Breakdown.EP, dual.Breakdown.EP, one.StepTime, dual.StepTime)
}

// TestDualPipePairByHand: p = 2, m = 4, one layer per stage whose forward
// and backward are each [compute c, an all-to-all of a beside it, compute
// c] (the all-to-all starts with the first compute, the second compute
// waits for it), c = 1 unit, a = 2 units, no weight gradient and no SM
// contention. A pass alone takes max(c, a) + c = 3 units (1 unit of the
// all-to-all exposed). Rank 0's program: F(0), F(2), F(1), B(2), then the
// pair F(3)&B(0), B(3), B(1), W(1). In the pair, worked by hand from its
// start t: F's first compute [t, t+1) with F's all-to-all [t, t+2) on the
// EP stream; B's first compute [t+1, t+2); B's all-to-all waits for the EP
// stream, [t+2, t+4); F's second compute waits for its all-to-all,
// [t+2, t+3); B's second compute for B's, [t+4, t+5): 5 units, against 6
// for the two passes one after the other. The replayed timeline is read
// for both.
func TestDualPipePairByHand(t *testing.T) {
	u := units.Seconds(1e-3)
	j := gpt3Job(t, 4, Layout{TP: 8, PP: 2, DP: 1, Microbatch: 1, Schedule: DualPipe, VirtualStages: 1, Recompute: RecomputeNone}, 4)
	j.Model.Layers = 2
	j.Options.Timeline = true
	zero := 0
	j.Calibration.CommSMs = &zero
	pr, err := newPricer(j)
	if err != nil {
		t.Fatal(err)
	}
	pl := handPlan(pr, model.Layer{})
	a2a := pr.spec(commSpec{op: collective.AllToAll, bytes: 1, group: groupEP})
	for s := 0; s < j.Layout.PP; s++ {
		i := int(a2a)*j.Layout.PP + s
		for i >= len(pr.costs) {
			pr.costs = append(pr.costs, collective.Cost{})
			pr.ok = append(pr.ok, false)
		}
		pr.costs[i], pr.ok[i] = collective.Cost{Time: 2 * u, Bytes: 1}, true
	}
	pass := func() []stepID {
		c1, c2 := pr.computeStep(toTime(u)), pr.computeStep(toTime(u))
		pr.steps = append(pr.steps, pricedStep{kind: model.Collective, spec: a2a, overlap: true})
		return []stepID{c1, stepID(len(pr.steps) - 1), c2}
	}
	ls := &pl.layers[model.TransformerLayer]
	ls.fwd, ls.bwd, ls.bIn, ls.wgt = pass(), pass(), pass(), nil
	r, err := runPlan(j, pr, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := r.result()
	span := func(phase string, mb int) (lo, hi float64) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, s := range res.Timeline {
			if s.Stage == 0 && s.Phase == phase && s.MicroBatch == mb && s.Kind == "compute" {
				lo, hi = math.Min(lo, float64(s.Start/u)), math.Max(hi, float64(s.End/u))
			}
		}
		return lo, hi
	}
	if lo, hi := span("fwd", 0); math.Abs(hi-lo-3) > 1e-6 {
		t.Errorf("lone forward pass of micro-batch 0: %.6f units, want 3", hi-lo)
	}
	flo, fhi := span("fwd", 3)
	blo, bhi := span("bwd", 0)
	if got := math.Max(fhi, bhi) - math.Min(flo, blo); math.Abs(got-5) > 1e-6 {
		t.Errorf("pair F(3)&B(0): %.6f units, want 5", got)
	}
	if math.Abs(fhi-flo-3) > 1e-6 || math.Abs(bhi-blo-4) > 1e-6 || math.Abs(blo-flo-1) > 1e-6 {
		t.Errorf("pair: F [%.3f, %.3f), B [%.3f, %.3f); want F [t, t+3), B [t+1, t+5)", flo, fhi, blo, bhi)
	}
}
