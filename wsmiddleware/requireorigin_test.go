package wsmiddleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/wsmiddleware"
)

// A first-message endpoint takes its ticket from the first frame. Tickets a
// browser sends along anyway (ticketd's cookie for this host, a query
// parameter, a subprotocol entry) reach neither the handler nor OnReject.
func TestRequireOriginStripsTickets(t *testing.T) {
	const secret = "wst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	var seen []*http.Request
	opts := &wsmiddleware.Options{
		AllowedOrigins: []string{"https://app.example"},
		OnReject:       func(r *http.Request, err error) { seen = append(seen, r) },
	}
	h := guard(t, nilRedeemer{}, opts).RequireOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r)
	}))
	for _, origin := range []string{"https://app.example", "https://evil.example"} {
		r := httptest.NewRequest("GET", "/ws?x=1&ticket="+secret, nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Cookie", "a=b; wsticket="+secret)
		r.Header.Set("Sec-WebSocket-Protocol", "wsticket, wsticket."+secret)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if len(seen) != 2 {
		t.Fatalf("handler and OnReject saw %d requests, want 2", len(seen))
	}
	for _, r := range seen {
		dump := r.URL.String() + r.RequestURI + strings.Join(r.Header.Values("Cookie"), ";") +
			strings.Join(r.Header.Values("Sec-WebSocket-Protocol"), ",")
		if strings.Contains(dump, secret) {
			t.Errorf("a ticket reached the application: %q", dump)
		}
		if r.URL.Query().Get("x") != "1" || !strings.Contains(r.Header.Get("Cookie"), "a=b") {
			t.Errorf("other parameters or cookies were lost: %q", dump)
		}
	}
}
