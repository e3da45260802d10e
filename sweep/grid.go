package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/scenario"
)

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
	return s.parsedBase().Load(s.Sets(i))
}

// parsedBase returns the base scenario, parsed on first use and then shared
// by every point (scenario.Parsed may be loaded concurrently); parsed again
// if the name it is read under has changed.
func (s *Sweep) parsedBase() *scenario.Parsed {
	s.parsedMu.Lock()
	defer s.parsedMu.Unlock()
	if name := s.scenarioName(); s.parsed == nil || s.parsed.File() != name {
		s.parsed = scenario.Parse(name, s.baseSrc)
	}
	return s.parsed
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

// Evaluate loads, validates, replays and reports point i. A point that cannot
// be loaded, validated or replayed is still a record: Report is nil and
// Reason says why. prepare, when not nil, runs on the loaded scenario before
// it is validated (the command line merges the files the scenario names
// there); its error is a reason too.
func (s *Sweep) Evaluate(i int, prepare func(*scenario.Scenario) error) (rec Record) {
	return s.EvaluateWith(i, prepare, nil)
}

// EvaluateWith is Evaluate replaying with scratch's arrays (nil: fresh
// ones), as parallelism.SimulateWith does; the record does not depend on
// it. A scratch serves one goroutine at a time.
func (s *Sweep) EvaluateWith(i int, prepare func(*scenario.Scenario) error, scratch *parallelism.Scratch) (rec Record) {
	rec = Record{Point: i, Grid: s.Point(i), Scenario: s.name}
	if a := s.axisIndex("name"); a >= 0 {
		if n, ok := rec.Grid[a].Value.(string); ok && n != "" {
			rec.Scenario = n
		}
	}
	defer func() {
		if x := recover(); x != nil {
			rec.Report, rec.Reason = nil, fmt.Sprintf("internal error (a bug; please report it): %v", x)
			if scratch != nil {
				*scratch = parallelism.Scratch{} // left half-written: start afresh
			}
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
	valid, err := sc.Validate()
	if err != nil {
		rec.Reason = Reason(err)
		return rec
	}
	res, err := parallelism.SimulateWith(valid, scratch)
	if err != nil {
		rec.Reason = "simulation failed: " + err.Error()
		return rec
	}
	whole, wholeCfg, err := sc.RunWhole(res)
	if err != nil {
		rec.Reason = err.Error()
		return rec
	}
	rep, err := report.Build(report.Input{Name: sc.Name, Seed: sc.Seed, Stack: sc.Stack, Job: sc.Job, Whole: whole, WholeConfig: wholeCfg}, res)
	if err != nil {
		rec.Reason = err.Error()
		return rec
	}
	// The figures the results line holds (rounded as every report writes
	// them, units.Number): a sweep then ranks the same numbers whether it
	// replayed a point now or read it back (a resumed run, a merge).
	rec.Report = report.RoundFloats(rep)
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
// scenario's text, the shared overrides, the grid and the contents of the
// files the points name (calibration.file, cluster.network.file). Two runs with the same
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
	for _, f := range s.files {
		fmt.Fprintf(h, "file %q %q %x\n", f.key, f.path, f.sum)
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
		return scenario.TOMLFloat(x)
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
