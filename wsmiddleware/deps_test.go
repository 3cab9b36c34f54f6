package wsmiddleware_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoWebSocketLibrary keeps the core package free of WebSocket
// libraries: only its adapter packages import one, each only its own.
func TestNoWebSocketLibrary(t *testing.T) {
	t.Parallel()
	const (
		gorilla = "github.com/gorilla/websocket"
		coder   = "github.com/coder/websocket"
		mod     = "github.com/wsticket/wsticket/wsmiddleware"
	)
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{mod, []string{gorilla, coder}},
		{mod + "/gorillaws", []string{coder}},
		{mod + "/coderws", []string{gorilla}},
	} {
		out, err := exec.Command("go", "list", "-deps", tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list returned only %d packages", len(deps))
		}
		for _, d := range deps {
			for _, f := range tc.forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", tc.pkg, d)
				}
			}
		}
	}
}
