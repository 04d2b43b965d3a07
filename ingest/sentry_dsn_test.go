package ingest

import (
	"testing"
	"unsafe"
)

// TestScratchDSN checks the scratch's cache of the last envelope dsn: a
// repeated dsn gives the same result, another dsn is parsed afresh, an
// invalid one is refused every time, and the cached result survives the
// reuse of the request body the dsn was read from.
func TestScratchDSN(t *testing.T) {
	var sc reqScratch
	body := []byte("https://abc@o1.ingest.example/42")
	text := unsafe.String(&body[0], len(body)) // as the envelope parser reads it, in place
	d, err := sc.parseDSN(text)
	if err != nil || d.Key != "abc" || d.ProjectID != "42" {
		t.Fatalf("parseDSN = %+v, %v", d, err)
	}
	for i := range body {
		body[i] = '#' // the body is reused for the next request
	}
	if sc.dsnText != "https://abc@o1.ingest.example/42" || sc.dsn.Key != "abc" {
		t.Fatalf("the cached dsn changed with the body: %q, %+v", sc.dsnText, sc.dsn)
	}
	body = []byte("https://abc@o1.ingest.example/42")
	d, err = sc.parseDSN(string(body))
	if err != nil || d.Key != "abc" || d.ProjectID != "42" || d.Host != "o1.ingest.example" {
		t.Fatalf("parseDSN after the body's reuse = %+v, %v", d, err)
	}
	if d, err = sc.parseDSN("https://def@o1.ingest.example/7"); err != nil || d.Key != "def" || d.ProjectID != "7" {
		t.Fatalf("another dsn = %+v, %v", d, err)
	}
	for range 2 {
		if _, err := sc.parseDSN("https://o1.ingest.example/7"); err == nil {
			t.Fatal("a dsn without a key is accepted")
		}
	}
	if d, err = sc.parseDSN("https://def@o1.ingest.example/7"); err != nil || d.Key != "def" {
		t.Fatalf("the last valid dsn again = %+v, %v", d, err)
	}
}
