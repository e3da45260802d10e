package parallelism

import (
	"math"
	"strings"
	"testing"

	"trainsim/collective"
	"trainsim/model"
	"trainsim/units"
)

// zero3LoopJob is GPT-3 175B with ZeRO-3 over 16 GPUs (two DGX A100
// nodes), with or without DeepSpeed 2021's per-rank host loops.
func zero3LoopJob(t *testing.T, loops bool) Valid {
	t.Helper()
	l := Layout{TP: 1, PP: 1, DP: 16, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull, ZeRO: 3, OverlapGradReduce: true, ZeRO3RankLoops: loops}
	v, errs := gpt3Job(t, 2, l, 32).Validate()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return v
}

// TestZeRO3RankLoopsPricing checks the looped collectives against a hand
// count. GPT-3 175B (h = 12288, biases) has 12 tensors per layer: the four
// weight matrices (3h², h², 4h², 4h² elements) are gathered, the eight
// biases and norm vectors (≤ 4h = 49,152 < 100,000) persist. With 16 ranks
// and 10 µs per call (HostCall) and per kernel (HostIssue), A100's:
//   - a gather: 16 × 1 view × 10 µs = 160 µs per tensor before its
//     transfer, 4 tensors; c10d's 16 copies (160 µs) run beside the
//     transfer, which is longer for these tensors;
//   - a reduce-scatter: 16 × (2 views + 1 copy) × 10 µs = 480 µs per
//     tensor, all 12;
//   - the persistent re-gather: 96 layers × 8 = 768 tensors, 768 × 16 ×
//     (3 views + 1 copy) × 10 µs = 491.52 ms after the coalesced
//     all-gather, whose 16 copies (160 µs) run beside it.
func TestZeRO3RankLoopsPricing(t *testing.T) {
	const us = 1e-6
	h := int64(12288)
	big := []int64{3 * h * h, h * h, 4 * h * h, 4 * h * h}
	tests := []struct {
		name                  string
		loops                 bool
		gatherTensors         int
		gatherHost, rsHost    float64 // seconds, all calls of one layer
		rsTensors             int     // 0: one call for the layer
		persistHost           float64 // seconds; < 0: no re-gather
		persistTensorsOfLayer int
	}{
		{name: "DeepSpeed 2021 loops", loops: true, gatherTensors: 4, gatherHost: 4 * 160 * us, rsTensors: 12, rsHost: 12 * 480 * us, persistHost: 491.52e-3, persistTensorsOfLayer: 8},
		{name: "no loops", loops: false, gatherTensors: 12, persistHost: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := zero3LoopJob(t, tt.loops).Job()
			p, err := newPricer(j)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := newPlan(p)
			if err != nil {
				t.Fatal(err)
			}
			ls := pl.layers[model.TransformerLayer]
			if ls.persist != tt.persistTensorsOfLayer {
				t.Errorf("persistent tensors per layer = %d, want %d", ls.persist, tt.persistTensorsOfLayer)
			}
			pla := p.placementAt(collective.AllGather, groupDP, 0, 0)
			plr := p.placementAt(collective.ReduceScatter, groupDP, 0, 0)
			near := func(what string, got, want units.Seconds) {
				t.Helper()
				if math.Abs(float64(got-want)) > 1e-9*math.Max(1, math.Abs(float64(want))) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}

			g := p.specs[ls.zeroGather]
			if len(g.tensors) != tt.gatherTensors {
				t.Fatalf("gathered tensors = %d, want %d", len(g.tensors), tt.gatherTensors)
			}
			gc, err := p.price(ls.zeroGather, 0)
			if err != nil {
				t.Fatal(err)
			}
			if tt.loops {
				want := units.Seconds(tt.gatherHost)
				for _, n := range big {
					c, err := p.coll.Time(collective.AllGather, units.Bytes(n)*weightBytesPerParam, pla)
					if err != nil {
						t.Fatal(err)
					}
					if c.Time < 160*us {
						t.Fatalf("a %d-element gather takes %v, shorter than its copies", n, c.Time)
					}
					want += c.Time
				}
				near("gather of one layer", gc.Time, want)
			}

			rc, err := p.price(ls.shardedRS, 0)
			if err != nil {
				t.Fatal(err)
			}
			rs := p.specs[ls.shardedRS]
			if len(rs.tensors) != tt.rsTensors {
				t.Fatalf("reduce-scatter calls = %d tensors, want %d", len(rs.tensors), tt.rsTensors)
			}
			if tt.loops {
				want := units.Seconds(tt.rsHost)
				for _, n := range j.Model.LayerTensors() {
					c, err := p.coll.Time(collective.ReduceScatter, units.Bytes(n)*grad16BytesPerParam, plr)
					if err != nil {
						t.Fatal(err)
					}
					want += c.Time
				}
				near("reduce-scatter of one layer", rc.Time, want)
			}

			id := pl.persistGather[0]
			if tt.persistHost < 0 {
				if id >= 0 {
					t.Fatal("a persistent re-gather without the loops")
				}
				return
			}
			if id < 0 {
				t.Fatal("no persistent re-gather")
			}
			pc, err := p.price(id, 0)
			if err != nil {
				t.Fatal(err)
			}
			var params float64
			for _, n := range j.Model.LayerTensors() {
				if n < zero3PersistenceThreshold {
					params += float64(n)
				}
			}
			bare, err := p.coll.Time(collective.AllGather, units.Bytes(96*params)*weightBytesPerParam, pla)
			if err != nil {
				t.Fatal(err)
			}
			near("persistent re-gather", pc.Time, bare.Time+units.Seconds(tt.persistHost)+max(0, 160*us-bare.Time))
		})
	}
}

// TestZeRO3RankLoopsReplay: the loops slow the step by at least the
// persistent re-gather, which runs after the optimizer on the main stream,
// and the report's notes give their figures; without them, no such note.
func TestZeRO3RankLoopsReplay(t *testing.T) {
	run := func(loops bool) *Result {
		t.Helper()
		res, err := Simulate(zero3LoopJob(t, loops))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	said := func(r *Result) string {
		for _, n := range r.Notes {
			if strings.HasPrefix(n, "ZeRO-3 per-rank host loops") {
				return n
			}
		}
		return ""
	}
	with, without := run(true), run(false)
	if d := with.StepTime - without.StepTime; d < 491.52e-3 {
		t.Errorf("step %v with the loops, %v without: %v slower, want ≥ 491.52 ms", with.StepTime, without.StepTime, d)
	}
	if with.Breakdown.DP <= without.Breakdown.DP {
		t.Errorf("DP exposed %v with the loops, %v without", with.Breakdown.DP, without.Breakdown.DP)
	}
	n := said(with)
	for _, s := range []string{"over 16 ranks", "gather costs 160 us of host time before its transfer and 160 us of copies", "reduce-scatter 480 us", "768 tensors", "step 492 ms"} {
		if !strings.Contains(n, s) {
			t.Errorf("note %q lacks %q", n, s)
		}
	}
	if said(without) != "" {
		t.Errorf("note without the loops: %q", said(without))
	}
}

// TestCallHost: the host time before a transfer is always added, the host
// time beside it only where it outlasts the transfer.
func TestCallHost(t *testing.T) {
	tests := []struct {
		host, beside, transfer, want units.Seconds
	}{
		{host: 0, beside: 0, transfer: 5, want: 0},
		{host: 2, beside: 0, transfer: 5, want: 2},
		{host: 2, beside: 3, transfer: 5, want: 2},
		{host: 2, beside: 8, transfer: 5, want: 5},
		{host: 0, beside: 8, transfer: 0, want: 8},
	}
	for _, tt := range tests {
		sp := commSpec{host: tt.host, hostBeside: tt.beside}
		if got := sp.callHost(tt.transfer); got != tt.want {
			t.Errorf("host %v, beside %v, transfer %v: %v, want %v", tt.host, tt.beside, tt.transfer, got, tt.want)
		}
	}
}
