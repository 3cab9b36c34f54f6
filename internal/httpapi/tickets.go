package httpapi

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

type mintRequest struct {
	Audience string `json:"audience"`
	// Cookie asks for the ticket as an HttpOnly cookie instead of in the
	// body, so script (and XSS) never sees it.
	Cookie bool `json:"cookie"`
}

type mintResponse struct {
	Ticket    string    `json:"ticket,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

// mint: POST /v1/tickets with a login JWT.
func (a *api) mint(w http.ResponseWriter, r *http.Request) {
	ip := clientip.FromRequest(r, a.TrustedProxies)
	attrs := []slog.Attr{slog.String("client_ip", ip.String())}
	login, err := a.login(r)
	if err != nil {
		a.fail(w, r, "mint", a.refusedCredential(r, ip, err), attrs...)
		return
	}
	user := login.User
	attrs = append(attrs, slog.String("user", user))
	if err := a.Limits.Mint(r.Context(), user, ip); err != nil {
		a.fail(w, r, "mint", err, attrs...)
		return
	}
	var req mintRequest
	if e := decode(w, r, &req, true); e != nil {
		a.fail(w, r, "mint", e, attrs...)
		return
	}
	origin := r.Header.Get("Origin")
	attrs = append(attrs, slog.String("audience", req.Audience), slog.String("origin", origin))
	start := time.Now()
	m, err := a.Service.Mint(r.Context(), issuer.MintRequest{UserID: user, ClientIP: ip, Origin: origin, Audience: req.Audience, Claims: login.Claims,
		SessionID: login.SessionID, SessionExpiresAt: login.ExpiresAt, LoginIssuedAt: login.IssuedAt})
	a.Metrics.ObserveMint(time.Since(start))
	if err != nil {
		a.fail(w, r, "mint", err, attrs...)
		return
	}
	a.Logger.LogAttrs(r.Context(), slog.LevelInfo, "minted", append(attrs, slog.String("ticket_fp", m.Fingerprint), slog.Bool("cookie", req.Cookie))...)
	a.Metrics.Minted()
	resp := mintResponse{
		Ticket:    m.Ticket,
		ExpiresAt: m.ExpiresAt.UTC(),
		ExpiresIn: int64(m.ExpiresAt.Sub(m.IssuedAt) / time.Second),
	}
	if req.Cookie {
		http.SetCookie(w, a.ticketCookie(m.Ticket, resp.ExpiresIn))
		resp.Ticket = ""
	}
	writeJSON(w, http.StatusCreated, resp)
}

// CookieName is the cookie that carries a ticket minted with
// {"cookie": true}; wsmiddleware reads the same name by default.
const CookieName = "wsticket"

// ticketCookie is the cookie transport: HttpOnly so script never sees the
// ticket, SameSite=Strict so cross-site pages never send it, Secure unless
// ticketd serves plain HTTP on loopback in --dev, and it expires with the
// ticket.
func (a *api) ticketCookie(ticket string, maxAge int64) *http.Cookie {
	path := a.CookiePath
	if path == "" {
		path = "/"
	}
	return &http.Cookie{
		Name:     CookieName,
		Value:    ticket,
		Path:     path,
		MaxAge:   int(maxAge),
		HttpOnly: true,
		Secure:   !a.InsecureCookie,
		SameSite: http.SameSiteStrictMode,
	}
}

// login verifies the request's login JWT.
func (a *api) login(r *http.Request) (auth.Login, error) {
	token, ok := bearer(r)
	if !ok {
		return auth.Login{}, auth.ErrUnauthenticated
	}
	return a.JWT.Login(token)
}

// bearer returns the request's bearer credential: "" and false unless it
// has exactly one well-formed "Authorization: Bearer" header. Two headers
// are refused, not resolved: a proxy in front could read the other one.
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	return auth.Bearer(vals[0])
}

// authorize returns nil when the request's service key (the bearer
// credential) or verified client certificate grants op; otherwise an error
// wrapping auth.ErrUnauthenticated (401), auth.ErrForbidden (403) or, for
// a client IP out of refused credentials, ratelimit.ErrLimited (429), for
// a.fail. Call it before reading the body, so a refused caller cannot
// burn tickets.
func (a *api) authorize(r *http.Request, op auth.Op) error {
	cred, _ := bearer(r)
	var chains [][]*x509.Certificate
	if r.TLS != nil {
		chains = r.TLS.VerifiedChains
	}
	err := a.Authorizer.Authorize(cred, chains, op)
	if err != nil {
		err = a.refusedCredential(r, clientip.FromRequest(r, a.TrustedProxies), err)
	}
	return err
}

type redeemRequest struct {
	Ticket   string `json:"ticket"`
	ClientIP string `json:"client_ip"`
	Origin   string `json:"origin"`
	Audience string `json:"audience"`
}

type redeemResponse struct {
	UserID    string            `json:"user_id"`
	Audience  string            `json:"audience"`
	Claims    map[string]string `json:"claims"`
	IssuedAt  time.Time         `json:"issued_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	// Fingerprint is the ticket_fp of ticketd's audit log, not a secret.
	Fingerprint string `json:"fingerprint"`
	// SessionID is the login session the ticket was minted under; omitted
	// when the login named none.
	SessionID string `json:"session_id,omitempty"`
	// SessionExpiresAt is when that login expires; omitted when unknown.
	SessionExpiresAt time.Time `json:"session_expires_at,omitzero"`
}

// redeem: POST /v1/tickets/redeem by a service granted redeem. Any other
// caller is refused before the body is read, so it cannot burn tickets.
func (a *api) redeem(w http.ResponseWriter, r *http.Request) {
	if err := a.authorize(r, auth.OpRedeem); err != nil {
		a.fail(w, r, "redeem", err)
		return
	}
	var req redeemRequest
	if e := decode(w, r, &req, false); e != nil {
		a.fail(w, r, "redeem", e)
		return
	}
	var ip netip.Addr
	if req.ClientIP != "" {
		var err error
		if ip, err = netip.ParseAddr(req.ClientIP); err != nil {
			a.fail(w, r, "redeem", badRequest("client_ip is not an IP address"))
			return
		}
	}
	res, attrs, err := a.redeemFlow.Redeem(r.Context(), verifier.Request{Ticket: req.Ticket, ClientIP: ip, Origin: req.Origin, Audience: req.Audience})
	if err != nil {
		a.fail(w, r, "redeem", err, attrs...)
		return
	}
	claims := res.Claims
	if claims == nil {
		claims = map[string]string{}
	}
	writeJSON(w, http.StatusOK, redeemResponse{
		UserID:           res.UserID,
		Audience:         res.Audience,
		Claims:           claims,
		IssuedAt:         res.IssuedAt.UTC(),
		ExpiresAt:        res.ExpiresAt.UTC(),
		Fingerprint:      res.Fingerprint,
		SessionID:        res.SessionID,
		SessionExpiresAt: res.SessionExpiresAt.UTC(),
	})
}

// revoke: POST /v1/users/{user_id}/tickets/revoke by a service granted
// revoke. The body is optional and, when sent, must be {}.
func (a *api) revoke(w http.ResponseWriter, r *http.Request) {
	if err := a.authorize(r, auth.OpRevoke); err != nil {
		a.fail(w, r, "revoke", err)
		return
	}
	var req struct{}
	if e := decode(w, r, &req, true); e != nil {
		a.fail(w, r, "revoke", e)
		return
	}
	user := r.PathValue("user_id")
	if err := verifier.CheckUserID(user); err != nil {
		a.fail(w, r, "revoke", err, slog.Int("user_bytes", len(user))) // never log a hostile id
		return
	}
	n, err := a.Service.RevokeUser(r.Context(), user)
	if err != nil {
		a.fail(w, r, "revoke", err, slog.String("user", user))
		return
	}
	a.Logger.LogAttrs(r.Context(), slog.LevelInfo, "revoked", slog.String("user", user), slog.Int("tickets", n))
	a.Metrics.Revoked(n)
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
}
