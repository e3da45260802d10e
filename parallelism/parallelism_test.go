package parallelism

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"trainsim/collective"
	"trainsim/field"
	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// gpt3Job returns the GPT-3 175B job on nodes DGX A100-80GB nodes.
func gpt3Job(t testing.TB, nodes int, l Layout, batch int) Job {
	t.Helper()
	m, ok := model.Preset("gpt3-175b")
	if !ok {
		t.Fatal("no gpt3-175b preset")
	}
	sys, ok := topology.SystemPreset("dgx-a100-80gb")
	if !ok {
		t.Fatal("no dgx-a100-80gb preset")
	}
	if l.CP == 0 {
		l.CP, l.EP = 1, 1
	}
	if l.VirtualStages == 0 {
		l.VirtualStages = 1
	}
	return Job{
		Model: m, Cluster: topology.Cluster{System: sys, Nodes: nodes}, Layout: l,
		Training: Training{GlobalBatch: batch, Precision: units.FP16, Tokens: 300e9, Steps: 1, Attention: model.AttentionUnfused},
		Options:  Options{Network: NetworkAnalytical, Ranks: RanksSymmetric},
	}
}

// unitReplay replays a pipeline of p stages with one layer per chunk whose
// forward takes tf and backward tb, and nothing else: no communication,
// embedding, logits or optimizer. The plan is written by hand and goes
// through the same emission as a model's.
func unitReplay(t *testing.T, sched Schedule, p, v, m int, tf, tb units.Seconds) *Result {
	t.Helper()
	m175, _ := model.Preset("gpt3-175b")
	j := gpt3Job(t, p, Layout{TP: 8, PP: p, DP: 1, Microbatch: 1, Schedule: sched, VirtualStages: v, Recompute: RecomputeNone}, m)
	j.Model = m175
	j.Model.Layers = p * v
	pr, err := newPricer(j)
	if err != nil {
		t.Fatal(err)
	}
	pl := handPlan(pr, model.Layer{})
	pl.layers[model.TransformerLayer].fwd = []stepID{pr.computeStep(toTime(tf))}
	pl.layers[model.TransformerLayer].bwd = []stepID{pr.computeStep(toTime(tb))}
	r, err := runPlan(j, pr, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.result()
}

// handPlan returns a plan whose every layer kind is layer (programs compiled
// by pr) and whose layout collectives move nothing.
func handPlan(pr *pricer, layer model.Layer) *plan {
	pl := &plan{}
	none := pr.spec(commSpec{group: groupDP})
	for k := range pl.layers {
		pl.layers[k] = layerSteps{kind: model.LayerKind(k), fwd: pr.compile(layer.Forward), bwd: pr.compile(layer.Backward),
			rec: pr.compile(layer.Recompute), gradReduce: none, shardedRS: none, gather: none, zeroGather: none}
	}
	pl.ppSend = pr.spec(commSpec{op: collective.SendRecv, group: groupPP})
	pl.ppBack = pr.spec(commSpec{op: collective.SendRecv, group: groupPP, backward: true})
	p := pr.j.Layout.PP
	for s := 0; s < p; s++ {
		pl.gradReduce = append(pl.gradReduce, none)
		pl.paramGather = append(pl.paramGather, none)
		pl.embGrad = append(pl.embGrad, -1)
		pl.optimizer = append(pl.optimizer, pr.computeStep(0))
	}
	return pl
}

// TestBubbleFromReplay checks the pipeline bubble that comes out of the event
// replay against the closed forms: (p−1)/m of the ideal time for GPipe and
// 1F1B, (p−1)/(v·m) for the interleaved schedule (Narayanan et al. 2021, §2.2).
func TestBubbleFromReplay(t *testing.T) {
	tests := []struct {
		sched   Schedule
		p, v, m int
	}{
		{GPipe, 4, 1, 8},
		{OneFOneB, 4, 1, 8},
		{OneFOneB, 8, 1, 64},
		{OneFOneB, 16, 1, 192},
		{Interleaved, 4, 2, 8},
		{Interleaved, 8, 3, 64},
		{Interleaved, 4, 4, 16},
	}
	for _, tc := range tests {
		tf, tb := units.Seconds(1e-3), units.Seconds(2e-3)
		res := unitReplay(t, tc.sched, tc.p, tc.v, tc.m, tf, tb)
		ideal := float64(tc.m*tc.v) * float64(tf+tb)
		got := (float64(res.StepTime) - ideal) / ideal
		want := float64(tc.p-1) / float64(tc.v*tc.m)
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s p=%d v=%d m=%d: bubble = %.6f of ideal, want (p-1)/(v·m) = %.6f", tc.sched, tc.p, tc.v, tc.m, got, want)
		}
		if bub := float64(res.Breakdown.Bubble) / ideal; math.Abs(bub-want) > 1e-6 {
			t.Errorf("%s p=%d v=%d m=%d: reported bubble = %.6f of ideal, want %.6f", tc.sched, tc.p, tc.v, tc.m, bub, want)
		}
	}
}

// TestInFlight checks how many micro-batches' activations a stage holds:
// p−s for 1F1B (Narayanan et al. 2021), all m for GPipe, and for the
// interleaved schedule the count behind Korthikanti et al.'s factor
// L·(1 + (p−1)/(p·v)) on the first stage.
func TestInFlight(t *testing.T) {
	for s := 0; s < 8; s++ {
		if got := maxInFlight(program(OneFOneB, 8, 1, 64, s)); got != 8-s {
			t.Errorf("1F1B stage %d holds %d micro-batches, want %d", s, got, 8-s)
		}
	}
	if got := maxInFlight(program(GPipe, 8, 1, 64, 3)); got != 64 {
		t.Errorf("GPipe holds %d, want 64", got)
	}
	p, v := 8, 3
	chunks := maxInFlight(program(Interleaved, p, v, 64, 0))
	layersPerChunk := 4 // 96 layers / (8 × 3)
	want := 96 * (1 + float64(p-1)/float64(p*v))
	if got := float64(chunks * layersPerChunk); math.Abs(got-want) > 1e-9 {
		t.Errorf("interleaved stage 0 holds %g layer-micro-batches, want %g", got, want)
	}
}

// TestProgramsComplete checks that every schedule runs each micro-batch's
// forward and backward exactly once per chunk, forward first.
func TestProgramsComplete(t *testing.T) {
	for _, tc := range []struct {
		sched   Schedule
		p, v, m int
	}{{GPipe, 4, 1, 6}, {OneFOneB, 4, 1, 3}, {OneFOneB, 4, 1, 9}, {Interleaved, 4, 2, 8}, {Interleaved, 2, 3, 4}, {Interleaved, 4, 2, 4}} {
		for s := 0; s < tc.p; s++ {
			seen := map[step]int{}
			fwdDone := map[[2]int]bool{}
			for _, st := range program(tc.sched, tc.p, tc.v, tc.m, s) {
				seen[st]++
				key := [2]int{st.mb, st.chunk}
				if st.forward {
					fwdDone[key] = true
				} else if !fwdDone[key] {
					t.Errorf("%s stage %d: backward of %v before its forward", tc.sched, s, key)
				}
			}
			if len(seen) != 2*tc.m*tc.v {
				t.Errorf("%s p=%d v=%d m=%d stage %d: %d distinct passes, want %d", tc.sched, tc.p, tc.v, tc.m, s, len(seen), 2*tc.m*tc.v)
			}
			for st, n := range seen {
				if n != 1 {
					t.Errorf("%s stage %d: %v runs %d times", tc.sched, s, st, n)
				}
			}
		}
	}
}

// TestKorthikantiMemory checks the memory model against Korthikanti et al.
// 2022, Fig. 1 (175B, TP8 PP8, interleaved v=3; their figures exclude the
// embedding, so stage 3, a middle stage, is compared).
func TestKorthikantiMemory(t *testing.T) {
	gib := float64(units.GiB)
	tests := []struct {
		name      string
		rec       Recompute
		sp        bool
		wantState float64 // parameters + optimizer state, GiB
		wantAct   float64 // activations, GiB
	}{
		{"none", RecomputeNone, false, 45.5625, 66.84375},
		{"seq+sel", RecomputeSelective, true, 45.5625, 12.3515625},
		{"full", RecomputeFull, false, 45.5625, 66.84375 * 0.0871},
	}
	for _, tc := range tests {
		j := gpt3Job(t, 8, Layout{TP: 8, PP: 8, DP: 1, Microbatch: 1, Schedule: Interleaved, VirtualStages: 3, Recompute: tc.rec, SequenceParallel: tc.sp}, 64)
		// Stage 0's in-flight count, 4 layers per chunk.
		mem := j.stageMemory(3, 4*maxInFlight(program(Interleaved, 8, 3, 64, 0)))
		state := float64(mem.Weights+mem.Gradients+mem.Optimizer) / gib
		act := float64(mem.Activations) / gib
		if math.Abs(state/tc.wantState-1) > 0.01 {
			t.Errorf("%s: parameters+optimizer %.2f GiB, paper %.2f GiB", tc.name, state, tc.wantState)
		}
		if math.Abs(act/tc.wantAct-1) > 0.02 {
			t.Errorf("%s: activations %.2f GiB, paper %.2f GiB", tc.name, act, tc.wantAct)
		}
	}
}

func TestInfeasibleWhenOutOfMemory(t *testing.T) {
	j := gpt3Job(t, 8, Layout{TP: 8, PP: 8, DP: 1, Microbatch: 1, Schedule: Interleaved, VirtualStages: 3, Recompute: RecomputeNone}, 64)
	res, err := simulateJob(j)
	if err != nil {
		t.Fatal(err)
	}
	if res.Feasible || res.Reason == "" {
		t.Fatalf("175B TP8 PP8 without recompute fits in 80 GiB (peak %s); Korthikanti et al. say it does not", res.Memory.Peak)
	}
}

func TestSimulateDeterministic(t *testing.T) {
	j := gpt3Job(t, 16, Layout{TP: 8, PP: 8, DP: 2, Microbatch: 1, Schedule: Interleaved, VirtualStages: 2, Recompute: RecomputeSelective, SequenceParallel: true, ZeRO: 1, OverlapGradReduce: true}, 64)
	a, err := simulateJob(j)
	if err != nil {
		t.Fatal(err)
	}
	b, err := simulateJob(j)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two replays of the same job differ")
	}
}

// TestBreakdownAddsUp checks that the reported GPU's breakdown accounts for
// the whole step, on layouts that exercise every kind of task.
func TestBreakdownAddsUp(t *testing.T) {
	layouts := []Layout{
		{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull},
		{TP: 8, PP: 8, DP: 2, Microbatch: 1, Schedule: Interleaved, VirtualStages: 3, Recompute: RecomputeSelective, SequenceParallel: true, OverlapGradReduce: true, ZeRO: 1},
		{TP: 4, PP: 16, DP: 2, Microbatch: 1, Schedule: GPipe, Recompute: RecomputeFull, TPOverlap: true},
		{TP: 1, PP: 1, DP: 128, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 3},
	}
	for i, l := range layouts {
		nodes := l.TP * l.PP * l.DP / 8
		j := gpt3Job(t, nodes, l, l.DP*l.PP*2)
		res, err := simulateJob(j)
		if err != nil {
			t.Fatalf("layout %d: %v", i, err)
		}
		bd := res.Breakdown
		sum := bd.Compute + bd.Recompute + bd.TP + bd.PP + bd.DP + bd.CP + bd.EP + bd.Optimizer + bd.Bubble
		if math.Abs(float64(sum/res.StepTime)-1) > 1e-6 {
			t.Errorf("layout %d: breakdown sums to %v, step is %v (%+v)", i, sum, res.StepTime, bd)
		}
		if bd.Bubble < 0 || bd.TP < 0 || bd.PP < 0 || bd.DP < 0 {
			t.Errorf("layout %d: negative part in %+v", i, bd)
		}
		for k, c := range res.Comm {
			if c.Exposed > c.Total+units.Seconds(1e-9) {
				t.Errorf("layout %d: %s exposed %v > total %v", i, k, c.Exposed, c.Total)
			}
		}
	}
}

// BenchmarkReplayDefault measures one replay of the default scenario
// (GPT-3 175B, TP8 PP16 DP8, 192 micro-batches) by a caller that replays
// again and again with one Scratch (as a sweep or search worker does); run
// with -cpu 1. BenchmarkReplayDefaultFresh is the same without a Scratch.
func BenchmarkReplayDefault(b *testing.B) { benchDefault(b, &Scratch{}) }

// BenchmarkReplayDefaultFresh is BenchmarkReplayDefault with fresh arrays
// for every replay (Simulate).
func BenchmarkReplayDefaultFresh(b *testing.B) { benchDefault(b, nil) }

func benchDefault(b *testing.B, sc *Scratch) {
	j := gpt3Job(b, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	v, errs := j.Validate()
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	b.ReportAllocs()
	events := 0
	for i := 0; i < b.N; i++ {
		res, err := SimulateWith(v, sc)
		if err != nil {
			b.Fatal(err)
		}
		events = res.Events
	}
	b.ReportMetric(float64(events), "events/replay")
}

// TestCalibration: a site's measurements replace the generic efficiencies.
// Halving the sustained GEMM fraction about doubles the tensor-core time; a
// measured NVLink bus bandwidth sets the TP all-reduce time exactly.
func TestCalibration(t *testing.T) {
	j := gpt3Job(t, 8, Layout{TP: 8, PP: 8, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 16)
	base := simulate(t, j)
	cm, _ := kernelModel(j)
	half := cm.Params.GEMMPeakFraction / 2
	bw := units.Bandwidth(150e9)
	j.Calibration = Calibration{GEMMPeakFraction: &half, NVLinkBusBandwidth: &bw}
	cal := simulate(t, j)
	// Not exactly 2: launch costs do not double, and a few GEMMs that were
	// bound by HBM become bound by the (slower) tensor cores.
	if r := float64(cal.Breakdown.TensorCore / base.Breakdown.TensorCore); r < 1.95 || r > 2.1 {
		t.Errorf("tensor-core time ×%.3f with half the GEMM fraction, want about ×2", r)
	}
	pr, err := newPricer(j)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pr.price(pr.spec(commSpec{op: collective.AllReduce, bytes: 2048 * 12288 * 2, group: groupTP}), 0)
	if err != nil {
		t.Fatal(err)
	}
	S := float64(2048 * 12288 * 2)
	chunk := units.Bytes(S / 8)
	want := 2*7.0/8*S/(150e9*pr.coll.Params.SizeFactor(chunk)) + 14*float64(j.Cluster.NVLink.Latency)
	if math.Abs(float64(c.Time)/want-1) > 1e-9 {
		t.Errorf("TP all-reduce with 150 GB/s measured: %v, want %.6g s", c.Time, want)
	}
	bad := 1.5
	j.Calibration = Calibration{HBMFraction: &bad}
	if errs := problems(j); len(errs) != 1 {
		t.Errorf("hbm_fraction 1.5: %v, want one error", errs)
	}
}

// TestUnevenStages: layers that do not divide over the virtual stages are
// spread with at most one layer of difference, the first stage (which holds
// the embedding) taking the fewer, and every layer is replayed once.
func TestUnevenStages(t *testing.T) {
	for _, tc := range []struct{ layers, pp, v int }{{70, 12, 1}, {126, 16, 1}, {96, 7, 2}, {5, 4, 1}} {
		j := gpt3Job(t, tc.pp, Layout{TP: 8, PP: tc.pp, DP: 1, Microbatch: 1, Schedule: OneFOneB, VirtualStages: tc.v, Recompute: RecomputeFull}, tc.pp*2)
		if tc.v > 1 {
			j.Layout.Schedule = Interleaved
		}
		j.Model.Layers = tc.layers
		total, lo, hi := 0, tc.layers, 0
		for vs := 0; vs < tc.pp*tc.v; vs++ {
			n := j.LayersOf(vs)
			total += n
			lo, hi = min(lo, n), max(hi, n)
		}
		if total != tc.layers || hi-lo > 1 || j.LayersOf(0) != lo {
			t.Errorf("%d layers over %d×%d: total %d, sizes %d..%d, first %d", tc.layers, tc.pp, tc.v, total, lo, hi, j.LayersOf(0))
		}
		if errs := problems(j); len(errs) > 0 {
			t.Fatalf("%d layers over %d×%d: %v", tc.layers, tc.pp, tc.v, errs)
		}
		var params float64
		for s := 0; s < tc.pp; s++ {
			params += j.stageParams(s)
		}
		emb := float64(j.Model.Vocab*j.Model.Hidden) / 8
		want := float64(tc.layers)*float64(j.Model.LayerParams())/8 + 2*emb + float64(j.Model.SeqLen*j.Model.Hidden)
		if tc.pp == 1 {
			want -= emb
		}
		if math.Abs(params/want-1) > 1e-12 {
			t.Errorf("%d layers over %d stages: %g parameters per TP rank, want %g", tc.layers, tc.pp, params, want)
		}
		if _, err := simulateJob(j); err != nil {
			t.Errorf("%d layers over %d×%d: %v", tc.layers, tc.pp, tc.v, err)
		}
	}
}

// TestGradientPrecisionAndAccumulation: 16-bit gradients halve the gradient
// buffer and the bytes of the data-parallel reduction; unfused accumulation
// adds one memory-bound kernel per weight and micro-batch, so the step grows
// by at least those kernels' HBM time on the busiest stage.
func TestGradientPrecisionAndAccumulation(t *testing.T) {
	l := Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}
	j := gpt3Job(t, 8, l, 16)
	base := simulate(t, j)

	j16 := j
	j16.Training.Grads16 = true
	r16 := simulate(t, j16)
	if got, want := r16.Memory.Gradients, base.Memory.Gradients/2; got != want {
		t.Errorf("16-bit gradients: %v of gradient memory, want %v", got, want)
	}
	if got, want := r16.Comm["dp"].Bytes, base.Comm["dp"].Bytes/2; math.Abs(float64(got)/float64(want)-1) > 1e-9 {
		t.Errorf("16-bit gradients: DP sends %v, want %v", got, want)
	}

	ju := j
	ju.Training.UnfusedGradAccum = true
	ru := simulate(t, ju)
	// Every stage holds 24 layers of 12·h²/t weights and runs 16/2 = 8
	// micro-batches; each adds read 2 + 4 and write 4 B per weight at the
	// HBM roofline to the stage's backward.
	cm, _ := kernelModel(j)
	weights := 24 * 12 * 12288.0 * 12288 / 8
	perMB, _ := cm.Time(model.Op{Class: model.Memory, Bytes: units.Bytes(10 * weights)})
	min := units.Seconds(8) * perMB * 0.9 // at least 90%: the kernels are split per weight
	if d := ru.StepTime - base.StepTime; d < min {
		t.Errorf("unfused accumulation adds %v to the step, want at least %v", d, min)
	}
}

// TestAttentionAndFP8Memory checks two memory rules by hand on one GPT-3 175B
// layer at TP 8 with sequence parallelism, micro-batch 1, no recomputation:
// flash attention keeps no s×s scores, only an fp32 log-sum-exp per head and
// token (5as²b/t bytes become 4as·b/t); FP8 keeps the QKV, MLP-up, projection
// and MLP-down inputs in one byte (7sbh/t bytes fewer) and an FP8 weight and
// its transpose for every linear weight (2 B each).
func TestAttentionAndFP8Memory(t *testing.T) {
	l := Layout{TP: 8, PP: 8, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeNone, SequenceParallel: true}
	unfused := gpt3Job(t, 8, l, 8)
	const s, h, a, tp = 2048.0, 12288.0, 96.0, 8.0
	flash := unfused
	flash.Training.Attention = model.AttentionFlash
	if got, want := float64(unfused.layerActivationBytes()-flash.layerActivationBytes()), 5*a*s*s/tp-4*a*s/tp; got != want {
		t.Errorf("flash attention saves %g B per layer, want %g", got, want)
	}
	fp8 := flash
	fp8.Training.Precision = units.FP8
	if got, want := float64(flash.layerActivationBytes()-fp8.layerActivationBytes()), 7*s*h/tp; got != want {
		t.Errorf("FP8 saves %g B of activations per layer, want %g", got, want)
	}
	layers := fp8.stageLayers(1)
	extra := fp8.stageMemory(1, 12).Weights - flash.stageMemory(1, 12).Weights
	if want := units.Bytes(2 * float64(layers) * 12 * h * h / tp); extra != want {
		t.Errorf("FP8 weight copies: %v, want %v", extra, want)
	}
}

// TestFP8ParamMemory checks training.fp8_param by hand on the GPT-3 175B
// stage of TestAttentionAndFP8Memory (TP 8, PP 8, 12 layers on stage 1) and
// a DP 4 ZeRO-1 copy: every layer's four linear weights (12·h² of them)
// lose their 16-bit copy, 2 B each over TP, leaving the FP8 weight and its
// transpose beside no 16-bit weight; the layer norms' and biases' weights
// (13·h per layer) stay 16-bit; the parameter all-gather moves the linear
// weights in 1 B instead of 2. A 16-bit run refuses the key.
func TestFP8ParamMemory(t *testing.T) {
	const h, tp = 12288.0, 8.0
	cases := []struct {
		name    string
		param   bool
		weights float64 // stage 1's weight bytes beyond the 16-bit parameters' 2 B each
		gather  float64 // all-gather bytes below the 16-bit parameters' 2 B each
	}{
		{"fp8 weights beside 16-bit ones", false, 2 * 12 * h * h / tp, 0},
		{"fp8 parameters only", true, 0, 12 * h * h / tp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := Layout{TP: 8, PP: 8, DP: 4, ZeRO: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeNone, SequenceParallel: true}
			j := gpt3Job(t, 32, l, 8)
			j.Training.Attention = model.AttentionFlash
			j.Training.Precision = units.FP8
			j.Training.FP8Param = c.param
			layers := float64(j.stageLayers(1))
			base := 2 * j.stageParams(1)
			if got, want := float64(j.stageMemory(1, 12).Weights), base+layers*c.weights; math.Abs(got-want) > 1 {
				t.Errorf("weights %g B, want %g", got, want)
			}
			gather, _ := j.gatherBytes(1)
			if got, want := float64(gather), base-layers*c.gather; math.Abs(got-want) > 1 {
				t.Errorf("parameter all-gather %g B, want %g", got, want)
			}
		})
	}
	j := gpt3Job(t, 8, Layout{TP: 8, PP: 8, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, SequenceParallel: true}, 8)
	j.Training.FP8Param = true
	_, errs := j.Validate()
	if !slices.ContainsFunc(errs, func(e field.Error) bool { return e.Field == "training.fp8_param" }) {
		t.Errorf("fp8_param with %s: errors %v, want one on training.fp8_param", j.Training.Precision, errs)
	}
}

// TestInFlightLayers: in-flight activations are counted layer by layer, each
// chunk at its own size. Interleaved, p = 2, v = 2, m = 2: stage 0 runs all four
// forward passes before any backward, two through chunk 0 (1 layer) and two
// through chunk 1 (2 layers): 6 layers, where counting every chunk at the
// largest gave 8.
func TestInFlightLayers(t *testing.T) {
	layers := []int{1, 2}
	got := maxInFlightLayers(program(Interleaved, 2, 2, 2, 0), func(c int) int { return layers[c] })
	if got != 6 {
		t.Errorf("interleaved p=2 v=2 m=2 stage 0: %d layers in flight, want 6", got)
	}
	if got := maxInFlightLayers(program(OneFOneB, 4, 1, 8, 0), func(int) int { return 3 }); got != 12 {
		t.Errorf("1F1B p=4 stage 0, 3 layers: %d, want 4 × 3 = 12", got)
	}
	if got := maxInFlightLayers(program(GPipe, 4, 1, 5, 2), func(int) int { return 3 }); got != 15 {
		t.Errorf("GPipe m=5, 3 layers: %d, want 15", got)
	}
	// In a job, 94 layers on 4 stages (23, 23, 24, 24) count each stage at
	// its own size.
	j := gpt3Job(t, 4, Layout{TP: 8, PP: 4, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 8)
	j.Model.Layers = 94
	if got, want := j.inFlightLayers(program(OneFOneB, 4, 1, 8, 0), 0), 4*j.LayersOf(0); got != want {
		t.Errorf("94 layers on 4 stages, stage 0: %d, want %d", got, want)
	}
}

// TestPPScatterGather: with TP 8 and no sequence parallelism, Megatron-LM's
// scatter/gather sends 1/8 of the activation through the NIC and all-gathers
// it over NVLink; without it (Megatron-Core) each rank sends the whole
// activation, 8× the NIC bytes, and no gather follows. With sequence
// parallelism the two are the same.
func TestPPScatterGather(t *testing.T) {
	for _, sp := range []bool{false, true} {
		l := Layout{TP: 8, PP: 2, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, SequenceParallel: sp}
		sent := map[bool]units.Bytes{}
		for _, no := range []bool{false, true} {
			l.NoPPScatterGather = no
			pr, err := newPricer(gpt3Job(t, 2, l, 8))
			if err != nil {
				t.Fatal(err)
			}
			pl, err := newPlan(pr)
			if err != nil {
				t.Fatal(err)
			}
			c, err := pr.price(pl.ppSend, 0)
			if err != nil {
				t.Fatal(err)
			}
			sent[no] = c.Sent[collective.NIC]
		}
		act := units.Bytes(2048 * 12288 * 2)
		want := map[bool]units.Bytes{false: act / 8, true: act}
		if sp {
			want[true] = act / 8
		}
		for no, w := range want {
			if sent[no] != w {
				t.Errorf("sp %v, scatter/gather off %v: %v through the NIC, want %v", sp, no, sent[no], w)
			}
		}
	}
}
