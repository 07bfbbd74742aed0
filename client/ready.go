package client

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// readyPoll is how often WaitReady asks.
const readyPoll = 50 * time.Millisecond

// WaitReady waits until the server's grpc.health.v1 says SERVING (a
// starting server answers Unavailable until its storage is open), or ctx
// ends; then it returns the last error.
func (c *Client) WaitReady(ctx context.Context) error {
	hc := healthpb.NewHealthClient(c.conn)
	for {
		res, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if err == nil {
			err = status.Errorf(codes.Unavailable, "server %s", res.GetStatus())
		}
		select {
		case <-ctx.Done():
			return callError("wait for server", err)
		case <-time.After(readyPoll):
		}
	}
}
