package wsmiddleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// fakeConn is an in-memory wsmiddleware.Conn: Read returns the scripted
// message, or blocks until Close or ctx ends.
type fakeConn struct {
	msg      *fakeMessage // nil: the client stays silent
	writeErr error

	mu       sync.Mutex
	limit    int64
	written  []string
	codes    []int
	reasons  []string
	closed   chan struct{}
	closeOne sync.Once
}

type fakeMessage struct {
	text bool
	data string
	err  error
}

func newFakeConn(msg *fakeMessage) *fakeConn {
	return &fakeConn{msg: msg, closed: make(chan struct{})}
}

func (c *fakeConn) Read(ctx context.Context, limit int64) (bool, []byte, error) {
	c.mu.Lock()
	c.limit = limit
	c.mu.Unlock()
	if c.msg != nil {
		return c.msg.text, []byte(c.msg.data), c.msg.err
	}
	select {
	case <-c.closed:
		return false, nil, errors.New("fake: connection closed")
	case <-ctx.Done():
		return false, nil, ctx.Err()
	}
}

func (c *fakeConn) WriteText(_ context.Context, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writeErr != nil {
		return c.writeErr
	}
	c.written = append(c.written, string(data))
	return nil
}

func (c *fakeConn) Close(code int, reason string) error {
	c.mu.Lock()
	c.codes = append(c.codes, code)
	c.reasons = append(c.reasons, reason)
	c.mu.Unlock()
	c.closeOne.Do(func() { close(c.closed) })
	return nil
}

func text(data string) *fakeMessage { return &fakeMessage{text: true, data: data} }

func TestFirstMessageFrames(t *testing.T) {
	t.Parallel()
	const bad = wsmiddleware.CloseTicketRejected
	pad := func(n int) string { // a valid frame padded with spaces to n bytes
		frame := `{"type":"auth","ticket":"{T}"}`
		ticketLen := ticket.RoutedLen
		return frame + strings.Repeat(" ", n-(len(frame)-len("{T}")+ticketLen))
	}
	tests := []struct {
		name string
		msg  *fakeMessage // {T} is the ticket
		want error        // nil: admitted
	}{
		{"valid", text(`{"type":"auth","ticket":"{T}"}`), nil},
		{"members reversed, whitespace", text(" \n{ \"ticket\" : \"{T}\",\t\"type\":\"auth\" }\r\n"), nil},
		{"escaped characters", text(`{"type":"\u0061uth","ticket":"{T}"}`), nil},
		{"exactly 4 KiB", text(pad(4096)), nil},
		{"over 4 KiB", text(pad(4097)), wsmiddleware.ErrBadAuthFrame},
		{"binary", &fakeMessage{data: `{"type":"auth","ticket":"{T}"}`}, wsmiddleware.ErrBadAuthFrame},
		{"empty", text(""), wsmiddleware.ErrBadAuthFrame},
		{"not JSON", text("{T}"), wsmiddleware.ErrBadAuthFrame},
		{"null", text("null"), wsmiddleware.ErrBadAuthFrame},
		{"array", text(`["auth","{T}"]`), wsmiddleware.ErrBadAuthFrame},
		{"string", text(`"{T}"`), wsmiddleware.ErrBadAuthFrame},
		{"other type", text(`{"type":"hello","ticket":"{T}"}`), wsmiddleware.ErrBadAuthFrame},
		{"type in upper case", text(`{"type":"AUTH","ticket":"{T}"}`), wsmiddleware.ErrBadAuthFrame},
		{"member name in upper case", text(`{"Type":"auth","ticket":"{T}"}`), wsmiddleware.ErrBadAuthFrame},
		{"no type", text(`{"ticket":"{T}"}`), wsmiddleware.ErrBadAuthFrame},
		{"no ticket", text(`{"type":"auth"}`), wsmiddleware.ErrBadAuthFrame},
		{"empty ticket", text(`{"type":"auth","ticket":""}`), wsmiddleware.ErrBadAuthFrame},
		{"null ticket", text(`{"type":"auth","ticket":null}`), wsmiddleware.ErrBadAuthFrame},
		{"ticket not a string", text(`{"type":"auth","ticket":["{T}"]}`), wsmiddleware.ErrBadAuthFrame},
		{"ticket an object", text(`{"type":"auth","ticket":{"t":"{T}"}}`), wsmiddleware.ErrBadAuthFrame},
		{"extra member", text(`{"type":"auth","ticket":"{T}","user":"root"}`), wsmiddleware.ErrBadAuthFrame},
		{"ticket twice", text(`{"type":"auth","ticket":"wst_other","ticket":"{T}"}`), wsmiddleware.ErrBadAuthFrame},
		{"type twice", text(`{"type":"auth","type":"auth","ticket":"{T}"}`), wsmiddleware.ErrBadAuthFrame},
		{"trailing object", text(`{"type":"auth","ticket":"{T}"}{}`), wsmiddleware.ErrBadAuthFrame},
		{"trailing garbage", text(`{"type":"auth","ticket":"{T}"} x`), wsmiddleware.ErrBadAuthFrame},
		{"trailing comma", text(`{"type":"auth","ticket":"{T}",}`), wsmiddleware.ErrBadAuthFrame},
		{"unterminated", text(`{"type":"auth","ticket":"{T}"`), wsmiddleware.ErrBadAuthFrame},
		{"invalid UTF-8", text("{\"type\":\"auth\",\"ticket\":\"{T}\xff\"}"), wsmiddleware.ErrBadAuthFrame},
		{"malformed ticket", text(`{"type":"auth","ticket":"wst_short"}`), verifier.ErrMalformed},
		{"unknown ticket", text(`{"type":"auth","ticket":"wst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`), verifier.ErrUnknown},
		{"read error", &fakeMessage{err: errors.New("fake: peer went away")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			m := issuer.MintRequest{ClientIP: testIP, Audience: "chat"}
			tk := f.mint(t, m)
			msg := *tt.msg
			msg.data = strings.ReplaceAll(msg.data, "{T}", tk)
			c := newFakeConn(&msg)
			var rj rejections
			g := guard(t, f.svc, &wsmiddleware.Options{Audience: "chat", OnReject: rj.record})
			r := httptest.NewRequest(http.MethodGet, "/ws", nil)

			s, err := g.FirstMessage(t.Context(), c, r)
			res := resultOf(s)
			if c.limit != 4096 {
				t.Errorf("Read limit = %d, want 4096", c.limit)
			}
			want := tt.want
			if msg.err != nil {
				want = msg.err
			}
			if want == nil {
				if err != nil || res == nil || res.UserID != "alice" {
					t.Fatalf("FirstMessage = %+v, %v", res, err)
				}
				if len(c.written) != 1 || c.written[0] != `{"type":"auth_ok"}` || len(c.codes) != 0 {
					t.Errorf("wrote %q, closed %v; want auth_ok and open", c.written, c.codes)
				}
				if len(rj.errs) != 0 {
					t.Errorf("OnReject called on success: %v", rj.errs)
				}
				return
			}
			if res != nil || !errors.Is(err, want) {
				t.Fatalf("FirstMessage = %+v, %v; want %v", res, err, want)
			}
			if strings.Contains(err.Error(), tk) {
				t.Errorf("error contains the ticket: %v", err)
			}
			if len(c.written) != 0 || len(c.codes) != 1 || c.codes[0] != bad || c.reasons[0] != "ticket rejected" {
				t.Errorf("wrote %q, closed %v %q; want close %d", c.written, c.codes, c.reasons, bad)
			}
			if len(rj.errs) != 1 || rj.errs[0] != err {
				t.Errorf("OnReject got %v, want %v once", rj.errs, err)
			}
			// A bad frame redeems nothing.
			if errors.Is(err, wsmiddleware.ErrBadAuthFrame) {
				if _, err := f.svc.Redeem(t.Context(), correct(tk, m)); err != nil {
					t.Errorf("ticket should still be live: %v", err)
				}
			}
		})
	}
}

// nilResultRedeemer returns neither a result nor an error.
type nilResultRedeemer struct{}

func (nilResultRedeemer) Redeem(context.Context, verifier.Request) (*verifier.Result, error) {
	return nil, nil
}

func TestFirstMessageFailures(t *testing.T) {
	t.Parallel()
	frame := func(tk string) *fakeMessage { return text(`{"type":"auth","ticket":"` + tk + `"}`) }
	tests := []struct {
		name      string
		v         func(f *fixture) wsmiddleware.Redeemer
		opts      wsmiddleware.Options
		mint      issuer.MintRequest
		origin    string
		silent    bool // the client sends nothing
		cancel    bool // the caller's context ends while waiting
		writeErr  error
		want      error
		wantCode  int
		burned    bool
		minWait   time.Duration
		wantAdmit bool
	}{
		{
			name: "store down", v: func(*fixture) wsmiddleware.Redeemer { return failingRedeemer{} },
			want: verifier.ErrUnavailable, wantCode: wsmiddleware.CloseTryAgainLater,
		},
		{
			name: "redeemer returns nothing", v: func(*fixture) wsmiddleware.Redeemer { return nilResultRedeemer{} },
			want: verifier.ErrUnavailable, wantCode: wsmiddleware.CloseTryAgainLater,
		},
		{
			name: "silence", silent: true, opts: wsmiddleware.Options{AuthTimeout: 50 * time.Millisecond},
			want: wsmiddleware.ErrAuthTimeout, wantCode: wsmiddleware.CloseAuthTimeout, minWait: 50 * time.Millisecond,
		},
		{
			name: "caller gone", silent: true, cancel: true,
			want: context.Canceled, wantCode: 1001,
		},
		{
			name: "origin outside allowlist burns the ticket", opts: wsmiddleware.Options{AllowedOrigins: []string{appOrigin}},
			mint: issuer.MintRequest{Origin: otherOrigin}, origin: otherOrigin,
			want: wsmiddleware.ErrOriginNotAllowed, wantCode: wsmiddleware.CloseTicketRejected, burned: true,
		},
		{
			name: "origin differs from the ticket's", mint: issuer.MintRequest{Origin: appOrigin}, origin: otherOrigin,
			want: verifier.ErrOriginMismatch, wantCode: wsmiddleware.CloseTicketRejected, burned: true,
		},
		{
			name: "wrong audience", opts: wsmiddleware.Options{Audience: "admin"},
			want: verifier.ErrAudienceMismatch, wantCode: wsmiddleware.CloseTicketRejected, burned: true,
		},
		{
			name: "ip mismatch", mint: issuer.MintRequest{ClientIP: otherIP},
			want: verifier.ErrIPMismatch, wantCode: wsmiddleware.CloseTicketRejected, burned: true,
		},
		{
			name: "writing auth_ok fails", writeErr: errors.New("fake: broken pipe"),
			wantCode: 1011, burned: true,
		},
		{
			name: "allowed origin", opts: wsmiddleware.Options{AllowedOrigins: []string{appOrigin}},
			mint: issuer.MintRequest{Origin: appOrigin}, origin: appOrigin, wantAdmit: true, burned: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			m := tt.mint
			if !m.ClientIP.IsValid() {
				m.ClientIP = testIP
			}
			tk := f.mint(t, m)
			var v wsmiddleware.Redeemer = f.svc
			if tt.v != nil {
				v = tt.v(f)
			}
			var c *fakeConn
			if tt.silent {
				c = newFakeConn(nil)
			} else {
				c = newFakeConn(frame(tk))
			}
			c.writeErr = tt.writeErr
			r := httptest.NewRequest(http.MethodGet, "/ws", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			ctx := t.Context()
			if tt.cancel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(20*time.Millisecond, cancel)
			}
			var rj rejections
			opts := tt.opts
			opts.OnReject = rj.record
			start := time.Now()

			s, err := guard(t, v, &opts).FirstMessage(ctx, c, r)
			res := resultOf(s)
			elapsed := time.Since(start)
			if tt.wantAdmit {
				if err != nil || res == nil {
					t.Fatalf("FirstMessage = %v, %v", res, err)
				}
			} else {
				if err == nil || res != nil {
					t.Fatalf("FirstMessage = %+v, %v; want an error", res, err)
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
				if len(c.codes) != 1 || c.codes[0] != tt.wantCode {
					t.Errorf("closed with %v, want [%d]", c.codes, tt.wantCode)
				}
				if tt.want != nil && wsmiddleware.Reason(err) != wsmiddleware.Reason(tt.want) {
					t.Errorf("Reason = %q, want %q", wsmiddleware.Reason(err), wsmiddleware.Reason(tt.want))
				}
			}
			if elapsed < tt.minWait || elapsed > tt.minWait+2*time.Second {
				t.Errorf("took %v, want about %v", elapsed, tt.minWait)
			}
			_, rerr := f.svc.Redeem(t.Context(), correct(tk, m))
			if burned := errors.Is(rerr, verifier.ErrUnknown); burned != tt.burned {
				t.Errorf("burned = %v (%v), want %v", burned, rerr, tt.burned)
			}
		})
	}
}

func TestRequireOrigin(t *testing.T) {
	t.Parallel()
	var rj rejections
	opts := &wsmiddleware.Options{AllowedOrigins: []string{appOrigin}, OnReject: rj.record}
	var checked []bool
	h := guard(t, newFixture(t).svc, opts).RequireOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checked = append(checked, wsmiddleware.OriginChecked(r))
		w.WriteHeader(http.StatusNoContent)
	}))
	opts.AllowedOrigins[0] = otherOrigin // New copied the list

	for _, tt := range []struct {
		origin string
		status int
	}{
		{appOrigin, http.StatusNoContent},
		{"", http.StatusNoContent},
		{otherOrigin, http.StatusForbidden},
		{"https://app.example.test.evil.test", http.StatusForbidden},
		{"HTTPS://APP.EXAMPLE.TEST", http.StatusForbidden},
		{"null", http.StatusForbidden},
	} {
		r := httptest.NewRequest(http.MethodGet, "/ws", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if tt.status == http.StatusForbidden {
			checkErrorResponse(t, rec, tt.status, "origin_forbidden", "")
		} else if rec.Code != tt.status {
			t.Errorf("Origin %q: status %d, want %d", tt.origin, rec.Code, tt.status)
		}
	}
	if len(checked) != 2 || !checked[0] || !checked[1] {
		t.Errorf("OriginChecked behind RequireOrigin = %v, want [true true]", checked)
	}
	if len(rj.errs) != 4 {
		t.Errorf("OnReject called %d times, want 4", len(rj.errs))
	}
	for _, err := range rj.errs {
		if !errors.Is(err, wsmiddleware.ErrOriginNotAllowed) {
			t.Errorf("OnReject err = %v", err)
		}
	}

	// Without an allowlist there is nothing to enforce: a wiring bug.
	for _, opts := range []*wsmiddleware.Options{nil, {}} {
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.HasPrefix(msg, "wsmiddleware: ") {
					t.Errorf("RequireOrigin with %+v: recovered %q, want a panic", opts, msg)
				}
			}()
			guard(t, newFixture(t).svc, opts).RequireOrigin(http.NotFoundHandler())
		}()
	}
}

// resultOf is the Result of s, or nil when there is no Session.
func resultOf(s *wsmiddleware.Session) *verifier.Result {
	if s == nil {
		return nil
	}
	s.End()
	return s.Result()
}
