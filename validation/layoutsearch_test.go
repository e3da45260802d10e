package validation

import (
	"fmt"
	"strings"
	"testing"

	"trainsim/parallelism"
	"trainsim/search"
)

// layoutCase is a constructed case: a 1.3B-class GPT on gpus GPUs of gpu,
// with the parallelism lines given (tp and pp "unknown" unless they say).
func layoutCase(id, gpu, source string, gpus int, par ...string) string {
	lines := map[string]string{"tp": `"unknown"`, "pp": `"unknown"`, "global_batch": "64"}
	var order []string
	for _, p := range par {
		k, v, _ := strings.Cut(p, "=")
		lines[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	for _, k := range []string{"tp", "pp", "dp", "microbatch", "interleave", "recompute", "sequence_parallel", "global_batch"} {
		if v, ok := lines[k]; ok {
			order = append(order, k+" = "+v)
		}
	}
	return fmt.Sprintf(`[[case]]
id = %q
group = "constructed"
confidence = "high"
source = %q
[case.model]
name = "GPT 1.3B"
layers = 24
hidden = 2048
heads = 16
seq_len = 2048
vocab = 51200
[case.hardware]
gpu = %q
gpus_per_node = 8
gpus = %d
[case.parallelism]
%s
[case.measured]
iteration_s = 1.0
`, id, source, gpu, gpus, strings.Join(order, "\n"))
}

func parseOne(t *testing.T, src string) Case {
	t.Helper()
	cases, err := ParseCases("constructed.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 {
		t.Fatalf("%d cases", len(cases))
	}
	return cases[0]
}

// stepOf replays c (its layout stated) and returns its step time.
func stepOf(t *testing.T, c Case) float64 {
	t.Helper()
	rs := Evaluate(c)
	if len(rs) != 1 || !rs[0].Replayed || !rs[0].Scored {
		t.Fatalf("%s: %+v", c.ID, rs)
	}
	return rs[0].Predicted
}

// TestLayoutRule: a case whose tp or pp is unknown is scored with the
// fastest layout the search finds among those that keep what the case
// states; checked three ways: the pick keeps every stated degree and
// knob, an exhaustive search (no pruning, no fixed degrees) finds the same
// best step, and no case that states a layout of the same stack by hand
// (each tp and pp that divide) replays faster.
func TestLayoutRule(t *testing.T) {
	const h100, a100 = "H100 80GB SXM", "A100 80GB"
	const src2024, src2021jan = "constructed, 2024", "constructed (README at commit x, 2021-01-11)"
	for _, tc := range []struct {
		name, gpu, source string
		gpus              int
		par               []string
		// what the pick must keep (0 or "": free)
		tp, pp, dp, mb int
		sched          parallelism.Schedule
		recompute      string
	}{
		{name: "all unknown", gpu: h100, source: src2024, gpus: 16},
		{name: "tp stated", gpu: h100, source: src2024, gpus: 16, par: []string{"tp = 2"}, tp: 2},
		{name: "pp stated", gpu: h100, source: src2024, gpus: 16, par: []string{"pp = 2"}, pp: 2},
		{name: "dp and microbatch stated", gpu: h100, source: src2024, gpus: 16, par: []string{"dp = 4", "microbatch = 2"}, dp: 4, mb: 2},
		{name: "no interleaving, full recompute", gpu: h100, source: src2024, gpus: 16, par: []string{`interleave = "no"`, `recompute = "full"`}, sched: parallelism.OneFOneB, recompute: "full"},
		{name: "2021-01 stack: 1f1b only", gpu: a100, source: src2021jan, gpus: 16, sched: parallelism.OneFOneB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parseOne(t, layoutCase("c", tc.gpu, tc.source, tc.gpus, tc.par...))
			if c.free == nil || !c.Replayable || !c.Scored {
				t.Fatalf("not a scored case with an unknown layout: free %v, replayable %v, scored %v (%s)", c.free, c.Replayable, c.Scored, c.Why)
			}
			k, note, best, err := c.pickLayout()
			if err != nil {
				t.Fatal(err)
			}
			keeps := func(want, got int) bool { return want == 0 || want == got }
			if !keeps(tc.tp, k.TP) || !keeps(tc.pp, k.PP) || !keeps(tc.dp, k.DP) || !keeps(tc.mb, k.Microbatch) ||
				tc.sched != "" && k.Schedule != tc.sched || tc.recompute != "" && k.Recompute != tc.recompute {
				t.Fatalf("picked %s, which breaks what the case states (%v)", k, tc.par)
			}
			if k.TP*k.PP*k.DP*k.CP != c.GPUs || 64%(k.DP*k.Microbatch) != 0 || 24%(k.PP*k.VirtualStages) != 0 {
				t.Fatalf("picked %s: not a layout of %d GPUs, batch 64, 24 layers", k, c.GPUs)
			}
			if !strings.Contains(note, "the fastest layout the search finds") || !strings.HasSuffix(note, k.String()) {
				t.Errorf("note %q does not name the layout %s", note, k)
			}

			// An exhaustive search over the same layouts finds the same best.
			sc, err := c.loadPlaceholder()
			if err != nil {
				t.Fatal(err)
			}
			ex, err := search.Run(sc.Job, search.Options{Exhaustive: true, Workers: 2, Keep: c.free.keep(c, c.Knobs, 24, 64)})
			if err != nil || len(ex.Best) == 0 {
				t.Fatalf("exhaustive search: %v, %+v", err, ex)
			}
			if ex.Best[0].Objective != best.Objective {
				t.Fatalf("the rule's pick %s steps %g s; the exhaustive search's best %+v steps %g s", k, best.Objective, ex.Best[0].Job.Layout, ex.Best[0].Objective)
			}

			// The replay uses the pick, and says so.
			rs := Evaluate(c)
			if len(rs) != 1 || !rs[0].Scored || rs[0].Layout != k.String() || !strings.Contains(strings.Join(rs[0].Assumptions, "; "), note) {
				t.Fatalf("result %+v", rs)
			}
			picked := rs[0].Predicted
			if picked != stepOf(t, c) {
				t.Fatal("two replays of the case differ")
			}

			// No layout stated by hand (1f1b, micro-batch 1, the same
			// stack's rules) replays faster than the pick.
			for _, tp := range []int{1, 2, 4, 8} {
				for _, pp := range []int{1, 2, 4, 8} {
					if tc.tp != 0 && tp != tc.tp || tc.pp != 0 && pp != tc.pp || 16%(tp*pp) != 0 || (tc.dp != 0 && 16/(tp*pp) != tc.dp) {
						continue
					}
					par := append([]string{fmt.Sprintf("tp = %d", tp), fmt.Sprintf("pp = %d", pp)}, tc.par...)
					if tc.mb == 0 {
						par = append(par, "microbatch = 1")
					}
					par = append(par, `interleave = "no"`)
					if tc.recompute == "" {
						par = append(par, `recompute = "none"`)
					}
					hand := parseOne(t, layoutCase(fmt.Sprintf("tp%dpp%d", tp, pp), tc.gpu, tc.source, tc.gpus, par...))
					if hand.free != nil {
						t.Fatalf("tp %d pp %d stated, still free", tp, pp)
					}
					rh := Evaluate(hand)
					if len(rh) != 1 || !rh[0].Replayed {
						t.Fatalf("tp %d pp %d: %+v", tp, pp, rh)
					}
					if rh[0].Infeasible == "" && rh[0].Predicted < picked*(1-1e-9) {
						t.Errorf("%s steps %.4g s, faster than the pick %s (%.4g s)", rh[0].Layout, rh[0].Predicted, k, picked)
					}
				}
			}
		})
	}
}

// TestLayoutRuleKeepsStatedTP: a stated tp is the picked tp, whatever tp
// the search would take when free, and pp alone is chosen.
func TestLayoutRuleKeepsStatedTP(t *testing.T) {
	free := parseOne(t, layoutCase("free", "H100 80GB SXM", "constructed, 2024", 32))
	kf, _, _, err := free.pickLayout()
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range []int{1, 2, 4, 8} {
		c := parseOne(t, layoutCase("tp", "H100 80GB SXM", "constructed, 2024", 32, fmt.Sprintf("tp = %d", tp)))
		k, note, _, err := c.pickLayout()
		if err != nil {
			t.Fatal(err)
		}
		if k.TP != tp {
			t.Errorf("tp %d stated (free pick TP%d): picked %s", tp, kf.TP, k)
		}
		if !strings.Contains(note, fmt.Sprintf("(tp %d, pp ", tp)) {
			t.Errorf("note %q does not give the stated tp", note)
		}
	}
}
