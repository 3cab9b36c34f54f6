package wsmiddleware

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// rateLog writes the Guard's warnings about refusals that are the
// server's fault. A failing store fails every upgrade, so repeats are
// condensed: at most one line per message a second, and the next line
// says how many were left out.
type rateLog struct {
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
	left map[string]int
}

func newRateLog(l *slog.Logger) *rateLog {
	return &rateLog{log: l, now: time.Now, last: map[string]time.Time{}, left: map[string]int{}}
}

// Messages of the server-side refusals, one per cause: "ticketd
// unreachable" and "ticket store unavailable" must never be confused.
const (
	msgUnreachable = "wsticket: ticketd unreachable; refusing WebSocket connections until it answers"
	msgUnavailable = "wsticket: ticket store unavailable; refusing WebSocket connections until it answers"
	msgInternal    = "wsticket: redeemer broke its contract; refusing the connection"
)

// serverFault returns the message for err when err is the server's fault,
// or "" when it is the client's (a rejection, a missing ticket, a limit).
func serverFault(err error) string {
	switch {
	case err == nil, errors.Is(err, verifier.ErrRejected), errors.Is(err, verifier.ErrLimited):
		return ""
	case errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		return "" // the client left
	case errors.Is(err, errNoResult):
		return msgInternal
	case errors.Is(err, verifier.ErrUnreachable):
		return msgUnreachable
	case errors.Is(err, verifier.ErrUnavailable):
		return msgUnavailable
	}
	return ""
}

// refused logs err when it is the server's fault. where says what was
// refused ("upgrade", "first_message", "reauth"). err's text names no
// ticket (Redeemers never put one in an error).
func (l *rateLog) refused(where string, err error) {
	msg := serverFault(err)
	if msg == "" {
		return
	}
	now := l.now()
	l.mu.Lock()
	if now.Sub(l.last[msg]) < time.Second {
		l.left[msg]++
		l.mu.Unlock()
		return
	}
	l.last[msg] = now
	left := l.left[msg]
	l.left[msg] = 0
	l.mu.Unlock()
	l.log.Warn(msg, "refused", where, "reason", Reason(err), "error", err.Error(), "repeats_not_logged", left)
}
