package main

import (
	"strings"
	"testing"
)

// FuzzParseSize: sim collective's -b/-e never panic, and a size they accept
// is between 1 B and 1 PiB.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"8", "8G", "128K", "1M", "1MiB", "4GB", "0", "-1", "1e300", "9223372036854775807G", "NaN", "1.5", " 8 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseSize("-b", s)
		if err != nil {
			if !strings.Contains(err.Error(), "-b") {
				t.Errorf("%q: error %q does not name the flag", s, err)
			}
			return
		}
		if b < 1 || b > 1<<50 {
			t.Errorf("%q: accepted %v", s, float64(b))
		}
	})
}

// FuzzIntSet: --trace-stages/--trace-ranks lists never panic, name the flag
// when refused, and hold only non-negative members when accepted.
func FuzzIntSet(f *testing.F) {
	for _, s := range []string{"0", "0,2-3", "3-1", "-1", "x", "1,,2", "0-65536", "0-65537", " 4 - 8 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keep, err := intSet("--trace-ranks", "rank", s)
		if err != nil {
			if !strings.Contains(err.Error(), "--trace-ranks") {
				t.Errorf("%q: error %q does not name the flag", s, err)
			}
			return
		}
		if s != "" && len(keep) == 0 {
			t.Errorf("%q: accepted an empty set", s)
		}
		for k := range keep {
			if k < 0 {
				t.Errorf("%q: member %d", s, k)
			}
		}
	})
}
