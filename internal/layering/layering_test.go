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
	// A storage backend enters a program only through the adapter package
	// it imports (issuer/redisstore): redeeming over gRPC compiles no Redis
	// client.
	redis := []string{"github.com/redis/go-redis", "github.com/wsticket/wsticket/issuer/redisstore", "github.com/go-redis/redis_rate"}
	cases := []struct {
		pkg       string
		forbidden []string
	}{
		// verifier is the domain: no storage backend, no gRPC, no server code.
		{"github.com/wsticket/wsticket/verifier", concat(server, grpc, wslibs, redis)},
		{"github.com/wsticket/wsticket/wsmiddleware", concat(server, grpc, wslibs, redis)},
		{"github.com/wsticket/wsticket/wsmiddleware/gorillaws", concat(server, grpc, wslibs[1:], redis)},
		{"github.com/wsticket/wsticket/wsmiddleware/coderws", concat(server, grpc, wslibs[:1], redis)},
		// clientlib wraps gRPC, and no server code, no Redis.
		{"github.com/wsticket/wsticket/clientlib", concat(server, redis)},
		// The Redis adapter holds no server code either: a WebSocket server
		// imports it to redeem straight from Redis.
		{"github.com/wsticket/wsticket/issuer/redisstore", concat(server[:1], server[2:], grpc, wslibs)},
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

// TestDomainIsStandardLibrary keeps verifier, the domain package, free of
// every third-party import: only the standard library and wsticket's own
// stdlib-only internals.
func TestDomainIsStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/wsticket/wsticket/verifier").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list listed nothing, not even verifier itself")
	}
	for _, d := range deps {
		if !strings.HasPrefix(d, "github.com/wsticket/wsticket/") {
			t.Errorf("verifier depends on the third-party package %s", d)
		}
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
