package topology

import "fmt"

// NICScaling records that a system's NIC count was scaled to a number of
// GPUs per node the system is not built with (a scenario that overrides
// cluster.gpus_per_node but not cluster.network.nics_per_node). The zero
// value means the NIC count is the system's own or was stated.
type NICScaling struct {
	// NICs and GPUs are the system's own NICs and GPUs per node.
	NICs, GPUs int
}

// Scaled reports whether the NIC count was scaled.
func (s NICScaling) Scaled() bool { return s.GPUs > 0 }

// ScaleNICs returns the NICs a node of gpus GPUs gets when it keeps the
// ratio of a system with nics NICs for sysGPUs GPUs: nics × gpus ÷ sysGPUs,
// rounded up, at least 1; exact is false when the ratio does not divide and
// the count was rounded. A DGX node has one NIC per GPU (8 NICs for 8
// GPUs), so half a node keeps 4 NICs: each GPU keeps its own NIC's line
// rate instead of getting two NICs' worth. Counts that are not positive
// are returned unchanged (nics, true): validation reports them.
func ScaleNICs(nics, sysGPUs, gpus int) (n int, exact bool) {
	if nics <= 0 || sysGPUs <= 0 || gpus <= 0 {
		return nics, true
	}
	p := int64(nics) * int64(gpus)
	q := (p + int64(sysGPUs) - 1) / int64(sysGPUs)
	return int(max(q, 1)), p%int64(sysGPUs) == 0
}

// WithGPUsPerNode returns the system with gpus GPUs per node and its NIC
// count scaled to them (ScaleNICs), the scaling recorded in
// Network.Scaling for the report's note. A count equal to the system's
// returns the system unchanged.
func (s System) WithGPUsPerNode(gpus int) System {
	if gpus == s.GPUsPerNode || gpus <= 0 || s.GPUsPerNode <= 0 || s.Network.NICsPerNode <= 0 {
		s.GPUsPerNode = gpus
		return s
	}
	n, _ := ScaleNICs(s.Network.NICsPerNode, s.GPUsPerNode, gpus)
	s.Network.Scaling = NICScaling{NICs: s.Network.NICsPerNode, GPUs: s.GPUsPerNode}
	s.GPUsPerNode, s.Network.NICsPerNode = gpus, n
	return s
}

// NICNote describes, for the report, a NIC count scaled from the system's
// (Network.Scaling): what was assumed and how it was rounded. It is ""
// when the count is the system's own or was stated.
func (s System) NICNote() string {
	sc := s.Network.Scaling
	if !sc.Scaled() {
		return ""
	}
	g, k := s.GPUsPerNode, s.Network.NICsPerNode
	gbps := func(nics, gpus int) string {
		return fmt.Sprintf("%.4g Gb/s", float64(s.Network.NICBandwidth)*8/1e9*float64(nics)/float64(gpus))
	}
	how := fmt.Sprintf("to %d, keeping the system's %s (%s of NIC bandwidth per GPU)", k, ratio(sc.NICs, sc.GPUs), gbps(k, g))
	if _, exact := ScaleNICs(sc.NICs, sc.GPUs, g); !exact {
		how = fmt.Sprintf("to %d: %d × %d ÷ %d = %.4g NICs, rounded up to a whole NIC (at least 1), so each GPU gets %s of NIC bandwidth instead of the system's %s",
			k, sc.NICs, g, sc.GPUs, float64(sc.NICs)*float64(g)/float64(sc.GPUs), gbps(k, g), gbps(sc.NICs, sc.GPUs))
	}
	return fmt.Sprintf("NICs: cluster.gpus_per_node = %d overrides %s's %d GPUs per node and cluster.network.nics_per_node is not stated, so the system's %d NICs are scaled %s; state cluster.network.nics_per_node to set the count",
		g, s.Name, sc.GPUs, sc.NICs, how)
}

// ratio says nics NICs for gpus GPUs in lowest terms: "1 NIC per GPU",
// "2 NICs per GPU", "1 NIC per 2 GPUs", "3 NICs per 4 GPUs".
func ratio(nics, gpus int) string {
	a, b := nics, gpus
	for b != 0 {
		a, b = b, a%b
	}
	n, g := nics/a, gpus/a
	word := "NICs"
	if n == 1 {
		word = "NIC"
	}
	if g == 1 {
		return fmt.Sprintf("%d %s per GPU", n, word)
	}
	return fmt.Sprintf("%d %s per %d GPUs", n, word, g)
}
