package ingest

import (
	"bytes"
	"errors"
	"strconv"
)

// errSocketNotFound means the kernel's drop count for the socket is unknown.
var errSocketNotFound = errors.New("ingest: UDP socket not found in /proc/net/udp")

// parseProcNetUDPDrops finds the line of the socket with the given inode in
// the text of /proc/net/udp or /proc/net/udp6 and returns its drops column.
// A line looks like (one line, wrapped here):
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
//	0: 0100007F:1FBD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123456 2 0000000000000000 17
//
// The inode is the 10th whitespace-separated field and drops the 13th, in
// both files (net/ipv4/udp.c udp4_format_sock, net/ipv6/datagram.c
// __ip6_dgram_sock_seq_show).
func parseProcNetUDPDrops(data []byte, inode uint64) (drops uint64, ok bool) {
	const inodeField, dropsField = 9, 12
	want := strconv.AppendUint(nil, inode, 10)
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		fields := bytes.Fields(line)
		if len(fields) <= dropsField || !bytes.Equal(fields[inodeField], want) {
			continue
		}
		d, err := strconv.ParseUint(string(fields[dropsField]), 10, 64)
		if err != nil {
			return 0, false
		}
		return d, true
	}
	return 0, false
}
