package envelope

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"io"
)

// StorePayload returns the event JSON of a legacy store request body
// (POST /api/{project}/store/), after the caller has undone any
// Content-Encoding. It follows Relay's store endpoint (decode_bytes in
// relay-server/src/endpoints/store.rs):
//   - a body whose first non-space byte is '{' is JSON and is returned as is
//     (no copy);
//   - anything else is base64 (standard alphabet, padding optional, line
//     breaks ignored) of either JSON or zlib-compressed JSON, as old
//     Raven clients sent.
//
// max (DefaultMaxEventSize when <= 0) bounds the result: a larger JSON body,
// or an inflated body that would exceed it, is ErrTooLarge. Inflation stops
// after max+1 bytes, so a zip bomb costs at most that much memory. Other
// failures are ErrMalformed ("empty", "bad_store_body"). The JSON itself is
// not validated here; DecodeEvent does that.
func StorePayload(body []byte, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxEventSize
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, newError(ErrMalformed, reasonEmpty, "empty store body")
	}
	if trimmed[0] == '{' {
		if len(body) > max {
			return nil, tooLargeStore(len(body), max)
		}
		return body, nil
	}
	trimmed = bytes.TrimRight(trimmed, " \t\r\n")
	// Inflating never yields fewer bytes than its input minus a few bytes of
	// framing, and base64 text is 4/3 of its data plus line breaks: a text
	// over twice max (plus slack) cannot end as max bytes or less, so refuse
	// it before decoding.
	if len(trimmed) > 2*max+4096 {
		return nil, tooLargeStore(len(trimmed), max)
	}
	bin := make([]byte, base64.RawStdEncoding.DecodedLen(len(trimmed))) // the larger of the two
	n, err := base64.StdEncoding.Decode(bin, trimmed)
	if err != nil && bytes.IndexByte(trimmed, '=') < 0 {
		n, err = base64.RawStdEncoding.Decode(bin, trimmed)
	}
	if err != nil {
		return nil, newError(ErrMalformed, reasonBadStoreBody, "store body is neither JSON nor base64: "+err.Error())
	}
	bin = bin[:n]
	if b := bytes.TrimLeft(bin, " \t\r\n"); len(b) > 0 && b[0] == '{' {
		if len(bin) > max {
			return nil, tooLargeStore(len(bin), max)
		}
		return bin, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(bin))
	if err != nil {
		return nil, newError(ErrMalformed, reasonBadStoreBody, "store body is not zlib: "+err.Error())
	}
	defer zr.Close()
	var out bytes.Buffer
	out.Grow(min(max+1, 4*len(bin)+512))
	m, err := out.ReadFrom(io.LimitReader(zr, int64(max)+1))
	if err != nil {
		return nil, newError(ErrMalformed, reasonBadStoreBody, "store body: bad zlib data: "+err.Error())
	}
	if m > int64(max) {
		return nil, tooLargeStore(int(m), max)
	}
	return out.Bytes(), nil
}

func tooLargeStore(n, max int) error {
	return newError(ErrTooLarge, reasonEventTooLarge, "store event of at least "+itoa(n)+" bytes exceeds "+itoa(max))
}
