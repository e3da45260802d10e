package scenario

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestNewKeysBadInput: each of the keys parallelism.zero_fp32_reduce,
// parallelism.zero3_rank_loops and training.flash_kernel refuses a value of
// the wrong kind or outside its list with one error naming the file, the
// line, the key and what it takes, from the file and from --set alike; a
// key written under the wrong table is pointed to the table it is in.
func TestNewKeysBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, table, line string // line goes first in base's table (a new one at the end)
		sets              []string
		want              string
	}{
		{"bool as integer", "parallelism", "zero_fp32_reduce = 1", nil,
			`x.toml:11: parallelism.zero_fp32_reduce: want true or false, got the integer 1`},
		{"bool as float", "parallelism", "zero_fp32_reduce = 1.0", nil,
			`x.toml:11: parallelism.zero_fp32_reduce: want true or false, got the number 1.0`},
		{"bool as string", "parallelism", "zero3_rank_loops = \"true\"", nil,
			`x.toml:11: parallelism.zero3_rank_loops: want true or false, got the string "true"`},
		{"bool as array", "parallelism", "zero3_rank_loops = [true]", nil,
			`x.toml:11: parallelism.zero3_rank_loops: want true or false, got an array`},
		{"kernel unknown", "training", "flash_kernel = \"fa3\"", nil,
			`x.toml:15: training.flash_kernel: "fa3" is not a flash-attention kernel (allowed: "fused", "fa2")`},
		{"kernel upper case", "training", "flash_kernel = \"FA2\"", nil,
			`x.toml:15: training.flash_kernel: "FA2" is not a flash-attention kernel (allowed: "fused", "fa2")`},
		{"kernel as integer", "training", "flash_kernel = 2", nil,
			`x.toml:15: training.flash_kernel: want a string, got the integer 2`},
		{"kernel as bool", "training", "flash_kernel = true", nil,
			`x.toml:15: training.flash_kernel: want a string, got true`},
		{"kernel empty", "training", "flash_kernel = \"\"", nil,
			`x.toml:15: training.flash_kernel: an empty string is not a value of this key (allowed: "fused", "fa2"; leave the key out for its default)`},
		{"stack empty", "software", "stack = \"\"", nil,
			`x.toml:18: software.stack: no built-in software stack called ""`},
		{"--set bool", "", "", []string{"parallelism.zero_fp32_reduce=yes"},
			`--set: parallelism.zero_fp32_reduce: want true or false, got the string "yes"`},
		{"--set kernel", "", "", []string{"training.flash_kernel=fa3"},
			`--set: training.flash_kernel: "fa3" is not a flash-attention kernel (allowed: "fused", "fa2")`},
		{"--set stack", "", "", []string{"software.stack=fsdp"},
			`--set: software.stack: no built-in software stack called "fsdp"; did you mean "pytorch-fsdp"?`},
		{"stack under training", "training", "stack = \"pytorch-fsdp\"", nil,
			`x.toml:15: training.stack: unknown key; did you mean "software.stack"? (the key stack is in [software])`},
		{"kernel under parallelism", "parallelism", "flash_kernel = \"fa2\"", nil,
			`x.toml:11: parallelism.flash_kernel: unknown key; did you mean "training.flash_kernel"? (the key flash_kernel is in [training])`},
		{"--set reduce under training", "", "", []string{"training.zero_fp32_reduce=true"},
			`--set: training.zero_fp32_reduce: unknown key; did you mean "parallelism.zero_fp32_reduce"? (the key zero_fp32_reduce is in [parallelism])`},
		{"--set seed under model", "", "", []string{"model.seed=3"},
			`--set: model.seed: unknown key; did you mean "seed"? (the key seed is at the top level)`},
		{"close name in its own table first", "training", "precison = \"bf16\"", nil,
			`x.toml:15: training.precison: unknown key; did you mean "precision"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkOneError(t, withLine(base, tc.table, tc.line), tc.sets, tc.want)
		})
	}
}

// TestEmptyChoiceRefused: an empty string given for a key that takes one
// of a list of values is refused at the key, with the list, whatever the
// key's validator would make of it (some read "" as the default, some
// refuse it). A preset's name keeps its own message (TestNewKeysBadInput).
func TestEmptyChoiceRefused(t *testing.T) {
	for _, tc := range []struct {
		table, key, allowed string
	}{
		{"training", "flash_kernel", `"fused", "fa2"`},
		{"training", "fp8_recipe", `"delayed", "tensorwise", "mxfp8", "blockwise"`},
		{"training", "attention", `"unfused", "flash", "auto"`},
		{"moe", "dispatcher", `"alltoall", "flex"`},
		{"parallelism", "schedule", `"gpipe", "1f1b", "interleaved", "zb-h1", "dualpipe"`},
		{"simulation", "allreduce", `"auto", "ring", "tree"`},
		{"simulation", "routing", `"auto", "ecmp", "spray"`},
		{"simulation", "flow_copies", `"classes", "all"`},
		{"cluster.network", "transport", `"infiniband", "roce"`},
	} {
		t.Run(tc.key, func(t *testing.T) {
			src := withLine(base, tc.table, tc.key+` = ""`)
			line := strings.Count(src[:strings.Index(src, tc.key+" =")], "\n") + 1
			want := "x.toml:" + strconv.Itoa(line) + ": " + tc.table + "." + tc.key + ": an empty string is not a value of this key (allowed: " + tc.allowed + "; leave the key out for its default)"
			checkOneError(t, src, nil, want)
		})
	}
}

// withLine returns src with line first in its [table], or in a new
// [table] at the end; src unchanged for an empty line.
func withLine(src, table, line string) string {
	switch {
	case line == "":
		return src
	case strings.Contains(src, "["+table+"]\n"):
		return strings.Replace(src, "["+table+"]\n", "["+table+"]\n"+line+"\n", 1)
	}
	return src + "\n[" + table + "]\n" + line + "\n"
}

// checkOneError loads src with sets and wants exactly one error, beginning
// with want.
func checkOneError(t *testing.T, src string, sets []string, want string) {
	t.Helper()
	sc, err := Load("x.toml", []byte(src), sets)
	if err == nil {
		_, err = sc.Validate()
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T), want an ErrorList", err, err)
	}
	if len(list) != 1 || !strings.HasPrefix(list[0].Error(), want) {
		t.Errorf("errors:\n%v\nwant one beginning\n%s", err, want)
	}
}
