package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/internal/httpapi"
)

// hostileBody is a request body that must be refused whatever it holds.
// TICKET in body is replaced by a freshly minted ticket.
type hostileBody struct {
	name   string
	body   string
	status int
	code   string
}

func hostileBodies(field string) []hostileBody {
	over := strings.Repeat("a", httpapi.MaxBodyBytes+1)
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	return []hostileBody{
		{"unknown field", `{` + field + `,"extra":1}`, 400, "bad_request"},
		{"unknown field, other case", `{` + field + `,"Ticket_":1}`, 400, "bad_request"},
		{"duplicate key", `{` + field + `,"audience":"chat","audience":"echo"}`, 400, "bad_request"},
		{"the whole body twice in one object", `{` + field + `,` + field + `}`, 400, "bad_request"},
		{"a field in another case", `{` + field + `,"Audience":"echo"}`, 400, "bad_request"},
		{"a field in upper case", `{` + field + `,"AUDIENCE":"echo"}`, 400, "bad_request"},
		{"a field with the Kelvin sign", `{` + field + `,"coo\u212aie":true}`, 400, "bad_request"},
		{"a lone surrogate", `{` + field + `,"audience":"\ud800"}`, 400, "bad_request"},
		{"null", `null`, 400, "bad_request"},
		{"trailing garbage", `{` + field + `} x`, 400, "bad_request"},
		{"trailing comma", `{` + field + `},`, 400, "bad_request"},
		{"two JSON objects", `{` + field + `}{` + field + `}`, 400, "bad_request"},
		{"two JSON objects on two lines", "{" + field + "}\n{" + field + "}\n", 400, "bad_request"},
		{"array", `[{` + field + `}]`, 400, "bad_request"},
		{"string", `"` + field + `"`, 400, "bad_request"},
		{"number", `42`, 400, "bad_request"},
		{"truncated", `{` + field, 400, "bad_request"},
		{"wrong type: number", `{` + field + `,"audience":1}`, 400, "bad_request"},
		{"wrong type: object", `{` + field + `,"audience":{}}`, 400, "bad_request"},
		{"wrong type: array", `{` + field + `,"audience":["chat"]}`, 400, "bad_request"},
		{"wrong type: bool", `{` + field + `,"audience":true}`, 400, "bad_request"},
		{"over 16 KiB", `{` + field + `,"audience":"` + over + `"}`, 413, "request_too_large"},
		{"over 16 KiB of whitespace", `{` + field + `}` + strings.Repeat(" ", httpapi.MaxBodyBytes), 413, "request_too_large"},
		{"invalid UTF-8 outside a string", "{" + field + ",\xff}", 400, "bad_request"},
		{"invalid UTF-8 inside a string", `{` + field + `,"audience":"chat` + "\xff\xfe" + `"}`, 400, "bad_request"},
		{"NUL byte", "{" + field + "}\x00", 400, "bad_request"},
		{"deeply nested value", `{` + field + `,"audience":` + deep + `}`, 400, "bad_request"},
		{"deeper than the decoder allows", strings.Repeat("[", 12000), 400, "bad_request"},
		{"deeply nested objects", strings.Repeat(`{"a":`, 2500) + "1" + strings.Repeat("}", 2500), 400, "bad_request"},
	}
}

// TestMintHostileBody: every hostile body is a 400 or 413 in the error
// shape, never a 500 and never a ticket.
func TestMintHostileBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	t.Run("refusals", func(t *testing.T) {
		for _, tt := range hostileBodies(`"audience":"chat"`) {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := e.do(t, http.MethodPost, "/v1/tickets", bearer(loginJWT(t, "alice")), tt.body)
				wantError(t, r, tt.status, tt.code)
			})
		}
	})
	if n := e.store.Len(); n != 0 {
		t.Errorf("%d tickets stored after hostile mint requests, want 0", n)
	}
}

// TestRedeemHostileBody: every hostile body is a 400 or 413 in the error
// shape, and the ticket it carries is not burned: it redeems afterwards.
func TestRedeemHostileBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := append(hostileBodies(`"ticket":"TICKET","client_ip":"127.0.0.1"`),
		hostileBody{"empty body", ``, 400, "bad_request"},
		hostileBody{"wrong type: ticket", `{"ticket":12345,"client_ip":"127.0.0.1","audience":"chat"}`, 400, "bad_request"},
		hostileBody{"wrong type: client_ip", `{"ticket":"TICKET","client_ip":2130706433,"audience":"chat"}`, 400, "bad_request"},
		hostileBody{"bad client_ip", `{"ticket":"TICKET","client_ip":"127.0.0.300","audience":"chat"}`, 400, "bad_request"},
		hostileBody{"client_ip with a port", `{"ticket":"TICKET","client_ip":"127.0.0.1:80","audience":"chat"}`, 400, "bad_request"},
		hostileBody{"client_ip a CIDR", `{"ticket":"TICKET","client_ip":"127.0.0.0/8","audience":"chat"}`, 400, "bad_request"},
		hostileBody{"client_ip a host name", `{"ticket":"TICKET","client_ip":"localhost","audience":"chat"}`, 400, "bad_request"},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := e.mint(t, "alice", "", "")
			r := e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(serviceKey), strings.ReplaceAll(tt.body, "TICKET", tk))
			wantError(t, r, tt.status, tt.code)
			// A refused request body never touches the ticket.
			e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP}, "alice")
		})
	}
}
