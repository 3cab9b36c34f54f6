package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/verifier"
)

// revokeLoginsRequest is the optional body of logins/revoke.
type revokeLoginsRequest struct {
	// SessionID limits the revocation to one login session. Absent: every
	// login of the user. An explicit null or "" is refused, so that a
	// client's missing value never widens a session revocation to all of
	// the user's logins.
	SessionID optionalString `json:"session_id"`
}

// optionalString is a JSON string field that tells absent from given.
type optionalString struct {
	set   bool
	value string
}

var errNotString = errors.New("not a string")

func (o *optionalString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return errNotString
	}
	if err := json.Unmarshal(b, &o.value); err != nil {
		return errNotString
	}
	o.set = true
	return nil
}

// revokeLogins: POST /v1/users/{user_id}/logins/revoke by a service
// granted revoke, with an optional body {"session_id": "..."}. Any other
// caller is refused before the body is read. The session id is never
// logged, only whether one was given.
func (a *api) revokeLogins(w http.ResponseWriter, r *http.Request) {
	if err := a.authorize(r, auth.OpRevoke); err != nil {
		a.fail(w, r, "revoke_logins", err)
		return
	}
	user := r.PathValue("user_id")
	if err := verifier.CheckUserID(user); err != nil {
		a.fail(w, r, "revoke_logins", err, slog.Int("user_bytes", len(user))) // never log a hostile id
		return
	}
	attrs := []slog.Attr{slog.String("user", user)}
	var req revokeLoginsRequest
	if e := decode(w, r, &req, true); e != nil {
		a.fail(w, r, "revoke_logins", e, attrs...)
		return
	}
	attrs = append(attrs, slog.Bool("session", req.SessionID.set))
	if req.SessionID.set {
		if err := verifier.CheckSessionID(req.SessionID.value); err != nil {
			a.fail(w, r, "revoke_logins", err, attrs...)
			return
		}
	}
	n, err := a.Service.RevokeLogins(r.Context(), user, req.SessionID.value)
	if err != nil {
		a.fail(w, r, "revoke_logins", err, attrs...)
		return
	}
	a.Logger.LogAttrs(r.Context(), slog.LevelInfo, "logins revoked", append(attrs, slog.Int("tickets", n))...)
	a.Metrics.Revoked(n)
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
}
