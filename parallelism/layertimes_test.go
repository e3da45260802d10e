package parallelism

import (
	"testing"

	"trainsim/collective"
	"trainsim/model"
	"trainsim/units"
)

// handStep is one step of a hand-written layer pass: a compute step of d
// milliseconds, or a collective of d milliseconds, overlapped with the
// compute step before it when overlap, on the context-parallel stream when
// cp.
type handStep struct {
	coll, overlap, cp bool
	d                 float64
}

// TestPassTimeOverlapped checks the per-layer time LayerTimes reports
// (pricer.passTime) on hand-written passes whose collectives have hand-set
// durations, against the schedule worked out by hand from how the replay
// runs them (emitPart): a compute step's overlapped collectives start with
// it, one at a time on their stream (the TP stream; ring attention's on
// its own CP stream when CP > 1), and the next main-stream step waits for
// them all. The same pass is then replayed as a one-layer model and must
// take the same time. SM contention is set to zero here (CommSMs 0); it is
// checked in TestPassTimeContention.
func TestPassTimeOverlapped(t *testing.T) {
	c := func(ms float64) handStep { return handStep{d: ms} }
	tp := func(ms float64) handStep { return handStep{coll: true, overlap: true, d: ms} }
	cp := func(ms float64) handStep { return handStep{coll: true, overlap: true, cp: true, d: ms} }
	blocking := func(ms float64) handStep { return handStep{coll: true, d: ms} }
	tests := []struct {
		name  string
		cpDeg int
		steps []handStep
		want  float64 // ms, by hand
	}{
		// TP stream 0–4, 4–12; compute 0–10; the pass ends at 12.
		{"two on one stream", 1, []handStep{c(10), tp(4), tp(8)}, 12},
		// TP 0–4, CP 0–8, compute 0–10: hidden.
		{"two streams", 2, []handStep{c(10), tp(4), cp(8)}, 10},
		// Without CP > 1 the CP collective shares the TP stream: 0–4, 4–12.
		{"cp group, one stream", 1, []handStep{c(10), tp(4), cp(8)}, 12},
		{"one, outlasting", 1, []handStep{c(10), tp(14)}, 14},
		{"one, hidden", 1, []handStep{c(10), tp(4)}, 10},
		// TP 0–6, 6–12; the next compute waits until 12, runs to 17.
		{"wait, then compute", 1, []handStep{c(10), tp(6), tp(6), c(5)}, 17},
		// TP 0–4; compute 10–16 with TP 10–18 beside it.
		{"one per compute", 1, []handStep{c(10), tp(4), c(6), tp(8)}, 18},
		// A blocking collective on the main stream 10–13; an overlappable
		// one after it has no compute to hide behind: blocking, 13–17.
		{"after a blocking one", 1, []handStep{c(10), blocking(3), tp(4)}, 17},
		// TP 0–3, 3–6, 6–9 beside compute 0–10.
		{"three hidden", 1, []handStep{c(10), tp(3), tp(3), tp(3)}, 10},
	}
	for _, tc := range tests {
		j := gpt3Job(t, tc.cpDeg, Layout{TP: 8, PP: 1, CP: tc.cpDeg, EP: 1, DP: 1, Microbatch: 1, Schedule: OneFOneB,
			VirtualStages: 1, Recompute: RecomputeNone}, 1)
		j.Model.Layers = 1
		zero := 0
		j.Calibration.CommSMs = &zero
		pr, err := newPricer(j)
		if err != nil {
			t.Fatal(err)
		}
		checkPassBothWays(t, j, pr, tc.name, tc.steps, tc.want)
	}
}

// TestPassTimeContention checks that LayerTimes charges what the replay
// charges for the SMs overlapped communication takes (the kernel model's
// CommSlowdown, 8 of the A100's 108 SMs by default): the overlapped
// collectives' time times the slowdown, added to the next compute step,
// or at the end of the pass when none follows. Compute 10 ms with 4 + 8 ms
// on the TP stream (hidden up to 12), then compute 5: 12 + 5 + 12·8/108.
func TestPassTimeContention(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []handStep
		want  float64
	}{
		{"paid by the next compute", []handStep{{d: 10}, {coll: true, overlap: true, d: 4}, {coll: true, overlap: true, d: 8}, {d: 5}}, 17 + 12*8.0/108},
		{"paid at the end", []handStep{{d: 10}, {coll: true, overlap: true, d: 4}, {coll: true, overlap: true, d: 8}}, 12 + 12*8.0/108},
		{"blocking: none", []handStep{{d: 10}, {coll: true, d: 4}}, 14},
	} {
		j := gpt3Job(t, 1, Layout{TP: 8, PP: 1, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeNone}, 1)
		j.Model.Layers = 1
		pr, err := newPricer(j)
		if err != nil {
			t.Fatal(err)
		}
		if s := pr.cm.CommSlowdown(); !nearMS(s, 8.0/108) {
			t.Fatalf("CommSlowdown %v, want 8/108 (the A100 default this test is written for)", s)
		}
		checkPassBothWays(t, j, pr, tc.name, tc.steps, tc.want)
	}
}

// nearMS compares milliseconds to the engine's time resolution.
func nearMS(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

// handSteps registers steps with pr, each collective's price at stage 0 set
// to its hand duration, and returns their indices.
func handSteps(pr *pricer, steps []handStep) []stepID {
	var ids []stepID
	for _, st := range steps {
		d := units.Seconds(st.d * 1e-3)
		if !st.coll {
			ids = append(ids, pr.computeStep(toTime(d)))
			continue
		}
		g := groupTP
		if st.cp {
			g = groupCP
		}
		spec := pr.spec(commSpec{op: collective.AllReduce, group: g})
		i := int(spec) * pr.j.Layout.PP
		for i >= len(pr.costs) {
			pr.costs = append(pr.costs, collective.Cost{})
			pr.ok = append(pr.ok, false)
		}
		pr.costs[i], pr.ok[i] = collective.Cost{Time: d}, true
		pr.steps = append(pr.steps, pricedStep{kind: model.Collective, spec: spec, overlap: st.overlap})
		ids = append(ids, stepID(len(pr.steps)-1))
	}
	return ids
}

// TestLayerTimesMatchesReplay replays GPT-3 175B's transformer layer, as the
// layout compiles it, as a one-layer model (one micro-batch, no pipeline, no
// data parallelism, nothing else in the step) and checks that the step
// takes LayerTimes' forward plus backward: with sequence parallelism and
// tp_overlap (a reduce-scatter and an all-gather overlapped after each
// block, two on one stream), with the asynchronous input-gradient
// all-reduce, and under each recomputation.
func TestLayerTimesMatchesReplay(t *testing.T) {
	for _, tc := range []struct {
		name             string
		sp, overlap, adg bool
		rec              Recompute
	}{
		{"blocking", false, false, false, RecomputeNone},
		{"tp_overlap", false, true, false, RecomputeNone},
		{"sp + tp_overlap", true, true, false, RecomputeNone},
		{"sp + tp_overlap, full recompute", true, true, false, RecomputeFull},
		{"sp + tp_overlap, selective", true, true, false, RecomputeSelective},
		{"async dgrad", false, false, true, RecomputeNone},
		{"async dgrad, full recompute", false, false, true, RecomputeFull},
	} {
		j := gpt3Job(t, 1, Layout{TP: 8, PP: 1, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: tc.rec,
			SequenceParallel: tc.sp, TPOverlap: tc.overlap, AsyncTPAllReduce: tc.adg}, 1)
		v, errs := j.Validate()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		f, b, err := LayerTimes(v)
		if err != nil {
			t.Fatal(err)
		}
		j.Model.Layers = 1
		pr, err := newPricer(j)
		if err != nil {
			t.Fatal(err)
		}
		layer := j.Model.Programs(j.Shard())[model.TransformerLayer]
		pl := handPlan(pr, model.Layer{})
		ls := &pl.layers[model.TransformerLayer]
		ls.fwd, ls.rec, ls.bwd = pr.compile(layer.Forward), pr.compile(layer.Recompute), pr.compile(layer.Backward)
		r, err := runPlan(j, pr, pl, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, want := 1e3*float64(r.result().StepTime), 1e3*float64(f+b)
		if !nearMS(got, want) {
			t.Errorf("%s: one-layer replay %v ms, LayerTimes forward + backward %v + %v = %v ms", tc.name, got, 1e3*float64(f), 1e3*float64(b), want)
		}
	}
}

// checkPassBothWays prices a hand-built pass of steps with LayerTimes'
// passTime and replays it as a one-layer step, and checks both against the
// hand figure want (ms).
func checkPassBothWays(t *testing.T, j Job, pr *pricer, name string, steps []handStep, want float64) {
	t.Helper()
	ids := handSteps(pr, steps)
	got, err := pr.passTime(ids)
	if err != nil {
		t.Fatal(err)
	}
	if ms := 1e3 * got.Seconds(); !nearMS(ms, want) {
		t.Errorf("%s: LayerTimes' pass = %v ms, want %v (by hand)", name, ms, want)
	}
	pl := handPlan(pr, model.Layer{})
	pl.layers[model.TransformerLayer].fwd = ids
	r, err := runPlan(j, pr, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ms := 1e3 * float64(r.result().StepTime); !nearMS(ms, want) {
		t.Errorf("%s: replayed one-layer step = %v ms, want %v (by hand)", name, ms, want)
	}
}
