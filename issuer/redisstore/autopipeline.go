package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Auto-pipelining. Under concurrency, go-redis's own auto-pipeliner
// gathers the scripts of concurrent mints and redeems into one pipeline
// per round trip (per node on a Cluster), where a plain client sends each
// on a pooled connection of its own; a lone command still goes out at
// once, in one round trip.
//
// What it changes, and what this package does about it:
//   - The auto-pipeliner executes a queued command on its own context, not
//     the caller's: a caller's deadline does not bound the command. The
//     store uses the deferred face (AsyncAutoPipeline), submits each
//     command and waits with the caller's context (AutoFuture.WaitContext),
//     so a slow or dead Redis fails the call closed within the caller's
//     deadline, as on the plain path. A command abandoned that way may
//     still be written later (the batch retries on its own context, and
//     a Redis that comes back gets it): so each hot-path script takes its
//     record field as a liveArg, which is written empty once its caller
//     has stopped waiting, and the scripts do nothing for an empty field.
//     As on the plain path, a command written before the caller gave up
//     may run; one written after does not, so an outage does not burn the
//     tickets whose redeems it failed.
//   - A queued command waits for its batch, and a batch for the one
//     before it: while Redis does not answer, every caller would wait for
//     its whole deadline, where the plain path fails as soon as its own
//     dials have failed. So a call that finds Redis unreachable on the
//     auto-pipelined path, or no reply within autoPipelineWait (the read
//     timeout of ticketd's clients), puts the store on the plain path (degraded)
//     until a plain command is answered again: during an outage the store
//     fails as fast as a plain client, and it returns to auto-pipelining
//     with the first answer after it.
//   - It sends WAIT on another connection than the burn it must follow, so
//     with Options.WaitReplicas set the store keeps the plain path.
//   - Like any pipeline, a batch that fails on a network error is retried
//     whole: a redeem whose reply was lost runs again and finds nothing
//     (the user is refused, the ticket never admitted twice), as a retried
//     plain command does.
//   - On a Cluster it routes each command to the node of its slot; a
//     failover client (Sentinel) is a *redis.Client and is served like a
//     standalone one.
//
// A ticket of the previous format (GETDEL of its own key) keeps the plain
// path: its key is the command's only argument, which cannot be a liveArg.
//
// A call with no other in flight on the same Store takes the plain path:
// there is nothing to batch it with, and the auto-pipeliner's hand-offs
// between goroutines cost more than its round trip (measured by make
// bench: an auto-pipelined GETDEL at c=1 is about 1.6 times a plain one).
//
// On a Cluster, the mint with a per-IP limit (two scripts in two slots)
// stays an explicit pipeline: two commands submitted one after the other
// may be flushed in two batches, and one round trip per mint is the
// promise. On one node the mint script counts the IP's limit itself.

// asyncPipeliner is what has an auto-pipeliner: *redis.Client (standalone
// and Sentinel) and *redis.ClusterClient.
type asyncPipeliner interface {
	AsyncAutoPipeline() (*redis.AutoPipeliner, error)
}

// newAutoPipeliner returns client's auto-pipeliner, or nil when the client
// has none (a redis.Ring, a wrapper), which leaves the plain path.
func newAutoPipeliner(client redis.UniversalClient) (*redis.AutoPipeliner, error) {
	c, ok := client.(asyncPipeliner)
	if !ok {
		return nil, nil
	}
	ap, err := c.AsyncAutoPipeline()
	if err != nil {
		return nil, fmt.Errorf("redisstore: auto-pipeline: %w", err)
	}
	return ap, nil
}

// runScript runs sc on the hot path: auto-pipelined when the store has an
// auto-pipeliner, waiting no longer than ctx; else as Script.Run does.
// args[0] must be the record field.
func (s *Store) runScript(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	alone := s.inFlight.Add(1) == 1
	defer s.inFlight.Add(-1)
	if s.ap == nil || alone || s.degraded.Load() {
		cmd := sc.Run(ctx, s.client, keys, args...)
		if s.ap != nil && answered(cmd.Err()) {
			s.degraded.Store(false)
		}
		return cmd
	}
	cmdArgs := make([]any, 0, 3+len(keys)+len(args))
	cmdArgs = append(cmdArgs, "evalsha", sc.Hash(), len(keys))
	for _, k := range keys {
		cmdArgs = append(cmdArgs, k)
	}
	live := &liveArg{b: bytesOf(args[0])}
	cmdArgs = append(cmdArgs, live)
	cmdArgs = append(cmdArgs, args[1:]...)
	cmd := redis.NewCmd(ctx, cmdArgs...)
	wait := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > autoPipelineWait {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, autoPipelineWait)
		defer cancel()
	}
	err := s.ap.Submit(ctx, cmd).WaitContext(wait)
	gaveUp := wait.Err() != nil
	if err != nil {
		if gaveUp {
			live.gone.Store(true)
		} else if isNoScript(err) {
			// Not loaded on that node yet: EVAL runs it and loads it.
			return sc.Eval(ctx, s.client, keys, args...)
		}
		if !answered(err) {
			s.degraded.Store(true)
		}
		failed := redis.NewCmd(ctx)
		failed.SetErr(err)
		return failed
	}
	return cmd
}

// liveArg is a script's first argument (the record field) on the
// auto-pipelined path: written as itself while its caller waits for the
// reply, and as the empty string once the caller has given up, so that a
// retry of its batch after the caller's deadline changes nothing.
type liveArg struct {
	b    []byte
	gone atomic.Bool
}

// MarshalBinary is called by go-redis each time it writes the command.
func (a *liveArg) MarshalBinary() ([]byte, error) {
	if a.gone.Load() {
		return []byte{}, nil
	}
	return a.b, nil
}

// autoPipelineWait bounds the wait for an auto-pipelined command, as the
// socket read timeout of ticketd's clients bounds a plain one: a reply not
// there by then fails the call (closed) and degrades the store to the
// plain path. It must stay below the callers' own deadlines (2 s by
// default): while Redis is down, a batch waits out its retries, and a
// caller bound only by its deadline would wait all of it
// (TestVerifierFailsClosedWhenRedisStops). A caller whose deadline comes
// sooner waits on its own context, without a timer of the store's.
const autoPipelineWait = time.Second

func bytesOf(v any) []byte {
	switch v := v.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	panic(fmt.Sprintf("redisstore: a record field of type %T", v))
}

// answered reports whether err (nil included) is an answer from Redis: no
// error, nil, or an error reply, as opposed to a failure to reach it.
func answered(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return true
	}
	var reply redis.Error
	return errors.As(err, &reply)
}
