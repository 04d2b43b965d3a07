//go:build !linux

package ingest

import (
	"net"
	"syscall"
)

// setReadBuffer asks for a receive buffer of want bytes on c. Outside Linux
// the granted size is not read back; got is 0.
func setReadBuffer(c *net.UDPConn, want int) (got int, err error) {
	return 0, c.SetReadBuffer(want)
}

// socketInode is only available on Linux, where /proc/net/udp exists.
func socketInode(c syscall.Conn) (uint64, error) { return 0, errSocketNotFound }

// udpDrops is only available on Linux.
func udpDrops(inode uint64) (uint64, error) { return 0, errSocketNotFound }
