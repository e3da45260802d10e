package mesh

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// mustNew builds a mesh or fails the test.
func mustNew(t testing.TB, s Sizes, order string, p Placement) *Mesh {
	t.Helper()
	m, err := New(s, order, p)
	if err != nil {
		t.Fatalf("New(%+v, %q, %+v): %v", s, order, p, err)
	}
	return m
}

// permutations returns every order string of the five dimensions.
func permutations() []string {
	var out []string
	var rec func(prefix []string, rest []string)
	rec = func(prefix, rest []string) {
		if len(rest) == 0 {
			out = append(out, strings.Join(prefix, "-"))
			return
		}
		for i, d := range rest {
			next := slices.Concat(rest[:i:i], rest[i+1:])
			rec(append(prefix[:len(prefix):len(prefix)], d), next)
		}
	}
	rec(nil, []string{"tp", "cp", "ep", "dp", "pp"})
	return out
}

// propertyMeshes returns valid meshes over many sizes and all 120 orders,
// each with its expert mesh reachable through Expert.
func propertyMeshes(t testing.TB) []*Mesh {
	var ms []*Mesh
	for _, order := range permutations() {
		for _, tp := range []int{1, 2, 4} {
			for _, cp := range []int{1, 2} {
				for _, dp := range []int{1, 2, 3, 4} {
					for _, pp := range []int{1, 3} {
						for _, ep := range []int{1, 2, 4} {
							for _, etp := range []int{1, 2} {
								s := Sizes{TP: tp, CP: cp, EP: ep, DP: dp, PP: pp, ETP: etp}
								m, err := New(s, order, Placement{GPUsPerNode: 4, NodesPerLeaf: 2})
								if err == nil {
									ms = append(ms, m)
								}
							}
						}
					}
				}
			}
		}
	}
	if len(ms) < 1000 {
		t.Fatalf("only %d property meshes", len(ms))
	}
	return ms
}

// groupKinds are the groups every mesh is checked for; EP is checked on the
// expert meshes, where it is not trivially of size 1.
var groupKinds = [][]Dim{{TP}, {CP}, {EP}, {DP}, {PP}, {CP, DP}, {TP, CP}, {TP, CP, EP, DP, PP}, {}}

func TestCoordRankBijection(t *testing.T) {
	for _, dense := range propertyMeshes(t) {
		for _, m := range []*Mesh{dense, dense.Expert()} {
			seen := make([]bool, m.World())
			for r := range m.World() {
				c := m.Coord(r)
				if got := m.Rank(c); got != r {
					t.Fatalf("%s: Rank(Coord(%d)=%v) = %d", desc(m), r, c, got)
				}
				for d := range NumDims {
					if c[d] < 0 || c[d] >= m.Size(d) {
						t.Fatalf("%s: Coord(%d) = %v out of range on %s", desc(m), r, c, d)
					}
				}
			}
			// Rank∘Coord over every coordinate in the box.
			var walk func(d Dim, c Coord)
			walk = func(d Dim, c Coord) {
				if d == NumDims {
					r := m.Rank(c)
					if r < 0 || r >= m.World() || seen[r] {
						t.Fatalf("%s: Rank(%v) = %d repeated or out of range", desc(m), c, r)
					}
					seen[r] = true
					if m.Coord(r) != c {
						t.Fatalf("%s: Coord(Rank(%v)) = %v", desc(m), c, m.Coord(r))
					}
					return
				}
				for i := range m.Size(d) {
					c[d] = i
					walk(d+1, c)
				}
			}
			walk(0, Coord{})
		}
	}
}

func TestGroupsPartitionWorld(t *testing.T) {
	for _, dense := range propertyMeshes(t) {
		for _, m := range []*Mesh{dense, dense.Expert()} {
			for _, dims := range groupKinds {
				want := 1
				for _, d := range dims {
					want *= m.Size(d)
				}
				groups := m.Groups(dims...)
				if len(groups)*want != m.World() {
					t.Fatalf("%s: %d groups of %v of size %d", desc(m), len(groups), dims, want)
				}
				owner := make([]int, m.World())
				for i := range owner {
					owner[i] = -1
				}
				for gi, g := range groups {
					if len(g) != want || !slices.IsSorted(g) {
						t.Fatalf("%s: group %v along %v: size %d, want %d, sorted", desc(m), g, dims, len(g), want)
					}
					if gi > 0 && groups[gi-1][0] >= g[0] {
						t.Fatalf("%s: groups along %v not ordered by first member", desc(m), dims)
					}
					for _, r := range g {
						if owner[r] != -1 {
							t.Fatalf("%s: rank %d in two groups along %v", desc(m), r, dims)
						}
						owner[r] = gi
						if !slices.Equal(m.Group(r, dims...), g) {
							t.Fatalf("%s: Group(%d, %v) = %v, want %v", desc(m), r, dims, m.Group(r, dims...), g)
						}
						// Members share every coordinate outside dims.
						for d := range NumDims {
							if !slices.Contains(dims, d) && m.Coord(r)[d] != m.Coord(g[0])[d] {
								t.Fatalf("%s: group %v along %v mixes %s coordinates", desc(m), g, dims, d)
							}
						}
					}
				}
				if slices.Contains(owner, -1) {
					t.Fatalf("%s: groups along %v miss a rank", desc(m), dims)
				}
			}
		}
	}
}

func TestShiftProperties(t *testing.T) {
	for _, dense := range propertyMeshes(t)[:500] {
		m := dense
		for r := range m.World() {
			for d := range NumDims {
				for _, delta := range []int{1, -1, 2, -7} {
					s := m.Shift(r, d, delta)
					want := m.Coord(r)
					n := m.Size(d)
					want[d] = ((want[d]+delta)%n + n) % n
					if m.Coord(s) != want {
						t.Fatalf("%s: Shift(%d, %s, %d) = %d at %v, want %v", desc(m), r, d, delta, s, m.Coord(s), want)
					}
					if m.Shift(s, d, -delta) != r {
						t.Fatalf("%s: Shift back from %d along %s", desc(m), s, d)
					}
				}
			}
		}
	}
}

func TestExpertMesh(t *testing.T) {
	for _, m := range propertyMeshes(t) {
		e := m.Expert()
		etp, ep := e.Size(TP), e.Size(EP)
		if e.World() != m.World() || e.Order() != m.Order() || m.Size(EP) != 1 || e.Size(CP) != 1 || e.Size(PP) != m.Size(PP) {
			t.Fatalf("%s: expert mesh %s", desc(m), desc(e))
		}
		if e.Size(DP) != m.World()/(etp*ep*m.Size(PP)) {
			t.Fatalf("%s: expert dp %d", desc(m), e.Size(DP))
		}
		if e.Expert() != e {
			t.Fatalf("%s: the expert mesh's Expert is not itself", desc(m))
		}
		for _, g := range e.Groups(EP) {
			for _, r := range g {
				if m.Coord(r)[PP] != m.Coord(g[0])[PP] || e.Coord(r)[PP] != e.Coord(g[0])[PP] {
					t.Fatalf("%s: EP group %v spans pipeline stages", desc(m), g)
				}
			}
		}
		if !reflect.DeepEqual(m.Groups(PP), e.Groups(PP)) {
			t.Fatalf("%s: pp groups differ between the dense and expert meshes", desc(m))
		}
	}
}

func TestTPInsideNode(t *testing.T) {
	for _, tp := range []int{1, 2, 4, 8} {
		for _, gpn := range []int{8, 16} {
			for _, cp := range []int{1, 2} {
				m := mustNew(t, Sizes{TP: tp, CP: cp, EP: 1, DP: 3, PP: 2, ETP: 1}, "", Placement{GPUsPerNode: gpn})
				for r := range m.World() {
					if m.CrossesNode(r, TP) || m.Span(m.Group(r, TP)).Nodes != 1 {
						t.Fatalf("tp %d gpn %d: TP group of %d crosses a node", tp, gpn, r)
					}
				}
			}
		}
	}
	// A TP group that does not fit a node must cross one.
	m := mustNew(t, Sizes{TP: 8, CP: 1, EP: 1, DP: 2, PP: 1, ETP: 1}, "", Placement{GPUsPerNode: 4})
	if !m.CrossesNode(0, TP) || m.CrossesNode(0) {
		t.Fatal("tp 8 on 4-GPU nodes: CrossesNode wrong")
	}
}

// TestMegatronFormula checks that the default order with cp = ep = 1 is
// Megatron's rank = tp + TP·(dp + DP·pp).
func TestMegatronFormula(t *testing.T) {
	for _, s := range []Sizes{
		{TP: 2, CP: 1, EP: 1, DP: 2, PP: 4, ETP: 1},
		{TP: 8, CP: 1, EP: 1, DP: 3, PP: 5, ETP: 1},
		{TP: 1, CP: 1, EP: 1, DP: 7, PP: 2, ETP: 1},
	} {
		m := mustNew(t, s, "", Placement{GPUsPerNode: 8})
		for tp := range s.TP {
			for dp := range s.DP {
				for pp := range s.PP {
					want := tp + s.TP*(dp+s.DP*pp)
					if got := m.Rank(Coord{TP: tp, DP: dp, PP: pp}); got != want {
						t.Fatalf("%+v: Rank(tp %d dp %d pp %d) = %d, want %d", s, tp, dp, pp, got, want)
					}
				}
			}
		}
	}
}

// TestHandExamples compares groups with lists written out by hand. The first
// case is Megatron-Core's documented example (16 GPUs, tp 2, pp 4, dp 2).
func TestHandExamples(t *testing.T) {
	cases := []struct {
		name  string
		s     Sizes
		order string
		dims  []Dim
		want  [][]int
	}{
		{"megatron tp", Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 4, ETP: 1}, "", []Dim{TP},
			[][]int{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}, {10, 11}, {12, 13}, {14, 15}}},
		{"megatron dp", Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 4, ETP: 1}, "", []Dim{DP},
			[][]int{{0, 2}, {1, 3}, {4, 6}, {5, 7}, {8, 10}, {9, 11}, {12, 14}, {13, 15}}},
		{"megatron pp", Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 4, ETP: 1}, "", []Dim{PP},
			[][]int{{0, 4, 8, 12}, {1, 5, 9, 13}, {2, 6, 10, 14}, {3, 7, 11, 15}}},
		{"megatron tp+dp", Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 4, ETP: 1}, "", []Dim{TP, DP},
			[][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}, {12, 13, 14, 15}}},
		{"cp", Sizes{TP: 2, CP: 2, EP: 1, DP: 2, PP: 2, ETP: 1}, "", []Dim{CP},
			[][]int{{0, 2}, {1, 3}, {4, 6}, {5, 7}, {8, 10}, {9, 11}, {12, 14}, {13, 15}}},
		{"dp beside cp", Sizes{TP: 2, CP: 2, EP: 1, DP: 2, PP: 2, ETP: 1}, "", []Dim{DP},
			[][]int{{0, 4}, {1, 5}, {2, 6}, {3, 7}, {8, 12}, {9, 13}, {10, 14}, {11, 15}}},
		{"cp+dp", Sizes{TP: 2, CP: 2, EP: 1, DP: 2, PP: 2, ETP: 1}, "", []Dim{CP, DP},
			[][]int{{0, 2, 4, 6}, {1, 3, 5, 7}, {8, 10, 12, 14}, {9, 11, 13, 15}}},
		{"dp innermost: tp", Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 2, ETP: 1}, "dp-tp-cp-ep-pp", []Dim{TP},
			[][]int{{0, 2}, {1, 3}, {4, 6}, {5, 7}}},
		{"dp innermost: dp", Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 2, ETP: 1}, "dp-tp-cp-ep-pp", []Dim{DP},
			[][]int{{0, 1}, {2, 3}, {4, 5}, {6, 7}}},
		{"pp innermost: pp", Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 2, ETP: 1}, "pp-tp-cp-ep-dp", []Dim{PP},
			[][]int{{0, 1}, {2, 3}, {4, 5}, {6, 7}}},
		{"no dims", Sizes{TP: 1, CP: 1, EP: 1, DP: 3, PP: 1, ETP: 1}, "", nil,
			[][]int{{0}, {1}, {2}}},
	}
	for _, c := range cases {
		m := mustNew(t, c.s, c.order, Placement{GPUsPerNode: 8})
		if got := m.Groups(c.dims...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Groups(%v) = %v, want %v", c.name, c.dims, got, c.want)
		}
	}

	m := mustNew(t, Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 4, ETP: 1}, "", Placement{GPUsPerNode: 8})
	if got, want := m.Coord(7), (Coord{TP: 1, DP: 1, PP: 1}); got != want {
		t.Errorf("Coord(7) = %v, want %v", got, want)
	}
	if got := m.Group(9, PP); !slices.Equal(got, []int{1, 5, 9, 13}) {
		t.Errorf("Group(9, PP) = %v", got)
	}
	for _, c := range []struct{ r, delta, want int }{{0, 1, 4}, {12, 1, 0}, {0, -1, 12}, {5, 2, 13}} {
		if got := m.Shift(c.r, PP, c.delta); got != c.want {
			t.Errorf("Shift(%d, PP, %d) = %d, want %d", c.r, c.delta, got, c.want)
		}
	}

	// Expert mesh: 16 ranks, tp 2, dp 4, pp 2 dense; ep 4, etp 1 gives
	// expert-dp 16/(1·4·2) = 2.
	e := mustNew(t, Sizes{TP: 2, CP: 1, EP: 4, DP: 4, PP: 2, ETP: 1}, "", Placement{GPUsPerNode: 8}).Expert()
	if e.Size(DP) != 2 {
		t.Errorf("expert dp = %d, want 2", e.Size(DP))
	}
	if got, want := e.Groups(EP), [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}, {12, 13, 14, 15}}; !reflect.DeepEqual(got, want) {
		t.Errorf("expert EP groups = %v, want %v", got, want)
	}
	if got, want := e.Groups(DP), [][]int{{0, 4}, {1, 5}, {2, 6}, {3, 7}, {8, 12}, {9, 13}, {10, 14}, {11, 15}}; !reflect.DeepEqual(got, want) {
		t.Errorf("expert DP groups = %v, want %v", got, want)
	}
}

func TestSpan(t *testing.T) {
	m := mustNew(t, Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 4, ETP: 1}, "", Placement{GPUsPerNode: 4, NodesPerLeaf: 2})
	flat := mustNew(t, Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 4, ETP: 1}, "", Placement{GPUsPerNode: 4})
	cases := []struct {
		m       *Mesh
		members []int
		want    Span
	}{
		{m, []int{0, 4, 8, 12}, Span{Ranks: 4, Nodes: 4, MostPerNode: 1, Leaves: 2}},
		{m, []int{0, 2}, Span{Ranks: 2, Nodes: 1, MostPerNode: 2, Leaves: 1}},
		{m, []int{0, 1, 2, 5, 15}, Span{Ranks: 5, Nodes: 3, MostPerNode: 3, Leaves: 2}},
		{m, []int{3, 99, -1}, Span{Ranks: 1, Nodes: 1, MostPerNode: 1, Leaves: 1}},
		{m, nil, Span{}},
		{flat, []int{0, 4, 8, 12}, Span{Ranks: 4, Nodes: 4, MostPerNode: 1, Leaves: 1}},
	}
	for _, c := range cases {
		if got := c.m.Span(c.members); got != c.want {
			t.Errorf("Span(%v) = %+v, want %+v", c.members, got, c.want)
		}
	}
	for _, c := range []struct{ r, node, leaf int }{{0, 0, 0}, {7, 1, 0}, {8, 2, 1}, {15, 3, 1}, {16, -1, -1}, {-1, -1, -1}} {
		if m.Node(c.r) != c.node || m.Leaf(c.r) != c.leaf {
			t.Errorf("rank %d: node %d leaf %d, want %d %d", c.r, m.Node(c.r), m.Leaf(c.r), c.node, c.leaf)
		}
	}
	if !m.CrossesNode(0, PP) || m.CrossesNode(0, DP) || !m.CrossesNode(0, TP, DP, PP) {
		t.Error("CrossesNode wrong on the Megatron example with 4-GPU nodes")
	}
}

func TestOutOfRange(t *testing.T) {
	m := mustNew(t, Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 2, ETP: 1}, "", Placement{GPUsPerNode: 8})
	for _, c := range []Coord{{TP: 2}, {DP: -1}, {CP: 1}, {EP: 1}, {PP: 2}} {
		if r := m.Rank(c); r != -1 {
			t.Errorf("Rank(%v) = %d, want -1", c, r)
		}
	}
	if c := m.Coord(8); c != (Coord{-1, -1, -1, -1, -1}) {
		t.Errorf("Coord(8) = %v", c)
	}
	if m.Group(8, TP) != nil || m.Group(0, NumDims) != nil || m.Groups(Dim(9)) != nil {
		t.Error("Group/Groups of a bad rank or dim not nil")
	}
	if m.Shift(-1, PP, 1) != -1 || m.Shift(0, NumDims, 1) != -1 {
		t.Error("Shift of a bad rank or dim not -1")
	}
	if m.Size(NumDims) != 0 || NumDims.String() != "Dim(5)" {
		t.Error("Size or String of a bad dim")
	}
	if g := m.Group(3); !slices.Equal(g, []int{3}) {
		t.Errorf("Group(3) = %v, want [3]", g)
	}
	if g := m.Group(3, TP, TP); !slices.Equal(g, []int{2, 3}) {
		t.Errorf("Group(3, TP, TP) = %v, want [2 3]", g)
	}
}

func TestDimNamesAndOrder(t *testing.T) {
	for d := range NumDims {
		got, ok := ParseDim(d.String())
		if !ok || got != d {
			t.Errorf("ParseDim(%q) = %v, %v", d.String(), got, ok)
		}
	}
	for _, s := range []string{"", "TP", "t", "tpp", "xx"} {
		if _, ok := ParseDim(s); ok {
			t.Errorf("ParseDim(%q) accepted", s)
		}
	}
	s := Sizes{TP: 1, CP: 1, EP: 1, DP: 2, PP: 1, ETP: 1}
	if got := mustNew(t, s, "", Placement{GPUsPerNode: 1}).Order(); got != DefaultOrder {
		t.Errorf("Order() = %q, want %q", got, DefaultOrder)
	}
	for _, order := range permutations() {
		if got := mustNew(t, s, order, Placement{GPUsPerNode: 1}).Order(); got != order {
			t.Errorf("Order() = %q, want %q", got, order)
		}
	}
}

func TestNewErrors(t *testing.T) {
	ok := Sizes{TP: 2, CP: 1, EP: 1, DP: 4, PP: 2, ETP: 1}
	place := Placement{GPUsPerNode: 8}
	with := func(f func(*Sizes)) Sizes { s := ok; f(&s); return s }
	cases := []struct {
		name  string
		s     Sizes
		order string
		p     Placement
		want  string
	}{
		{"zero tp", with(func(s *Sizes) { s.TP = 0 }), "", place, "tp size 0: every size must be at least 1"},
		{"zero cp", with(func(s *Sizes) { s.CP = 0 }), "", place, "cp size 0"},
		{"zero ep", with(func(s *Sizes) { s.EP = 0 }), "", place, "ep size 0"},
		{"negative dp", with(func(s *Sizes) { s.DP = -2 }), "", place, "dp size -2"},
		{"zero pp", with(func(s *Sizes) { s.PP = 0 }), "", place, "pp size 0"},
		{"zero etp", with(func(s *Sizes) { s.ETP = 0 }), "", place, "etp size 0"},
		{"all zero", Sizes{}, "", place, "tp size 0"},
		{"missing dims", ok, "tp-dp-pp", place, `order "tp-dp-pp": want the five dimensions tp, cp, ep, dp, pp each once, separated by '-'`},
		{"repeated dim", ok, "tp-cp-ep-dp-dp", place, `order "tp-cp-ep-dp-dp": want the five dimensions`},
		{"unknown dim", ok, "tp-cp-ep-dp-xx", place, `order "tp-cp-ep-dp-xx": want`},
		{"upper case", ok, "TP-CP-EP-DP-PP", place, `order "TP-CP-EP-DP-PP": want`},
		{"commas", ok, "tp,cp,ep,dp,pp", place, `want the five dimensions`},
		{"trailing dash", ok, "tp-cp-ep-dp-pp-", place, `want the five dimensions`},
		{"ep not dividing", with(func(s *Sizes) { s.EP = 3 }), "", place,
			"expert mesh etp·ep·pp = 1·3·2 does not divide the world of 16 ranks"},
		{"ep too large", with(func(s *Sizes) { s.EP = 16 }), "", place, "does not divide the world of 16 ranks"},
		{"etp not dividing", with(func(s *Sizes) { s.ETP = 3 }), "", place, "etp·ep·pp = 3·1·2"},
		{"huge ep", with(func(s *Sizes) { s.EP = 1 << 62; s.ETP = 1 << 40 }), "", place, "does not divide the world"},
		{"stages differ", with(func(s *Sizes) { s.ETP = 1; s.EP = 1 }), "tp-pp-cp-ep-dp", place,
			"the dimensions inside pp span 2 ranks in the dense mesh but 1 in the expert mesh"},
		{"gpus per node", ok, "", Placement{}, "gpus per node 0: must be at least 1"},
		{"world overflow", with(func(s *Sizes) { s.DP = 1 << 40 }), "", place, "more than"},
	}
	for _, c := range cases {
		m, err := New(c.s, c.order, c.p)
		if err == nil || m != nil {
			t.Errorf("%s: New(%+v, %q) = %v, nil; want an error", c.name, c.s, c.order, m)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "mesh: ") {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	m := mustNew(t, Sizes{TP: 4, CP: 2, EP: 2, DP: 4, PP: 4, ETP: 2}, "", Placement{GPUsPerNode: 8, NodesPerLeaf: 4})
	sink := 0
	allocs := testing.AllocsPerRun(100, func() {
		for r := range m.World() {
			sink += m.Rank(m.Coord(r)) + m.Shift(r, PP, 1) + m.Node(r) + m.Leaf(r)
		}
	})
	if allocs != 0 {
		t.Errorf("Rank/Coord/Shift/Node/Leaf allocate %v times", allocs)
	}
	_ = sink
}

// FuzzMesh builds meshes from fuzzed sizes and orders: New must never panic,
// and every mesh it returns, with its expert mesh, must be a bijection whose
// groups partition the world.
func FuzzMesh(f *testing.F) {
	f.Add(uint8(2), uint8(1), uint8(1), uint8(2), uint8(4), uint8(1), "", uint8(8), int8(0))
	f.Add(uint8(2), uint8(2), uint8(4), uint8(4), uint8(2), uint8(2), "dp-tp-cp-ep-pp", uint8(4), int8(2))
	f.Add(uint8(3), uint8(1), uint8(3), uint8(3), uint8(3), uint8(1), "pp-ep-dp-cp-tp", uint8(3), int8(-1))
	f.Add(uint8(0), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), "tp-dp", uint8(0), int8(1))
	f.Fuzz(func(t *testing.T, tp, cp, ep, dp, pp, etp uint8, order string, gpn uint8, npl int8) {
		// Sizes up to 7 keep worlds small; 0 exercises the errors.
		s := Sizes{TP: int(tp % 8), CP: int(cp % 8), EP: int(ep % 8), DP: int(dp % 8), PP: int(pp % 8), ETP: int(etp % 8)}
		m, err := New(s, order, Placement{GPUsPerNode: int(gpn % 17), NodesPerLeaf: int(npl)})
		if err != nil {
			if m != nil {
				t.Fatal("non-nil mesh with an error")
			}
			return
		}
		for _, mm := range []*Mesh{m, m.Expert()} {
			for r := range mm.World() {
				if mm.Rank(mm.Coord(r)) != r {
					t.Fatalf("%s: Rank(Coord(%d)) != %d", desc(mm), r, r)
				}
				if mm.Leaf(r) < 0 || mm.Node(r) < 0 {
					t.Fatalf("%s: rank %d placed nowhere", desc(mm), r)
				}
			}
			for d := range NumDims {
				n := 0
				for _, g := range mm.Groups(d) {
					n += len(g)
				}
				if n != mm.World() {
					t.Fatalf("%s: groups along %s cover %d of %d ranks", desc(mm), d, n, mm.World())
				}
			}
			_ = mm.Span(mm.Group(0, CP, DP))
		}
	})
}

// desc names a mesh in failure messages.
func desc(m *Mesh) string {
	var b strings.Builder
	for d := range NumDims {
		fmt.Fprintf(&b, "%s%d ", d, m.Size(d))
	}
	return b.String() + m.Order()
}

// TestSlot: a rank's place in its node, by hand for 2 nodes of 4.
func TestSlot(t *testing.T) {
	m, err := New(Sizes{TP: 2, CP: 1, EP: 1, DP: 2, PP: 2, ETP: 1}, "", Placement{GPUsPerNode: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 2, 3, 0, 1, 2, 3}
	for r, w := range want {
		if got := m.Slot(r); got != w || m.Node(r) != r/4 {
			t.Errorf("Slot(%d) = %d, want %d", r, got, w)
		}
	}
	if m.Slot(8) != -1 {
		t.Error("Slot outside the mesh")
	}
}
