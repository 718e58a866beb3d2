package main

// #include "uplink_definitions.h"
import "C"

import "context"

// iterator is the common part of the iterator handles. uplink's iterators keep
// the context they are created with, so each gets a child context of the
// project, registered in its in-flight set (uplink_py_cancel_project_calls
// cancels it) until the iterator is freed.
type iterator struct {
	ctx  context.Context
	done func()
	err  error // set when the iterator could not start (bad handle, closed project)
}

// start sets up the context; false (with it.err set) if the project is closed.
func (it *iterator) start(p *project) bool {
	ctx, done, err := p.call()
	if err != nil {
		it.err = err
		return false
	}
	it.ctx, it.done = ctx, done
	return true
}

// error reports the start error, else err (from the uplink iterator).
func (it *iterator) error(err error) *C.UplinkError {
	if it.err != nil {
		return newError(nil, it.err)
	}
	return newError(it.ctx, err)
}

// release cancels and unregisters the context.
func (it *iterator) release() {
	if it.done != nil {
		it.done()
	}
}
