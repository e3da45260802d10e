package scenario

import (
	"encoding"
	"fmt"
	"math"
	"strconv"
	"strings"

	"trainsim/compute"
	"trainsim/units"
)

// kind is what a key's value is written as.
type kind int

const (
	kindCount     kind = iota // a TOML integer
	kindWhole                 // a non-negative TOML integer
	kindNumber                // a TOML integer or float
	kindString                // a TOML string
	kindBool                  // true or false
	kindSize                  // a string with a size unit
	kindDuration              // a string with a time unit
	kindFLOPRate              // a string with a FLOP-rate unit
	kindBandwidth             // a string with a bandwidth unit
	kindGEMMs                 // an array of tables of measured GEMMs
	kindRamp                  // an array of tables of batch ramp-up phases
)

// String names the kind the way the value-type table of docs/scenario.md
// does.
func (k kind) String() string {
	return [...]string{"count", "count ≥ 0", "number", "string", "bool", "size", "duration", "FLOP rate", "bandwidth", "array of tables", "array of tables"}[k]
}

// value is a key's value while a scenario is read: decode checks and keeps
// what the file or a --set override wrote, apply stores it, or the default,
// where the key's value goes.
type value interface {
	// kind says what the value is written as.
	kind() kind
	// example is a value as written, with its unit, for a quantity
	// ("312TFLOP/s"); empty for other kinds.
	example() string
	// decode checks a decoded TOML value and keeps it; its error says what
	// was wanted.
	decode(v any) error
	// given reports whether a value was kept.
	given() bool
	// apply stores the kept value, or else the default if there is one.
	apply()
	// defaultText shows the default, "" when there is none.
	defaultText() string
}

// slot is a value of Go type T: parse checks a decoded TOML value, store puts
// a value where the key's value goes.
type slot[T any] struct {
	k     kind
	ex    string
	parse func(v any) (T, error)
	store func(T)
	show  func(T) string
	got   *T
	def   *T
}

func (s *slot[T]) kind() kind      { return s.k }
func (s *slot[T]) example() string { return s.ex }
func (s *slot[T]) given() bool     { return s.got != nil }

func (s *slot[T]) decode(v any) error {
	x, err := s.parse(v)
	if err != nil {
		return err
	}
	s.got = &x
	return nil
}

func (s *slot[T]) apply() {
	switch {
	case s.got != nil:
		s.store(*s.got)
	case s.def != nil:
		s.store(*s.def)
	}
}

func (s *slot[T]) defaultText() string {
	if s.def == nil {
		return ""
	}
	return s.show(*s.def)
}

// or gives s a default, stored when the key is not given.
func (s *slot[T]) or(def T) *slot[T] {
	s.def = &def
	return s
}

// into stores a value in *p.
func into[T any](p *T) func(T) { return func(v T) { *p = v } }

// intoNew stores a value in a new variable that *p points at: for the
// calibration, whose unset values are nil.
func intoNew[T any](p **T) func(T) { return func(v T) { *p = &v } }

// not stores the negation of a bool in *p: for a key whose field says the
// opposite (parallelism.pp_scatter_gather fills Layout.NoPPScatterGather).
func not(p *bool) func(bool) { return func(v bool) { *p = !v } }

// maxCount bounds every count, so that products of a few of them (tp × pp ×
// dp × cp, nodes × gpus_per_node) cannot overflow.
const maxCount = math.MaxInt32

// count is a key whose value is a TOML integer.
func count(store func(int)) *slot[int] {
	return &slot[int]{k: kindCount, store: store, show: strconv.Itoa, parse: func(v any) (int, error) {
		n, ok := v.(int64)
		if !ok {
			return 0, notInteger("an integer", v)
		}
		if n < -maxCount || n > maxCount {
			return 0, fmt.Errorf("%d is out of range (at most %d)", n, maxCount)
		}
		return int(n), nil
	}}
}

// whole is a key whose value is a non-negative TOML integer.
func whole(store func(uint64)) *slot[uint64] {
	show := func(u uint64) string { return strconv.FormatUint(u, 10) }
	return &slot[uint64]{k: kindWhole, store: store, show: show, parse: func(v any) (uint64, error) {
		n, ok := v.(int64)
		if !ok {
			// A --set value past TOML's 64-bit integers arrives as the
			// string of its digits.
			if s, isText := v.(string); isText && pastInt64(s) {
				return 0, fmt.Errorf("must be %s, got %s", wholeRange, s)
			}
			return 0, fmt.Errorf("must be %s, got %s", wholeRange, describe(v))
		}
		if n < 0 {
			return 0, fmt.Errorf("must be %s, got %d", wholeRange, n)
		}
		return uint64(n), nil
	}}
}

// wholeRange is what a whole key takes: a TOML integer (64-bit signed)
// that is not negative.
const wholeRange = "an integer from 0 to 9223372036854775807 (2^63 − 1)"

// pastInt64 says whether s is an optionally signed run of decimal digits
// too long for an int64.
func pastInt64(s string) bool {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err != nil
}

// number is a key whose value is a finite TOML integer or float.
func number(store func(float64)) *slot[float64] {
	show := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return &slot[float64]{k: kindNumber, store: store, show: show, parse: func(v any) (float64, error) {
		var x float64
		switch n := v.(type) {
		case int64:
			x = float64(n)
		case float64:
			x = n
		default:
			return 0, fmt.Errorf("want a number, got %s", describe(v))
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("want a finite number, got %v", x)
		}
		return x, nil
	}}
}

// text is a key whose value is a TOML string; a --set VALUE that is not a
// TOML string is taken verbatim for it.
func text[T ~string](store func(T)) *slot[T] {
	show := func(s T) string { return "`" + string(s) + "`" }
	return &slot[T]{k: kindString, store: store, show: show, parse: func(v any) (T, error) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("want a string, got %s", describe(v))
		}
		return T(s), nil
	}}
}

// boolean is a key whose value is true or false.
func boolean(store func(bool)) *slot[bool] {
	return &slot[bool]{k: kindBool, store: store, show: strconv.FormatBool, parse: func(v any) (bool, error) {
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("want true or false, got %s", describe(v))
		}
		return b, nil
	}}
}

// quantity is a key whose value is a string with a unit, decoded through the
// type's UnmarshalText, whose error names the units allowed; example is a
// value as written, for messages and the key table.
func quantity[T any, PT interface {
	*T
	encoding.TextUnmarshaler
}](store func(T), example string) *slot[T] {
	s := &slot[T]{k: quantityKind[T](), ex: example, store: store, show: func(x T) string { return fmt.Sprint(x) }}
	s.parse = func(v any) (T, error) {
		var x T
		str, ok := v.(string)
		if !ok {
			return x, fmt.Errorf("want a string with a unit such as %q, got %s", example, describe(v))
		}
		err := PT(&x).UnmarshalText([]byte(str))
		return x, err
	}
	return s
}

// quantityKind names the kind of a quantity by its unit type.
func quantityKind[T any]() kind {
	switch any(*new(T)).(type) {
	case units.Bytes:
		return kindSize
	case units.Seconds:
		return kindDuration
	case units.FLOPRate:
		return kindFLOPRate
	}
	return kindBandwidth
}

// gemms is calibration.gemm: measured GEMMs, each given list added to those
// given before it.
func gemms(p *[]compute.MeasuredGEMM) *slot[[]compute.MeasuredGEMM] {
	s := &slot[[]compute.MeasuredGEMM]{k: kindGEMMs, store: into(p), show: func([]compute.MeasuredGEMM) string { return "none" }}
	s.parse = func(v any) ([]compute.MeasuredGEMM, error) {
		var list []compute.MeasuredGEMM
		if s.got != nil {
			list = *s.got
		}
		err := decodeGEMMs(v, &list)
		return list, err
	}
	return s
}

// notInteger is the problem of v, given where want (an integer) was: a
// whole-number float (8.0) is refused, as BurntSushi/toml refuses a float for
// an integer field, with the integer to write instead.
func notInteger(want string, v any) error {
	if x, ok := v.(float64); ok && x == math.Trunc(x) && math.Abs(x) <= maxCount {
		return fmt.Errorf("want %s, got %s (write %d)", want, describe(v), int64(x))
	}
	return fmt.Errorf("want %s, got %s", want, describe(v))
}
