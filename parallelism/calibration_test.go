package parallelism

import (
	"testing"

	"trainsim/compute"
	"trainsim/units"
)

// TestCalibrationOver merges a calibration file under a scenario's own keys:
// each key the scenario sets wins, each it leaves unset comes from the file,
// and a scenario's list of measured GEMMs replaces the file's.
func TestCalibrationOver(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	sms := 12
	over := units.Seconds(5e-6)
	nic := units.Bandwidth(23e9)
	file := Calibration{
		GEMMPeakFraction: f(0.7), HBMFraction: f(0.8), KernelOverhead: &over, NICBusBandwidth: &nic,
		GEMMs: []compute.MeasuredGEMM{{Batch: 1, M: 1, N: 1, K: 1, Rate: 1e12}, {Batch: 1, M: 2, N: 2, K: 2, Rate: 1e12}},
	}
	scen := Calibration{GEMMPeakFraction: f(0.75), CommSMs: &sms, File: "site.toml",
		GEMMs: []compute.MeasuredGEMM{{Batch: 1, M: 3, N: 3, K: 3, Rate: 2e12}}}
	got := scen.Over(file)
	if *got.GEMMPeakFraction != 0.75 || *got.HBMFraction != 0.8 || *got.CommSMs != 12 ||
		*got.KernelOverhead != over || *got.NICBusBandwidth != nic || got.FlashFraction != nil ||
		got.NVLinkBusBandwidth != nil || len(got.GEMMs) != 1 || got.GEMMs[0].M != 3 || got.File != "site.toml" {
		t.Fatalf("merged %+v", got)
	}
	if g := (Calibration{}).Over(file); len(g.GEMMs) != 2 || *g.GEMMPeakFraction != 0.7 {
		t.Fatalf("empty scenario over file: %+v", g)
	}
	if (Calibration{File: "x"}).Set() || !got.Set() {
		t.Fatal("Set: a file name alone is no calibration; merged values are")
	}
}
