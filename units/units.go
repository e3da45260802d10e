package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Bytes is an amount of memory or data, in bytes.
type Bytes float64

// Seconds is a span of time, in seconds.
type Seconds float64

// FLOPs is a count of floating-point operations.
type FLOPs float64

// FLOPRate is a compute throughput, in FLOP per second.
type FLOPRate float64

// Bandwidth is a data rate, in bytes per second.
type Bandwidth float64

// Common magnitudes.
const (
	KiB Bytes = 1 << 10
	MiB Bytes = 1 << 20
	GiB Bytes = 1 << 30
	TiB Bytes = 1 << 40

	KB Bytes = 1e3
	MB Bytes = 1e6
	GB Bytes = 1e9

	Nanosecond  Seconds = 1e-9
	Microsecond Seconds = 1e-6
	Millisecond Seconds = 1e-3

	TFLOPs FLOPRate  = 1e12
	GBps   Bandwidth = 1e9
	Gbps   Bandwidth = 1e9 / 8
)

// Over returns the time to move b at rate r.
func (b Bytes) Over(r Bandwidth) Seconds { return Seconds(float64(b) / float64(r)) }

// At returns the time to execute f at rate r.
func (f FLOPs) At(r FLOPRate) Seconds { return Seconds(float64(f) / float64(r)) }

// Scale returns the rate multiplied by an efficiency or share.
func (r FLOPRate) Scale(x float64) FLOPRate { return FLOPRate(float64(r) * x) }

// Scale returns the bandwidth multiplied by an efficiency or share.
func (b Bandwidth) Scale(x float64) Bandwidth { return Bandwidth(float64(b) * x) }

// GiB returns b in gibibytes, for printing.
func (b Bytes) GiB() float64 { return float64(b) / float64(GiB) }

// String formats b with a binary prefix, e.g. "45.56 GiB".
func (b Bytes) String() string {
	v := float64(b)
	switch a := math.Abs(v); {
	case a >= float64(TiB):
		return fmt.Sprintf("%.2f TiB", v/float64(TiB))
	case a >= float64(GiB):
		return fmt.Sprintf("%.2f GiB", v/float64(GiB))
	case a >= float64(MiB):
		return fmt.Sprintf("%.2f MiB", v/float64(MiB))
	case a >= float64(KiB):
		return fmt.Sprintf("%.2f KiB", v/float64(KiB))
	}
	return fmt.Sprintf("%.0f B", v)
}

// String formats s with a fitting unit, e.g. "31.9 s", "2.50 ms", "1.0 us".
func (s Seconds) String() string {
	v := float64(s)
	switch a := math.Abs(v); {
	case a == 0:
		return "0 s"
	case a >= 86400*1e7:
		// Past 10^7 days (27,000 years), %.1f would print every digit
		// of 1e300 s.
		return fmt.Sprintf("%.4g days", v/86400)
	case a >= 86400*2:
		return fmt.Sprintf("%.1f days", v/86400)
	case a >= 1:
		return fmt.Sprintf("%.4g s", v)
	case a >= 1e-3:
		return fmt.Sprintf("%.3g ms", v*1e3)
	case a >= 1e-6:
		return fmt.Sprintf("%.3g us", v*1e6)
	}
	return fmt.Sprintf("%.3g ns", v*1e9)
}

// String formats r in TFLOP/s.
func (r FLOPRate) String() string { return fmt.Sprintf("%.4g TFLOP/s", float64(r)/1e12) }

// String formats b in GB/s.
func (b Bandwidth) String() string { return fmt.Sprintf("%.4g GB/s", float64(b)/1e9) }

// decimalPrefix returns the factor of an SI prefix ("" for none).
func decimalPrefix(p string) (float64, bool) {
	switch p {
	case "":
		return 1, true
	case "k", "K":
		return 1e3, true
	case "M":
		return 1e6, true
	case "G":
		return 1e9, true
	case "T":
		return 1e12, true
	case "P":
		return 1e15, true
	case "E":
		return 1e18, true
	}
	return 0, false
}

// binaryPrefix returns the factor of an IEC binary prefix.
func binaryPrefix(p string) (float64, bool) {
	switch p {
	case "Ki":
		return 1 << 10, true
	case "Mi":
		return 1 << 20, true
	case "Gi":
		return 1 << 30, true
	case "Ti":
		return 1 << 40, true
	case "Pi":
		return 1 << 50, true
	}
	return 0, false
}

// splitNumber splits "2.5us" into 2.5 and "us". It rejects NaN, infinities
// and a missing number.
func splitNumber(s string) (float64, string, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) {
		c := s[i]
		if (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' || c == '_' {
			i++
			continue
		}
		// An exponent: 'e' or 'E' followed by a digit or sign.
		if (c == 'e' || c == 'E') && i > 0 && i+1 < len(s) {
			n := s[i+1]
			if (n >= '0' && n <= '9') || n == '+' || n == '-' {
				i += 2
				continue
			}
		}
		break
	}
	num := strings.ReplaceAll(s[:i], "_", "")
	unit := strings.TrimSpace(s[i:])
	if num == "" {
		return 0, "", fmt.Errorf("%q has no number", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, "", fmt.Errorf("%q is not a number", s)
	}
	return v, unit, nil
}

// prefixed looks unit up as prefix+base for each base, returning the factor.
func prefixed(unit string, bases []string, binary bool) (float64, bool) {
	for _, base := range bases {
		if !strings.HasSuffix(unit, base) {
			continue
		}
		p := strings.TrimSuffix(unit, base)
		if f, ok := decimalPrefix(p); ok {
			return f, true
		}
		if binary {
			if f, ok := binaryPrefix(p); ok {
				return f, true
			}
		}
	}
	return 0, false
}

func nonNegative(kind, s string, v float64) error {
	if v < 0 {
		return fmt.Errorf("%s %q is negative (allowed: 0 or more)", kind, s)
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Errorf("%s %q is out of range", kind, s)
	}
	return nil
}

// ParseBytes parses an amount such as "80GiB", "40GB", "512MiB" or "1024B".
func ParseBytes(s string) (Bytes, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	f, ok := prefixed(unit, []string{"B"}, true)
	if !ok {
		return 0, fmt.Errorf("%q: unit %q is not a size (want B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)", s, unit)
	}
	return Bytes(v * f), nonNegative("size", s, v*f)
}

// ParseSeconds parses a duration such as "2.5us", "1ms", "60s", "30min", "10h".
func ParseSeconds(s string) (Seconds, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	f, ok := map[string]float64{
		"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1,
		"min": 60, "h": 3600, "d": 86400,
	}[unit]
	if !ok {
		return 0, fmt.Errorf("%q: unit %q is not a time (want ns, us, ms, s, min, h, d)", s, unit)
	}
	return Seconds(v * f), nonNegative("duration", s, v*f)
}

// ParseFLOPRate parses a throughput such as "312TFLOP/s" or "1.979PFLOPS".
func ParseFLOPRate(s string) (FLOPRate, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	f, ok := prefixed(unit, []string{"FLOP/s", "FLOPS", "FLOPs/s"}, false)
	if !ok {
		return 0, fmt.Errorf("%q: unit %q is not a FLOP rate (want e.g. TFLOP/s)", s, unit)
	}
	return FLOPRate(v * f), nonNegative("FLOP rate", s, v*f)
}

// ParseBandwidth parses a rate in bytes ("300GB/s", "25GBps") or in bits
// ("200Gb/s", "400Gbps").
func ParseBandwidth(s string) (Bandwidth, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	if f, ok := prefixed(unit, []string{"B/s", "Bps"}, true); ok {
		return Bandwidth(v * f), nonNegative("bandwidth", s, v*f)
	}
	if f, ok := prefixed(unit, []string{"b/s", "bps", "bit/s"}, false); ok {
		return Bandwidth(v * f / 8), nonNegative("bandwidth", s, v*f)
	}
	return 0, fmt.Errorf("%q: unit %q is not a bandwidth (want e.g. GB/s or Gb/s)", s, unit)
}

// UnmarshalText parses a size string; it lets TOML decode "80GiB" directly.
func (b *Bytes) UnmarshalText(t []byte) error {
	v, err := ParseBytes(string(t))
	*b = v
	return err
}

// UnmarshalText parses a duration string such as "2us".
func (s *Seconds) UnmarshalText(t []byte) error {
	v, err := ParseSeconds(string(t))
	*s = v
	return err
}

// UnmarshalText parses a FLOP rate string such as "312TFLOP/s".
func (r *FLOPRate) UnmarshalText(t []byte) error {
	v, err := ParseFLOPRate(string(t))
	*r = v
	return err
}

// UnmarshalText parses a bandwidth string such as "200Gb/s".
func (b *Bandwidth) UnmarshalText(t []byte) error {
	v, err := ParseBandwidth(string(t))
	*b = v
	return err
}

// Precision is the number format training computes in.
type Precision string

// The precisions a scenario may name.
const (
	FP16 Precision = "fp16"
	BF16 Precision = "bf16"
	FP8  Precision = "fp8"
)

// ElementBytes is the size of one activation or weight element as stored
// between kernels. FP8 training (Transformer Engine) keeps weights and
// activations that cross layers in 16-bit, so it is 2 bytes for all three.
func (p Precision) ElementBytes() Bytes { return 2 }

// Precisions lists the precisions a scenario may name, in the order
// messages and the scenario reference list them.
func Precisions() []Precision { return []Precision{FP16, BF16, FP8} }

// Valid reports whether p is one of the known precisions.
func (p Precision) Valid() bool { return p == FP16 || p == BF16 || p == FP8 }

// Format prints a number without floating-point noise: at most 10
// significant digits, the shortest form ('g'), so that 230e9 × 1e-9 prints
// "230" and not "230.00000000000003". For figures read back by people (a
// report, an error message), never for files a program reads back exactly.
func Format(x float64) string { return strconv.FormatFloat(x, 'g', 10, 64) }

// Grouped prints x rounded to an integer with thousands separators:
// 821771.4 → "821,771".
func Grouped(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	s := strconv.FormatFloat(math.Abs(math.Round(x)), 'f', 0, 64)
	var b strings.Builder
	if x <= -0.5 {
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

// Short prints a count with three significant digits and a word-sized
// scale, as people write token counts: 3e11 → "300 B", 1.5e13 → "15 T",
// 2.5e6 → "2.5 M", 750 → "750". The scales are thousand (K), million (M),
// billion (B) and trillion (T).
func Short(x float64) string {
	a := math.Abs(x)
	for _, s := range []struct {
		f    float64
		name string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}} {
		// Round first, so that 999.96e9 prints "1 T" and not "1000 B".
		if r, _ := strconv.ParseFloat(strconv.FormatFloat(a, 'g', 3, 64), 64); r >= s.f {
			if a >= 1000*s.f { // beyond the largest scale: whole units of it
				return Grouped(x/s.f) + " " + s.name
			}
			return strconv.FormatFloat(x/s.f, 'g', 3, 64) + " " + s.name
		}
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}
