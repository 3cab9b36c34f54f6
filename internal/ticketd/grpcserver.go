package ticketd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/wsticket/wsticket/internal/grpcapi"
	"github.com/wsticket/wsticket/internal/revhub"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// newGRPCServer builds the gRPC server: the ticket API, with revocation
// streams sharing hub's one subscription, gRPC health (returned, so the
// caller keeps it in step with the store) and reflection. creds is the
// transport (TLS, or grpc.EmptyServerOption for plaintext). The closer
// stops gracefully, and stops hard when its context ends first.
func newGRPCServer(p *parts, hub *revhub.Hub, creds grpc.ServerOption) (*grpc.Server, *health.Server, func(context.Context) error) {
	srv := grpc.NewServer(
		creds,
		grpc.MaxRecvMsgSize(64<<10),
		grpc.MaxHeaderListSize(16<<10), // a bearer credential is at most 8 KiB
		grpc.MaxConcurrentStreams(256),
		grpc.ConnectionTimeout(5*time.Second),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// MaxConnectionAge moves clients' connections (gRPC balances per
		// connection) onto replicas added since; a revocation stream cut by
		// it resubscribes and catches up.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute, Time: time.Minute, Timeout: 20 * time.Second,
			MaxConnectionAge: 30 * time.Minute, MaxConnectionAgeGrace: time.Minute}),
		grpc.ChainUnaryInterceptor(p.metrics.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(p.metrics.StreamServerInterceptor()),
	)
	ticketv1.RegisterTicketServiceServer(srv, grpcapi.New(grpcapi.Options{
		Service: p.service, JWT: p.login, Authorizer: p.authz, Logger: p.logger, Limits: p.limits, Stopping: p.stopping, Metrics: p.metrics,
		Revocations: hub,
	}))
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	stop := func(ctx context.Context) error {
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			srv.Stop()
			<-done
		}
		return nil
	}
	return srv, hs, stop
}

// serveGRPC serves srv on ln until the server is stopped.
func serveGRPC(srv *grpc.Server, ln net.Listener, log *slog.Logger) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		log.Error("grpc server stopped", "error", err)
	}
}
