package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spacemonkeygo/monkit/v3"

	"storj.io/uplink"
)

// Settled satellite requests: a request of an upload that was sent to the
// satellite is answered, not cut off, when the upload is cancelled.
//
// uplink begins the object on the satellite (BeginObject, batched with the first
// segment's begin) in a goroutine of its own, and learns the pending object's id
// only from the answer; a cancelled upload deletes its pending object only if it
// learnt the id. A begin cut off in flight may still be carried out by the
// satellite: a pending object nobody can abort, holding the segments stored so far.
// A time-based grace did not close this: under load a begin can outlast any grace
// that keeps a cancellation prompt (with 200 ms, 1 in 2,000 cancelled uploads on 8
// threads left a pending object on a loaded 2-core machine).
//
// So an upload runs on settling(ctx). All of uplink's satellite requests go through
// storj.io/uplink/private/metaclient, whose functions each open a monkit span; for
// a metaclient function entered on such a context while it is not cancelled yet,
// the span observer below swaps in a context that the cancellation reaches only
// settleBound later (a satellite that does not answer by then is cut off as
// before). A function entered after the cancellation keeps its cancelled context,
// and drpc refuses to send on one, so no request is cut in flight. Transfers to
// storage nodes stop at once; only the upload's own goroutines wait for the answer.
const settleBound = 10 * time.Second

type settleKey struct{}

// settleMode values under settleKey.
type settleMode int

const (
	settleRequests settleMode = iota + 1 // metaclient functions entered here settle
	settledRequest                       // inside one that settles already
)

// settling marks ctx so that the satellite requests made on it settle.
func settling(ctx context.Context) context.Context {
	return context.WithValue(ctx, settleKey{}, settleRequests)
}

var metaclientScope = monkit.Default.ScopeNamed("storj.io/uplink/private/metaclient")

// settleObserver is attached to every monkit trace; it acts only on metaclient
// spans under a settling context.
type settleObserver struct{}

// settledCtx is the context a settled request runs on.
type settledCtx struct {
	context.Context
	release func()
}

func (settleObserver) Start(ctx context.Context, s *monkit.Span) context.Context {
	if s.Func().Scope() != metaclientScope || ctx.Err() != nil {
		return ctx
	}
	if mode, _ := ctx.Value(settleKey{}).(settleMode); mode != settleRequests {
		return ctx
	}
	later, release := graced(ctx, func() time.Duration { return settleBound })
	return &settledCtx{Context: context.WithValue(later, settleKey{}, settledRequest), release: release}
}

func (settleObserver) Finish(ctx context.Context, _ *monkit.Span, _ error, _ bool, _ time.Time) {
	if settled, ok := ctx.(*settledCtx); ok {
		settled.release()
	}
}

func init() {
	monkit.Default.ObserveTraces(func(t *monkit.Trace) { t.ObserveSpansCtx(settleObserver{}) })
}

// settleCall runs an uplink call that ends transfer t (a commit) and waits for its
// settling requests: it returns the call's error, or, once t is cancelled, the
// cancellation a grace later (a call on the user's thread returns within a second),
// the call going on in the background; its outcome is then unknown to the caller,
// as for a request cut off. ending is set first: an abort after it has nothing left
// to end, and must not queue behind the call (uplink holds the upload's lock).
func settleCall(t transfer, ending *atomic.Bool, f func() error) error {
	ending.Store(true)
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-t.ctx.Done():
	}
	grace := time.NewTimer(t.proj.times.grace())
	defer grace.Stop()
	select {
	case err := <-done:
		return err
	case <-grace.C:
		return context.Cause(t.ctx)
	}
}

// errCommitted is an abort's answer after a commit began (uplink's own words).
var errCommitted = fmt.Errorf("%w: already committed", uplink.ErrUploadDone)
