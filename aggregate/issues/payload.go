package issues

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// An event stored as its payload has this body (before storage compresses
// it):
//
//	payloadBody  1 byte, 0x00 (a Doc's JSON starts with '{')
//	version      1 byte, 1
//	timestamp    varint, Unix nanoseconds (PayloadMeta.Timestamp)
//	client IP    uvarint length, then the bytes (PayloadMeta.ClientIP)
//	payload      the rest: the event JSON as the SDK sent it
const (
	payloadBody    = 0x00
	payloadVersion = 1
)

// errPayloadBody reports a payload body that cannot be read.
var errPayloadBody = errors.New("issues: bad payload body")

// appendPayloadBody appends the stored body of an event kept as its
// payload to dst.
func appendPayloadBody(dst []byte, meta PayloadMeta, payload []byte) []byte {
	dst = append(dst, payloadBody, payloadVersion)
	dst = binary.AppendVarint(dst, meta.Timestamp.UnixNano())
	dst = binary.AppendUvarint(dst, uint64(len(meta.ClientIP)))
	dst = append(dst, meta.ClientIP...)
	return append(dst, payload...)
}

// readPayloadBody splits a body written by appendPayloadBody. The payload
// is a sub-slice of b.
func readPayloadBody(b []byte) (PayloadMeta, []byte, error) {
	var meta PayloadMeta
	if len(b) < 2 || b[0] != payloadBody {
		return meta, nil, fmt.Errorf("%w: no payload header", errPayloadBody)
	}
	if b[1] != payloadVersion {
		return meta, nil, fmt.Errorf("%w: version %d, this build reads %d", errPayloadBody, b[1], payloadVersion)
	}
	b = b[2:]
	ns, n := binary.Varint(b)
	if n <= 0 {
		return meta, nil, fmt.Errorf("%w: cut timestamp", errPayloadBody)
	}
	b = b[n:]
	ipLen, n := binary.Uvarint(b)
	if n <= 0 || ipLen > uint64(len(b)-n) {
		return meta, nil, fmt.Errorf("%w: cut client IP", errPayloadBody)
	}
	b = b[n:]
	meta.Timestamp = time.Unix(0, ns).UTC()
	meta.ClientIP = string(b[:ipLen])
	return meta, b[ipLen:], nil
}
