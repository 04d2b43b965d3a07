package grouping

import (
	"strings"
	"unicode/utf8"
)

// Normalize is Sentry's normalize_message_for_grouping: it keeps the first
// two non-empty lines (adding "..." when anything was trimmed) and replaces
// variable parts with placeholders, in this priority order: <email> <url>
// <hostname> <ip> <traceparent> <uuid> <sha1> <md5> <date> <duration> <hex>
// <float> <int> <quoted_str> <bool> (the last two only after "=").
//
// Example: "order 1234 failed (request 3f2a…-uuid)" → "order <int> failed
// (request <uuid>)". Normalize is idempotent: Normalize(Normalize(s)) ==
// Normalize(s).
func Normalize(msg string) string {
	s := trimMessage(msg)
	if !mayParameterize(s) {
		return s
	}
	return parameterize(s)
}

// hexAccepted reports whether a hex match is a real one: either 0x-prefixed
// or 8 to 128 digits containing at least one decimal digit.
func hexAccepted(h string) bool {
	if len(h) > 1 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		return true
	}
	if len(h) > 128 {
		return false // Sentry's pattern stops at 128 digits and then needs \b
	}
	return strings.ContainsAny(h, "0123456789")
}

// mayParameterize is a cheap pre-filter: almost every placeholder needs a
// digit, '@', '.', ':' or '=' somewhere in the text. (A UUID, SHA-1 or MD5
// written only with the letters a-f does not, and is kept in such a
// message; stored hashes depend on that, so it stays.)
func mayParameterize(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; isDigit(c) || c == '@' || c == '.' || c == ':' || c == '=' {
			return true
		}
	}
	return false
}

// trimMessage keeps the first two lines that are not blank, joined with
// "\n" and stripped, and appends "..." when that changed the text (Sentry's
// islice over str.splitlines()).
func trimMessage(s string) string {
	if !needsTrim(s) {
		return s
	}
	var lines [2]string
	n := 0
	rest := s
	for rest != "" && n < 2 {
		line, next := splitLine(rest)
		rest = next
		if strings.TrimFunc(line, isPySpace) != "" {
			lines[n] = line
			n++
		}
	}
	var out string
	switch n {
	case 1:
		out = lines[0]
	case 2:
		out = lines[0] + "\n" + lines[1]
	}
	out = strings.TrimFunc(out, isPySpace)
	if out != s {
		out += "..."
	}
	return out
}

// needsTrim reports whether s has a line break or leading/trailing space.
func needsTrim(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e) || c >= utf8.RuneSelf {
			return true
		}
	}
	return isPySpace(rune(s[0])) || isPySpace(rune(s[len(s)-1]))
}

// splitLine returns the first line of s (without its terminator) and the
// rest, with Python's str.splitlines line boundaries.
func splitLine(s string) (line, rest string) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				return s[:i], s[i+2:]
			}
			return s[:i], s[i+1:]
		case c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e):
			return s[:i], s[i+1:]
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == 0x85 || r == 0x2028 || r == 0x2029 {
				return s[:i], s[i+size:]
			}
			i += size
		}
	}
	return s, ""
}
