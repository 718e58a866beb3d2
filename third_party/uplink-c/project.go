package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"storj.io/common/rpc/rpcpool"
	"storj.io/uplink"
)

// project is the Go value behind an UplinkProject handle.
//
// Every call on it runs on its own child context of ctx, bound to the calling
// thread's call context (call_context.go) and registered in calls while it
// runs, so uplink_py_cancel_project_calls can cancel what is in flight without
// touching later calls. Transfers and iterators derive from ctx too, so closing
// the project cancels them.
type project struct {
	uplink *uplink.Project
	ctx    context.Context
	cancel context.CancelFunc

	times callTimes     // of satellite calls: the grace of cancellations (call_context.go)
	conns *connSet      // every connection dialed for the project (watchdog)
	pool  *rpcpool.Pool // the project's own connection pool (tuning.go), else nil: uplink's

	background goroutines // commits and aborts going on after their caller returned (ending.go)

	mu     sync.Mutex
	nextID uint64
	calls  map[uint64]func()
	owned  map[string]ownedUpload // multipart uploads close aborts, by upload id (own)
	closed bool
}

// ownedUpload is a multipart upload begun with abort_on_close: the program's own
// (uplink_py's engine: parallel parts, the streaming writer), never one to resume
// from another process. Closed while its parts are in flight, the project aborts it:
// the caller's own abort would come after the close and fail, leaving it pending.
type ownedUpload struct{ bucket, key string }

// own records an upload close must abort; disown forgets it (committed or aborted).
// A begin that returned after the close took the owned uploads (its request settled,
// call_context.go) is aborted here, and own fails: its caller's later abort could not.
func (p *project) own(bucket, key, uploadID string) error {
	p.mu.Lock()
	if !p.closed {
		defer p.mu.Unlock()
		if p.owned == nil {
			p.owned = map[string]ownedUpload{}
		}
		p.owned[uploadID] = ownedUpload{bucket, key}
		return nil
	}
	p.mu.Unlock()
	p.abort(map[string]ownedUpload{uploadID: {bucket, key}})
	return errProjectClosed
}

func (p *project) disown(uploadID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.owned, uploadID)
}

// abortOwned aborts the owned uploads left, within closeWait in all (not interruptible:
// close's callers expect nothing pending after it). Their parts were cancelled with the
// project's calls and waited for (background): one stuck past that wait could still
// land a segment after the abort, which the satellite's cleanup of zombie segments takes.
func (p *project) abortOwned() {
	p.mu.Lock()
	owned := p.owned
	p.owned = nil
	p.mu.Unlock()
	p.abort(owned)
}

// abort aborts the uploads at once, within closeWait in all, whatever their outcome.
func (p *project) abort(owned map[string]ownedUpload) {
	if len(owned) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	var wg sync.WaitGroup
	for id, u := range owned {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.uplink.AbortUpload(ctx, u.bucket, u.key, id)
		}()
	}
	wg.Wait()
}

var errProjectClosed = errors.New("uplink: project is closed")

func newProject(p *uplink.Project, ctx context.Context, cancel context.CancelFunc, conns *connSet) *project {
	return &project{uplink: p, ctx: ctx, cancel: cancel, conns: conns, calls: map[uint64]func(){}}
}

// stuckMargin: a call still running this long after its grace ended ignores its
// cancellation.
// Seen: with every storage node resetting its connections, a download's own retry
// asked the satellite for new orders and its drpc stream waited 65-89 s after the
// transfer timeout had cancelled it, on a pooled connection that never answered.
// Such a call gets its project's connections closed (the pools dial new ones),
// which ends it with a connection error: a last resort that also fails the other
// calls in flight on those connections, and only after stuckAfter of being stuck.
const stuckMargin = 500 * time.Millisecond

// stuckAfter is the grace, then stuckMargin for the call to return.
func (p *project) stuckAfter() time.Duration { return p.times.grace() + stuckMargin }

// watchdog closes the project's connections if a call on ctx is still running
// stuckAfter() after ctx was cancelled; stop ends the watch when the call returns.
func (p *project) watchdog(ctx context.Context) (stop func()) {
	var mu sync.Mutex
	var timer *time.Timer
	returned := false
	unhook := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !returned {
			timer = time.AfterFunc(p.stuckAfter(), p.conns.drop)
		}
	})
	return func() {
		unhook()
		mu.Lock()
		returned = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
	}
}

// register adds cancel to the in-flight set; the returned func removes it.
func (p *project) register(cancel func()) (unregister func(), err error) {
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

// call starts a project-level call: a child context of the project, bound to
// the thread's call context and in the in-flight set until done is called. The
// context returned, for uplink, follows a cancellation a grace late (graced):
// the satellite's answer on a pooled connection is waited for rather than cut off.
// Cut off, the connection could wedge: measured, after 640 satellite calls
// cancelled 0-3 ms in on 16 threads, 2-4 of the next calls never got an answer (the
// drpc stream waited on a connection whose previous stream was cancelled) until the
// call timeout ended them; with the grace, none did. A cancelled call thus returns
// within the grace, with its result if it completed by then.
func (p *project) call() (ctx context.Context, done func(), err error) {
	ctx, cancel := context.WithCancelCause(p.ctx)
	finished, err := p.during(ctx, cancel)
	if err != nil {
		cancel(err)
		return nil, nil, err
	}
	if ctx.Err() != nil { // its scope was cancelled before it started: no grace, no call
		err := context.Cause(ctx)
		finished()
		return nil, nil, err
	}
	rpc, settle := graced(ctx, p.times.grace)
	started := time.Now()
	return rpc, func() {
		if ctx.Err() == nil {
			p.times.observe(time.Since(started))
		}
		settle()
		finished()
		cancel(nil)
	}, nil
}

// during makes cancel (of ctx: a call's, an iterator's or a transfer's context)
// reachable while a call runs, through the thread's call context and the in-flight
// set, and watches the call for ignoring it (watchdog).
func (p *project) during(ctx context.Context, cancel context.CancelCauseFunc) (done func(), err error) {
	unregister, err := p.register(func() { cancel(context.Canceled) })
	if err != nil {
		return nil, err
	}
	stop := threadCallContext().bind(cancel)
	unwatch := p.watchdog(ctx)
	return func() {
		unwatch()
		stop()
		unregister()
	}, nil
}

// cancelCalls cancels every call in flight; the project stays usable.
func (p *project) cancelCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cancel := range p.calls {
		cancel()
	}
}

// closeWait: how long close waits for the ends of uploads still talking to the
// satellite (normally a round trip or two).
const closeWait = 2 * time.Second

// close cancels everything in flight (calls and transfers) and closes the
// project; closing again is a no-op. interruptible: called by the user (the
// thread's call context holds this call's scope), not by a handle being freed.
func (p *project) close(interruptible bool) error {
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
	// Commits and aborts may still wait for the satellite's answers (settle.go):
	// close waits for them (an abort cut off could leave its pending object) up to
	// closeWait, or until the close call is cancelled; then their connections go,
	// so that nothing of the project runs on after its close returned.
	wait := context.Background()
	if interruptible {
		ctx, stop := scoped(wait)
		defer stop()
		wait = ctx
	}
	if !p.background.wait(wait, closeWait) {
		p.conns.drop()
		p.background.wait(context.Background(), stuckMargin)
	}
	p.abortOwned()
	err := p.uplink.Close()
	if p.pool != nil {
		err = errors.Join(err, p.pool.Close())
	}
	// Transfers cancelled just above may have closed their pooled connections
	// already; closing those again is not a failure of this close.
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// goroutines counts the goroutines a project's close waits for. (A WaitGroup would
// not do: one may start while close waits.)
type goroutines struct {
	mu      sync.Mutex
	n       int
	waiters []chan struct{}
}

func (g *goroutines) add() {
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
}

func (g *goroutines) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n--; g.n == 0 {
		for _, w := range g.waiters {
			close(w)
		}
		g.waiters = nil
	}
}

// wait waits until none runs, at most d or until ctx ends; it reports whether
// none does.
func (g *goroutines) wait(ctx context.Context, d time.Duration) bool {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return true
	}
	w := make(chan struct{})
	g.waiters = append(g.waiters, w)
	g.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-w:
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
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
	return uplink_py_config_open_project(config, C.UplinkPyTransferConfig{}, access)
}

// uplink_py_config_open_project is uplink_config_open_project with transfer
// tuning (tuning.go).
//
//export uplink_py_config_open_project
func uplink_py_config_open_project(config C.UplinkConfig, transfer C.UplinkPyTransferConfig, access *C.UplinkAccess) (result C.UplinkProjectResult) {
	defer recoverError(&result.error)
	acc, cerr := getAccess(access)
	if cerr != nil {
		return C.UplinkProjectResult{error: cerr}
	}
	tune, err := goTuning(transfer)
	if err != nil {
		return C.UplinkProjectResult{error: newError(nil, err)}
	}
	conns := &connSet{}
	cfg, withTemp := goConfig(config, conns)
	tunedCtx, pool, err := tune.apply(withTemp(context.Background()), &cfg)
	if err != nil {
		return C.UplinkProjectResult{error: newError(nil, err)}
	}
	ctx, cancel := context.WithCancel(tunedCtx)
	openCtx, opened := scoped(ctx)
	p, err := cfg.OpenProject(openCtx, acc)
	if err == nil && openCtx.Err() != nil { // cancelled as it succeeded: nobody gets it
		_ = p.Close()
		err = openCtx.Err()
	}
	if err != nil {
		cerr := newError(openCtx, err)
		opened()
		cancel()
		if pool != nil {
			_ = pool.Close()
		}
		return C.UplinkProjectResult{error: cerr}
	}
	opened()
	proj := newProject(p, ctx, cancel, conns)
	proj.pool = pool
	return C.UplinkProjectResult{project: newHandleStruct[C.UplinkProject](proj)}
}

//export uplink_close_project
func uplink_close_project(p *C.UplinkProject) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	proj, cerr := getProject(p)
	if cerr != nil {
		return cerr
	}
	return newError(nil, proj.close(true))
}

// uplink_free_project_result closes the project if nothing did (a project
// nobody can reach any more must not keep its connections and goroutines).
//
//export uplink_free_project_result
func uplink_free_project_result(result C.UplinkProjectResult) {
	defer recoverSilently()
	if proj, ok := freeHandleStruct(result.project).(*project); ok {
		_ = proj.close(false)
	}
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
