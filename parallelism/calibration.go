package parallelism

import (
	"trainsim/compute"
	"trainsim/units"
)

// Calibration replaces the generic kernel and NCCL efficiencies with a
// site's own measurements. Nil fields keep the documented defaults.
type Calibration struct {
	// GEMMPeakFraction is the share of the dense peak a large GEMM sustains
	// (measured, e.g., with a cuBLAS benchmark at the training's shapes).
	GEMMPeakFraction *float64
	// HBMFraction is the share of the HBM bandwidth a streaming kernel reaches.
	HBMFraction *float64
	// FlashFraction is the share of the dense peak flash attention sustains.
	FlashFraction *float64
	// KernelOverhead is the fixed cost of one kernel launch.
	KernelOverhead *units.Seconds
	// CommSMs is how many SMs overlapped communication takes from compute.
	CommSMs *int
	// NVLinkBusBandwidth is the nccl-tests all-reduce bus bandwidth of a
	// large message inside one node.
	NVLinkBusBandwidth *units.Bandwidth
	// NICBusBandwidth is the bus bandwidth one NIC sustains across nodes
	// (nccl-tests across nodes, divided by the NICs a rank uses).
	NICBusBandwidth *units.Bandwidth
	// GEMMs are measured GEMM throughputs at the training precision; they
	// correct the efficiency curve near the measured shapes.
	GEMMs []compute.MeasuredGEMM
	// File names a calibration file (the scenario's calibration.file) whose
	// values were merged under the scenario's own; informational here, the
	// loader at the edge reads it.
	File string
}

// Over returns c with every value c leaves unset taken from base: a site's
// calibration file under a scenario's own [calibration] keys. A scenario
// that lists measured GEMMs replaces the file's list rather than adding to it.
func (c Calibration) Over(base Calibration) Calibration {
	pick := func(a, b *float64) *float64 {
		if a != nil {
			return a
		}
		return b
	}
	out := c
	out.GEMMPeakFraction = pick(c.GEMMPeakFraction, base.GEMMPeakFraction)
	out.HBMFraction = pick(c.HBMFraction, base.HBMFraction)
	out.FlashFraction = pick(c.FlashFraction, base.FlashFraction)
	if out.KernelOverhead == nil {
		out.KernelOverhead = base.KernelOverhead
	}
	if out.CommSMs == nil {
		out.CommSMs = base.CommSMs
	}
	if out.NVLinkBusBandwidth == nil {
		out.NVLinkBusBandwidth = base.NVLinkBusBandwidth
	}
	if out.NICBusBandwidth == nil {
		out.NICBusBandwidth = base.NICBusBandwidth
	}
	if out.GEMMs == nil {
		out.GEMMs = base.GEMMs
	}
	return out
}

// Set reports whether any calibration value is given.
func (c Calibration) Set() bool {
	return c.GEMMPeakFraction != nil || c.HBMFraction != nil || c.FlashFraction != nil ||
		c.KernelOverhead != nil || c.CommSMs != nil || c.NVLinkBusBandwidth != nil ||
		c.NICBusBandwidth != nil || len(c.GEMMs) > 0
}
