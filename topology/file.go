package topology

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"trainsim/inputfile"
	"trainsim/units"
)

// ReadGraph reads an explicit network graph from src, the TOML text of the
// file called name (used in messages only):
//
//	[[vertex]]
//	name = "gpu0"     # unique; required
//	kind = "gpu"      # gpu, nvswitch, nic, leaf or spine; required
//	node = 0          # the node the vertex is in; required for a gpu, else -1 when omitted
//
//	[[link]]
//	from = "gpu0"            # vertex names; required
//	to = "sw0"
//	bandwidth = "300GB/s"    # per direction; required, positive
//	latency = "0.5us"        # default 0
//	tier = "nvlink"          # nvlink, pcie, nic or leaf-spine; inferred from the endpoint kinds when omitted
//	duplex = true            # also add the reverse link; default false
//
// GPUs are ranked in the order their vertices appear. Links get IDs in file
// order, a duplex link's reverse right after it. Every GPU must be able to
// reach every other one. Paths in the graph are shortest by hop count, ties
// broken by the ECMP hash (see Graph.Path); hop count ignores capacity, so a
// file should not offer two equally short routes of different kinds (e.g.
// two GPUs sharing a NIC and an NVSwitch) unless either will do.
//
// On any problem ReadGraph returns every problem found, joined, each a
// *FileError naming the file, the line where known, the entry (vertex[i] or
// link[i], counting from 0), the key and what is allowed. Unknown keys are
// errors.
func ReadGraph(name string, src []byte) (*Graph, error) {
	r := &graphReader{file: name}
	var doc struct {
		Vertex []map[string]any `toml:"vertex"`
		Link   []map[string]any `toml:"link"`
	}
	var de *inputfile.DepthError
	if err := inputfile.CheckDepth(src); errors.As(err, &de) {
		r.add(de.Line, "", "", err.Error())
		return nil, r.err()
	}
	md, err := toml.Decode(string(src), &doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			r.add(pe.Position.Line, "", "", "invalid TOML: "+pe.Message)
		} else {
			r.wrongShape(src, err)
		}
		return nil, r.err()
	}
	// Keys inside the entries are checked entry by entry below, so that a
	// message can name the entry; Undecoded reports the others. A table of
	// unknown keys is reported once, by its name.
	reported := map[string]bool{}
	for _, k := range md.Undecoded() {
		if len(k) == 0 || k[0] == "vertex" || k[0] == "link" || reported[k[0]] {
			continue
		}
		reported[k[0]] = true
		r.add(0, "", toml.Key(k[:1]).String(), "unknown key (allowed: [[vertex]] and [[link]] tables)")
	}
	r.vertexLines = headerLines(src, "vertex", len(doc.Vertex))
	r.linkLines = headerLines(src, "link", len(doc.Link))
	if len(doc.Vertex) == 0 {
		r.add(0, "", "", "no [[vertex]] entries; a topology needs at least one gpu")
	}

	g := &Graph{Vertices: make([]Vertex, 0, len(doc.Vertex))}
	// byName gives the vertex of each name, entryOf its entry.
	byName := make(map[string]int32, len(doc.Vertex))
	entryOf := make(map[string]int, len(doc.Vertex))
	for i, e := range doc.Vertex {
		r.entry, r.line = "vertex["+strconv.Itoa(i)+"]", lineOf(r.vertexLines, i)
		r.unknownKeys(e, vertexKeys)
		v := Vertex{Node: -1}
		vname, nameOK := r.str(e, "name", true)
		if nameOK && vname == "" {
			r.addKey("name", "must not be empty")
			nameOK = false
		}
		v.Name = vname
		if nameOK {
			if j, dup := entryOf[vname]; dup {
				r.addKey("name", fmt.Sprintf("%q is also the name of vertex[%d]", vname, j))
				nameOK = false
			} else {
				byName[vname] = int32(len(g.Vertices))
				entryOf[vname] = i
			}
		}
		kindOK := false
		if s, ok := r.str(e, "kind", true); ok {
			if v.Kind, kindOK = ParseVertexKind(s); !kindOK {
				r.addKey("kind", fmt.Sprintf("%q is not a vertex kind (allowed: %s)", s, strings.Join(kindNames[:], ", ")))
			}
		}
		if x, present := e["node"]; present {
			n, ok := x.(int64)
			if !ok || n < 0 || n > math.MaxInt32 {
				r.addKey("node", fmt.Sprintf("want an integer from 0 to %d, got %s", math.MaxInt32, describeTOML(x)))
			} else {
				v.Node = int(n)
			}
		} else if kindOK && v.Kind == VertexGPU {
			r.addKey("node", "required for a gpu (the node the GPU is in, from 0)")
		}
		if nameOK {
			if kindOK && v.Kind == VertexGPU {
				g.gpus = append(g.gpus, int32(len(g.Vertices)))
			}
			g.Vertices = append(g.Vertices, v)
		}
	}
	if len(doc.Vertex) > 0 && len(g.gpus) == 0 && len(r.errs) == 0 {
		r.add(0, "", "", `no vertex of kind "gpu"`)
	}

	for i, e := range doc.Link {
		r.entry, r.line = "link["+strconv.Itoa(i)+"]", lineOf(r.linkLines, i)
		r.unknownKeys(e, linkKeys)
		from, fromOK := r.vertex(e, "from", byName)
		to, toOK := r.vertex(e, "to", byName)
		if fromOK && toOK && from == to {
			r.addKey("to", fmt.Sprintf("%q is also the link's from; a link joins two different vertices", g.Vertices[to].Name))
		}
		l := GraphLink{From: from, To: to}
		ok := fromOK && toOK && from != to
		if s, present := r.str(e, "bandwidth", true); present {
			b, err := units.ParseBandwidth(s)
			switch {
			case err != nil:
				r.addKey("bandwidth", err.Error())
				ok = false
			case !(b > 0) || math.IsInf(float64(b), 0):
				r.addKey("bandwidth", fmt.Sprintf("%q: must be positive and finite", s))
				ok = false
			}
			l.Capacity = b
		} else {
			ok = false
		}
		if s, present := r.str(e, "latency", false); present {
			lat, err := units.ParseSeconds(s)
			if err != nil {
				r.addKey("latency", err.Error())
				ok = false
			}
			l.Latency = lat
		}
		if _, present := e["tier"]; present {
			s, isStr := r.str(e, "tier", false)
			t, known := ParseTier(s)
			if isStr && !known {
				r.addKey("tier", fmt.Sprintf("%q is not a link tier (allowed: %s)", s, strings.Join(tierNames[:], ", ")))
			}
			ok = ok && known
			l.Tier = t
		} else if fromOK && toOK {
			t, known := inferTier(g.Vertices[from].Kind, g.Vertices[to].Kind)
			if !known {
				r.addKey("tier", fmt.Sprintf("cannot tell the tier of a %s-%s link; set it (allowed: %s)",
					g.Vertices[from].Kind, g.Vertices[to].Kind, strings.Join(tierNames[:], ", ")))
				ok = false
			}
			l.Tier = t
		}
		duplex := false
		if x, present := e["duplex"]; present {
			b, isBool := x.(bool)
			if !isBool {
				r.addKey("duplex", "want true or false, got "+describeTOML(x))
			}
			duplex = b
		}
		if !ok {
			continue
		}
		g.Links = append(g.Links, l)
		if duplex {
			l.From, l.To = l.To, l.From
			g.Links = append(g.Links, l)
		}
	}
	if len(r.errs) > 0 {
		return nil, r.err()
	}
	g.index()
	r.entry, r.line = "", 0
	r.checkReach(g)
	if len(r.errs) > 0 {
		return nil, r.err()
	}
	return g, nil
}

// wrongShape reports a file that is valid TOML but whose vertex or link is
// not an array of tables; err is the decoder's own message, the fallback.
func (r *graphReader) wrongShape(src []byte, err error) {
	var doc map[string]any
	if _, err := toml.Decode(string(src), &doc); err == nil {
		n := len(r.errs)
		for _, key := range []string{"vertex", "link"} {
			x, present := doc[key]
			if _, ok := x.([]map[string]any); present && !ok {
				r.add(0, "", key, fmt.Sprintf("want [[%s]] tables, got %s", key, describeTOML(x)))
			}
		}
		if len(r.errs) > n {
			return
		}
	}
	r.add(0, "", "", "invalid topology file: "+err.Error())
}

// FileError is one problem with a topology file.
type FileError struct {
	File string
	// Line is the line of the entry's table header, or 0 when unknown.
	Line int
	// Entry is "vertex[i]" or "link[i]" (i counting from 0), or empty for
	// the file as a whole.
	Entry string
	// Key is the key at fault, or empty.
	Key string
	Msg string
}

// Error formats e as "file:line: entry: key: message", leaving out the parts
// that are unknown or empty.
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	for _, s := range []string{e.Entry, e.Key} {
		if s != "" {
			b.WriteString(": ")
			b.WriteString(s)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

var (
	vertexKeys = []string{"name", "kind", "node"}
	linkKeys   = []string{"from", "to", "bandwidth", "latency", "tier", "duplex"}
)

// graphReader collects the problems of one ReadGraph.
type graphReader struct {
	file                   string
	entry                  string
	line                   int
	vertexLines, linkLines []int
	errs                   []error
}

func (r *graphReader) add(line int, entry, key, msg string) {
	r.errs = append(r.errs, &FileError{File: r.file, Line: line, Entry: entry, Key: key, Msg: msg})
}

// addKey reports a problem with key in the current entry.
func (r *graphReader) addKey(key, msg string) { r.add(r.line, r.entry, key, msg) }

func (r *graphReader) err() error { return errors.Join(r.errs...) }

// unknownKeys reports the keys of e that are not in allowed, in sorted order.
func (r *graphReader) unknownKeys(e map[string]any, allowed []string) {
	var unknown []string
	for k := range e {
		if !hasString(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		r.addKey(k, "unknown key (allowed: "+strings.Join(allowed, ", ")+")")
	}
}

// str returns the string value of key; ok is false when it is missing
// (reported if required) or not a string (reported).
func (r *graphReader) str(e map[string]any, key string, required bool) (s string, ok bool) {
	x, present := e[key]
	if !present {
		if required {
			r.addKey(key, "required")
		}
		return "", false
	}
	if s, ok = x.(string); !ok {
		r.addKey(key, "want a string, got "+describeTOML(x))
	}
	return s, ok
}

// vertex returns the vertex named by the value of key.
func (r *graphReader) vertex(e map[string]any, key string, byName map[string]int32) (int32, bool) {
	s, ok := r.str(e, key, true)
	if !ok {
		return -1, false
	}
	v, ok := byName[s]
	if !ok {
		r.addKey(key, fmt.Sprintf("%q is not the name of a [[vertex]]", s))
		return -1, false
	}
	return v, true
}

// checkReach reports the GPUs that cannot reach, or cannot be reached from,
// the first GPU; reachability being transitive, every GPU then reaches
// every other. It names at most a few of them.
func (r *graphReader) checkReach(g *Graph) {
	if len(g.gpus) < 2 {
		return
	}
	first := g.gpus[0]
	for _, dir := range []struct {
		next func(v int) []LinkID
		end  func(l GraphLink) int32
		msg  string
	}{
		{g.Out, func(l GraphLink) int32 { return l.To }, "cannot be reached from gpu %q"},
		{g.In, func(l GraphLink) int32 { return l.From }, "cannot reach gpu %q"},
	} {
		seen := make([]bool, len(g.Vertices))
		seen[first] = true
		queue := []int32{first}
		for i := 0; i < len(queue); i++ {
			for _, id := range dir.next(int(queue[i])) {
				if w := dir.end(g.Links[id]); !seen[w] {
					seen[w] = true
					queue = append(queue, w)
				}
			}
		}
		reported := 0
		for _, v := range g.gpus {
			if seen[v] {
				continue
			}
			if reported++; reported > 3 {
				r.add(0, "", "", "... and more GPUs")
				break
			}
			r.add(0, "", "", fmt.Sprintf("gpu %q "+dir.msg+" (a link is one-way unless duplex = true)", g.Vertices[v].Name, g.Vertices[first].Name))
		}
	}
}

// inferTier is the tier of a link between vertices of kinds a and b, when
// their kinds tell it: GPU/NVSwitch to GPU/NVSwitch is NVLink, GPU to NIC is
// PCIe, NIC to NIC or switch is NIC, switch to switch is leaf-spine.
func inferTier(a, b VertexKind) (Tier, bool) {
	if a > b {
		a, b = b, a
	}
	switch {
	case b <= VertexNVSwitch:
		return TierNVLink, true
	case a == VertexGPU && b == VertexNIC:
		return TierPCIe, true
	case a == VertexNIC:
		return TierNIC, true
	case a >= VertexLeaf:
		return TierSpine, true
	}
	return 0, false
}

// headerLines returns the 1-based lines of the [[table]] headers of src, in
// order, or nil when it does not find exactly want of them. It reads lines,
// not TOML: a header inside a multi-line string, or entries written as an
// inline array, would fool it, so it gives up when the count is off.
func headerLines(src []byte, table string, want int) []int {
	var lines []int
	for i, line := range strings.Split(string(src), "\n") {
		s := strings.TrimSpace(line)
		if !strings.HasPrefix(s, "[[") {
			continue
		}
		end := strings.Index(s, "]]")
		if end < 0 {
			continue
		}
		if strings.TrimSpace(s[2:end]) == table {
			lines = append(lines, i+1)
		}
	}
	if len(lines) != want {
		return nil
	}
	return lines
}

// lineOf returns the line of entry i, or 0 when unknown.
func lineOf(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// describe names the TOML type of a decoded value, for messages.
func describeTOML(x any) string {
	switch v := x.(type) {
	case string:
		return "the string " + strconv.Quote(v)
	case int64:
		return "the integer " + strconv.FormatInt(v, 10)
	case float64:
		return "the number " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "the boolean " + strconv.FormatBool(v)
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	}
	return fmt.Sprintf("a %T", x)
}
