package redisurl

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// Logger adapts an slog.Logger to go-redis's internal logging interface
// (Printf), so what go-redis logs by itself (failed dials, pool and
// Sentinel trouble) goes through the service's handler instead of the
// standard logger's plain lines on stderr. Messages are logged at Warn:
// go-redis logs only trouble.
type Logger struct{ L *slog.Logger }

// Printf logs the formatted message with the attribute component=redis.
func (l Logger) Printf(ctx context.Context, format string, v ...any) {
	l.L.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}

// SetLogger makes go-redis log through logger, for every client of the
// process (go-redis's logger is global).
func SetLogger(logger *slog.Logger) { redis.SetLogger(Logger{L: logger}) }
