package search

import (
	"testing"

	"trainsim/units"
)

// TestLimitsAtWrittenPrecision: a --max-days limit taken from a report's
// time_to_train_s (÷ 86400, at full or 12-digit precision) or a --max-cost
// limit taken from its cost_to_train keeps the layout at exactly that
// figure, and a limit one part in 10^9 below it drops it. The steps include
// 0.0488734…, whose days (0.06601062068229…) round up at 12 digits: compared
// with the days on one side only, its own figure dropped it.
func TestLimitsAtWrittenPrecision(t *testing.T) {
	j := small(t, "training.tokens=1e9", "training.global_batch=64", "model.preset=gpt3-1.3b", "cluster.nodes=1")
	tokensPerStep := float64(j.Training.GlobalBatch * j.Model.SeqLen)
	for _, tc := range []struct {
		name string
		step units.Seconds
	}{
		{"rounds up at 12 digits", units.Seconds(5703.31762695 * tokensPerStep / 1e9)},
		{"one second", 1},
		{"thirds", units.Seconds(1.0 / 3)},
		{"long", 30.775627418},
		{"awkward", 0.123456789012345},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The report's figures: time_to_train_s = tokens / tokens per s.
			written := units.Clean(j.Training.Tokens / (tokensPerStep / float64(tc.step)))
			for _, days := range []float64{written / 86400, units.Clean(written / 86400)} {
				if got := (Options{MaxDays: days}).overLimits(j, tc.step); got != "" {
					t.Errorf("--max-days %v (time_to_train_s %v ÷ 86400): %s, want kept", days, written, got)
				}
				if got := (Options{MaxDays: days * (1 - 1e-9)}).overLimits(j, tc.step); got != PrunedMaxDays {
					t.Errorf("--max-days %v: %q, want %s", days*(1-1e-9), got, PrunedMaxDays)
				}
			}
			opt := Options{PricePerGPUHour: 2.5}
			cost := units.Clean(opt.Cost(j, tc.step))
			for _, c := range []float64{cost, cost * (1 + 1e-15)} {
				opt.MaxCost = c
				if got := opt.overLimits(j, tc.step); got != "" {
					t.Errorf("--max-cost %v (cost_to_train %v): %s, want kept", c, cost, got)
				}
			}
			opt.MaxCost = cost * (1 - 1e-9)
			if got := opt.overLimits(j, tc.step); got != PrunedMaxCost {
				t.Errorf("--max-cost %v: %q, want %s", opt.MaxCost, got, PrunedMaxCost)
			}
		})
	}
}
