package job

import (
	"sort"

	"trainsim/units"
)

// Preset is a published failure profile: the rates at which a large
// cluster's parts interrupted a training job, and what restarting took.
// Unset (zero) fields keep the scenario's own values or the defaults.
type Preset struct {
	Name string
	// GPUMTBF, NodeMTBF and LinkMTBF are per part; every failure counted
	// interrupted the job (FatalFraction 1).
	GPUMTBF, NodeMTBF, LinkMTBF units.Seconds
	// Restart is the time from an interruption to training again.
	Restart units.Seconds
	// StorageBandwidth is the sustained write rate of checkpoints.
	StorageBandwidth units.Bandwidth
	// Source cites the figures and says how they were derived.
	Source string
}

const hour = 3600

// llama3 is Meta's Llama 3 405B pre-training on 16,384 H100 GPUs (2,048
// nodes of 8): 419 unexpected interruptions in a 54-day snapshot (Dubey et
// al. 2024, "The Llama 3 Herd of Models", §3.3.4 and Table 5). Table 5's
// root causes are grouped by the part that failed: GPUs 268 (faulty GPU
// 148, HBM3 72, SRAM 19, GPU system processor 17, silent data corruption
// 6, thermal interface and sensor 6); hosts 109 (software bugs 54, host
// maintenance 32, NCCL watchdog timeouts 7, SSD 3, power supply 3, chassis
// 2, IO expansion board 2, dependencies 2, CPU 2, system memory 2); links
// 42 (network switch or cable 35, NIC 7), counting one link per NIC. Each
// part's MTBF is then parts × 1,296 h / failures: GPU 16,384 × 1,296 / 268
// = 79,230 h; node 2,048 × 1,296 / 109 = 24,350 h; link 16,384 × 1,296 /
// 42 = 505,600 h. Together one interruption every 3.09 h. Restart: not
// published; 10 minutes assumed (detection, rescheduling, reload).
// Storage: the paper's Tectonic file system sustains 2 TB/s.
func llama3() Preset {
	return Preset{
		Name:             "llama3-16k",
		GPUMTBF:          units.Seconds(16384 * 1296.0 / 268 * hour),
		NodeMTBF:         units.Seconds(2048 * 1296.0 / 109 * hour),
		LinkMTBF:         units.Seconds(16384 * 1296.0 / 42 * hour),
		Restart:          600,
		StorageBandwidth: 2e12,
		Source:           "Dubey et al. 2024 (The Llama 3 Herd of Models), §3.3.4, Table 5: 419 unexpected interruptions of 16,384 H100s in 54 days, by root cause; restart assumed 10 min",
	}
}

// PresetByName returns the built-in failure profile called name.
func PresetByName(name string) (Preset, bool) {
	for _, p := range []Preset{llama3()} {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// PresetNames lists the built-in failure profiles.
func PresetNames() []string {
	names := []string{llama3().Name}
	sort.Strings(names)
	return names
}
