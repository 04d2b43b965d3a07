package grouping

import (
	"strings"
	"unicode/utf8"
)

// The parameterisation patterns are Sentry's
// (src/sentry/grouping/parameterization.py, DEFAULT_PARAMETERIZATION_REGEXES,
// without the later swift_txn_id and git_sha additions), matched by hand.
// They were first one Go regexp, which normalize_ref_test.go keeps as the
// reference: FuzzNormalize requires the same output from both, since stored
// hashes depend on it. The regexp cost about 300 µs for a 100-byte message
// (Go's regexp has no DFA: its NFA ran all the alternatives at every byte);
// this scanner costs about 100 times less, and stays linear in the length
// of the message.
//
// The scanner keeps the regexp's semantics:
//   - a match starts at the leftmost position where a pattern matches, and
//     the search resumes where the match ended;
//   - at one position the patterns are tried in priority order, each as a
//     backtracking matcher would: alternatives in order, quantifiers greedy
//     (the hostname's labels lazy), the first success wins;
//   - \b, \d, \w and \s are ASCII, as in RE2, and \s is [\t\n\f\r ].
//
// The regexp emulated Python's lookarounds, which RE2 lacks:
//   - the IPv6 lookbehind (?<![0-9a-zA-Z_]) is \b before a hex digit and \B
//     before ':', the lookahead (?![0-9a-zA-Z]) is \b after a hex digit and
//     \B after ':';
//   - the kitchen-time lookbehind (?<!\d) is \b, and the lookahead (?![\d:])
//     is kitchenEnd below, which consumes one character that is kept;
//   - the negative-int lookbehind (?<!\w)- is \B-;
//   - the "=" lookbehind of quoted_str and bool is matched and kept;
//   - the hex lookahead "contains a digit" is hexAccepted, checked after
//     matching: a rejected hex run stays as it is and is skipped.
//
// Almost every quantified part is followed by a byte it cannot match, so
// only the whole run can succeed: "[0-9a-f]{1,4}:" is a run of 1 to 4 hex
// digits followed by ':', never a shorter part of a longer run. The
// matchers below rely on this and read whole runs; each quotes the pattern
// it implements.

// tldList is the hostname pattern's top-level domains. They match in upper
// or in lower case, not in mixed case.
const tldList = `COM|NET|ORG|JP|DE|UK|FR|BR|IT|RU|ES|ME|GOV|PL|CA|AU|CN|CO|IN|NL|EDU|INFO|EU|CH|ID|AT|KR|CZ|MX|BE|TV|SE|TR|TW|AL|UA|IR|VN|CL|SK|LY|CC|TO|NO|FI|US|PT|DK|AR|HU|TK|GR|IL|NEWS|RO|MY|BIZ|IE|ZA|NZ|SG|EE|TH|IO|XYZ|PE|BG|HK|RS|LT|LINK|PH|CLUB|SI|SITE|MOBI|BY|CAT|WIKI|LA|GA|XXX|CF|HR|NG|JOBS|ONLINE|KZ|UG|GQ|AE|IS|LV|PRO|FM|TIPS|MS|SA|APP`

// tlds holds tldList in both spellings. It is never modified.
var tlds = func() map[string]bool {
	m := make(map[string]bool)
	for _, t := range strings.Split(tldList, "|") {
		m[t] = true
		m[strings.ToLower(t)] = true
	}
	return m
}()

// match is one parameterisation match: s[start:end] becomes text, and the
// search resumes at next. next differs from end for a kitchen time, which
// consumes the character after it, and text is empty for a hex run that
// hexAccepted rejects.
type match struct {
	start, end, next int
	text             string
}

// parameterize replaces the variable parts of s with placeholders.
func parameterize(s string) string {
	sc := scanner{s: s}
	var b strings.Builder
	last := 0
	for p := 0; p < len(s); {
		if c := s[p]; 'a' <= c && c <= 'z' && c != 'd' && p > 0 && isWord(s[p-1]) && p < sc.emailFrom {
			// Inside a word, only an e-mail or "datetime.datetime(" starts
			// with a lower-case letter. Most positions of a message are here.
			p++
			continue
		}
		m, ok := sc.matchAt(p)
		if !ok {
			p++
			continue
		}
		if m.text != "" {
			if last == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:m.start])
			b.WriteString(m.text)
			last = m.end
		}
		p = m.next
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// scanner holds one message and what its matchers learnt about it.
type scanner struct {
	s string
	// Matchers that can read far before failing remember where they will
	// fail again, so that a long run is read once and not from each of its
	// positions (10 000 e-mail characters without an '@' would otherwise
	// cost 50 million steps). No e-mail, hostname or duration (second
	// form) starts before emailFrom, hostFrom and durationFrom; no
	// datetime.datetime( that opens at or before pyFailTo closes.
	emailFrom, hostFrom, durationFrom, pyFailTo int
	// No closing quote of that kind, nor ')' for a JavaScript date's zone
	// name, follows the last position tried.
	noSingle, noDouble, noParen bool
}

// matchAt returns the match that starts at p, if any, trying the patterns
// in priority order.
func (sc *scanner) matchAt(p int) (match, bool) {
	s := sc.s
	c := s[p]
	if c >= utf8.RuneSelf {
		return match{}, false // every pattern starts with an ASCII character
	}
	wordBefore := p > 0 && isWord(s[p-1])
	boundary := isWord(c) != wordBefore // \b at p
	whole := func(end int, text string) (match, bool) {
		return match{start: p, end: end, next: end, text: text}, true
	}
	digit := isDigit(c)

	if p >= sc.emailFrom && isEmailChar(c) {
		if e := sc.email(p); e >= 0 {
			return whole(e, "<email>")
		}
	}
	if boundary && (c == 'w' || c == 'h' || c == 'f') {
		if e := url(s, p); e >= 0 {
			return whole(e, "<url>")
		}
	}
	if p >= sc.hostFrom && boundary && isLabel(c) {
		if e := sc.hostname(p); e >= 0 {
			return whole(e, "<hostname>")
		}
	}
	hexStart := boundary && isHex(c)
	if hexStart || c == ':' && !wordBefore {
		if e := ip(s, p); e >= 0 {
			return whole(e, "<ip>")
		}
	}
	if hexStart {
		// Each of these starts with a run of hex digits of a fixed length.
		switch h := span(s, p, isHex); h - p {
		case 1, 2:
			if e := traceparent(s, p); e >= 0 {
				return whole(e, "<traceparent>")
			}
		case 8:
			if e := hexBlocks(s, p, isHex, 8, 4, 4, 4, 12); e >= 0 && !wordAt(s, e) {
				return whole(e, "<uuid>")
			}
		case 40:
			if !wordAt(s, h) {
				return whole(h, "<sha1>")
			}
		case 32:
			if !wordAt(s, h) {
				return whole(h, "<md5>")
			}
		}
	}
	if digit || 'A' <= c && c <= 'Z' {
		if e := sc.date(p); e >= 0 {
			return whole(e, "<date>")
		}
	}
	if digit && boundary {
		if e, next := kitchen12(s, p); e >= 0 {
			return match{start: p, end: e, next: next, text: "<date>"}, true
		}
		if e, next := kitchen24(s, p); e >= 0 {
			return match{start: p, end: e, next: next, text: "<date>"}, true
		}
	}
	if digit || 'A' <= c && c <= 'Z' || c == 'd' {
		if e := sc.dateTail(p, boundary); e >= 0 {
			return whole(e, "<date>")
		}
	}
	if digit {
		if e := sc.duration(p, boundary); e >= 0 {
			return whole(e, "<duration>")
		}
	}
	if hexStart {
		if e := hexNumber(s, p); e >= 0 {
			if !hexAccepted(s[p:e]) {
				return match{next: e}, true
			}
			return whole(e, "<hex>")
		}
	}
	if digit || c == '-' {
		if e := float(s, p, wordBefore); e >= 0 {
			return whole(e, "<float>")
		}
		if e := integer(s, p, wordBefore); e >= 0 {
			return whole(e, "<int>")
		}
	}
	if c == '=' {
		if e := sc.quoted(p); e >= 0 {
			return match{start: p + 1, end: e, next: e, text: "<quoted_str>"}, true
		}
		if e := boolean(s, p); e >= 0 {
			return match{start: p + 1, end: e, next: e, text: "<bool>"}, true
		}
	}
	return match{}, false
}

// email: [a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*
func (sc *scanner) email(p int) int {
	s := sc.s
	at := span(s, p, isEmailChar)
	if !byteIs(s, at, '@') || !labelAt(s, at+1) {
		sc.emailFrom = at + 1 // a start up to at reads up to at too
		return -1
	}
	e := span(s, at+1, isLabel)
	for byteIs(s, e, '.') && labelAt(s, e+1) {
		e = span(s, e+1, isLabel)
	}
	return e
}

// url: \b(?:wss?|https?|ftp)://[^\s/$.?#].[^\s]*
func url(s string, p int) int {
	j := strings.Index(s[p:min(len(s), p+8)], "://")
	if j < 0 {
		return -1
	}
	switch s[p : p+j] {
	case "ws", "wss", "http", "https", "ftp":
	default:
		return -1
	}
	i := p + j + 3
	if i >= len(s) || isSpace(s[i]) || strings.IndexByte("/$.?#", s[i]) >= 0 {
		return -1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	if i += n; i >= len(s) || s[i] == '\n' { // '.' is any character but '\n'
		return -1
	}
	_, n = utf8.DecodeRuneInString(s[i:])
	for i += n; i < len(s) && !isSpace(s[i]); i++ {
	}
	return i
}

// hostname: \b(?:[a-zA-Z0-9\-]+\.)+?(?:COM|NET|...|com|net|...)\b. The
// labels are lazy: the first label followed by a TLD and \b ends it.
func (sc *scanner) hostname(p int) int {
	s := sc.s
	for i := p; ; {
		e := span(s, i, isLabel)
		if e == i || !byteIs(s, e, '.') {
			sc.hostFrom = e + 1 // a later start in the chain fails at e too
			return -1
		}
		i = e + 1
		if w := span(s, i, isWord); tlds[s[i:w]] {
			return w
		}
	}
}

// ip returns the end of an IPv6 or IPv4 address at p, where the caller has
// checked the leading \b or \B. The pattern is
//
//	\b(?:
//	  (?:h4:){7}h4\b |                      A
//	  (?:h4:){1,7}:\B |                     B
//	  (?:h4:){1,6}:h4\b |                   C
//	  (?:h4:){1,5}(?::h4){1,2}\b | ... |    D..H
//	  fe80:(?::[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]+\b |   I
//	  (?:h4:){1,4}:ipv4\b                   J
//	) | \B(?:
//	  :(?::h4){1,7}\b |                     K1
//	  ::\B |                                K2
//	  ::(?:ffff(?::0{1,4})?:)?ipv4\b        K3
//	) | \b ipv4 \b                          L
//
// with h4 = [0-9a-fA-F]{1,4}. Whatever D..H or J match, C matches first at
// the same position: they all start with groups up to a "::" and then an
// h4 (an IPv4 address starts with 1 to 3 digits and a '.'), which is all C
// asks. K1 likewise always wins over K3. Those alternatives are left out.
func ip(s string, p int) int {
	if s[p] == ':' {
		return ipFromColons(s, p)
	}
	if e := ipv6(s, p); e >= 0 {
		return e
	}
	if isDigit(s[p]) { // L
		if e := ipv4(s, p); e >= 0 && !wordAt(s, e) {
			return e
		}
	}
	return -1
}

// ipv6 tries A, B, C and I at p.
func ipv6(s string, p int) int {
	i := p // A: eight groups
	for g := 0; g < 7; g++ {
		e := hex4(s, i)
		if e < 0 || !byteIs(s, e, ':') {
			i = -1
			break
		}
		i = e + 1
	}
	if e := hex4(s, i); e >= 0 && !wordAt(s, e) {
		return e
	}
	i = p // B and C: the groups up to the first "::"
	for k := 1; k <= 7; k++ {
		e := hex4(s, i)
		if e < 0 || !byteIs(s, e, ':') {
			break
		}
		if i = e + 1; !byteIs(s, i, ':') {
			continue
		}
		if !wordAt(s, i+1) {
			return i + 1
		}
		if e := hex4(s, i+1); k <= 6 && e >= 0 && !wordAt(s, e) {
			return e
		}
		break
	}
	if strings.HasPrefix(s[p:], "fe80:") { // I
		i := p + 5
		for n := 0; n < 4 && byteIs(s, i, ':'); n++ {
			e := span(s, i+1, isHex)
			if e-(i+1) > 4 {
				return -1
			}
			i = e
		}
		if byteIs(s, i, '%') {
			if e := span(s, i+1, isAlnum); e > i+1 && !wordAt(s, e) {
				return e
			}
		}
	}
	return -1
}

// ipFromColons tries K1 and K2 at p, where s[p] is ':'.
func ipFromColons(s string, p int) int {
	if !byteIs(s, p+1, ':') {
		return -1
	}
	i := p + 1 // K1: the groups after the first ':'
	for n := 0; n < 7 && byteIs(s, i, ':'); n++ {
		e := hex4(s, i+1)
		if e < 0 || wordAt(s, e) {
			break
		}
		i = e
	}
	if i > p+1 {
		return i
	}
	if !wordAt(s, p+2) { // K2
		return p + 2
	}
	return -1
}

// hex4 returns the end of the run of hex digits at i when it is 1 to 4
// long, else -1 (also for i < 0).
func hex4(s string, i int) int {
	if i < 0 {
		return -1
	}
	e := i
	for e < len(s) && e-i <= 4 && isHex(s[e]) {
		e++
	}
	if e == i || e-i > 4 {
		return -1
	}
	return e
}

// ipv4 returns the end of four octets joined by '.', each
// (?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9]): one or two digits, or three from
// 100 to 255.
func ipv4(s string, i int) int {
	for n := 0; n < 4; n++ {
		if n > 0 {
			if !byteIs(s, i, '.') {
				return -1
			}
			i++
		}
		e := i
		for e < len(s) && e-i <= 3 && isDigit(s[e]) {
			e++
		}
		switch d := s[i:e]; len(d) {
		case 1, 2:
		case 3:
			if d[0] != '1' && (d[0] != '2' || d[1] > '5' || d[1] == '5' && d[2] > '5') {
				return -1
			}
		default:
			return -1
		}
		i = e
	}
	return i
}

// traceparent: \b00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]\b|\b1-[0-9a-f]{8}-[0-9a-f]{24}\b
func traceparent(s string, p int) int {
	if strings.HasPrefix(s[p:], "00-") {
		e := hexBlocks(s, p+3, isLowerHex, 32, 16)
		if e >= 0 && strings.HasPrefix(s[e:], "-0") && (byteIs(s, e+2, '0') || byteIs(s, e+2, '1')) && !wordAt(s, e+3) {
			return e + 3
		}
	}
	if strings.HasPrefix(s[p:], "1-") {
		if e := hexBlocks(s, p+2, isLowerHex, 8, 24); e >= 0 && !wordAt(s, e) {
			return e
		}
	}
	return -1
}

// hexBlocks returns the end of blocks of exactly the given sizes of hex
// digits (as digit decides) joined by '-', else -1. The caller checks what
// follows.
func hexBlocks(s string, i int, digit func(byte) bool, sizes ...int) int {
	for k, n := range sizes {
		if k > 0 {
			if !byteIs(s, i, '-') {
				return -1
			}
			i++
		}
		if i+n > len(s) {
			return -1
		}
		for j := i; j < i+n; j++ {
			if !digit(s[j]) {
				return -1
			}
		}
		i += n
	}
	return i
}

// date tries the <date> alternatives in order. Those that start with a
// digit and those that start with a letter never compete.
func (sc *scanner) date(p int) int {
	s := sc.s
	if isDigit(s[p]) {
		if e := rfc3339(s, p); e >= 0 {
			return e
		}
		return isoDatetime(s, p)
	}
	if e := rfc1123(s, p); e >= 0 {
		return e
	}
	if e := monthDay(s, p); e >= 0 {
		return e
	}
	if e := rfc850(s, p); e >= 0 {
		return e
	}
	return sc.jsDate(p)
}

// rfc1123 (RFC822, RFC1123, RFC1123Z):
// days,\s\d{1,2}\smonths\s\d{2,4}\s\d{1,2}:\d{1,2}(?::\d{1,2})?\s(?:[-+]\d{2}[0-5]\d|zone)
func rfc1123(s string, p int) int {
	if !isDay(s, p) || !byteIs(s, p+3, ',') || !spaceAt(s, p+4) {
		return -1
	}
	i := digits(s, p+5, 1, 2)
	if i < 0 || !spaceAt(s, i) || !isMonth(s, i+1) || !spaceAt(s, i+4) {
		return -1
	}
	if i = digits(s, i+5, 2, 4); i < 0 || !spaceAt(s, i) {
		return -1
	}
	if i = digits(s, i+1, 1, 2); i < 0 || !byteIs(s, i, ':') {
		return -1
	}
	if i = digits(s, i+1, 1, 2); i >= 0 && byteIs(s, i, ':') {
		i = digits(s, i+1, 1, 2)
	}
	if i < 0 || !spaceAt(s, i) {
		return -1
	}
	return offsetOrZone(s, i+1)
}

// monthDay ("Mon Jan 02, 1999", "Jan 02, 1999"):
// (?:days\s)?months\s[0-3]\d,\s\d{2,4}
func monthDay(s string, p int) int {
	i := p
	if isDay(s, p) {
		if !spaceAt(s, p+3) {
			return -1
		}
		i = p + 4
	}
	if !isMonth(s, i) || !spaceAt(s, i+3) || !inRange(s, i+4, '0', '3') || !digitAt(s, i+5) ||
		!byteIs(s, i+6, ',') || !spaceAt(s, i+7) {
		return -1
	}
	i += 8
	e := i
	for e < len(s) && e-i < 4 && isDigit(s[e]) {
		e++
	}
	if e-i < 2 {
		return -1
	}
	return e
}

// rfc850: (?:Sun|Sunday|Mon|Monday|...),\s\d{2}-months-\d{2}\s\d{2}:\d{2}:\d{2}\szone
func rfc850(s string, p int) int {
	if !isDay(s, p) {
		return -1
	}
	i := p + 3
	if !byteIs(s, i, ',') {
		rest := dayNameRest(s[p:i])
		if !strings.HasPrefix(s[i:], rest) {
			return -1
		}
		i += len(rest)
	}
	if layout(s, i, ", dd-") < 0 || !isMonth(s, i+5) || layout(s, i+8, "-dd dd:dd:dd ") < 0 {
		return -1
	}
	return zone(s, i+21)
}

// jsDate (Date.toString):
// days\smonths\s\d{2}\s\d{4}\s\d{2}:\d{2}:\d{2}\sGMT[+-]\d{4}(?:\s\([^)]+\))?
func (sc *scanner) jsDate(p int) int {
	s := sc.s
	if !isDay(s, p) || !spaceAt(s, p+3) || !isMonth(s, p+4) {
		return -1
	}
	i := layout(s, p+7, " dd dddd dd:dd:dd GMT")
	if i < 0 || !byteIs(s, i, '+') && !byteIs(s, i, '-') {
		return -1
	}
	if i = layout(s, i+1, "dddd"); i < 0 {
		return -1
	}
	if spaceAt(s, i) && byteIs(s, i+1, '(') && i+2 < len(s) && s[i+2] != ')' && !sc.noParen {
		if j := strings.IndexByte(s[i+3:], ')'); j >= 0 {
			return i + 3 + j + 1
		}
		sc.noParen = true
	}
	return i
}

// rfc3339: \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?(?:[+-]?\d{2}:\d{2})?
func rfc3339(s string, p int) int {
	i := layout(s, p, "dddd-dd-ddTdd:dd:dd")
	if i < 0 {
		return -1
	}
	i = fraction(s, i)
	if byteIs(s, i, 'Z') {
		i++
	}
	j := i
	if byteIs(s, j, '+') || byteIs(s, j, '-') {
		j++
	}
	if e := layout(s, j, "dd:dd"); e >= 0 {
		return e
	}
	return i
}

// isoDatetime (a datetime, optional seconds and fraction, optional offset):
// \d{4}-?[01]\d-?[0-3]\d[\sT][0-2]\d:?[0-5]\d(?::?[0-5]\d(?:\.\d+)?)?(?:[+-][0-2]\d:?[0-5]\d|Z)?
func isoDatetime(s string, p int) int {
	i := layout(s, p, "dddd")
	if i < 0 {
		return -1
	}
	if i = skip(s, i, '-'); !inRange(s, i, '0', '1') || !digitAt(s, i+1) {
		return -1
	}
	if i = skip(s, i+2, '-'); !inRange(s, i, '0', '3') || !digitAt(s, i+1) ||
		!spaceAt(s, i+2) && !byteIs(s, i+2, 'T') || !inRange(s, i+3, '0', '2') || !digitAt(s, i+4) {
		return -1
	}
	if i = skip(s, i+5, ':'); !inRange(s, i, '0', '5') || !digitAt(s, i+1) {
		return -1
	}
	i += 2
	if j := skip(s, i, ':'); inRange(s, j, '0', '5') && digitAt(s, j+1) {
		i = fraction(s, j+2)
	}
	if (byteIs(s, i, '+') || byteIs(s, i, '-')) && inRange(s, i+1, '0', '2') && digitAt(s, i+2) {
		if j := skip(s, i+3, ':'); inRange(s, j, '0', '5') && digitAt(s, j+1) {
			return j + 2
		}
	}
	if byteIs(s, i, 'Z') {
		return i + 1
	}
	return i
}

// fraction skips an optional (?:\.\d+) at i.
func fraction(s string, i int) int {
	if byteIs(s, i, '.') && digitAt(s, i+1) {
		return span(s, i+1, isDigit)
	}
	return i
}

// offsetOrZone: (?:[-+]\d{2}[0-5]\d|zone)
func offsetOrZone(s string, i int) int {
	if (byteIs(s, i, '+') || byteIs(s, i, '-')) && digitAt(s, i+1) && digitAt(s, i+2) &&
		inRange(s, i+3, '0', '5') && digitAt(s, i+4) {
		return i + 5
	}
	return zone(s, i)
}

// zone: (?:UT|GMT|(?:E|C|M|P)(?:ST|DT)|[A-IK-Z]), the first alternative
// that matches, with nothing required after it.
func zone(s string, i int) int {
	switch {
	case strings.HasPrefix(s[i:], "UT"):
		return i + 2
	case strings.HasPrefix(s[i:], "GMT"):
		return i + 3
	case i+2 < len(s) && strings.IndexByte("ECMP", s[i]) >= 0 && (s[i+1] == 'S' || s[i+1] == 'D') && s[i+2] == 'T':
		return i + 3
	case inRange(s, i, 'A', 'Z') && s[i] != 'J':
		return i + 1
	}
	return -1
}

// kitchen12 (12-hour time):
// \b(?:[1-9]|1[0-2]):[0-5]\d(?::[0-5]\d)?(?:\s?[aApP][Mm])? then kitchenEnd.
// It returns the end of the time and the end of the match.
func kitchen12(s string, p int) (end, next int) {
	i := -1
	switch {
	case s[p] != '0' && byteIs(s, p+1, ':'): // s[p] is a digit
		i = p + 1
	case s[p] == '1' && inRange(s, p+1, '0', '2') && byteIs(s, p+2, ':'):
		i = p + 2
	}
	if i < 0 || !minutesAt(s, i) {
		return -1, -1
	}
	return kitchenTail(s, i+3, true)
}

// kitchen24 (24-hour time): \b(?:0?\d|1\d|2[0-3]):[0-5]\d(?::[0-5]\d)? then
// kitchenEnd. It returns the end of the time and the end of the match.
func kitchen24(s string, p int) (end, next int) {
	i := -1
	switch {
	case byteIs(s, p+1, ':'):
		i = p + 1
	case (s[p] == '0' || s[p] == '1') && digitAt(s, p+1) && byteIs(s, p+2, ':'),
		s[p] == '2' && inRange(s, p+1, '0', '3') && byteIs(s, p+2, ':'):
		i = p + 2
	}
	if i < 0 || !minutesAt(s, i) {
		return -1, -1
	}
	return kitchenTail(s, i+3, false)
}

// kitchenTail matches a kitchen time's optional seconds (and am/pm) and the
// kitchenEnd after them, backtracking as the regexp does: with seconds
// before without, and in each with am/pm before without.
func kitchenTail(s string, i int, ampm bool) (end, next int) {
	ends := [2]int{-1, i}
	if minutesAt(s, i) {
		ends[0] = i + 3
	}
	for _, e := range ends {
		if e < 0 {
			continue
		}
		if a := ampmEnd(s, e); ampm && a >= 0 {
			if n := kitchenEnd(s, a); n >= 0 {
				return a, a + n
			}
		}
		if n := kitchenEnd(s, e); n >= 0 {
			return e, e + n
		}
	}
	return -1, -1
}

// ampmEnd: \s?[aApP][Mm]
func ampmEnd(s string, i int) int {
	if spaceAt(s, i) {
		i++
	}
	if i+1 < len(s) && strings.IndexByte("aApP", s[i]) >= 0 && (s[i+1] == 'M' || s[i+1] == 'm') {
		return i + 2
	}
	return -1
}

// kitchenEnd emulates the lookahead (?![\d:]) after a kitchen time as
// (?:$|[^\w:.!#$%&'*+/=?^`{|}~\-]|\.(?:\s|$)): end of text, or a character
// that is neither a word character, ':', nor one that can start an e-mail,
// a negative number or a key=value placeholder; or '.' followed by space.
// It returns how many bytes that consumes, or -1.
func kitchenEnd(s string, i int) int {
	if i == len(s) {
		return 0
	}
	switch c := s[i]; {
	case c == '.':
		if i+1 == len(s) {
			return 1
		}
		if isSpace(s[i+1]) {
			return 2
		}
		return -1
	case c >= utf8.RuneSelf:
		_, n := utf8.DecodeRuneInString(s[i:])
		return n
	case isWord(c) || strings.IndexByte(":!#$%&'*+/=?^`{|}~-", c) >= 0:
		return -1
	}
	return 1
}

// minutesAt: :[0-5]\d
func minutesAt(s string, i int) bool {
	return byteIs(s, i, ':') && inRange(s, i+1, '0', '5') && digitAt(s, i+2)
}

// dateTail tries the <date> alternatives that rank below the kitchen times:
//
//	\d{4}-[01]\d-[0-3]\d | [0-2]\d:[0-5]\d:[0-5]\d | ctime | rfc2822 |
//	datetime\.datetime\(.*?\)
func (sc *scanner) dateTail(p int, boundary bool) int {
	s := sc.s
	if isDigit(s[p]) {
		if layout(s, p, "dddd-") >= 0 && inRange(s, p+5, '0', '1') && digitAt(s, p+6) &&
			byteIs(s, p+7, '-') && inRange(s, p+8, '0', '3') && digitAt(s, p+9) {
			return p + 10
		}
		if inRange(s, p, '0', '2') && digitAt(s, p+1) && minutesAt(s, p+2) && minutesAt(s, p+5) {
			return p + 8
		}
	}
	if boundary && ('A' <= s[p] && s[p] <= 'Z' || isDigit(s[p])) {
		if e := ctime(s, p); e >= 0 {
			return e
		}
		if e := rfc2822(s, p); e >= 0 {
			return e
		}
	}
	if s[p] != 'd' || !strings.HasPrefix(s[p:], "datetime.datetime(") {
		return -1
	}
	i := p + len("datetime.datetime(")
	if i <= sc.pyFailTo {
		return -1
	}
	j := strings.IndexAny(s[i:], ")\n") // .*? stops at the first ')' and cannot cross '\n'
	if j >= 0 && s[i+j] == ')' {
		return i + j + 1
	}
	if sc.pyFailTo = len(s); j >= 0 {
		sc.pyFailTo = i + j
	}
	return -1
}

// ctime: \b(?:days\s+)?months\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}\s+\d{4}
func ctime(s string, p int) int {
	i := p
	if isDay(s, p) {
		if i = spaces(s, p+3); i < 0 {
			return -1
		}
	}
	if !isMonth(s, i) {
		return -1
	}
	if i = spaces(s, i+3); i < 0 {
		return -1
	}
	if i = digits(s, i, 1, 2); i < 0 {
		return -1
	}
	if i = spaces(s, i); i < 0 {
		return -1
	}
	if i = layout(s, i, "dd:dd:dd"); i < 0 {
		return -1
	}
	if i = spaces(s, i); i < 0 {
		return -1
	}
	return layout(s, i, "dddd")
}

// rfc2822: \b(?:days,\s+)?(?:0[1-9]|[1-2]?\d|3[01])\s+months\s+(?:19\d{2}|[2-9]\d{3})\s+
// (?:2[0-3]|[0-1]\d):[0-5]\d(?::(?:60|[0-5]\d))?\s+(?:[-+]\d{2}[0-5]\d|zone)
func rfc2822(s string, p int) int {
	i := p
	if isDay(s, p) {
		if !byteIs(s, p+3, ',') {
			return -1
		}
		if i = spaces(s, p+4); i < 0 {
			return -1
		}
	}
	e := digits(s, i, 1, 2)
	if e < 0 || e-i == 2 && !(s[i] == '0' && s[i+1] != '0' || s[i] == '1' || s[i] == '2' || s[i] == '3' && s[i+1] <= '1') {
		return -1
	}
	if i = spaces(s, e); i < 0 || !isMonth(s, i) {
		return -1
	}
	if i = spaces(s, i+3); i < 0 || layout(s, i, "dddd") < 0 || s[i] == '1' && s[i+1] != '9' || s[i] == '0' {
		return -1
	}
	if i = spaces(s, i+4); i < 0 {
		return -1
	}
	if !(s[i] == '2' && inRange(s, i+1, '0', '3') || inRange(s, i, '0', '1') && digitAt(s, i+1)) || !minutesAt(s, i+2) {
		return -1
	}
	i += 5
	if byteIs(s, i, ':') {
		if !strings.HasPrefix(s[i+1:], "60") && !(inRange(s, i+1, '0', '5') && digitAt(s, i+2)) {
			return -1
		}
		i += 3
	}
	if i = spaces(s, i); i < 0 {
		return -1
	}
	return offsetOrZone(s, i)
}

// duration: \b\d+ms|\d+(?:\.\d+)?s\b
func (sc *scanner) duration(p int, boundary bool) int {
	s := sc.s
	if !boundary && p < sc.durationFrom {
		return -1
	}
	d := span(s, p, isDigit)
	if boundary && strings.HasPrefix(s[d:], "ms") {
		return d + 2
	}
	if p < sc.durationFrom {
		return -1
	}
	if i := fraction(s, d); byteIs(s, i, 's') && !wordAt(s, i+1) {
		return i + 1
	}
	sc.durationFrom = d // a later start in this run of digits fails the same way
	return -1
}

// hexNumber: \b0[xX][0-9a-fA-F]+\b|\b[0-9a-f]{8,}\b|\b[0-9A-F]{8,}\b
func hexNumber(s string, p int) int {
	if s[p] == '0' && (byteIs(s, p+1, 'x') || byteIs(s, p+1, 'X')) {
		if e := span(s, p+2, isHex); e > p+2 && !wordAt(s, e) {
			return e
		}
	}
	if e := span(s, p, isLowerHex); e-p >= 8 && !wordAt(s, e) {
		return e
	}
	if e := span(s, p, isUpperHex); e-p >= 8 && !wordAt(s, e) {
		return e
	}
	return -1
}

// float: -\d+\.\d+\b|\b\d+\.\d+\b
func float(s string, p int, wordBefore bool) int {
	i := p
	if s[p] == '-' {
		i++
	} else if wordBefore {
		return -1
	}
	d := span(s, i, isDigit)
	if d == i || !byteIs(s, d, '.') {
		return -1
	}
	if e := span(s, d+1, isDigit); e > d+1 && !wordAt(s, e) {
		return e
	}
	return -1
}

// integer: (?:\b|\B-)\d{1,7}\b
func integer(s string, p int, wordBefore bool) int {
	if wordBefore {
		return -1
	}
	i := p
	if s[p] == '-' {
		i++
	}
	if e := digits(s, i, 1, 7); e >= 0 && !wordAt(s, e) {
		return e
	}
	return -1
}

// quoted: =(?P<quoted_str>'[^']+'|"[^"]+"), returning the end of the group
// (which starts after the '=').
func (sc *scanner) quoted(p int) int {
	s := sc.s
	if p+2 >= len(s) {
		return -1
	}
	q := s[p+1]
	missing := &sc.noSingle
	switch q {
	case '\'':
	case '"':
		missing = &sc.noDouble
	default:
		return -1
	}
	if s[p+2] == q || *missing {
		return -1
	}
	if j := strings.IndexByte(s[p+3:], q); j >= 0 {
		return p + 3 + j + 1
	}
	*missing = true
	return -1
}

// boolean: =(?P<bool>True|true|False|false), returning the end of the group.
func boolean(s string, p int) int {
	for _, b := range [...]string{"True", "true", "False", "false"} {
		if strings.HasPrefix(s[p+1:], b) {
			return p + 1 + len(b)
		}
	}
	return -1
}

// isDay: (?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) at i.
func isDay(s string, i int) bool {
	if i+3 > len(s) {
		return false
	}
	switch s[i : i+3] {
	case "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat":
		return true
	}
	return false
}

// dayNameRest returns what follows a day's abbreviation in its full name.
func dayNameRest(abbr string) string {
	switch abbr {
	case "Tue":
		return "sday"
	case "Wed":
		return "nesday"
	case "Thu":
		return "rsday"
	case "Sat":
		return "urday"
	}
	return "day"
}

// isMonth: (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) at i.
func isMonth(s string, i int) bool {
	if i+3 > len(s) {
		return false
	}
	switch s[i : i+3] {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec":
		return true
	}
	return false
}

// layout returns the end of text at i laid out as pattern, where 'd' is a
// digit, ' ' is \s and any other byte is itself; else -1.
func layout(s string, i int, pattern string) int {
	if i+len(pattern) > len(s) {
		return -1
	}
	for j := 0; j < len(pattern); j++ {
		c := s[i+j]
		switch pattern[j] {
		case 'd':
			if !isDigit(c) {
				return -1
			}
		case ' ':
			if !isSpace(c) {
				return -1
			}
		default:
			if c != pattern[j] {
				return -1
			}
		}
	}
	return i + len(pattern)
}

// digits returns the end of the run of digits at i when it is lo to hi
// long, else -1: \d{lo,hi} followed by something that is not a digit.
func digits(s string, i, lo, hi int) int {
	e := i
	for e < len(s) && e-i <= hi && isDigit(s[e]) {
		e++
	}
	if e-i < lo || e-i > hi {
		return -1
	}
	return e
}

// spaces returns the end of the \s+ run at i, else -1.
func spaces(s string, i int) int {
	e := span(s, i, isSpace)
	if e == i {
		return -1
	}
	return e
}

// skip steps over an optional c at i.
func skip(s string, i int, c byte) int {
	if byteIs(s, i, c) {
		return i + 1
	}
	return i
}

// span returns the end of the run of bytes from i that satisfy f.
func span(s string, i int, f func(byte) bool) int {
	for i < len(s) && f(s[i]) {
		i++
	}
	return i
}

// byteIs reports whether s[i] is c; it is false past the end.
func byteIs(s string, i int, c byte) bool { return i < len(s) && s[i] == c }

// wordAt reports whether s[i] is a word character. Past the end it is
// false, so that after a word character !wordAt is \b.
func wordAt(s string, i int) bool { return i < len(s) && isWord(s[i]) }

func spaceAt(s string, i int) bool { return i < len(s) && isSpace(s[i]) }
func digitAt(s string, i int) bool { return i < len(s) && isDigit(s[i]) }
func labelAt(s string, i int) bool { return i < len(s) && isLabel(s[i]) }

func inRange(s string, i int, lo, hi byte) bool { return i < len(s) && lo <= s[i] && s[i] <= hi }

func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isLowerHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' }
func isUpperHex(c byte) bool { return isDigit(c) || 'A' <= c && c <= 'F' }
func isHex(c byte) bool      { return isLowerHex(c) || 'A' <= c && c <= 'F' }
func isAlnum(c byte) bool    { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isWord is RE2's \w: [0-9A-Za-z_].
func isWord(c byte) bool { return isAlnum(c) || c == '_' }

// isLabel is a hostname or e-mail domain character: [a-zA-Z0-9-].
func isLabel(c byte) bool { return isAlnum(c) || c == '-' }

// isSpace is RE2's \s: [\t\n\f\r ] (no \v).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// isEmailChar is the e-mail local part: [a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-].
func isEmailChar(c byte) bool {
	switch c {
	case '.', '!', '#', '$', '%', '&', '\'', '*', '+', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~', '-':
		return true
	}
	return isAlnum(c)
}
