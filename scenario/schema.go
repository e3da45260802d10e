package scenario

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"trainsim/compute"
	"trainsim/units"
)

// schema indexes the declared keys by name and knows which keys are tables
// and what each table holds, in declaration order.
type schema struct {
	keys     map[string]key
	children map[string][]string // table ("" for the root) -> its keys and sub-tables
}

func newSchema(keys []key) schema {
	s := schema{keys: map[string]key{}, children: map[string][]string{}}
	seen := map[string]bool{}
	for _, k := range keys {
		s.keys[k.name] = k
		parts := strings.Split(k.name, ".")
		for i := range parts {
			parent := strings.Join(parts[:i], ".")
			if full := join(parent, parts[i]); !seen[full] {
				seen[full] = true
				s.children[parent] = append(s.children[parent], parts[i])
			}
		}
	}
	return s
}

// isTable reports whether key names a table of the schema.
func (s schema) isTable(key string) bool {
	_, ok := s.children[key]
	return ok
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// describe names a decoded TOML value and shows it, for messages.
func describe(v any) string { return DescribeValue(v) }

// DescribeValue names a decoded TOML value and shows it, for error messages
// ("the integer 8", "a table"); the sweep file reader shares it.
func DescribeValue(v any) string {
	switch x := v.(type) {
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return "the number " + TOMLFloat(x)
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

// TOMLFloat writes x as a TOML float: with a decimal point or an exponent,
// so that 8.0 is not shown as the integer 8; inf and nan as TOML spells them.
func TOMLFloat(x float64) string {
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
}

// sortedKeys returns the keys of m in sorted order, for a deterministic walk.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeGEMMs reads calibration.gemm: an array of tables
// {batch = 1, m = …, n = …, k = …, tflops = "250TFLOP/s"}.
func decodeGEMMs(v any, out *[]compute.MeasuredGEMM) error {
	rows, err := tableRows(v, "{m, n, k, tflops}", "[[calibration.gemm]] with m, n, k, tflops")
	if err != nil {
		return err
	}
	for i, r := range rows {
		g := compute.MeasuredGEMM{Batch: 1}
		for _, key := range sortedKeys(r) {
			val := r[key]
			n, isInt := val.(int64)
			switch key {
			case "batch", "m", "n", "k":
				if !isInt || n < 1 || n > math.MaxInt32 {
					return fmt.Errorf("entry %d: %s: want a positive integer, got %s", i+1, key, describe(val))
				}
				switch key {
				case "batch":
					g.Batch = int(n)
				case "m":
					g.M = int(n)
				case "n":
					g.N = int(n)
				case "k":
					g.K = int(n)
				}
			case "tflops":
				s, ok := val.(string)
				if !ok {
					return fmt.Errorf("entry %d: tflops: want a string with a unit such as \"250TFLOP/s\", got %s", i+1, describe(val))
				}
				rate, err := units.ParseFLOPRate(s)
				if err != nil {
					return fmt.Errorf("entry %d: tflops: %w", i+1, err)
				}
				g.Rate = rate
			default:
				return fmt.Errorf("entry %d: unknown key %q (allowed: batch, m, n, k, tflops)", i+1, key)
			}
		}
		if g.M == 0 || g.N == 0 || g.K == 0 || g.Rate == 0 {
			return fmt.Errorf("entry %d: needs m, n, k and tflops", i+1)
		}
		*out = append(*out, g)
	}
	return nil
}

// tableRows reads an array of tables: each row's keys, or an error saying
// what each row (rowWant) and the whole (want) should be.
func tableRows(v any, rowWant, want string) ([]map[string]any, error) {
	switch x := v.(type) {
	case []map[string]any:
		return x, nil
	case []any:
		rows := make([]map[string]any, 0, len(x))
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("want an array of tables %s, got %s", rowWant, describe(e))
			}
			rows = append(rows, m)
		}
		return rows, nil
	}
	return nil, fmt.Errorf("want an array of tables (%s), got %s", want, describe(v))
}

// elsewhere returns the one declared key named name (its last part) in a
// table other than parent, or "" where none or several are: the key the
// user most likely meant by a known name under the wrong table
// (training.stack for software.stack). Keys refused on sight are left out.
func (s schema) elsewhere(name, parent string) string {
	found := ""
	for full, k := range s.keys {
		if k.refused != "" || full == join(parent, name) || !strings.HasSuffix(full, "."+name) && full != name {
			continue
		}
		if found != "" {
			return ""
		}
		found = full
	}
	return found
}
