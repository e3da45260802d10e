package topology

import (
	"strings"
	"testing"

	"trainsim/units"
)

// TestScaleNICs: a node keeps its system's NICs per GPU, rounded up to a
// whole NIC and at least one; the expected counts are worked by hand.
func TestScaleNICs(t *testing.T) {
	for _, tc := range []struct {
		name               string
		nics, sysGPUs, gpu int
		want               int
		exact              bool
	}{
		{"DGX half node: 8 for 8 → 4 for 4", 8, 8, 4, 4, true},
		{"DGX one GPU", 8, 8, 1, 1, true},
		{"DGX two nodes' worth", 8, 8, 16, 16, true},
		{"NVL72 domain of 64", 72, 72, 64, 64, true},
		{"4 NICs for 8 GPUs on 4 GPUs: 2", 4, 8, 4, 2, true},
		{"4 NICs for 8 GPUs on 3 GPUs: 1.5 → 2", 4, 8, 3, 2, false},
		{"1 NIC for 8 GPUs on 2 GPUs: 0.25 → 1", 1, 8, 2, 1, false},
		{"3 NICs for 4 GPUs on 6 GPUs: 4.5 → 5", 3, 4, 6, 5, false},
		{"no GPUs: left for validation", 8, 8, 0, 8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, exact := ScaleNICs(tc.nics, tc.sysGPUs, tc.gpu)
			if n != tc.want || exact != tc.exact {
				t.Errorf("ScaleNICs(%d, %d, %d) = %d, %v; want %d, %v", tc.nics, tc.sysGPUs, tc.gpu, n, exact, tc.want, tc.exact)
			}
		})
	}
}

// TestWithGPUsPerNode: the scaled system keeps a DGX's 25 GB/s of NIC
// bandwidth per GPU (one 200 Gb/s NIC each) and its note says what was
// assumed; the system's own count gives no note; a ratio that does not
// divide says how it was rounded.
func TestWithGPUsPerNode(t *testing.T) {
	dgx, ok := SystemPreset("dgx-a100-80gb")
	if !ok {
		t.Fatal("no dgx-a100-80gb")
	}
	const perGPU = 200e9 / 8 // one 200 Gb/s NIC per GPU, in B/s
	for _, gpus := range []int{1, 2, 4, 8, 16} {
		s := dgx.WithGPUsPerNode(gpus)
		if s.GPUsPerNode != gpus || s.Network.NICsPerNode != gpus {
			t.Errorf("%d GPUs: %d GPUs, %d NICs; want %d of each", gpus, s.GPUsPerNode, s.Network.NICsPerNode, gpus)
		}
		if got := float64(s.NICBandwidthPerGPU()); got != perGPU {
			t.Errorf("%d GPUs: %g B/s of NIC per GPU, want %g", gpus, got, perGPU)
		}
		note := s.NICNote()
		if gpus == 8 {
			if note != "" || s.Network.Scaling.Scaled() {
				t.Errorf("the system's own 8 GPUs: note %q, scaling %+v; want none", note, s.Network.Scaling)
			}
			continue
		}
		for _, want := range []string{"cluster.gpus_per_node", "dgx-a100-80gb's 8 GPUs", "cluster.network.nics_per_node is not stated", "keeping the system's 1 NIC per GPU (200 Gb/s of NIC bandwidth per GPU)"} {
			if !strings.Contains(note, want) {
				t.Errorf("%d GPUs: note %q lacks %q", gpus, note, want)
			}
		}
	}

	// A node type with 1 NIC per 2 GPUs (not a preset) on 3 GPUs: 1.5
	// NICs, rounded up to 2, 2 × 200 ÷ 3 = 133.3 Gb/s per GPU.
	half := dgx
	half.Name, half.Network.NICsPerNode = "half", 4
	s := half.WithGPUsPerNode(3)
	if s.Network.NICsPerNode != 2 {
		t.Fatalf("half on 3 GPUs: %d NICs, want 2", s.Network.NICsPerNode)
	}
	if got, want := float64(s.NICBandwidthPerGPU()), 2*float64(200*units.Gbps)/3; got != want {
		t.Errorf("half on 3 GPUs: %g B/s per GPU, want %g", got, want)
	}
	note := s.NICNote()
	for _, want := range []string{"scaled to 2: 4 × 3 ÷ 8 = 1.5 NICs, rounded up to a whole NIC (at least 1)", "each GPU gets 133.3 Gb/s of NIC bandwidth instead of the system's 100 Gb/s"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
}
