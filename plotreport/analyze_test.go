package plotreport

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"trainsim/report"
	"trainsim/sweep"
)

func TestPareto(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		pts  []Point
		want []int // IDs on the front, by increasing X
	}{
		{"empty", nil, nil},
		{"one point", []Point{{8, 10, 0}}, []int{0}},
		{"all on the front", []Point{{32, 4, 2}, {8, 16, 0}, {16, 8, 1}}, []int{0, 1, 2}},
		{"dominated in both", []Point{{8, 16, 0}, {16, 20, 1}, {32, 4, 2}}, []int{0, 2}},
		{"same X, larger Y is dominated", []Point{{8, 16, 0}, {8, 12, 1}, {16, 8, 2}}, []int{1, 2}},
		{"same Y, larger X is dominated", []Point{{8, 10, 0}, {16, 10, 1}}, []int{0}},
		{"equal points: the lower ID", []Point{{8, 10, 5}, {8, 10, 3}, {16, 4, 7}}, []int{3, 7}},
		{"NaN ignored", []Point{{8, nan, 0}, {nan, 1, 1}, {16, 4, 2}}, []int{2}},
		{"a lone fastest point", []Point{{64, 1, 0}, {8, 50, 1}, {16, 60, 2}, {32, 2, 3}}, []int{1, 3, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for _, p := range Pareto(tc.pts) {
				got = append(got, p.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("front %v, want %v", got, tc.want)
			}
		})
	}
}

// TestParetoBruteForce checks the sweep against the definition: a point is
// on the front iff no other point dominates it (and no equal point has a
// lower ID).
func TestParetoBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	for trial := range 200 {
		n := rng.IntN(30)
		pts := make([]Point, n)
		for i := range pts {
			// Few distinct values, so that ties happen.
			pts[i] = Point{X: float64(int(8) << rng.IntN(4)), Y: float64(1 + rng.IntN(12)), ID: i}
		}
		want := map[int]bool{}
		for _, p := range pts {
			on := true
			for _, q := range pts {
				dominates := q.X <= p.X && q.Y <= p.Y && (q.X < p.X || q.Y < p.Y)
				same := q.X == p.X && q.Y == p.Y && q.ID < p.ID
				if dominates || same {
					on = false
				}
			}
			if on {
				want[p.ID] = true
			}
		}
		front := Pareto(pts)
		got := map[int]bool{}
		for i, p := range front {
			got[p.ID] = true
			if i > 0 && !(p.X > front[i-1].X && p.Y < front[i-1].Y) {
				t.Errorf("trial %d: front not ordered by X up, Y down at %d: %v", trial, i, front)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("trial %d: sweep gives %v, <-- via dominance %v (points %v)", trial, got, want, pts)
		}
	}
}

// rec builds a record: feasible when step > 0.
func rec(point, gpus int, step float64, grid ...any) sweep.Record {
	r := sweep.Record{Point: point, Scenario: "s"}
	for i := 0; i+1 < len(grid); i += 2 {
		r.Grid = append(r.Grid, sweep.Param{Key: grid[i].(string), Value: grid[i+1]})
	}
	if step > 0 {
		r.Report = &report.Report{Scenario: "s", GPUs: gpus, Feasible: true, StepTimeS: step, MFU: 0.5}
	} else {
		r.Reason = "out of memory: too big"
	}
	return r
}

func TestBestByValue(t *testing.T) {
	recs := []sweep.Record{
		rec(0, 8, 30, "nodes", int64(4), "recompute", "full"),
		rec(1, 8, 20, "nodes", int64(4), "recompute", "selective"),
		rec(2, 64, 0, "nodes", int64(1), "recompute", "full"),
		rec(3, 16, 10, "nodes", int64(2), "recompute", "selective"),
		rec(4, 16, 10, "nodes", int64(2), "recompute", "full"),
	}
	describe := func(gs []ValueBest) []string {
		var out []string
		for _, g := range gs {
			best := -1
			if g.Best != nil {
				best = g.Best.Point
			}
			out = append(out, fmt.Sprintf("%s: %d/%d best %d", formatValue(g.Value), g.Feasible, g.Total, best))
		}
		return out
	}
	for _, tc := range []struct {
		key  string
		want []string
	}{
		// Numbers sort by value; a tie goes to the lower point.
		{"nodes", []string{"1: 0/1 best -1", "2: 2/2 best 3", "4: 2/2 best 1"}},
		// Strings keep the order first seen.
		{"recompute", []string{"full: 2/3 best 4", "selective: 2/2 best 3"}},
		{"missing", nil},
	} {
		if got := describe(BestByValue(recs, tc.key)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.key, got, tc.want)
		}
	}
	if !NumericKey(recs, "nodes") || NumericKey(recs, "recompute") || NumericKey(recs, "missing") {
		t.Error("NumericKey")
	}
}

func TestGroupReasons(t *testing.T) {
	recs := []sweep.Record{
		rec(0, 8, 10),
		{Point: 1, Reason: "parallelism.dp: 64 GPUs are not divisible by tp(3); change them or set dp; training.global_batch: 1536 is not divisible by dp × microbatch (21 × 1)"},
		{Point: 2, Reason: "parallelism.dp: 128 GPUs are not divisible by tp(3); change them or set dp"},
		{Point: 3, Report: &report.Report{GPUs: 8, Reason: "out of memory: 90 GiB; 10 GiB more than HBM"}},
		{Point: 4, Reason: ""},
		{Point: 5, Reason: "parallelism.tp: 3 does not divide 8; parallelism.tp: 3 does not divide the heads"},
	}
	groups, n := GroupReasons(recs)
	if n != 5 {
		t.Errorf("%d infeasible, want 5", n)
	}
	var got []string
	for _, g := range groups {
		got = append(got, fmt.Sprintf("%s %v %q", g.Cause, g.Points, g.Example))
	}
	want := []string{
		`parallelism.dp [1 2] "parallelism.dp: 64 GPUs are not divisible by tp(3); change them or set dp"`,
		`(no reason given) [4] "(no reason given)"`,
		`out of memory [3] "out of memory: 90 GiB; 10 GiB more than HBM"`,
		`parallelism.tp [5] "parallelism.tp: 3 does not divide 8"`,
		`training.global_batch [1] "training.global_batch: 1536 is not divisible by dp × microbatch (21 × 1)"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups:\n%q\nwant\n%q", got, want)
	}
}

func TestColourKey(t *testing.T) {
	var recs []sweep.Record
	for i, nodes := range []int64{1, 2, 4} {
		for j, tp := range []int64{2, 4, 8} {
			for k, rc := range []string{"full", "selective"} {
				p := 6*i + 2*j + k
				recs = append(recs, rec(p, 8*int(nodes), 10, "nodes", nodes, "tp", tp, "recompute", rc, "seed", int64(p)))
			}
		}
	}
	for _, tc := range []struct {
		keys []string
		want string
	}{
		{[]string{"nodes", "tp", "recompute"}, "tp"}, // nodes fixes the GPU count
		{[]string{"seed", "recompute"}, "recompute"}, // 18 seeds are too many
		{[]string{"nodes"}, ""},
		{nil, ""},
	} {
		if got := ColourKey(recs, tc.keys); got != tc.want {
			t.Errorf("ColourKey(%v) = %q, want %q", tc.keys, got, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{count(0), "0"}, {count(999.5), "1,000"}, {count(108286.12), "108,286"}, {count(-1234567), "-1,234,567"},
		{count(2e15), "2e+15"}, {formatValue(int64(8)), "8"}, {formatValue(2.5), "2.5"}, {formatValue(3e11), "3e+11"},
		{formatValue(true), "true"}, {formatValue("full"), "full"},
		{slug("cluster.nodes"), "cluster-nodes"}, {slug("A..b_c."), "a-b-c"}, {slug("..."), "key"},
		{fmt.Sprint(niceCeil(29.05)), "30"}, {fmt.Sprint(niceCeil(0.013)), "0.015"}, {fmt.Sprint(niceCeil(0)), "1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
