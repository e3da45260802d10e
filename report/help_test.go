package report

import (
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
	"trainsim/units"
)

// TestHelp: what would help is read from the breakdown and the layout: a
// lever is offered only where the scenario leaves room for it, with the
// share of the step it acts on.
func TestHelp(t *testing.T) {
	a100, _ := topology.GPUPreset("a100-80gb")
	h100, _ := topology.GPUPreset("h100-sxm")
	job := func(edit func(*parallelism.Job)) parallelism.Job {
		var j parallelism.Job
		j.Cluster.GPU = a100
		j.Cluster.Network.Oversubscription = 4
		j.Layout = parallelism.Layout{TP: 8, PP: 4, DP: 2, Microbatch: 1, Schedule: parallelism.OneFOneB, Recompute: parallelism.RecomputeFull}
		j.Training = parallelism.Training{GlobalBatch: 64, Precision: units.BF16, Attention: model.AttentionFlash}
		if edit != nil {
			edit(&j)
		}
		return j
	}
	for _, c := range []struct {
		what       string
		res        string
		bd         parallelism.Breakdown
		j          parallelism.Job
		want, lack []string
	}{
		{"compute, full recompute 20%", "compute", parallelism.Breakdown{Recompute: 2}, job(nil),
			[]string{"less recomputation (recompute takes 20.0%: selective instead of full", "a larger micro-batch (1 now"}, []string{"FP8"}},
		{"compute, little recompute", "compute", parallelism.Breakdown{Recompute: 0.2}, job(nil), nil, []string{"recomputation"}},
		{"compute on H100 in bf16", "compute", parallelism.Breakdown{}, job(func(j *parallelism.Job) { j.Cluster.GPU = h100 }), []string{"FP8 GEMMs"}, nil},
		{"compute on H100 in fp8", "compute", parallelism.Breakdown{}, job(func(j *parallelism.Job) { j.Cluster.GPU = h100; j.Training.Precision = units.FP8 }), nil, []string{"FP8"}},
		{"hbm, unfused attention", "hbm", parallelism.Breakdown{}, job(func(j *parallelism.Job) { j.Training.Attention = model.AttentionUnfused }), []string{"flash attention"}, nil},
		{"hbm, flash already", "hbm", parallelism.Breakdown{}, job(nil), []string{"a larger micro-batch"}, []string{"flash attention", "grad_accum_fusion", "eager_elementwise"}},
		{"hbm, eager element-wise", "hbm", parallelism.Breakdown{}, job(func(j *parallelism.Job) { j.Training.Eager = true }), []string{"training.eager_elementwise = false"}, nil},
		{"hbm, unfused grad accumulation", "hbm", parallelism.Breakdown{}, job(func(j *parallelism.Job) { j.Training.UnfusedGradAccum = true }), []string{"gradient-accumulation fusion"}, nil},
		{"nvlink, no overlap", "nvlink", parallelism.Breakdown{TP: 5}, job(nil), []string{"parallelism.tp_overlap; TP comm exposed: 50.0%", "a lower tp (TP 8)"}, nil},
		{"nvlink, overlapped", "nvlink", parallelism.Breakdown{TP: 5}, job(func(j *parallelism.Job) { j.Layout.TPOverlap = true }), []string{"a lower tp"}, []string{"tp_overlap"}},
		{"nic, DP not overlapped", "nic", parallelism.Breakdown{DP: 3, PP: 1}, job(nil), []string{"overlap_grad_reduce; DP comm exposed: 30.0%", "faster or more NICs"}, []string{"pp_overlap"}},
		{"nic, DP overlapped", "nic", parallelism.Breakdown{DP: 3}, job(func(j *parallelism.Job) { j.Layout.OverlapGradReduce = true }), []string{"amortise the gradient reduction"}, []string{"overlap_grad_reduce"}},
		{"nic, PP blocking", "nic", parallelism.Breakdown{PP: 2, DP: 1}, job(nil), []string{"parallelism.pp_overlap; PP comm exposed: 20.0%"}, []string{"DP comm"}},
		{"leaf-spine", "leaf-spine", parallelism.Breakdown{DP: 3}, job(nil), []string{"a less oversubscribed fabric (4:1)"}, []string{"NICs"}},
		{"bubble, 1F1B", "pipeline-bubble", parallelism.Breakdown{Bubble: 4}, job(nil),
			[]string{"more micro-batches per step (32 now for 4 stages", "the interleaved schedule", "fewer pipeline stages (PP 4)"}, nil},
		{"bubble, interleaved", "pipeline-bubble", parallelism.Breakdown{Bubble: 4}, job(func(j *parallelism.Job) { j.Layout.Schedule = parallelism.Interleaved; j.Layout.VirtualStages = 2 }),
			[]string{"more micro-batches"}, []string{"interleaved"}},
	} {
		got := help(c.res, c.bd, 10, c.j)
		for _, s := range c.want {
			if !strings.Contains(got, s) {
				t.Errorf("%s: %q lacks %q", c.what, got, s)
			}
		}
		for _, s := range c.lack {
			if strings.Contains(got, s) {
				t.Errorf("%s: %q has %q", c.what, got, s)
			}
		}
	}
}
