package topology

import (
	"math"
	"sort"
	"testing"

	"trainsim/units"
)

// TestRequiredPresets checks the names of the presets the user contract
// requires (docs/scenario.md).
func TestRequiredPresets(t *testing.T) {
	for _, n := range []string{"a100-80gb", "a100-40gb", "h100-sxm", "h200"} {
		if g, ok := GPUPreset(n); !ok || g.Name != n {
			t.Errorf("GPUPreset(%q) = %q, %v; a required preset", n, g.Name, ok)
		}
	}
	for _, n := range []string{"dgx-a100-80gb", "dgx-a100-40gb", "dgx-h100", "dgx-h200"} {
		if s, ok := SystemPreset(n); !ok || s.Name != n {
			t.Errorf("SystemPreset(%q) = %q, %v; a required preset", n, s.Name, ok)
		}
	}
	if _, ok := GPUPreset("no-such-gpu"); ok {
		t.Error("GPUPreset(\"no-such-gpu\") reported ok")
	}
	if _, ok := SystemPreset("no-such-system"); ok {
		t.Error("SystemPreset(\"no-such-system\") reported ok")
	}
}

func TestPresetNamesSortedAndUnique(t *testing.T) {
	for kind, names := range map[string][]string{"GPU": GPUPresetNames(), "system": SystemPresetNames()} {
		if !sort.StringsAreSorted(names) {
			t.Errorf("%s preset names are not sorted: %v", kind, names)
		}
		for i := 1; i < len(names); i++ {
			if names[i] == names[i-1] {
				t.Errorf("%s preset %q appears twice", kind, names[i])
			}
		}
	}
	for i, g := range GPUPresets() {
		if g.Name != GPUPresetNames()[i] {
			t.Errorf("GPUPresets()[%d] = %q, want %q", i, g.Name, GPUPresetNames()[i])
		}
	}
	for i, s := range SystemPresets() {
		if s.Name != SystemPresetNames()[i] {
			t.Errorf("SystemPresets()[%d] = %q, want %q", i, s.Name, SystemPresetNames()[i])
		}
	}
}

func TestPresetsAreFresh(t *testing.T) {
	g, _ := GPUPreset("h100-sxm")
	g.PeakDense16 = 0
	GPUPresets()[0].HBM = 0
	s, _ := SystemPreset("dgx-h100")
	s.GPU.PeakDense16 = 0
	s.Network.NICsPerNode = 0
	SystemPresets()[0].GPUsPerNode = 0

	if g2, _ := GPUPreset("h100-sxm"); g2.PeakDense16 == 0 {
		t.Error("changing a GPUPreset result changed the table")
	}
	if GPUPresets()[0].HBM == 0 {
		t.Error("changing a GPUPresets element changed the table")
	}
	if s2, _ := SystemPreset("dgx-h100"); s2.GPU.PeakDense16 == 0 || s2.Network.NICsPerNode == 0 {
		t.Error("changing a SystemPreset result changed the table")
	}
	if SystemPresets()[0].GPUsPerNode == 0 {
		t.Error("changing a SystemPresets element changed the table")
	}
}

func TestGPUPresets(t *testing.T) {
	families := map[string]bool{"ampere": true, "hopper": true, "blackwell": true}
	for _, g := range GPUPresets() {
		t.Run(g.Name, func(t *testing.T) {
			if !families[g.Family] {
				t.Errorf("family %q is not one of ampere, hopper, blackwell", g.Family)
			}
			if g.PeakDense16 <= 0 || g.HBM <= 0 || g.HBMBandwidth <= 0 || g.SMs <= 0 {
				t.Errorf("non-positive figure: peak16 %v, HBM %v, HBM bandwidth %v, SMs %d", g.PeakDense16, g.HBM, g.HBMBandwidth, g.SMs)
			}
			if g.PeakDenseFP8 < 0 {
				t.Errorf("negative FP8 peak %v", g.PeakDenseFP8)
			}
			if g.Source == "" {
				t.Error("Source is empty")
			}
			// Every tensor-core generation here doubles the 16-bit rate in FP8.
			if g.PeakDenseFP8 > 0 && math.Abs(float64(g.PeakDenseFP8)/float64(g.PeakDense16)-2) > 0.01 {
				t.Errorf("FP8 peak %v is not twice the 16-bit peak %v", g.PeakDenseFP8, g.PeakDense16)
			}
		})
	}
}

func TestPeakPerPrecision(t *testing.T) {
	tests := []struct {
		gpu      string
		p        units.Precision
		wantTF   float64 // 0 with ok=false: not supported
		wantOK   bool
		citation string
	}{
		{"a100-40gb", units.BF16, 312, true, "A100 datasheet"},
		{"a100-80gb", units.FP16, 312, true, "A100 datasheet"},
		{"a100-80gb", units.BF16, 312, true, "A100 datasheet"},
		{"a100-80gb", units.FP8, 0, false, "A100 has no FP8 tensor cores"},
		{"a100-40gb", units.FP8, 0, false, "A100 has no FP8 tensor cores"},
		{"h100-sxm", units.BF16, 989.4, true, "H100 whitepaper, dense"},
		{"h100-sxm", units.FP8, 1978.9, true, "H100 whitepaper, dense"},
		{"h200", units.BF16, 989.4, true, "H200 brief (H100 compute)"},
		{"h800", units.BF16, 989.4, true, "H800 brief (H100 compute)"},
		{"h800", units.FP8, 1978.9, true, "H800 brief (H100 compute)"},
		{"h200", units.FP8, 1978.9, true, "H200 brief (H100 compute)"},
		{"h20", units.BF16, 148, true, "HGX H20 brief as reproduced: H100 SXM 6.68x in FP16"},
		{"h20", units.FP16, 148, true, "HGX H20 brief as reproduced"},
		{"h20", units.FP8, 296, true, "HGX H20 brief as reproduced: 296 TFLOPS"},
		{"b200", units.BF16, 2250, true, "HGX B200 datasheet, preliminary"},
		{"b200", units.FP8, 4500, true, "HGX B200 datasheet, preliminary"},
		{"h100-sxm", units.Precision("fp4"), 0, false, "unknown precision"},
	}
	for _, tc := range tests {
		g, ok := GPUPreset(tc.gpu)
		if !ok {
			t.Fatalf("GPU %q missing", tc.gpu)
		}
		got, ok := g.Peak(tc.p)
		if ok != tc.wantOK || math.Abs(float64(got)-tc.wantTF*1e12) > 1e6 {
			t.Errorf("%s.Peak(%s) = %v, %v; want %g TFLOP/s, %v (%s)", tc.gpu, tc.p, got, ok, tc.wantTF, tc.wantOK, tc.citation)
		}
	}
}

func TestSystemPresets(t *testing.T) {
	for _, s := range SystemPresets() {
		t.Run(s.Name, func(t *testing.T) {
			if g, ok := GPUPreset(s.GPU.Name); !ok || g != s.GPU {
				t.Errorf("GPU %q is not the GPU preset of that name", s.GPU.Name)
			}
			if s.GPUsPerNode <= 0 || s.NVLink.Bandwidth <= 0 || s.NVLink.Latency <= 0 {
				t.Errorf("non-positive node figure: %d GPUs, NVLink %v / %v", s.GPUsPerNode, s.NVLink.Bandwidth, s.NVLink.Latency)
			}
			n := s.Network
			if n.NICBandwidth <= 0 || n.NICsPerNode <= 0 || n.Latency <= 0 || n.Oversubscription < 1 || n.NodesPerLeaf <= 0 {
				t.Errorf("bad network figure: %+v", n)
			}
			if s.Source == "" {
				t.Error("Source is empty")
			}
			for _, err := range (Cluster{System: s, Nodes: 1}).Validate() {
				t.Error(err)
			}
		})
	}
}

// TestSystemFigures pins the per-GPU bandwidths the design relies on,
// recomputed from the link counts: NVLink 3 is 12 links × 25 GB/s per
// direction, NVLink 4 is 18 × 25 GB/s, NVLink 5 is 18 × 50 GB/s; each GPU has
// one NIC (HDR 200 Gb/s = 25 GB/s, NDR 400 Gb/s = 50 GB/s).
func TestSystemFigures(t *testing.T) {
	tests := []struct {
		system         string
		gpu            string
		nvlinkGBps     float64
		nicPerGPUGBps  float64
		nodesPerLeaf   int
		hbmGiB, hbmBWs float64
		gpusPerNode    int
	}{
		{"dgx-a100-40gb", "a100-40gb", 12 * 25, 200.0 / 8, 20, 40, 1555, 8},
		{"dgx-a100-80gb", "a100-80gb", 12 * 25, 200.0 / 8, 20, 80, 2039, 8},
		{"dgx-h100", "h100-sxm", 18 * 25, 400.0 / 8, 32, 80, 3350, 8},
		{"dgx-h200", "h200", 18 * 25, 400.0 / 8, 32, 141, 4800, 8},
		// H800: 8 NVLink 4 links instead of 18 (400 GB/s both directions).
		{"hgx-h800", "h800", 8 * 25, 400.0 / 8, 32, 80, 3350, 8},
		// H20: NVLink 4 kept whole (900 GB/s both directions); the NIC per
		// GPU is assumed, as DGX H100's.
		{"hgx-h20", "h20", 18 * 25, 400.0 / 8, 32, 96, 4000, 8},
		{"dgx-b200", "b200", 18 * 50, 400.0 / 8, 32, 180, 8000, 8},
		{"gb200-nvl72", "b200", 18 * 50, 400.0 / 8, 4, 180, 8000, 72},
	}
	for _, tc := range tests {
		s, ok := SystemPreset(tc.system)
		if !ok {
			t.Errorf("system %q missing", tc.system)
			continue
		}
		if s.GPU.Name != tc.gpu || s.GPUsPerNode != tc.gpusPerNode {
			t.Errorf("%s: %d × %s, want %d × %s", tc.system, s.GPUsPerNode, s.GPU.Name, tc.gpusPerNode, tc.gpu)
		}
		if got := float64(s.NVLink.Bandwidth) / 1e9; got != tc.nvlinkGBps {
			t.Errorf("%s: NVLink %g GB/s per direction, want %g", tc.system, got, tc.nvlinkGBps)
		}
		if got := float64(s.NICBandwidthPerGPU()) / 1e9; math.Abs(got-tc.nicPerGPUGBps) > 1e-9 {
			t.Errorf("%s: NIC bandwidth per GPU %g GB/s, want %g", tc.system, got, tc.nicPerGPUGBps)
		}
		if s.Network.NodesPerLeaf != tc.nodesPerLeaf {
			t.Errorf("%s: %d nodes per leaf, want %d (SuperPOD scalable unit)", tc.system, s.Network.NodesPerLeaf, tc.nodesPerLeaf)
		}
		if got := s.GPU.HBM.GiB(); got != tc.hbmGiB {
			t.Errorf("%s: HBM %g GiB, want %g", tc.system, got, tc.hbmGiB)
		}
		if got := float64(s.GPU.HBMBandwidth) / 1e9; got != tc.hbmBWs {
			t.Errorf("%s: HBM bandwidth %g GB/s, want %g", tc.system, got, tc.hbmBWs)
		}
	}
	if len(tests) != len(SystemPresets()) {
		t.Errorf("%d system presets, %d pinned here: pin the new one", len(SystemPresets()), len(tests))
	}
}

// TestH20Datasheet checks the h20 preset and the hgx-h20 system against the
// figures of NVIDIA's HGX H20 product brief as reproduced (srcH20): 96GB
// HBM3 at 4.0 TB/s, 148 TFLOPS FP16/BF16 and 296 FP8 dense, NVLink 900 GB/s
// both directions, 8 GPUs per HGX board, Hopper (PCIe Gen5), 78 SMs.
func TestH20Datasheet(t *testing.T) {
	g, ok := GPUPreset("h20")
	if !ok {
		t.Fatal("GPU h20 missing")
	}
	s, ok := SystemPreset("hgx-h20")
	if !ok {
		t.Fatal("system hgx-h20 missing")
	}
	h100, _ := GPUPreset("h100-sxm")
	tests := []struct {
		what      string
		got, want float64
	}{
		{"BF16 dense TFLOP/s", float64(g.PeakDense16) / 1e12, 148},
		{"FP8 dense TFLOP/s", float64(g.PeakDenseFP8) / 1e12, 296},
		// The brief's comparison: H100 SXM is 6.68x the H20 in FP16
		// (989.4 / 148 = 6.685, truncated there).
		{"H100 SXM / H20 FP16 ratio, truncated", math.Floor(float64(h100.PeakDense16)/float64(g.PeakDense16)*100) / 100, 6.68},
		{"HBM GiB", g.HBM.GiB(), 96},
		{"HBM TB/s", float64(g.HBMBandwidth) / 1e12, 4.0},
		{"SMs", float64(g.SMs), 78},
		{"NVLink GB/s both directions", 2 * float64(s.NVLink.Bandwidth) / 1e9, 900},
		{"GPUs per HGX board", float64(s.GPUsPerNode), 8},
		{"PCIe Gen5 x16 GB/s per direction", float64(PCIeRate(g.Family)) / 1e9, 32.0 * 16 * 128 / 130 / 8},
	}
	for _, tc := range tests {
		if math.Abs(tc.got-tc.want) > 1e-9 {
			t.Errorf("h20 %s = %g, want %g", tc.what, tc.got, tc.want)
		}
	}
	if g.Family != "hopper" {
		t.Errorf("h20 family %q, want hopper (GH100's kernel-efficiency constants)", g.Family)
	}
}
