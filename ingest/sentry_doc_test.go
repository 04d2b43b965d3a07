package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/telltale-dev/telltale/ingest/envelope"
)

// fixtureEvents returns the event payloads of the captured SDK requests.
func fixtureEvents(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "sentry", "*", "*.body"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	var out [][]byte
	var e envelope.Envelope
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		// An envelope has items after its header line; a store body (one
		// JSON object, maybe compressed) has none.
		if e.Parse(body, envelope.Limits{}) == nil && len(e.Items) > 0 {
			for _, it := range e.Items {
				if it.Type == "event" {
					out = append(out, bytes.Clone(it.Payload))
				}
			}
			continue
		}
		if p, err := envelope.StorePayload(body, 0); err == nil && bytes.HasPrefix(bytes.TrimSpace(p), []byte("{")) {
			out = append(out, bytes.Clone(p))
		}
	}
	return out
}
