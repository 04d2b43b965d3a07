package envelope

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func zlibBase64(tb testing.TB, s string, enc *base64.Encoding) string {
	tb.Helper()
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return enc.EncodeToString(b.Bytes())
}

func TestStorePayload(t *testing.T) {
	const event = `{"message":"hi","level":"info"}`
	wrapped := zlibBase64(t, event, base64.StdEncoding)
	var lines strings.Builder
	for i := 0; i < len(wrapped); i += 16 {
		lines.WriteString(wrapped[i:min(i+16, len(wrapped))] + "\r\n")
	}
	bomb := zlibBase64(t, strings.Repeat("a", 1001), base64.StdEncoding)
	for _, tc := range []struct {
		name   string
		body   string
		max    int
		want   string
		err    error
		reason string
	}{
		{name: "json", body: event, want: event},
		{name: "json leading space", body: "\n " + event, want: "\n " + event},
		{name: "json not validated", body: "{oops", want: "{oops"},
		{name: "base64 zlib", body: wrapped, want: event},
		{name: "base64 zlib line breaks", body: lines.String(), want: event},
		{name: "base64 zlib unpadded", body: zlibBase64(t, event, base64.RawStdEncoding), want: event},
		{name: "base64 json", body: base64.StdEncoding.EncodeToString([]byte(event)), want: event},
		{name: "inflated at max", body: zlibBase64(t, strings.Repeat("a", 1000), base64.StdEncoding), max: 1000, want: strings.Repeat("a", 1000)},
		{name: "inflated over max", body: bomb, max: 1000, err: ErrTooLarge, reason: "event_too_large"},
		{name: "json over max", body: event, max: 10, err: ErrTooLarge, reason: "event_too_large"},
		{name: "base64 json over max", body: base64.StdEncoding.EncodeToString([]byte(event)), max: 10, err: ErrTooLarge, reason: "event_too_large"},
		{name: "base64 text far over max", body: strings.Repeat("A", 3*4096+8), max: 4096, err: ErrTooLarge, reason: "event_too_large"},
		{name: "empty", body: "", err: ErrMalformed, reason: "empty"},
		{name: "blank", body: " \r\n", err: ErrMalformed, reason: "empty"},
		{name: "not base64", body: "hello world!", err: ErrMalformed, reason: "bad_store_body"},
		{name: "base64 not zlib", body: base64.StdEncoding.EncodeToString([]byte("plain text")), err: ErrMalformed, reason: "bad_store_body"},
		{name: "truncated zlib", body: zlibBase64(t, event, base64.StdEncoding)[:20], err: ErrMalformed, reason: "bad_store_body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := StorePayload([]byte(tc.body), tc.max)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || Reason(err) != tc.reason {
					t.Fatalf("got %q, %v (reason %q), want %v (reason %q)", got, err, Reason(err), tc.err, tc.reason)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestStorePayloadNoCopy(t *testing.T) {
	body := []byte(`{"a":1}`)
	got, err := StorePayload(body, 0)
	if err != nil || &got[0] != &body[0] || len(got) != len(body) {
		t.Fatalf("got %q, %v, want the body itself", got, err)
	}
}
