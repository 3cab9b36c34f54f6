package grpcapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/wsticket/wsticket/internal/ticketd"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// startTicketd runs the whole ticketd (embedded store) on loopback and
// returns a client connection to its gRPC API.
func startTicketd(t *testing.T) *grpc.ClientConn {
	t.Helper()
	m := &ticketd.Main{Config: &ticketd.Config{
		HTTPAddr:      "127.0.0.1:0",
		GRPCAddr:      "127.0.0.1:0",
		JWTSecret:     jwtSecret,
		ServiceKeys:   serviceKey,
		TicketTTL:     30 * time.Second,
		ShutdownGrace: time.Second,
	}}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	conn, err := grpc.NewClient(m.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestHealthServing(t *testing.T) {
	t.Parallel()
	conn := startTicketd(t)
	hc := healthpb.NewHealthClient(conn)
	for _, service := range []string{"", ticketv1.TicketService_ServiceDesc.ServiceName} {
		// The status of the named service is set by ticketd's first
		// readiness probe, which runs as it starts: allow it a moment.
		var last *healthpb.HealthCheckResponse
		var err error
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			last, err = hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
			if err == nil && last.GetStatus() == healthpb.HealthCheckResponse_SERVING {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil || last.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v, %v; want SERVING", service, last, err)
		}
	}
}

func TestReflectionRegistered(t *testing.T) {
	t.Parallel()
	conn := startTicketd(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"wsticket.v1.TicketService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, without %s", names, want)
		}
	}
	// The service's descriptor is served too, so grpcurl can call it.
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "wsticket.v1.TicketService"},
	}); err != nil {
		t.Fatal(err)
	}
	if res, err = stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if len(res.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("no file descriptor for wsticket.v1.TicketService: %v", res)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
}
