package field

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is one problem with a configuration key.
type Error struct {
	// Field is the dotted scenario key concerned ("parallelism.tp"), or a
	// table ("parallelism") for a rule across several of its keys.
	Field string
	// Msg says what is wrong and, where it helps, what is allowed.
	Msg string
	// Uses lists the other keys whose values the rule read. When one of them
	// holds a value the user did not mean (a default that stood in after an
	// error), the problem may be a consequence of that one, not a problem of
	// its own.
	Uses []string
}

// Error formats e as "field: msg", the form users read.
func (e Error) Error() string { return e.Field + ": " + e.Msg }

// Errorf returns the problem of key whose message is format applied to a.
func Errorf(key, format string, a ...any) Error {
	return Error{Field: key, Msg: fmt.Sprintf(format, a...)}
}

// Using returns e with keys added to the keys its rule read.
func (e Error) Using(keys ...string) Error {
	e.Uses = append(append([]string(nil), e.Uses...), keys...)
	return e
}

// Quote lists values for a message the way Go quotes them, joined by
// commas: "gpipe", "1f1b", "interleaved". Validators build their "allowed:"
// lists with it from the same slice of constants a scenario key declares.
func Quote[T ~string](values []T) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(parts, ", ")
}

// MaxEcho is the most characters (runes) of a user's string that an error
// message repeats; a longer one is cut to MaxEcho−1 and ends in "…".
const MaxEcho = 80

// Clip returns s cut to at most MaxEcho runes, the last of them "…" when
// it was cut. It is idempotent: a clipped string is left as it is.
func Clip(s string) string {
	if utf8.RuneCountInString(s) <= MaxEcho {
		return s
	}
	r := []rune(s)
	return string(r[:MaxEcho-1]) + "…"
}

// quoted matches a Go double-quoted string literal (as %q writes one).
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// ClipQuoted returns msg with every double-quoted string in it (the way the
// messages echo a user's value, with %q) clipped by Clip and quoted again,
// so that a name of 100,000 characters is not repeated whole. It is the one
// place error messages shorten what they echo.
func ClipQuoted(msg string) string {
	if len(msg) <= MaxEcho {
		return msg
	}
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		s, err := strconv.Unquote(q)
		if err != nil || utf8.RuneCountInString(s) <= MaxEcho {
			return q
		}
		return strconv.Quote(Clip(s))
	})
}

// Count writes n with the noun in its number: "1 stage", "16 stages"
// (one for n = 1 and −1, many otherwise).
func Count(n int, one, many string) string {
	if n == 1 || n == -1 {
		return strconv.Itoa(n) + " " + one
	}
	return strconv.Itoa(n) + " " + many
}
