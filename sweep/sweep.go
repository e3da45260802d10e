package sweep

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"

	"trainsim/inputfile"
	"trainsim/report"
	"trainsim/scenario"
	"trainsim/scenarios"
)

// Objective is what [search] ranks feasible points by; smaller is better.
type Objective string

const (
	// StepTime ranks by the report's step_time_s.
	StepTime Objective = "step_time_s"
	// Cost ranks by GPU-hours to train on training.tokens (the report's
	// gpu_hours: step time × GPUs × steps needed); when training.tokens is 0,
	// by GPU-hours per token (GPUs ÷ tokens_per_s ÷ 3600), which orders the
	// points the same way for any fixed token count.
	Cost Objective = "cost"
)

// Value reads the objective off a report.
func (o Objective) Value(r *report.Report) float64 {
	if o == Cost {
		if r.Tokens > 0 {
			return r.GPUHours
		}
		if r.TokensPerS > 0 {
			return float64(r.GPUs) / r.TokensPerS / 3600
		}
		return math.Inf(1)
	}
	return r.StepTimeS
}

// Top-level keys of a sweep file besides the scenario's own.
const (
	baseKey   = "base"
	gridKey   = "grid"
	searchKey = "search"
)

// maxPoints bounds the size of a grid, so that indices fit any int and a
// typo (a 10⁹-point grid) is caught before anything runs.
const maxPoints = 1 << 30

// Axis is one key of the grid and the values it takes.
type Axis struct {
	// Key is the dotted scenario key, e.g. "parallelism.tp".
	Key string
	// Line is where the key is set in the sweep file (0 when unknown).
	Line int
	// Values are int64, float64, string or bool, in the order written.
	Values []any
}

// Param is one grid key and its value at a point.
type Param struct {
	Key   string
	Value any
}

// Input is what Parse reads. The package opens no files: ReadBase is how it
// gets the base scenario.
type Input struct {
	// File is the sweep file's name, for messages and to resolve base.
	File string
	// Src is the sweep file's TOML text.
	Src []byte
	// ReadBase returns the text of the base scenario at path, which is the
	// base key joined to File's directory (or base itself when absolute).
	// Only called when the sweep names a base.
	ReadBase func(path string) ([]byte, error)
	// Sets are --set KEY=VALUE overrides applied to every point, after the
	// sweep's inline tables and before the grid values.
	Sets []string
	// ReadFile returns the text of a file the points name (calibration.file,
	// cluster.network.file), at the path Sweep.Path resolves; nil: ReadBase.
	// Parse reads each such file once, so that one that cannot be read is a
	// problem of the sweep (before any point runs), and its contents go into
	// the fingerprint.
	ReadFile func(path string) ([]byte, error)
}

// Sweep is a parsed, checked sweep: a base scenario, the overrides every
// point shares, and the grid.
type Sweep struct {
	// File is the sweep file's name.
	File string
	// Base is the path of the base scenario file; empty when the sweep's
	// inline tables are the whole scenario.
	Base string
	// Axes are the grid's keys in the order the file sets them. Points are
	// enumerated with the last axis varying fastest.
	Axes []Axis
	// Objective ranks feasible points (StepTime unless [search] says).
	Objective Objective
	// Keep is [search] keep: the number of best feasible points the CSV
	// output holds (0: every point, in point order).
	Keep int

	scenarioFile string // the name scenario.Load sees: Base, or File without one
	baseSrc      []byte // the base scenario's text (nil without a base)
	builtinBase  bool   // base = "default": the embedded default scenario
	// parsed is baseSrc decoded once for every point's Load (parsedBase).
	parsed      *scenario.Parsed
	parsedMu    sync.Mutex
	shared      []string // inline overrides, then the --set ones
	inlineLines map[string]int
	flagKeys    map[string]bool
	name        string // scenario name of points that cannot be loaded
	// files are the files the points name, in the order first named, with
	// a hash of their contents, for the fingerprint.
	files []namedFile
}

// Parse reads a sweep file and checks it: its own keys ([grid], [search],
// base), that every grid key is a scenario key, that every grid value has
// the kind its key takes, and that the base scenario and the inline tables
// hold no unknown keys or values of the wrong kind. Problems that depend on
// the combination of values (a TP degree that does not divide the heads) are
// left to each point. On failure the error is a scenario.ErrorList, one
// "file:line: key: what is wrong" per problem.
func Parse(in Input) (*Sweep, error) {
	p := &parser{in: in, s: &Sweep{File: in.File, Objective: StepTime, inlineLines: map[string]int{}, flagKeys: map[string]bool{}}}
	p.parse()
	if !p.fatal {
		// Even after problems with the sweep's own keys, the grid keys and
		// values that were read can be checked.
		p.probe()
	}
	if len(p.errs) == 0 {
		p.files()
	}
	if len(p.errs) > 0 {
		return nil, p.list()
	}
	p.s.name = p.defaultName()
	return p.s, nil
}

type parser struct {
	in    Input
	s     *Sweep
	doc   map[string]any
	lines map[string]int // toml.Key.String() of every key of the sweep file → line
	errs  scenario.ErrorList
	seen  map[string]bool
	top   map[string]bool // top-level scenario keys seen: known or not
	// fatal is set when the sweep file or its base cannot be read, so that
	// loading points would only repeat that.
	fatal bool
}

func (p *parser) add(line int, key, msg string) {
	p.addIn(p.in.File, line, key, msg)
}

func (p *parser) addIn(file string, line int, key, msg string) {
	e := &scenario.Error{File: file, Line: line, Key: key, Msg: msg}
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[e.Error()] {
		p.seen[e.Error()] = true
		p.errs = append(p.errs, e)
	}
}

// list returns the problems sorted: the sweep file's by line, then the base
// file's by line, then those of --set flags, each group stable.
func (p *parser) list() scenario.ErrorList {
	rank := func(e *scenario.Error) int {
		switch e.File {
		case p.in.File:
			return 0
		case scenario.SetFile:
			return 2
		}
		return 1
	}
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i], p.errs[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		return a.Line < b.Line
	})
	return p.errs
}

// lineProbe fails to decode, so that the TOML decoder's error says on which
// line the key it was asked to decode is.
type lineProbe struct{}

var errLineProbe = errors.New("line probe")

func (lineProbe) UnmarshalTOML(any) error { return errLineProbe }

// keyLines returns the line of every key and table of a decoded file, by
// toml.Key.String.
func keyLines(md toml.MetaData, top map[string]toml.Primitive) map[string]int {
	lines := map[string]int{}
	var walk func(path toml.Key, m map[string]toml.Primitive)
	walk = func(path toml.Key, m map[string]toml.Primitive) {
		for name, prim := range m {
			kp := append(append(toml.Key(nil), path...), name)
			var pe toml.ParseError
			if err := md.PrimitiveDecode(prim, lineProbe{}); errors.As(err, &pe) && pe.Line > 0 {
				lines[kp.String()] = pe.Line
			}
			var sub map[string]toml.Primitive
			if md.PrimitiveDecode(prim, &sub) == nil {
				walk(kp, sub)
			}
		}
	}
	walk(nil, top)
	return lines
}

// lineOf returns the line of key, or of its closest enclosing table.
func (p *parser) lineOf(key toml.Key) int {
	for n := len(key); n > 0; n-- {
		if l, ok := p.lines[key[:n].String()]; ok {
			return l
		}
	}
	return 0
}

func (p *parser) parse() {
	var top map[string]toml.Primitive
	var de *inputfile.DepthError
	if err := inputfile.CheckDepth(p.in.Src); errors.As(err, &de) {
		p.fatal = true
		p.add(de.Line, "", err.Error())
		return
	}
	md, err := toml.Decode(string(p.in.Src), &top)
	if err != nil {
		p.fatal = true
		var pe toml.ParseError
		isParse := errors.As(err, &pe)
		if num, ok := strings.CutSuffix(pe.Message, " is out of range for int64"); isParse && ok && pe.LastKey != "" {
			// A [grid] value names the scenario key it sweeps.
			key := strings.TrimPrefix(pe.LastKey, "grid.")
			p.add(pe.Position.Line, key, scenario.PastInt64(key, num))
		} else if isParse {
			p.add(pe.Position.Line, "", "invalid TOML: "+pe.Message)
		} else {
			p.add(0, "", "invalid TOML: "+err.Error())
		}
		return
	}
	if _, err := toml.Decode(string(p.in.Src), &p.doc); err != nil {
		p.fatal = true
		p.add(0, "", "invalid TOML: "+err.Error())
		return
	}
	p.lines = keyLines(md, top)

	hasGrid := false
	for _, k := range md.Keys() {
		v, ok := lookup(p.doc, k)
		if !ok {
			continue // inside an array of tables: part of its array's value
		}
		_, isTable := v.(map[string]any)
		switch k[0] {
		case baseKey:
			if len(k) == 1 {
				p.base(v)
			}
		case gridKey:
			hasGrid = true
			if len(k) == 1 {
				if !isTable {
					p.add(p.lineOf(k), gridKey, fmt.Sprintf("want a table of keys and arrays of values ([grid] with \"parallelism.tp\" = [4, 8]), got %s", describe(v)))
				}
				continue
			}
			if !isTable {
				p.axis(k, v)
			}
		case searchKey:
			if len(k) == 1 && !isTable {
				p.add(p.lineOf(k), searchKey, fmt.Sprintf("want a table ([search] with objective and keep), got %s", describe(v)))
			}
			if len(k) == 2 {
				p.search(k, v)
			}
		default:
			if p.knownTop(k) && !isTable {
				p.inline(k, v)
			}
		}
	}
	switch {
	case !hasGrid:
		p.add(0, gridKey, "missing: a sweep needs a [grid] table, e.g. \"parallelism.tp\" = [4, 8]")
	case len(p.s.Axes) == 0 && len(p.errs) == 0:
		p.add(p.lineOf(toml.Key{gridKey}), gridKey, "empty: give at least one key with an array of values, e.g. \"parallelism.tp\" = [4, 8]")
	}
	if n := p.s.Len(); n > maxPoints {
		p.add(p.lineOf(toml.Key{gridKey}), gridKey, fmt.Sprintf("%d points is more than the %d a sweep may have", n, maxPoints))
	}
	p.flagSets()
}

// lookup finds the value at path in a decoded document; ok is false when
// the path runs through an array.
func lookup(doc map[string]any, path toml.Key) (any, bool) {
	var v any = doc
	for _, part := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

func (p *parser) base(v any) {
	k := toml.Key{baseKey}
	s, ok := v.(string)
	if !ok || s == "" {
		p.fatal = true
		p.add(p.lineOf(k), baseKey, fmt.Sprintf("want the path of a scenario file, relative to the sweep file, or \"default\" for the built-in default, got %s", describe(v)))
		return
	}
	if s == scenarios.DefaultName {
		// base = "default": the built-in default scenario (sim scenario
		// default); a file called default is written "./default".
		p.s.Base, p.s.baseSrc = scenarios.Default()
		p.s.builtinBase = true
		return
	}
	path := s
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.in.File), s)
	}
	if p.in.ReadBase == nil {
		p.fatal = true
		p.add(p.lineOf(k), baseKey, "no way to read the base scenario (ReadBase is nil)")
		return
	}
	src, err := p.in.ReadBase(path)
	if err != nil {
		p.fatal = true
		p.add(p.lineOf(k), baseKey, err.Error())
		return
	}
	p.s.Base, p.s.baseSrc = path, src
}

func (p *parser) axis(k toml.Key, v any) {
	key := strings.Join(k[1:], ".")
	line := p.lineOf(k)
	for _, a := range p.s.Axes {
		if a.Key == key {
			p.add(line, key, fmt.Sprintf("set twice in [grid] (first on line %d)", a.Line))
			return
		}
	}
	arr, ok := v.([]any)
	if !ok {
		p.add(line, key, fmt.Sprintf("want an array of values, e.g. [4, 8], got %s", describe(v)))
		return
	}
	if len(arr) == 0 {
		p.add(line, key, "empty array: give at least one value")
		return
	}
	seen := map[string]int{}
	for i, x := range arr {
		switch x := x.(type) {
		case int64, string, bool:
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				p.add(line, key, fmt.Sprintf("value %d: want a finite number, got %v", i+1, x))
				return
			}
		default:
			p.add(line, key, fmt.Sprintf("value %d: want an integer, a number, a string or a boolean, got %s", i+1, describe(x)))
			return
		}
		text := FormatTOML(x)
		if j, dup := seen[text]; dup {
			p.add(line, key, fmt.Sprintf("value %d (%s) repeats value %d", i+1, text, j+1))
			return
		}
		seen[text] = i
	}
	p.s.Axes = append(p.s.Axes, Axis{Key: key, Line: line, Values: arr})
}

func (p *parser) search(k toml.Key, v any) {
	line := p.lineOf(k)
	switch k[1] {
	case "objective":
		s, _ := v.(string)
		switch o := Objective(s); o {
		case StepTime, Cost:
			p.s.Objective = o
		default:
			p.add(line, k.String(), fmt.Sprintf("want %q or %q, got %s", StepTime, Cost, describe(v)))
		}
	case "keep":
		n, ok := v.(int64)
		if !ok || n < 1 || n > maxPoints {
			p.add(line, k.String(), fmt.Sprintf("want a positive integer (the number of best feasible points to keep), got %s", describe(v)))
			return
		}
		p.s.Keep = int(n)
	default:
		msg := "unknown key; [search] takes objective and keep"
		if s := suggest(k[1], []string{"objective", "keep"}); s != "" {
			msg = fmt.Sprintf("unknown key; did you mean %q?", s)
		}
		p.add(line, k.String(), msg)
	}
}

// knownTop reports whether the first part of k is a top-level scenario key
// (name, seed, [model], ...), asking scenario.Load; an unknown one is
// reported once, with a suggestion among the sweep's own keys if one is
// close.
func (p *parser) knownTop(k toml.Key) bool {
	name := k[0]
	if known, ok := p.top[name]; ok {
		return known
	}
	if p.top == nil {
		p.top = map[string]bool{}
	}
	p.top[name] = true
	if !isBareKey(name) {
		p.top[name] = false
		p.add(p.lineOf(k[:1]), toml.Key{name}.String(), "unknown key; a sweep file takes base, [grid], [search] and the keys of a scenario")
		return false
	}
	_, err := scenario.Load("probe", nil, []string{name + "=0"})
	var list scenario.ErrorList
	errors.As(err, &list)
	for _, e := range list {
		if e.Key == name && strings.HasPrefix(e.Msg, "unknown key") {
			p.top[name] = false
			msg := e.Msg
			if !strings.Contains(msg, "did you mean") {
				msg += "; a sweep file also takes base, [grid] and [search]"
			}
			if s := suggest(name, []string{baseKey, gridKey, searchKey}); s != "" {
				msg = fmt.Sprintf("unknown key; did you mean %q?", s)
			}
			p.add(p.lineOf(k[:1]), name, msg)
		}
	}
	return p.top[name]
}

// inline records a scenario key set in the sweep file, as an override
// applied to every point.
func (p *parser) inline(k toml.Key, v any) {
	line := p.lineOf(k)
	for _, part := range k {
		if !isBareKey(part) {
			p.add(line, k.String(), "unknown key (scenario keys are plain words joined by dots)")
			return
		}
	}
	key := strings.Join(k, ".")
	p.s.shared = append(p.s.shared, key+"="+FormatTOML(v))
	p.s.inlineLines[key] = line
	for n := 1; n < len(k); n++ {
		if _, ok := p.s.inlineLines[strings.Join(k[:n], ".")]; !ok {
			p.s.inlineLines[strings.Join(k[:n], ".")] = p.lineOf(k[:n])
		}
	}
}

// flagSets appends the --set overrides to the shared ones.
func (p *parser) flagSets() {
	for _, set := range p.in.Sets {
		k, _, _ := strings.Cut(set, "=")
		p.s.flagKeys[strings.TrimSpace(k)] = true
		p.s.shared = append(p.s.shared, set)
	}
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// structural reports whether a scenario problem is one that no grid value
// can be expected to cause legitimately: an unknown key, a value of the
// wrong kind, a missing key, an unknown preset, a TOML syntax error. The
// prefixes are the messages scenario.Load gives while decoding; problems of
// combinations (divisibility, GPU counts) have other wording.
func structural(msg string) bool {
	for _, prefix := range []string{"invalid TOML", "unknown key", "not supported yet", "want ", "required ", "not a dotted key path", "no built-in "} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// keyLevel reports whether a structural problem is about a key itself, not
// the value given to it.
func keyLevel(msg string) bool {
	for _, prefix := range []string{"unknown key", "not supported yet", "want a table", "not a dotted key path"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// probe loads the scenario of a few points — every grid value once, the
// other keys at their first value — and reports the structural problems
// they show: those of the sweep as a whole, and those of each grid value.
func (p *parser) probe() {
	s := p.s
	at := make([]int, len(s.Axes))
	try := func(a int) {
		_, err := s.parsedBase().Load(s.sets(at))
		var list scenario.ErrorList
		if !errors.As(err, &list) {
			if err != nil {
				p.add(0, "", err.Error())
			}
			return
		}
		for _, e := range list {
			if !structural(e.Msg) {
				continue
			}
			placed := s.place(e)
			if ax := s.axisOf(e); ax >= 0 && e.File == scenario.SetFile {
				if a >= 0 && (ax != a || keyLevel(e.Msg)) {
					continue // reported by the probe of that axis, or by the first
				}
				if !keyLevel(e.Msg) {
					v := s.Axes[ax].Values[at[ax]]
					placed.Msg = fmt.Sprintf("value %d (%s): %s", at[ax]+1, FormatTOML(v), e.Msg)
				}
			}
			p.addIn(placed.File, placed.Line, placed.Key, placed.Msg)
		}
	}
	try(-1)
	for a := range s.Axes {
		for i := 1; i < len(s.Axes[a].Values); i++ {
			at[a] = i
			try(a)
		}
		at[a] = 0
	}
}

// axisOf returns the grid axis whose key a problem is about, or -1.
func (s *Sweep) axisOf(e *scenario.Error) int {
	for i, a := range s.Axes {
		if a.Key == e.Key || strings.HasPrefix(a.Key, e.Key+".") {
			return i
		}
	}
	return -1
}

// place moves a problem that scenario.Load blames on a --set override to
// where it comes from: a grid key or an inline key of the sweep file, or a
// real --set flag. A problem the base file has stays there; one without a
// line in a sweep without base gets the line of its table in the sweep file.
func (s *Sweep) place(e *scenario.Error) *scenario.Error {
	c := *e
	match := func(set string) bool { return set == e.Key || strings.HasPrefix(set, e.Key+".") }
	switch {
	case e.File == scenario.SetFile && e.Key != "":
		for _, a := range s.Axes {
			if match(a.Key) {
				c.File, c.Line = s.File, a.Line
				return &c
			}
		}
		for k := range s.flagKeys {
			if match(k) {
				return &c
			}
		}
		for _, set := range s.shared {
			k, _, _ := strings.Cut(set, "=")
			if match(k) {
				c.File, c.Line = s.File, s.inlineLines[k]
				return &c
			}
		}
	case e.File == s.File && e.Line == 0 && s.Base == "":
		for k := e.Key; k != ""; k = parentKey(k) {
			if l, ok := s.inlineLines[k]; ok {
				c.Line = l
				break
			}
		}
	}
	return &c
}

func parentKey(k string) string {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

// defaultName is the scenario name a point gets when it cannot be loaded:
// the name scenario.Load would give, as far as it can be told without
// loading.
func (p *parser) defaultName() string {
	name := ""
	if p.s.baseSrc != nil {
		var base map[string]any
		if _, err := toml.Decode(string(p.s.baseSrc), &base); err == nil {
			name, _ = base["name"].(string)
		}
	}
	if n, ok := p.doc["name"].(string); ok {
		name = n
	}
	for _, set := range p.in.Sets {
		if k, v, _ := strings.Cut(set, "="); strings.TrimSpace(k) == "name" {
			var d map[string]any
			if _, err := toml.Decode("v = "+strings.TrimSpace(v), &d); err == nil {
				if s, ok := d["v"].(string); ok {
					v = s
				}
			}
			name = strings.TrimSpace(v)
		}
	}
	if name != "" {
		return name
	}
	base := filepath.Base(p.s.scenarioName())
	if n := strings.TrimSuffix(base, filepath.Ext(base)); n != "" && n != "." && n != string(filepath.Separator) {
		return n
	}
	return "scenario"
}

func (s *Sweep) scenarioName() string {
	if s.Base != "" {
		return s.Base
	}
	return s.File
}
