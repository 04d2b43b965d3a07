// Package envelope parses what Sentry SDKs send: envelopes (POST
// /api/{project}/envelope/), legacy store bodies (POST /api/{project}/store/),
// error event JSON, X-Sentry-Auth headers and DSNs. It is a pure parser: it
// imports only the standard library and does no I/O.
//
// The formats are specified in Sentry's developer documentation:
// envelopes at https://develop.sentry.dev/sdk/foundations/data-model/envelopes/,
// item types at https://develop.sentry.dev/sdk/foundations/data-model/envelope-items/,
// events at https://develop.sentry.dev/sdk/foundations/data-model/event-payloads/
// and authentication at https://develop.sentry.dev/sdk/foundations/transport/authentication/.
// Where the documents leave room, the parser follows Relay (getsentry/relay)
// and what sentry-go 0.50, @sentry/node 11 and sentry-python 1.9 put on the
// wire (captures in ingest/testdata/sentry). Each function documents where it
// is more lenient than Relay.
//
// A request flows through the package in three steps:
//
//  1. Envelope.Parse frames the (already decompressed) body in place: it
//     reads the header line and each item's header and payload, enforcing
//     Limits. Payloads are sub-slices of the body, valid until the next Parse;
//     nothing is copied. StorePayload does the same job for a store body.
//  2. The caller skips the items it does not keep (everything but "event",
//     see Item.Type) after counting them.
//  3. DecodeEvent decodes an event payload once, normalising the
//     protocol's polymorphic fields (exception as {"values": [...]} or a
//     bare array, message as a string or an object, timestamps as strings
//     or numbers, tags as an object or pairs, ...) into an Event that owns
//     its memory. A Decoder does the same but leaves out what grouping
//     does not read (breadcrumbs, request, contexts, extra, source
//     context), for a caller that keeps the raw payload to decode in full
//     later: it takes its strings from the payload and decodes into
//     memory it reuses from one event to the next, allocating nothing once
//     it has grown.
//
// Every error wraps one of ErrMalformed (answer 400), ErrTooLarge (413),
// ErrTooManyItems (413), ErrTooDeep (400), ErrInvalidAuth (401) or
// ErrInvalidDSN; Reason gives a short label for a rejection counter.
//
// Envelope.Parse allocates nothing for the framing once its Envelope has
// grown, beyond strings that differ from the previous envelope's (in
// practice the event id, one 32-byte string). The header lines are read by a
// small validating JSON scanner instead of encoding/json for that reason.
// DecodeEvent walks the event with the same scanner (which also bounds the
// nesting), skips unknown fields without decoding them, and decodes the
// fields it keeps in place into concrete structs (no map[string]any), with
// strings sliced from one copy of the payload.
// The benchmarks measure both:
//
//	go test -run='^$' -bench=. -benchmem -count=6 ./ingest/envelope/ > bench.txt
//	benchstat bench.txt
package envelope
