package grouping

import (
	"regexp"
	"strings"
)

// This file keeps the regular expression that Normalize used before the
// hand-written scanner (parameterize.go) replaced it. It is the reference:
// FuzzNormalize requires the scanner to give the same output on every
// input, because hashes computed with it are stored.

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
	reMonths = `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`
	reDays   = `(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)`
	reZone   = `(?:UT|GMT|(?:E|C|M|P)(?:ST|DT)|[A-IK-Z])`
	reIpv4   = `(?:(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\.){3}(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])`
	reH4     = `[0-9a-fA-F]{1,4}`
	// reKitchenEnd emulates (?![\d:]): end of text, or a character that is
	// neither a word character, ':', nor one that can start an email, a
	// negative number or a key=value placeholder; or '.' followed by space.
	reKitchenEnd = `(?:$|[^\w:.!#$%&'*+/=?^` + "`" + `{|}~\-]|\.(?:\s|$))`
)

var paramPattern = strings.Join([]string{
	`(?P<email>[a-zA-Z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)`,
	`(?P<url>\b(?:wss?|https?|ftp)://[^\s/$.?#].[^\s]*)`,
	`(?P<hostname>\b(?:[a-zA-Z0-9\-]+\.)+?(?:` + tldList + `|` + strings.ToLower(tldList) + `)\b)`,
	`(?P<ip>\b(?:` +
		`(?:` + reH4 + `:){7}` + reH4 + `\b|` +
		`(?:` + reH4 + `:){1,7}:\B|` +
		`(?:` + reH4 + `:){1,6}:` + reH4 + `\b|` +
		`(?:` + reH4 + `:){1,5}(?::` + reH4 + `){1,2}\b|` +
		`(?:` + reH4 + `:){1,4}(?::` + reH4 + `){1,3}\b|` +
		`(?:` + reH4 + `:){1,3}(?::` + reH4 + `){1,4}\b|` +
		`(?:` + reH4 + `:){1,2}(?::` + reH4 + `){1,5}\b|` +
		reH4 + `:(?::` + reH4 + `){1,6}\b|` +
		`fe80:(?::[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]+\b|` +
		`(?:` + reH4 + `:){1,4}:` + reIpv4 + `\b` +
		`)|\B(?:` +
		`:(?::` + reH4 + `){1,7}\b|` +
		`::\B|` +
		`::(?:ffff(?::0{1,4})?:)?` + reIpv4 + `\b` +
		`)|\b` + reIpv4 + `\b)`,
	`(?P<traceparent>\b00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]\b|\b1-[0-9a-f]{8}-[0-9a-f]{24}\b)`,
	`(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)`,
	`(?P<sha1>\b[0-9a-fA-F]{40}\b)`,
	`(?P<md5>\b[0-9a-fA-F]{32}\b)`,
	`(?P<date>` +
		// RFC822, RFC1123, RFC1123Z
		reDays + `,\s\d{1,2}\s` + reMonths + `\s\d{2,4}\s\d{1,2}:\d{1,2}(?::\d{1,2})?\s(?:[-+]\d{2}[0-5]\d|` + reZone + `)|` +
		// "Mon Jan 02, 1999", "Jan 02, 1999"
		`(?:` + reDays + `\s)?` + reMonths + `\s[0-3]\d,\s\d{2,4}|` +
		// RFC850
		`(?:Sun|Sunday|Mon|Monday|Tue|Tuesday|Wed|Wednesday|Thu|Thursday|Fri|Friday|Sat|Saturday),\s\d{2}-` + reMonths + `-\d{2}\s\d{2}:\d{2}:\d{2}\s` + reZone + `|` +
		// RFC3339, RFC3339Nano
		`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?(?:[+-]?\d{2}:\d{2})?|` +
		// JavaScript Date.toString
		reDays + `\s` + reMonths + `\s\d{2}\s\d{4}\s\d{2}:\d{2}:\d{2}\sGMT[+-]\d{4}(?:\s\([^)]+\))?|` +
		// Datetime, optional seconds and fraction, optional offset. Sentry
		// lists six alternatives (with offset first); one greedy form
		// matches the same text and is far cheaper for RE2.
		`\d{4}-?[01]\d-?[0-3]\d[\sT][0-2]\d:?[0-5]\d(?::?[0-5]\d(?:\.\d+)?)?(?:[+-][0-2]\d:?[0-5]\d|Z)?)`,
	// Kitchen, 12-hour and 24-hour.
	`(?P<date__k12>\b(?:[1-9]|1[0-2]):[0-5]\d(?::[0-5]\d)?(?:\s?[aApP][Mm])?)` + reKitchenEnd,
	`(?P<date__k24>\b(?:0?\d|1\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)` + reKitchenEnd,
	`(?P<date__tail>` +
		// Date, Time
		`\d{4}-[01]\d-[0-3]\d|[0-2]\d:[0-5]\d:[0-5]\d|` +
		// Old date formats
		`\b(?:` + reDays + `\s+)?` + reMonths + `\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}\s+\d{4}|` +
		`\b(?:` + reDays + `,\s+)?(?:0[1-9]|[1-2]?\d|3[01])\s+` + reMonths + `\s+(?:19\d{2}|[2-9]\d{3})\s+(?:2[0-3]|[0-1]\d):[0-5]\d(?::(?:60|[0-5]\d))?\s+(?:[-+]\d{2}[0-5]\d|` + reZone + `)|` +
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

// normalizeRef is Normalize as it was written with paramRE.
func normalizeRef(msg string) string {
	s := trimMessage(msg)
	if !strings.ContainsAny(s, "0123456789@.:=") { // mayParameterize as it was
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
