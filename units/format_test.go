package units

import "testing"

// TestFormatters: numbers people read print without floating-point noise,
// with separators, or with a word-sized scale; each case written by hand.
func TestFormatters(t *testing.T) {
	for _, c := range []struct {
		what, got, want string
	}{
		{"Format 230e9 × 1e-9", Format(230e9 * 1e-9), "230"},
		{"Format 3.3e-6 × 1e6", Format(3.3e-6 * 1e6), "3.3"},
		{"Format 0.1 + 0.2", Format(0.1 + 0.2), "0.3"},
		{"Format 1e-300", Format(1e-300), "1e-300"},
		{"Format 4", Format(4), "4"},
		{"Grouped 821771.4", Grouped(821771.4), "821,771"},
		{"Grouped 999.5", Grouped(999.5), "1,000"},
		{"Grouped 12", Grouped(12), "12"},
		{"Grouped 1234567890", Grouped(1234567890), "1,234,567,890"},
		{"Grouped -4321", Grouped(-4321), "-4,321"},
		{"Grouped 0", Grouped(0), "0"},
		{"Short 3e11", Short(3e11), "300 B"},
		{"Short 1.5e13", Short(1.5e13), "15 T"},
		{"Short 15.6e12", Short(15.6e12), "15.6 T"},
		{"Short 2.5e6", Short(2.5e6), "2.5 M"},
		{"Short 999.96e9", Short(999.96e9), "1 T"},
		{"Short 1e3", Short(1e3), "1 K"},
		{"Short 750", Short(750), "750"},
		{"Short 1.8e15", Short(1.8e15), "1,800 T"},
		{"Seconds 3 days", Seconds(3 * 86400).String(), "3.0 days"},
		{"Seconds 9999999 days", Seconds(9999999 * 86400).String(), "9999999.0 days"},
		{"Seconds 1e300 (was every digit)", Seconds(1e300).String(), "1.157e+295 days"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}
