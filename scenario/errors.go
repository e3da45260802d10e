package scenario

import (
	"sort"
	"strconv"
	"strings"
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
// when they are not known.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a scenario. Load returns it sorted: the
// file's problems by line (those without a line first), then those of the
// --set overrides in the order given.
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

// sort orders l as documented on ErrorList. It is stable, so problems on the
// same line keep the order they were found in.
func (l ErrorList) sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if sa, sb := a.File == SetFile, b.File == SetFile; sa != sb {
			return sb
		}
		return a.Line < b.Line
	})
}

// err returns l as an error, or nil when it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	l.sort()
	return l
}
