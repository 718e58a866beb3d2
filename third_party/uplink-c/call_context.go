package main

// #include "call_context.h"
// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Which calls a cancellation reaches, and how long a call may take.
//
// Before each blocking call, C++ stores the call's context on its thread
// (uplink_py_set_call_context): a cancellation scope and a timeout. A scope is
// an id of C++'s: the call's own (Ctrl-C on the main thread cancels only that
// call), or one a Python operation opened for all its calls (an asyncio task, a
// parallel transfer). uplink_py_cancel_scope cancels the calls running in the
// scope and the ones that start in it later, and nothing else. A Go call reads
// the context on entry: cgo runs an export on the thread of its C caller.
type callContext struct {
	scope   C.size_t
	timeout time.Duration // 0: none
}

func threadCallContext() callContext {
	return callContext{
		scope:   C.uplink_py_thread_scope(),
		timeout: time.Duration(C.uplink_py_thread_timeout_ms()) * time.Millisecond,
	}
}

// uplink_py_set_call_context sets the context of the calling thread's next
// calls: scope 0 is none, timeout_milliseconds <= 0 is no timeout.
//
//export uplink_py_set_call_context
func uplink_py_set_call_context(scope C.size_t, timeout_milliseconds C.int64_t) {
	C.uplink_py_store_call_context(scope, timeout_milliseconds)
}

// callTimeoutError is the cause of a context a call's timeout cancelled.
type callTimeoutError struct{ timeout time.Duration }

func (e *callTimeoutError) Error() string {
	return fmt.Sprintf("uplink: call timeout (%v) exceeded", e.timeout)
}

// bind makes cancel run when the call's scope is cancelled (cause
// context.Canceled) or its timeout passes (cause *callTimeoutError), until the
// returned stop is called. A scope cancelled already runs cancel at once.
func (c callContext) bind(cancel context.CancelCauseFunc) (stop func()) {
	leave := enterScope(c.scope, func() { cancel(context.Canceled) })
	if c.timeout <= 0 {
		return leave
	}
	timer := time.AfterFunc(c.timeout, func() { cancel(&callTimeoutError{timeout: c.timeout}) })
	return func() {
		timer.Stop()
		leave()
	}
}

// scoped is a child of parent bound to the thread's call context; done must be
// called when the call returns.
func scoped(parent context.Context) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancelCause(parent)
	stop := threadCallContext().bind(cancel)
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// The grace: how long the satellite's answer is still waited for after a call was
// cancelled. Cut off mid-answer, a call leaves its outcome unknown (an object or
// upload begun whose id nobody got: a pending upload, billed, never aborted; a commit
// done but reported as cancelled), and the pooled connection it ran on could wedge
// (see project.call). An answer already on its way takes about one call's time, so
// the grace is four times the slowest of the project's last 32 satellite calls,
// within [minGrace, settleGrace] (settleGrace until a call was timed): 200 ms on
// loopback, over a WAN up to 500. The floor is for a burst of calls, each slower than
// the recent ones. A cancelled call still returns within the 1 s the package
// promises. (Uploads settle instead: their requests are all answered, settle.go.)
const (
	settleGrace = 500 * time.Millisecond
	minGrace    = 200 * time.Millisecond
)

// callTimes keeps the durations of a project's last satellite calls.
type callTimes struct {
	mu     sync.Mutex
	recent [32]time.Duration
	next   int
	filled bool
}

func (c *callTimes) observe(d time.Duration) {
	c.mu.Lock()
	c.recent[c.next] = d
	c.next = (c.next + 1) % len(c.recent)
	c.filled = true
	c.mu.Unlock()
}

// grace is the project's current grace (see above).
func (c *callTimes) grace() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.filled {
		return settleGrace
	}
	slowest := time.Duration(0)
	for _, d := range c.recent {
		slowest = max(slowest, d)
	}
	return min(settleGrace, max(minGrace, 4*slowest))
}

// graced is a context that parent's cancellation reaches grace() late, with
// parent's cause; stop releases it.
// The pending timer goes with stop (it holds ctx, and what uplink keeps in it,
// for the whole grace: 10 s for a settling request).
func graced(parent context.Context, grace func() time.Duration) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	var mu sync.Mutex
	var timer *time.Timer
	stopped := false
	unhook := context.AfterFunc(parent, func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			timer = time.AfterFunc(grace(), func() { cancel(context.Cause(parent)) })
		}
	})
	return ctx, func() {
		unhook()
		mu.Lock()
		stopped = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(nil)
	}
}

type scope struct {
	cancelled bool
	calls     map[uint64]func()
}

// scopes holds the scopes that have calls running or were cancelled, until
// C++ ends them (uplink_py_end_scope).
var scopes = struct {
	mu   sync.Mutex
	next uint64
	byID map[C.size_t]*scope
}{byID: map[C.size_t]*scope{}}

// getScope returns the scope of id, made if needed (scopes.mu held).
func getScope(id C.size_t) *scope {
	s := scopes.byID[id]
	if s == nil {
		s = &scope{calls: map[uint64]func(){}}
		scopes.byID[id] = s
	}
	return s
}

// enterScope registers cancel in scope id (0: none) until leave is called; a
// scope cancelled already runs it at once.
func enterScope(id C.size_t, cancel func()) (leave func()) {
	if id == 0 {
		return func() {}
	}
	scopes.mu.Lock()
	s := getScope(id)
	if s.cancelled {
		scopes.mu.Unlock()
		cancel()
		return func() {}
	}
	scopes.next++
	n := scopes.next
	s.calls[n] = cancel
	scopes.mu.Unlock()
	return func() {
		scopes.mu.Lock()
		defer scopes.mu.Unlock()
		delete(s.calls, n)
		if len(s.calls) == 0 && !s.cancelled && scopes.byID[id] == s {
			delete(scopes.byID, id)
		}
	}
}

// uplink_py_cancel_scope cancels the calls running in scope id and every call
// made in it until uplink_py_end_scope.
//
//export uplink_py_cancel_scope
func uplink_py_cancel_scope(id C.size_t) {
	defer recoverSilently()
	if id == 0 {
		return
	}
	scopes.mu.Lock()
	s := getScope(id)
	s.cancelled = true
	calls := s.calls
	s.calls = map[uint64]func(){}
	scopes.mu.Unlock()
	for _, cancel := range calls {
		cancel()
	}
}

// uplink_py_end_scope forgets scope id: C++ uses an id no more after this.
//
//export uplink_py_end_scope
func uplink_py_end_scope(id C.size_t) {
	defer recoverSilently()
	scopes.mu.Lock()
	delete(scopes.byID, id)
	scopes.mu.Unlock()
}

// uplink_py_cancel_project_calls cancels the calls and iterator steps running
// on the project at this moment, on every thread; later calls run normally.
// Transfers have their own uplink_py_cancel_* (upload.go, download.go,
// multipart.go).
//
//export uplink_py_cancel_project_calls
func uplink_py_cancel_project_calls(p *C.UplinkProject) {
	defer recoverSilently()
	if proj, ok := lookup[*project](handleID(p)); ok {
		proj.cancelCalls()
	}
}

// uplink_py_debug_counts reports what the Go layer holds now, for leak tests:
// goroutines, live handles, and scopes with calls running or cancelled; and how many
// download streams were retried, and projects' connections dropped (watchdog), so far.
//
//export uplink_py_debug_counts
func uplink_py_debug_counts(goroutines, handles, liveScopes, retried, dropped *C.int64_t) {
	defer recoverSilently()
	*retried = C.int64_t(retriedReads.Load())
	*dropped = C.int64_t(droppedPools.Load())
	*goroutines = C.int64_t(runtime.NumGoroutine())
	universe.mu.Lock()
	*handles = C.int64_t(len(universe.values))
	universe.mu.Unlock()
	scopes.mu.Lock()
	*liveScopes = C.int64_t(len(scopes.byID))
	scopes.mu.Unlock()
}

// uplink_py_debug_stacks returns the stacks of every goroutine (for diagnosing a hang);
// freed with uplink_free_string_result.
//
//export uplink_py_debug_stacks
func uplink_py_debug_stacks() (result C.UplinkStringResult) {
	defer recoverError(&result.error)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return C.UplinkStringResult{string: C.CString(string(buf[:n]))}
		}
		buf = make([]byte, 2*len(buf))
	}
}
