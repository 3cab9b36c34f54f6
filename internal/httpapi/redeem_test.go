package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestRedeemSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	before := time.Now().Add(-time.Second)
	tk := e.mint(t, "alice", appOrigin, audience)
	r := e.redeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Origin: appOrigin, Audience: audience})
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	// The login JWT has an exp and no sid: session_expires_at, no session_id.
	for _, f := range []string{"user_id", "audience", "claims", "issued_at", "expires_at", "fingerprint", "session_expires_at"} {
		if raw[f] == nil {
			t.Errorf("body %s has no %q", r.body, f)
		}
	}
	if len(raw) != 7 {
		t.Errorf("body %s: want exactly user_id, audience, claims, issued_at, expires_at, fingerprint, session_expires_at", r.body)
	}
	// claims is an object, never null, even when the ticket has none.
	if !bytes.Equal(raw["claims"], []byte("{}")) {
		t.Errorf("claims %s, want {}", raw["claims"])
	}
	var res redeemResponse
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	if res.UserID != "alice" || res.Audience != audience {
		t.Errorf("user %q audience %q, want alice chat", res.UserID, res.Audience)
	}
	if res.IssuedAt.Before(before) || res.IssuedAt.After(time.Now()) {
		t.Errorf("issued_at %v is not now", res.IssuedAt)
	}
	if got := res.ExpiresAt.Sub(res.IssuedAt); got != 30*time.Second {
		t.Errorf("expires_at - issued_at = %v, want 30s", got)
	}
}

func TestRedeemReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.mint(t, "alice", "", audience)
	req := redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}
	e.mustRedeem(t, req, "alice")
	for range 3 {
		wantError(t, e.redeem(t, req), http.StatusUnauthorized, "ticket_rejected")
	}
}

// A caller without a valid service key is refused before the ticket is
// looked at: the ticket still redeems afterwards.
func TestRedeemNeedsServiceKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		header map[string]string
	}{
		{"no Authorization", nil},
		{"wrong key", bearer("svc-wrong-key-0123456789abcdef")},
		{"key prefix", bearer(serviceKey[:len(serviceKey)-1])},
		{"key with a suffix", bearer(serviceKey + "x")},
		{"login JWT", bearer(loginJWT(t, "alice"))},
		{"Basic scheme", map[string]string{"Authorization": "Basic " + serviceKey}},
		{"no scheme", map[string]string{"Authorization": serviceKey}},
		{"empty Bearer", map[string]string{"Authorization": "Bearer "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := e.mint(t, "alice", "", audience)
			body := jsonBody(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience})
			r := e.do(t, http.MethodPost, "/v1/tickets/redeem", tt.header, body)
			wantError(t, r, http.StatusUnauthorized, "unauthenticated")
			e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}, "alice")
		})
	}
}

// Every rejection reason answers with the same status, headers and bytes,
// so the API is no oracle; only the audit log tells them apart.
func TestRedeemRejectionsAreUniform(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		reason string // audit label: proves the case hits the reason it names
		req    func(t *testing.T) redeemRequest
	}{
		{"unknown", func(t *testing.T) redeemRequest {
			return redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: loopbackIP, Audience: audience}
		}},
		{"unknown", func(t *testing.T) redeemRequest { // already redeemed
			req := redeemRequest{Ticket: e.mint(t, "alice", "", audience), ClientIP: loopbackIP, Audience: audience}
			e.mustRedeem(t, req, "alice")
			return req
		}},
		{"unknown", func(t *testing.T) redeemRequest { // revoked
			req := redeemRequest{Ticket: e.mint(t, "revoked-user", "", audience), ClientIP: loopbackIP, Audience: audience}
			if r := e.do(t, http.MethodPost, "/v1/users/revoked-user/tickets/revoke", bearer(serviceKey), ""); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			return req
		}},
		{"malformed", func(t *testing.T) redeemRequest {
			return redeemRequest{Ticket: "not-a-ticket", ClientIP: loopbackIP, Audience: audience}
		}},
		{"malformed", func(t *testing.T) redeemRequest {
			return redeemRequest{Ticket: "", ClientIP: loopbackIP, Audience: audience}
		}},
		{"malformed", func(t *testing.T) redeemRequest { // one character short
			tk := e.mint(t, "alice", "", audience)
			return redeemRequest{Ticket: tk[:len(tk)-1], ClientIP: loopbackIP, Audience: audience}
		}},
		{"expired", func(t *testing.T) redeemRequest {
			req := redeemRequest{Ticket: e.mint(t, "alice", "", audience), ClientIP: loopbackIP, Audience: audience}
			e.clock.Advance(time.Minute)
			t.Cleanup(func() { e.clock.Advance(-time.Minute) })
			return req
		}},
		{"ip_mismatch", func(t *testing.T) redeemRequest {
			return redeemRequest{Ticket: e.mint(t, "alice", "", audience), ClientIP: otherIP, Audience: audience}
		}},
		{"ip_mismatch", func(t *testing.T) redeemRequest { // no client_ip at all
			return redeemRequest{Ticket: e.mint(t, "alice", "", audience), Audience: audience}
		}},
		{"origin_mismatch", func(t *testing.T) redeemRequest {
			return redeemRequest{Ticket: e.mint(t, "alice", appOrigin, audience), ClientIP: loopbackIP, Origin: evilOrigin, Audience: audience}
		}},
		{"audience_mismatch", func(t *testing.T) redeemRequest {
			return redeemRequest{Ticket: e.mint(t, "alice", "", audience), ClientIP: loopbackIP, Audience: "admin"}
		}},
	}
	var first *reply
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			// Not parallel: each case reads the audit log's last refusal,
			// and "expired" moves the shared clock.
			r := e.redeem(t, tt.req(t))
			wantError(t, r, http.StatusUnauthorized, "ticket_rejected")
			if got := e.lastRefusal(t); got != tt.reason {
				t.Errorf("audit reason %q, want %q: the case does not test what it names", got, tt.reason)
			}
			if first == nil {
				first = &r
				return
			}
			if !bytes.Equal(r.body, first.body) {
				t.Errorf("body %q differs from the first rejection's %q", r.body, first.body)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "WWW-Authenticate", "Content-Length", "X-Content-Type-Options"} {
				if r.header.Get(h) != first.header.Get(h) {
					t.Errorf("%s %q differs from the first rejection's %q", h, r.header.Get(h), first.header.Get(h))
				}
			}
		})
	}
}

// A binding mismatch burns the ticket: shown from the wrong place, it must
// be assumed stolen.
func TestRedeemMismatchBurns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.mint(t, "alice", "", audience)
	wantError(t, e.redeem(t, redeemRequest{Ticket: tk, ClientIP: otherIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	wantError(t, e.redeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
}

func TestRedeemBadClientIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, ip := range []string{"not-an-ip", "127.0.0.1:443", "1.2.3", "::g", " 127.0.0.1"} {
		tk := e.mint(t, "alice", "", audience)
		r := e.redeem(t, redeemRequest{Ticket: tk, ClientIP: ip, Audience: audience})
		wantError(t, r, http.StatusBadRequest, "bad_request")
	}
}

func TestRedeemIPv4MappedIPv6(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.mint(t, "alice", "", audience)
	e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: "::ffff:" + loopbackIP, Audience: audience}, "alice")
}

// A store that fails is a 503 on every path that needs it, never a success.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.mint(t, "alice", "", audience)
	if r := e.do(t, http.MethodGet, "/readyz", nil, ""); r.status != http.StatusOK {
		t.Fatalf("readyz before close: %d %s", r.status, r.body)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("redeem", func(t *testing.T) {
		wantError(t, e.redeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}), http.StatusServiceUnavailable, "unavailable")
	})
	t.Run("mint", func(t *testing.T) {
		r := e.do(t, http.MethodPost, "/v1/tickets", bearer(loginJWT(t, "alice")), `{"audience":"chat"}`)
		wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	})
	t.Run("revoke", func(t *testing.T) {
		r := e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(serviceKey), "")
		wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	})
	t.Run("readyz", func(t *testing.T) {
		wantError(t, e.do(t, http.MethodGet, "/readyz", nil, ""), http.StatusServiceUnavailable, "unavailable")
	})
	t.Run("healthz", func(t *testing.T) {
		// The process is alive: liveness does not depend on the store.
		if r := e.do(t, http.MethodGet, "/healthz", nil, ""); r.status != http.StatusOK {
			t.Errorf("healthz: %d %s", r.status, r.body)
		}
	})
	t.Run("malformed ticket is still rejected", func(t *testing.T) {
		// No storage round trip is needed to refuse a malformed ticket.
		wantError(t, e.redeem(t, redeemRequest{Ticket: "nope", ClientIP: loopbackIP}), http.StatusUnauthorized, "ticket_rejected")
	})
}

// Of many concurrent redeems of one ticket over HTTP, exactly one wins.
func TestRedeemConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for range 20 {
		tk := e.mint(t, "alice", "", audience)
		body := jsonBody(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience})
		const n = 16
		statuses := make(chan int, n)
		var start sync.WaitGroup
		start.Add(1)
		var done sync.WaitGroup
		for range n {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				statuses <- e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(serviceKey), body).status
			}()
		}
		start.Done()
		done.Wait()
		close(statuses)
		won := 0
		for s := range statuses {
			switch s {
			case http.StatusOK:
				won++
			case http.StatusUnauthorized:
			default:
				t.Errorf("status %d, want 200 or 401", s)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent redeems won, want exactly 1", won, n)
		}
	}
}
