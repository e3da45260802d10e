package scenario

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"trainsim/compute"
	"trainsim/parallelism"
	"trainsim/scenarios"
	"trainsim/topology"
	"trainsim/units"
)

var update = flag.Bool("update", false, "rewrite the key tables of docs/scenario.md from the declarations")

// The key tables of docs/scenario.md lie between these markers.
const (
	keysBegin = "<!-- keys:begin -->"
	keysEnd   = "<!-- keys:end -->"
)

// keyTables renders the declarations as the key tables of docs/scenario.md:
// one table per scenario table, in declaration order.
func keyTables(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("<!-- Generated from scenario/keys.go by `go test ./scenario -run TestKeyTable -update`; edit the declarations, not this table. -->\n")
	table := ""
	for i, k := range declarations(&settings{}) {
		top, rest, nested := strings.Cut(k.name, ".")
		if !nested {
			top, rest = "", k.name
		}
		if i == 0 || top != table {
			table = top
			if top == "" {
				b.WriteString("\n### Top level\n\n")
			} else {
				b.WriteString("\n### `[" + top + "]`\n\n")
			}
			b.WriteString("| key | type | default | allowed | meaning and rules |\n| --- | --- | --- | --- | --- |\n")
		}
		row := []string{"`" + rest + "`", keyType(k), keyDefault(k), keyAllowed(k), keyDoc(k)}
		for _, cell := range row {
			if strings.ContainsAny(cell, "|\n") {
				t.Fatalf("%s: a cell of its row holds | or a newline: %q", k.name, cell)
			}
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	return b.String()
}

func keyType(k key) string {
	if k.value == nil {
		return "—"
	}
	if ex := k.value.example(); ex != "" {
		return k.value.kind().String() + ", e.g. `" + ex + "`"
	}
	return k.value.kind().String()
}

func keyDefault(k key) string {
	if k.value == nil {
		return "—"
	}
	def := k.def
	if def == "" {
		def = k.value.defaultText()
	}
	if def == "" {
		def = "none"
	}
	if u := k.need.unless; len(u) > 0 {
		def += "; required without `" + strings.Join(u, "` or `") + "`"
	}
	return def
}

func keyAllowed(k key) string {
	if len(k.allowed) == 0 {
		return ""
	}
	return "`" + strings.Join(k.allowed, "`, `") + "`"
}

func keyDoc(k key) string {
	if k.refused != "" {
		return k.doc + "; refused: " + k.refused
	}
	return k.doc
}

// TestKeyTable fails when the key tables of docs/scenario.md differ from the
// declarations; with -update it rewrites them.
func TestKeyTable(t *testing.T) {
	path := filepath.Join("..", "docs", "scenario.md")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	i, j := strings.Index(doc, keysBegin), strings.Index(doc, keysEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s … %s region", path, keysBegin, keysEnd)
	}
	for k := kindCount; k <= kindGEMMs; k++ {
		if !strings.Contains(doc[:i], "\n| "+k.String()+" |") {
			t.Errorf("the value types of %s lack %q", path, k)
		}
	}
	want := keyTables(t)
	got := doc[i+len(keysBegin)+1 : j]
	if got == want {
		return
	}
	if *update {
		doc = doc[:i+len(keysBegin)+1] + want + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the key tables of %s differ from scenario/keys.go; run go test ./scenario -run TestKeyTable -update\nwant:\n%s", path, want)
}

// TestDeclarations checks the declarations against each other: names unique
// and not also tables, a doc line each, a value unless refused, an example
// for each quantity, defaults among the allowed values, keys named by need
// and from declared, and no key whose default derives from itself.
func TestDeclarations(t *testing.T) {
	keys := declarations(&settings{})
	byName := map[string]key{}
	for _, k := range keys {
		if _, dup := byName[k.name]; dup {
			t.Errorf("%s declared twice", k.name)
		}
		byName[k.name] = k
	}
	s := newSchema(keys)
	for _, k := range keys {
		if s.isTable(k.name) {
			t.Errorf("%s is both a key and a table", k.name)
		}
		if k.doc == "" {
			t.Errorf("%s has no doc", k.name)
		}
		if (k.value == nil) != (k.refused != "") {
			t.Errorf("%s: a key has a value or is refused, not both or neither", k.name)
			continue
		}
		if k.value == nil {
			continue
		}
		switch k.value.kind() {
		case kindSize, kindDuration, kindFLOPRate, kindBandwidth:
			if k.value.example() == "" {
				t.Errorf("%s: a quantity without an example", k.name)
			}
		}
		if k.preset && (k.value.kind() != kindString || k.value.defaultText() != "") {
			t.Errorf("%s: a preset is a string without a default", k.name)
		}
		if def := strings.Trim(k.value.defaultText(), "`"); def != "" && len(k.allowed) > 0 && !slices.Contains(k.allowed, def) {
			t.Errorf("%s: default %q is not among the allowed %v", k.name, def, k.allowed)
		}
		for _, src := range k.sources() {
			if _, ok := byName[src]; !ok {
				t.Errorf("%s derives from %s, which is not declared", k.name, src)
			}
		}
		if k.need.required && k.value.defaultText() != "" {
			t.Errorf("%s is required and has a default", k.name)
		}
	}
	// No key's default derives, through others, from itself.
	var visit func(name string, path []string)
	visit = func(name string, path []string) {
		if slices.Contains(path, name) {
			t.Fatalf("defaults derive in a circle: %v", append(path, name))
		}
		for _, src := range byName[name].sources() {
			visit(src, append(path, name))
		}
	}
	for _, k := range keys {
		visit(k.name, nil)
	}
}

// TestEveryKeySettable sets each key with --set to a value of its kind and
// checks that Load takes it: every declaration is wired to the decoder.
func TestEveryKeySettable(t *testing.T) {
	sample := map[kind]string{
		kindCount: "1", kindWhole: "1", kindNumber: "1.5", kindString: "x", kindBool: "true",
		kindGEMMs: `[{m = 1, n = 1, k = 1, tflops = "1TFLOP/s"}]`,
		kindRamp:  `[{global_batch = 16, tokens = 1e9}]`,
	}
	for _, k := range declarations(&settings{}) {
		if k.value == nil {
			continue
		}
		v := sample[k.value.kind()]
		if ex := k.value.example(); ex != "" {
			v = ex
		}
		d := newDecoder("x.toml")
		d.applySet(k.name + "=" + v)
		if len(d.errs) > 0 || !d.given(k.name) {
			t.Errorf("--set %s=%s: %v (given %v)", k.name, v, d.errs, d.given(k.name))
		}
	}
}

// TestValidationKeysDeclared: every problem the validators report names a
// declared key or table, and so do the keys its rule read; a scenario can
// only place and filter problems about keys it knows.
func TestValidationKeysDeclared(t *testing.T) {
	name, src := scenarios.Default()
	sc, err := Load(name, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	def := sc.Job
	s := newSchema(declarations(&settings{}))
	known := func(k string) bool { _, ok := s.keys[k]; return ok || s.isTable(k) }
	big, neg, tiny := 1e30, -1.0, units.Bandwidth(-1)
	mutations := []func(j *parallelism.Job){
		func(j *parallelism.Job) { *j = parallelism.Job{} },
		func(j *parallelism.Job) { j.Layout.TP, j.Model.KVHeads = 5, 7 },
		func(j *parallelism.Job) { j.Layout.PP, j.Layout.DP = 200, 1 },
		func(j *parallelism.Job) { j.Layout.CP, j.Layout.EP, j.Model.SeqLen = 2, 2, 2047 },
		func(j *parallelism.Job) { j.Model.Experts, j.Model.TopK = 4, 9 },
		func(j *parallelism.Job) { j.Model.Experts, j.Model.Hidden = -1, 1000 },
		func(j *parallelism.Job) { j.Layout.SequenceParallel, j.Model.SeqLen = true, 2047 },
		func(j *parallelism.Job) { j.Layout.VirtualStages = 3 },
		func(j *parallelism.Job) { j.Layout.Schedule, j.Layout.PP, j.Layout.DP = "interleaved", 1, 128 },
		func(j *parallelism.Job) { j.Layout.Schedule, j.Layout.Recompute, j.Layout.ZeRO = "x", "x", 9 },
		func(j *parallelism.Job) { j.Layout.Schedule, j.Training.GlobalBatch = "interleaved", 8*17 },
		func(j *parallelism.Job) { j.Training.GlobalBatch = 1001 },
		func(j *parallelism.Job) { j.Training.GlobalBatch, j.Training.Steps, j.Training.Tokens = 0, 0, -1 },
		func(j *parallelism.Job) { j.Training.Precision, j.Training.Attention = "fp4", "x" },
		func(j *parallelism.Job) { j.Training.Precision = units.FP8 },
		func(j *parallelism.Job) { j.Training.GlobalBatch = 100_000_000 },
		func(j *parallelism.Job) { j.Training.Steps, j.Options.Ranks = 1000, parallelism.RanksFull },
		func(j *parallelism.Job) { j.Options.Network, j.Options.AllReduce, j.Options.Ranks = "x", "x", "x" },
		func(j *parallelism.Job) { j.Cluster.Network.File = "t.toml" },
		func(j *parallelism.Job) {
			j.Options.Network, j.Cluster.Network.File, j.Options.Graph = "flow", "t.toml", fourGPUs(t)
		},
		func(j *parallelism.Job) {
			c := &j.Calibration
			c.GEMMPeakFraction, c.HBMFraction, c.FlashFraction = &big, &neg, &big
			sms := -1
			c.CommSMs, c.NVLinkBusBandwidth, c.NICBusBandwidth = &sms, &tiny, &tiny
			c.GEMMs = []compute.MeasuredGEMM{{}}
		},
	}
	reported := map[string]bool{}
	for i, mutate := range mutations {
		j := def
		mutate(&j)
		_, errs := j.Validate()
		if len(errs) == 0 {
			t.Errorf("mutation %d: no problem", i)
		}
		for _, e := range errs {
			reported[e.Field] = true
			for _, k := range append([]string{e.Field}, e.Uses...) {
				if !known(k) {
					t.Errorf("problem %q names %s, which is not a declared key or table", e, k)
				}
			}
		}
	}
	if len(reported) < 40 {
		t.Errorf("only %d keys had problems: the mutations miss rules", len(reported))
	}
}

// fourGPUs is an explicit topology with four GPUs: the command's test file.
func fourGPUs(t *testing.T) *topology.Graph {
	t.Helper()
	path := filepath.Join("..", "cmd", "sim", "testdata", "two-nodes.toml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := topology.ReadGraph(path, src)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
