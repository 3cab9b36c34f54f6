//go:build unix

package faultproxy

import (
	"net"
	"syscall"
)

// setBacklog changes the listen backlog of a listening socket: listen(2)
// on a socket that already listens only updates its backlog.
func setBacklog(ln *net.TCPListener, n int) error {
	rc, err := ln.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), n) }); err != nil {
		return err
	}
	return lerr
}
