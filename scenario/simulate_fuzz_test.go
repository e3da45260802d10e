package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/scenarios"
)

// FuzzLoadAndSimulate drives the whole path a user's scenario takes — the
// embedded default with --set overrides of the layout, model size, precision,
// attention, overlaps, network fidelity, hardware figures (peaks, bandwidths,
// latencies, HBM), stragglers and a [job] table —
// through Load, Validate, Simulate and the whole run. Any combination is either refused by Load or Validate with an
// error list or replays
// without an error, to a positive, finite step whose breakdown adds up and a
// report that Build accepts (no NaN, Inf, negative bubble or MFU above 1)
// and JSON encodes.
// Replays above 300k tasks are skipped to keep each execution short.
func FuzzLoadAndSimulate(f *testing.F) {
	f.Add(uint8(8), uint8(16), uint8(1), uint8(2), uint8(96), uint8(1), uint8(1), uint8(2), uint8(0), uint8(0), false, false, false, uint8(0), uint16(0), uint8(0), 0.0, 0.0, 0.0)
	f.Add(uint8(4), uint8(4), uint8(2), uint8(4), uint8(24), uint8(2), uint8(2), uint8(1), uint8(3), uint8(1), true, true, true, uint8(1), uint16(100), uint8(0), 0.0, 0.0, 0.0)
	f.Add(uint8(1), uint8(2), uint8(1), uint8(1), uint8(8), uint8(0), uint8(0), uint8(0), uint8(1), uint8(2), true, false, true, uint8(3), uint16(5), uint8(0), 0.0, 0.0, 0.0)
	// The hardware figures of the issue: a peak of 312 FLOP/s in flow mode,
	// a latency of 1e10 s, a peak of 1e-300 FLOP/s.
	f.Add(uint8(1), uint8(2), uint8(1), uint8(1), uint8(8), uint8(0), uint8(0), uint8(0), uint8(1), uint8(1), false, false, true, uint8(0), uint16(0), uint8(1), 312.0, 1.0, 1.0)
	f.Add(uint8(1), uint8(2), uint8(1), uint8(1), uint8(8), uint8(0), uint8(0), uint8(0), uint8(1), uint8(1), false, false, false, uint8(0), uint16(0), uint8(8), 1.0, 1.0, 1e10)
	f.Add(uint8(1), uint8(2), uint8(1), uint8(1), uint8(8), uint8(0), uint8(0), uint8(0), uint8(1), uint8(1), false, false, false, uint8(0), uint16(0), uint8(1), 1e-300, 1.0, 1.0)
	_, def := scenarios.Default()
	f.Fuzz(func(t *testing.T, tp, pp, mb, batchPerDP, layers, sched, rec, v, zero, prec uint8, flash, sp, flow bool, slow uint8, mtbf uint16, hw uint8, peak, bw, lat float64) {
		schedule := []string{"gpipe", "1f1b", "interleaved"}[int(sched)%3]
		sets := []string{
			fmt.Sprintf("cluster.nodes=%d", 1+int(tp)%4),
			"parallelism.dp=", // filled below
			fmt.Sprintf("parallelism.tp=%d", 1<<(int(tp)%4)),
			fmt.Sprintf("parallelism.pp=%d", 1+int(pp)%8),
			fmt.Sprintf("parallelism.microbatch=%d", 1+int(mb)%4),
			fmt.Sprintf("model.layers=%d", 1+int(layers)%48),
			fmt.Sprintf("parallelism.schedule=%s", schedule),
			fmt.Sprintf("parallelism.recompute=%s", []string{"none", "selective", "full"}[int(rec)%3]),
			fmt.Sprintf("parallelism.zero=%d", int(zero)%4),
			fmt.Sprintf("training.precision=%s", []string{"fp16", "bf16", "fp8"}[int(prec)%3]),
			fmt.Sprintf("parallelism.sequence_parallel=%v", sp),
			fmt.Sprintf("parallelism.overlap_grad_reduce=%v", sp != flash),
			fmt.Sprintf("parallelism.tp_overlap=%v", flash),
			fmt.Sprintf("parallelism.pp_overlap=%v", sp),
		}
		if schedule == "interleaved" {
			sets = append(sets, fmt.Sprintf("parallelism.virtual_stages=%d", 2+int(v)%3))
		}
		if flash {
			sets = append(sets, "training.attention=flash", "cluster.system=dgx-h100")
		}
		if flow {
			sets = append(sets, "simulation.network=flow")
		}
		if slow%4 > 0 {
			sets = append(sets, fmt.Sprintf("job.straggler_fraction=%g", 0.1*float64(slow%4)), "job.straggler_slowdown=0.3", fmt.Sprintf("seed=%d", slow))
		}
		if mtbf > 0 {
			sets = append(sets, fmt.Sprintf("job.gpu_mtbf=%dh", 10+int(mtbf)), "job.runs=20", "training.tokens=1e9")
		}
		// Hardware figures, each bit of hw one key: peaks in FLOP/s,
		// bandwidths in B/s, latencies in s, HBM in bytes, any float the
		// fuzzer picks (written with %g, so NaN and Inf are refused by the
		// reader and the rest reach the physical ranges).
		for i, hk := range []struct {
			key, unit string
			x         float64
		}{
			{"cluster.gpu.peak", "FLOP/s", peak}, {"cluster.gpu.peak_fp8", "FLOP/s", peak * 3},
			{"cluster.gpu.hbm_bandwidth", "B/s", bw}, {"cluster.network.latency", "s", lat},
			{"cluster.nvlink.bandwidth", "B/s", bw / 7}, {"cluster.network.nic_bandwidth", "B/s", bw / 80},
			{"cluster.nvlink.latency", "s", lat / 3}, {"cluster.gpu.hbm", "B", bw * lat},
		} {
			if hw&(1<<i) != 0 {
				sets = append(sets, fmt.Sprintf("%s=%g%s", hk.key, hk.x, hk.unit))
			}
		}
		// dp from the GPUs left; the batch a multiple of dp × micro-batch.
		gpus := 8 * (1 + int(tp)%4)
		tpv, ppv := 1<<(int(tp)%4), 1+int(pp)%8
		dp := gpus / (tpv * ppv)
		if dp < 1 || gpus%(tpv*ppv) != 0 {
			dp = 1
		}
		sets[1] = fmt.Sprintf("parallelism.dp=%d", dp)
		sets = append(sets, fmt.Sprintf("training.global_batch=%d", dp*(1+int(mb)%4)*(1+int(batchPerDP)%16)))
		sc, err := Load("default.toml", def, sets)
		if err != nil {
			return
		}
		res := simulateChecked(t, sc, fmt.Sprint(sets))
		if res == nil {
			return
		}
		step := float64(res.StepTime)
		if st := res.Stragglers; st != nil && !(st.UniformStep > 0 && st.UniformStep <= step*(1+1e-12)) {
			t.Fatalf("%v: uniform step %v, step %v", sets, st.UniformStep, step)
		}
		whole, _, err := sc.RunWhole(res)
		if err != nil {
			t.Fatalf("%v: whole run: %v", sets, err)
		}
		if whole != nil {
			q := whole.Quantiles
			if !(whole.Goodput > 0 && whole.Goodput <= 1) || !(q[0].Value <= q[1].Value && q[1].Value <= q[2].Value) || math.IsNaN(float64(whole.Mean)) {
				t.Fatalf("%v: whole run %+v", sets, whole)
			}
		}
	})
}

// simulateChecked validates, replays and reports sc and fails t (label
// saying which input) on an error of the replay or the report, a step time
// that is not a positive finite number, or a breakdown that does not add up
// to the step. It returns nil, checking nothing, for a scenario Validate
// refuses or one too large to replay quickly.
func simulateChecked(t *testing.T, sc *Scenario, label string) *parallelism.Result {
	t.Helper()
	valid, err := sc.Validate()
	if err != nil || sc.Job.ReplayTasks() > 3e5 {
		return nil
	}
	res, err := parallelism.Simulate(valid)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	step := float64(res.StepTime)
	if !(step > 0) || math.IsInf(step, 0) || math.IsNaN(step) {
		t.Fatalf("%s: step %v", label, res.StepTime)
	}
	bd := res.Breakdown
	sum := float64(bd.Compute + bd.Recompute + bd.TP + bd.PP + bd.DP + bd.CP + bd.EP + bd.Optimizer + bd.Bubble)
	if math.Abs(sum-step) > 1e-6*step {
		t.Fatalf("%s: breakdown %v ≠ step %v", label, sum, step)
	}
	rep, err := report.Build(report.Input{Name: sc.Name, Seed: sc.Seed, Job: sc.Job}, res)
	if err != nil {
		t.Fatalf("%s: report: %v", label, err)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatalf("%s: JSON: %v", label, err)
	}
	return res
}
