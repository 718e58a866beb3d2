package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"errors"
)

// transfer is the common part of uploads, downloads and part uploads. uplink
// binds the context given at creation to the whole transfer, so each transfer
// gets its own cancellable child of the project context: uplink_py_cancel_*
// cancel it, closing the project cancels it through the parent.
type transfer struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// startTransfer creates the transfer context and runs create on it. While
// create runs, the context is also in the project's in-flight set, so
// uplink_py_cancel_project_calls can interrupt the creation. If the context was
// cancelled meanwhile, create's result is discarded with cleanup and a
// cancellation error is returned.
func startTransfer[T any](p *project, create func(context.Context) (T, error), cleanup func(T)) (transfer, T, *C.UplinkError) {
	var zero T
	ctx, cancel := context.WithCancel(p.ctx)
	unregister, err := p.register(cancel)
	if err != nil {
		cancel()
		return transfer{}, zero, newError(nil, err)
	}
	v, err := create(ctx)
	unregister()
	if err == nil && ctx.Err() != nil {
		cleanup(v)
		err = errors.Join(errors.New("uplink: canceled"), ctx.Err())
	}
	if err != nil {
		cerr := newError(ctx, err) // classify before cancel() marks ctx cancelled
		cancel()
		return transfer{}, zero, cerr
	}
	return transfer{ctx: ctx, cancel: cancel}, v, nil
}

// release cancels the transfer context (a no-op once it is finished).
func (t transfer) release() {
	if t.cancel != nil {
		t.cancel()
	}
}
