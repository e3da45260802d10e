// Package inputfile reads the TOML files a user hands the simulator —
// scenarios, sweeps, calibration files, topology files, validation cases —
// within bounds: at most MaxSize bytes (so that `sim run /dev/zero` fails at
// once instead of growing without end), and nested at most MaxDepth arrays
// and inline tables deep (so that a small file of nested inline tables is
// refused before the TOML decoder spends minutes and gigabytes on it).
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxSize is the largest input file read: 1 MiB, far above any real
// scenario, sweep, calibration or topology file (the largest in the
// repository is a few tens of KiB).
const MaxSize = 1 << 20

// MaxDepth is how deeply arrays and inline tables may nest in an input (a
// table header's brackets count while they are open). Real files nest two
// or three levels.
const MaxDepth = 16

// ErrTooLarge is returned by Read for a file over MaxSize.
var ErrTooLarge = errors.New("larger than 1 MiB, the limit for an input file")

// Read reads the file at path, at most MaxSize bytes of it: a longer one (or
// a device that never ends) is an error wrapping ErrTooLarge. Every error
// names path once ("open PATH: …", "read PATH: …", "PATH: larger than …"), so
// a caller adds no path of its own.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(src) > MaxSize {
		return nil, fmt.Errorf("%s: %w", path, ErrTooLarge)
	}
	return src, nil
}

// DepthError is a TOML text nested deeper than MaxDepth.
type DepthError struct {
	// Line is the line, from 1, where the nesting passes MaxDepth.
	Line int
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("arrays and inline tables nested more than %d deep", MaxDepth)
}

// CheckDepth scans TOML text for the depth of '[' and '{' outside strings
// and comments, and returns a *DepthError where it passes MaxDepth. It does
// not check the syntax otherwise: the decoder does that afterwards.
func CheckDepth(src []byte) error {
	depth, line := 0, 1
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '\n':
			line++
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i-- // let the newline be counted
		case '"', '\'':
			i, line = skipString(src, i, line)
		case '[', '{':
			depth++
			if depth > MaxDepth {
				return &DepthError{Line: line}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// skipString returns the index of the last byte of the string starting at
// src[i] (basic or literal, single- or multi-line) and the line it ends on.
// An unterminated string runs to the end of its line (single-line) or of the
// text (multi-line).
func skipString(src []byte, i, line int) (int, int) {
	q := src[i]
	if i+2 < len(src) && src[i+1] == q && src[i+2] == q {
		// Multi-line: up to the closing triple quote.
		for j := i + 3; j < len(src); j++ {
			switch {
			case src[j] == '\n':
				line++
			case src[j] == '\\' && q == '"':
				if j+1 < len(src) && src[j+1] == '\n' {
					line++
				}
				j++
			case src[j] == q && j+2 < len(src) && src[j+1] == q && src[j+2] == q:
				// A closing run may be up to five quotes long.
				for j+3 < len(src) && src[j+3] == q {
					j++
				}
				return j + 2, line
			}
		}
		return len(src), line
	}
	for j := i + 1; j < len(src); j++ {
		switch {
		case src[j] == '\n':
			return j - 1, line
		case src[j] == '\\' && q == '"':
			j++
		case src[j] == q:
			return j, line
		}
	}
	return len(src), line
}
