package scenario

import (
	"sort"
	"strconv"
	"strings"

	"trainsim/field"
)

// SetFile is the file name that errors caused by a --set override carry.
const SetFile = "--set"

// Error is one problem with a scenario: where it is and what is wrong.
type Error struct {
	// File is the scenario file's name, or SetFile for a --set override.
	File string
	// Line is the 1-based line the problem is on; 0 when it has no line (a
	// default value, a --set override, a key that is missing).
	Line int
	// Key is the dotted scenario key concerned ("parallelism.tp"); empty for
	// a syntax error.
	Key string
	// Msg says what is wrong and, where it helps, what is allowed.
	Msg string
}

// Error formats e as "file:line: key: msg", leaving out the line and the key
// when they are not known. A long key, and a long quoted value in msg (an
// unknown preset's name), are clipped (field.Clip, field.ClipQuoted).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(field.Clip(e.Key))
		b.WriteString(": ")
	}
	b.WriteString(field.ClipQuoted(e.Msg))
	return b.String()
}

// ErrorList is every problem found in a scenario. Load and Validate return it
// sorted: the scenario file's problems by line (those without a line first),
// then those placed in the calibration file it names, by line, then those of
// the --set overrides in the order found.
type ErrorList []*Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the problems as errors, so that errors.As can find an *Error
// in an ErrorList.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sort orders l as documented on ErrorList, primary being the scenario
// file. It is stable, so problems on the same line keep the order they were
// found in.
func (l ErrorList) sort(primary string) {
	rank := func(e *Error) int {
		switch e.File {
		case primary:
			return 0
		case SetFile:
			return 2
		}
		return 1
	}
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		return a.Line < b.Line
	})
}

// err returns l sorted as an error, primary being the scenario file, or nil
// when it is empty.
func (l ErrorList) err(primary string) error {
	if len(l) == 0 {
		return nil
	}
	l.sort(primary)
	return l
}
