package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"errors"
	"strings"
)

// transfer is the common part of uploads, downloads and part uploads. uplink
// binds the context given at creation to the whole transfer, so each transfer
// gets its own cancellable child of the project context: uplink_py_cancel_*
// cancel it, closing the project cancels it through the parent, and each call
// on the transfer binds it to the calling thread's call context (op): the
// call's scope or timeout ending the call ends the transfer.
type transfer struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	proj   *project
}

// startTransfer creates the transfer context and runs create on it, as a call
// of the project (project.during). If the context was cancelled meanwhile,
// create's result is discarded with cleanup and a cancellation error is
// returned.
func startTransfer[T any](p *project, create func(context.Context) (T, error), cleanup func(T)) (transfer, T, *C.UplinkError) {
	var zero T
	ctx, cancel := context.WithCancelCause(p.ctx)
	done, err := p.during(ctx, cancel)
	if err != nil {
		cancel(err)
		return transfer{}, zero, newError(nil, err)
	}
	v, err := create(ctx)
	done()
	if err == nil && ctx.Err() != nil {
		cleanup(v)
		err = errors.Join(errors.New("uplink: canceled"), ctx.Err())
	}
	if err != nil {
		cerr := newError(ctx, err) // classify before cancel() marks ctx cancelled
		cancel(context.Canceled)
		return transfer{}, zero, cerr
	}
	return transfer{ctx: ctx, cancel: cancel, proj: p}, v, nil
}

// op binds the transfer to the thread's call context for one call on it; the
// returned func ends that.
func (t transfer) op() (done func()) {
	stop := threadCallContext().bind(t.cancel)
	unwatch := t.proj.watchdog(t.ctx)
	return func() {
		unwatch()
		stop()
	}
}

// alive fails with the cause once the transfer's context ended (cancelled, timed
// out): nothing may be written, read or committed on a transfer that ended, even
// if the uplink call that ran meanwhile succeeded.
func (t transfer) alive() error {
	if t.ctx.Err() != nil {
		return context.Cause(t.ctx)
	}
	return nil
}

// outcome is err, or the transfer's end if it ended while a read or write ran that
// succeeded (the transfer cannot go on: the caller must hear it).
func (t transfer) outcome(err error) error {
	if err == nil {
		return t.alive()
	}
	return err
}

// release cancels the transfer context (a no-op once it is finished).
func (t transfer) release() {
	if t.cancel != nil {
		t.cancel(context.Canceled)
	}
}

// writeReportingFailure is write(buf), except that a write racing with the upload's
// failure reports that failure: uplink's splitter, finished with the error of a
// failed segment upload between a Write's check and its write into the segment
// buffer, answers "WaitWrite called after DoneWriting" (an InternalError here, where
// the cause was, say, a refused permission). A second Write then meets the finished
// splitter and returns its error, writing nothing; were it to write, the bytes count.
func writeReportingFailure(write func([]byte) (int, error), buf []byte) (int, error) {
	n, err := write(buf)
	if err != nil && strings.Contains(err.Error(), "WaitWrite called after DoneWriting") {
		var m int
		m, err = write(buf[n:])
		n += m
	}
	return n, err
}
