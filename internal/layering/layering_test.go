// Package layering holds a test that keeps the packages users import lean:
// they must not drag the server's dependencies into a WebSocket server.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

func TestUserPackagesStayLean(t *testing.T) {
	server := []string{
		"github.com/golang-jwt/jwt",
		"github.com/wsticket/wsticket/issuer",
		"github.com/wsticket/wsticket/internal/auth",
		"github.com/wsticket/wsticket/internal/httpapi",
		"github.com/wsticket/wsticket/internal/grpcapi",
		"github.com/wsticket/wsticket/internal/ticketd",
	}
	grpc := []string{"google.golang.org/grpc", "google.golang.org/protobuf/reflect", "github.com/wsticket/wsticket/proto"}
	// The core middleware works with any WebSocket library; only its
	// adapters import one, each its own.
	wslibs := []string{"github.com/gorilla/websocket", "github.com/coder/websocket"}
	cases := []struct {
		pkg       string
		forbidden []string
	}{
		// verifier wraps Redis and nothing else: no gRPC, no server code.
		{"github.com/wsticket/wsticket/verifier", append(append(append([]string{}, server...), grpc...), wslibs...)},
		{"github.com/wsticket/wsticket/wsmiddleware", append(append(append([]string{}, server...), grpc...), wslibs...)},
		{"github.com/wsticket/wsticket/wsmiddleware/gorillaws", append(append(append([]string{}, server...), grpc...), wslibs[1])},
		{"github.com/wsticket/wsticket/wsmiddleware/coderws", append(append(append([]string{}, server...), grpc...), wslibs[0])},
		// clientlib wraps gRPC, and no server code.
		{"github.com/wsticket/wsticket/clientlib", server},
	}
	for _, tc := range cases {
		t.Run(tc.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", tc.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 10 {
				t.Fatalf("go list returned only %d packages: %q", len(deps), deps)
			}
			for _, d := range deps {
				for _, f := range tc.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("%s depends on %s", tc.pkg, d)
					}
				}
			}
		})
	}
}
