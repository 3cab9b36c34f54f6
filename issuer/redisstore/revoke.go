package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
)

// RevokeUser raises userID's revocation epoch under the tag of every
// ticket key (revokeScript), so that every ticket of the user minted before
// the call is void at its next Take, remembers the revocation for
// RevocationRetention and announces it to the subscribers of the
// revocation channel. The state is written before the announcement, so a
// subscriber that misses the announcement while (re)subscribing finds it
// when it catches up. It also deletes the user's tickets of the previous
// version (listed in its per-user index), and reports how many of those it
// deleted: tickets of the current format are voided without being counted.
func (s *Store) RevokeUser(ctx context.Context, userID string, tags []uint16) (int, error) {
	return s.revoke(ctx, userID, "", false, tags)
}

// RevokeLogins implements issuer.Store: RevokeUser for the user (or with
// sessionID set, for that session) that also makes every later Put of a
// login issued at or before now fail with issuer.ErrLoginRevoked, for
// Options.LoginRevocationRetention.
func (s *Store) RevokeLogins(ctx context.Context, userID, sessionID string, tags []uint16) (int, error) {
	return s.revoke(ctx, userID, sessionID, true, tags)
}

func (s *Store) revoke(ctx context.Context, userID, session string, logins bool, tags []uint16) (int, error) {
	// A user ID verifier.CheckUserID refuses is an error wrapping
	// verifier.ErrInvalidInput, before any command: never a key, never
	// announced.
	if err := verifier.CheckUserID(userID); err != nil {
		return 0, fmt.Errorf("redisstore: revoke: %w", err)
	}
	if session != "" {
		if err := verifier.CheckSessionID(session); err != nil {
			return 0, fmt.Errorf("redisstore: revoke: %w", err)
		}
	}
	if len(tags) == 0 {
		return 0, errors.New("redisstore: revocation without routing tags")
	}
	now := s.now()
	at := now.UnixMilli()
	keep := max(verifier.RevocationRetention, s.loginKeep).Milliseconds()
	loginsArg := ""
	if logins {
		loginsArg = "1"
	}
	keysOf := func(i int) []string { return []string{stateKey(s.prefix, tags[i], userID)} }
	run := func(p redis.Pipeliner, proposal uint64, mode string) []*redis.Cmd {
		cmds := make([]*redis.Cmd, len(tags))
		for i := range tags {
			cmds[i] = revokeScript.EvalSha(ctx, p, keysOf(i), proposal, at, session, loginsArg, keep, mode)
		}
		return cmds
	}
	// A command that met a node without the script ran nothing: it alone
	// runs again (evalIfNoScript). Each command's own error is checked
	// afterwards (epochs, and below).
	reload := func(cmds []*redis.Cmd, proposal uint64, mode string) {
		for i, c := range cmds {
			cmds[i] = evalIfNoScript(ctx, s.client, revokeScript, c, keysOf(i), proposal, at, session, loginsArg, keep, mode)
		}
	}
	// One round trip: the epoch under each tag, and the index of the
	// previous version's tickets.
	var (
		cmds  []*redis.Cmd
		index *redis.StringSliceCmd
		last  *redis.StatusCmd
	)
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		cmds = run(p, uint64(max(at, 0)), "bump")
		if session == "" {
			index = p.ZRange(ctx, ticket.UserKey(s.prefix, userID), 0, -1)
		}
		// For LastRevoked, and for subscribers of the previous version
		// catching up during a rolling upgrade. A session's revocation
		// is recorded as the user's: LastRevoked reports times, not
		// sessions, and a subscriber catching up must close the
		// session's sockets, so it closes all the user's older ones.
		last = p.Set(ctx, ticket.RevokedKey(s.prefix, userID), at, verifier.RevocationRetention)
		return nil
	})
	reload(cmds, uint64(max(at, 0)), "bump")
	if err := last.Err(); err != nil {
		return 0, err
	}
	if index != nil && index.Err() != nil && !errors.Is(index.Err(), redis.Nil) {
		return 0, index.Err()
	}
	epoch, agree, err := epochs(cmds)
	if err != nil {
		return 0, err
	}
	if !agree {
		// During a key rotation the user's tags may have had different
		// epochs: lift them all to the highest, so that one epoch
		// describes the revocation everywhere.
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			cmds = run(p, epoch, "lift")
			return nil
		})
		reload(cmds, epoch, "lift")
		if epoch, _, err = epochs(cmds); err != nil {
			return 0, err
		}
	}
	n := 0
	if index != nil && len(index.Val()) > 0 {
		if n, err = s.deleteLegacy(ctx, userID, index.Val()); err != nil {
			return 0, err
		}
	}
	msg := ticket.RevocationMessage{User: userID, At: at, Session: session, Epoch: epoch, Logins: logins}
	if err := s.client.Publish(ctx, ticket.RevocationChannel(s.prefix), ticket.EncodeRevocation(msg)).Err(); err != nil {
		return 0, err
	}
	return n, nil
}

// epochs reads revokeScript's replies: the highest epoch, and whether
// they all agree.
func epochs(cmds []*redis.Cmd) (uint64, bool, error) {
	var top uint64
	agree := true
	for i, c := range cmds {
		v, err := c.Text()
		if err != nil {
			return 0, false, err
		}
		e, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("redisstore: bad epoch %q", v)
		}
		if i > 0 && e != top {
			agree = false
		}
		top = max(top, e)
	}
	return top, agree, nil
}

// deleteLegacy deletes the listed tickets of the previous version and the
// index listing them, one DEL per key so that Cluster routes each to its
// slot, and reports how many it deleted.
func (s *Store) deleteLegacy(ctx context.Context, userID string, members []string) (int, error) {
	dels := make([]*redis.IntCmd, len(members))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range members {
			dels[i] = p.Del(ctx, ticket.KeyOf(s.prefix, m))
		}
		p.Del(ctx, ticket.UserKey(s.prefix, userID))
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range dels {
		n += int(d.Val())
	}
	return n, nil
}
