package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"storj.io/uplink"
)

// ending is the end of an upload or a part upload: uplink's Commit or Abort, run
// once. Its satellite requests settle (settle.go) for up to settleBound, longer than
// a call on the user's thread may take, so the call runs in a goroutine of the
// project's: the caller waits for it until giveUp, then it goes on in the
// background (the project's close waits up to closeWait for it, project.close).
type ending struct {
	by   atomic.Pointer[string] // "committed" or "aborted": which call ended it
	done chan struct{}          // closed when that call returned
}

func newEnding() *ending { return &ending{done: make(chan struct{})} }

// run runs f as the end called name, unless the transfer has one already (then
// uplink's ErrUploadDone, at once: an abort must not queue behind a commit, whose
// upload lock uplink holds). It returns f's error, or gaveUp's once giveUp closes.
func (e *ending) run(p *project, name string, giveUp <-chan struct{}, gaveUp func() error, f func() error) error {
	if !e.by.CompareAndSwap(nil, &name) {
		return fmt.Errorf("%w: already %s", uplink.ErrUploadDone, *e.by.Load())
	}
	result := make(chan error, 1)
	p.background.add()
	go func() {
		defer p.background.done()
		err := f()
		close(e.done) // before the caller hears: info() right after must not find it busy
		result <- err
	}()
	select {
	case err := <-result:
		return err
	case <-giveUp:
		select {
		case err := <-result: // both ready: the outcome wins
			return err
		default:
			return gaveUp()
		}
	}
}

// busy: a commit or abort is still going on in the background.
func (e *ending) busy() bool {
	if e.by.Load() == nil {
		return false
	}
	select {
	case <-e.done:
		return false
	default:
		return true
	}
}

var errEnding = errors.New("uplink: the upload's commit or abort is still going on")

// commit ends t with uplink's commit: the caller hears the outcome, or, a grace
// after t is cancelled (a call on the user's thread returns within a second), the
// cancellation, the commit going on; its outcome is then unknown to the caller, as
// for a request cut off. The caller releases t once it classified the outcome.
func (e *ending) commit(t transfer, f func() error) error {
	later, stop := graced(t.ctx, t.proj.times.grace)
	defer stop()
	return e.run(t.proj, "committed", later.Done(), func() error { return context.Cause(t.ctx) }, f)
}

// abort ends t with uplink's abort (after a commit: ErrUploadDone). It releases t
// first, which stops the transfers to storage nodes; uplink then waits for its
// settling requests and deletes the pending object. The caller waits stuckAfter at
// most (about a second); the rest goes on in the background.
func (e *ending) abort(t transfer, f func() error) error {
	// Not bound to the thread's scope: an abort often runs in the very scope whose
	// cancellation caused it (an asyncio task's), and must still wait for its answers.
	giveUp, cancel := context.WithTimeout(context.Background(), t.proj.stuckAfter())
	defer cancel()
	return e.run(t.proj, "aborted", giveUp.Done(), func() error { return nil }, func() error {
		t.release()
		// uplink's abort deletes the pending object on a connection that is not
		// cancellable (WithoutCancellation): stuck there, the project's connections go.
		stuck := time.AfterFunc(abortStuck, t.proj.conns.drop)
		defer stuck.Stop()
		return f()
	})
}

// abortStuck: an abort still running this long is stuck: uplink waits for its
// settling requests (at most settleBound), then deletes the pending object.
const abortStuck = settleBound + 5*time.Second
