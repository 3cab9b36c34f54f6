package redisurl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/wsticket/wsticket/internal/redisurl"
)

// What go-redis logs arrives as a JSON record of the service's handler.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := redisurl.Logger{L: slog.New(slog.NewJSONHandler(&buf, nil))}
	l.Printf(context.Background(), "redis: %s failed: %v", "dial", "connection refused")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %q", buf.String())
	}
	if rec["msg"] != "redis: dial failed: connection refused" || rec["level"] != "WARN" || rec["component"] != "redis" {
		t.Fatalf("record %v", rec)
	}
}
