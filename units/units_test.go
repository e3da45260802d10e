package units

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		kind string
		want float64
	}{
		{"80GiB", "bytes", 80 * (1 << 30)},
		{"40GB", "bytes", 40e9},
		{"1_024B", "bytes", 1024},
		{"2.5us", "time", 2.5e-6},
		{"1ms", "time", 1e-3},
		{"30min", "time", 1800},
		{"50000h", "time", 50000 * 3600},
		{"312TFLOP/s", "flops", 312e12},
		{"1.979PFLOP/s", "flops", 1.979e15},
		{"200Gb/s", "bw", 25e9},
		{"400Gbps", "bw", 50e9},
		{"300GB/s", "bw", 300e9},
		{"2039GB/s", "bw", 2039e9},
		{"1e3GB/s", "bw", 1e12},
	}
	for _, tc := range tests {
		var got float64
		var err error
		switch tc.kind {
		case "bytes":
			var v Bytes
			v, err = ParseBytes(tc.in)
			got = float64(v)
		case "time":
			var v Seconds
			v, err = ParseSeconds(tc.in)
			got = float64(v)
		case "flops":
			var v FLOPRate
			v, err = ParseFLOPRate(tc.in)
			got = float64(v)
		case "bw":
			var v Bandwidth
			v, err = ParseBandwidth(tc.in)
			got = float64(v)
		}
		if err != nil || !near(got, tc.want) {
			t.Errorf("parse %q (%s) = %g, %v; want %g", tc.in, tc.kind, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	bad := []struct {
		in    string
		parse func(string) error
	}{
		{"80", func(s string) error { _, e := ParseBytes(s); return e }},
		{"GiB", func(s string) error { _, e := ParseBytes(s); return e }},
		{"-1GiB", func(s string) error { _, e := ParseBytes(s); return e }},
		{"2 parsecs", func(s string) error { _, e := ParseSeconds(s); return e }},
		{"312TB/s", func(s string) error { _, e := ParseFLOPRate(s); return e }},
		{"200GiFLOP/s", func(s string) error { _, e := ParseFLOPRate(s); return e }},
		{"NaNGB/s", func(s string) error { _, e := ParseBandwidth(s); return e }},
		{"InfGB/s", func(s string) error { _, e := ParseBandwidth(s); return e }},
		{"300GiB", func(s string) error { _, e := ParseBandwidth(s); return e }},
	}
	for _, tc := range bad {
		if err := tc.parse(tc.in); err == nil {
			t.Errorf("%q: want an error", tc.in)
		}
	}
}

// TestNegativeSaysAllowed: a negative amount names what is allowed, so a
// user who typed "-5GB/s" for a bandwidth learns the range, not only the fault.
func TestNegativeSaysAllowed(t *testing.T) {
	for _, tc := range []struct {
		in    string
		parse func(string) error
	}{
		{"-5GB/s", func(s string) error { _, e := ParseBandwidth(s); return e }},
		{"-1GiB", func(s string) error { _, e := ParseBytes(s); return e }},
		{"-2us", func(s string) error { _, e := ParseSeconds(s); return e }},
	} {
		err := tc.parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), "allowed: 0 or more") || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("%q: error %v, want it to quote the value and say 0 or more is allowed", tc.in, err)
		}
	}
}

func TestArithmetic(t *testing.T) {
	if got := Bytes(50e9).Over(25 * GBps); got != 2 {
		t.Errorf("50 GB over 25 GB/s = %v, want 2 s", got)
	}
	if got := FLOPs(312e12).At(312 * TFLOPs); got != 1 {
		t.Errorf("312 TFLOP at 312 TFLOP/s = %v, want 1 s", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"80GiB", "2.5us", "312TFLOP/s", "200Gb/s", "1e-3s", "", "-", "e5", "1e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseBytes(s); err == nil && (v < 0 || math.IsNaN(float64(v))) {
			t.Fatalf("ParseBytes(%q) = %v without error", s, v)
		}
		if v, err := ParseSeconds(s); err == nil && (v < 0 || math.IsNaN(float64(v))) {
			t.Fatalf("ParseSeconds(%q) = %v without error", s, v)
		}
		if v, err := ParseBandwidth(s); err == nil && (v < 0 || math.IsNaN(float64(v))) {
			t.Fatalf("ParseBandwidth(%q) = %v without error", s, v)
		}
		if v, err := ParseFLOPRate(s); err == nil && (v < 0 || math.IsNaN(float64(v))) {
			t.Fatalf("ParseFLOPRate(%q) = %v without error", s, v)
		}
	})
}
