package scenario

import (
	"strings"
	"testing"
)

// TestFirstHourHints: Megatron-LM argument names and a shortened system name
// get a "did you mean" naming the scenario key or preset.
func TestFirstHourHints(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"tensor_model_parallel_size=8", `tensor_model_parallel_size: unknown key; did you mean "parallelism.tp"?`},
		{"parallelism.pipeline_model_parallel_size=2", `did you mean "parallelism.pp"?`},
		{"micro_batch_size=1", `"parallelism.microbatch"`},
		{"global_batch_size=8", `"training.global_batch"`},
		{"seq_length=2048", `"model.seq_len"`},
		{"num_layers=2", `"model.layers"`},
		{"hidden_size=2", `"model.hidden"`},
		{"num_attention_heads=2", `"model.heads"`},
		{"cluster.system=h100", `did you mean "dgx-h100"?`},
	} {
		_, err := Load("s.toml", []byte("[cluster]\nnodes = 1\n[training]\nglobal_batch = 8\n[model]\npreset = \"gpt-1.7b\"\n"), []string{c.set})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--set %s: %v, want %q", c.set, err, c.want)
		}
	}
}
