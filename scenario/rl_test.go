package scenario

import (
	"os"
	"strings"
	"testing"

	"trainsim/rl"
	"trainsim/scenarios"
)

// TestRLKeys: an [rl] key makes the scenario an RL step; the named models
// resolve to presets or the policy; defaults follow the keys they derive
// from; and a bad value is reported at its line and key.
func TestRLKeys(t *testing.T) {
	if sc := loadDefault(t); sc.RL != nil {
		t.Fatalf("no [rl] table, RL %+v", sc.RL)
	}
	src, err := os.ReadFile("../scenarios/instructgpt-175b-ppo.toml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Load("instructgpt.toml", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := sc.RL
	if r == nil || r.Algorithm != rl.PPO || r.Critic == nil || r.Critic.Name != "gpt3-6.7b" || r.Reference == nil || r.Reference.Name != "gpt3-175b" {
		t.Fatalf("[rl] as read: %+v", r)
	}
	if r.GenTP != 8 || r.MaxBatch != 256 || r.GenMemoryFraction != 0.9 || r.Seed != 1 {
		t.Errorf("defaults: gen_tp %d, max_batch %d, gen_memory_fraction %g, seed %d", r.GenTP, r.MaxBatch, r.GenMemoryFraction, r.Seed)
	}
	if _, err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	sc = loadDefault(t, "rl.algorithm=grpo", "rl.prompts_per_step=8", "rl.prompt_len=64", "rl.response_max=128", "parallelism.tp=4")
	if r := sc.RL; r.ResponseMean != 128 || r.TrainBatch != 8 || r.GenTP != 4 || r.Critic != nil || r.Reward != nil || r.Reference == nil {
		t.Errorf("derived defaults: %+v", r)
	}

	for _, c := range []struct {
		sets []string
		key  string
		msg  string
	}{
		{[]string{"rl.algorithm=ppo", "rl.critic=no-such-model"}, "rl.critic", "no built-in model"},
		{[]string{"rl.algorithm=grpo", "rl.placement=everywhere", "rl.prompts_per_step=8", "rl.prompt_len=64", "rl.response_max=128"}, "rl.placement", "must be one of"},
		{[]string{"rl.algorithm=ppo", "rl.prompts_per_step=8", "rl.prompt_len=64", "rl.response_max=128"}, "rl.critic", "needs a critic"},
		{[]string{"rl.algorithm=grpo", "rl.prompts_per_step=8", "rl.prompt_len=64", "rl.response_max=128", "rl.response_mean=500"}, "rl.response_mean", "response_max"},
		{[]string{"rl.algorithm=grpo", "rl.prompt_len=64", "rl.response_max=128"}, "rl.prompts_per_step", "required with [rl]"},
		{[]string{"rl.algorithm=grpo", "rl.prompt_len=64", "rl.response_max=128", "rl.prompts_per_step=0"}, "rl.prompts_per_step", "from 1"},
	} {
		name, src := scenarios.Default()
		sc, err := Load(name, src, c.sets)
		if err == nil {
			_, err = sc.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: want an error at %s saying %q, got %v", c.sets, c.key, c.msg, err)
		}
	}
}
