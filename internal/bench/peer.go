package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// contender is one way to mint and redeem against the bench's Redis:
// wsticket's, through one of its entry points, or a go-redis peer. mint i
// returns what redeem i takes (a ticket, a key); both use user i mod the
// number of users.
type contender struct {
	name   string
	mint   func(ctx context.Context, i int) (string, error)
	redeem func(ctx context.Context, item string, i int) error
	close  func()
}

// peerValue is the peer's record: 48 bytes, about a ticket record's size.
var peerValue = []byte("0123456789abcdef0123456789abcdef0123456789abcdef")

// peerKey is a peer's key for operation i: its prefix, then digits up to
// 48 bytes in all, a ticket key's length (a prefix and a base64url
// SHA-256).
func peerKey(prefix string, i int) string {
	b := make([]byte, 0, 48)
	b = append(b, prefix...)
	digits := strconv.AppendInt(nil, int64(i), 10)
	for range 48 - len(prefix) - len(digits) {
		b = append(b, '0')
	}
	return string(append(b, digits...))
}

// plainPeer is the hand-rolled check the goals compare with: SET with a
// TTL to mint, GETDEL to redeem, on a plain go-redis client with ticketd's
// client settings.
func plainPeer(s *server, addr string) (*contender, error) {
	c, err := s.newClient(addr)
	if err != nil {
		return nil, err
	}
	return peerOn("plain go-redis SET / GETDEL", "plain:", c, c.Close), nil
}

// pipelinedPeer is the same through go-redis's own auto-pipeliner
// (Client.AutoPipeline, the blocking face: each call returns when its
// command has run, and concurrent callers' commands share pipelines).
func pipelinedPeer(s *server, addr string) (*contender, error) {
	c, err := s.newClient(addr)
	if err != nil {
		return nil, err
	}
	ap, err := c.AutoPipeline()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("AutoPipeline: %w", err)
	}
	return peerOn("auto-pipelined go-redis SET / GETDEL", "piped:", ap, func() error { ap.Close(); return c.Close() }), nil
}

// peerOn is a peer on c, its keys under prefix (peers that take turns
// never share a key).
func peerOn(name, prefix string, c redis.Cmdable, closeFn func() error) *contender {
	return &contender{
		name: name,
		mint: func(ctx context.Context, i int) (string, error) {
			k := peerKey(prefix, i)
			return k, c.Set(ctx, k, peerValue, ticketTTL).Err()
		},
		redeem: func(ctx context.Context, k string, _ int) error {
			v, err := c.GetDel(ctx, k).Bytes()
			if errors.Is(err, redis.Nil) || err == nil && len(v) != len(peerValue) {
				return fmt.Errorf("GETDEL %s: the key was not there", k)
			}
			return err
		},
		close: func() { closeFn() },
	}
}
