package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/netip"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The bench's fixed settings.
const (
	appOrigin = "https://app.example"
	audience  = "bench"
	ticketTTL = 5 * time.Minute // the longest: nothing expires during a measurement
)

// secrets are a bench run's generated credentials, shared by every
// ticketd and verifier of the run, as by replicas in production.
type secrets struct {
	jwtSecret  string
	serviceKey string
	ticketKeys string // TICKETD_TICKET_KEYS
}

func newSecrets() secrets {
	key := make([]byte, 32)
	rand.Read(key)
	return secrets{
		jwtSecret:  rand.Text() + rand.Text(),
		serviceKey: "svc_" + rand.Text() + rand.Text(),
		ticketKeys: "1:" + base64.StdEncoding.EncodeToString(key),
	}
}

// user is one simulated end user: an ID, the IP address it connects from
// (sent as X-Forwarded-For where ticketd trusts the bench as its proxy),
// and its own login JWT, signed before any measurement.
type user struct {
	id  string
	ip  netip.Addr
	jwt string
}

// newUsers returns n users with distinct IDs and IPs (10.0.0.0/8), their
// JWTs valid for an hour, signed with secret.
func newUsers(n int, secret string) ([]user, error) {
	us := make([]user, n)
	exp := jwt.NewNumericDate(time.Now().Add(time.Hour))
	for i := range us {
		id := userID(i)
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: id, ExpiresAt: exp}).SignedString([]byte(secret))
		if err != nil {
			return nil, err
		}
		us[i] = user{id: id, ip: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), jwt: tok}
	}
	return us, nil
}

// userID is the ID of the bench's user i.
func userID(i int) string { return fmt.Sprintf("user-%06d", i) }
