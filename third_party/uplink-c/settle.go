package main

import (
	"context"
	"time"

	"github.com/spacemonkeygo/monkit/v3"
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
// and drpc refuses to send on one; one entered before runs to its end (its own
// retries, a dial it waits for, included), so none is cut in flight. Transfers to
// storage nodes stop at once; the upload's end (ending.go) waits for the answers,
// in the background once its caller was given up on.
const settleBound = 10 * time.Second

type settleKey struct{}

// settleMode marks, under settleKey, a context whose requests settle; inside a
// settled request the value there is its *settledCtx.
type settleMode int

const settleRequests settleMode = 1

// settling marks ctx so that the satellite requests made on it settle.
func settling(ctx context.Context) context.Context {
	return context.WithValue(ctx, settleKey{}, settleRequests)
}

var metaclientScope = monkit.Default.ScopeNamed("storj.io/uplink/private/metaclient")

// settleObserver is attached to every monkit trace; it acts only on metaclient
// spans under a settling context.
type settleObserver struct{}

// settledCtx is the context a settled request runs on; nested spans see it under
// settleKey and leave it alone.
type settledCtx struct {
	context.Context
	span    *monkit.Span
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
	settled := &settledCtx{span: s, release: release}
	settled.Context = context.WithValue(later, settleKey{}, settled)
	return settled
}

// Finish releases the settled context of the span that opened it (found by value:
// another observer may have wrapped the context).
func (settleObserver) Finish(ctx context.Context, s *monkit.Span, _ error, _ bool, _ time.Time) {
	if settled, ok := ctx.Value(settleKey{}).(*settledCtx); ok && settled.span == s {
		settled.release()
	}
}

func init() {
	monkit.Default.ObserveTraces(func(t *monkit.Trace) { t.ObserveSpansCtx(settleObserver{}) })
}
