package metrics

import (
	"context"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"google.golang.org/grpc"
)

// newGRPC returns go-grpc-middleware's server metrics, timed with Buckets:
// grpc_server_started_total, grpc_server_handled_total (by status code),
// grpc_server_msg_received_total, grpc_server_msg_sent_total and
// grpc_server_handling_seconds, each labelled grpc_type, grpc_service and
// grpc_method, so the dashboards and alerts written for them apply.
// Methods are those registered on the server (gRPC answers an unknown one
// before any interceptor runs), so the label set is bounded. Series appear
// with a method's first call.
func newGRPC() *grpcprom.ServerMetrics {
	return grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(Buckets)))
}

// UnaryServerInterceptor counts and times every unary RPC; see newGRPC.
// On a nil *Metrics it only calls the handler.
func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	if m == nil {
		return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(ctx, req)
		}
	}
	return m.grpc.UnaryServerInterceptor()
}

// StreamServerInterceptor counts and times every streaming RPC (a
// stream's time is its whole life) and its messages; see newGRPC. On a
// nil *Metrics it only calls the handler.
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	if m == nil {
		return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, ss)
		}
	}
	return m.grpc.StreamServerInterceptor()
}
