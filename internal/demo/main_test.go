package demo_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a Revoker,
// a WebSocket, a server or a store's sweeper that was not stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
