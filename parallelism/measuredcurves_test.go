package parallelism

import (
	"testing"

	"trainsim/topology"
	"trainsim/units"
)

// TestMeasuredCurvesBySystem: NCCL's measured all-reduce prices A100 nodes
// at NVLink 3's 300 GB/s, NCCL's measured all-to-all Blackwell systems at
// NVLink 5's 900 GB/s (DGX B200 and the GB200 NVL72 domain), XLA's measured
// all-reduce and all-to-all Hopper at NVLink 4's 450 GB/s (DGX H100, DGX
// H200, HGX H20); the H800's 200 GB/s keeps both formulas, and a scenario's
// own NVLink bus bandwidth or NVLink rate drops the measurement.
func TestMeasuredCurvesBySystem(t *testing.T) {
	bw := 600 * units.GBps
	tests := []struct {
		system         string
		nvlink         units.Bandwidth // 0: the preset's
		calibrated     bool
		allReduce, a2a bool
	}{
		{"dgx-a100-80gb", 0, false, true, false},
		{"dgx-h100", 0, false, true, true},
		{"hgx-h800", 0, false, false, false},
		{"dgx-h200", 0, false, true, true},
		{"hgx-h20", 0, false, true, true},
		{"dgx-h100", 0, true, false, false},
		{"dgx-h100", 400 * units.GBps, false, false, false},
		{"dgx-b200", 0, false, false, true},
		{"gb200-nvl72", 0, false, false, true},
		{"dgx-b200", 0, true, false, false},
		{"dgx-b200", 1800 * units.GBps, false, false, false},
	}
	for _, tc := range tests {
		s, ok := topology.SystemPreset(tc.system)
		if !ok {
			t.Fatalf("no %s preset", tc.system)
		}
		if tc.nvlink > 0 {
			s.NVLink.Bandwidth = tc.nvlink
		}
		j := Job{Cluster: topology.Cluster{System: s, Nodes: 1}}
		if tc.calibrated {
			j.Calibration.NVLinkBusBandwidth = &bw
		}
		p := collectiveParams(j)
		if got := p.NVLinkAllReduce != nil; got != tc.allReduce {
			t.Errorf("%s (NVLink %v, calibrated %v): measured all-reduce %v, want %v", tc.system, tc.nvlink, tc.calibrated, got, tc.allReduce)
		}
		if got := p.NVLinkAllToAll != nil; got != tc.a2a {
			t.Errorf("%s (NVLink %v, calibrated %v): measured all-to-all %v, want %v", tc.system, tc.nvlink, tc.calibrated, got, tc.a2a)
		}
	}
}
