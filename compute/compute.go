package compute

import (
	"fmt"
	"math"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// Tile is a thread-block output tile a GEMM library may choose, with the
// efficiency a full wave of such tiles reaches relative to the largest tile.
type Tile struct {
	M, N int
	Rel  float64
}

// Params are the kernel-efficiency constants of one GPU family.
type Params struct {
	// GEMMPeakFraction is the fraction of the dense datasheet peak that a
	// large, well-shaped GEMM sustains in training (full waves, large K).
	GEMMPeakFraction float64
	// Tiles are the output tiles the GEMM library picks from; the one that
	// gives the shortest time is used, as cuBLAS's heuristics aim to.
	Tiles []Tile
	// KHalf is the K at which a tile spends as long in its prologue and
	// epilogue as in its main loop: efficiency scales by K/(K+KHalf).
	KHalf float64
	// HBMFraction is the fraction of the datasheet HBM bandwidth that
	// streaming element-wise kernels reach.
	HBMFraction float64
	// EagerHBMFraction, where above 0, replaces HBMFraction for the kernels
	// PyTorch launches one tensor operation at a time (model.Op.Eager);
	// 0: HBMFraction for them too. Set by training.eager_hbm_fraction.
	EagerHBMFraction float64
	// FlashFraction is the fraction of the dense peak a fused
	// flash-attention kernel sustains on its (unmasked) FLOPs.
	FlashFraction float64
	// FA2Fwd and FA2Bwd, where above 0, are the shares of the fused
	// kernel's rate (FlashFraction) that FlashAttention-2 reaches in the
	// forward and the backward pass on this family (model.Op.FA2); 0: the
	// same rate (ampere, where FlashFraction stands for FlashAttention-2
	// itself; blackwell, with no published measurement). See fa2Fwd.
	FA2Fwd, FA2Bwd float64
	// FA2Own says that FlashFraction is FlashAttention-2's own rate (ampere),
	// so FA2Fwd and FA2Bwd are 0 because there is nothing to scale, not for
	// want of a measurement (blackwell).
	FA2Own bool
	// WindowFwd and WindowBwd, where above 0, multiply the time of a
	// sliding-window flash kernel's forward and backward over its price at
	// the tiles it computes (windowedFlash); 0: none (ampere, hopper). See
	// blackwellWindowFwd.
	WindowFwd, WindowBwd float64
	// FlashTiles are the query × key tiles of the family's flash-attention
	// kernels by head dimension: a sliding-window kernel computes every
	// tile the window touches whole (model.WindowTiles). See flashTiles.
	FlashTiles []FlashTiles
	// FP8LinearSlowdown multiplies the time of a linear layer's GEMM run
	// in FP8 (Transformer Engine) over what the efficiency curve gives at
	// the FP8 peak: what FP8 costs beyond the 2× peak and the modelled
	// casts (split accumulation in the gradient GEMMs, scaling, kernel
	// choice). 0 or 1: none.
	FP8LinearSlowdown float64
	// KernelOverhead is the fixed launch and tail cost of one kernel.
	KernelOverhead units.Seconds
	// HostIssue is the CPU time the framework spends to issue one kernel:
	// PyTorch's eager dispatch of the operator (Python, the dispatcher,
	// autograd bookkeeping) plus cudaLaunchKernel. The host issues a run
	// of kernels while the GPU runs them; the GPU starves when the host
	// takes longer than the kernels do (see Model.Sum).
	HostIssue units.Seconds
	// HostCall is the host time of one framework call that launches no
	// kernel (model.Op.HostCalls): the per-parameter backward bookkeeping —
	// a placeholder tensor's allocation, autograd's AccumulateGrad and a
	// Python hook — taken together as one eager operator's worth.
	HostCall units.Seconds
	// CommSMs is how many SMs a communication kernel running alongside
	// computation takes from it: NCCL runs one thread block per channel,
	// and uses about 8 channels for these collectives on DGX systems.
	CommSMs int
}

// CommSlowdown is the share of the GPU's SMs that overlapped communication
// takes from computation while it runs.
func (m Model) CommSlowdown() float64 {
	if m.GPU.SMs <= 0 {
		return 0
	}
	return min(1, float64(m.Params.CommSMs)/float64(m.GPU.SMs))
}

// hostIssue is the host's cost to issue one kernel from PyTorch eager mode:
// about 10 µs, the per-operator CPU overhead of eager PyTorch (H. He,
// "Making Deep Learning Go Brrrr From First Principles", 2022, §Overhead;
// the PyTorch blog "Accelerating PyTorch with CUDA Graphs", 2021, which
// removes it), of which cudaLaunchKernel itself is 2–4 µs (NVIDIA
// Developer Blog, "Getting Started with CUDA Graphs", 2019). It does not
// depend on the GPU.
const hostIssue = 10 * units.Microsecond

// hopperFP8Slowdown is FP8LinearSlowdown on Hopper, calibrated on NVIDIA's
// own step times of the same layout in BF16 and FP8 (NVIDIA/dgxc-benchmarking
// tag v24.11.1 nemo_megatron/README_175b.md: GPT-3 175B, 128 H100s, TP 4 PP 8
// VP 12, 8.91 s BF16 against 5.92 s FP8; llama3.1/README_8b.md, README_70b.md,
// README_405b.md: Llama 3.1 8B 12.91 / 9.67 s, 70B 14.72 / 11.01 s, 405B on
// 576 GPUs 17.20 / 11.24 s; tag v25.04 nemo_megatron/README_175b.md, VP 6:
// 8.309 / 5.626 s). Replayed with each run's configuration, the five
// measured FP8 speed-ups (1.505, 1.335, 1.337, 1.530, 1.477) need 1.16, 1.10,
// 1.22, 1.05 and 1.19; 1.14 is their geometric mean (docs/model.md §7.12).
// FP8 linear GEMMs then run at ≈ 0.61 of the FP8 peak where 16-bit ones run
// at 0.70 of theirs: ≈ 1.75× the 16-bit rate, not 2×. Blackwell has its own
// pairs (blackwellFP8Slowdown).
const hopperFP8Slowdown = 1.14

// blackwellFP8Slowdown is FP8LinearSlowdown on Blackwell, calibrated the same
// way as hopperFP8Slowdown on NVIDIA's own GB200 step times of one layout in
// BF16 and FP8 with Transformer Engine's delayed scaling (NVIDIA/dgxc-benchmarking
// tag v25.05, commit 68eaf7e117bf; NeMo 25.04 scripts.performance, whose
// --fp8_recipe defaults to "ds", NVIDIA/NeMo@7a8f1cc7bc40
// scripts/performance/argument_parser.py): llama3.1/README.md, Llama 3.1 405B
// on 128 GB200s, TP 4 PP 8 CP 2 VP 8, 9.347 s BF16 against 6.131 s FP8;
// nemotron/README.md, Nemotron-4 340B on 128 GB200s, TP 8 PP 4 VP 12, 2.189
// against 1.483 s. Replayed with each run's configuration, the measured FP8
// speed-ups (1.525, 1.476) need 1.140 and 1.149 (the replay gives 1.667 and
// 1.626 without a slowdown); 1.14 is their geometric mean (1.144), the same
// as Hopper's (docs/model.md §7.56). That replay ran at GEMMPeakFraction
// 0.70; at blackwellGEMMPeakFraction (0.59) the same pairs need 1.168 and
// 1.173, which was measured and not kept (docs/model.md §7.58: the GB200
// file improves, MLPerf's FP8 rows get worse).
const blackwellFP8Slowdown = 1.14

// blackwellGEMMPeakFraction is GEMMPeakFraction on Blackwell, set by the
// relation Hopper's 0.70 has to XLA's measured bf16 GEMM table. Replayed on
// the model, the 50 GEMMs of that table with M, N, K ≥ 1024 and ≥ 2³⁵ FLOPs
// run at a median 0.835 of the measured sm_90 rates (tensorflow/tensorflow
// @372d578b, TestHopperGEMMShapeTrend). XLA's B200 table (key sm_100_B200,
// ROCm/xla @63ce2981, the openxla/xla file
// xla/service/gpu/model/matmul_interpolator_data.h) reaches a smaller share
// of its datasheet peak: its largest GEMM 1,670 TFLOP/s, 0.742 of 2,250, the
// next 0.65–0.68, where Hopper's largest are 0.79–0.82 of 989.4. At 0.70 the
// model ran at a median 0.981 of the B200 rates; 0.59 puts that median at
// 0.838, Hopper's relation (0.5875 solves it exactly; the level taken as
// the five largest rates gives 0.70 × 0.676 / 0.808 = 0.586).
// TestBlackwellGEMMShapeTrend; docs/model.md §7.58.
const blackwellGEMMPeakFraction = 0.59

// fa2Fwd and fa2Bwd are FlashAttention-2's rate as a share of cuDNN's
// fused attention on the H100, the kernel Transformer Engine prefers on
// sm90 and the one the family's FlashFraction was set against: the
// FlashAttention-3 paper's H100 SXM5 measurements (Shah et al. 2024,
// arXiv:2407.08608, Fig. 5 and 6; BF16, head dimension 128, 16k tokens
// per batch, sequence 4k; FlashAttention 2.5.8 against cuDNN 9.1.1):
// causal forward 319 against 518 TFLOP/s, backward (not causal, the only
// one published) 310 against 499. The share stays within 0.61–0.64 from
// 1k to 16k tokens in both passes. FlashAttention-2 runs Ampere's
// mma.sync kernels on Hopper, without its wgmma and TMA. See
// docs/model.md §7.49.
const (
	fa2Fwd = 319.0 / 518.0
	fa2Bwd = 310.0 / 499.0
)

// blackwellWindowFwd and blackwellWindowBwd are WindowFwd and WindowBwd on
// Blackwell: how much slower cuDNN's sliding-window kernel runs on Blackwell
// than the tile price gives, relative to Hopper, where the tile price holds.
// NVIDIA's cuDNN SDPA benchmark run with one release and one script on an
// H200 and a GB200 (NVIDIA/cudnn-frontend @ df73764,
// benchmark/sdpa_benchmark_training/results/{h200,gb200}_919_only_cudnn/,
// cuDNN 9.19.1, BF16): the GPT-OSS shape (d 64, window 1024, 64 heads,
// batch 2) over the Llama 3.1 shape (d 128, causal) of the same run, each as
// measured over modelled time, is 1.03 forward and 1.13 backward on the H200
// and 1.45 and 1.28 on the GB200 (geometric means over s 4k–32k): the GB200's
// over the H200's, 1.41 forward (1.35–1.43 per length) and 1.13 backward
// (1.11–1.15). The d-64 rate itself is not the cause: cuDNN's and
// FlashAttention-4's unwindowed d 64 run at 0.66–0.70 of d 128 on Blackwell
// (Dao-AILab/flash-attention PR #2605), as d/(d+K½) gives (0.70). See
// docs/model.md §7.60 and TestFlashHeadDimAgainstCuDNN.
const (
	blackwellWindowFwd = 1.41
	blackwellWindowBwd = 1.13
)

// ParamsFor returns the documented constants for a GPU family. See
// docs/model.md for the sources of each number.
func ParamsFor(family string) (Params, error) {
	tiles := []Tile{{256, 128, 1}, {128, 256, 1}, {128, 128, 0.95}, {128, 64, 0.85}, {64, 128, 0.85}, {64, 64, 0.7}}
	switch family {
	case "ampere":
		return Params{GEMMPeakFraction: 0.78, Tiles: tiles, KHalf: 64, HBMFraction: 0.85, FlashFraction: 0.60, FA2Own: true, FlashTiles: flashTiles(family), KernelOverhead: 4 * units.Microsecond, HostIssue: hostIssue, HostCall: hostIssue, CommSMs: 8}, nil
	case "hopper", "blackwell":
		p := Params{GEMMPeakFraction: 0.70, Tiles: tiles, KHalf: 96, HBMFraction: 0.85, FlashFraction: 0.55, FlashTiles: flashTiles(family), KernelOverhead: 4 * units.Microsecond, HostIssue: hostIssue, HostCall: hostIssue, CommSMs: 8}
		if family == "hopper" {
			p.FP8LinearSlowdown = hopperFP8Slowdown
			p.FA2Fwd, p.FA2Bwd = fa2Fwd, fa2Bwd
		} else {
			p.GEMMPeakFraction = blackwellGEMMPeakFraction
			p.FP8LinearSlowdown = blackwellFP8Slowdown
			p.WindowFwd, p.WindowBwd = blackwellWindowFwd, blackwellWindowBwd
		}
		return p, nil
	}
	return Params{}, fmt.Errorf("compute: no kernel-efficiency constants for GPU family %q", family)
}

// FlashTile is a flash-attention kernel's tile: M queries (the rows of one
// thread block's output) against N keys (one step of its loop).
type FlashTile struct{ M, N int }

// FlashTiles are the forward and backward tiles a flash-attention kernel
// uses for head dimensions up to MaxHeadDim.
type FlashTiles struct {
	MaxHeadDim int
	Fwd, Bwd   FlashTile
}

// flashTiles returns the tiles of the sliding-window ("local") flash
// kernels of each GPU family, from FlashAttention's own launch code
// (Dao-AILab/flash-attention @ 0251105a2fb19d2957484b7f023cd8c115286ced):
//
//   - ampere, FlashAttention-2 (the same kernel traits serve causal and
//     local masks): forward 128×128 at head dim 64 and 128×64 at 128
//     (csrc/flash_attn/src/flash_fwd_launch_template.h l.210, l.262;
//     128×64 at 192 and 256 on an A100, l.286, l.316); backward 128×128
//     at 64, 64×128 at 128, 64×64 above (flash_bwd_launch_template.h
//     l.179, l.248, l.277, l.298);
//   - hopper, FlashAttention-3 with is_local: forward 192×128 up to head
//     dim 96, 128×128 at 128, 128×96 at 192, 128×64 at 256
//     (hopper/tile_size.h l.24–25, l.30, l.32–33, l.37, l.39); backward
//     128×128 at 64, 64×128 at 96 and 128, 64×96 at 192, 64×80 at 256
//     (hopper/flash_bwd_launch_template.h l.320, l.337, l.351, l.367,
//     l.380);
//   - blackwell, FlashAttention-4 (CuTe DSL, SM100): 128×128 tiles, two
//     query tiles per thread block (q_stage 2) whose key range is decided
//     together, so 256×128 for the mask (flash_attn/cute/interface.py
//     l.318, l.343–348; flash_fwd_sm100.py l.197, cta_tiler); backward
//     128×128 (interface.py l.1940–1941).
//
// The fused attention these frameworks run may be cuDNN's, whose tiles are
// not published; FlashAttention's are the public kernels of each
// generation and stand in for them.
func flashTiles(family string) []FlashTiles {
	switch family {
	case "ampere":
		return []FlashTiles{
			{64, FlashTile{128, 128}, FlashTile{128, 128}},
			{128, FlashTile{128, 64}, FlashTile{64, 128}},
			{256, FlashTile{128, 64}, FlashTile{64, 64}},
		}
	case "hopper":
		return []FlashTiles{
			{64, FlashTile{192, 128}, FlashTile{128, 128}},
			{96, FlashTile{192, 128}, FlashTile{64, 128}},
			{128, FlashTile{128, 128}, FlashTile{64, 128}},
			{192, FlashTile{128, 96}, FlashTile{64, 96}},
			{256, FlashTile{128, 64}, FlashTile{64, 80}},
		}
	case "blackwell":
		return []FlashTiles{{256, FlashTile{256, 128}, FlashTile{128, 128}}}
	}
	return nil
}

// flashTile is the tile of the flash kernel for head dimension d, forward
// or backward; the last row serves larger head dimensions. ok is false
// where the family has no tiles.
func (p Params) flashTile(d int, backward bool) (FlashTile, bool) {
	if len(p.FlashTiles) == 0 {
		return FlashTile{}, false
	}
	row := p.FlashTiles[len(p.FlashTiles)-1]
	for _, r := range p.FlashTiles {
		if d <= r.MaxHeadDim {
			row = r
			break
		}
	}
	if backward {
		return row.Bwd, row.Bwd.M > 0 && row.Bwd.N > 0
	}
	return row.Fwd, row.Fwd.M > 0 && row.Fwd.N > 0
}

// Limiter is what bounds a kernel's time.
type Limiter uint8

// The limiters.
const (
	TensorCores Limiter = iota
	HBM
)

// MeasuredGEMM is a GEMM throughput a site measured (cuBLAS at the training
// precision): Batch products of M×K · K×N ran at Rate.
type MeasuredGEMM struct {
	Batch, M, N, K int
	Rate           units.FLOPRate
}

// Model computes kernel times on one GPU at one precision.
type Model struct {
	// Measured GEMMs, when given, correct the efficiency curve: a GEMM's
	// modelled efficiency is scaled by measured/modelled at the nearest
	// measured shape (exact at a measured shape).
	Measured []MeasuredGEMM
	GPU      topology.GPU
	// Peak is the tensor-core peak of linear-layer GEMMs at the training
	// precision; Peak16 that of everything else (attention, output layer),
	// which FP8 training keeps in 16-bit.
	Peak, Peak16 units.FLOPRate
	Params       Params
}

// New returns the kernel model for gpu at precision p.
func New(gpu topology.GPU, p units.Precision) (Model, error) {
	peak, ok := gpu.Peak(p)
	if !ok {
		return Model{}, fmt.Errorf("compute: %s has no %s tensor cores", gpu.Name, p)
	}
	params, err := ParamsFor(gpu.Family)
	if err != nil {
		return Model{}, err
	}
	return Model{GPU: gpu, Peak: peak, Peak16: gpu.PeakDense16, Params: params}, nil
}

// Time returns how long op takes and what bounds it.
func (m Model) Time(op model.Op) (units.Seconds, Limiter) {
	hbm := m.Params.HBMFraction
	if op.Eager && m.Params.EagerHBMFraction > 0 {
		hbm = m.Params.EagerHBMFraction
	}
	mem := op.Bytes.Over(m.GPU.HBMBandwidth.Scale(hbm))
	var t units.Seconds
	lim := HBM
	switch op.Class {
	case model.HostSync:
		// No kernel: the host's wait is priced by the issue bound (SumHost).
		return 0, HBM
	case model.GEMM:
		peak, eff := m.Peak16, m.GEMMEfficiency(op.Batch, op.M, op.N, op.K)
		if op.Linear || m.Peak == m.Peak16 {
			// Measured GEMMs are at the training precision: they correct
			// only the GEMMs that run at it.
			peak, eff = m.Peak, m.calibrated(op.Batch, op.M, op.N, op.K)
			if op.Linear && m.Peak > m.Peak16 && m.Params.FP8LinearSlowdown > 1 {
				eff /= m.Params.FP8LinearSlowdown
			}
		}
		t = op.FLOPs.At(peak.Scale(eff))
		lim = TensorCores
	case model.SkinnyGEMM:
		// A roofline: the sustained GEMM peak or the weights' bytes over
		// HBM, whichever is slower (below).
		peak := m.Peak16
		if op.Linear {
			peak = m.Peak
		}
		t = op.FLOPs.At(peak.Scale(m.Params.GEMMPeakFraction))
		lim = TensorCores
	case model.FlashAttention:
		f := op.FLOPs
		if op.Causal {
			f /= 2
		}
		if op.Window > 0 {
			f, mem = m.windowedFlash(op, f, hbm)
		}
		t = f.At(m.Peak16.Scale(m.flashFraction(op) * m.kEfficiency(op.K)))
		if op.Window > 0 {
			t = units.Seconds(float64(t) * m.windowFactor(op.Backward))
		}
		t += units.Seconds(float64(t) * op.Slowdown)
		lim = TensorCores
	default:
		t = mem
	}
	if mem > t {
		t, lim = mem, HBM
	}
	return t + m.Params.KernelOverhead, lim
}

// flashFraction is the share of the dense peak the flash kernel op
// sustains before the head-dimension efficiency: FlashFraction, times
// FlashAttention-2's share of it in op's pass where op runs
// FlashAttention-2 and the family has one.
func (m Model) flashFraction(op model.Op) float64 {
	f := m.Params.FlashFraction
	if !op.FA2 {
		return f
	}
	share := m.Params.FA2Fwd
	if op.Backward {
		share = m.Params.FA2Bwd
	}
	if share > 0 {
		f *= share
	}
	return f
}

// windowFactor is WindowFwd or WindowBwd, for op's pass, where set; 1
// otherwise.
func (m Model) windowFactor(backward bool) float64 {
	w := m.Params.WindowFwd
	if backward {
		w = m.Params.WindowBwd
	}
	if w > 0 {
		return w
	}
	return 1
}

// windowedFlash prices a sliding-window flash kernel at tile granularity:
// the kernel skips only the tiles wholly outside the window and computes
// the others whole, so its work is the tiles' area, not the window's pairs
// (model.WindowTiles; with w = 128 and 128×128 tiles each query tile
// computes two key tiles, twice the pairs). f, the work priced for the
// window's pairs, is scaled by area / pairs. Its HBM traffic counts the
// stream a thread block re-reads for every tile it computes instead of
// once: the forward's K and V (half its bytes: Q, K, V and O once), read
// once per query tile for each key tile it meets, N keys at a time; the
// backward's Q and dO (a quarter of its bytes), read once per key tile
// for each query tile it meets, M queries at a time. Without tiles for
// the family the op is priced as built.
func (m Model) windowedFlash(op model.Op, f units.FLOPs, hbm float64) (units.FLOPs, units.Seconds) {
	mem := op.Bytes.Over(m.GPU.HBMBandwidth.Scale(hbm))
	s := op.M
	tile, ok := m.Params.flashTile(op.K, op.Backward)
	pairs := model.WindowPairs(s, op.Window)
	if !ok || s <= 0 || pairs <= 0 {
		return f, mem
	}
	tiles := float64(model.WindowTiles(s, op.Window, tile.M, tile.N))
	f = units.FLOPs(float64(f) * tiles * float64(tile.M) * float64(tile.N) / pairs)
	share, step := 0.5, tile.N
	if op.Backward {
		share, step = 0.25, tile.M
	}
	reads := tiles * float64(step) / float64(s) // times each streamed row is read
	bytes := op.Bytes + units.Bytes(float64(op.Bytes)*share*max(0, reads-1))
	return f, bytes.Over(m.GPU.HBMBandwidth.Scale(hbm))
}

// GEMMEfficiency is the fraction of the 16-bit peak a 16-bit GEMM of
// batch × (M×K · K×N) reaches: the best over the candidate tiles of tile ×
// wave quantization, times the K amortisation and the sustained-peak
// fraction.
func (m Model) GEMMEfficiency(batch, M, N, K int) float64 {
	return m.gemmEfficiency(batch, M, N, K, m.Params.KHalf)
}

// trainingKHalf is KHalf for GEMMs at the training precision: a tile's
// prologue and epilogue take the same time at any input precision while its
// main loop runs Peak/Peak16 times faster per K element (twice, in FP8), so
// the K that amortises them grows by that ratio.
func (m Model) trainingKHalf() float64 {
	if m.Peak16 <= 0 || m.Peak <= m.Peak16 {
		return m.Params.KHalf
	}
	return m.Params.KHalf * float64(m.Peak/m.Peak16)
}

func (m Model) gemmEfficiency(batch, M, N, K int, kHalf float64) float64 {
	if batch < 1 || M < 1 || N < 1 || K < 1 {
		return m.Params.GEMMPeakFraction
	}
	sms := m.GPU.SMs
	if sms < 1 {
		sms = 1
	}
	best := 0.0
	for _, tl := range m.Params.Tiles {
		tm := ceilDiv(M, tl.M)
		tn := ceilDiv(N, tl.N)
		tiles := batch * tm * tn
		waves := ceilDiv(tiles, sms)
		tileQ := float64(M) * float64(N) / (float64(tm*tl.M) * float64(tn*tl.N))
		waveQ := float64(tiles) / float64(waves*sms)
		if e := tl.Rel * tileQ * waveQ; e > best {
			best = e
		}
	}
	return best * float64(K) / (float64(K) + kHalf) * m.Params.GEMMPeakFraction
}

// calibrated is GEMMEfficiency corrected by the nearest measured GEMM, by
// distance in log M·batch, log N and log K.
func (m Model) calibrated(batch, M, N, K int) float64 {
	kHalf := m.trainingKHalf()
	eff := m.gemmEfficiency(batch, M, N, K, kHalf)
	if len(m.Measured) == 0 || m.Peak <= 0 {
		return eff
	}
	dist := func(g MeasuredGEMM) float64 {
		l := func(a, b float64) float64 { return math.Abs(math.Log(a / b)) }
		return l(float64(max(1, batch)*max(1, M)), float64(max(1, g.Batch)*max(1, g.M))) + l(float64(max(1, N)), float64(max(1, g.N))) + l(float64(max(1, K)), float64(max(1, g.K)))
	}
	best := m.Measured[0]
	for _, g := range m.Measured[1:] {
		if dist(g) < dist(best) {
			best = g
		}
	}
	modelled := m.gemmEfficiency(best.Batch, best.M, best.N, best.K, kHalf)
	if modelled <= 0 {
		return eff
	}
	measured := float64(best.Rate / m.Peak)
	return min(1, eff*measured/modelled)
}

func (m Model) kEfficiency(k int) float64 {
	return float64(k) / (float64(k) + m.Params.KHalf)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Sum returns the total time of ops, run back to back as one stream of
// kernels, and the part of it bound by each limiter.
//
// The host issues the kernels one after the other, HostIssue each (an op
// the framework launches as several kernels, Op.Launches, counts each; an
// op's calls that launch no kernel, Op.HostCalls, add HostCall each; a
// model.HostSync op adds its Op.Wait, the host blocked on the GPU), while
// the GPU runs those already issued: the run takes the longer of the two
// (the host and the GPU start the run together — the frameworks replayed
// synchronise them at every communication step). A run of kernels shorter
// than their issue leaves the GPU waiting for its host; that wait is
// returned in host and counted with the non-tensor-core part (hbm).
func (m Model) Sum(ops []model.Op) (total, tensor, hbm units.Seconds) {
	total, tensor, hbm, _ = m.SumHost(ops)
	return total, tensor, hbm
}

// SumHost is Sum with the time the GPU waits for its host to issue the
// kernels (included in total and hbm).
func (m Model) SumHost(ops []model.Op) (total, tensor, hbm, host units.Seconds) {
	for _, op := range ops {
		t, lim := m.Time(op)
		total += t
		if lim == TensorCores {
			tensor += t
		} else {
			hbm += t
		}
	}
	var issue units.Seconds
	for _, op := range ops {
		each := m.Params.HostIssue
		if op.IssueEach > 0 {
			each = op.IssueEach
		}
		issue += units.Seconds(op.Kernels())*each + units.Seconds(op.HostCalls)*m.Params.HostCall + op.Wait
	}
	if issue > total {
		host = issue - total
		total += host
		hbm += host
	}
	return total, tensor, hbm, host
}
