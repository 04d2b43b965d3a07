package statsd

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"unsafe"
)

// FuzzParse checks that Parse never panics, that everything it returns points
// into the line or into the Parser's own buffer, that its samples are well
// formed, and that parsing the same line again gives the same result. Each
// input is parsed whole and as two lines split at a position taken from its
// first byte. Seeds are in testdata/fuzz/FuzzParse; run with
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=60s ./ingest/statsd/
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"page.views:1|c",
		"a:1|c|@0.5|#k:v,k2:v2|T1656581400|c:abc|e:x|card:low",
		"a,k=v;x:1|g:+2|g",
		"a[k=v]b:1:2:3|ms|@0.25",
		"a;k=v;k2=v2:x|s",
		"a]b[c:1|c",
		"_e{5,4}:title|text",
		"_sc|check|0",
		"a:1|c\r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 { // lines are bounded by the listener
			return
		}
		var p Parser
		checkParse(t, &p, in)
		if len(in) > 0 {
			k := int(in[0]) % (len(in) + 1)
			checkParse(t, &p, in[:k])
			checkParse(t, &p, in[k:])
		}
	})
}

func checkParse(t *testing.T, p *Parser, line []byte) {
	orig := bytes.Clone(line)
	prefix := Sample{Name: []byte("prefix"), Type: Set, Rate: 1}
	got, err := p.Parse([]Sample{prefix}, line)
	if !reflect.DeepEqual(got[0], prefix) {
		t.Fatalf("Parse(%q): got dst[0] %+v, want %+v", line, got[0], prefix)
	}
	got = got[1:]
	if !bytes.Equal(line, orig) {
		t.Fatalf("Parse(%q): line changed to %q", orig, line)
	}
	if r := Reason(err); r == "other" {
		t.Fatalf("Parse(%q): got error %v without a reason", line, err)
	}
	if err == nil && len(got) == 0 && len(bytes.TrimSuffix(line, []byte("\r"))) > 0 {
		t.Fatalf("Parse(%q): got no samples and no error", line)
	}
	inside := func(b []byte) bool { return within(b, line) || within(b, p.name) }
	for _, s := range got {
		switch {
		case len(s.Name) == 0 || !inside(s.Name):
			t.Fatalf("Parse(%q): name %q is empty or outside the line and buffers", line, s.Name)
		case !within(s.Raw, line):
			t.Fatalf("Parse(%q): raw %q is outside the line", line, s.Raw)
		case s.Type < Counter || s.Type > Set:
			t.Fatalf("Parse(%q): got type %v", line, s.Type)
		case !(s.Rate > 0 && s.Rate <= 1) || math.IsInf(1/s.Rate, 0):
			t.Fatalf("Parse(%q): got rate %v", line, s.Rate)
		case math.IsNaN(s.Value) || math.IsInf(s.Value, 0) || s.Type == Counter && s.Value < 0:
			t.Fatalf("Parse(%q): got %v value %v", line, s.Type, s.Value)
		case s.Relative && s.Type != Gauge:
			t.Fatalf("Parse(%q): got relative %v", line, s.Type)
		case len(s.Tags) > MaxTags:
			t.Fatalf("Parse(%q): got %d tags", line, len(s.Tags))
		case len(got[0].Tags) != len(s.Tags) || len(s.Tags) > 0 && &s.Tags[0] != &got[0].Tags[0]:
			t.Fatalf("Parse(%q): samples of one line have different tags", line)
		}
		for _, tag := range s.Tags {
			if len(tag.Key) == 0 || len(tag.Value) == 0 || !within(tag.Key, line) || !within(tag.Value, line) {
				t.Fatalf("Parse(%q): tag %q=%q is empty or outside the line", line, tag.Key, tag.Value)
			}
		}
	}

	// The same line again, on the same Parser and on a fresh one.
	snapshot := render(got)
	again, err2 := p.Parse(nil, line)
	var fresh Parser
	again2, err3 := fresh.Parse(nil, line)
	if err2 != err || err3 != err {
		t.Fatalf("Parse(%q) again: got errors %v and %v, want %v", line, err2, err3, err)
	}
	if a, a2 := render(again), render(again2); !reflect.DeepEqual(a, snapshot) || !reflect.DeepEqual(a2, snapshot) {
		t.Fatalf("Parse(%q) again: got %v and %v, want %v", line, a, a2, snapshot)
	}
}

// within reports whether sub lies inside buf's memory (an empty sub anywhere).
func within(sub, buf []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(buf) == 0 {
		return false
	}
	s, b := uintptr(unsafe.Pointer(unsafe.SliceData(sub))), uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return s >= b && s+uintptr(len(sub)) <= b+uintptr(len(buf))
}

// rendered is a Sample with its bytes copied, for comparing results of
// different calls.
type rendered struct {
	Name, Raw string
	Tags      []string
	Type      Type
	Value     float64
	Rate      float64
	Relative  bool
}

func render(ss []Sample) []rendered {
	var out []rendered
	for _, s := range ss {
		r := rendered{Name: string(s.Name), Raw: string(s.Raw), Type: s.Type, Value: s.Value, Rate: s.Rate, Relative: s.Relative}
		for _, t := range s.Tags {
			r.Tags = append(r.Tags, string(t.Key)+"="+string(t.Value))
		}
		out = append(out, r)
	}
	return out
}
