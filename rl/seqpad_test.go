package rl

import (
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
	"trainsim/units"
)

func TestSeqMultiple(t *testing.T) {
	dense, moe := model.Config{}, model.Config{Experts: 8, TopK: 2}
	tests := []struct {
		name   string
		tp, cp int
		sp     bool
		m      model.Config
		want   int
	}{
		{"nothing divides", 1, 1, false, dense, 1},
		{"tp without sequence parallelism", 8, 1, false, dense, 1},
		{"sequence parallelism", 8, 1, true, dense, 8},
		{"odd tp, sequence parallelism", 3, 1, true, dense, 3},
		{"context parallelism", 1, 2, false, dense, 4},
		{"cp and sp: cp × lcm(2, tp)", 8, 2, true, dense, 16},
		{"cp and odd tp", 3, 2, true, dense, 12},
		{"mixture of experts needs tp", 4, 1, false, moe, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := parallelism.Layout{TP: tt.tp, CP: tt.cp, SequenceParallel: tt.sp}
			d := SeqMultiple(l, tt.m)
			if d != tt.want {
				t.Fatalf("SeqMultiple = %d, want %d", d, tt.want)
			}
			// Every multiple of it passes the layout's checks.
			for _, n := range []int{d, 7 * d} {
				if tt.cp > 1 && n%(2*tt.cp) != 0 || (tt.sp || tt.m.Experts > 0) && (n/tt.cp)%tt.tp != 0 {
					t.Errorf("%d (a multiple of %d) fails the layout's divisibility", n, d)
				}
			}
		})
	}
}

// TestPackPadding: prompt + response_max that tp does not divide is padded
// up to a multiple of tp under sequence parallelism (it was refused, naming
// parallelism.sequence_parallel), and left alone where it divides.
func TestPackPadding(t *testing.T) {
	m, _ := model.Preset("llama3-8b")
	sys, _ := topology.SystemPreset("dgx-h100")
	j := parallelism.Job{
		Model: m, Cluster: topology.Cluster{System: sys, Nodes: 2},
		Layout: parallelism.Layout{TP: 4, PP: 1, DP: 4, CP: 1, EP: 1, Microbatch: 1, VirtualStages: 1, SequenceParallel: true,
			Schedule: parallelism.OneFOneB, Recompute: parallelism.RecomputeFull, ZeRO: 1, OverlapGradReduce: true, PPOverlap: true},
		Training: parallelism.Training{GlobalBatch: 4, Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash},
		Options:  parallelism.Options{Network: parallelism.NetworkAnalytical, Ranks: parallelism.RanksSymmetric},
	}
	v, errs := j.Validate()
	if len(errs) > 0 {
		t.Fatalf("job: %v", errs)
	}
	tests := []struct {
		respMax, wantSeq int
		note             bool
	}{
		{1024, 1152, false}, // 128 + 1024 = 1152 = 288 × 4
		{1023, 1152, true},  // 1151 → 1152
		{1021, 1152, true},  // 1149 → 1152
		{1025, 1156, true},  // 1153 → 1156
	}
	for _, tt := range tests {
		c := grpo()
		c.GenTP = 4
		c.ResponseMax = tt.respMax
		r, err := Run(v, c)
		if err != nil {
			t.Fatalf("response_max %d: %v", tt.respMax, err)
		}
		if got := r.TrainJob.Model.SeqLen; got != tt.wantSeq {
			t.Errorf("response_max %d: training seq_len %d, want %d", tt.respMax, got, tt.wantSeq)
		}
		noted := false
		for _, n := range r.Notes {
			noted = noted || strings.HasPrefix(n, "padding:")
		}
		if noted != tt.note {
			t.Errorf("response_max %d: padding note %v, want %v (notes %q)", tt.respMax, noted, tt.note, r.Notes)
		}
	}
}
