package statsd

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"
)

// Parser parses statsd lines. It keeps only reusable buffers between calls,
// so a bad line never affects another. The zero value is ready to use; a
// Parser is not safe for concurrent use (use one per goroutine).
type Parser struct {
	// BadTags is the cumulative count of tags dropped as malformed (no
	// separator, empty key or value, a lone SignalFX bracket).
	BadTags uint64

	tags []Tag  // the tags of the current line
	name []byte // a name rebuilt around SignalFX tags in its middle
}

// Parse parses one line (no trailing newline; a trailing \r is tolerated) and
// appends its samples to dst. On error it returns the samples it could parse
// and the first error: a line of several values ("name:1|c:x|c",
// "name:1:x|ms") keeps its good values, any other error rejects the whole
// line. An empty line gives no samples and no error.
//
// The appended samples point into line and into p's buffers: they are valid
// until the next call to Parse on p.
func (p *Parser) Parse(dst []Sample, line []byte) ([]Sample, error) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return dst, nil
	}
	if line[0] == '_' {
		if bytes.HasPrefix(line, []byte("_e{")) {
			return dst, ErrEvent
		}
		if bytes.HasPrefix(line, []byte("_sc|")) {
			return dst, ErrServiceCheck
		}
	}
	badTags := p.BadTags
	if out, ok := p.parseCommon(dst, line); ok {
		return out, nil
	}
	// Whatever parseCommon counted, parseAny counts again.
	p.BadTags = badTags
	return p.parseAny(dst, line)
}

// Byte classes of a name part (0 for every other byte).
const (
	nameEnd      = 1 + iota // ':' ends the name part
	nameTagStart            // '#', ',' or ';' starts Librato, InfluxDB or Graphite tags
	nameBracket             // '[' or ']': SignalFX tags, or a lone bracket
)

// nameClass and fieldClass are the byte classes scan stops at: in a name
// part, and in a value or field (which ends at '|'; a ':' separates packed
// values, and in a skipped field it matters to scanDogStatsD).
var (
	nameClass = [256]uint8{
		':': nameEnd,
		'#': nameTagStart, ',': nameTagStart, ';': nameTagStart,
		'[': nameBracket, ']': nameBracket,
	}
	fieldClass = [256]uint8{'|': 1, ':': 1}
)

// scan returns the index of the first byte of b at or after i whose class
// is not 0 (len(b) if none), and hi ORed with the bytes before it. One table
// load and test per byte is cheaper than a bytes.IndexByte call per byte
// looked for on the short stretches of a line.
func scan(b []byte, i int, class *[256]uint8, hi byte) (int, byte) {
	for ; i < len(b); i++ {
		c := b[i]
		hi |= c
		if class[c] != 0 {
			break
		}
	}
	return i, hi
}

// parseCommon parses, in one forward pass, the shapes that nearly every
// client sends: a name with or without InfluxDB, Librato or Graphite tags, a
// value or DogStatsD packed values, a type, and any rate, DogStatsD tags,
// timestamp and origin fields. It appends the line's samples to dst and
// reports true only when the line is valid and parseAny would give exactly
// the same samples; for anything else (an error, SignalFX brackets, a
// statsd multi-metric line, a ':' whose meaning depends on scanDogStatsD's
// rules) it reports false and the caller, after undoing the BadTags it
// counted, starts again with parseAny. So the two only need to agree where
// parseCommon succeeds, and the rarer shapes and every error message come
// from the one general parser.
//
// Instead of checking UTF-8 up front, every byte read is ORed into hi, and
// utf8.Valid runs only on a line with a byte >= 0x80. For that to be sound,
// every path to success reads every byte of the line.
func (p *Parser) parseCommon(dst []Sample, line []byte) ([]Sample, bool) {
	p.tags = p.tags[:0]

	// The name part, up to the first ':'. At the first tag separator,
	// parseTags takes over and reads the rest of it.
	i, hi := scan(line, 0, &nameClass, 0)
	if i == len(line) || i == 0 {
		return nil, false // no ':', or an empty name
	}
	name := line[:i:i]
	switch nameClass[line[i]] {
	case nameBracket:
		return nil, false
	case nameTagStart:
		syn := &commaTags
		if line[i] == ';' {
			syn = &graphiteTags
		}
		n, h, err := p.parseTags(line[i+1:], syn)
		if err != nil {
			return nil, false
		}
		hi |= h
		if i += 1 + n; i == len(line) || line[i] != ':' {
			return nil, false // no ':', or a bracket after the tag separator
		}
	}
	colon := i
	nameTags := len(p.tags)

	// The value, up to the first '|'; a ':' in it means packed values.
	i, hi = scan(line, colon+1, &fieldClass, hi)
	packed := false
	for i < len(line) && line[i] == ':' {
		packed = true
		i, hi = scan(line, i+1, &fieldClass, hi)
	}
	if i == len(line) {
		return nil, false
	}
	values := line[colon+1 : i]

	// The type, then nothing or a '|' (a ':' would be a multi-metric line).
	s := Sample{Name: name, Rate: 1}
	if i++; i == len(line) {
		return nil, false
	}
	switch line[i] {
	case 'c':
		s.Type = Counter
	case 'g':
		s.Type = Gauge
	case 'h':
		s.Type = Histogram
	case 'd':
		s.Type = Distribution
	case 's':
		s.Type = Set
	case 'm':
		if i+1 == len(line) || line[i+1] != 's' {
			return nil, false
		}
		s.Type = Timer
		i++
	default:
		return nil, false
	}
	i++

	// The fields. parseAny reads a line with a ':' after its value as a statsd
	// multi-metric line ("a:1|c:2|g") unless scanDogStatsD finds DogStatsD
	// fields in it, and then as one sample; without such a ':' both readings
	// agree. So dog notes a field that scanDogStatsD is sure to find (tags
	// anywhere, an origin field with no ':' before it), colons a ':' in a
	// skipped field (a rate with one is invalid), and a line with colons but
	// not dog is left to parseAny.
	hasRate, dog, colons := false, false, false
	for i < len(line) {
		if line[i] != '|' {
			return nil, false
		}
		if i++; i == len(line) {
			return nil, false // an empty field
		}
		f := i
		switch line[f] {
		case '@':
			i, hi = scan(line, f+1, &fieldClass, hi)
			r, ok := parseRate(line[f+1 : i])
			if !ok || hasRate {
				return nil, false
			}
			s.Rate, hasRate = r, true
			continue // if scan stopped at a ':', the next turn rejects it
		case '#':
			if nameTags > 0 {
				return nil, false // mixed tag styles
			}
			n, h, err := p.parseTags(line[f+1:], &dogStatsDTags)
			if err != nil {
				return nil, false
			}
			hi |= h
			i = f + 1 + n
			dog = true
			continue
		case 'T': // a timestamp, skipped as in parseTypeAndFields
		case 'c', 'e': // origin detection, skipped as in parseTypeAndFields
			if !isOriginField(line[f:]) {
				return nil, false
			}
			dog = dog || !colons
		default:
			return nil, false
		}
		// A skipped field (timestamp or origin), up to the next '|'.
		for i, hi = scan(line, i, &fieldClass, hi); i < len(line) && line[i] == ':'; {
			colons = true
			i, hi = scan(line, i+1, &fieldClass, hi)
		}
	}
	if !packed && colons && !dog {
		return nil, false
	}
	// Every byte of the line has been read.
	if hi >= utf8.RuneSelf && !utf8.Valid(line) {
		return nil, false
	}
	if n := len(p.tags); n > 0 {
		s.Tags = p.tags[:n:n]
	}

	if !packed {
		if s.setValue(values) != nil {
			return nil, false
		}
		return append(dst, s), true
	}
	if !s.Type.packable() {
		return nil, false
	}
	for {
		v, more, ok := cut(values, ':')
		t := s
		if t.setValue(v) != nil {
			return nil, false
		}
		dst = append(dst, t)
		if !ok {
			return dst, true
		}
		values = more
	}
}

// parseAny parses any line that Parse has not already dealt with: it is the
// general parser, run on lines parseCommon leaves, and decides every error.
func (p *Parser) parseAny(dst []Sample, line []byte) ([]Sample, error) {
	if !utf8.Valid(line) {
		return dst, ErrInvalidUTF8
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return dst, ErrMalformedLine
	}
	p.tags = p.tags[:0]
	name, err := p.parseName(line[:colon:colon])
	if err != nil {
		return dst, err
	}
	if len(name) == 0 {
		return dst, ErrEmptyName
	}
	rest := line[colon+1:]
	dogTags, dogFields := scanDogStatsD(rest)
	if dogTags && len(p.tags) > 0 {
		// Which tags would win is anyone's guess; statsd_exporter refuses too.
		return dst, ErrMixedTagStyles
	}
	pipe := bytes.IndexByte(rest, '|')
	if pipe < 0 {
		return dst, ErrMalformedLine
	}

	start := len(dst)
	var first error
	switch {
	case bytes.IndexByte(rest[:pipe], ':') >= 0:
		// DogStatsD value packing: "name:1:2:3|ms|@0.5|#k:v". The type and
		// fields after the first '|' are shared by every value.
		tmpl := Sample{Name: name}
		if err := p.parseTypeAndFields(&tmpl, rest[pipe+1:], true); err != nil {
			return dst, err
		}
		for values := rest[:pipe]; ; {
			v, more, ok := cut(values, ':')
			s := tmpl
			if err := s.setValue(v); err != nil {
				first = firstErr(first, err)
			} else {
				dst = append(dst, s)
			}
			if !ok {
				break
			}
			values = more
		}
	case dogFields:
		// A DogStatsD line holds a single value: ':' may appear in its tags
		// and origin fields, so it is never split as a multi-metric line.
		s := Sample{Name: name}
		if err := p.parseSample(&s, rest); err != nil {
			return dst, err
		}
		dst = append(dst, s)
	default:
		// statsd multi-metric line: "name:1|c:2|c|@0.1". Each value has its
		// own type and fields.
		for {
			chunk, more, ok := cut(rest, ':')
			s := Sample{Name: name}
			if err := p.parseSample(&s, chunk); err != nil {
				first = firstErr(first, err)
			} else {
				dst = append(dst, s)
			}
			if !ok {
				break
			}
			rest = more
		}
	}
	if n := len(p.tags); n > 0 {
		tags := p.tags[:n:n]
		for i := start; i < len(dst); i++ {
			dst[i].Tags = tags
		}
	}
	return dst, first
}

// parseSample parses "value|type[|field...]" into s.
func (p *Parser) parseSample(s *Sample, b []byte) error {
	value, rest, ok := cut(b, '|')
	if !ok {
		return ErrMalformedLine
	}
	if err := p.parseTypeAndFields(s, rest, false); err != nil {
		return err
	}
	return s.setValue(value)
}

// parseTypeAndFields parses "type[|field...]" into s. packed says the line
// carries several values, which only ms, h and d allow.
func (p *Parser) parseTypeAndFields(s *Sample, b []byte, packed bool) error {
	typ, fields, more := cut(b, '|')
	switch string(typ) {
	case "c":
		s.Type = Counter
	case "g":
		s.Type = Gauge
	case "ms":
		s.Type = Timer
	case "h":
		s.Type = Histogram
	case "d":
		s.Type = Distribution
	case "s":
		s.Type = Set
	default:
		if packed {
			return ErrBadMultiValue
		}
		return ErrBadType
	}
	if packed && !s.Type.packable() {
		return ErrBadMultiValue
	}
	s.Rate = 1
	hasRate := false
	for more {
		var f []byte
		f, fields, more = cut(fields, '|')
		if len(f) == 0 {
			return ErrBadComponent
		}
		switch f[0] {
		case '@':
			// A second rate is ambiguous (statsd_exporter divides a counter
			// by each one but repeats observations by the last one).
			r, ok := parseRate(f[1:])
			if !ok || hasRate {
				return ErrBadRate
			}
			s.Rate, hasRate = r, true
		case '#':
			if _, _, err := p.parseTags(f[1:], &dogStatsDTags); err != nil {
				return err
			}
		case 'T':
			// DogStatsD timestamp: Telltale aggregates by arrival time, so it
			// is skipped unparsed, as statsd_exporter does.
		default:
			// DogStatsD origin detection (container id, external data, tag
			// cardinality): Telltale does not enrich series with the
			// sender's container, so these are skipped unvalidated.
			if !isOriginField(f) {
				return ErrBadComponent
			}
		}
	}
	return nil
}

// parseRate parses the text after '@': a number in [0, 1] whose inverse is
// finite. "@0" means unsampled, as in statsd_exporter, so it gives 1.
func parseRate(b []byte) (float64, bool) {
	r, err := parseFloat(b)
	if err != nil || !(r >= 0 && r <= 1) || (r != 0 && math.IsInf(1/r, 0)) {
		return 0, false
	}
	if r == 0 {
		return 1, true
	}
	return r, true
}

// isOriginField reports whether f is a DogStatsD origin-detection field
// (container id, external data, tag cardinality).
func isOriginField(f []byte) bool {
	return bytes.HasPrefix(f, []byte("c:")) || bytes.HasPrefix(f, []byte("e:")) || bytes.HasPrefix(f, []byte("card:"))
}

// packable reports whether t may carry several values on one line
// (DogStatsD "name:1:2:3|ms").
func (t Type) packable() bool { return t == Timer || t == Histogram || t == Distribution }

// setValue parses the value text b according to s.Type.
func (s *Sample) setValue(b []byte) error {
	s.Raw = b[:len(b):len(b)]
	if s.Type == Set {
		if len(b) == 0 {
			return ErrBadValue
		}
		return nil
	}
	v, err := parseFloat(b)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return ErrBadValue
	}
	switch s.Type {
	case Counter:
		if v < 0 {
			return ErrNegativeCounter
		}
	case Gauge:
		s.Relative = b[0] == '+' || b[0] == '-'
	}
	s.Value = v
	return nil
}

// parseName removes the tags from the name part of a line (everything before
// the first ':'), appending them to p.tags, and returns the bare name. Like
// statsd_exporter, SignalFX brackets are looked for first; otherwise the first
// '#' (Librato), ',' (InfluxDB) or ';' (Graphite) starts the tags.
func (p *Parser) parseName(b []byte) ([]byte, error) {
	open, end := bytes.IndexByte(b, '['), bytes.IndexByte(b, ']')
	switch {
	case open >= 0 && end > open:
		if _, _, err := p.parseTags(b[open+1:], &signalFXTags); err != nil {
			return nil, err
		}
		switch {
		case end == len(b)-1:
			return b[:open:open], nil
		case open == 0:
			return b[end+1:], nil // b's capacity ends at the name
		}
		p.name = append(append(p.name[:0], b[:open]...), b[end+1:]...)
		return p.name[:len(p.name):len(p.name)], nil
	case open >= 0 || end >= 0:
		// A lone bracket (or "]" before "["): keep the name whole.
		p.BadTags++
		return b, nil
	}
	for i, c := range b {
		switch c {
		case '#', ',':
			_, _, err := p.parseTags(b[i+1:], &commaTags)
			return b[:i:i], err
		case ';':
			_, _, err := p.parseTags(b[i+1:], &graphiteTags)
			return b[:i:i], err
		}
	}
	return b, nil
}

// Tag-list byte classes (0 for every other byte).
const (
	tagSep = 1 + iota // separates two tags
	tagKV             // separates a tag's key from its value (its first one does)
	tagEnd            // ends the list
)

// tagSyntax describes one style of tag list for parseTags.
type tagSyntax struct {
	class [256]uint8
	dog   bool // a tag loses one leading '#', as in statsd_exporter
}

// The tag-list styles. A list in a name part ends at the ':' that ends the
// name (parseAny passes the name part alone, without it). InfluxDB, Librato
// and Graphite lists also end at a bracket: parseCommon leaves such a line to
// parseAny, whose parseName looks for SignalFX brackets first and so never
// passes them one. A SignalFX list ends at the first ']'.
var (
	dogStatsDTags = tagSyntax{class: [256]uint8{',': tagSep, ':': tagKV, '|': tagEnd}, dog: true}
	commaTags     = tagSyntax{class: [256]uint8{',': tagSep, '=': tagKV, ':': tagEnd, '[': tagEnd, ']': tagEnd}}
	graphiteTags  = tagSyntax{class: [256]uint8{';': tagSep, '=': tagKV, ':': tagEnd, '[': tagEnd, ']': tagEnd}}
	signalFXTags  = tagSyntax{class: [256]uint8{',': tagSep, '=': tagKV, ']': tagEnd}}
)

// parseTags appends the tags of b, up to the first byte that ends the list
// (or the end of b), to p.tags, and returns how many bytes it read (the one
// ending the list excluded) and the OR of those bytes. Each tag is split at
// its first key/value separator. Malformed tags (no separator, empty key or
// value) are counted in p.BadTags and dropped; an empty last tag (a trailing
// separator) is ignored, as in statsd_exporter.
//
// It reads each byte once, with one table lookup, rather than finding each
// separator and then each key/value separator with bytes.IndexByte: tags are
// short, and a call per search costs more than the loop.
func (p *Parser) parseTags(b []byte, syn *tagSyntax) (n int, hi byte, err error) {
	start, at := 0, -1 // the current tag is b[start:i]; at is its first kv, or -1
	for i := 0; ; i++ {
		// Skip to the next separator, noting the first kv on the way.
		i, hi = scan(b, i, &syn.class, hi)
		k := uint8(tagEnd)
		if i < len(b) {
			k = syn.class[b[i]]
		}
		if k == tagKV {
			if at < 0 {
				at = i
			}
			continue
		}
		if k == tagEnd && start == i {
			return i, hi, nil // an empty last tag
		}
		key := start
		if syn.dog && start < i && b[start] == '#' {
			key++
		}
		if at <= key || at == i-1 { // no kv, an empty key or an empty value
			p.BadTags++
		} else {
			if len(p.tags) == MaxTags {
				return i, hi, ErrTooManyTags
			}
			p.tags = append(p.tags, Tag{Key: b[key:at:at], Value: b[at+1 : i : i]})
		}
		if k == tagEnd {
			return i, hi, nil
		}
		start, at = i+1, -1
	}
}

// scanDogStatsD reports whether the part of a line after the name has
// DogStatsD tags ("|#", anywhere, as statsd_exporter checks) and whether it
// has any DogStatsD field at all: tags or an origin field "|c:", "|e:",
// "|card:" after a type (values of those may contain ':'). A "|c:" right after
// a value is the counter type of a statsd multi-metric line ("a:1|c:2|g").
func scanDogStatsD(b []byte) (tags, fields bool) {
	afterValue := true // the next '|' ends a value and starts a type
	for i, c := range b {
		switch c {
		case ':':
			afterValue = true
		case '|':
			f := b[i+1:]
			switch {
			case len(f) > 0 && f[0] == '#':
				return true, true
			case !afterValue && (bytes.HasPrefix(f, []byte("c:")) || bytes.HasPrefix(f, []byte("e:")) || bytes.HasPrefix(f, []byte("card:"))):
				fields = true
			}
			afterValue = false
		}
	}
	return tags, fields
}

// cut is bytes.Cut for a single byte.
func cut(b []byte, sep byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat is strconv.ParseFloat(string(b), 64) with a fast path for plain
// decimals ("[+-]digits[.digits]"). When the digits without the point fit in
// 53 bits and there are at most 22 of them after the point, the result is
// float64(digits) / 10^n, exact inputs divided once, so it is correctly
// rounded and equal to strconv's (Clinger's fast path). Everything else goes
// to strconv, whose conversion of b does not allocate for up to 32 bytes.
func parseFloat(b []byte) (float64, error) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		i++
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 19 {
				return strconv.ParseFloat(string(b), 64)
			}
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return strconv.ParseFloat(string(b), 64)
		}
	}
	if digits == 0 || m > 1<<53 || frac >= len(pow10) {
		return strconv.ParseFloat(string(b), 64)
	}
	f := float64(m)
	if frac > 0 { // a division costs more than the rest of this function
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, nil
}
