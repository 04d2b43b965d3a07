package envelope

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a small validating JSON reader used where encoding/json would
// allocate: envelope and item header lines (on every request) and the
// order-preserving pair lists of an event (tags, request headers).
//
// It checks the JSON grammar (RFC 8259) including string escapes, but not
// that strings are valid UTF-8: like encoding/json, which replaces invalid
// bytes, it accepts them. Nesting is bounded by max: a value that opens a
// container deeper than max sets tooDeep and fails.
type scanner struct {
	b []byte
	// src, when set, holds the bytes of b as one string, which the text
	// of strings is sliced from (see substr) instead of each being copied.
	src     string
	i       int
	max     int
	tooDeep bool
}

// substr returns v, a sub-slice of s.b, as a string: a substring of s.src
// when the scanner has one, else a copy. v = s.b[i:j] has capacity
// cap(s.b)-i, which gives its offset without carrying positions around;
// the pointer comparison makes sure v really is that part of s.b.
func (s *scanner) substr(v []byte) string {
	i := cap(s.b) - cap(v)
	if s.src == "" || len(v) == 0 || i < 0 || i+len(v) > len(s.b) || &s.b[i] != &v[0] {
		return string(v)
	}
	return s.src[i : i+len(v)]
}

// contents returns the contents of the string token tok, a sub-slice of
// s.b: a substring of s.src when it has no escapes.
func (s *scanner) contents(tok []byte, esc bool) string {
	if esc {
		return unquote(tok, esc)
	}
	return s.substr(tok[1 : len(tok)-1])
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// peek returns the byte at the cursor, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// consume skips white space and then c; it reports whether c was there.
func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads the string token at the cursor. It returns the whole token,
// quotes included, and whether it contains escapes.
func (s *scanner) str() (tok []byte, esc, ok bool) {
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i
	j := start + 1
	for {
		// Find the first quote, backslash or control character, 8 bytes
		// at a time. Most strings of an event are short keys and values:
		// a call to the runtime's vector search costs more than the
		// whole string (measured: bytes.IndexByte took 28 % of decoding).
		for j+8 <= len(b) {
			if m := stop8(binary.LittleEndian.Uint64(b[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 {
			j++
		}
		if j >= len(b) {
			return nil, false, false
		}
		switch c := b[j]; {
		case c == '"':
			s.i = j + 1
			return b[start:s.i], esc, true
		case c < 0x20:
			return nil, false, false
		}
		// A backslash.
		esc = true
		j++
		if j >= len(b) {
			return nil, false, false
		}
		switch b[j] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			if j+4 >= len(b) || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
				return nil, false, false
			}
			j += 4
		default:
			return nil, false, false
		}
		j++
	}
}

// stop8 returns x, 8 bytes of a string read little-endian, with the high
// bit set in the byte of the first quote, backslash or control character,
// and 0 when there is none. Each of the three tests flags its first find
// exactly (a borrow can flag bytes above a find, never below), so the
// lowest flag of their union is the first byte that ends a plain run.
func stop8(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	bs := x ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (x-ones*0x20)&^x) & highs
}

// num reads the number token at the cursor.
func (s *scanner) num() ([]byte, bool) {
	b, j := s.b, s.i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j >= len(b):
		return nil, false
	case b[j] == '0':
		j++
	case b[j] >= '1' && b[j] <= '9':
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	default:
		return nil, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		k := j
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if j == k {
			return nil, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if j == k {
			return nil, false
		}
	}
	tok := b[s.i:j]
	s.i = j
	return tok, true
}

// value skips one value at the cursor (after white space) and returns its
// bytes. depth is the number of containers already open around it.
func (s *scanner) value(depth int) ([]byte, bool) {
	s.ws()
	start := s.i
	if !s.skip(depth) {
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *scanner) skip(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '{', '[':
		if depth+1 > s.max {
			s.tooDeep = true
			return false
		}
		s.i++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if s.consume(end) {
			return true
		}
		for {
			if c == '{' {
				s.ws()
				if _, _, ok := s.str(); !ok || !s.consume(':') {
					return false
				}
			}
			s.ws()
			if !s.skip(depth + 1) {
				return false
			}
			if s.consume(',') {
				continue
			}
			return s.consume(end)
		}
	case '"':
		_, _, ok := s.str()
		return ok
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		_, ok := s.num()
		return ok
	}
}

func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// members iterates over the members of the object at the cursor, calling fn
// with each raw key token (quotes included) and the scanner positioned
// before the value. fn must consume the value (s.skip or s.value). depth is
// the number of containers around the object.
func (s *scanner) members(depth int, fn func(key []byte, esc bool) bool) bool {
	if !s.consume('{') {
		return false
	}
	if depth+1 > s.max {
		s.tooDeep = true
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		s.ws()
		key, esc, ok := s.str()
		if !ok || !s.consume(':') {
			return false
		}
		s.ws()
		if !fn(key, esc) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// elems iterates over the elements of the array at the cursor, calling fn
// with the scanner positioned before each element; fn must consume it.
func (s *scanner) elems(depth int, fn func() bool) bool {
	if !s.consume('[') {
		return false
	}
	if depth+1 > s.max {
		s.tooDeep = true
		return false
	}
	if s.consume(']') {
		return true
	}
	for {
		s.ws()
		if !fn() {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}

// unquote returns the contents of a string token read by str. Tokens
// without escapes are converted directly. Escaped ones are decoded as
// encoding/json does (json.Unmarshal cost 600 ns and 4 allocations a
// string, and Windows paths escape every separator): invalid UTF-8 and
// unpaired surrogates become U+FFFD.
func unquote(tok []byte, esc bool) string {
	s := tok[1 : len(tok)-1]
	if !esc {
		return string(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		// Copy the run up to the next escape, coercing it to UTF-8.
		n := bytes.IndexByte(s, '\\')
		if n < 0 {
			n = len(s)
		}
		if run := s[:n]; utf8.Valid(run) {
			b.Write(run)
		} else {
			for len(run) > 0 {
				r, size := utf8.DecodeRune(run)
				b.WriteRune(r)
				run = run[size:]
			}
		}
		s = s[n:]
		if len(s) == 0 {
			break
		}
		// str checked the escape: \x, or \u and four hex digits.
		c := s[1]
		switch c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r, size := hex4(s), 6
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; half of one is U+FFFD.
				low := rune(-1)
				if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
					low = hex4(s[6:])
				}
				r = utf16.DecodeRune(r, low)
				if r != unicode.ReplacementChar {
					size = 12
				}
			}
			b.WriteRune(r)
			s = s[size:]
			continue
		}
		b.WriteByte(c)
		s = s[2:]
	}
	return b.String()
}

// hex4 returns the value of the four hex digits of the \u escape at the
// start of s, or -1 when they are not hex digits.
func hex4(s []byte) rune {
	r := rune(0)
	for _, c := range s[2:6] {
		switch {
		case isDigit(c):
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// keyIs reports whether the key token equals name, decoding escapes if any.
func keyIs(tok []byte, esc bool, name string) bool {
	if !esc {
		return len(tok) == len(name)+2 && string(tok[1:len(tok)-1]) == name
	}
	return unquote(tok, esc) == name
}

// scalarText renders a JSON scalar, a sub-slice of s.b, as text: a
// string's contents, or the literal text of a number or boolean. It reports
// false for null, objects and arrays.
func (s *scanner) scalarText(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		return s.contents(raw, bytes.IndexByte(raw, '\\') >= 0), true
	case 'n', '{', '[':
		return "", false
	}
	return s.substr(raw), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
