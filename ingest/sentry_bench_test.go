package ingest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/telltale-dev/telltale/aggregate/grouping"
	"github.com/telltale-dev/telltale/aggregate/issues"
	"github.com/telltale-dev/telltale/ingest/envelope"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// readFlood returns the load generator's envelope: one 8 KB event with a
// length.
func readFlood(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sentry", "flood", "flood-event-envelope.body"))
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// BenchmarkEventStages measures each step a Sentry event takes: on its
// request goroutine, decode (lean and in place, into memory the request
// scratch reuses, beside the full decode a read does), convert and group
// (with a reused Grouper); on the committer, compress (storage's
// CompressEvent, with the dictionary it makes of the first events, beside
// plain S2 and the zstd it replaced).
func BenchmarkEventStages(b *testing.B) {
	raw := readFlood(b)
	var e envelope.Envelope
	if err := e.Parse(raw, envelope.Limits{}); err != nil {
		b.Fatal(err)
	}
	payload := e.Items[0].Payload
	ev, err := envelope.DecodeEvent(payload, 0)
	if err != nil {
		b.Fatal(err)
	}
	doc := toDoc(new(issues.Doc), ev)
	body := payload // what is compressed and stored
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true))
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		var d envelope.Decoder
		for b.Loop() {
			_, _ = d.DecodeLeanInPlace(payload, 0)
		}
	})
	b.Run("decode-full", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			_, _ = envelope.DecodeEvent(payload, 0)
		}
	})
	b.Run("doc", func(b *testing.B) {
		b.ReportAllocs()
		var d issues.Doc
		for b.Loop() {
			_ = toDoc(&d, ev)
		}
	})
	b.Run("group", func(b *testing.B) {
		b.ReportAllocs()
		var g grouping.Grouper
		for b.Loop() {
			_ = g.Group(doc.Grouping())
		}
	})
	b.Run("compress", func(b *testing.B) {
		db := storagetest.OpenTemp(b)
		var dst []byte
		// Past the first dictionary's sample. It is made of this very event,
		// so the size is a best case; the time is not far from real events'.
		for range 2 * s2.MaxDictSize / len(body) {
			dst = db.CompressEvent(dst[:0], body)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			dst = db.CompressEvent(dst[:0], body)
		}
		b.ReportMetric(float64(len(dst)), "B/value") // padded to the value threshold
	})
	b.Run("compress-s2", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		dst := make([]byte, s2.MaxEncodedLen(len(body)))
		var out []byte
		for b.Loop() {
			out = s2.Encode(dst, body)
		}
		b.ReportMetric(float64(len(out)), "B/compressed")
	})
	b.Run("compress-zstd", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var dst []byte
		for b.Loop() {
			dst = enc.EncodeAll(body, dst[:0])
		}
		b.ReportMetric(float64(len(dst)), "B/compressed")
	})
}
