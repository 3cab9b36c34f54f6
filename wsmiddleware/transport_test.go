package wsmiddleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// transportCase is one request carrying tickets in any of the transports.
// In query, protocols and cookies, {T}, {T2} and {C} stand for three
// tickets minted alike (mint); {C} is the one a cookie would carry.
type transportCase struct {
	name      string
	opts      wsmiddleware.Options
	mint      issuer.MintRequest // ClientIP defaults to testIP
	query     string
	protocols []string // Sec-WebSocket-Protocol lines
	cookies   []string // Cookie lines
	origin    string

	// For a refused request:
	status int
	code   string
	want   error // OnReject's err must match it

	// For an admitted one, what the next handler sees.
	wantQuery     string
	wantProtocols []string // nil: no Sec-WebSocket-Protocol
	wantCookies   []string // nil: no Cookie

	burned []string // tickets ({T}, {T2}, {C}) redeemed by the request
	live   []string // tickets left redeemable
}

func TestTransports(t *testing.T) {
	t.Parallel()
	fromApp := issuer.MintRequest{Origin: appOrigin}
	appOnly := wsmiddleware.Options{AllowedOrigins: []string{appOrigin}}
	tests := []transportCase{
		// The subprotocol transport.
		{
			name: "subprotocol", protocols: []string{"wsticket, wsticket.{T}"},
			wantProtocols: []string{"wsticket"}, burned: []string{"{T}"},
		},
		{
			name: "subprotocol with an app protocol", protocols: []string{"chat.v1, wsticket, wsticket.{T}"},
			wantProtocols: []string{"chat.v1, wsticket"}, burned: []string{"{T}"},
		},
		{
			name: "subprotocol over several lines", protocols: []string{"chat.v1", "wsticket.{T}", "wsticket"},
			wantProtocols: []string{"chat.v1, wsticket"}, burned: []string{"{T}"},
		},
		{
			name: "spaces, tabs and empty elements", protocols: []string{" , chat.v1 ,\t wsticket.{T}\t, ,wsticket,, ", ""},
			wantProtocols: []string{"chat.v1, wsticket"}, burned: []string{"{T}"},
		},
		{
			name: "secret entry first, companion on its own line", protocols: []string{"wsticket.{T}", "wsticket"},
			wantProtocols: []string{"wsticket"}, burned: []string{"{T}"},
		},
		{
			name: "upper-case prefix is an app protocol", protocols: []string{"WSTICKET.chat, wsticket, wsticket.{T}"},
			wantProtocols: []string{"WSTICKET.chat, wsticket"}, burned: []string{"{T}"},
		},
		{
			name: "duplicate secret entries", protocols: []string{"wsticket, wsticket.{T}, wsticket.{T2}"},
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrDuplicateTicket, live: []string{"{T}", "{T2}"},
		},
		{
			name: "same secret entry twice, on two lines", protocols: []string{"wsticket, wsticket.{T}", "wsticket.{T}"},
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrDuplicateTicket, live: []string{"{T}"},
		},
		{
			name: "no companion", protocols: []string{"wsticket.{T}"},
			status: 400, code: "bad_request", want: wsmiddleware.ErrNoCompanion, live: []string{"{T}"},
		},
		{
			name: "no companion, app protocol only", protocols: []string{"chat.v1, wsticket.{T}"},
			status: 400, code: "bad_request", want: wsmiddleware.ErrNoCompanion, live: []string{"{T}"},
		},
		{
			name: "companion in upper case", protocols: []string{"WSTICKET, wsticket.{T}"},
			status: 400, code: "bad_request", want: wsmiddleware.ErrNoCompanion, live: []string{"{T}"},
		},
		{
			name: "secret entry with bad characters", protocols: []string{"wsticket, wsticket.{T}=="},
			status: 401, code: "ticket_rejected", want: verifier.ErrMalformed, live: []string{"{T}"},
		},
		{
			name: "secret entry with a space inside", protocols: []string{"wsticket, wsticket.{T} x"},
			status: 401, code: "ticket_rejected", want: verifier.ErrMalformed, live: []string{"{T}"},
		},
		{
			name: "empty secret entry", protocols: []string{"wsticket, wsticket."},
			status: 401, code: "ticket_rejected", want: verifier.ErrMalformed,
		},
		{
			// Browsers compare protocols case sensitively, and so does
			// Require: this is an ordinary protocol, left in place.
			name: "upper-case secret entry is no ticket", protocols: []string{"wsticket, WSTICKET.wst_x"},
			status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket,
		},
		{
			name: "companion alone is no ticket", protocols: []string{"wsticket"},
			status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket,
		},

		// Two explicit transports.
		{
			name: "query and subprotocol", query: "ticket={T}", protocols: []string{"wsticket, wsticket.{T2}"},
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrAmbiguousTransport, live: []string{"{T}", "{T2}"},
		},
		{
			// A no-break space is whitespace to gorilla and coder (TrimSpace),
			// so the entry is a secret entry here too: two transports.
			name: "query and a subprotocol entry behind a no-break space", query: "ticket={T}", protocols: []string{"wsticket, \u00a0wsticket.{T2}"},
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrAmbiguousTransport, live: []string{"{T}", "{T2}"},
		},
		{
			name: "query and subprotocol, same ticket", query: "ticket={T}", protocols: []string{"wsticket, wsticket.{T}"},
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrAmbiguousTransport, live: []string{"{T}"},
		},
		{
			name: "subprotocol checked first", query: "ticket={T}&ticket={T}", protocols: []string{"wsticket.{T2}"},
			status: 400, code: "bad_request", want: wsmiddleware.ErrNoCompanion, live: []string{"{T}", "{T2}"},
		},

		// The cookie transport.
		{
			name: "cookie", mint: fromApp, origin: appOrigin, opts: appOnly,
			cookies: []string{"a=1; wsticket={C}; b=2"}, wantCookies: []string{"a=1; b=2"}, burned: []string{"{C}"},
		},
		{
			name: "cookie without allowlist", mint: fromApp, origin: appOrigin,
			cookies: []string{"wsticket={C}"}, burned: []string{"{C}"},
		},
		{
			name: "quoted cookie", mint: fromApp, origin: appOrigin,
			cookies: []string{`wsticket="{C}"`}, burned: []string{"{C}"},
		},
		{
			name: "cookie on its own line", mint: fromApp, origin: appOrigin,
			cookies: []string{"a=1", "  wsticket={C}  ", "b=2"}, wantCookies: []string{"a=1", "b=2"}, burned: []string{"{C}"},
		},
		{
			// net/http drops such a value; Require refuses it.
			name: "cookie value with a space", mint: fromApp, origin: appOrigin, cookies: []string{"wsticket = {C}"},
			status: 401, code: "ticket_rejected", want: verifier.ErrMalformed, live: []string{"{C}"},
		},
		{
			name: "custom cookie name", mint: fromApp, origin: appOrigin, opts: wsmiddleware.Options{CookieName: "t"},
			cookies: []string{"wsticket=x; t={C}"}, wantCookies: []string{"wsticket=x"}, burned: []string{"{C}"},
		},
		{
			name: "empty cookie is no ticket", mint: fromApp, origin: appOrigin, cookies: []string{"wsticket="},
			status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket,
		},
		{
			name: "duplicate cookies", mint: fromApp, origin: appOrigin, cookies: []string{"wsticket={C}; wsticket={T}"},
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrDuplicateTicket, live: []string{"{C}", "{T}"},
		},
		{
			name: "cookie without Origin burns it", mint: fromApp, cookies: []string{"wsticket={C}"},
			status: 403, code: "origin_forbidden", want: wsmiddleware.ErrNoOrigin, burned: []string{"{C}"},
		},
		{
			// Minted without an Origin, the verifier alone would admit it.
			name: "cookie without Origin, ticket minted without", cookies: []string{"wsticket={C}"},
			status: 403, code: "origin_forbidden", want: wsmiddleware.ErrNoOrigin, burned: []string{"{C}"},
		},
		{
			name: "cookie from a foreign Origin burns it", mint: issuer.MintRequest{Origin: otherOrigin}, origin: otherOrigin,
			opts: appOnly, cookies: []string{"wsticket={C}"},
			status: 403, code: "origin_forbidden", want: wsmiddleware.ErrOriginNotAllowed, burned: []string{"{C}"},
		},
		{
			name: "cookie from another Origin than the ticket's", mint: fromApp, origin: otherOrigin,
			cookies: []string{"wsticket={C}"},
			status:  401, code: "ticket_rejected", want: verifier.ErrOriginMismatch, burned: []string{"{C}"},
		},

		// A leftover cookie next to an explicit ticket.
		{
			name: "query wins over cookie", mint: fromApp, origin: appOrigin, query: "ticket={T}&room=7",
			cookies: []string{"wsticket={C}; a=1"}, wantQuery: "room=7", wantCookies: []string{"a=1"},
			burned: []string{"{T}"}, live: []string{"{C}"},
		},
		{
			name: "subprotocol wins over cookie", mint: fromApp, origin: appOrigin,
			protocols: []string{"wsticket, wsticket.{T}"}, cookies: []string{"wsticket={C}"},
			wantProtocols: []string{"wsticket"}, burned: []string{"{T}"}, live: []string{"{C}"},
		},
		{
			name: "rejected query ticket leaves the cookie", mint: fromApp, origin: appOrigin,
			query: "ticket=wst_bad", cookies: []string{"wsticket={C}"},
			status: 401, code: "ticket_rejected", want: verifier.ErrMalformed, live: []string{"{C}"},
		},
		{
			name: "explicit ticket without Origin ignores the cookie", query: "ticket={T}", cookies: []string{"wsticket={C}"},
			burned: []string{"{T}"}, live: []string{"{C}"},
		},
		{
			name: "empty query parameter falls back to the cookie", mint: fromApp, origin: appOrigin,
			query: "ticket=", cookies: []string{"wsticket={C}"}, burned: []string{"{C}"},
		},
		{
			name: "duplicate query parameter is not rescued by the cookie", mint: fromApp, origin: appOrigin,
			query: "ticket={T}&ticket={T2}", cookies: []string{"wsticket={C}"},
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrDuplicateTicket, live: []string{"{T}", "{T2}", "{C}"},
		},

		// Disabled transports count as absent, and are still stripped.
		{
			name: "query disabled", opts: wsmiddleware.Options{Transports: wsmiddleware.TransportSubprotocol | wsmiddleware.TransportCookie},
			query:  "ticket={T}&room=7",
			status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket, live: []string{"{T}"},
		},
		{
			name: "query disabled, cookie used", mint: fromApp, origin: appOrigin,
			opts:  wsmiddleware.Options{Transports: wsmiddleware.TransportSubprotocol | wsmiddleware.TransportCookie},
			query: "room=7&ticket={T}", cookies: []string{"wsticket={C}"}, wantQuery: "room=7",
			burned: []string{"{C}"}, live: []string{"{T}"},
		},
		{
			name: "subprotocol disabled, query used", opts: wsmiddleware.Options{Transports: wsmiddleware.TransportQuery},
			query: "ticket={T}", protocols: []string{"chat.v1, wsticket.{T2}"}, wantProtocols: []string{"chat.v1"},
			burned: []string{"{T}"}, live: []string{"{T2}"},
		},
		{
			name: "cookie disabled", mint: fromApp, origin: appOrigin,
			opts:    wsmiddleware.Options{Transports: wsmiddleware.TransportQuery | wsmiddleware.TransportSubprotocol},
			cookies: []string{"wsticket={C}"},
			status:  401, code: "ticket_required", want: wsmiddleware.ErrNoTicket, live: []string{"{C}"},
		},
		{
			name: "cookie only", mint: fromApp, origin: appOrigin, opts: wsmiddleware.Options{Transports: wsmiddleware.TransportCookie},
			query: "ticket={T}", protocols: []string{"wsticket, wsticket.{T2}"}, cookies: []string{"wsticket={C}"},
			wantProtocols: []string{"wsticket"}, burned: []string{"{C}"}, live: []string{"{T}", "{T2}"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runTransportCase(t, tt)
		})
	}
}

func runTransportCase(t *testing.T, tt transportCase) {
	f := newFixture(t)
	m := tt.mint
	if !m.ClientIP.IsValid() {
		m.ClientIP = testIP
	}
	tickets := map[string]string{"{T}": f.mint(t, m), "{T2}": f.mint(t, m), "{C}": f.mint(t, m)}
	fill := func(s string) string {
		for k, v := range tickets {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	// noTicket fails the test if s contains any ticket.
	noTicket := func(where, s string) {
		t.Helper()
		for k, v := range tickets {
			if strings.Contains(s, v) {
				t.Errorf("%s contains ticket %s: %q", where, k, s)
			}
		}
	}

	var rj rejections
	var seen []*http.Request
	opts := tt.opts
	opts.OnReject = func(r *http.Request, err error) {
		rj.record(r, err)
		seen = append(seen, r)
	}
	entered := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered++
		seen = append(seen, r)
		if _, ok := wsmiddleware.FromContext(r.Context()); !ok {
			t.Error("next handler without a Result")
		}
		if r.URL.RawQuery != tt.wantQuery {
			t.Errorf("RawQuery = %q, want %q", r.URL.RawQuery, tt.wantQuery)
		}
		if got := r.Header.Values("Sec-WebSocket-Protocol"); !slices.Equal(got, tt.wantProtocols) {
			t.Errorf("Sec-WebSocket-Protocol = %q, want %q", got, tt.wantProtocols)
		}
		if got := r.Header.Values("Cookie"); !slices.Equal(got, tt.wantCookies) {
			t.Errorf("Cookie = %q, want %q", got, tt.wantCookies)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h := require(t, f.svc, &opts)(next)

	target := "/ws"
	if tt.query != "" {
		target += "?" + fill(tt.query)
	}
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, p := range tt.protocols {
		r.Header.Add("Sec-WebSocket-Protocol", fill(p))
	}
	for _, c := range tt.cookies {
		r.Header.Add("Cookie", fill(c))
	}
	if tt.origin != "" {
		r.Header.Set("Origin", tt.origin)
	}
	original := r.Header.Clone()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)

	if tt.status == 0 {
		if rec.Code != http.StatusNoContent || entered != 1 || len(rj.errs) != 0 {
			t.Fatalf("status %d, next entered %d times, OnReject %v; body %s", rec.Code, entered, rj.errs, rec.Body)
		}
	} else {
		checkErrorResponse(t, rec, tt.status, tt.code, tickets["{T}"])
		noTicket("response body", rec.Body.String())
		if entered != 0 || len(rj.errs) != 1 {
			t.Fatalf("next entered %d times, OnReject called %d times", entered, len(rj.errs))
		}
		err := rj.errs[0]
		if !errors.Is(err, tt.want) {
			t.Errorf("OnReject err = %v, want errors.Is %v", err, tt.want)
		}
		if got, want := wsmiddleware.Reason(err), wsmiddleware.Reason(tt.want); got != want {
			t.Errorf("Reason = %q, want %q", got, want)
		}
		noTicket("OnReject's err", err.Error())
	}
	// Whoever saw the request saw no ticket anywhere in it.
	for _, s := range seen {
		noTicket("URL", s.URL.String())
		noTicket("RequestURI", s.RequestURI)
		for k, vs := range s.Header {
			for _, v := range vs {
				noTicket("header "+k, v)
			}
		}
	}
	// The caller's request is left as it was.
	for k, vs := range original {
		if !slices.Equal(r.Header[k], vs) {
			t.Errorf("Require changed the caller's header %s: %q, was %q", k, r.Header[k], vs)
		}
	}

	for _, k := range tt.burned {
		if _, err := f.svc.Redeem(t.Context(), correct(tickets[k], m)); !errors.Is(err, verifier.ErrUnknown) {
			t.Errorf("%s: redeem after the request: %v, want ErrUnknown (burned)", k, err)
		}
	}
	for _, k := range tt.live {
		if _, err := f.svc.Redeem(t.Context(), correct(tickets[k], m)); err != nil {
			t.Errorf("%s should still be live: %v", k, err)
		}
	}
}

func TestSubprotocols(t *testing.T) {
	t.Parallel()
	if got := wsmiddleware.Subprotocols(); !slices.Equal(got, []string{"wsticket"}) {
		t.Errorf("Subprotocols() = %q", got)
	}
	app := make([]string, 2, 8)
	app[0], app[1] = "chat.v2", "chat.v1"
	got := wsmiddleware.Subprotocols(app...)
	if !slices.Equal(got, []string{"chat.v2", "chat.v1", "wsticket"}) {
		t.Errorf("Subprotocols(app...) = %q", got)
	}
	if app[:3][2] != "" {
		t.Error("Subprotocols wrote into the caller's array")
	}
	if wsmiddleware.Subprotocol != "wsticket" {
		t.Errorf("Subprotocol = %q", wsmiddleware.Subprotocol)
	}
}

func TestTransportString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    wsmiddleware.Transport
		want string
	}{
		{0, "none"},
		{wsmiddleware.TransportQuery, "query"},
		{wsmiddleware.AllTransports, "subprotocol|query|cookie"},
		{wsmiddleware.TransportCookie | 0x40, "cookie|0x40"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("%d.String() = %q, want %q", uint8(tt.t), got, tt.want)
		}
	}
}
