package grouping

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Parameterisation patterns, in Sentry's priority order
// (src/sentry/grouping/parameterization.py, DEFAULT_PARAMETERIZATION_REGEXES,
// without the later swift_txn_id and git_sha additions). RE2 has no
// lookaround, so:
//   - the IPv6 lookbehind (?<![0-9a-zA-Z_]) becomes \b before a hex digit
//     and \B before ':' (exact), the lookahead (?![0-9a-zA-Z]) becomes \b
//     after a hex digit and \B after ':' (differs only before '_');
//   - the kitchen-time lookbehind (?<!\d) becomes \b, and the lookahead
//     (?![\d:]) becomes "end of text, or one consumed character that cannot
//     start or extend another placeholder"; the consumed character is kept;
//   - the negative-int lookbehind (?<!\w)- becomes \B- (exact for ASCII);
//   - the "=" lookbehind of quoted_str and bool is matched and kept;
//   - the hex lookahead "contains a digit" is checked after matching.
//
// Character classes are ASCII (Python's \d, \w and \b are Unicode-aware).
// Groups named name__suffix are reported as <name>.
const (
	months  = `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`
	days    = `(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)`
	zone    = `(?:UT|GMT|(?:E|C|M|P)(?:ST|DT)|[A-IK-Z])`
	ipv4    = `(?:(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\.){3}(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])`
	h4      = `[0-9a-fA-F]{1,4}`
	tldList = `COM|NET|ORG|JP|DE|UK|FR|BR|IT|RU|ES|ME|GOV|PL|CA|AU|CN|CO|IN|NL|EDU|INFO|EU|CH|ID|AT|KR|CZ|MX|BE|TV|SE|TR|TW|AL|UA|IR|VN|CL|SK|LY|CC|TO|NO|FI|US|PT|DK|AR|HU|TK|GR|IL|NEWS|RO|MY|BIZ|IE|ZA|NZ|SG|EE|TH|IO|XYZ|PE|BG|HK|RS|LT|LINK|PH|CLUB|SI|SITE|MOBI|BY|CAT|WIKI|LA|GA|XXX|CF|HR|NG|JOBS|ONLINE|KZ|UG|GQ|AE|IS|LV|PRO|FM|TIPS|MS|SA|APP`
	// kitchenEnd emulates (?![\d:]): end of text, or a character that is
	// neither a word character, ':', nor one that can start an email, a
	// negative number or a key=value placeholder; or '.' followed by space.
	kitchenEnd = `(?:$|[^\w:.!#$%&'*+/=?^` + "`" + `{|}~\-]|\.(?:\s|$))`
)

var paramPattern = strings.Join([]string{
	`(?P<email>[a-zA-Z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)`,
	`(?P<url>\b(?:wss?|https?|ftp)://[^\s/$.?#].[^\s]*)`,
	`(?P<hostname>\b(?:[a-zA-Z0-9\-]+\.)+?(?:` + tldList + `|` + strings.ToLower(tldList) + `)\b)`,
	`(?P<ip>\b(?:` +
		`(?:` + h4 + `:){7}` + h4 + `\b|` +
		`(?:` + h4 + `:){1,7}:\B|` +
		`(?:` + h4 + `:){1,6}:` + h4 + `\b|` +
		`(?:` + h4 + `:){1,5}(?::` + h4 + `){1,2}\b|` +
		`(?:` + h4 + `:){1,4}(?::` + h4 + `){1,3}\b|` +
		`(?:` + h4 + `:){1,3}(?::` + h4 + `){1,4}\b|` +
		`(?:` + h4 + `:){1,2}(?::` + h4 + `){1,5}\b|` +
		h4 + `:(?::` + h4 + `){1,6}\b|` +
		`fe80:(?::[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]+\b|` +
		`(?:` + h4 + `:){1,4}:` + ipv4 + `\b` +
		`)|\B(?:` +
		`:(?::` + h4 + `){1,7}\b|` +
		`::\B|` +
		`::(?:ffff(?::0{1,4})?:)?` + ipv4 + `\b` +
		`)|\b` + ipv4 + `\b)`,
	`(?P<traceparent>\b00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]\b|\b1-[0-9a-f]{8}-[0-9a-f]{24}\b)`,
	`(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)`,
	`(?P<sha1>\b[0-9a-fA-F]{40}\b)`,
	`(?P<md5>\b[0-9a-fA-F]{32}\b)`,
	`(?P<date>` +
		// RFC822, RFC1123, RFC1123Z
		days + `,\s\d{1,2}\s` + months + `\s\d{2,4}\s\d{1,2}:\d{1,2}(?::\d{1,2})?\s(?:[-+]\d{2}[0-5]\d|` + zone + `)|` +
		// "Mon Jan 02, 1999", "Jan 02, 1999"
		`(?:` + days + `\s)?` + months + `\s[0-3]\d,\s\d{2,4}|` +
		// RFC850
		`(?:Sun|Sunday|Mon|Monday|Tue|Tuesday|Wed|Wednesday|Thu|Thursday|Fri|Friday|Sat|Saturday),\s\d{2}-` + months + `-\d{2}\s\d{2}:\d{2}:\d{2}\s` + zone + `|` +
		// RFC3339, RFC3339Nano
		`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?(?:[+-]?\d{2}:\d{2})?|` +
		// JavaScript Date.toString
		days + `\s` + months + `\s\d{2}\s\d{4}\s\d{2}:\d{2}:\d{2}\sGMT[+-]\d{4}(?:\s\([^)]+\))?|` +
		// Datetime, optional seconds and fraction, optional offset. Sentry
		// lists six alternatives (with offset first); one greedy form
		// matches the same text and is far cheaper for RE2.
		`\d{4}-?[01]\d-?[0-3]\d[\sT][0-2]\d:?[0-5]\d(?::?[0-5]\d(?:\.\d+)?)?(?:[+-][0-2]\d:?[0-5]\d|Z)?)`,
	// Kitchen, 12-hour and 24-hour.
	`(?P<date__k12>\b(?:[1-9]|1[0-2]):[0-5]\d(?::[0-5]\d)?(?:\s?[aApP][Mm])?)` + kitchenEnd,
	`(?P<date__k24>\b(?:0?\d|1\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)` + kitchenEnd,
	`(?P<date__tail>` +
		// Date, Time
		`\d{4}-[01]\d-[0-3]\d|[0-2]\d:[0-5]\d:[0-5]\d|` +
		// Old date formats
		`\b(?:` + days + `\s+)?` + months + `\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}\s+\d{4}|` +
		`\b(?:` + days + `,\s+)?(?:0[1-9]|[1-2]?\d|3[01])\s+` + months + `\s+(?:19\d{2}|[2-9]\d{3})\s+(?:2[0-3]|[0-1]\d):[0-5]\d(?::(?:60|[0-5]\d))?\s+(?:[-+]\d{2}[0-5]\d|` + zone + `)|` +
		`datetime\.datetime\(.*?\))`,
	`(?P<duration>\b\d+ms|\d+(?:\.\d+)?s\b)`,
	`(?P<hex>\b0[xX][0-9a-fA-F]+\b|\b[0-9a-f]{8,}\b|\b[0-9A-F]{8,}\b)`,
	`(?P<float>-\d+\.\d+\b|\b\d+\.\d+\b)`,
	`(?P<int>(?:\b|\B-)\d{1,7}\b)`,
	`=(?P<quoted_str>'[^']+'|"[^"]+")`,
	`=(?P<bool>True|true|False|false)`,
}, "|")

// paramRE is the combined parameterisation regexp, compiled once. It is
// never modified; regexp.Regexp is safe for concurrent use.
var paramRE = regexp.MustCompile(paramPattern)

// paramGroups maps each named subexpression index to its placeholder.
var paramGroups = placeholderTable(paramRE)

type placeholder struct {
	index int
	text  string
}

func placeholderTable(re *regexp.Regexp) []placeholder {
	var out []placeholder
	for i, name := range re.SubexpNames() {
		if name == "" {
			continue
		}
		if j := strings.Index(name, "__"); j >= 0 {
			name = name[:j]
		}
		out = append(out, placeholder{index: i, text: "<" + name + ">"})
	}
	return out
}

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
	matches := paramRE.FindAllStringSubmatchIndex(s, -1)
	if len(matches) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range matches {
		for _, p := range paramGroups {
			gs, ge := m[2*p.index], m[2*p.index+1]
			if gs < 0 {
				continue
			}
			if p.text == "<hex>" && !hexAccepted(s[gs:ge]) {
				break // Sentry's lookahead rejects hex runs without a digit
			}
			b.WriteString(s[last:gs])
			b.WriteString(p.text)
			last = ge
			break
		}
	}
	b.WriteString(s[last:])
	return b.String()
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

// mayParameterize is a cheap pre-filter: every placeholder needs a digit,
// '@', '.', ':' or '=' somewhere in the text.
func mayParameterize(s string) bool {
	return strings.ContainsAny(s, "0123456789@.:=")
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
