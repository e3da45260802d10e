package scenario

import (
	"strconv"

	"github.com/BurntSushi/toml"
)

// keyLines scans TOML source and returns, for each table header and each key
// it sets, the 1-based line where it first appears. Keys are spelled as
// toml.Key.String spells them ("cluster.gpu.peak"); a dotted key inside a
// table also records its intermediate tables ("gpu.peak = ..." under
// [cluster] records cluster.gpu). Keys inside inline tables are not recorded:
// callers fall back to the enclosing key.
//
// The scanner is lenient: on text that is not valid TOML it records what it
// can and never fails.
func keyLines(src []byte) map[string]int {
	s := &lineScanner{src: src, line: 1, lines: map[string]int{}}
	s.run()
	return s.lines
}

type lineScanner struct {
	src   []byte
	i     int
	line  int
	table []string
	lines map[string]int
}

func (s *lineScanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

func (s *lineScanner) eof() bool { return s.i >= len(s.src) }

// advance moves past one byte, counting lines.
func (s *lineScanner) advance() {
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

func (s *lineScanner) record(parts []string, line int) {
	for n := 1; n <= len(parts); n++ {
		k := toml.Key(parts[:n]).String()
		if _, ok := s.lines[k]; !ok {
			s.lines[k] = line
		}
	}
}

// skipLine moves to the start of the next line.
func (s *lineScanner) skipLine() {
	for !s.eof() && s.peek(0) != '\n' {
		s.i++
	}
	if !s.eof() {
		s.advance()
	}
}

func (s *lineScanner) skipBlanks() {
	for !s.eof() && (s.peek(0) == ' ' || s.peek(0) == '\t' || s.peek(0) == '\r') {
		s.i++
	}
}

func (s *lineScanner) run() {
	for !s.eof() {
		s.skipBlanks()
		if s.eof() {
			return
		}
		switch c := s.peek(0); {
		case c == '\n':
			s.advance()
		case c == '#':
			s.skipLine()
		case c == '[':
			line := s.line
			s.i++
			double := s.peek(0) == '['
			if double {
				s.i++
			}
			parts, ok := s.key()
			if ok && s.peek(0) == ']' {
				s.table = parts
				s.record(parts, line)
			}
			s.skipLine()
		default:
			line := s.line
			parts, ok := s.key()
			if !ok || s.peek(0) != '=' {
				s.skipLine()
				continue
			}
			s.i++
			full := append(append([]string(nil), s.table...), parts...)
			s.record(full, line)
			s.value()
		}
	}
}

// key reads a dotted key of bare, "basic" and 'literal' parts, stopping at the
// first byte that cannot continue it (after trailing blanks).
func (s *lineScanner) key() ([]string, bool) {
	var parts []string
	for {
		s.skipBlanks()
		start := s.i
		switch s.peek(0) {
		case '"':
			s.i++
			for !s.eof() && s.peek(0) != '"' && s.peek(0) != '\n' {
				if s.peek(0) == '\\' && s.i+1 < len(s.src) && s.peek(1) != '\n' {
					s.i++
				}
				s.i++
			}
			if s.peek(0) != '"' {
				return nil, false
			}
			s.i++
			part, err := strconv.Unquote(string(s.src[start:s.i]))
			if err != nil {
				part = string(s.src[start+1 : s.i-1])
			}
			parts = append(parts, part)
		case '\'':
			s.i++
			for !s.eof() && s.peek(0) != '\'' && s.peek(0) != '\n' {
				s.i++
			}
			if s.peek(0) != '\'' {
				return nil, false
			}
			s.i++
			parts = append(parts, string(s.src[start+1:s.i-1]))
		default:
			for !s.eof() && isBare(s.peek(0)) {
				s.i++
			}
			if s.i == start {
				return nil, false
			}
			parts = append(parts, string(s.src[start:s.i]))
		}
		s.skipBlanks()
		if s.peek(0) != '.' {
			return parts, true
		}
		s.i++
	}
}

func isBare(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips a value, which may span lines (multi-line strings, arrays),
// and the rest of its last line.
func (s *lineScanner) value() {
	depth := 0
	for !s.eof() {
		switch c := s.peek(0); c {
		case '\n':
			s.advance()
			if depth <= 0 {
				return
			}
		case '#':
			for !s.eof() && s.peek(0) != '\n' {
				s.i++
			}
		case '[', '{':
			depth++
			s.i++
		case ']', '}':
			depth--
			s.i++
		case '"', '\'':
			s.str(c)
		default:
			s.i++
		}
	}
}

// str skips a string opened by quote q: basic or literal, single- or
// multi-line.
func (s *lineScanner) str(q byte) {
	if s.peek(1) == q && s.peek(2) == q {
		s.i += 3
		for !s.eof() {
			if q == '"' && s.peek(0) == '\\' && s.i+1 < len(s.src) {
				s.advance()
				s.advance()
				continue
			}
			if s.peek(0) == q && s.peek(1) == q && s.peek(2) == q {
				s.i += 3
				// Up to two more quotes belong to the string's content.
				for n := 0; n < 2 && s.peek(0) == q; n++ {
					s.i++
				}
				return
			}
			s.advance()
		}
		return
	}
	s.i++
	for !s.eof() && s.peek(0) != '\n' {
		c := s.peek(0)
		if q == '"' && c == '\\' && s.i+1 < len(s.src) && s.peek(1) != '\n' {
			s.i += 2
			continue
		}
		s.i++
		if c == q {
			return
		}
	}
}
