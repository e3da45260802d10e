package collective

import (
	"fmt"
	"strings"

	"trainsim/units"
)

// The nccl-tests view: what `all_reduce_perf -b 8 -e 8G -f 2` prints, from
// the model. Sizes, algorithm bandwidth and bus bandwidth follow nccl-tests'
// doc/PERFORMANCE.md (NVIDIA/nccl-tests): algbw = S/t, where S is the
// buffer nccl-tests reports (the all-reduce buffer, the all-gather output,
// the reduce-scatter input, the all-to-all buffer, the message of
// send/recv), and busbw = algbw × a factor that makes it comparable with the
// hardware's link rate whatever the rank count.

// TestName is the nccl-tests name of an operation ("all_reduce", as in
// all_reduce_perf).
func (o Op) TestName() string {
	return [...]string{"all_reduce", "reduce_scatter", "all_gather", "sendrecv", "alltoall"}[o]
}

// PerfOps lists the operations in nccl-tests' order of binaries.
func PerfOps() []Op { return []Op{AllReduce, AllGather, ReduceScatter, AllToAll, SendRecv} }

// ParseOp reads an operation by its nccl-tests name (all_reduce, all_gather,
// reduce_scatter, alltoall, sendrecv); dashes stand for underscores.
func ParseOp(s string) (Op, error) {
	n := strings.ReplaceAll(strings.ToLower(s), "-", "_")
	for _, o := range PerfOps() {
		if n == o.TestName() || n == strings.ReplaceAll(o.TestName(), "_", "") {
			return o, nil
		}
	}
	var names []string
	for _, o := range PerfOps() {
		names = append(names, o.TestName())
	}
	return 0, fmt.Errorf("%q is not an operation (allowed: %s)", s, strings.Join(names, ", "))
}

// BusFactor is nccl-tests' busbw/algbw for op on n ranks (PERFORMANCE.md):
// all-reduce 2(n−1)/n, since each rank sends and receives 2(n−1)/n of the
// buffer; all-gather, reduce-scatter and all-to-all (n−1)/n; send/recv 1.
func BusFactor(op Op, n int) float64 {
	if n < 1 {
		return 0
	}
	f := float64(n-1) / float64(n)
	switch op {
	case AllReduce:
		return 2 * f
	case AllGather, ReduceScatter, AllToAll:
		return f
	}
	return 1
}

// Reduces reports whether op combines values (nccl-tests prints its redop,
// "sum"; the others "none").
func (o Op) Reduces() bool { return o == AllReduce || o == ReduceScatter }

// PerfRow is one line of nccl-tests' table.
type PerfRow struct {
	// Bytes is S (see above); Count its elements of the data type.
	Bytes units.Bytes
	Count int64
	Time  units.Seconds
	// AlgBW is S/Time, BusBW AlgBW × BusFactor.
	AlgBW, BusBW units.Bandwidth
	// Algorithm is the one the model chose; Bottleneck the link tier.
	Algorithm, Bottleneck string
}

// Sizes lists the message sizes of nccl-tests' -b lo -e hi -f factor:
// lo, lo·f, lo·f², … up to hi. factor must be > 1.
func Sizes(lo, hi units.Bytes, factor float64) ([]units.Bytes, error) {
	if lo < 1 || hi < lo || !(factor > 1) {
		return nil, fmt.Errorf("sizes: want 1 ≤ min ≤ max and a factor > 1, not %v, %v, %v", float64(lo), float64(hi), factor)
	}
	var out []units.Bytes
	for s := float64(lo); s <= float64(hi)*(1+1e-12) && len(out) < 1000; s *= factor {
		out = append(out, units.Bytes(s))
	}
	return out, nil
}

// Perf prices op over group p at each size, as nccl-tests measures it: each
// size is rounded down to a whole number of elements of elem bytes (and,
// for the operations that split the buffer among ranks, to a multiple of
// the rank count, as nccl-tests does); sizes that round to zero or repeat
// are left out.
func (m Model) Perf(op Op, p Placement, sizes []units.Bytes, elem units.Bytes) ([]PerfRow, error) {
	if elem < 1 {
		return nil, fmt.Errorf("perf: element size %v", float64(elem))
	}
	unit := int64(elem)
	if op == AllGather || op == ReduceScatter || op == AllToAll {
		unit *= int64(p.Ranks)
	}
	var rows []PerfRow
	last := int64(-1)
	for _, s := range sizes {
		b := int64(s) / unit * unit
		if b <= 0 || b == last {
			continue
		}
		last = b
		c, err := m.Time(op, units.Bytes(b), p)
		if err != nil {
			return nil, err
		}
		r := PerfRow{Bytes: units.Bytes(b), Count: b / int64(elem), Time: c.Time, Algorithm: c.Algorithm, Bottleneck: c.Bottleneck.String()}
		if c.Time > 0 {
			r.AlgBW = units.Bandwidth(float64(b) / float64(c.Time))
			r.BusBW = r.AlgBW.Scale(BusFactor(op, p.Ranks))
		}
		rows = append(rows, r)
	}
	return rows, nil
}
