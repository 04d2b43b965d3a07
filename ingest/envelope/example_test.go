package envelope_test

import (
	"fmt"

	"github.com/telltale-dev/telltale/ingest/envelope"
)

// Example shows the ingest flow: authenticate, frame the envelope, keep the
// event item and decode it.
func Example() {
	auth, err := envelope.ParseAuthHeader("Sentry sentry_version=7, sentry_client=sentry.go/0.50.0, sentry_key=abc123def456")
	if err != nil {
		fmt.Println(envelope.Reason(err))
		return
	}
	body := []byte(`{"event_id":"9ec79c33-ec99-42ab-8353-589fcb2e04dc","dsn":"http://abc123def456@127.0.0.1:9777/42"}
{"type":"event","length":113}
{"exception":[{"type":"*fs.PathError","value":"open x: no such file"}],"level":"error","timestamp":1795652703.86}
{"type":"client_report"}
{"discarded_events":[]}
`)
	var env envelope.Envelope // reuse one per goroutine
	if err := env.Parse(body, envelope.Limits{}); err != nil {
		fmt.Println(envelope.Reason(err)) // count it; answer 400 or 413
		return
	}
	dsn, _ := envelope.ParseDSN(env.Header.DSN)
	fmt.Println(auth.Key == dsn.Key, dsn.ProjectID, env.Header.EventID)
	for _, it := range env.Items {
		if it.Type != "event" {
			fmt.Println("skip", it.Type)
			continue
		}
		ev, err := envelope.DecodeEvent(it.Payload, 0)
		if err != nil {
			fmt.Println(envelope.Reason(err))
			continue
		}
		fmt.Println(ev.Level, ev.Exceptions[0].Type, ev.Timestamp)
	}
	// Output:
	// true 42 9ec79c33ec9942ab8353589fcb2e04dc
	// error *fs.PathError 2026-11-26 00:25:03.86 +0000 UTC
	// skip client_report
}
