package ingest

import (
	"net"
	"os"
	"syscall"
)

// setReadBuffer asks for a receive buffer of want bytes on c and returns
// what the kernel granted, as SO_RCVBUF reports it. The kernel doubles the
// value asked (for its bookkeeping) and caps the request at
// net.core.rmem_max; when that cap bites, SO_RCVBUFFORCE (which needs
// CAP_NET_ADMIN) is tried. got < want means the buffer is smaller than asked.
func setReadBuffer(c *net.UDPConn, want int) (got int, err error) {
	if err := c.SetReadBuffer(want); err != nil {
		return 0, err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var opErr error
	err = rc.Control(func(fd uintptr) {
		got, opErr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if opErr != nil || got >= want {
			return
		}
		// Without privileges this fails with EPERM; the caller logs the
		// smaller size.
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, want) == nil {
			got, opErr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		}
	})
	if err == nil {
		err = opErr
	}
	return got, err
}

// socketInode returns the inode of c's socket, the key of its line in
// /proc/net/udp.
func socketInode(c syscall.Conn) (uint64, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var st syscall.Stat_t
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = syscall.Fstat(int(fd), &st) }); err != nil {
		return 0, err
	}
	if opErr != nil {
		return 0, opErr
	}
	return st.Ino, nil
}

// udpDrops returns the drops column of the socket with the given inode in
// /proc/net/udp or /proc/net/udp6 (the current process's network namespace).
func udpDrops(inode uint64) (uint64, error) {
	for _, name := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if d, ok := parseProcNetUDPDrops(data, inode); ok {
			return d, nil
		}
	}
	return 0, errSocketNotFound
}
