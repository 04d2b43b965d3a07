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
	if bytes.HasPrefix(line, []byte("_e{")) {
		return dst, ErrEvent
	}
	if bytes.HasPrefix(line, []byte("_sc|")) {
		return dst, ErrServiceCheck
	}
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
	if packed && s.Type != Timer && s.Type != Histogram && s.Type != Distribution {
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
			r, err := parseFloat(f[1:])
			// A second rate is ambiguous (statsd_exporter divides a counter
			// by each one but repeats observations by the last one).
			if err != nil || hasRate || !(r >= 0 && r <= 1) || (r != 0 && math.IsInf(1/r, 0)) {
				return ErrBadRate
			}
			if r != 0 { // "@0" means unsampled, as in statsd_exporter
				s.Rate = r
			}
			hasRate = true
		case '#':
			if err := p.parseTags(f[1:], ',', ':'); err != nil {
				return err
			}
		case 'T':
			// DogStatsD timestamp: Telltale aggregates by arrival time, so it
			// is skipped unparsed, as statsd_exporter does.
		default:
			// DogStatsD origin detection (container id, external data, tag
			// cardinality): Telltale does not enrich series with the
			// sender's container, so these are skipped unvalidated.
			if !bytes.HasPrefix(f, []byte("c:")) && !bytes.HasPrefix(f, []byte("e:")) && !bytes.HasPrefix(f, []byte("card:")) {
				return ErrBadComponent
			}
		}
	}
	return nil
}

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
		if err := p.parseTags(b[open+1:end], ',', '='); err != nil {
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
			return b[:i:i], p.parseTags(b[i+1:], ',', '=')
		case ';':
			return b[:i:i], p.parseTags(b[i+1:], ';', '=')
		}
	}
	return b, nil
}

// parseTags appends the tags of list, separated by sep, each split into key
// and value at its first kv, to p.tags. Malformed tags are counted in
// p.BadTags and dropped; an empty last tag (a trailing separator) is ignored,
// as in statsd_exporter. A DogStatsD tag (kv ':') loses one leading '#', as in
// statsd_exporter.
func (p *Parser) parseTags(list []byte, sep, kv byte) error {
	for len(list) > 0 {
		var tag []byte
		tag, list, _ = cut(list, sep)
		if kv == ':' && len(tag) > 0 && tag[0] == '#' {
			tag = tag[1:]
		}
		i := bytes.IndexByte(tag, kv)
		if i <= 0 || i == len(tag)-1 {
			p.BadTags++
			continue
		}
		if len(p.tags) == MaxTags {
			return ErrTooManyTags
		}
		p.tags = append(p.tags, Tag{Key: tag[:i:i], Value: tag[i+1 : len(tag) : len(tag)]})
	}
	return nil
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
	f := float64(m) / pow10[frac]
	if neg {
		f = -f
	}
	return f, nil
}
