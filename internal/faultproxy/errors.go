package faultproxy

import "errors"

// ErrClosed is returned by controls called on a closed Proxy.
var ErrClosed = errors.New("faultproxy: proxy closed")
