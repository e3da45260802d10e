package mesh

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Dim names one dimension of the mesh.
type Dim uint8

// The five parallel dimensions, in the order DefaultOrder lists them.
const (
	TP      Dim = iota // tensor parallel
	CP                 // context parallel
	EP                 // expert parallel (size 1 in the dense mesh)
	DP                 // data parallel
	PP                 // pipeline parallel
	NumDims            // number of dimensions; not a dimension
)

// dimNames holds the two-letter names of the dimensions, in Dim order.
const dimNames = "tpcpepdppp"

// String returns the dimension's lower-case short name ("tp", "cp", "ep",
// "dp", "pp"), the spelling that order strings use.
func (d Dim) String() string {
	if d < NumDims {
		return dimNames[2*d : 2*d+2]
	}
	return fmt.Sprintf("Dim(%d)", uint8(d))
}

// ParseDim returns the dimension whose String is s. Only the lower-case short
// names are accepted, so that an order string has a single spelling.
func ParseDim(s string) (Dim, bool) {
	for d := range NumDims {
		if d.String() == s {
			return d, true
		}
	}
	return 0, false
}

// DefaultOrder is Megatron-Core's default rank order, innermost
// (fastest-varying) dimension first.
const DefaultOrder = "tp-cp-ep-dp-pp"

// maxWorld bounds the number of ranks so that rank arithmetic cannot overflow
// and a mistyped size fails in New rather than later in an allocation.
const maxWorld = math.MaxInt32

// Coord is a rank's coordinate along each dimension, indexed by Dim.
type Coord [NumDims]int

// Sizes are the degrees of the dense mesh (attention and dense layers). EP is
// the expert-parallel degree and ETP the expert tensor-parallel degree, used
// by the expert sub-mesh only; in the dense mesh the ep dimension has size 1
// and dp spans the whole data-parallel group (as Megatron-Core's dense
// RankGenerator is built with ep=1).
type Sizes struct{ TP, CP, EP, DP, PP, ETP int }

// Placement says how ranks sit on hardware: consecutive ranks fill a node;
// consecutive nodes fill a leaf switch. NodesPerLeaf < 1 means one leaf for
// everything.
type Placement struct{ GPUsPerNode, NodesPerLeaf int }

// Mesh is an immutable device mesh: the size of each dimension, the order in
// which the dimensions vary, and where the ranks sit on hardware. It is safe
// for concurrent use.
type Mesh struct {
	size   [NumDims]int // degree of each dimension, indexed by Dim
	order  [NumDims]Dim // dimensions, innermost (fastest-varying) first
	stride [NumDims]int // rank distance between neighbours along each Dim
	world  int
	place  Placement
	expert *Mesh // the expert sub-mesh; the mesh itself when it is one
}

// New builds the dense mesh over TP·CP·DP·PP ranks and its expert sub-mesh;
// order "" means DefaultOrder. It reports an error, and never panics, when a
// size is below 1, when order is not a permutation of the five dimensions,
// when ETP·EP·PP does not divide the world, when the two meshes would not have
// the same pipeline stages, or when GPUsPerNode is below 1.
func New(s Sizes, order string, p Placement) (*Mesh, error) {
	for _, f := range []struct {
		name string
		v    int
	}{{"tp", s.TP}, {"cp", s.CP}, {"ep", s.EP}, {"dp", s.DP}, {"pp", s.PP}, {"etp", s.ETP}} {
		if f.v < 1 {
			return nil, fmt.Errorf("mesh: %s size %d: every size must be at least 1", f.name, f.v)
		}
	}
	if p.GPUsPerNode < 1 {
		return nil, fmt.Errorf("mesh: gpus per node %d: must be at least 1", p.GPUsPerNode)
	}
	if order == "" {
		order = DefaultOrder
	}
	ord, err := parseOrder(order)
	if err != nil {
		return nil, err
	}
	world := 1
	for _, v := range []int{s.TP, s.CP, s.DP, s.PP} {
		if world > maxWorld/v {
			return nil, fmt.Errorf("mesh: tp·cp·dp·pp = %d·%d·%d·%d is more than %d ranks", s.TP, s.CP, s.DP, s.PP, maxWorld)
		}
		world *= v
	}
	dense := build([NumDims]int{TP: s.TP, CP: s.CP, EP: 1, DP: s.DP, PP: s.PP}, ord, p)

	// Parallel folding: the expert layers regroup the same ranks as
	// etp × ep × expert-dp × pp, with no context parallelism.
	// Sizes above the world are rejected first so the product cannot overflow.
	if s.ETP > world || s.EP > world || s.ETP*s.EP > world || s.ETP*s.EP*s.PP > world || world%(s.ETP*s.EP*s.PP) != 0 {
		return nil, fmt.Errorf("mesh: expert mesh etp·ep·pp = %d·%d·%d does not divide the world of %d ranks (tp·cp·dp·pp = %d·%d·%d·%d)",
			s.ETP, s.EP, s.PP, world, s.TP, s.CP, s.DP, s.PP)
	}
	edp := world / (s.ETP * s.EP * s.PP)
	expert := build([NumDims]int{TP: s.ETP, CP: 1, EP: s.EP, DP: edp, PP: s.PP}, ord, p)

	// A pipeline stage holds both the attention and the expert weights of
	// its layers, so both meshes must cut the ranks into the same stages
	// (Megatron-Core checks that their pp groups are equal). The pp groups
	// are equal exactly when pp has the same stride in both meshes.
	if s.PP > 1 && dense.stride[PP] != expert.stride[PP] {
		return nil, fmt.Errorf("mesh: order %q: the dimensions inside pp span %d ranks in the dense mesh but %d in the expert mesh, so their pipeline stages differ; put pp last or make them equal",
			order, dense.stride[PP], expert.stride[PP])
	}
	dense.expert = expert
	expert.expert = expert
	return dense, nil
}

// parseOrder reads an order string such as "tp-cp-ep-dp-pp" into the
// dimensions, innermost first.
func parseOrder(order string) ([NumDims]Dim, error) {
	var ord [NumDims]Dim
	bad := fmt.Errorf("mesh: order %q: want the five dimensions tp, cp, ep, dp, pp each once, separated by '-'", order)
	parts := strings.Split(order, "-")
	if len(parts) != int(NumDims) {
		return ord, bad
	}
	var seen [NumDims]bool
	for i, name := range parts {
		d, ok := ParseDim(name)
		if !ok || seen[d] {
			return ord, bad
		}
		seen[d] = true
		ord[i] = d
	}
	return ord, nil
}

// build computes the strides and world of a mesh whose sizes are already
// checked.
func build(size [NumDims]int, ord [NumDims]Dim, p Placement) *Mesh {
	m := &Mesh{size: size, order: ord, place: p}
	st := 1
	for _, d := range ord {
		m.stride[d] = st
		st *= size[d]
	}
	m.world = st
	return m
}

// Expert returns the expert sub-mesh over the same ranks ("parallel
// folding"): tp = ETP, cp = 1, ep = EP, dp = world/(ETP·EP·PP), pp = PP, with
// the same order and placement. The expert mesh's own Expert is itself.
func (m *Mesh) Expert() *Mesh { return m.expert }

// Size returns the degree of dimension d (0 for a value that is not a Dim).
func (m *Mesh) Size(d Dim) int {
	if d >= NumDims {
		return 0
	}
	return m.size[d]
}

// World returns the number of ranks.
func (m *Mesh) World() int { return m.world }

// Order returns the rank order, innermost dimension first, in the form New
// accepts (e.g. "tp-cp-ep-dp-pp").
func (m *Mesh) Order() string {
	names := make([]string, NumDims)
	for i, d := range m.order {
		names[i] = d.String()
	}
	return strings.Join(names, "-")
}

// Rank returns the rank at coordinate c:
// c[d0] + S[d0]·(c[d1] + S[d1]·(c[d2] + ...)) with d0 the innermost dimension
// of the order. It returns -1 when any entry of c is outside [0, size).
func (m *Mesh) Rank(c Coord) int {
	r := 0
	for d := range NumDims {
		if c[d] < 0 || c[d] >= m.size[d] {
			return -1
		}
		r += c[d] * m.stride[d]
	}
	return r
}

// Coord returns the coordinate of rank; it is the inverse of Rank. For a rank
// outside [0, World()) every entry is -1.
func (m *Mesh) Coord(rank int) Coord {
	var c Coord
	if !m.valid(rank) {
		for d := range c {
			c[d] = -1
		}
		return c
	}
	for d := range NumDims {
		c[d] = rank / m.stride[d] % m.size[d]
	}
	return c
}

func (m *Mesh) valid(rank int) bool { return rank >= 0 && rank < m.world }

// Group returns the members of the group along dims that contains rank, i.e.
// the ranks that share rank's coordinate on every other dimension, sorted
// ascending. Group(r) with no dims is {r}. Example: Group(r, TP) is r's
// tensor-parallel group; Group(r, CP, DP) is the joined context+data-parallel
// group over which Megatron reduces gradients. A repeated dim counts once. It
// returns nil for a rank outside the mesh or a dim that is not a Dim.
func (m *Mesh) Group(rank int, dims ...Dim) []int {
	if !m.valid(rank) {
		return nil
	}
	var along [NumDims]bool
	n := 1
	for _, d := range dims {
		if d >= NumDims {
			return nil
		}
		if !along[d] {
			along[d] = true
			n *= m.size[d]
		}
	}
	// Start from the member with coordinate 0 along dims, then add every
	// combination of offsets along them.
	c := m.Coord(rank)
	base := rank
	for d := range NumDims {
		if along[d] {
			base -= c[d] * m.stride[d]
		}
	}
	members := make([]int, 1, n)
	members[0] = base
	for d := range NumDims {
		if !along[d] {
			continue
		}
		k := len(members)
		for i := 1; i < m.size[d]; i++ {
			for _, r := range members[:k] {
				members = append(members, r+i*m.stride[d])
			}
		}
	}
	slices.Sort(members)
	return members
}

// Groups returns every group along dims, each sorted ascending, the list
// ordered by its first member: every rank is in exactly one. It returns nil
// for a dim that is not a Dim.
func (m *Mesh) Groups(dims ...Dim) [][]int {
	for _, d := range dims {
		if d >= NumDims {
			return nil
		}
	}
	n := 1
	for d := range NumDims {
		if slices.Contains(dims, d) {
			n *= m.size[d]
		}
	}
	groups := make([][]int, 0, m.world/n)
	// A group's first member is the one at coordinate 0 along dims, since
	// a rank grows with each coordinate.
	for r := range m.world {
		c := m.Coord(r)
		first := true
		for _, d := range dims {
			first = first && c[d] == 0
		}
		if first {
			groups = append(groups, m.Group(r, dims...))
		}
	}
	return groups
}

// Shift returns the rank whose coordinate along d is (coord+delta) mod size,
// the others equal: Shift(r, PP, +1) and Shift(r, PP, -1) are r's next and
// previous pipeline stages, wrapping around. It returns -1 for a rank outside
// the mesh or a d that is not a Dim.
func (m *Mesh) Shift(rank int, d Dim, delta int) int {
	if !m.valid(rank) || d >= NumDims {
		return -1
	}
	s := m.size[d]
	c := rank / m.stride[d] % s
	to := (c + delta%s + s) % s
	return rank + (to-c)*m.stride[d]
}

// Node returns the node that holds rank (consecutive ranks fill a node), or
// -1 for a rank outside the mesh.
func (m *Mesh) Node(rank int) int {
	if !m.valid(rank) {
		return -1
	}
	return rank / m.place.GPUsPerNode
}

// Slot returns rank's place inside its node (0 .. GPUsPerNode−1), or -1 for
// a rank outside the mesh: which of the node's NICs it sends through.
func (m *Mesh) Slot(rank int) int {
	if !m.valid(rank) {
		return -1
	}
	return rank % m.place.GPUsPerNode
}

// Leaf returns the leaf switch above rank's node (consecutive nodes fill a
// leaf), or -1 for a rank outside the mesh. With NodesPerLeaf < 1 every rank
// is under leaf 0.
func (m *Mesh) Leaf(rank int) int {
	n := m.Node(rank)
	switch {
	case n < 0:
		return -1
	case m.place.NodesPerLeaf < 1:
		return 0
	}
	return n / m.place.NodesPerLeaf
}

// Span describes how a set of ranks sits on the hardware: how many ranks, on
// how many nodes, the most of them on any one node, and under how many leaf
// switches. It tells a cost model which links a collective over the set
// crosses.
type Span struct{ Ranks, Nodes, MostPerNode, Leaves int }

// Span returns how members sit on the hardware. Ranks outside the mesh are
// left out; a rank listed twice counts twice.
func (m *Mesh) Span(members []int) Span {
	var sp Span
	perNode := map[int]int{}
	leaves := map[int]bool{}
	for _, r := range members {
		if !m.valid(r) {
			continue
		}
		sp.Ranks++
		n := m.Node(r)
		perNode[n]++
		sp.MostPerNode = max(sp.MostPerNode, perNode[n])
		leaves[m.Leaf(r)] = true
	}
	sp.Nodes, sp.Leaves = len(perNode), len(leaves)
	return sp
}

// CrossesNode reports whether the group along dims that contains rank spans
// more than one node, i.e. whether its collectives leave NVLink.
func (m *Mesh) CrossesNode(rank int, dims ...Dim) bool {
	n := m.Node(rank)
	for _, r := range m.Group(rank, dims...) {
		if m.Node(r) != n {
			return true
		}
	}
	return false
}
