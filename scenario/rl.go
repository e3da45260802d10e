package scenario

import (
	"strings"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/rl"
)

// rlKeys is what the [rl] table's keys fill: the step, and the names of
// the other models, resolved after the table is read.
type rlKeys struct {
	cfg                       rl.Config
	critic, reward, reference string
}

// The [rl] keys' values that name a model instead of a preset.
const (
	rlNone   = "none"
	rlPolicy = "policy"
)

// rlDefaults of the [rl] keys, with their sources.
const (
	// defaultMaxBatch is vLLM's default max_num_seqs (vllm/engine/
	// arg_utils.py, EngineArgs; 256 in v0.4–v0.8).
	defaultMaxBatch = 256
	// defaultGenMemory is vLLM's default gpu_memory_utilization (the same
	// file): the share of HBM the engine takes for weights and KV cache.
	defaultGenMemory = 0.9
)

// hasRL reports whether the scenario gives any [rl] key.
func (d *decoder) hasRL() bool {
	for _, k := range d.keys {
		if strings.HasPrefix(k.name, "rl.") && d.given(k.name) {
			return true
		}
	}
	return false
}

// rlConfig resolves the [rl] table into the step: the models named, the
// defaults that follow other keys (gen_tp from parallelism.tp, the
// training batch from the samples, the mean response from the longest).
func (d *decoder) rlConfig(j parallelism.Job) *rl.Config {
	k := d.set.rl
	c := k.cfg
	c.Seed = d.set.seed
	pick := func(key, name string, policyOK bool) *model.Config {
		switch name {
		case rlNone, "":
			return nil
		case rlPolicy:
			if policyOK {
				m := j.Model
				return &m
			}
		}
		if m, ok := model.Preset(name); ok {
			return &m
		}
		d.unknownPreset(key, "model", name, append([]string{rlNone, rlPolicy}, model.PresetNames()...))
		return nil
	}
	c.Critic = pick("rl.critic", k.critic, true)
	c.Reward = pick("rl.reward", k.reward, true)
	c.Reference = pick("rl.reference", k.reference, true)
	if c.GenTP == 0 {
		c.GenTP = j.Layout.TP
	}
	if c.ResponseMean == 0 {
		c.ResponseMean = c.ResponseMax
	}
	if c.TrainBatch == 0 {
		c.TrainBatch = c.Samples()
	}
	return &c
}
