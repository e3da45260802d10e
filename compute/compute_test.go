package compute

import (
	"math"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

func a100(t *testing.T) Model {
	t.Helper()
	g, ok := topology.GPUPreset("a100-80gb")
	if !ok {
		t.Fatal("no a100-80gb preset")
	}
	m, err := New(g, units.FP16)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func gemmOp(m, n, k int) model.Op {
	return model.Op{Class: model.GEMM, Batch: 1, M: m, N: n, K: k,
		FLOPs: units.FLOPs(2 * float64(m) * float64(n) * float64(k)),
		Bytes: units.Bytes(2 * float64(m*k+k*n+m*n))}
}

// TestGEMMHandComputed works one GEMM out by hand: 8192³ on an A100.
// 256×128 tiles: 32 × 64 = 2048 tiles over 108 SMs = 19 waves, the last
// 104/108 full, so wave efficiency 2048/(19·108); tiles divide the matrix
// exactly; K efficiency 8192/(8192+64); times the sustained-peak fraction.
func TestGEMMHandComputed(t *testing.T) {
	m := a100(t)
	p := m.Params
	eff := 2048.0 / (19 * 108) * 8192 / (8192 + p.KHalf) * p.GEMMPeakFraction
	flops := 2 * math.Pow(8192, 3)
	want := flops/(312e12*eff) + float64(p.KernelOverhead)
	got, lim := m.Time(gemmOp(8192, 8192, 8192))
	if math.Abs(float64(got)/want-1) > 1e-12 || lim != TensorCores {
		t.Fatalf("8192³ GEMM: %v (%v), want %.6g s on tensor cores", got, lim, want)
	}
}

func TestMemoryBoundHandComputed(t *testing.T) {
	m := a100(t)
	op := model.Op{Class: model.Memory, Bytes: 1 << 30}
	want := float64(1<<30)/(2039e9*m.Params.HBMFraction) + float64(m.Params.KernelOverhead)
	got, lim := m.Time(op)
	if math.Abs(float64(got)/want-1) > 1e-12 || lim != HBM {
		t.Fatalf("1 GiB streaming kernel: %v (%v), want %.6g s bound by HBM", got, lim, want)
	}
}

// TestEagerHBMFraction: a kernel PyTorch launches on its own (Op.Eager) is
// priced at EagerHBMFraction where that is set, by hand: 1 GiB at 0.51 of
// the A100's 2039 GB/s is 1.0326 ms + 4 µs, against 0.6195 ms + 4 µs at the
// family's 0.85; a kernel not marked eager keeps 0.85, and with the fraction
// 0 an eager kernel is priced like any other.
func TestEagerHBMFraction(t *testing.T) {
	gib := units.Bytes(1 << 30)
	for _, tc := range []struct {
		name  string
		eager bool
		frac  float64
		want  float64 // seconds
	}{
		{"eager at 0.51", true, 0.51, float64(1<<30)/(2039e9*0.51) + 4e-6},
		{"not eager, fraction set", false, 0.51, float64(1<<30)/(2039e9*0.85) + 4e-6},
		{"eager, fraction 0", true, 0, float64(1<<30)/(2039e9*0.85) + 4e-6},
	} {
		m := a100(t)
		m.Params.EagerHBMFraction = tc.frac
		got, lim := m.Time(model.Op{Class: model.Memory, Bytes: gib, Eager: tc.eager})
		if math.Abs(float64(got)/tc.want-1) > 1e-12 || lim != HBM {
			t.Errorf("%s: %v (%v), want %.6g s bound by HBM", tc.name, got, lim, tc.want)
		}
	}
	if want := 1.0326e-3 + 4e-6; math.Abs(float64(1<<30)/(2039e9*0.51)+4e-6-want) > 1e-6 {
		t.Errorf("hand value: %.6g s, want %.6g", float64(1<<30)/(2039e9*0.51)+4e-6, want)
	}
}

// TestGEMMShapes checks the shape effects: a skinny GEMM (tiny N) is bound by
// its HBM traffic, small K lowers efficiency, an extra partial wave costs a
// whole wave, and efficiency never exceeds the sustained fraction.
func TestGEMMShapes(t *testing.T) {
	m := a100(t)
	if _, lim := m.Time(gemmOp(65536, 8, 4096)); lim != HBM {
		t.Errorf("65536×8×4096 GEMM should be HBM-bound (roofline)")
	}
	if m.GEMMEfficiency(1, 4096, 4096, 64) >= m.GEMMEfficiency(1, 4096, 4096, 4096) {
		t.Errorf("K=64 should be less efficient than K=4096")
	}
	// 108 tiles of 256×128 fill one wave; 109 need two.
	full := m.GEMMEfficiency(1, 256*108, 128, 8192)
	over := m.GEMMEfficiency(1, 256*109, 128, 8192)
	if over >= full {
		t.Errorf("one tile past a full wave should cost efficiency: %v >= %v", over, full)
	}
	for _, s := range [][3]int{{1, 1, 1}, {7, 13, 17}, {2048, 4608, 12288}, {100000, 100000, 100000}} {
		if e := m.GEMMEfficiency(1, s[0], s[1], s[2]); e <= 0 || e > m.Params.GEMMPeakFraction {
			t.Errorf("efficiency of %v = %v, want in (0, %v]", s, e, m.Params.GEMMPeakFraction)
		}
	}
}

func TestNoFP8OnA100(t *testing.T) {
	g, _ := topology.GPUPreset("a100-80gb")
	if _, err := New(g, units.FP8); err == nil {
		t.Fatal("A100 has no FP8 tensor cores; New should fail")
	}
	if _, err := ParamsFor("nonesuch"); err == nil {
		t.Fatal("unknown family should fail")
	}
}

// TestMeasuredGEMMs: at a measured shape the measured rate is used exactly;
// elsewhere the curve is scaled by the nearest measurement's ratio.
func TestMeasuredGEMMs(t *testing.T) {
	m := a100(t)
	base := m.GEMMEfficiency(1, 4096, 4096, 4096)
	far := m.GEMMEfficiency(1, 8192, 8192, 1024)
	m.Measured = []MeasuredGEMM{{Batch: 1, M: 4096, N: 4096, K: 4096, Rate: 200 * units.TFLOPs}}
	if got, want := m.calibrated(1, 4096, 4096, 4096), 200.0/312; math.Abs(got-want) > 1e-12 {
		t.Errorf("at the measured shape: %v, want %v", got, want)
	}
	ratio := (200.0 / 312) / base
	if got := m.calibrated(1, 8192, 8192, 1024); math.Abs(got-far*ratio) > 1e-12 {
		t.Errorf("elsewhere: %v, want the curve × %v = %v", got, ratio, far*ratio)
	}
	op := gemmOp(4096, 4096, 4096)
	got, _ := m.Time(op)
	want := float64(op.FLOPs)/200e12 + float64(m.Params.KernelOverhead)
	if math.Abs(float64(got)/want-1) > 1e-12 {
		t.Errorf("time at the measured shape: %v, want %.6g", got, want)
	}
}

// TestHostIssueBound checks the host issue bound against hand-computed
// runs on an A100 (2039 GB/s × 0.85 = 1733.15 GB/s; 4 µs per kernel on the
// GPU, 10 µs per kernel on the host).
func TestHostIssueBound(t *testing.T) {
	m := a100(t)
	mem := func(b float64) model.Op { return model.Op{Class: model.Memory, Bytes: units.Bytes(b)} }
	tests := []struct {
		name             string
		ops              []model.Op
		wantTotal, wantH float64 // seconds
	}{
		// Five 1 KB kernels: the GPU needs 5 × (1e3/1733.15e9 + 4e-6) =
		// 20.0029 µs, the host 50 µs: the GPU waits 29.997 µs.
		{"short kernels", []model.Op{mem(1e3), mem(1e3), mem(1e3), mem(1e3), mem(1e3)}, 50e-6, 50e-6 - 5*(1e3/1733.15e9+4e-6)},
		// Two 1 GB kernels: 2 × (1e9/1733.15e9 + 4e-6) = 1.15397 ms of GPU
		// time, far above the host's 20 µs: no wait.
		{"long kernels", []model.Op{mem(1e9), mem(1e9)}, 2 * (1e9/1733.15e9 + 4e-6), 0},
		{"none", nil, 0, 0},
		// One 1 KB op the host issues as 16 kernels (a grouped expert
		// GEMM run as one launch per local expert): the GPU needs
		// 1e3/1733.15e9 + 4e-6 = 4.000577 µs, the host 160 µs.
		{"one op, 16 launches", []model.Op{{Class: model.Memory, Bytes: 1e3, Launches: 16}}, 160e-6, 160e-6 - (1e3/1733.15e9 + 4e-6)},
		// The same op issued at 25 µs a launch (IssueEach, a grouped
		// expert GEMM's per-expert call) and a 1 KB kernel at the default
		// 10 µs: the host needs 16 × 25 + 10 = 410 µs, the GPU 2 ×
		// 4.000577 µs.
		{"per-op issue cost", []model.Op{{Class: model.Memory, Bytes: 1e3, Launches: 16, IssueEach: 25e-6}, mem(1e3)}, 410e-6, 410e-6 - 2*(1e3/1733.15e9+4e-6)},
		// A 1 KB kernel with 16 host calls that launch nothing (a grouped
		// weight-gradient GEMM's 16 parameter tensors' backward
		// bookkeeping) at HostCall = 10 µs each: the host needs 10 + 16 ×
		// 10 = 170 µs, the GPU 4.000577 µs (one kernel, not 17).
		{"host calls", []model.Op{{Class: model.Memory, Bytes: 1e3, HostCalls: 16}}, 170e-6, 170e-6 - (1e3/1733.15e9 + 4e-6)},
	}
	for _, tc := range tests {
		total, tensor, hbm, host := m.SumHost(tc.ops)
		if math.Abs(float64(total)-tc.wantTotal) > 1e-12 || math.Abs(float64(host)-tc.wantH) > 1e-12 {
			t.Errorf("%s: total %g host %g, want %g %g", tc.name, float64(total), float64(host), tc.wantTotal, tc.wantH)
		}
		if tensor != 0 || math.Abs(float64(hbm-total)) > 1e-15 {
			t.Errorf("%s: tensor %g hbm %g of %g", tc.name, float64(tensor), float64(hbm), float64(total))
		}
		if s, _, _ := m.Sum(tc.ops); s != total {
			t.Errorf("%s: Sum %g, SumHost %g", tc.name, float64(s), float64(total))
		}
	}
}

// TestHostIssueParam: the host's cost per kernel is Params.HostIssue (a
// stack's training.host_issue replaces it), while the calls that launch no
// kernel stay at Params.HostCall. Twenty 1 KB kernels at 27 µs and one with
// four host calls: 21 × 27 + 4 × 10 = 607 µs of host time, by hand.
func TestHostIssueParam(t *testing.T) {
	m := a100(t)
	if m.Params.HostIssue != 10*units.Microsecond || m.Params.HostCall != 10*units.Microsecond {
		t.Fatalf("defaults: HostIssue %v HostCall %v, want 10 µs each (eager PyTorch)", m.Params.HostIssue, m.Params.HostCall)
	}
	m.Params.HostIssue = 27 * units.Microsecond
	ops := make([]model.Op, 20, 21)
	for i := range ops {
		ops[i] = model.Op{Class: model.Memory, Bytes: 1e3}
	}
	ops = append(ops, model.Op{Class: model.Memory, Bytes: 1e3, HostCalls: 4})
	total, _, _, host := m.SumHost(ops)
	gpu := 21 * (1e3/1733.15e9 + 4e-6)
	if math.Abs(float64(total)-607e-6) > 1e-12 || math.Abs(float64(host)-(607e-6-gpu)) > 1e-12 {
		t.Errorf("total %g host %g, want 607 µs and %g", float64(total), float64(host), 607e-6-gpu)
	}
}

// TestFlashDropoutSlowdown: a fused attention kernel with dropout
// (model.Op.Slowdown = model.AttnDropoutCost, TransformerEngine issue
// #3312: 0.594 → 0.614 ms) takes 0.614/0.594 of its time without, by
// hand on an A100: the causal half of 2·32·4096²·256 FLOPs at the 16-bit
// peak times FlashFraction × the K efficiency, plus the launch overhead
// (which the slowdown does not scale).
func TestFlashDropoutSlowdown(t *testing.T) {
	m := a100(t)
	op := model.Op{Class: model.FlashAttention, Batch: 32, M: 4096, N: 4096, K: 128, Causal: true,
		FLOPs: units.FLOPs(2 * 32 * 4096.0 * 4096 * 256), Bytes: units.Bytes(32 * 4096 * 512 * 2)}
	base, _ := m.Time(op)
	kernel := float64(base - m.Params.KernelOverhead)
	for _, tc := range []struct {
		slowdown, want float64
	}{{0, kernel}, {model.AttnDropoutCost, kernel * 0.614 / 0.594}, {0.5, kernel * 1.5}} {
		op.Slowdown = tc.slowdown
		got, lim := m.Time(op)
		if want := tc.want + float64(m.Params.KernelOverhead); math.Abs(float64(got)/want-1) > 1e-12 || lim != TensorCores {
			t.Errorf("slowdown %v: %v (%v), want %.6g s on tensor cores", tc.slowdown, got, lim, want)
		}
	}
}
