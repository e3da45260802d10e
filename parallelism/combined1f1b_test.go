package parallelism

import (
	"fmt"
	"slices"
	"testing"
)

// TestCombined1F1BProgram checks Megatron-Core's combined 1F1B order under
// moe.overlap (schedProgram with combined), worked by hand: one more warm-up
// forward than the plain schedule, then each steady-state forward paired
// with the backward after it, of another micro-batch.
func TestCombined1F1BProgram(t *testing.T) {
	f := func(mb, c int, pair bool) string {
		return fmt.Sprintf("F%d.%d%s", mb, c, map[bool]string{true: "*"}[pair])
	}
	b := func(mb, c int) string { return fmt.Sprintf("B%d.%d", mb, c) }
	show := func(prog []step) []string {
		var out []string
		for _, st := range prog {
			if st.forward {
				out = append(out, f(st.mb, st.chunk, st.pair))
			} else {
				out = append(out, b(st.mb, st.chunk))
			}
		}
		return out
	}
	for _, tc := range []struct {
		name        string
		sched       Schedule
		p, v, m, s  int
		want, plain []string
	}{
		{
			// combined_1f1b_schedule_for_no_pipelining: forward 0 alone,
			// then forward i+1 with backward i, then the last backward.
			name: "no pipelining", sched: OneFOneB, p: 1, v: 1, m: 3, s: 0,
			want:  []string{f(0, 0, false), f(1, 0, true), b(0, 0), f(2, 0, true), b(1, 0), b(2, 0)},
			plain: []string{f(0, 0, false), b(0, 0), f(1, 0, false), b(1, 0), f(2, 0, false), b(2, 0)},
		},
		{
			// Last of 2 stages, 2 chunks, 4 micro-batches: warm-up
			// (2−1−1)·2 + (2−1)·2 + 1 = 3 forwards (the plain schedule's
			// 2 would pair F0.1 with B0.1, its own backward).
			name: "interleaved last stage", sched: Interleaved, p: 2, v: 2, m: 4, s: 1,
			want: []string{f(0, 0, false), f(1, 0, false), f(0, 1, false),
				f(1, 1, true), b(0, 1), f(2, 0, true), b(1, 1), f(3, 0, true), b(0, 0), f(2, 1, true), b(1, 0), f(3, 1, true), b(2, 1),
				b(3, 1), b(2, 0), b(3, 0)},
			plain: []string{f(0, 0, false), f(1, 0, false),
				f(0, 1, false), b(0, 1), f(1, 1, false), b(1, 1), f(2, 0, false), b(0, 0), f(3, 0, false), b(1, 0), f(2, 1, false), b(2, 1), f(3, 1, false), b(3, 1),
				b(2, 0), b(3, 0)},
		},
	} {
		if got := show(schedProgram(tc.sched, tc.p, tc.v, tc.m, tc.s, true)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: combined program\n got %v\nwant %v", tc.name, got, tc.want)
		}
		if got := show(program(tc.sched, tc.p, tc.v, tc.m, tc.s)); !slices.Equal(got, tc.plain) {
			t.Errorf("%s: plain program\n got %v\nwant %v", tc.name, got, tc.plain)
		}
	}
}

// TestCombined1F1BPairsIndependent checks, over a range of shapes, that every
// pair of the combined programs joins a forward and a backward of different
// micro-batch chunks whose forward has already run, and that each program
// still runs every pass once.
func TestCombined1F1BPairsIndependent(t *testing.T) {
	for _, p := range []int{1, 2, 4, 8} {
		for _, v := range []int{1, 2, 3} {
			sched := Interleaved
			if v == 1 {
				if p > 1 {
					continue
				}
				sched = OneFOneB
			}
			for _, m := range []int{p, 2 * p, 4 * p} {
				for s := 0; s < p; s++ {
					prog := schedProgram(sched, p, v, m, s, true)
					if len(prog) != 2*m*v {
						t.Fatalf("p%d v%d m%d s%d: %d steps, want %d", p, v, m, s, len(prog), 2*m*v)
					}
					done := map[[2]int]bool{}
					for i, st := range prog {
						if st.forward {
							done[[2]int{st.mb, st.chunk}] = true
						}
						if !st.pair {
							continue
						}
						nx := prog[i+1]
						if nx.forward || nx.mb == st.mb && nx.chunk == st.chunk || !done[[2]int{nx.mb, nx.chunk}] {
							t.Errorf("p%d v%d m%d s%d: step %d pairs %+v with %+v", p, v, m, s, i, st, nx)
						}
					}
				}
			}
		}
	}
}

// TestCombined1F1BLayouts: the combined order applies under moe.overlap to
// the interleaved schedule and to the plain one without pipelining only.
func TestCombined1F1BLayouts(t *testing.T) {
	for _, tc := range []struct {
		l    Layout
		want bool
	}{
		{Layout{Schedule: Interleaved, PP: 8, VirtualStages: 2, MoEOverlap: true}, true},
		{Layout{Schedule: OneFOneB, PP: 1, MoEOverlap: true}, true},
		{Layout{Schedule: OneFOneB, PP: 4, MoEOverlap: true}, false},
		{Layout{Schedule: Interleaved, PP: 8, VirtualStages: 2}, false},
		{Layout{Schedule: DualPipe, PP: 8, MoEOverlap: true}, false},
	} {
		if got := tc.l.combined1F1B(); got != tc.want {
			t.Errorf("%+v: combined1F1B %v, want %v", tc.l, got, tc.want)
		}
	}
}
