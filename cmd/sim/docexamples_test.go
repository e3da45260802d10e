package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The example outputs shown in the docs are generated: a code block that
// follows a marker
//
//	<!-- example: sim sweep sweep/testdata/example.toml --out /tmp/sweep-13b -->
//
// holds "$ COMMAND" and what the command printed (stdout, then stderr without
// the info log lines), for each command the marker lists, separated by
// ";". A command written "hidden COMMAND" runs first without being shown (to
// set up a directory). A marker "example json:" shows the single command's
// JSON output abbreviated (docExampleJSON) and no "$" line. Commands run
// from the repository root; paths under /tmp/ are made under a temporary
// directory, which reads as /tmp/ again in the output. Lines that differ
// between runs (the wall time) are compared by their first words only.
// TestDocExamples checks the docs against fresh runs; with -update it
// rewrites the blocks.

// docExampleFiles are the docs with generated examples.
var docExampleFiles = []string{"docs/sweep.md", "docs/scenario.md"}

var docExampleRE = regexp.MustCompile("(?s)<!-- example( json)?: (.*?) -->\n```\n(.*?)```\n")

// volatilePrefixes begin the lines whose rest differs between runs.
var volatilePrefixes = []string{"wall time"}

func TestDocExamples(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	tmp := t.TempDir()
	for _, file := range docExampleFiles {
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		var failed bool
		out := docExampleRE.ReplaceAllFunc(doc, func(block []byte) []byte {
			m := docExampleRE.FindSubmatch(block)
			n++
			got := runDocExample(t, tmp, string(m[2]), len(m[1]) > 0)
			if !*update && !sameExample(string(m[3]), got) {
				failed = true
				t.Errorf("%s: the example of `%s` is stale; run go test ./cmd/sim -run TestDocExamples -update\nhave:\n%s\nwant:\n%s", file, m[2], m[3], got)
			}
			return []byte(fmt.Sprintf("<!-- example%s: %s -->\n```\n%s```\n", m[1], m[2], got))
		})
		if n == 0 {
			t.Errorf("%s: no generated examples", file)
		}
		if *update && !failed && !bytes.Equal(out, doc) {
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// runDocExample runs the marker's commands and returns the block's text.
func runDocExample(t *testing.T, tmp, commands string, asJSON bool) string {
	t.Helper()
	var b strings.Builder
	for _, cmd := range strings.Split(commands, ";") {
		cmd = strings.TrimSpace(cmd)
		hidden := strings.HasPrefix(cmd, "hidden ")
		cmd = strings.TrimPrefix(cmd, "hidden ")
		args := strings.Fields(cmd)
		if len(args) == 0 || args[0] != "sim" {
			t.Fatalf("example command %q: want sim ...", cmd)
		}
		for i, a := range args {
			if strings.HasPrefix(a, "/tmp/") {
				args[i] = filepath.Join(tmp, strings.TrimPrefix(a, "/tmp/"))
			}
		}
		var stdout, stderr bytes.Buffer
		code := Main(args[1:], &stdout, &stderr)
		if code == exitBadInput {
			t.Fatalf("example command %q: exit %d: %s", cmd, code, stderr.String())
		}
		if hidden {
			continue
		}
		if asJSON {
			return docExampleJSON(t, stdout.Bytes())
		}
		fmt.Fprintf(&b, "$ %s\n", cmd)
		b.WriteString(stdout.String())
		for _, line := range strings.SplitAfter(stderr.String(), "\n") {
			if !strings.HasPrefix(line, "INFO\t") {
				b.WriteString(line)
			}
		}
	}
	return strings.ReplaceAll(b.String(), tmp+string(filepath.Separator), "/tmp/")
}

// sameExample compares a block with a fresh run: line by line, the volatile
// lines by their prefix.
func sameExample(have, want string) bool {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	if len(h) != len(w) {
		return false
	}
	for i := range h {
		if h[i] == w[i] {
			continue
		}
		volatile := false
		for _, p := range volatilePrefixes {
			volatile = volatile || strings.HasPrefix(h[i], p) && strings.HasPrefix(w[i], p)
		}
		if !volatile {
			return false
		}
	}
	return true
}

// jsonNode is a JSON value with its object keys in order.
type jsonNode struct {
	keys   []string
	vals   []*jsonNode // object values, or array elements
	array  bool
	scalar string // the value's JSON text, for a scalar
}

func readJSON(dec *json.Decoder) (*jsonNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		n := &jsonNode{array: x == '['}
		for dec.More() {
			if !n.array {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := readJSON(dec)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		_, err := dec.Token() // the closing delimiter
		return n, err
	case nil:
		return &jsonNode{scalar: "null"}, nil
	default:
		b, err := json.Marshal(x)
		return &jsonNode{scalar: string(b)}, err
	}
}

// docExampleWidth is the width abbreviated JSON lines aim at.
const docExampleWidth = 100

// docExampleJSON abbreviates a JSON report for the docs: the top-level keys
// one per line, an object on one line where it fits, else its entries
// wrapped; an array shows its first two elements and "…" for the rest.
func docExampleJSON(t *testing.T, data []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := readJSON(dec)
	if err != nil {
		t.Fatalf("example JSON: %v", err)
	}
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range root.keys {
		b.WriteString("  " + quote(k) + ": " + layout(root.vals[i], 2, len(k)+4))
		if i < len(root.keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.String()
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// compact is n on one line.
func compact(n *jsonNode) string {
	switch {
	case n.scalar != "":
		return n.scalar
	case n.array:
		if len(n.vals) == 0 {
			return "[]"
		}
		var parts []string
		for i, v := range n.vals {
			if i == 2 {
				parts = append(parts, "…")
				break
			}
			parts = append(parts, compact(v))
		}
		return "[ " + strings.Join(parts, ", ") + " ]"
	}
	if len(n.keys) == 0 {
		return "{}"
	}
	var parts []string
	for i, k := range n.keys {
		parts = append(parts, quote(k)+": "+compact(n.vals[i]))
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// layout renders n starting at column col of a line indented by indent.
func layout(n *jsonNode, indent, col int) string {
	if c := compact(n); n.scalar != "" || col+len(c) <= docExampleWidth+10 {
		return c
	}
	pad := strings.Repeat(" ", indent+2)
	var b strings.Builder
	if n.array {
		b.WriteString("[\n")
		for i, v := range n.vals {
			if i == 2 {
				b.WriteString(pad + "…\n")
				break
			}
			b.WriteString(pad + layout(v, indent+2, indent+2))
			if i < len(n.vals)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat(" ", indent) + "]")
		return b.String()
	}
	b.WriteString("{\n")
	line := ""
	flush := func() {
		if line != "" {
			b.WriteString(pad + line + "\n")
			line = ""
		}
	}
	for i, k := range n.keys {
		entry := quote(k) + ": "
		v := compact(n.vals[i])
		if indent+2+len(entry)+len(v) > docExampleWidth+10 {
			flush()
			entry += layout(n.vals[i], indent+2, indent+2+len(entry))
		} else {
			entry += v
		}
		if i < len(n.keys)-1 {
			entry += ","
		}
		if strings.Contains(entry, "\n") {
			flush()
			b.WriteString(pad + entry + "\n")
			continue
		}
		if line != "" && indent+2+len(line)+1+len(entry) > docExampleWidth {
			flush()
		}
		if line != "" {
			line += " "
		}
		line += entry
	}
	flush()
	b.WriteString(strings.Repeat(" ", indent) + "}")
	return b.String()
}

// TestDocExampleHelpers: a stale figure fails the comparison, a different
// wall time does not; the JSON abbreviation keeps key order, puts short
// objects on one line and cuts arrays after two elements.
func TestDocExampleHelpers(t *testing.T) {
	for _, c := range []struct {
		have, want string
		same       bool
	}{
		{"best 46.5 s\nwall time   1.1 s\n", "best 46.5 s\nwall time   5.1 s (10 points/s)\n", true},
		{"best 46.5 s\n", "best 48.92 s\n", false},
		{"best 46.5 s\n", "best 46.5 s\nmissing 3\n", false},
		{"sweep wall time 1 s\n", "sweep wall time 2 s\n", false},
	} {
		if got := sameExample(c.have, c.want); got != c.same {
			t.Errorf("sameExample(%q, %q) = %v", c.have, c.want, got)
		}
	}
	got := docExampleJSON(t, []byte(`{"z":1,"a":{"y":true,"b":"x"},"list":[1,2,3],"objs":[{"k":1},{"k":2},{"k":3}],"e":[]}`))
	want := "{\n  \"z\": 1,\n  \"a\": { \"y\": true, \"b\": \"x\" },\n  \"list\": [ 1, 2, … ],\n  \"objs\": [ { \"k\": 1 }, { \"k\": 2 }, … ],\n  \"e\": []\n}\n"
	if got != want {
		t.Errorf("docExampleJSON:\n%s\nwant:\n%s", got, want)
	}
}
