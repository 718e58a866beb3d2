package main

// #include "uplink_definitions.h"
import "C"

import "context"

// iterator is the common part of the iterator handles. uplink's iterators keep
// the context they are created with: each gets a child context of the project,
// which a step (next) in flight makes cancellable like a call (project.during).
// Cancelling a step ends the iterator; idle iterators are never touched. uplink
// lists on uctx, which follows ctx a grace late, as calls do (project.call).
type iterator struct {
	proj   *project
	ctx    context.Context
	uctx   context.Context
	cancel context.CancelCauseFunc
	err    error // set when the iterator could not start (bad handle, closed project)
}

// start sets up the context.
// A closed project fails at the first step (project.during).
func (it *iterator) start(p *project) bool {
	it.proj = p
	it.ctx, it.cancel = context.WithCancelCause(p.ctx)
	it.uctx, _ = graced(it.ctx, p.times.grace) // released with it.ctx
	return true
}

// step runs next (which may fetch a page) as a call on the iterator's context.
func (it *iterator) step(next func() bool) bool {
	if it.proj == nil {
		return false
	}
	if it.ctx.Err() != nil { // a step was cancelled: the iterator ended
		return false
	}
	done, err := it.proj.during(it.ctx, it.cancel)
	if err != nil {
		it.err = err
		return false
	}
	defer done()
	if it.ctx.Err() != nil { // its scope was cancelled before it started
		return false
	}
	return next()
}

// error reports the start error, else err (from the uplink iterator).
func (it *iterator) error(err error) *C.UplinkError {
	if it.err != nil {
		return newError(nil, it.err)
	}
	if err == nil && it.ctx != nil && it.ctx.Err() != nil {
		err = context.Cause(it.ctx) // cancelled: the listing did not end, it was cut
	}
	return newError(it.ctx, err)
}

// release cancels the context.
func (it *iterator) release() {
	if it.cancel != nil {
		it.cancel(context.Canceled)
	}
}
