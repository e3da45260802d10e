package units

import (
	"math"
	"strconv"
)

// ReportDigits is how many significant decimal digits a machine-readable
// report (JSON, CSV) keeps of a computed figure. A float64 holds about 16;
// the last few of a computed figure are rounding noise (30.775627418 s comes
// out of the arithmetic as 30.775627418000003, 0.1 + 0.2 as
// 0.30000000000000004), and a sum of many terms can carry noise a few digits
// higher than one operation's. Twelve digits drop that noise while keeping
// the replay's nanosecond in any time below 1000 s, every integer below
// 10^12 exactly, and a relative error of at most 5·10^-12: far below
// anything the model can tell apart, and the same for every figure, so a
// small value is never written as 0. docs/report.md documents the rule.
const ReportDigits = 12

// Clean returns the value a report writes for x: x rounded to ReportDigits
// significant digits (strconv's correct rounding of the exact binary
// value, not of a shorter decimal that prints for it), and -0 as 0. A nonzero finite x stays nonzero and keeps its
// sign (the smallest subnormal rounds to itself); NaN and ±Inf are returned
// as they are (report.Report.check refuses them before anything is written).
// Clean is a pure function of x: the same bits in, the same bits out.
func Clean(x float64) float64 {
	if x == 0 {
		return 0 // also turns -0 into 0
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'e', ReportDigits-1, 64), 64)
	if err != nil { // cannot happen: FormatFloat's output parses, and rounding never overflows
		return x
	}
	return v
}

// Number writes x as a machine-readable report does (the one writer of a
// report's numbers: the JSON encoders round through Clean, whose value
// encoding/json then writes as this, and the CSV writers call it): Clean(x)
// in the shortest decimal that reads back as exactly Clean(x), in
// encoding/json's form — plain digits from 1e-6 up to 1e21, otherwise an
// exponent without a leading zero ("1e-7", "3.22932886733e+23").
// So 30.775627418000003 → "30.775627418", 0.1+0.2 → "0.3", 1e-9 → "1e-9",
// -0 → "0". NaN and ±Inf, which reports never hold, come out as strconv
// writes them ("NaN", "+Inf", "-Inf").
func Number(x float64) string {
	v := Clean(x)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, v, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}
