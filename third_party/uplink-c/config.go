package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"storj.io/common/fpath"
	"storj.io/common/rpc/rpcpool"
	"storj.io/uplink"
)

// droppedPools counts connSet.drop calls, for uplink_py_debug_counts.
var droppedPools atomic.Int64

// defaultDialTimeout is uplink's default (uplink.Config.DialTimeout's doc).
const defaultDialTimeout = 10 * time.Second

// goConfig converts an UplinkConfig. The temporary directory is not a field of
// uplink.Config: uplink reads it from the context (fpath.WithTempData), so it
// is returned as a function that decorates a context. That function also makes
// the dial timeout hold, and records the connections dialed in conns (nil: not
// recorded); see boundDials.
func goConfig(c C.UplinkConfig, conns *connSet) (uplink.Config, func(context.Context) context.Context) {
	config := uplink.Config{UserAgent: optionalString(c.user_agent)}
	if c.dial_timeout_milliseconds > 0 {
		config.DialTimeout = time.Duration(c.dial_timeout_milliseconds) * time.Millisecond
	}
	timeout := config.DialTimeout
	if timeout == 0 {
		timeout = defaultDialTimeout
	}
	tempDir := optionalString(c.temp_directory)
	withTemp := func(ctx context.Context) context.Context {
		ctx = boundDials(ctx, timeout, conns)
		if tempDir == "" {
			return ctx
		}
		return fpath.WithTempData(ctx, tempDir, false)
	}
	return config, withTemp
}

// boundDials makes every connection dialed under ctx give up after timeout.
// uplink's DialTimeout does not do it: storj.io/common's rpc.Dialer applies it
// while taking a connection from its pool, but the pool dials lazily, at the
// first RPC, under the RPC's context. So a peer that accepts TCP and never
// answers the TLS handshake held a call forever (with context.Background(), as in
// RequestAccessWithPassphrase) or until cancelled. The pool runs a dialer
// wrapper found in the context around that lazy dial; this one adds the timeout.
// The dial's context is cancelled only when the timeout fires: a connection
// that came back in time may still use it (a multidial connection picks its TCP
// stream at the first read, after the dial); its parent, the context of a call
// or a transfer, releases it when that ends.
//
// A dial that timed out fails with errDialTimeout, which is not a net.Error, so
// that uplink's metainfo client does not retry it: it retries network errors up
// to 6 times with backoff, which made a 1 s timeout fail after 13 s. Refused
// connections are still retried (about 6 s in all), as uplink intends.
func boundDials(ctx context.Context, timeout time.Duration, conns *connSet) context.Context {
	return rpcpool.WithDialerWrapper(ctx, func(_ context.Context, dial rpcpool.Dialer) rpcpool.Dialer {
		return func(parent context.Context) (rpcpool.RawConn, *tls.ConnectionState, error) {
			ctx, cancel := context.WithCancel(parent)
			timer := time.AfterFunc(timeout, cancel)
			conn, state, err := dial(ctx)
			if timer.Stop() || parent.Err() != nil {
				if err == nil {
					conn = hardCancelConn{conn}
					conns.add(conn)
				}
				return conn, state, err // in time, or cancelled by the caller
			}
			cause := "connected too late"
			if err != nil {
				cause = err.Error() // conn may be a typed nil then
			} else {
				_ = conn.Close()
			}
			return nil, nil, &errDialTimeout{timeout: timeout, cause: cause}
		}
	})
}

// errDialTimeout: a dial gave up after the dial timeout. It keeps the message of
// the error it replaces but not the error (which is a net.Error; see boundDials).
type errDialTimeout struct {
	timeout time.Duration
	cause   string
}

func (e *errDialTimeout) Error() string {
	return fmt.Sprintf("dial timeout (%v) exceeded: %s", e.timeout, e.cause)
}

// connSet holds the connections dialed for one project, so that a call stuck past
// its cancellation can be ended by closing them (project.watchdog).
type connSet struct {
	mu    sync.Mutex
	conns map[rpcpool.RawConn]struct{}
}

// add records conn, forgetting the ones closed meanwhile. Safe on nil.
func (s *connSet) add(conn rpcpool.RawConn) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = map[rpcpool.RawConn]struct{}{}
	}
	for c := range s.conns {
		select {
		case <-c.Closed():
			delete(s.conns, c)
		default:
		}
	}
	s.conns[conn] = struct{}{}
}

// drop closes every connection: the calls on them fail with a connection error,
// and the pools dial new ones.
func (s *connSet) drop() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	droppedPools.Add(1)
	for c := range conns {
		_ = c.Transport().Close()
	}
}
