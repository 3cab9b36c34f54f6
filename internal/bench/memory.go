package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"runtime"
)

// Memory is measured over this many outstanding tickets (issue 12: at
// least 20,000), minted through ticketd's HTTP API with the limits off.
const (
	memoryTickets = 20_000
	memoryConc    = 64
)

// memoryRow is Redis memory per outstanding ticket (or key) of one way of
// keeping them.
type memoryRow struct {
	name    string
	n       int
	used    float64 // used_memory delta per ticket, bytes
	clients float64 // of which client buffers (mem_clients_normal delta)
}

// perTicket is what a ticket itself costs: used_memory's delta less the
// client buffers', which follow the load, not the tickets.
func (m memoryRow) perTicket() float64 { return m.used - m.clients }

// memory mints memoryTickets through ticketd at one ticket per user and at
// ten per user, and stores as many naive keys, each on an empty server
// whose connections are already open.
func (b *bench) memory(ctx context.Context) ([]memoryRow, error) {
	b.logf("memory per outstanding ticket")
	if len(b.users) < memoryTickets {
		return nil, fmt.Errorf("memory needs %d users, the bench has %d", memoryTickets, len(b.users))
	}
	td, err := startTicketd(ctx, b.sec, b.srv.url(), limitsOff...)
	if err != nil {
		return nil, err
	}
	defer td.Close()
	hc := newHTTPClient(memoryConc)
	defer hc.CloseIdleConnections()
	base := "http://" + td.HTTPAddr()
	var rows []memoryRow
	for _, perUser := range []int{1, 10} {
		users := b.users[:memoryTickets/perUser]
		mint := func(ctx context.Context, i int) error {
			u := users[i%len(users)]
			_, err := mintHTTP(ctx, hc, base, u, appOrigin, u.ip.String(), audience)
			return err
		}
		fill := func(ctx context.Context, n int) error {
			_, err := run(ctx, load{conc: memoryConc, limit: n}, b.retried(mint))
			return err
		}
		row, err := b.memoryOf(ctx, fmt.Sprintf("wsticket via ticketd, %d per user", perUser), fill)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	c, err := b.srv.newClient("")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	row, err := b.memoryOf(ctx, "naive SET, 24-byte key, 48-byte value, TTL", func(ctx context.Context, n int) error {
		pipe := c.Pipeline()
		for i := range n {
			k := make([]byte, 16) // 128 bits, the least a ticket's key may hold
			rand.Read(k)
			pipe.Set(ctx, "t:"+base64.RawURLEncoding.EncodeToString(k), peerValue, ticketTTL)
			if pipe.Len() == 100 || i == n-1 {
				if _, err := pipe.Exec(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(rows, row), nil
}

// memoryOf measures fill(n): first a fill of a tenth opens the
// connections and grows their buffers (which are not the tickets'), then
// the server is emptied and used_memory read around fill(memoryTickets).
func (b *bench) memoryOf(ctx context.Context, name string, fill func(ctx context.Context, n int) error) (memoryRow, error) {
	if err := fill(ctx, memoryTickets/10); err != nil {
		return memoryRow{}, err
	}
	if err := b.srv.flush(ctx); err != nil {
		return memoryRow{}, err
	}
	before, err := b.srv.stats(ctx)
	if err != nil {
		return memoryRow{}, err
	}
	if err := fill(ctx, memoryTickets); err != nil {
		return memoryRow{}, fmt.Errorf("%s: %w", name, err)
	}
	after, err := b.srv.stats(ctx)
	if err != nil {
		return memoryRow{}, err
	}
	w := after.sub(before)
	n := float64(memoryTickets)
	return memoryRow{name: name, n: memoryTickets, used: float64(w.memory) / n, clients: float64(w.clients) / n}, b.srv.flush(ctx)
}

// embeddedMemory is the Go heap per outstanding ticket of ticketd on its
// embedded store (in this process: the live heap after a GC, before and
// after memoryTickets mints through the HTTP API, limits off).
func (b *bench) embeddedMemory(ctx context.Context) (float64, error) {
	td, err := startTicketd(ctx, b.sec, "", limitsOff...)
	if err != nil {
		return 0, err
	}
	defer td.Close()
	hc := newHTTPClient(memoryConc)
	defer hc.CloseIdleConnections()
	base := "http://" + td.HTTPAddr()
	fill := func(n, offset int) error {
		_, err := run(ctx, load{conc: memoryConc, limit: n}, b.retried(func(ctx context.Context, i int) error {
			u := b.users[(i+offset)%len(b.users)]
			_, err := mintHTTP(ctx, hc, base, u, appOrigin, u.ip.String(), audience)
			return err
		}))
		return err
	}
	if err := fill(4*memoryConc, 0); err != nil { // connections and buffers first
		return 0, err
	}
	before := liveHeap()
	if err := fill(memoryTickets, 0); err != nil {
		return 0, err
	}
	return float64(liveHeap()-before) / memoryTickets, nil
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
