package wsmetrics_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps Prometheus where it belongs: wsmetrics imports it, and
// nothing of the server, gRPC or a WebSocket library; the packages every
// WebSocket server imports (verifier, wsmiddleware and its adapters) do
// not import Prometheus at all.
func TestDeps(t *testing.T) {
	t.Parallel()
	const mod = "github.com/wsticket/wsticket"
	prom := "github.com/prometheus/client_golang"
	server := []string{
		"github.com/golang-jwt/jwt", mod + "/issuer", mod + "/internal/auth", mod + "/internal/httpapi",
		mod + "/internal/grpcapi", mod + "/internal/ticketd", mod + "/internal/metrics",
		"google.golang.org/grpc", mod + "/proto",
		"github.com/gorilla/websocket", "github.com/coder/websocket",
	}
	for _, tc := range []struct {
		pkg       string
		want      string // a dependency that must be there, proving the list is real
		forbidden []string
	}{
		{mod + "/wsmiddleware/wsmetrics", prom + "/prometheus", server},
		{mod + "/wsmiddleware", mod + "/verifier", []string{prom}},
		{mod + "/wsmiddleware/coderws", "github.com/coder/websocket", []string{prom}},
		{mod + "/wsmiddleware/gorillaws", "github.com/gorilla/websocket", []string{prom}},
		{mod + "/verifier", mod + "/internal/ticket", []string{prom, "github.com/redis/go-redis/v9"}},
		{mod + "/clientlib", "google.golang.org/grpc", []string{prom}},
	} {
		out, err := exec.Command("go", "list", "-deps", tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		deps := strings.Fields(string(out))
		found := false
		for _, d := range deps {
			found = found || d == tc.want
			for _, f := range tc.forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", tc.pkg, d)
				}
			}
		}
		if !found {
			t.Errorf("%s does not depend on %s: the dependency list is not what this test expects", tc.pkg, tc.want)
		}
	}
}
