package wsmiddleware_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// errRedeemer answers every redeem with err.
type errRedeemer struct{ err error }

func (r errRedeemer) Redeem(context.Context, verifier.Request) (*verifier.Result, error) {
	return nil, r.err
}

// A limiter's refusal is 429 with Retry-After, never 503: from the
// limiter's delay rounded up to whole seconds, or 1 s when it gave none.
// On the first-message transport it closes with 1013.
func TestLimitedIs429(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err   error
		after string
	}{
		{&verifier.LimitedError{RetryAfter: 3 * time.Second}, "3"},
		{&verifier.LimitedError{RetryAfter: 1500 * time.Millisecond}, "2"},
		{fmt.Errorf("clientlib: %w", &verifier.LimitedError{RetryAfter: 10 * time.Second}), "10"},
		{&verifier.LimitedError{}, "1"},
		{verifier.ErrLimited, "1"},
	}
	for _, tt := range tests {
		var rj rejections
		h := require(t, errRedeemer{tt.err}, &wsmiddleware.Options{OnReject: rj.record})(http.NotFoundHandler())
		tk := ticket.New()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ws?ticket="+tk, nil))
		checkErrorResponse(t, rec, http.StatusTooManyRequests, "rate_limited", tk)
		if got := rec.Header().Get("Retry-After"); got != tt.after {
			t.Errorf("%v: Retry-After %q, want %q", tt.err, got, tt.after)
		}
		if len(rj.errs) != 1 || wsmiddleware.Reason(rj.errs[0]) != "limited" {
			t.Errorf("%v: OnReject got %v, want one limited", tt.err, rj.errs)
		}
	}

	g := guard(t, errRedeemer{&verifier.LimitedError{RetryAfter: time.Second}}, nil)
	c := newFakeConn(text(authFrame(ticket.New())))
	if _, err := g.FirstMessage(t.Context(), c, httptest.NewRequest(http.MethodGet, "/ws", nil)); err == nil {
		t.Fatal("FirstMessage admitted a limited request")
	}
	if len(c.codes) != 1 || c.codes[0] != wsmiddleware.CloseTryAgainLater {
		t.Errorf("first message limited: closed %v, want [%d]", c.codes, wsmiddleware.CloseTryAgainLater)
	}
}

// Refusals that are the server's fault are logged through the default
// logger even without OnReject, with messages that tell an unreachable
// ticketd from a failing store; the client's own failures are not logged;
// repeats are condensed; no ticket appears in any line.
func TestServerFaultsAreLogged(t *testing.T) {
	t.Parallel()
	tk := ticket.New()
	tests := []struct {
		name   string
		err    error
		status int
		want   string // a substring of the one line, "" for none
	}{
		{"unreachable", fmt.Errorf("clientlib: dial: %w: connection refused", verifier.ErrUnreachable), http.StatusServiceUnavailable, "ticketd unreachable"},
		{"store down", fmt.Errorf("%w: redis: i/o timeout", verifier.ErrUnavailable), http.StatusServiceUnavailable, "ticket store unavailable"},
		{"store slow", fmt.Errorf("%w: %w", verifier.ErrUnavailable, context.DeadlineExceeded), http.StatusServiceUnavailable, "ticket store unavailable"},
		{"client gone", fmt.Errorf("%w: %w", verifier.ErrUnavailable, context.Canceled), http.StatusServiceUnavailable, ""},
		{"rejected", verifier.ErrUnknown, http.StatusUnauthorized, ""},
		{"limited", &verifier.LimitedError{RetryAfter: time.Second}, http.StatusTooManyRequests, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &testlog.Buffer{}
			h := require(t, errRedeemer{tt.err}, &wsmiddleware.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})(http.NotFoundHandler())
			for range 5 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ws?ticket="+tk, nil))
				if rec.Code != tt.status {
					t.Errorf("status %d, want %d", rec.Code, tt.status)
				}
			}
			out := logs.String()
			if strings.Contains(out, tk) {
				t.Errorf("a log line holds the ticket: %s", out)
			}
			lines := strings.Count(out, "\n")
			switch {
			case tt.want == "" && lines != 0:
				t.Errorf("logged a client's failure: %s", out)
			case tt.want != "" && (lines != 1 || !strings.Contains(out, tt.want) || !strings.Contains(out, `"level":"WARN"`)):
				t.Errorf("logged %d lines, want one warning with %q (repeats condensed): %s", lines, tt.want, out)
			}
			if tt.want == "ticket store unavailable" && strings.Contains(out, "ticketd unreachable") ||
				tt.want == "ticketd unreachable" && strings.Contains(out, "store unavailable") {
				t.Errorf("the two causes are confused: %s", out)
			}
		})
	}

	// The client-facing 503s say which part failed, and nothing internal.
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", verifier.ErrUnreachable), "ticketd unreachable, try again"},
		{fmt.Errorf("%w: redis: i/o timeout", verifier.ErrUnavailable), "ticket store unavailable, try again"},
	} {
		rec := httptest.NewRecorder()
		require(t, errRedeemer{tt.err}, &wsmiddleware.Options{Logger: slog.New(slog.DiscardHandler)})(http.NotFoundHandler()).
			ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ws?ticket="+tk, nil))
		if body := rec.Body.String(); !strings.Contains(body, tt.want) || strings.Contains(body, "redis") {
			t.Errorf("%v: body %s, want %q", tt.err, body, tt.want)
		}
	}
}

// With no Logger set, the Guard logs through slog.Default().
func TestDefaultLoggerIsSlogDefault(t *testing.T) {
	// Not parallel: it replaces the process's default logger.
	logs := &testlog.Buffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(logs, nil)))
	defer slog.SetDefault(old)
	h := require(t, errRedeemer{verifier.ErrUnreachable}, nil)(http.NotFoundHandler())
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ws?ticket="+ticket.New(), nil))
	if !strings.Contains(logs.String(), "ticketd unreachable") {
		t.Errorf("default logger got %q, want the unreachable warning", logs.String())
	}
}
