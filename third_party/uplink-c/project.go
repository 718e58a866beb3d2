package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"errors"
	"net"
	"sync"

	"storj.io/uplink"
)

// project is the Go value behind an UplinkProject handle.
//
// Every call on it runs on its own child context of ctx, registered in calls
// while it runs, so uplink_py_cancel_project_calls can cancel what is in flight
// without touching later calls. Transfers (uploads, downloads, part uploads)
// derive from ctx too, so closing the project cancels them.
type project struct {
	uplink *uplink.Project
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	nextID uint64
	calls  map[uint64]context.CancelFunc
	closed bool
}

var errProjectClosed = errors.New("uplink: project closed")

func newProject(p *uplink.Project, ctx context.Context, cancel context.CancelFunc) *project {
	return &project{uplink: p, ctx: ctx, cancel: cancel, calls: map[uint64]context.CancelFunc{}}
}

// register adds cancel to the in-flight set; the returned func removes it.
func (p *project) register(cancel context.CancelFunc) (unregister func(), err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errProjectClosed
	}
	p.nextID++
	id := p.nextID
	p.calls[id] = cancel
	return func() {
		p.mu.Lock()
		delete(p.calls, id)
		p.mu.Unlock()
	}, nil
}

// call starts a project-level call: a cancellable child context registered in
// the in-flight set. done must be called when the call returns.
func (p *project) call() (ctx context.Context, done func(), err error) {
	ctx, cancel := context.WithCancel(p.ctx)
	unregister, err := p.register(cancel)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return ctx, func() { unregister(); cancel() }, nil
}

// cancelCalls cancels every call in flight; the project stays usable.
func (p *project) cancelCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cancel := range p.calls {
		cancel()
	}
}

// close cancels everything in flight (calls and transfers) and closes the
// project; closing again is a no-op.
func (p *project) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for _, cancel := range p.calls {
		cancel()
	}
	p.mu.Unlock()
	p.cancel()
	err := p.uplink.Close()
	// Transfers cancelled just above may have closed their pooled connections
	// already; closing those again is not a failure of this close.
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// getProject resolves an UplinkProject handle.
func getProject(p *C.UplinkProject) (*project, *C.UplinkError) {
	v, ok := lookup[*project](handleID(p))
	if !ok {
		return nil, invalidHandle()
	}
	return v, nil
}

// projectCall resolves the handle and starts a call on it (see project.call).
func projectCall(p *C.UplinkProject) (*project, context.Context, func(), *C.UplinkError) {
	proj, cerr := getProject(p)
	if cerr != nil {
		return nil, nil, nil, cerr
	}
	ctx, done, err := proj.call()
	if err != nil {
		return nil, nil, nil, newError(nil, err)
	}
	return proj, ctx, done, nil
}

//export uplink_open_project
func uplink_open_project(access *C.UplinkAccess) (result C.UplinkProjectResult) {
	defer recoverError(&result.error)
	return uplink_config_open_project(C.UplinkConfig{}, access)
}

//export uplink_config_open_project
func uplink_config_open_project(config C.UplinkConfig, access *C.UplinkAccess) (result C.UplinkProjectResult) {
	defer recoverError(&result.error)
	acc, cerr := getAccess(access)
	if cerr != nil {
		return C.UplinkProjectResult{error: cerr}
	}
	cfg, withTemp := goConfig(config)
	ctx, cancel := context.WithCancel(withTemp(context.Background()))
	p, err := cfg.OpenProject(ctx, acc)
	if err != nil {
		cancel()
		return C.UplinkProjectResult{error: newError(ctx, err)}
	}
	return C.UplinkProjectResult{project: newHandleStruct[C.UplinkProject](newProject(p, ctx, cancel))}
}

//export uplink_close_project
func uplink_close_project(p *C.UplinkProject) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	proj, cerr := getProject(p)
	if cerr != nil {
		return cerr
	}
	return newError(nil, proj.close())
}

//export uplink_free_project_result
func uplink_free_project_result(result C.UplinkProjectResult) {
	defer recoverSilently()
	freeHandleStruct(result.project)
	uplink_free_error(result.error)
}

//export uplink_revoke_access
func uplink_revoke_access(p *C.UplinkProject, access *C.UplinkAccess) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	acc, cerr := getAccess(access)
	if cerr != nil {
		return cerr
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	return newError(ctx, proj.uplink.RevokeAccess(ctx, acc))
}
