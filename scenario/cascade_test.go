package scenario

import (
	"strings"
	"testing"
)

// TestNoCascade: a value that stands at its default after an error — a value
// of the wrong kind, a misspelt key, a preset that does not exist, a default
// that could not be derived — gives no problems of its own: each case below
// reports exactly the problems listed, each once.
func TestNoCascade(t *testing.T) {
	// noTP sets dp but not tp, so that tp's default (1) makes a GPU-count
	// problem if it is taken for the user's choice.
	noTP := replace("tp = 8", "dp = 8")
	tests := []struct {
		name string
		src  string
		sets []string
		want []string
	}{
		{
			name: "set tp to a word where the file leaves tp to its default",
			src:  noTP,
			sets: []string{"parallelism.tp=abc"},
			want: []string{`--set: parallelism.tp: want an integer, got the string "abc"`},
		},
		{
			name: "tp of the wrong kind in the file",
			src:  replace("tp = 8", "tp = \"8\"\ndp = 8"),
			want: []string{`x.toml:11: parallelism.tp: want an integer, got the string "8"`},
		},
		{
			name: "a misspelt tp",
			src:  replace("tp = 8", "tpp = 8\ndp = 8"),
			want: []string{`x.toml:11: parallelism.tpp: unknown key; did you mean "tp"?`},
		},
		{
			name: "an independent problem is still reported",
			src:  noTP,
			sets: []string{"parallelism.tp=abc", "training.precision=fp4"},
			want: []string{
				`--set: parallelism.tp: want an integer, got the string "abc"`,
				`--set: training.precision: "fp4" is not supported (allowed: "fp16", "bf16", "fp8")`,
			},
		},
		{
			name: "unknown system: the precision is not blamed on the custom GPU",
			src:  base + "precision = \"fp16\"\n",
			sets: []string{"cluster.system=dgx-a1000"},
			want: []string{`--set: cluster.system: no built-in system called "dgx-a1000"; did you mean "dgx-h100"?`},
		},
		{
			name: "unknown model preset",
			src:  replace("tp = 8", "tp = 8\nsequence_parallel = true"),
			sets: []string{"model.preset=gpt3-17b"},
			want: []string{`--set: model.preset: no built-in model called "gpt3-17b"; did you mean "gpt3-13b"?`},
		},
		{
			name: "a preset of the wrong kind is named: its keys are not missing",
			src:  replace(`preset = "gpt3-175b"`, "preset = 175"),
			want: []string{`x.toml:4: model.preset: want a string, got the integer 175`},
		},
		{
			name: "a system of the wrong kind",
			src:  replace(`system = "dgx-a100-80gb"`, "system = 8"),
			want: []string{`x.toml:7: cluster.system: want a string, got the integer 8`},
		},
		{
			name: "dp that cannot be derived is not checked against the batch",
			sets: []string{"parallelism.tp=3"},
			want: []string{`x.toml:10: parallelism.dp: defaults to GPUs / (tp × pp × cp), but the 1024 GPUs (cluster.nodes × gpus_per_node) are not divisible by tp(3) × pp(16) × cp(1); change them or set dp`},
		},
		{
			name: "no GPU count, no dp",
			src:  replace("nodes = 128", "nodes = 0"),
			want: []string{`x.toml:8: cluster.nodes: must be a positive integer, got 0`},
		},
		{
			name: "a missing count is not also wrong",
			src:  replace("nodes = 128", ""),
			want: []string{`x.toml:6: cluster.nodes: required (the number of nodes)`},
		},
		{
			name: "a table written as a value",
			src:  replace("[training]", "microbatch = 2\n[training]"),
			sets: []string{"parallelism=4"},
			want: []string{`--set: parallelism: want a table ([parallelism]), got the integer 4`},
		},
		{
			name: "a value written as a table is not also missing",
			src:  replace("nodes = 128", "nodes = {a = 1}"),
			want: []string{`x.toml:8: cluster.nodes: want an integer, got a table`},
		},
		{
			name: "a value written as a table by --set is not also missing",
			src:  replace("nodes = 128", ""),
			sets: []string{"cluster.nodes.a=1"},
			want: []string{`--set: cluster.nodes: want an integer, got a table`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if src == "" {
				src = base
			}
			sc, err := Load("scenarios/x.toml", []byte(src), tc.sets)
			if err == nil {
				_, err = sc.Validate()
			}
			if err == nil {
				t.Fatalf("no error, want:\n%s", strings.Join(tc.want, "\n"))
			}
			got := strings.Split(err.Error(), "\n")
			for i := range got {
				got[i] = strings.TrimPrefix(got[i], "scenarios/")
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestRLMissingNoCascade: an [rl] table without its required keys names
// each as required, once, and says nothing of the keys whose defaults
// follow them (rl.train_batch from prompts_per_step, rl.response_mean from
// response_max) — they read "got 0" before; its other problems are still
// reported with them. A missing key is placed at the file, as the other
// tables' required keys are, even where --set made the table.
func TestRLMissingNoCascade(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want []string
	}{
		{
			name: "only an unknown algorithm",
			sets: []string{"rl.algorithm=dpo"},
			want: []string{
				`x.toml: rl.prompts_per_step: required with [rl] (prompts per RL step)`,
				`x.toml: rl.prompt_len: required with [rl] (tokens of every prompt)`,
				`x.toml: rl.response_max: required with [rl] (the longest response in tokens)`,
				`--set: rl.algorithm: must be one of [ppo grpo], got "dpo"`,
			},
		},
		{
			name: "no algorithm, a negative prompt count",
			sets: []string{"rl.prompts_per_step=8", "rl.prompt_len=64", "rl.response_max=128", "rl.prompts=-5"},
			want: []string{
				`x.toml: rl.algorithm: required with [rl] (the RL algorithm: ppo or grpo)`,
				`--set: rl.prompts: must be from 0 to 1e15, got -5`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("x.toml", []byte(base), tc.sets)
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(strings.TrimSpace(err.Error()), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
