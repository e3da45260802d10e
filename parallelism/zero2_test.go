package parallelism

import (
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// TestZeRO2BlockingReduceScatter: ZeRO-2 without overlap_grad_reduce
// reduce-scatters each micro-batch's gradients on the compute stream
// (DeepSpeed's overlap_comm false) and all-gathers the weights after the
// optimizer, blocking: every data-parallel byte is exposed. By hand, on
// GPT-3 1.3B over DP 8 of a DGX H100 with 4 micro-batches: (4
// reduce-scatters + 1 all-gather) × 7/8 × 2 B × the parameters, over a
// GPU's NVLink per direction at most, over the collective model's 78% of it
// plus 20 µs of latency per call (26 a pass: 24 layers and 2 tables) at
// least (the H100 node prices collectives by that formula; an A100 node
// takes measured all-reduce times instead). Overlapped, almost all of it
// hides behind the backward pass.
func TestZeRO2BlockingReduceScatter(t *testing.T) {
	m, ok := model.Preset("gpt3-1.3b")
	if !ok {
		t.Fatal("no gpt3-1.3b preset")
	}
	sys, ok := topology.SystemPreset("dgx-h100")
	if !ok {
		t.Fatal("no dgx-h100 preset")
	}
	const dp, micro = 8, 4
	run := func(overlap bool) *Result {
		t.Helper()
		j := Job{
			Model: m, Cluster: topology.Cluster{System: sys, Nodes: 1},
			Layout: Layout{TP: 1, PP: 1, DP: dp, CP: 1, EP: 1, VirtualStages: 1, Microbatch: 1, Schedule: OneFOneB,
				Recompute: RecomputeFull, ZeRO: 2, OverlapGradReduce: overlap},
			Training: Training{GlobalBatch: dp * micro, Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash},
			Options:  Options{Network: NetworkAnalytical, Ranks: RanksSymmetric},
		}
		v, errs := j.Validate()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		r, err := Simulate(v)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	over, block := run(true), run(false)
	bytes := float64(micro+1) * float64(dp-1) / dp * 2 * float64(m.Params())
	nvlink := float64(sys.NVLink.Bandwidth)
	lo := bytes / nvlink
	hi := bytes/(0.78*nvlink) + float64(micro+1)*26*20e-6
	if d := float64(block.Breakdown.DP); d < lo || d > hi {
		t.Errorf("blocking ZeRO-2: %.4g s of data-parallel communication exposed, want from %.4g to %.4g s (its bytes over NVLink)", d, lo, hi)
	}
	if d := float64(over.Breakdown.DP); d > 0.1*lo {
		t.Errorf("overlapped ZeRO-2: %.4g s exposed, want under a tenth of the blocking bound %.4g s", d, lo)
	}
	if !(block.StepTime > over.StepTime+units.Seconds(0.8*lo)) {
		t.Errorf("blocking step %s, overlapped %s: want longer by most of %.4g s", block.StepTime, over.StepTime, lo)
	}
}

// TestZeRO1AllReduce: with parallelism.zero1_allreduce a ZeRO-1 layout
// reduces its fp32 gradients with an all-reduce (DeepSpeed's
// BF16_Optimizer) instead of a reduce-scatter; an all-reduce is a
// reduce-scatter and an all-gather of the same bytes, so the exposed
// data-parallel time grows by one more pass of the gradients: by hand,
// 7/8 × 4 B × the parameters of GPT-3 1.3B over DP 8 on a DGX H100, between
// that over a GPU's NVLink per direction and over the collective model's
// 78% of it plus latencies (26 calls of 20 µs). The flag changes nothing
// without ZeRO-1.
func TestZeRO1AllReduce(t *testing.T) {
	m, ok := model.Preset("gpt3-1.3b")
	if !ok {
		t.Fatal("no gpt3-1.3b preset")
	}
	sys, ok := topology.SystemPreset("dgx-h100")
	if !ok {
		t.Fatal("no dgx-h100 preset")
	}
	const dp = 8
	run := func(zero int, allReduce bool) *Result {
		t.Helper()
		j := Job{
			Model: m, Cluster: topology.Cluster{System: sys, Nodes: 1},
			Layout: Layout{TP: 1, PP: 1, DP: dp, CP: 1, EP: 1, VirtualStages: 1, Microbatch: 1, Schedule: OneFOneB,
				Recompute: RecomputeFull, ZeRO: zero, ZeRO1AllReduce: allReduce},
			Training: Training{GlobalBatch: dp, Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash},
			Options:  Options{Network: NetworkAnalytical, Ranks: RanksSymmetric},
		}
		v, errs := j.Validate()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		r, err := Simulate(v)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rs, ar := run(1, false), run(1, true)
	extra := float64(dp-1) / dp * 4 * float64(m.Params())
	nvlink := float64(sys.NVLink.Bandwidth)
	lo, hi := extra/nvlink, extra/(0.78*nvlink)+26*20e-6
	if d := float64(ar.Breakdown.DP - rs.Breakdown.DP); d < lo || d > hi {
		t.Errorf("ZeRO-1 all-reduce: %.4g s more data-parallel communication than the reduce-scatter, want from %.4g to %.4g s", d, lo, hi)
	}
	if a, b := run(0, false), run(0, true); a.StepTime != b.StepTime {
		t.Errorf("ZeRO-0: step %s with zero1_allreduce, %s without: want no effect", b.StepTime, a.StepTime)
	}
}

// TestZeROFP32Reduce: with parallelism.zero_fp32_reduce (PyTorch FSDP's
// reduce_dtype float32) ZeRO-2/3 reduce-scatter each micro-batch's
// gradients in 4 bytes instead of 2. By hand, blocking ZeRO-2 on GPT-3 1.3B
// over DP 8 of a DGX H100 with 4 micro-batches: the exposed data-parallel
// time grows by 4 reduce-scatters × 7/8 × 2 B more × the parameters,
// between that over a GPU's NVLink per direction and over the collective
// model's 78% of it (the calls and their latencies are the same). The
// flag changes nothing with ZeRO-1.
func TestZeROFP32Reduce(t *testing.T) {
	m, ok := model.Preset("gpt3-1.3b")
	if !ok {
		t.Fatal("no gpt3-1.3b preset")
	}
	sys, ok := topology.SystemPreset("dgx-h100")
	if !ok {
		t.Fatal("no dgx-h100 preset")
	}
	const dp, micro = 8, 4
	run := func(zero int, fp32 bool) *Result {
		t.Helper()
		j := Job{
			Model: m, Cluster: topology.Cluster{System: sys, Nodes: 1},
			Layout: Layout{TP: 1, PP: 1, DP: dp, CP: 1, EP: 1, VirtualStages: 1, Microbatch: 1, Schedule: OneFOneB,
				Recompute: RecomputeFull, ZeRO: zero, ZeROFP32Reduce: fp32},
			Training: Training{GlobalBatch: dp * micro, Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash},
			Options:  Options{Network: NetworkAnalytical, Ranks: RanksSymmetric},
		}
		v, errs := j.Validate()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		r, err := Simulate(v)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	b16, b32 := run(2, false), run(2, true)
	extra := float64(micro) * float64(dp-1) / dp * 2 * float64(m.Params())
	nvlink := float64(sys.NVLink.Bandwidth)
	lo, hi := extra/nvlink, extra/(0.78*nvlink)
	if d := float64(b32.Breakdown.DP - b16.Breakdown.DP); d < lo || d > hi*1.001 {
		t.Errorf("fp32 reduce-scatter: %.4g s more data-parallel communication exposed, want from %.4g to %.4g s", d, lo, hi)
	}
	if z1, z1f := run(1, false), run(1, true); z1.StepTime != z1f.StepTime {
		t.Errorf("ZeRO-1: step %s with zero_fp32_reduce, %s without: want no change", z1f.StepTime, z1.StepTime)
	}
}
