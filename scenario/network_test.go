package scenario

import (
	"math"
	"testing"

	"trainsim/parallelism"
)

// TestDefaultTierBytesAgree: on the embedded default scenario (GPT-3 175B,
// TP8 PP16 DP8 on 128 DGX A100 nodes, leaves of 20 nodes, whose leaf
// boundaries cut stages 2, 7 and 12: their data-parallel rings straddle two
// leaves and half the pipeline sends next to them cross), both network
// modes report the same bytes per link tier, at 1:1 and at 4:1.
// (parallelism's TestTierBytesAgree holds the same on other layouts.)
func TestDefaultTierBytesAgree(t *testing.T) {
	for _, sets := range [][]string{
		nil,
		{"cluster.network.oversubscription=4", "training.global_batch=256"},
		{"cluster.network.oversubscription=4", "training.global_batch=256", "simulation.routing=ecmp"},
	} {
		bytes := map[string]map[string]float64{}
		for _, network := range parallelism.Networks() {
			sc := loadDefault(t, append([]string{"simulation.network=" + network}, sets...)...)
			v, err := sc.Validate()
			if err != nil {
				t.Fatal(err)
			}
			res, err := parallelism.Simulate(v)
			if err != nil {
				t.Fatal(err)
			}
			bytes[network] = map[string]float64{}
			for _, l := range res.Links {
				bytes[network][l.Tier] = float64(l.Bytes)
			}
		}
		a, f := bytes[parallelism.NetworkAnalytical], bytes[parallelism.NetworkFlow]
		for _, tier := range []string{"nvlink", "pcie", "nic", "leaf-spine"} {
			if x, y := a[tier], f[tier]; x == 0 || math.Abs(x-y) > 1e-6*math.Max(x, y) {
				t.Errorf("%v: %s analytical %.6g B, flow %.6g B", sets, tier, x, y)
			}
		}
	}
}
