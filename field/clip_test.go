package field

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestClip: a user's string longer than MaxEcho (80) runes is cut to 79 and
// "…"; shorter ones, and a clipped one, are left alone; a quoted value in a
// message is clipped inside its quotes, the rest of the message kept.
func TestClip(t *testing.T) {
	long := strings.Repeat("x", 100000)
	cut := strings.Repeat("x", 79) + "…"
	tests := []struct {
		name, in, want string
		quoted         bool
	}{
		{"short", "gpt3-175b", "gpt3-175b", false},
		{"80 runes", strings.Repeat("a", 80), strings.Repeat("a", 80), false},
		{"81 runes", strings.Repeat("a", 81), strings.Repeat("a", 79) + "…", false},
		{"100,000 runes", long, cut, false},
		{"clipped again", cut, cut, false},
		{"multi-byte runes", strings.Repeat("é", 90), strings.Repeat("é", 79) + "…", false},
		{"message with a long name", `no built-in model called "` + long + `"; allowed: "a", "b"`,
			`no built-in model called "` + cut + `"; allowed: "a", "b"`, true},
		{"message with short quotes only", `must be one of "ppo", "grpo", got "dpo" and a long tail ` + strings.Repeat("-", 100),
			`must be one of "ppo", "grpo", got "dpo" and a long tail ` + strings.Repeat("-", 100), true},
		{"escaped quote inside", `got "` + strings.Repeat(`\"`, 100) + `"`, `got "` + strings.Repeat(`\"`, 79) + `…"`, true},
	}
	for _, tt := range tests {
		got := Clip(tt.in)
		if tt.quoted {
			got = ClipQuoted(tt.in)
		}
		if got != tt.want {
			t.Errorf("%s: got %.200q…, want %.200q…", tt.name, got, tt.want)
		}
		if !tt.quoted && utf8.RuneCountInString(got) > MaxEcho {
			t.Errorf("%s: %d runes, more than %d", tt.name, utf8.RuneCountInString(got), MaxEcho)
		}
	}
}
