//go:build !unix

package faultproxy

import (
	"errors"
	"net"
)

// setBacklog is not supported here: Unreachable reports it.
func setBacklog(*net.TCPListener, int) error { return errors.ErrUnsupported }
