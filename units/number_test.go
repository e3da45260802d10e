package units

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestNumber: how a report writes a float, case by case, each written by
// hand: the noise of the arithmetic goes, the digits that mean something
// stay, small values stay nonzero, large ones keep their magnitude.
func TestNumber(t *testing.T) {
	for _, c := range []struct {
		name string
		in   float64
		want string
	}{
		{"step time with noise", 30.775627418000003, "30.775627418"},
		{"0.1 + 0.2", 0.1 + 0.2, "0.3"},
		{"noise below 1", 5.896484352000001, "5.896484352"},
		{"one nanosecond stays", 1e-9, "1e-9"},
		{"1e-7 as encoding/json writes it", 1e-7, "1e-7"},
		{"1e-6 in plain digits", 1e-6, "0.000001"},
		{"smallest subnormal stays nonzero", math.SmallestNonzeroFloat64, "5e-324"},
		{"tiny noisy value keeps 12 digits", 1.2345678901234567e-20, "1.23456789012e-20"},
		{"zero", 0, "0"},
		{"negative zero", math.Copysign(0, -1), "0"},
		{"negative", -0.7107431624999938, "-0.7107431625"},
		{"integer", 4, "4"},
		{"integer count below 1e12 exact", 174615846912, "174615846912"},
		{"FLOP/s rounded to 12 digits", 107449726864375.05, "107449726864000"},
		{"count above 1e12 rounded to 12 digits", 36549399490560, "36549399490600"},
		{"tokens", 300e9, "300000000000"},
		{"largest plain form", 9.99999999999e20, "999999999999000000000"},
		{"1e21 takes an exponent", 1e21, "1e+21"},
		{"training FLOPs", 3.229328867328e+23, "3.22932886733e+23"},
		{"largest float", math.MaxFloat64, "1.79769313486e+308"},
		{"rounds the exact binary value (stored just below …0125)", 0.1234567890125, "0.123456789012"},
		{"rounds the exact binary value (stored just above …0005)", 0.5000000000005, "0.500000000001"},
		{"rounds up", 2.99999999999951, "3"},
		{"MFU", 0.3443901502063303, "0.344390150206"},
	} {
		if got := Number(c.in); got != c.want {
			t.Errorf("%s: Number(%v) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestCleanNonFinite: NaN and ±Inf pass through (a report refuses them
// before it is written; Clean does not hide them).
func TestCleanNonFinite(t *testing.T) {
	if !math.IsNaN(Clean(math.NaN())) {
		t.Error("Clean(NaN) is not NaN")
	}
	for _, x := range []float64{math.Inf(1), math.Inf(-1)} {
		if Clean(x) != x {
			t.Errorf("Clean(%v) = %v", x, Clean(x))
		}
	}
	if got := Number(math.Inf(-1)); got != "-Inf" {
		t.Errorf("Number(-Inf) = %q", got)
	}
}

// significant counts the significant digits of a number literal's mantissa.
func significant(s string) int {
	m, _, _ := strings.Cut(strings.TrimPrefix(s, "-"), "e")
	frac := strings.Contains(m, ".")
	d := strings.TrimLeft(strings.Replace(m, ".", "", 1), "0")
	if !frac {
		d = strings.TrimRight(d, "0")
	}
	return len(d)
}

// TestNumberProperties: for finite floats of every magnitude (random bit
// patterns and random values near noisy decimals), the written number reads
// back as exactly Clean(x), which is within half a unit of the 12th digit
// of x (relative error ≤ 5·10^-12), keeps the sign of a nonzero x and is
// never 0 for one, has at most 12 significant digits, is what encoding/json
// writes for Clean(x), and writes itself again unchanged.
func TestNumberProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var xs []float64
	for len(xs) < 200000 {
		x := math.Float64frombits(rng.Uint64())
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		xs = append(xs, x)
		// A short decimal with arithmetic noise on it.
		d := float64(rng.IntN(1_000_000_000)) * math.Pow(10, float64(rng.IntN(40)-20))
		xs = append(xs, d*(1+float64(rng.IntN(9)-4)*0x1p-52))
	}
	const rel = 5e-12
	for _, x := range xs {
		s := Number(x)
		back, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("Number(%v) = %q does not parse: %v", x, s, err)
		}
		if back != Clean(x) {
			t.Fatalf("Number(%v) = %q reads back as %v, not Clean(x) = %v", x, s, back, Clean(x))
		}
		if math.Abs(back-x) > rel*math.Abs(x) {
			t.Fatalf("Number(%v) = %q is off by %g relative, more than %g", x, s, math.Abs(back-x)/math.Abs(x), rel)
		}
		if x != 0 && (back == 0 || math.Signbit(back) != math.Signbit(x)) {
			t.Fatalf("Number(%v) = %q lost the value or its sign", x, s)
		}
		if n := significant(s); n > ReportDigits {
			t.Fatalf("Number(%v) = %q has %d significant digits", x, s, n)
		}
		j, err := json.Marshal(Clean(x))
		if err != nil || string(j) != s {
			t.Fatalf("Number(%v) = %q, encoding/json writes Clean(x) as %q (%v)", x, s, j, err)
		}
		if again := Number(back); again != s {
			t.Fatalf("Number(%v) = %q, but Number(%q) = %q", x, s, s, again)
		}
	}
}
