package topology

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"trainsim/units"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestReadTwoNodes(t *testing.T) {
	g, err := ReadGraph("two-nodes.toml", readTestdata(t, "two-nodes.toml"))
	if err != nil {
		t.Fatal(err)
	}
	n := countKinds(g)
	if g.GPUs() != 4 || n[VertexNVSwitch] != 2 || n[VertexNIC] != 4 || n[VertexLeaf] != 1 || n[VertexSpine] != 0 {
		t.Errorf("kinds %v, GPUs %d; want 4 GPUs, 2 NVSwitches, 4 NICs, 1 leaf", n, g.GPUs())
	}
	if len(g.Links) != 24 {
		t.Errorf("%d links, want 24 (12 duplex)", len(g.Links))
	}
	for id := range g.Links {
		if _, ok := g.Reverse(LinkID(id)); !ok {
			t.Errorf("%s has no reverse", g.LinkName(LinkID(id)))
		}
	}
	for src := 0; src < 4; src++ {
		for dst := 0; dst < 4; dst++ {
			checkPath(t, g, src, dst, g.Path(src, dst, 0))
		}
	}
	for _, tc := range []struct {
		src, dst int
		want     string
		latency  units.Seconds
	}{
		{0, 1, "gpu0 -> sw0, sw0 -> gpu1", 1 * units.Microsecond},
		{3, 2, "gpu3 -> sw1, sw1 -> gpu2", 1 * units.Microsecond},
		{0, 2, "gpu0 -> nic0, nic0 -> leaf0, leaf0 -> nic2, nic2 -> gpu2", 2 * units.Microsecond},
		{1, 2, "gpu1 -> nic1, nic1 -> leaf0, leaf0 -> nic2, nic2 -> gpu2", 2 * units.Microsecond},
	} {
		p := g.Path(tc.src, tc.dst, 0)
		if got := pathString(g, p); got != tc.want {
			t.Errorf("Path(%d, %d) = %s, want %s", tc.src, tc.dst, got, tc.want)
		}
		if got := g.PathLatency(p); !near(float64(got), float64(tc.latency)) {
			t.Errorf("Path(%d, %d) latency %v, want %v", tc.src, tc.dst, got, tc.latency)
		}
	}
	if got := g.Links[g.Path(0, 2, 0)[1]]; got.Tier != TierNIC || got.Capacity != 25*units.GBps {
		t.Errorf("NIC link %+v, want tier nic at 25 GB/s", got)
	}
}

// renderTOML writes g as a topology file: one [[vertex]] per vertex and one
// one-way [[link]] per link, in order, so that reading it back must give g's
// vertices and links exactly.
func renderTOML(g *Graph) string {
	var b strings.Builder
	for _, v := range g.Vertices {
		fmt.Fprintf(&b, "[[vertex]]\nname = %q\nkind = %q\n", v.Name, v.Kind)
		if v.Node >= 0 {
			fmt.Fprintf(&b, "node = %d\n", v.Node)
		}
	}
	for _, l := range g.Links {
		fmt.Fprintf(&b, "[[link]]\nfrom = %q\nto = %q\nbandwidth = \"%sB/s\"\nlatency = \"%ss\"\ntier = %q\n",
			g.Vertices[l.From].Name, g.Vertices[l.To].Name,
			strconv.FormatFloat(float64(l.Capacity), 'g', -1, 64), strconv.FormatFloat(float64(l.Latency), 'g', -1, 64), l.Tier)
	}
	return b.String()
}

// TestReadBuiltGraph reads back the graph Build makes, written as a file, and
// checks that the breadth-first routing of file graphs finds the routes
// Build's template gives (up to the choice of spine) in a fat tree, where
// the shortest path is unique up to that choice.
func TestReadBuiltGraph(t *testing.T) {
	built := mustBuild(t, testCluster(FatTree, 6, 4, 4, 2, 2))
	read, err := ReadGraph("built.toml", []byte(renderTOML(built)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read.Vertices, built.Vertices) || !reflect.DeepEqual(read.Links, built.Links) {
		t.Fatal("the graph read back differs from the one written")
	}
	if read.GPUs() != built.GPUs() {
		t.Fatalf("%d GPUs read back, want %d", read.GPUs(), built.GPUs())
	}
	spines := map[string]bool{}
	for src := 0; src < built.GPUs(); src++ {
		for dst := 0; dst < built.GPUs(); dst++ {
			for key := uint64(0); key < 2; key++ {
				a, b := built.Path(src, dst, key), read.Path(src, dst, key)
				checkPath(t, read, src, dst, b)
				if len(a) != len(b) {
					t.Fatalf("%d -> %d: built %s, read %s", src, dst, pathString(built, a), pathString(read, b))
				}
				for i := range a {
					la, lb := built.Links[a[i]], built.Links[b[i]]
					if la.Tier == TierSpine && lb.Tier == TierSpine {
						spines[read.LinkName(b[i])] = true
						continue
					}
					if a[i] != b[i] {
						t.Fatalf("%d -> %d: built %s, read %s", src, dst, pathString(built, a), pathString(read, b))
					}
				}
				if !reflect.DeepEqual(b, read.Path(src, dst, key)) {
					t.Fatalf("%d -> %d key %d: two calls differ", src, dst, key)
				}
			}
		}
	}
	// 3 leaves × 4 spines (8 down ports / oversubscription 2), both ways:
	// the hash spreads the cross-leaf pairs over all of them.
	if len(spines) != 3*4*2 {
		t.Errorf("file routing used %d of the 24 leaf-spine links", len(spines))
	}
}

func TestReadGraphInfersTier(t *testing.T) {
	src := `
[[vertex]]
name = "a"
kind = "gpu"
node = 0
[[vertex]]
name = "b"
kind = "gpu"
node = 1
[[vertex]]
name = "n0"
kind = "nic"
node = 0
[[vertex]]
name = "n1"
kind = "nic"
node = 1
[[vertex]]
name = "l0"
kind = "leaf"
[[vertex]]
name = "l1"
kind = "leaf"
[[vertex]]
name = "s"
kind = "spine"
[[link]]
from = "a"
to = "n0"
bandwidth = "32GB/s"
duplex = true
[[link]]
from = "n0"
to = "l0"
bandwidth = "200Gb/s"
duplex = true
[[link]]
from = "l0"
to = "s"
bandwidth = "400Gb/s"
duplex = true
[[link]]
from = "s"
to = "l1"
bandwidth = "400Gb/s"
duplex = true
[[link]]
from = "l1"
to = "n1"
bandwidth = "200Gb/s"
duplex = true
[[link]]
from = "n1"
to = "b"
bandwidth = "32GB/s"
duplex = true
`
	g, err := ReadGraph("infer.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var tiers []Tier
	for _, id := range g.Path(0, 1, 0) {
		tiers = append(tiers, g.Links[id].Tier)
	}
	if want := []Tier{TierPCIe, TierNIC, TierSpine, TierSpine, TierNIC, TierPCIe}; !reflect.DeepEqual(tiers, want) {
		t.Errorf("tiers %v, want %v", tiers, want)
	}
	if v := g.Vertices[4]; v.Node != -1 {
		t.Errorf("leaf without node: Node = %d, want -1", v.Node)
	}
}

func TestReadGraphErrors(t *testing.T) {
	const gpus = "[[vertex]]\nname = \"g0\"\nkind = \"gpu\"\nnode = 0\n[[vertex]]\nname = \"g1\"\nkind = \"gpu\"\nnode = 0\n"
	const sw = "[[vertex]]\nname = \"sw\"\nkind = \"nvswitch\"\nnode = 0\n"
	const links = "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"300GB/s\"\nduplex = true\n" +
		"[[link]]\nfrom = \"g1\"\nto = \"sw\"\nbandwidth = \"300GB/s\"\nduplex = true\n"
	// Line numbers: the gpus and sw entries take lines 1-12; the links
	// start at 13 and 18.
	if _, err := ReadGraph("ok.toml", []byte(gpus+sw+links)); err != nil {
		t.Fatalf("the base of the cases does not read: %v", err)
	}
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"syntax", "[[vertex]]\nname = = 1\n", []string{"bad.toml:2: invalid TOML"}},
		{"empty", "", []string{"bad.toml: no [[vertex]] entries"}},
		{"vertex not a table array", "vertex = 3", []string{"bad.toml: vertex: want [[vertex]] tables, got the integer 3"}},
		{"unknown top-level key", "name = \"x\"\n" + gpus + sw + links, []string{"bad.toml: name: unknown key (allowed: [[vertex]] and [[link]] tables)"}},
		{"unknown table", "[meta]\nx = 1\n" + gpus + sw + links, []string{"bad.toml: meta: unknown key"}},
		{"unknown vertex key", gpus + "[[vertex]]\nname = \"sw\"\nkind = \"nvswitch\"\nnode = 0\nports = 64\n" + links,
			[]string{"bad.toml:9: vertex[2]: ports: unknown key (allowed: name, kind, node)"}},
		{"unknown link key", gpus + sw + links + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"1GB/s\"\nspeed = 3\n",
			[]string{"bad.toml:23: link[2]: speed: unknown key (allowed: from, to, bandwidth, latency, tier, duplex)"}},
		{"missing name and kind", "[[vertex]]\nnode = 0\n", []string{"vertex[0]: name: required", "vertex[0]: kind: required"}},
		{"empty name", "[[vertex]]\nname = \"\"\nkind = \"gpu\"\nnode = 0\n", []string{"vertex[0]: name: must not be empty"}},
		{"duplicate name", gpus + sw + "[[vertex]]\nname = \"g1\"\nkind = \"nic\"\n" + links,
			[]string{`bad.toml:13: vertex[3]: name: "g1" is also the name of vertex[1]`}},
		{"bad kind", "[[vertex]]\nname = \"x\"\nkind = \"router\"\n",
			[]string{`vertex[0]: kind: "router" is not a vertex kind (allowed: gpu, nvswitch, nic, leaf, spine)`}},
		{"gpu without node", "[[vertex]]\nname = \"x\"\nkind = \"gpu\"\n", []string{"vertex[0]: node: required for a gpu"}},
		{"negative node", "[[vertex]]\nname = \"x\"\nkind = \"gpu\"\nnode = -2\n", []string{"vertex[0]: node: want an integer from 0 to"}},
		{"node not an integer", "[[vertex]]\nname = \"x\"\nkind = \"gpu\"\nnode = 1.5\n", []string{"vertex[0]: node: want an integer from 0 to 2147483647, got the number 1.5"}},
		{"no gpu", sw, []string{`bad.toml: no vertex of kind "gpu"`}},
		{"unknown endpoint", gpus + sw + links + "[[link]]\nfrom = \"g0\"\nto = \"sw9\"\nbandwidth = \"1GB/s\"\n",
			[]string{`bad.toml:23: link[2]: to: "sw9" is not the name of a [[vertex]]`}},
		{"self loop", gpus + sw + links + "[[link]]\nfrom = \"g0\"\nto = \"g0\"\nbandwidth = \"1GB/s\"\n",
			[]string{`link[2]: to: "g0" is also the link's from`}},
		{"missing bandwidth", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\n", []string{"link[0]: bandwidth: required"}},
		{"bandwidth without unit", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"300\"\n",
			[]string{"link[0]: bandwidth:", "is not a bandwidth (want e.g. GB/s or Gb/s)"}},
		{"bandwidth a number", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = 300\n",
			[]string{"link[0]: bandwidth: want a string, got the integer 300"}},
		{"zero bandwidth", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"0GB/s\"\n",
			[]string{`link[0]: bandwidth: "0GB/s": must be positive and finite`}},
		{"negative latency", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"1GB/s\"\nlatency = \"-1us\"\n",
			[]string{"link[0]: latency:", "negative"}},
		{"bad tier", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"1GB/s\"\ntier = \"ethernet\"\n",
			[]string{`link[0]: tier: "ethernet" is not a link tier (allowed: nvlink, pcie, nic, leaf-spine)`}},
		{"tier not inferable", gpus + "[[vertex]]\nname = \"l\"\nkind = \"leaf\"\n[[link]]\nfrom = \"g0\"\nto = \"l\"\nbandwidth = \"1GB/s\"\n",
			[]string{"link[0]: tier: cannot tell the tier of a gpu-leaf link; set it (allowed: nvlink, pcie, nic, leaf-spine)"}},
		{"duplex not a boolean", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"1GB/s\"\nduplex = \"yes\"\n",
			[]string{`link[0]: duplex: want true or false, got the string "yes"`}},
		{"one-way links", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"1GB/s\"\n[[link]]\nfrom = \"sw\"\nto = \"g1\"\nbandwidth = \"1GB/s\"\n",
			[]string{`bad.toml: gpu "g1" cannot reach gpu "g0" (a link is one-way unless duplex = true)`}},
		{"disconnected", gpus + sw + "[[link]]\nfrom = \"g0\"\nto = \"sw\"\nbandwidth = \"1GB/s\"\nduplex = true\n",
			[]string{`gpu "g1" cannot be reached from gpu "g0"`, `gpu "g1" cannot reach gpu "g0"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ReadGraph("bad.toml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error (%d vertices, %d links)", len(g.Vertices), len(g.Links))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not say %q", err, w)
				}
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != "bad.toml" {
				t.Errorf("error %v is not a *FileError of bad.toml", err)
			}
		})
	}
}

// TestReadGraphAllErrors checks that one read reports every problem.
func TestReadGraphAllErrors(t *testing.T) {
	src := "[[vertex]]\nname = \"a\"\nkind = \"gpu\"\n[[vertex]]\nname = \"b\"\nkind = \"switch\"\n[[link]]\nfrom = \"a\"\nto = \"c\"\nbandwidth = \"fast\"\n"
	_, err := ReadGraph("many.toml", []byte(src))
	want := []string{
		"many.toml:1: vertex[0]: node: required for a gpu",
		"many.toml:4: vertex[1]: kind: \"switch\" is not a vertex kind",
		"many.toml:7: link[0]: to: \"c\" is not the name of a [[vertex]]",
		"many.toml:7: link[0]: bandwidth:",
	}
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(lines), len(want), err)
	}
	for i := range min(len(lines), len(want)) {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("problem %d: %q, want it to start %q", i, lines[i], want[i])
		}
	}
}

func FuzzReadGraph(f *testing.F) {
	f.Add(readTestdata(f, "two-nodes.toml"))
	f.Add([]byte(renderTOML(mustBuild(f, testCluster(RailOptimized, 2, 2, 2, 1, 1)))))
	f.Add([]byte("[[vertex]]\nname = \"a\"\nkind = \"gpu\"\nnode = 0\n"))
	f.Add([]byte("[[vertex]]\nname = \"a\"\nkind = \"gpu\"\nnode = 0\n[[vertex]]\nname = \"b\"\nkind = \"gpu\"\nnode = 0\n" +
		"[[link]]\nfrom = \"a\"\nto = \"b\"\nbandwidth = \"1GB/s\"\nduplex = true\n"))
	f.Add([]byte("vertex = [{name = \"a\", kind = \"gpu\", node = 0}]\nlink = []\n"))
	f.Add([]byte("[[link]]\nfrom = 1\nto = [2]\nbandwidth = {x = 1}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := ReadGraph("fuzz.toml", src)
		if err != nil {
			if g != nil {
				t.Fatal("a graph and an error")
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			return
		}
		n := g.GPUs()
		if n == 0 {
			t.Fatal("a graph without GPUs")
		}
		for _, pair := range [][2]int{{0, n - 1}, {n - 1, 0}, {n / 2, 0}, {0, 0}} {
			checkPath(t, g, pair[0], pair[1], g.Path(pair[0], pair[1], uint64(len(src))))
		}
	})
}

// TestGraphLatencies: the link latencies of a topology file give the
// intra-node and inter-node latencies the flow mode prices collectives with;
// a file without latencies gives none (the generic ones stand).
func TestGraphLatencies(t *testing.T) {
	src := readTestdata(t, "two-nodes.toml")
	g, err := ReadGraph("two-nodes.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	intra, inter, hasIntra, hasInter, ok := g.Latencies()
	if !ok || !hasIntra || !hasInter || !near(float64(intra), 1e-6) || !near(float64(inter), 2e-6) {
		t.Fatalf("Latencies = %v %v %v %v %v, want 1 µs inside a node (2 × 0.5 µs NVLink), 2 µs across (2 × 1 µs NIC–leaf)", intra, inter, hasIntra, hasInter, ok)
	}
	var kept []string
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "latency") {
			kept = append(kept, line)
		}
	}
	g, err = ReadGraph("no-latency.toml", []byte(strings.Join(kept, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, ok := g.Latencies(); ok {
		t.Error("a file without latencies claims some")
	}
}
