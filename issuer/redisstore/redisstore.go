package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
)

// Options configures New. The zero value is ready to use.
type Options struct {
	// KeyPrefix namespaces every key, and must be the same in ticketd and
	// in every verifier that redeems from the same Redis. Default:
	// "wsticket:".
	KeyPrefix string
	// LoginRevocationRetention is how long a revocation of logins refuses
	// mints of logins issued before it: as long as such a login can still
	// be valid. Default: 24h.
	LoginRevocationRetention time.Duration
	// WaitReplicas, when above 0, makes every burn wait until that many
	// replicas have acknowledged it (Redis WAIT, sent with the redeem script on
	// the same connection). A burn that fewer replicas acknowledged within
	// WaitTimeout fails the redeem closed (verifier.ErrUnavailable and
	// ErrNotReplicated), even though the primary has burned the ticket: an
	// unreplicated burn can be undone by a failover. Needs a *redis.Client
	// (standalone or Sentinel) or a *redis.ClusterClient. Default 0: the
	// primary's word is enough, and a failover before the burn reaches a
	// replica can bring the ticket back until its TTL ends.
	WaitReplicas int
	// WaitTimeout bounds the wait for replicas. Keep it well below the
	// client's ReadTimeout and the verifier's timeout. Default: 100ms.
	WaitTimeout time.Duration
	// NoAutoPipeline turns auto-pipelining off: each mint and redeem then
	// goes out on a pooled connection of its own. Default false: mints
	// and redeems are auto-pipelined (go-redis's AsyncAutoPipeline, see
	// autopipeline.go), except with WaitReplicas set, which keeps the plain
	// path because the auto-pipeliner sends WAIT on another connection than
	// the burn, and except on a client with no auto-pipeliner (such as a
	// redis.Ring).
	NoAutoPipeline bool
	// Now returns the current time, used to trim expired index entries and
	// to date revocations. Default: time.Now.
	Now func() time.Time
}

// Store keeps everything wsticket keeps in Redis: tickets (Put, Take),
// revocations (RevokeUser) and the revocation feed (Watch, LastRevoked).
// It implements verifier.Store, verifier.RevocationFeed and issuer.Store.
// It does not own the client: closing the client is the caller's job.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	loginKeep    time.Duration
	waitReplicas int
	waitTimeout  time.Duration
	ping         time.Duration // a silent subscription is pinged after this
	now          func() time.Time
	buckets      *buckets
	loaded       *sync.Map            // node address -> the redeem script is loaded there (WAIT)
	ap           *redis.AutoPipeliner // nil: the plain path
	degraded     atomic.Bool          // Redis unreachable through ap: the plain path until it answers
	inFlight     atomic.Int64         // hot-path calls under way; one alone takes the plain path
	singleNode   bool                 // every key on one node (standalone, Sentinel): a script may span slots
}

var _ verifier.Store = (*Store)(nil)

// New returns a Store over client. opts may be nil.
//
// Give the client redis.Options.ContextTimeoutEnabled = true (and short
// Read/WriteTimeouts), so the verifier's per-redeem timeout also bounds
// socket I/O and a slow Redis fails the upgrade closed in bounded time.
func New(client redis.UniversalClient, opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = ticket.DefaultKeyPrefix
	}
	if o.WaitReplicas < 0 {
		o.WaitReplicas = 0
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = defaultWaitTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LoginRevocationRetention <= 0 {
		o.LoginRevocationRetention = 24 * time.Hour
	}
	var seed [4]byte
	rand.Read(seed[:]) // never returns an error
	var ap *redis.AutoPipeliner
	if !o.NoAutoPipeline && o.WaitReplicas == 0 {
		// Only an invalid configuration of the client's own
		// AutoPipelineOptions fails; the plain path serves then.
		ap, _ = newAutoPipeliner(client)
	}
	// A *redis.Client is one node (a failover client too); a Cluster or
	// a Ring spreads keys over nodes by slot or hash tag.
	_, singleNode := client.(*redis.Client)
	return &Store{
		singleNode:   singleNode,
		ap:           ap,
		client:       client,
		prefix:       o.KeyPrefix,
		loginKeep:    o.LoginRevocationRetention,
		buckets:      &buckets{base: binary.BigEndian.Uint32(seed[:])},
		loaded:       &sync.Map{},
		waitReplicas: o.WaitReplicas,
		waitTimeout:  o.WaitTimeout,
		ping:         15 * time.Second,
		now:          o.Now,
	}
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx).Err() }
