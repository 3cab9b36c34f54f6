package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/internal/ticket"
)

// FuzzRedeemRequest posts arbitrary bodies to the redeem endpoint with a
// valid service key. Whatever the body, the answer is one of the
// documented statuses, and every refusal is in the JSON error shape.
func FuzzRedeemRequest(f *testing.F) {
	e := newEnv(f, nil)
	valid := `{"ticket":"` + e.mint(f, "alice", "", audience) + `","client_ip":"127.0.0.1","audience":"chat"}`
	for _, seed := range []string{
		valid,
		`{"ticket":"` + ticket.New() + `","client_ip":"127.0.0.1","origin":"https://app.example.test","audience":"chat"}`,
		`{"ticket":"` + ticket.New() + `","client_ip":"::ffff:127.0.0.1"}`,
		`{"ticket":"wst_","client_ip":"","origin":"","audience":""}`,
		`{}`,
		``,
		`null`,
		`[]`,
		`{"ticket":1}`,
		`{"ticket":"x","extra":true}`,
		`{"ticket":"x","ticket":"y"}`,
		`{"ticket":"x","Ticket":"y"}`,
		`{"TICKET":"x"}`,
		`{"audience":"\udc00"}`,
		`{"ticket":"x"}{"ticket":"y"}`,
		`{"ticket":"x"} trailing`,
		`{"client_ip":"300.0.0.1"}`,
		`{"ticket":"` + "\xff\xfe" + `"}`,
		"\x00\x01\x02garbage",
		`{"ticket":"\u0000\ud800"}`,
		strings.Repeat("[", 20000),
		strings.Repeat(`{"a":`, 100),
		`{"ticket":"` + strings.Repeat("A", 20000) + `"}`,
		`{"origin":"` + strings.Repeat("https://x", 1000) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	allowed := map[int]bool{200: true, 400: true, 401: true, 413: true, 503: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(serviceKey), string(body))
		if !allowed[r.status] {
			t.Fatalf("status %d for body %q; body %s", r.status, body, r.body)
		}
		if r.status == http.StatusOK {
			return
		}
		if _, err := parseError(r.body); err != nil {
			t.Fatalf("status %d: %v: %s", r.status, err, r.body)
		}
	})
}
