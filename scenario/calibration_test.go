package scenario

import (
	"errors"
	"strings"
	"testing"

	"trainsim/units"
)

// TestLoadCalibration reads calibration files: the keys of a scenario's
// [calibration] table, and every problem named by file, line and key.
func TestLoadCalibration(t *testing.T) {
	good := `# a site's measurements
[calibration]
gemm_peak_fraction = 0.74
nic_busbw = "23.5GB/s"
kernel_overhead = "5us"

[[calibration.gemm]]
m = 2048
n = 4608
k = 12288
tflops = "200TFLOP/s"
`
	c, err := LoadCalibration("site.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.GEMMPeakFraction == nil || *c.GEMMPeakFraction != 0.74 ||
		c.NICBusBandwidth == nil || *c.NICBusBandwidth != 23.5e9 ||
		c.KernelOverhead == nil || *c.KernelOverhead != 5*units.Microsecond ||
		len(c.GEMMs) != 1 || c.GEMMs[0].K != 12288 || c.GEMMs[0].Batch != 1 ||
		c.HBMFraction != nil || c.CommSMs != nil || c.File != "" {
		t.Fatalf("decoded %+v", c)
	}

	bad := []struct {
		name, src string
		want      []string // substrings of the error
	}{
		{"unknown key", "[calibration]\ngemm_peak_fraction = 0.7\ngemm_fraction = 0.7\n", []string{"site.toml:3", "calibration.gemm_fraction", "unknown key", "did you mean"}},
		{"other table", "[model]\nlayers = 2\n[calibration]\nhbm_fraction = 0.8\n", []string{"site.toml:1", "model", "only a [calibration] table"}},
		{"top-level key", "gemm_peak_fraction = 0.7\n", []string{"site.toml:1", "gemm_peak_fraction", "only a [calibration] table"}},
		{"names another file", "[calibration]\nfile = \"other.toml\"\n", []string{"site.toml:2", "calibration.file", "cannot name another"}},
		{"wrong kind", "[calibration]\ncomm_sms = \"eight\"\n", []string{"site.toml:2", "calibration.comm_sms"}},
		{"bad unit", "[calibration]\nnic_busbw = \"23 parsecs\"\n", []string{"site.toml:2", "calibration.nic_busbw"}},
		{"syntax", "[calibration\n", []string{"site.toml:2", "invalid TOML"}},
		{"empty", "# nothing\n", []string{"site.toml", "no [calibration] table"}},
		{"not a table", "calibration = 3\n", []string{"site.toml:1", "want a table"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCalibration("site.toml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("%v is not an ErrorList", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestCalibrationFileKey checks calibration.file in a scenario: kept as
// written for the loader at the edge, and an empty path refused.
func TestCalibrationFileKey(t *testing.T) {
	sc, err := Load("s.toml", []byte(base+"\n[calibration]\nfile = \"site.toml\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Job.Calibration.File != "site.toml" {
		t.Fatalf("calibration.file = %q", sc.Job.Calibration.File)
	}
	_, err = Load("s.toml", []byte(base), []string{`calibration.file=""`})
	if err == nil || !strings.Contains(err.Error(), "calibration.file") || !strings.Contains(err.Error(), "empty path") {
		t.Fatalf("empty calibration.file: %v", err)
	}
}

func FuzzLoadCalibration(f *testing.F) {
	f.Add("[calibration]\ngemm_peak_fraction = 0.7\n[[calibration.gemm]]\nm = 1\nn = 2\nk = 3\ntflops = \"1TFLOP/s\"\n")
	f.Add("[calibration]\nfile = \"x\"\n")
	f.Add("[[calibration]]\n")
	f.Add("calibration = { comm_sms = -1 }\n")
	f.Add("[calibration\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := LoadCalibration("c.toml", []byte(src))
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a non-empty ErrorList", err)
			}
			if c.Set() {
				t.Fatalf("values returned with an error")
			}
			return
		}
		if c.File != "" {
			t.Fatalf("a calibration file named another: %q", c.File)
		}
	})
}

// TestMergeCalibration: Load leaves validation to Validate, which runs once
// after the calibration file is merged and places each problem where its
// value came from: the scenario's own key at its line, the file's at the
// file's line, the file's problems after the scenario's.
func TestMergeCalibration(t *testing.T) {
	src := base + "\n[calibration]\nfile = \"site/a100.toml\"\nnvlink_busbw = \"400GB/s\"\ngemm_peak_fraction = 0.72\n"
	sc, err := Load("s.toml", []byte(src), nil)
	if err != nil {
		t.Fatalf("Load validated before the merge: %v", err)
	}
	site := "[calibration]\nnic_busbw = \"90GB/s\"\ngemm_peak_fraction = 0.7\nhbm_fraction = 0.8\n"
	if err := sc.MergeCalibration("site/a100.toml", []byte(site)); err != nil {
		t.Fatal(err)
	}
	c := sc.Job.Calibration
	if *c.GEMMPeakFraction != 0.72 || *c.HBMFraction != 0.8 || c.File != "site/a100.toml" {
		t.Errorf("merged calibration: gemm_peak_fraction %v (want the scenario's 0.72), hbm_fraction %v (want the file's 0.8), file %q",
			*c.GEMMPeakFraction, *c.HBMFraction, c.File)
	}
	_, err = sc.Validate()
	want := "s.toml:19: calibration.nvlink_busbw: must be at least 0.1 GB/s and at most the NVLink rate (300 GB/s), got 400 GB/s\n" +
		"site/a100.toml:2: calibration.nic_busbw: must be at least 0.1 GB/s and at most the NIC rate (25 GB/s), got 90 GB/s"
	if err == nil || err.Error() != want {
		t.Errorf("Validate:\n%v\nwant:\n%s", err, want)
	}
	if err := sc.MergeCalibration("site/bad.toml", []byte("[calibration]\nnic_bus = 1\n")); err == nil ||
		!strings.Contains(err.Error(), "site/bad.toml:2: calibration.nic_bus: unknown key") {
		t.Errorf("a bad calibration file: %v", err)
	}
}
