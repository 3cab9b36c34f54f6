package main

import (
	"context"
	"fmt"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

// library is wsticket used as a library, as a Go service would: mint with
// an issuer.Service over redisstore, redeem with a verifier over
// redisstore on a client of its own (a WebSocket server's), both with
// ticketd's client settings and ticket keys. Only the public constructors
// are used (issuer.New, redisstore.New, verifier.New), so the bench keeps
// measuring whatever the adapter does inside them.
func library(s *server, sec secrets, users []user, addr string) (*contender, error) {
	keys, err := verifier.ParseTicketKeys(sec.ticketKeys)
	if err != nil {
		return nil, err
	}
	mintClient, err := s.newClient(addr)
	if err != nil {
		return nil, err
	}
	redeemClient, err := s.newClient(addr)
	if err != nil {
		mintClient.Close()
		return nil, err
	}
	svc, err := issuer.New(redisstore.New(mintClient, nil), &issuer.Options{TTL: ticketTTL, AllowedOrigins: []string{appOrigin}, Keys: keys})
	if err != nil {
		mintClient.Close()
		redeemClient.Close()
		return nil, err
	}
	v := verifier.New(redisstore.New(redeemClient, nil), &verifier.Options{Keys: keys})
	return &contender{
		name: "wsticket: issuer.Service / verifier over redisstore",
		mint: func(ctx context.Context, i int) (string, error) {
			u := users[i%len(users)]
			m, err := svc.Mint(ctx, issuer.MintRequest{UserID: u.id, ClientIP: u.ip, Origin: appOrigin, Audience: audience})
			if err != nil {
				return "", err
			}
			return m.Ticket, nil
		},
		redeem: func(ctx context.Context, t string, i int) error {
			u := users[i%len(users)]
			res, err := v.Redeem(ctx, verifier.Request{Ticket: t, ClientIP: u.ip, Origin: appOrigin, Audience: audience})
			if err != nil {
				return err
			}
			if res.UserID != u.id {
				return fmt.Errorf("redeemed for %q, want %q", res.UserID, u.id)
			}
			return nil
		},
		close: func() { mintClient.Close(); redeemClient.Close() },
	}, nil
}
