package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/scenario"
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

	scenarioFile string   // the name scenario.Load sees: Base, or File without one
	baseSrc      []byte   // the base scenario's text (nil without a base)
	shared       []string // inline overrides, then the --set ones
	inlineLines  map[string]int
	flagKeys     map[string]bool
	name         string // scenario name of points that cannot be loaded
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
	md, err := toml.Decode(string(p.in.Src), &top)
	if err != nil {
		p.fatal = true
		var pe toml.ParseError
		if errors.As(err, &pe) {
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
		p.add(p.lineOf(k), baseKey, fmt.Sprintf("want the path of a scenario file, relative to the sweep file, got %s", describe(v)))
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
		_, err := scenario.Load(s.scenarioName(), s.baseSrc, s.sets(at))
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

// Len is the number of points of the grid: the product of the axes' lengths.
func (s *Sweep) Len() int {
	if len(s.Axes) == 0 {
		return 0
	}
	n := 1
	for _, a := range s.Axes {
		n *= len(a.Values)
		if n > maxPoints {
			return n
		}
	}
	return n
}

// Keys returns the grid keys in enumeration order.
func (s *Sweep) Keys() []string {
	keys := make([]string, len(s.Axes))
	for i, a := range s.Axes {
		keys[i] = a.Key
	}
	return keys
}

// indices returns, for point i, the index of its value on each axis: the
// mixed-radix digits of i, the last axis the least significant.
func (s *Sweep) indices(i int) []int {
	at := make([]int, len(s.Axes))
	for a := len(s.Axes) - 1; a >= 0; a-- {
		n := len(s.Axes[a].Values)
		at[a] = i % n
		i /= n
	}
	return at
}

// Point returns the grid values of point i (0 ≤ i < Len()), one per axis.
func (s *Sweep) Point(i int) []Param {
	at := s.indices(i)
	ps := make([]Param, len(s.Axes))
	for a, ax := range s.Axes {
		ps[a] = Param{Key: ax.Key, Value: ax.Values[at[a]]}
	}
	return ps
}

func (s *Sweep) sets(at []int) []string {
	sets := append([]string(nil), s.shared...)
	for a, ax := range s.Axes {
		sets = append(sets, ax.Key+"="+FormatTOML(ax.Values[at[a]]))
	}
	return sets
}

// Sets returns the --set overrides that make point i from the base
// scenario: the sweep's inline keys, its --set flags, then the grid values.
func (s *Sweep) Sets(i int) []string { return s.sets(s.indices(i)) }

// Load resolves the scenario of point i. Its error is a scenario.ErrorList.
func (s *Sweep) Load(i int) (*scenario.Scenario, error) {
	return scenario.Load(s.scenarioName(), s.baseSrc, s.Sets(i))
}

// Reason turns a load error into the text a result's reason holds: each
// problem as "key: what is wrong", joined by "; ". Places are left out, so
// that the results do not depend on where the files are.
func Reason(err error) string {
	var list scenario.ErrorList
	if !errors.As(err, &list) {
		return err.Error()
	}
	parts := make([]string, len(list))
	for i, e := range list {
		if e.Key != "" {
			parts[i] = e.Key + ": " + e.Msg
		} else {
			parts[i] = e.Msg
		}
	}
	return strings.Join(parts, "; ")
}

// Evaluate loads, replays and reports point i. A point that cannot be
// loaded or replayed is still a record: Report is nil and Reason says why.
// prepare, when not nil, runs on the loaded scenario before the replay (the
// command line reads cluster.network.file there); its error is a reason too.
func (s *Sweep) Evaluate(i int, prepare func(*scenario.Scenario) error) (rec Record) {
	rec = Record{Point: i, Grid: s.Point(i), Scenario: s.name}
	if a := s.axisIndex("name"); a >= 0 {
		if n, ok := rec.Grid[a].Value.(string); ok && n != "" {
			rec.Scenario = n
		}
	}
	defer func() {
		if x := recover(); x != nil {
			rec.Report, rec.Reason = nil, fmt.Sprintf("internal error (a bug; please report it): %v", x)
		}
	}()
	sc, err := s.Load(i)
	if err != nil {
		rec.Reason = Reason(err)
		return rec
	}
	rec.Scenario = sc.Name
	if prepare != nil {
		if err := prepare(sc); err != nil {
			rec.Reason = err.Error()
			return rec
		}
	}
	res, err := parallelism.Simulate(sc.Job)
	if err != nil {
		rec.Reason = "simulation failed: " + err.Error()
		return rec
	}
	rep, err := report.Build(report.Input{Name: sc.Name, Seed: sc.Seed, Job: sc.Job}, res)
	if err != nil {
		rec.Reason = err.Error()
		return rec
	}
	rec.Report = rep
	return rec
}

func (s *Sweep) axisIndex(key string) int {
	for i, a := range s.Axes {
		if a.Key == key {
			return i
		}
	}
	return -1
}

// Fingerprint identifies what the points of the sweep are: the base
// scenario's text, the shared overrides and the grid. Two runs with the same
// fingerprint compute the same records, so their results may be resumed and
// merged together; comments, [search] and file names do not count.
func (s *Sweep) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "base %d\n", len(s.baseSrc))
	h.Write(s.baseSrc)
	for _, set := range s.shared {
		fmt.Fprintf(h, "set %q\n", set)
	}
	for _, a := range s.Axes {
		fmt.Fprintf(h, "axis %q", a.Key)
		for _, v := range a.Values {
			fmt.Fprintf(h, " %s", FormatTOML(v))
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// FormatTOML writes a decoded TOML value back as TOML text that decodes to
// the same value of the same kind: integers as integers, floats with
// strconv's shortest 'g' form and a ".0" when that looks like an integer,
// strings quoted, booleans, arrays and inline tables (keys sorted).
func FormatTOML(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			return "nan"
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case string:
		return quoteTOML(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = FormatTOML(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []map[string]any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = FormatTOML(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			name := k
			if !isBareKey(k) {
				name = quoteTOML(k)
			}
			parts[i] = name + " = " + FormatTOML(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return quoteTOML(fmt.Sprint(v))
}

// quoteTOML writes s as a TOML basic string.
func quoteTOML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatCSV writes a grid value as a CSV cell: numbers as in TOML, strings
// bare.
func formatCSV(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return FormatTOML(v)
}

// formatJSON writes a grid value as JSON: numbers as in TOML (valid JSON
// numbers, since grid values are finite), strings and booleans.
func formatJSON(v any) []byte {
	switch x := v.(type) {
	case int64, float64:
		return []byte(FormatTOML(x))
	case bool:
		return []byte(strconv.FormatBool(x))
	}
	b, _ := json.Marshal(fmt.Sprint(v))
	return b
}

// Record is one point's result: a line of the results JSONL.
type Record struct {
	// Point is the grid index.
	Point int
	// Grid is the point's value of every grid key, in the sweep's order.
	Grid []Param
	// Report is the point's report; nil when the scenario could not be
	// loaded or replayed (an invalid combination), and then Reason says why.
	Report *report.Report
	// Scenario is the scenario's name.
	Scenario string
	// Reason says why a point without a report has none.
	Reason string

	line []byte // the JSONL line it was read from, if any
}

// Feasible reports whether the point was simulated and fits.
func (r *Record) Feasible() bool { return r.Report != nil && r.Report.Feasible }

// Summary returns the report, or for a point without one, a report holding
// only its name, feasible=false and the reason (the CSV row of such a point).
func (r *Record) Summary() *report.Report {
	if r.Report != nil {
		return r.Report
	}
	return &report.Report{Scenario: r.Scenario, Feasible: false, Reason: r.Reason}
}

// MarshalLine returns the record as one JSON line (with its newline): the
// report's JSON object with "point" and "grid" first; for a point without
// a report, only scenario, feasible (false) and reason follow them. A record
// read by ParseLine marshals to the line it was read from, byte for byte.
func (r *Record) MarshalLine() ([]byte, error) {
	if r.line != nil {
		return r.line, nil
	}
	var b bytes.Buffer
	b.WriteString(`{"point":`)
	b.WriteString(strconv.Itoa(r.Point))
	b.WriteString(`,"grid":{`)
	for i, p := range r.Grid {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(formatJSON(p.Value))
	}
	b.WriteByte('}')
	var rest []byte
	var err error
	if r.Report != nil {
		rest, err = json.Marshal(r.Report)
	} else {
		rest, err = json.Marshal(struct {
			Scenario string `json:"scenario"`
			Feasible bool   `json:"feasible"`
			Reason   string `json:"reason"`
		}{r.Scenario, false, r.Reason})
	}
	if err != nil {
		return nil, fmt.Errorf("point %d: %w", r.Point, err)
	}
	if len(rest) > 2 {
		b.WriteByte(',')
		b.Write(rest[1:])
	} else {
		b.WriteByte('}')
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// ParseLine reads one JSONL line (without its newline) back into a record.
func ParseLine(line []byte) (Record, error) {
	var head struct {
		Point     *int            `json:"point"`
		Grid      json.RawMessage `json:"grid"`
		Scenario  string          `json:"scenario"`
		Reason    string          `json:"reason"`
		StepTimeS *float64        `json:"step_time_s"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return Record{}, fmt.Errorf("not a result: %w", err)
	}
	if head.Point == nil || *head.Point < 0 {
		return Record{}, errors.New("not a result: no point index")
	}
	grid, err := parseGrid(head.Grid)
	if err != nil {
		return Record{}, fmt.Errorf("point %d: grid: %w", *head.Point, err)
	}
	rec := Record{Point: *head.Point, Grid: grid, Scenario: head.Scenario, Reason: head.Reason}
	if head.StepTimeS != nil {
		rep := new(report.Report)
		if err := json.Unmarshal(line, rep); err != nil {
			return Record{}, fmt.Errorf("point %d: %w", rec.Point, err)
		}
		rec.Report = rep
	}
	rec.line = append(append([]byte(nil), line...), '\n')
	return rec, nil
}

// parseGrid reads the grid object keeping the order of its keys; numbers
// without a fraction or exponent are integers, as in TOML.
func parseGrid(raw json.RawMessage) ([]Param, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("want an object")
	}
	var ps []Param
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		t, err = dec.Token()
		if err != nil {
			return nil, err
		}
		var v any
		switch x := t.(type) {
		case json.Number:
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil && !strings.ContainsAny(string(x), ".eE") {
				v = n
			} else if f, err := x.Float64(); err == nil {
				v = f
			} else {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		case string, bool:
			v = x
		default:
			return nil, fmt.Errorf("%s: want a number, a string or a boolean", key)
		}
		ps = append(ps, Param{Key: key, Value: v})
	}
	return ps, nil
}

// Journal is what a results JSONL file holds.
type Journal struct {
	// Records are the complete lines, in file order.
	Records []Record
	// Complete is the length of the file's prefix made of complete lines;
	// anything after it is a truncated last line (a run that was stopped
	// while writing), to be cut off and recomputed.
	Complete int
}

// Truncated reports whether the data ended in a partial line.
func (j *Journal) Truncated(data []byte) bool { return j.Complete < len(data) }

// ReadJournal parses a results JSONL file. Blank lines are skipped; a
// complete line that is not a result is an error naming its line number.
func ReadJournal(data []byte) (*Journal, error) {
	j := &Journal{}
	line := 0
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			break // a truncated last line
		}
		line++
		text := bytes.TrimSpace(data[off : off+nl])
		if len(text) > 0 {
			rec, err := ParseLine(text)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			j.Records = append(j.Records, rec)
		}
		off += nl + 1
		j.Complete = off
	}
	return j, nil
}

// CheckShard says what is wrong with a shard index and count, if anything.
func CheckShard(index, shards int) error {
	if shards < 1 {
		return fmt.Errorf("the shard count must be at least 1, got %d", shards)
	}
	if index < 0 || index >= shards {
		return fmt.Errorf("shard index %d is out of range: with %d shards it is 0 to %d", index, shards, shards-1)
	}
	return nil
}

// Shard returns the points of shard index out of shards: every point i with
// i mod shards = index, in order. Shards 0..shards-1 partition 0..total-1.
func Shard(total, index, shards int) []int {
	var pts []int
	for i := index; i < total; i += shards {
		pts = append(pts, i)
	}
	return pts
}

// Run evaluates points on up to workers goroutines and passes each record
// to emit in the order of points, as soon as it and all before it are done,
// so the output does not depend on scheduling. It stops at emit's first
// error and returns it.
func Run(points []int, workers int, eval func(point int) Record, emit func(Record) error) error {
	if len(points) == 0 {
		return nil
	}
	workers = max(1, min(workers, len(points)))
	type done struct {
		pos int
		rec Record
	}
	jobs := make(chan int)
	results := make(chan done, workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for pos := range jobs {
				select {
				case results <- done{pos, eval(points[pos])}:
				case <-stop:
					return
				}
			}
		})
	}
	go func() {
		defer close(jobs)
		for pos := range points {
			select {
			case jobs <- pos:
			case <-stop:
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	pending := map[int]Record{}
	next := 0
	var err error
	for d := range results {
		if err != nil {
			continue // draining after a failed emit
		}
		pending[d.pos] = d.rec
		for {
			rec, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if err = emit(rec); err != nil {
				close(stop)
				break
			}
			next++
		}
	}
	return err
}

// Best returns the feasible records ranked by the objective, best first,
// ties broken by point index; at most keep of them when keep > 0.
func Best(recs []Record, o Objective, keep int) []Record {
	var best []Record
	for _, r := range recs {
		if r.Feasible() && !math.IsNaN(o.Value(r.Report)) {
			best = append(best, r)
		}
	}
	sort.SliceStable(best, func(i, j int) bool {
		a, b := o.Value(best[i].Report), o.Value(best[j].Report)
		if a != b {
			return a < b
		}
		return best[i].Point < best[j].Point
	})
	if keep > 0 && len(best) > keep {
		best = best[:keep]
	}
	return best
}

// Output selects the records a CSV holds: every record in point order, or
// with keep > 0 the keep best feasible ones, best first.
func Output(recs []Record, o Objective, keep int) []Record {
	if keep > 0 {
		return Best(recs, o, keep)
	}
	return recs
}

// WriteCSV writes a header and one row per record: report.WriteCSV's
// columns, then one column per grid key, named by the key.
func WriteCSV(w io.Writer, keys []string, recs []Record) error {
	reps := make([]*report.Report, len(recs))
	for i := range recs {
		reps[i] = recs[i].Summary()
	}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, reps...); err != nil {
		return err
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return err
	}
	rows[0] = append(rows[0], keys...)
	for i, r := range recs {
		for _, k := range keys {
			cell := ""
			for _, p := range r.Grid {
				if p.Key == k {
					cell = formatCSV(p.Value)
					break
				}
			}
			rows[i+1] = append(rows[i+1], cell)
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// Manifest describes a sweep's results directory; every run writes it, and
// merge reads it to know how many points there are.
type Manifest struct {
	// Sweep is the sweep file's name as the run was given it.
	Sweep string `json:"sweep"`
	// Points is the number of grid points.
	Points int `json:"points"`
	// Keys are the grid keys, in enumeration order.
	Keys []string `json:"keys"`
	// Objective and Keep are the sweep's [search].
	Objective Objective `json:"objective"`
	Keep      int       `json:"keep,omitempty"`
	// Fingerprint is Sweep.Fingerprint: runs may share a directory only
	// when theirs are equal.
	Fingerprint string `json:"fingerprint"`
}

// Manifest returns the sweep's manifest.
func (s *Sweep) Manifest() Manifest {
	return Manifest{Sweep: s.File, Points: s.Len(), Keys: s.Keys(), Objective: s.Objective, Keep: s.Keep, Fingerprint: s.Fingerprint()}
}

// ReadManifest parses a manifest.
func ReadManifest(data []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return m, err
	}
	if m.Points < 1 || m.Fingerprint == "" {
		return m, errors.New("not a sweep manifest (no points or no fingerprint)")
	}
	switch m.Objective {
	case "":
		m.Objective = StepTime
	case StepTime, Cost:
	default:
		return m, fmt.Errorf("unknown objective %q", m.Objective)
	}
	return m, nil
}

// File is one results file given to Merge.
type File struct {
	Name string
	Data []byte
}

// Merged is the union of a sweep's results files.
type Merged struct {
	// Records are the points found, in point order, one per point.
	Records []Record
	// Duplicates counts the records dropped because their point was already
	// present (the first found, in file order, is kept).
	Duplicates int
	// Missing are the points no file holds, in order.
	Missing []int
	// Truncated names the files whose last line was cut off (its point
	// counts as missing unless another file has it).
	Truncated []string
}

// Merge joins the results files of a sweep with points points.
func Merge(points int, files []File) (*Merged, error) {
	m := &Merged{}
	byPoint := make(map[int]Record)
	for _, f := range files {
		j, err := ReadJournal(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if j.Truncated(f.Data) {
			m.Truncated = append(m.Truncated, f.Name)
		}
		for _, r := range j.Records {
			if r.Point >= points {
				return nil, fmt.Errorf("%s: point %d is outside the sweep's %d points", f.Name, r.Point, points)
			}
			if _, dup := byPoint[r.Point]; dup {
				m.Duplicates++
				continue
			}
			byPoint[r.Point] = r
		}
	}
	for i := range points {
		if r, ok := byPoint[i]; ok {
			m.Records = append(m.Records, r)
		} else {
			m.Missing = append(m.Missing, i)
		}
	}
	return m, nil
}

// WriteJSONL writes the records, one line each.
func WriteJSONL(w io.Writer, recs []Record) error {
	for i := range recs {
		line, err := recs[i].MarshalLine()
		if err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// describe names a decoded TOML value and shows it, for messages.
func describe(v any) string {
	switch x := v.(type) {
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case time.Time:
		return "a date-time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a value of type %T", v)
}

// suggest returns the candidate within two edits of word (case ignored), or "".
func suggest(word string, candidates []string) string {
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(word), c); d <= 2 && d < len(word) {
			return c
		}
	}
	return ""
}

// editDistance is Levenshtein's distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
