package main

import (
	"context"
	"sync"

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
// Streams (piece transfers to nodes, whose drpc server has the same flaw: seen on
// a node's connection too) are opened the same way. Once open, a cancellation
// reaches them as a soft cancel again: their invoke is in the connection's write
// buffer, ahead of any cancel frame, and uplink cancels its slowest pieces on every
// upload, so a redial for each would cost every upload.
type hardCancelConn struct{ rpcpool.RawConn }

func (c hardCancelConn) Invoke(ctx context.Context, rpc string, enc drpc.Encoding, in, out drpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	cancelled := c.closingOnCancel(ctx, func(unseen context.Context) {
		err = c.RawConn.Invoke(unseen, rpc, enc, in, out)
	})
	if cancelled && err != nil {
		return ctx.Err() // the call's end, not the closed connection it caused
	}
	return err
}

func (c hardCancelConn) NewStream(ctx context.Context, rpc string, enc drpc.Encoding) (drpc.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The stream's context: ctx's values, and its end only once the invoke is queued
	// (NewStream returned).
	streamCtx := &heldCtx{Context: context.WithoutCancel(ctx), parent: ctx, done: make(chan struct{})}
	var stream drpc.Stream
	var err error
	cancelled := c.closingOnCancel(ctx, func(context.Context) {
		stream, err = c.RawConn.NewStream(streamCtx, rpc, enc)
	})
	if cancelled || err != nil {
		streamCtx.end()
		if cancelled {
			return nil, ctx.Err() // not the closed connection it caused
		}
		return nil, err
	}
	forward := context.AfterFunc(ctx, streamCtx.end)
	context.AfterFunc(stream.Context(), func() { // ended: release both
		forward()
		streamCtx.end()
	})
	return stream, nil
}

// heldCtx is parent's values, and parent's end once end is called, with parent's
// error: uplink tells a node's message timeout (its own context's cause) from a
// cancellation by it, which a context.WithCancel of its own would turn into Canceled.
type heldCtx struct {
	context.Context // context.WithoutCancel(parent)
	parent          context.Context
	done            chan struct{}
	once            sync.Once
}

func (h *heldCtx) Done() <-chan struct{} { return h.done }

func (h *heldCtx) Err() error {
	select {
	case <-h.done:
		if err := h.parent.Err(); err != nil {
			return err
		}
		return context.Canceled // released after the stream ended
	default:
		return nil
	}
}

func (h *heldCtx) end() { h.once.Do(func() { close(h.done) }) }

// closingOnCancel runs call with ctx's values but not its cancellation (drpc would
// soft-cancel), closing the connection instead if ctx ends meanwhile; whether it did.
func (c hardCancelConn) closingOnCancel(ctx context.Context, call func(unseen context.Context)) bool {
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		_ = c.Transport().Close()
	})
	call(context.WithoutCancel(ctx))
	if stop() {
		return false
	}
	<-closed
	return true
}
