package harness

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// MaxMessageSize bounds the gRPC messages the harness sends and receives:
// large enough for big elements and side inputs, which a 4 MiB default
// would reject.
const MaxMessageSize = 512 << 20

// workerIDKey is the gRPC metadata key that names the worker on every call;
// runners that serve many workers on one endpoint route by it.
const workerIDKey = "worker_id"

// dial returns a connection to a Fn API endpoint whose calls all carry the
// worker id. The connection is made lazily, on the first call.
func dial(endpoint, workerID string) (*grpc.ClientConn, error) {
	withID := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, workerIDKey, workerID)
	}
	cc, err := grpc.NewClient(endpoint,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(withID(ctx), method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(withID(ctx), desc, cc, method, opts...)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("harness: dial %s: %w", endpoint, err)
	}
	return cc, nil
}
