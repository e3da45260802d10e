package main

import (
	"strings"
	"testing"
)

// TestUnphysicalHardwareRefused: hardware figures outside physical sense —
// a unit slip (312FLOP/s), a latency of centuries, a vanishing peak — are
// refused with exit 2 naming the key, in both network modes, instead of a
// panic, an MFU of 1149, a shorter step or a JSON encoder's +Inf.
func TestUnphysicalHardwareRefused(t *testing.T) {
	for _, c := range []struct {
		key  string
		sets []string
	}{
		{"cluster.gpu.peak", []string{"simulation.network=flow", "cluster.gpu.peak=312FLOP/s"}},
		{"cluster.gpu.peak", []string{"cluster.gpu.peak=312FLOP/s"}},
		{"cluster.network.latency", []string{"cluster.network.latency=1e10s"}},
		{"cluster.gpu.peak", []string{"cluster.gpu.peak=1e-300FLOP/s", "--format", "json"}},
		{"cluster.gpu.hbm_bandwidth", []string{"cluster.gpu.hbm_bandwidth=1B/s"}},
		{"cluster.nvlink.bandwidth", []string{"cluster.nvlink.bandwidth=1e30GB/s"}},
		{"cluster.gpu.hbm", []string{"cluster.gpu.hbm=1MiB"}},
		{"calibration.kernel_overhead", []string{"calibration.kernel_overhead=1h"}},
		{"cluster.gpu.sms", []string{"cluster.gpu.sms=100000000"}},
		{"training.tokens", []string{"training.tokens=1e300"}},
	} {
		args := []string{"run"}
		for _, s := range c.sets {
			if strings.HasPrefix(s, "--") || !strings.Contains(s, "=") {
				args = append(args, s)
				continue
			}
			args = append(args, "--set", s)
		}
		code, _, errs := runCLI(t, args...)
		if code != 2 || !strings.Contains(errs, c.key) || !strings.Contains(errs, "physical range") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", c.sets, code, errs, c.key)
		}
	}
}
