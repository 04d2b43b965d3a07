package aggregate

import (
	"testing"
	"unicode/utf8"

	"github.com/prometheus/statsd_exporter/pkg/mapper"
)

// FuzzEscape checks that names and label names are escaped exactly as
// statsd_exporter escapes them, so that a user can swap Telltale in without
// touching a dashboard. Its seeds run in every `go test`.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{
		"", "a", "app.requests", "9lives", "a--b", "a---b-c", "a-b--c", "x.y-z_w:v",
		"héllo.wörld", "日本語", "a b\tc", "_ok_", "0", "--", "a\u00e9-\u00e9-b", "€uro",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) || len(name) > 1024 {
			t.Skip() // the parser refuses invalid UTF-8 before it gets here
		}
		want := mapper.EscapeMetricName(name)
		if got := string(appendEscaped(nil, []byte(name))); got != want {
			t.Errorf("appendEscaped(%q) = %q, want %q", name, got, want)
		}
		if got := validName([]byte(name)); got != (want == name && name != "") && name != "" {
			t.Errorf("validName(%q) = %v, but escaping gives %q", name, got, want)
		}
		// Appending keeps what dst held.
		if got := string(appendEscaped([]byte("pre"), []byte(name))); got != "pre"+want {
			t.Errorf("appendEscaped(pre, %q) = %q", name, got)
		}
	})
}
