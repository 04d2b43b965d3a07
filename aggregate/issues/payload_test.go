package issues

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/telltale-dev/telltale/aggregate/grouping"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// TestPayloadBody round-trips the body of an event stored as its payload
// and refuses every cut or unknown one.
func TestPayloadBody(t *testing.T) {
	meta := PayloadMeta{Timestamp: time.Date(2026, 11, 26, 9, 30, 0, 123456789, time.UTC), ClientIP: "2001:db8::1"}
	payload := []byte(`{"message":"hello"}`)
	body := appendPayloadBody([]byte("scratch"), meta, payload)[len("scratch"):]
	got, gotPayload, err := readPayloadBody(body)
	if err != nil || !got.Timestamp.Equal(meta.Timestamp) || got.ClientIP != meta.ClientIP || string(gotPayload) != string(payload) {
		t.Fatalf("read back %+v %q %v", got, gotPayload, err)
	}
	if _, p, err := readPayloadBody(appendPayloadBody(nil, PayloadMeta{}, nil)); err != nil || len(p) != 0 {
		t.Errorf("an empty meta and payload: %q %v", p, err)
	}
	// Every cut inside the header, and a version from the future.
	header := len(body) - len(payload)
	for n := range header {
		if _, _, err := readPayloadBody(body[:n]); !errors.Is(err, errPayloadBody) {
			t.Errorf("cut to %d bytes: %v, want errPayloadBody", n, err)
		}
	}
	future := append([]byte(nil), body...)
	future[1] = payloadVersion + 1
	if _, _, err := readPayloadBody(future); !errors.Is(err, errPayloadBody) {
		t.Errorf("version %d: %v", future[1], err)
	}
}

// TestPayloadEvents stores events as payloads beside an event stored as a
// document (as the server did before), and reads all of them: payloads
// through Config.DecodePayload, which gets the stored meta, and the
// document as it was. Without a decoder, a payload event is an error that
// says why, not a 404 or an empty event.
func TestPayloadEvents(t *testing.T) {
	db := storagetest.OpenTemp(t)
	var seen []PayloadMeta
	decode := func(payload []byte, meta PayloadMeta) (*Doc, error) {
		seen = append(seen, meta)
		if !strings.HasPrefix(string(payload), "{") {
			return nil, fmt.Errorf("not an event: %q", payload)
		}
		return &Doc{EventID: meta.EventID, Timestamp: meta.Timestamp, Message: string(payload), Platform: "go"}, nil
	}
	tr, err := New(Config{DecodePayload: decode}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	go tr.Run()
	defer tr.Close(context.Background())

	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	doc := &Doc{Timestamp: at, Platform: "go", Level: "error", Message: "as a document"}
	submit(t, tr, 1, doc)
	in := &Incoming{Project: 1, Doc: &Doc{Timestamp: at, Platform: "go", Level: "error", Message: "on arrival"},
		Payload: []byte(`{"message":"as sent"}`), Meta: PayloadMeta{Timestamp: at.Add(time.Second), ClientIP: "10.0.0.1"}}
	in.Group = grouping.Group(in.Doc.Grouping())
	copy(in.EventID[:], "event00000000002")
	if _, err := tr.Submit(context.Background(), in); err != nil {
		t.Fatal(err)
	}

	first, err := tr.Event(1, fmt.Sprintf("%x", "event00000000001"))
	if err != nil || first.Doc.Message != "as a document" {
		t.Fatalf("the document event: %+v %v", first.Doc, err)
	}
	id := fmt.Sprintf("%x", "event00000000002")
	second, err := tr.Event(1, id)
	if err != nil || second.Doc.Message != `{"message":"as sent"}` {
		t.Fatalf("the payload event: %+v %v", second.Doc, err)
	}
	if len(seen) != 1 || seen[0].EventID != id || !seen[0].Timestamp.Equal(at.Add(time.Second)) || seen[0].ClientIP != "10.0.0.1" {
		t.Errorf("the decoder got %+v", seen)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	bare, err := New(Config{}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bare.Event(1, id); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no payload decoder") {
		t.Errorf("a payload event without a decoder: %v", err)
	}
	if e, err := bare.Event(1, fmt.Sprintf("%x", "event00000000001")); err != nil || e.Doc.Message != "as a document" {
		t.Errorf("the document event without a decoder: %+v %v", e.Doc, err)
	}
}
