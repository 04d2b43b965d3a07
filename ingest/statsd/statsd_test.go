package statsd_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/telltale-dev/telltale/ingest/statsd"
)

// format renders a sample as `"name"{"k"="v"} type value "raw" @rate [relative]`.
func format(s statsd.Sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q", s.Name)
	if len(s.Tags) > 0 {
		b.WriteByte('{')
		for i, t := range s.Tags {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q=%q", t.Key, t.Value)
		}
		b.WriteByte('}')
	}
	fmt.Fprintf(&b, " %v %v %q @%v", s.Type, s.Value, s.Raw, s.Rate)
	if s.Relative {
		b.WriteString(" relative")
	}
	return b.String()
}

func formatAll(ss []statsd.Sample) []string {
	var out []string
	for _, s := range ss {
		out = append(out, format(s))
	}
	return out
}

// manyTags returns a DogStatsD tag list of n tags.
func manyTags(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("k" + strconv.Itoa(i) + ":v")
	}
	return b.String()
}

type acceptedCase struct {
	name    string
	line    string
	want    []string
	badTags uint64
}

var acceptedCases = []acceptedCase{
	// Types.
	{"counter", "page.views:1|c", []string{`"page.views" counter 1 "1" @1`}, 0},
	{"counter float", "a:1.5|c", []string{`"a" counter 1.5 "1.5" @1`}, 0},
	{"counter plus sign", "a:+2|c", []string{`"a" counter 2 "+2" @1`}, 0},
	{"counter minus zero", "a:-0|c", []string{`"a" counter -0 "-0" @1`}, 0},
	{"gauge", "fuel.level:0.5|g", []string{`"fuel.level" gauge 0.5 "0.5" @1`}, 0},
	{"gauge increment", "g:+4|g", []string{`"g" gauge 4 "+4" @1 relative`}, 0},
	{"gauge decrement", "g:-4.5|g", []string{`"g" gauge -4.5 "-4.5" @1 relative`}, 0},
	{"timer", "t:320|ms", []string{`"t" timer 320 "320" @1`}, 0},
	{"negative timer", "t:-1|ms", []string{`"t" timer -1 "-1" @1`}, 0},
	{"histogram", "h:2|h", []string{`"h" histogram 2 "2" @1`}, 0},
	{"distribution", "d:0.25|d", []string{`"d" distribution 0.25 "0.25" @1`}, 0},
	{"set", "users:alice|s", []string{`"users" set 0 "alice" @1`}, 0},
	{"numeric set", "uniques:765|s", []string{`"uniques" set 0 "765" @1`}, 0},
	// Value syntax is strconv.ParseFloat's.
	{"exponent", "a:1e3|c", []string{`"a" counter 1000 "1e3" @1`}, 0},
	{"leading point", "a:.5|c", []string{`"a" counter 0.5 ".5" @1`}, 0},
	{"trailing point", "a:5.|c", []string{`"a" counter 5 "5." @1`}, 0},
	{"underscore between digits", "a:1_0|c", []string{`"a" counter 10 "1_0" @1`}, 0},
	{"hex float", "a:0x1p-2|g", []string{`"a" gauge 0.25 "0x1p-2" @1`}, 0},
	{"long value", "a:0.100000000000000000000000000000000000000001|h", []string{`"a" histogram 0.1 "0.100000000000000000000000000000000000000001" @1`}, 0},
	{"many digits", "a:12345678901234567890|c", []string{`"a" counter 1.2345678901234567e+19 "12345678901234567890" @1`}, 0},
	// Sample rates.
	{"counter rate", "a:3|c|@0.1", []string{`"a" counter 3 "3" @0.1`}, 0},
	{"timer rate", "t:320|ms|@0.25", []string{`"t" timer 320 "320" @0.25`}, 0},
	{"rate 1", "a:1|c|@1", []string{`"a" counter 1 "1" @1`}, 0},
	{"rate 0 means 1", "a:1|c|@0", []string{`"a" counter 1 "1" @1`}, 0},
	{"gauge rate reported", "g:1|g|@0.5", []string{`"g" gauge 1 "1" @0.5`}, 0},
	{"rate after tags", "a:1|c|#k:v|@0.5", []string{`"a"{"k"="v"} counter 1 "1" @0.5`}, 0},
	// DogStatsD tags.
	{"dogstatsd tags", "a:1|c|#env:prod,host:h1", []string{`"a"{"env"="prod","host"="h1"} counter 1 "1" @1`}, 0},
	{"dogstatsd rate and tags", "users.online:1|c|@0.5|#country:china", []string{`"users.online"{"country"="china"} counter 1 "1" @0.5`}, 0},
	{"tag value with colon", "a:1|c|#url:http://x:80", []string{`"a"{"url"="http://x:80"} counter 1 "1" @1`}, 0},
	{"two tag fields", "a:1|c|#k:v|#k2:v2", []string{`"a"{"k"="v","k2"="v2"} counter 1 "1" @1`}, 0},
	{"tag with leading hash", "a:1|c|#k:v,#k2:v2", []string{`"a"{"k"="v","k2"="v2"} counter 1 "1" @1`}, 0},
	{"duplicate tag keys kept in order", "a:1|c|#k:1,k:2", []string{`"a"{"k"="1","k"="2"} counter 1 "1" @1`}, 0},
	{"malformed tags dropped", "a:1|c|#novalue,k:v,:x,y:,,", []string{`"a"{"k"="v"} counter 1 "1" @1`}, 4},
	{"empty tag field", "a:1|c|#", []string{`"a" counter 1 "1" @1`}, 0},
	{"lone hash tag", "a:1|c|##", []string{`"a" counter 1 "1" @1`}, 1},
	{"max tags", "a:1|c|#" + manyTags(statsd.MaxTags), []string{`"a"{` + func() string {
		var parts []string
		for i := range statsd.MaxTags {
			parts = append(parts, fmt.Sprintf(`"k%d"="v"`, i))
		}
		return strings.Join(parts, ",")
	}() + `} counter 1 "1" @1`}, 0},
	// Name tags.
	{"influxdb tags", "a,k=v,k2=v2:1|c", []string{`"a"{"k"="v","k2"="v2"} counter 1 "1" @1`}, 0},
	{"influxdb value with semicolon", "a,k=v;w:1|c", []string{`"a"{"k"="v;w"} counter 1 "1" @1`}, 0},
	{"influxdb trailing comma", "a,k=v,:1|c", []string{`"a"{"k"="v"} counter 1 "1" @1`}, 0},
	{"influxdb empty tag list", "a,:1|c", []string{`"a" counter 1 "1" @1`}, 0},
	{"influxdb malformed tags", "a,k,=v,x=,y=z,,w=1:1|c", []string{`"a"{"y"="z","w"="1"} counter 1 "1" @1`}, 4},
	{"librato tags", "a#k=v,k2=v2:1|c", []string{`"a"{"k"="v","k2"="v2"} counter 1 "1" @1`}, 0},
	{"signalfx tags", "a[k=v,k2=v2]:1|c", []string{`"a"{"k"="v","k2"="v2"} counter 1 "1" @1`}, 0},
	{"signalfx tags in the middle", "a.[k=v]b:1|c", []string{`"a.b"{"k"="v"} counter 1 "1" @1`}, 0},
	{"signalfx tags first", "[k=v]a:1|c", []string{`"a"{"k"="v"} counter 1 "1" @1`}, 0},
	{"signalfx before influxdb", "a,x[k=v]:1|c", []string{`"a,x"{"k"="v"} counter 1 "1" @1`}, 0},
	{"signalfx lone bracket", "a[b:1|c", []string{`"a[b" counter 1 "1" @1`}, 1},
	{"signalfx closing bracket first", "a]b[c:1|c", []string{`"a]b[c" counter 1 "1" @1`}, 1},
	{"graphite tags", "a;k=v;k2=v2:1|c", []string{`"a"{"k"="v","k2"="v2"} counter 1 "1" @1`}, 0},
	{"graphite value with comma", "a;k=v,w:1|c", []string{`"a"{"k"="v,w"} counter 1 "1" @1`}, 0},
	{"malformed name tags allow dogstatsd tags", "a,bad:1|c|#x:y", []string{`"a"{"x"="y"} counter 1 "1" @1`}, 1},
	// Several values.
	{"multi-metric", "a:1|c:2|g:3|ms|@0.5", []string{`"a" counter 1 "1" @1`, `"a" gauge 2 "2" @1`, `"a" timer 3 "3" @0.5`}, 0},
	{"multi-metric with name tags", "a,k=v:1|c:-2|g", []string{`"a"{"k"="v"} counter 1 "1" @1`, `"a"{"k"="v"} gauge -2 "-2" @1 relative`}, 0},
	{"value packing", "t:1:2:3|ms|@0.5|#k:v", []string{`"t"{"k"="v"} timer 1 "1" @0.5`, `"t"{"k"="v"} timer 2 "2" @0.5`, `"t"{"k"="v"} timer 3 "3" @0.5`}, 0},
	{"value packing histogram", "h:1:2|h", []string{`"h" histogram 1 "1" @1`, `"h" histogram 2 "2" @1`}, 0},
	{"value packing distribution", "d:1.5:-2|d", []string{`"d" distribution 1.5 "1.5" @1`, `"d" distribution -2 "-2" @1`}, 0},
	// Skipped DogStatsD fields.
	{"timestamp", "a:1|c|T1656581400", []string{`"a" counter 1 "1" @1`}, 0},
	{"timestamp not validated", "a:1|c|Tomorrow", []string{`"a" counter 1 "1" @1`}, 0},
	{"container id", "a:1|c|#k:v|c:abc123", []string{`"a"{"k"="v"} counter 1 "1" @1`}, 0},
	{"container id without tags", "a:1|c|c:abc:def", []string{`"a" counter 1 "1" @1`}, 0},
	{"empty container id", "a:1|c|c:", []string{`"a" counter 1 "1" @1`}, 0},
	{"external data", "a:1|c|e:it-false,cn-nginx,pu-75a2b6d5", []string{`"a" counter 1 "1" @1`}, 0},
	{"cardinality", "a:1|g|card:high", []string{`"a" gauge 1 "1" @1`}, 0},
	{"every field", "a:1|c|@0.5|#k:v|T1656581400|c:ci-123|e:it-false|card:low", []string{`"a"{"k"="v"} counter 1 "1" @0.5`}, 0},
	{"more than four fields", "a:1|c|@0.5|#k:v|T1|T2|T3", []string{`"a"{"k"="v"} counter 1 "1" @0.5`}, 0},
	// Whitespace and odd names.
	{"trailing CR", "a:1|c\r", []string{`"a" counter 1 "1" @1`}, 0},
	{"trailing CR after tags", "a:1|c|#k:v\r", []string{`"a"{"k"="v"} counter 1 "1" @1`}, 0},
	{"empty line", "", nil, 0},
	{"CR only", "\r", nil, 0},
	{"spaces in name kept", " a b:1|c", []string{`" a b" counter 1 "1" @1`}, 0},
	{"space in tag value", "a:1|c|#k:v w", []string{`"a"{"k"="v w"} counter 1 "1" @1`}, 0},
	{"unicode name", "température:21.5|g", []string{`"température" gauge 21.5 "21.5" @1`}, 0},
	{"pipe in name", "a|b:1|c", []string{`"a|b" counter 1 "1" @1`}, 0},
	{"at in set member", "u:a@b.c|s", []string{`"u" set 0 "a@b.c" @1`}, 0},
	// Where Parse's one-pass path hands over to the general parser.
	{"origin field before a timestamp with a colon", "a:1|c|c:x|T1:2", []string{`"a" counter 1 "1" @1`}, 0},
	{"origin field after a timestamp with a colon", "a:1|c|T1:2|T3|c:x", []string{`"a" counter 1 "1" @1`}, 0},
	{"multi-metric after a rate", "a:1|c|@0.5:2|c", []string{`"a" counter 1 "1" @0.5`, `"a" counter 2 "2" @1`}, 0},
	{"bracket after influxdb tags", "a,k=v]:1|c", []string{`"a,k=v]" counter 1 "1" @1`}, 1},
	{"pipe in librato tag value", "a#k=v,b=w|x:1|ms", []string{`"a"{"k"="v","b"="w|x"} timer 1 "1" @1`}, 0},
	{"unicode tag value", "température:1|c|#k:é", []string{`"température"{"k"="é"} counter 1 "1" @1`}, 0},
	{"malformed name and dogstatsd tags", "a,k:1|c|#k:v,bad", []string{`"a"{"k"="v"} counter 1 "1" @1`}, 2},
	{"value packing with origin field and tags", "t:1:2|ms|c:x|#k:v", []string{`"t"{"k"="v"} timer 1 "1" @1`, `"t"{"k"="v"} timer 2 "2" @1`}, 0},
}

func TestParseAccepted(t *testing.T) {
	for _, tc := range acceptedCases {
		t.Run(tc.name, func(t *testing.T) {
			var p statsd.Parser
			got, err := p.Parse(nil, []byte(tc.line))
			if err != nil {
				t.Fatalf("Parse(%q): got error %v, want nil", tc.line, err)
			}
			if g := formatAll(got); !slices.Equal(g, tc.want) {
				t.Errorf("Parse(%q): got %v, want %v", tc.line, g, tc.want)
			}
			if p.BadTags != tc.badTags {
				t.Errorf("Parse(%q): got BadTags %v, want %v", tc.line, p.BadTags, tc.badTags)
			}
		})
	}
}

type rejectedCase struct {
	name   string
	line   string
	reason string
	want   []string // the samples kept from a line of several values
}

var rejectedCases = []rejectedCase{
	{"no colon", "a", "malformed_line", nil},
	{"blank", " ", "malformed_line", nil},
	{"empty name part", ":1|c", "malformed_line", nil},
	{"no type", "a:1", "malformed_line", nil},
	{"nothing after colon", "a:", "malformed_line", nil},
	{"multi-metric without type", "a:1|c:2", "malformed_line", []string{`"a" counter 1 "1" @1`}},
	{"multi-metric empty part", "a:1|c:", "malformed_line", []string{`"a" counter 1 "1" @1`}},
	{"name only signalfx tags", "[k=v]:1|c", "empty_name", nil},
	{"name only influxdb tags", ",k=v:1|c", "empty_name", nil},
	{"name only librato tags", "#k=v:1|c", "empty_name", nil},
	{"name only graphite tags", ";k=v:1|c", "empty_name", nil},
	{"invalid utf8", "a:\xff|c", "invalid_utf8", nil},
	{"invalid utf8 in tag", "a:1|c|#k:\xc3", "invalid_utf8", nil},
	{"word", "a:x|c", "bad_value", nil},
	{"empty value", "a:|c", "bad_value", nil},
	{"NaN", "a:NaN|g", "bad_value", nil},
	{"Inf", "a:Inf|c", "bad_value", nil},
	{"plus Inf", "a:+Inf|ms", "bad_value", nil},
	{"out of range", "a:1e400|c", "bad_value", nil},
	{"leading space", "a: 1|c", "bad_value", nil},
	{"empty set member", "a:|s", "bad_value", nil},
	{"negative counter", "a:-1|c", "negative_counter", nil},
	{"unknown type", "a:1|x", "bad_type", nil},
	{"empty type", "a:1|", "bad_type", nil},
	{"upper case type", "a:1|C", "bad_type", nil},
	{"trailing space", "a:1|c ", "bad_type", nil},
	{"DogStatsD field in multi-metric line", "a:1|g:2|c|c:abc", "bad_type", nil},
	{"packed counter", "a:1:2|c", "bad_multi_value", nil},
	{"packed gauge", "a:1:2|g", "bad_multi_value", nil},
	{"packed set", "a:x:y|s", "bad_multi_value", nil},
	{"packed unknown type", "a:1:2|zz", "bad_multi_value", nil},
	{"word rate", "a:1|c|@x", "bad_rate", nil},
	{"empty rate", "a:1|c|@", "bad_rate", nil},
	{"rate above 1", "a:1|c|@2", "bad_rate", nil},
	{"negative rate", "a:1|c|@-0.5", "bad_rate", nil},
	{"NaN rate", "a:1|c|@NaN", "bad_rate", nil},
	{"two rates", "a:1|c|@0.5|@0.5", "bad_rate", nil},
	{"tiny rate", "a:1|ms|@1e-320", "bad_rate", nil},
	{"empty field", "a:1|c|", "bad_component", nil},
	{"empty field before tags", "a:1|c||#k:v", "bad_component", nil},
	{"unknown field", "a:1|c|x", "bad_component", nil},
	{"c without colon", "a:1|c|cx", "bad_component", nil},
	{"unknown field after tags", "a:1|c|#k:v|z", "bad_component", nil},
	{"influxdb and dogstatsd tags", "a,k=v:1|c|#x:y", "mixed_tag_styles", nil},
	{"signalfx and dogstatsd tags", "a[k=v]:1|c|#x:y", "mixed_tag_styles", nil},
	{"graphite and dogstatsd tags", "a;k=v:1|c|#x:y", "mixed_tag_styles", nil},
	{"librato and dogstatsd tags", "a#k=v:1|c|#x:y", "mixed_tag_styles", nil},
	{"too many dogstatsd tags", "a:1|c|#" + manyTags(statsd.MaxTags+1), "too_many_tags", nil},
	{"too many influxdb tags", "a," + strings.ReplaceAll(manyTags(statsd.MaxTags+1), ":", "=") + ":1|c", "too_many_tags", nil},
	{"event", "_e{5,4}:title|text", "event", nil},
	{"event with tags", "_e{5,4}:title|text|#k:v", "event", nil},
	{"service check", "_sc|my.check|0|#k:v", "service_check", nil},
	// A line of several values keeps its good values and reports the first error.
	{"multi-metric bad value", "a:1|c:x|c:3|g", "bad_value", []string{`"a" counter 1 "1" @1`, `"a" gauge 3 "3" @1`}},
	{"multi-metric first value bad", "a:x|c:-1|c:1|c", "bad_value", []string{`"a" counter 1 "1" @1`}},
	{"multi-metric negative counter", "a:1|c:-2|c", "negative_counter", []string{`"a" counter 1 "1" @1`}},
	{"packed empty value", "t:1::3|ms", "bad_value", []string{`"t" timer 1 "1" @1`, `"t" timer 3 "3" @1`}},
	{"packed bad rate", "t:1:2|ms|@5", "bad_rate", nil},
	{"timestamp with a colon before an origin field", "a:1|c|T1:2|c:x", "malformed_line", []string{`"a" counter 1 "1" @1`, `"a" counter 2 "2" @1`}},
	{"invalid utf8 after name tags", "a,k=v:1|c|#k:\xff", "invalid_utf8", nil},
}

func TestParseRejected(t *testing.T) {
	for _, tc := range rejectedCases {
		t.Run(tc.name, func(t *testing.T) {
			var p statsd.Parser
			got, err := p.Parse(nil, []byte(tc.line))
			if r := statsd.Reason(err); r != tc.reason {
				t.Errorf("Parse(%q): got reason %q (err %v), want %q", tc.line, r, err, tc.reason)
			}
			if g := formatAll(got); !slices.Equal(g, tc.want) {
				t.Errorf("Parse(%q): got %v, want %v", tc.line, g, tc.want)
			}
		})
	}
}

// TestParseIndependentLines checks that a line's result does not depend on
// the lines parsed before it on the same Parser, and that Parse appends.
func TestParseIndependentLines(t *testing.T) {
	var lines []string
	for _, tc := range acceptedCases {
		lines = append(lines, tc.line)
	}
	for _, tc := range rejectedCases {
		lines = append(lines, tc.line)
	}
	var shared statsd.Parser
	prefix := statsd.Sample{Name: []byte("prefix"), Type: statsd.Gauge}
	for i := range 2 * len(lines) {
		line := lines[(i*7)%len(lines)]
		var fresh statsd.Parser
		want, wantErr := fresh.Parse(nil, []byte(line))
		got, err := shared.Parse([]statsd.Sample{prefix}, []byte(line))
		if err != wantErr {
			t.Errorf("Parse(%q) after other lines: got error %v, want %v", line, err, wantErr)
		}
		if format(got[0]) != format(prefix) {
			t.Errorf("Parse(%q): got dst[0] %v, want %v", line, format(got[0]), format(prefix))
		}
		if g, w := formatAll(got[1:]), formatAll(want); !slices.Equal(g, w) {
			t.Errorf("Parse(%q) after other lines: got %v, want %v", line, g, w)
		}
	}
}

// TestParseCapacity checks that appending to a returned slice never writes
// into the line.
func TestParseCapacity(t *testing.T) {
	for _, line := range []string{"a,k=v:1|c", "a[k=v]b:1|c", "a:1|c|#k:v,k2:v2", "a:1:2|ms"} {
		b := []byte(line)
		var p statsd.Parser
		got, err := p.Parse(nil, b)
		if err != nil {
			t.Fatalf("Parse(%q): got error %v, want nil", line, err)
		}
		for _, s := range got {
			_ = append(s.Name, 'X')
			_ = append(s.Raw, 'X')
			for _, tag := range s.Tags {
				_ = append(tag.Key, 'X')
				_ = append(tag.Value, 'X')
			}
			_ = append(s.Tags, statsd.Tag{})
		}
		if string(b) != line {
			t.Errorf("after appending to the samples of %q: got line %q, want unchanged", line, b)
		}
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[statsd.Type]string{
		statsd.Counter: "counter", statsd.Gauge: "gauge", statsd.Timer: "timer",
		statsd.Histogram: "histogram", statsd.Distribution: "distribution", statsd.Set: "set",
		0: "Type(0)", 7: "Type(7)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String(): got %v, want %v", uint8(typ), got, want)
		}
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{statsd.ErrBadRate, "bad_rate"},
		{fmt.Errorf("line 3: %w", statsd.ErrEvent), "event"},
		{errors.New("boom"), "other"},
	} {
		if got := statsd.Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v): got %v, want %v", tc.err, got, tc.want)
		}
	}
}
