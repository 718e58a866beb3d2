package main

import (
	"context"

	"storj.io/common/rpc/rpcpool"
	"storj.io/drpc"
)

// hardCancelConn ends a cancelled unary call (every satellite request) by closing
// its connection, not with drpc's soft cancel.
//
// storj's dialer turns soft cancel on: a cancelled call sends a cancel frame and
// the connection goes back to the pool. A call cancelled after drpc opened its
// stream but before the invoke frame went out sends a cancel for a stream the
// server never saw begin. The drpc server of the satellites and nodes (v0.0.35 in
// storj v1.162.3) then waits for that stream to begin (drpcmanager manageReader,
// streamBuffer.Wait), reading nothing more from the connection and never closing
// it. Found by the suite: the satellite held such connections with unread requests
// for 13 minutes; each later call the pool put on one waited out its whole call
// timeout (120 s), call after call, until a test timed out. Closing the connection
// instead is drpc's own hard cancel; the price is a redial after a cancelled call.
//
// Streams (piece transfers to nodes) keep soft cancel: their invoke goes out when
// the stream opens, and uplink cancels slow pieces as a matter of course, so a
// redial for each would cost every upload.
type hardCancelConn struct{ rpcpool.RawConn }

func (c hardCancelConn) Invoke(ctx context.Context, rpc string, enc drpc.Encoding, in, out drpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		_ = c.Transport().Close()
	})
	// drpc must not see the cancellation (it would soft-cancel): it sees values only.
	err := c.RawConn.Invoke(context.WithoutCancel(ctx), rpc, enc, in, out)
	if !stop() {
		<-closed
		if err != nil {
			return ctx.Err() // the call's end, not the closed connection it caused
		}
	}
	return err
}
