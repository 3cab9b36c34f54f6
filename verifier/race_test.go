package verifier_test

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

// The single-use requirement: of many redeems of one ticket racing through
// independent verifiers (as on several WebSocket servers), exactly one is
// admitted and every other one is told the ticket is unknown.
const (
	raceTickets    = 1000
	raceRedeemers  = 64 // per ticket, split over the verifiers
	raceMaxReports = 5
)

func TestRedeemRaceRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	svc, err := issuer.New(redisstore.New(srv.Client(t), nil), &issuer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Two verifiers, each with its own client and connection pool.
	raceRedeem(t, svc, verifier.New(redisstore.New(srv.Client(t), nil), nil), verifier.New(redisstore.New(srv.Client(t), nil), nil))
}

func TestRedeemRaceMemstore(t *testing.T) {
	t.Parallel()
	mem := memstore.New(nil)
	t.Cleanup(func() { mem.Close() })
	svc, err := issuer.New(mem, &issuer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	raceRedeem(t, svc, verifier.New(mem, nil), verifier.New(mem, nil))
}

func raceRedeem(t *testing.T, svc *issuer.Service, verifiers ...*verifier.Direct) {
	t.Helper()
	ip := netip.MustParseAddr("203.0.113.7")
	wins := make([]int, len(verifiers))
	start := time.Now()
	for round := range raceTickets {
		m, err := svc.Mint(t.Context(), issuer.MintRequest{UserID: fmt.Sprint("user", round), ClientIP: ip})
		if err != nil {
			t.Fatalf("round %d: Mint: %v", round, err)
		}
		req := verifier.Request{Ticket: m.Ticket, ClientIP: ip}
		var (
			ready, done sync.WaitGroup
			release     = make(chan struct{})
			mu          sync.Mutex
			winners     []int // verifier index of each admitted redeem
			bad         []error
		)
		ready.Add(raceRedeemers)
		done.Add(raceRedeemers)
		for g := range raceRedeemers {
			v := g % len(verifiers)
			go func() {
				defer done.Done()
				ready.Done()
				<-release
				res, err := verifiers[v].Redeem(t.Context(), req)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && res != nil && res.UserID == fmt.Sprint("user", round):
					winners = append(winners, v)
				case errors.Is(err, verifier.ErrUnknown) && res == nil:
				default:
					bad = append(bad, fmt.Errorf("verifier %d: %+v, %v", v, res, err))
				}
			}()
		}
		ready.Wait()
		close(release)
		done.Wait()
		if len(winners) != 1 || len(bad) > 0 {
			if len(bad) > raceMaxReports {
				bad = bad[:raceMaxReports]
			}
			t.Fatalf("round %d: %d of %d racing redeems admitted (want exactly 1); other outcomes than ErrUnknown: %v",
				round, len(winners), raceRedeemers, bad)
		}
		wins[winners[0]]++
	}
	t.Logf("%d tickets × %d racing redeems in %v; wins per verifier: %v",
		raceTickets, raceRedeemers, time.Since(start).Round(time.Millisecond), wins)
	// Each verifier won some rounds: they really raced each other (with
	// fair odds, one winning none of 1,000 rounds has probability 2^-999).
	for v, n := range wins {
		if n == 0 {
			t.Errorf("verifier %d never won: the verifiers did not race (wins %v)", v, wins)
		}
	}
}
