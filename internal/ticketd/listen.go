package ticketd

import (
	"crypto/tls"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/wsticket/wsticket/internal/tlsconfig"
)

// listeners are ticketd's two bound sockets, and the gRPC transport
// credentials that go with them.
type listeners struct {
	http, grpc net.Listener
	// grpcCreds is TLS with the same certificate as HTTP, or an empty
	// option for plaintext.
	grpcCreds grpc.ServerOption
}

// listen binds the HTTP and gRPC addresses, wrapping both in TLS when
// serverTLS is set (nil: plaintext). It is the only step of Open that
// binds: everything that can refuse the configuration runs before it. The
// closer closes both listeners.
func listen(cfg *Config, serverTLS *tlsconfig.Reloader) (*listeners, func(), error) {
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("http listener: %w", err)
	}
	grpcLn, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		httpLn.Close()
		return nil, nil, fmt.Errorf("grpc listener: %w", err)
	}
	l := &listeners{http: httpLn, grpc: grpcLn, grpcCreds: grpc.EmptyServerOption{}}
	if serverTLS != nil {
		l.http = tls.NewListener(httpLn, serverTLS.ServerConfig("h2", "http/1.1"))
		l.grpcCreds = grpc.Creds(credentials.NewTLS(serverTLS.ServerConfig("h2")))
	}
	return l, func() { httpLn.Close(); grpcLn.Close() }, nil
}
