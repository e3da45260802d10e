package plotreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"trainsim/units"
)

// Number formats for tables and text; fixed precision, so that the same
// numbers always give the same bytes.

func secs(x float64) string { return units.Seconds(x).String() }

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func days(s float64) string { return fmt.Sprintf("%.1f days", s/86400) }

func bytesStr(x float64) string { return units.Bytes(x).String() }

// count writes a non-negative quantity rounded to an integer with thousands
// separators (108,286); huge or odd values in %g form.
func count(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1e15 {
		return strconv.FormatFloat(x, 'g', 4, 64)
	}
	s := strconv.FormatFloat(math.Abs(math.Round(x)), 'f', 0, 64)
	var b strings.Builder
	if x < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// short writes a count of tokens or FLOPs in %.3g form (3e+11).
func short(x float64) string { return strconv.FormatFloat(x, 'g', 3, 64) }

// slug turns a key into a file-name part: cluster.nodes → cluster-nodes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		out = "key"
	}
	return out
}
