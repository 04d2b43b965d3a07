package storage

import (
	"strings"
	"testing"
)

func TestHashLabelsLong(t *testing.T) {
	for _, ls := range []Labels{
		{{Name: "__name__", Value: "up"}},
		{{Name: "__name__", Value: "up"}, {Name: "long", Value: strings.Repeat("x", 600)}},
		{{Name: "__name__", Value: strings.Repeat("y", 300)}, {Name: "b", Value: strings.Repeat("x", 300)}},
	} {
		if got, want := hashLabels(ls), hashLabelsStream(ls); got != want {
			t.Errorf("hashLabels(%.40s) = %x, want %x (the streamed hash)", ls.String(), got, want)
		}
	}
	a := Labels{{Name: "a", Value: "bc"}}
	b := Labels{{Name: "ab", Value: "c"}}
	if hashLabels(a) == hashLabels(b) {
		t.Errorf("hashLabels(%s) == hashLabels(%s)", a, b)
	}
}

func TestLabelsEncoding(t *testing.T) {
	ls := Labels{{Name: "__name__", Value: "up"}, {Name: "job", Value: "a\x00b\xff"}}
	got, err := decodeLabels(appendLabels(nil, ls))
	if err != nil || !got.Equal(ls) {
		t.Fatalf("decode(encode(%s)) = %s, %v", ls, got, err)
	}
	enc := appendLabels(nil, ls)
	for i := range len(enc) {
		if _, err := decodeLabels(enc[:i]); err == nil {
			t.Errorf("decodeLabels of %d of %d bytes: no error", i, len(enc))
		}
	}
}
