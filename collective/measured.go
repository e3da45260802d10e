package collective

import (
	"sort"

	"trainsim/units"
)

// AllReduceCurve is a measured all-reduce time over message size for groups
// of 2..n ranks inside one NVLink domain (the GPUs of one node on their
// NVSwitches): Bytes is the buffer size, Times[ranks] the time of one call
// at each size, in the order of Bytes. A group size it has no curve for is
// priced by the formula.
type AllReduceCurve struct {
	Bytes []units.Bytes
	Times map[int][]units.Seconds
	// Source cites the measurement.
	Source string
}

// A100AllReduce returns NCCL's all-reduce inside one 8-GPU A100 NVSwitch
// node as nccl-tests measured it for the vTrain simulator (Bang et al.,
// "vTrain", MICRO 2024; VIA-Research/vTrain trace/a100/AR_GPU{2..8}_1M_1024M_LUT
// @ f8dda84: all_reduce_perf out-of-place times of 2 to 8 A100 GPUs from 1
// MiB to 1 GiB in 1 MiB steps; the rows at the sizes below are kept).
// Against the formula (NVLinkFraction 0.78 of 300 GB/s, 512 KiB half-
// bandwidth chunk) the measurement is slower at every size and more so for
// small groups: a least-squares fit over 64 MiB – 1 GiB gives a bus
// bandwidth of 200 (2 GPUs), 225 (4) and 233 GB/s (8) plus a fixed 117–156
// µs per call; 1 MiB takes 44–93 µs (the formula: 11–30 µs).
func A100AllReduce() *AllReduceCurve {
	mib := []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024}
	us := map[int][]float64{
		2: {44.2, 53.4, 56.3, 61.2, 72.7, 86.9, 109.1, 131.9, 176.5, 230.0, 313.0, 404.7, 572.0, 763.6, 1104.7, 1455.8, 2142.9, 2838.4, 4151.0, 5442.8},
		3: {63.9, 70.8, 77.5, 79.2, 88.8, 103.6, 134.0, 155.0, 209.5, 266.5, 388.3, 500.3, 708.5, 928.9, 1367.8, 1786.0, 2629.2, 3466.8, 5120.7, 6757.1},
		4: {51.4, 55.7, 64.9, 77.3, 104.1, 116.8, 139.2, 179.6, 220.2, 284.2, 396.4, 543.8, 762.7, 998.6, 1442.3, 1929.0, 2820.7, 3720.0, 5493.5, 7259.4},
		5: {62.8, 61.2, 68.0, 78.6, 102.6, 123.8, 154.3, 198.8, 244.2, 322.2, 442.7, 568.3, 828.3, 1066.7, 1529.4, 2037.0, 2951.9, 3935.8, 5799.1, 7653.2},
		6: {73.0, 74.6, 74.7, 82.5, 105.3, 126.7, 177.1, 203.2, 270.2, 304.0, 433.2, 565.7, 852.6, 1120.8, 1587.3, 2115.9, 3063.0, 4020.6, 5949.0, 7883.3},
		7: {78.0, 78.2, 79.1, 84.2, 105.6, 134.4, 172.5, 227.6, 287.6, 332.8, 468.1, 599.9, 838.1, 1147.4, 1681.6, 2190.9, 3129.2, 4106.0, 6102.6, 8112.8},
		8: {92.8, 93.2, 92.6, 95.8, 108.4, 134.3, 175.7, 232.4, 265.3, 358.1, 439.4, 579.9, 828.5, 1162.0, 1610.2, 2162.3, 3147.1, 4191.5, 6187.0, 8193.0},
	}
	c := &AllReduceCurve{Times: map[int][]units.Seconds{},
		Source: "nccl-tests all_reduce_perf on 2–8 A100 SXM GPUs of one NVSwitch node (VIA-Research/vTrain trace/a100/AR_GPU*_1M_1024M_LUT @ f8dda84)"}
	for _, m := range mib {
		c.Bytes = append(c.Bytes, units.Bytes(m)*units.MiB)
	}
	for n, row := range us {
		ts := make([]units.Seconds, len(row))
		for i, t := range row {
			ts[i] = units.Seconds(t) * units.Microsecond
			if i > 0 && ts[i] < ts[i-1] {
				// Run-to-run noise (a larger buffer measured faster):
				// a larger buffer never takes less time.
				ts[i] = ts[i-1]
			}
		}
		c.Times[n] = ts
	}
	return c
}

// Covers reports whether the curve holds a measurement for a group of ranks
// GPUs; other group sizes are priced by the formula.
func (c *AllReduceCurve) Covers(ranks int) bool {
	if c == nil {
		return false
	}
	ts, ok := c.Times[ranks]
	return ok && len(ts) >= 2 && len(ts) == len(c.Bytes)
}

// time returns the measured time of an all-reduce of size bytes over ranks
// ranks, interpolated linearly between the measured sizes and extrapolated
// beyond the largest along its last segment; below the smallest it is the
// formula's time plus the measurement's excess over the formula at the
// smallest size, scaled down in proportion to the size (formula gives the
// formula's time for a size): continuous at the smallest row, and the
// formula's latency for a message of a few bytes. ok is false without a
// curve for ranks.
func (c *AllReduceCurve) time(ranks int, bytes units.Bytes, formula func(units.Bytes) units.Seconds) (units.Seconds, bool) {
	if !c.Covers(ranks) {
		return 0, false
	}
	ts, xs := c.Times[ranks], c.Bytes
	if bytes <= xs[0] {
		excess := max(0, ts[0]-formula(xs[0]))
		return formula(bytes) + excess*units.Seconds(float64(bytes)/float64(xs[0])), true
	}
	i := sort.Search(len(xs), func(i int) bool { return xs[i] >= bytes })
	if i >= len(xs) {
		i = len(xs) - 1
	}
	x0, x1, t0, t1 := xs[i-1], xs[i], ts[i-1], ts[i]
	return t0 + units.Seconds(float64(bytes-x0)/float64(x1-x0)*float64(t1-t0)), true
}

// MeasuredStretch is how many times longer than the formula's bandwidth
// term a collective over ranks GPUs of one node takes under the measured
// curve: flow mode stretches the bytes of such a collective's transfers by
// it, so that the links carry it for the measured time less the latency, as
// the analytical mode prices it. 1 without a curve (the all-reduce one for
// all-reduces, reduce-scatters and all-gathers, the all-to-all one for
// all-to-alls), for sends, and where the measurement is not slower.
func (m Model) MeasuredStretch(op Op, bytes units.Bytes, ranks int) float64 {
	if ranks < 2 || ranks > m.Cluster.GPUsPerNode || op == SendRecv {
		return 1
	}
	if op == AllToAll && m.Params.NVLinkAllToAll == nil || op != AllToAll && m.Params.NVLinkAllReduce == nil {
		return 1
	}
	p := Placement{Ranks: ranks, PerNode: ranks}
	meas, err := m.Time(op, bytes, p)
	if err != nil {
		return 1
	}
	f := m
	f.Params.NVLinkAllReduce, f.Params.NVLinkAllToAll = nil, nil
	form, err := f.Time(op, bytes, p)
	if err != nil || form.Time <= form.Latency {
		return 1
	}
	return max(1, float64(meas.Time-form.Latency)/float64(form.Time-form.Latency))
}

// AllToAllCurve is NCCL's measured all-to-all inside one NVLink domain:
// Bytes is the buffer each rank sends (nccl-tests' size), Times[ranks] the
// time of one call at each size for the group sizes measured. A group of a
// size between two measured ones takes the time interpolated linearly in
// the number of ranks; a larger group than the largest measured takes that
// one's time; a smaller one than the smallest is priced by the formula.
type AllToAllCurve struct {
	Bytes []units.Bytes
	Times map[int][]units.Seconds
	// Source cites the measurement.
	Source string
}

// NVLink5AllToAll returns NCCL's all-to-all on NVLink 5 (900 GB/s per GPU
// and direction through NVSwitch) as Oracle's GB300 NVL72 quick start
// publishes it (oracle-quickstart/oci-gpu-quickstarts,
// nvidia/GB300/README-GB300.md @ 2631bee5: alltoall_perf out-of-place times,
// NCCL 2.28.7, 4 GPUs of one compute tray, 8 GPUs on two trays and 64 GPUs
// on sixteen trays of one rack, 512 KiB to 16 GiB). The rows from 64 MiB
// are kept: the 64-GPU sweep is not monotonic below it (32 MiB in 236 µs,
// 64 MiB in 162). At 8 GiB the same repository's HGX B300 page
// (nvidia/B300/README-B300.md @ 140fc621: 8 GPUs, NCCL 2.28.9, bus
// bandwidth 675.6 GB/s) agrees with the 8-GPU row (679.7) within 1%, and its
// GB200 page (nvidia/GB200/README-GB200.md @ 140fc621, NCCL 2.27.3: 615 GB/s
// on 4 GPUs, 658 on 8, 623 on 64) within 2–4%. Against the formula
// (NVLinkFraction 0.78 of 900 GB/s) the measurement is slower at every size,
// most for mid-sized buffers: 8 GPUs move 256 MiB in 418 µs (bus bandwidth
// 562 GB/s) where the formula takes 341 µs.
func NVLink5AllToAll() *AllToAllCurve {
	mib := []float64{64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}
	us := map[int][]float64{
		4:  {121.3, 218.9, 410.1, 787.1, 1454.3, 2622.9, 5183.9, 10308, 20527},
		8:  {130.1, 227.7, 418.2, 796.3, 1490.4, 2989.6, 5612.2, 11059, 21943},
		64: {161.7, 265.7, 463.1, 855.6, 1623.0, 3224.2, 6469.2, 13028, 25357},
	}
	c := &AllToAllCurve{Times: map[int][]units.Seconds{},
		Source: "nccl-tests alltoall_perf on 4, 8 and 64 GB300 GPUs of one NVL72 rack (oracle-quickstart/oci-gpu-quickstarts nvidia/GB300/README-GB300.md @ 2631bee5)"}
	for _, m := range mib {
		c.Bytes = append(c.Bytes, units.Bytes(m)*units.MiB)
	}
	for n, row := range us {
		ts := make([]units.Seconds, len(row))
		for i, t := range row {
			ts[i] = units.Seconds(t) * units.Microsecond
		}
		c.Times[n] = ts
	}
	return c
}

// Covers reports whether the curve prices an all-to-all over ranks GPUs of
// one NVLink domain: at least the smallest group measured.
func (c *AllToAllCurve) Covers(ranks int) bool {
	if c == nil || len(c.Bytes) < 2 {
		return false
	}
	for n := range c.Times {
		if n <= ranks {
			return true
		}
	}
	return false
}

// time returns the measured time of an all-to-all of size bytes (per rank)
// over ranks GPUs of one NVLink domain: each measured group size's time as
// AllReduceCurve.time takes it (between sizes, beyond the largest, below
// the smallest with formula, the formula's time for a size), then linear
// in the number of ranks between the two measured group sizes around
// ranks. ok is false when the curve does not cover ranks.
func (c *AllToAllCurve) time(ranks int, bytes units.Bytes, formula func(units.Bytes) units.Seconds) (units.Seconds, bool) {
	if !c.Covers(ranks) {
		return 0, false
	}
	lo, hi := 0, 0
	for n := range c.Times {
		if n <= ranks && n > lo {
			lo = n
		}
		if n >= ranks && (hi == 0 || n < hi) {
			hi = n
		}
	}
	at := func(n int) units.Seconds {
		r := AllReduceCurve{Bytes: c.Bytes, Times: map[int][]units.Seconds{n: c.Times[n]}}
		t, _ := r.time(n, bytes, formula)
		return t
	}
	if hi == 0 || hi == lo {
		return at(lo), true
	}
	tl, th := at(lo), at(hi)
	return tl + units.Seconds(float64(ranks-lo)/float64(hi-lo))*(th-tl), true
}
