package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// TestSentryEncodings sends events with every Content-Encoding Sentry's
// SDKs and Relay know, each one twice around a corrupt body and a bomb of
// the same encoding (decompressors are reused between requests), and
// checks that exactly the good ones are stored.
func TestSentryEncodings(t *testing.T) {
	m := startSentry(t, t.TempDir())
	n := 0
	event := func() []byte {
		n++
		return []byte(fmt.Sprintf(`{"event_id":"%032x"}`+"\n"+`{"type":"event"}`+"\n"+`{"message":"encoded %d","level":"error","fingerprint":["encodings"]}`+"\n", n, n))
	}
	// stream compresses with the writers of newWriter.
	stream := func(newWriter func(io.Writer) io.WriteCloser) func([]byte) []byte {
		return func(b []byte) []byte {
			var out bytes.Buffer
			w := newWriter(&out)
			w.Write(b)
			w.Close()
			return out.Bytes()
		}
	}
	compress := map[string]func([]byte) []byte{
		"identity": func(b []byte) []byte { return b },
		"gzip":     stream(func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }),
		"deflate":  stream(func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }),
		"br":       stream(func(w io.Writer) io.WriteCloser { return brotli.NewWriter(w) }),
		"zstd": func(b []byte) []byte {
			w, _ := zstd.NewWriter(nil)
			defer w.Close()
			return w.EncodeAll(b, nil)
		},
	}
	compress["x-gzip"] = compress["gzip"]
	post := func(enc string, body []byte) int {
		t.Helper()
		hdr := sentryAuth(testKey)
		if enc != "identity" {
			hdr["Content-Encoding"] = enc
		}
		code, _ := postEnvelope(t, m, hdr, body)
		return code
	}
	bomb := bytes.Repeat([]byte{' '}, 64<<20) // over the 20 MiB decompressed-body cap
	stored := 0
	for _, enc := range []string{"identity", "gzip", "x-gzip", "deflate", "br", "zstd"} {
		c := compress[enc]
		if code := post(enc, c(event())); code != 200 {
			t.Errorf("%s: status %d, want 200", enc, code)
		}
		if enc != "identity" {
			good := c(event())
			if code := post(enc, good[:len(good)/2]); code != 400 {
				t.Errorf("%s, cut short: status %d, want 400", enc, code)
			}
			if code := post(enc, c(bomb)); code != 413 {
				t.Errorf("%s bomb: status %d, want 413", enc, code)
			}
		}
		if code := post(enc, c(event())); code != 200 {
			t.Errorf("%s after a bad body: status %d, want 200", enc, code)
		}
		stored += 2
	}
	// Relay reads an encoding it does not know as identity.
	if code := post("compress", event()); code != 200 {
		t.Errorf("unknown encoding: status %d, want 200", code)
	}
	stored++
	list := issueList(t, m, "")
	if len(list) != 1 || list[0].Count != strconv.Itoa(stored) {
		t.Errorf("issues %+v; want one with count %d", list, stored)
	}
}
