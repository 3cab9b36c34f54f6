package wsmiddleware

import (
	"context"

	"github.com/wsticket/wsticket/verifier"
)

// resultKey is the context key of a redeemed ticket's Result. Being an
// unexported type, it collides with no other package's key.
type resultKey struct{}

// NewContext returns a copy of ctx that carries res. Require does this for
// the handler it wraps; tests of such handlers can do it themselves.
func NewContext(ctx context.Context, res *verifier.Result) context.Context {
	return context.WithValue(ctx, resultKey{}, res)
}

// FromContext returns the Result of the ticket that admitted the request
// whose context is ctx (or of the connection's latest re-authentication:
// Session.Result), and whether there is one. Behind Require it is always
// there.
func FromContext(ctx context.Context) (*verifier.Result, bool) {
	if s, ok := SessionFromContext(ctx); ok {
		return s.Result(), true
	}
	res, ok := ctx.Value(resultKey{}).(*verifier.Result)
	return res, ok && res != nil
}
