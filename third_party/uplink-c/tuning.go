package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"fmt"
	"math"
	"time"

	"storj.io/common/rpc/rpcpool"
	"storj.io/uplink"
	"storj.io/uplink/private/testuplink"
	"storj.io/uplink/private/transport"
)

// tuning is an UplinkPyTransferConfig in Go terms: the knobs of the Go CLI's
// `uplink cp`, reached the way it reaches them (storj.io/storj cmd/uplink
// cmd_cp.go: the scheduler options in the context of OpenProject, and a
// connection pool of its own).
type tuning struct {
	pieces, segments int
	pool             *rpcpool.Options // nil: uplink's own pools
}

// maxMilliseconds is the largest count of milliseconds a time.Duration holds.
const maxMilliseconds = math.MaxInt64 / int64(time.Millisecond)

func goTuning(t C.UplinkPyTransferConfig) (tuning, error) {
	for _, f := range []struct {
		name  string
		value int64
		max   int64
	}{
		{"maximum_concurrent_pieces", int64(t.maximum_concurrent_pieces), math.MaxInt32},
		{"maximum_concurrent_segments", int64(t.maximum_concurrent_segments), math.MaxInt32},
		{"connection_pool_capacity", int64(t.connection_pool_capacity), math.MaxInt32},
		{"connection_pool_key_capacity", int64(t.connection_pool_key_capacity), math.MaxInt32},
		{"connection_pool_idle_expiration_milliseconds", int64(t.connection_pool_idle_expiration_milliseconds), maxMilliseconds},
	} {
		if f.value < 0 || f.value > f.max {
			return tuning{}, fmt.Errorf("uplink: invalid argument: %s must be between 0 and %d", f.name, f.max)
		}
	}
	tu := tuning{pieces: int(t.maximum_concurrent_pieces), segments: int(t.maximum_concurrent_segments)}
	if t.connection_pool_capacity > 0 || t.connection_pool_key_capacity > 0 || t.connection_pool_idle_expiration_milliseconds > 0 {
		// storj.io/common's defaults (rpc.NewDefaultConnectionPool) for what is 0
		tu.pool = &rpcpool.Options{Capacity: 100, KeyCapacity: 5, IdleExpiration: 2 * time.Minute}
		if t.connection_pool_capacity > 0 {
			tu.pool.Capacity = int(t.connection_pool_capacity)
		}
		if t.connection_pool_key_capacity > 0 {
			tu.pool.KeyCapacity = int(t.connection_pool_key_capacity)
		}
		if t.connection_pool_idle_expiration_milliseconds > 0 {
			tu.pool.IdleExpiration = time.Duration(t.connection_pool_idle_expiration_milliseconds) * time.Millisecond
		}
	}
	return tu, nil
}

// apply sets the knobs on config and ctx (the context of OpenProject). The pool
// it returns, if any, serves the storage nodes and (as in the CLI) the satellite,
// and is the project's to close: uplink closes only the pools it made.
func (tu tuning) apply(ctx context.Context, config *uplink.Config) (context.Context, *rpcpool.Pool, error) {
	if tu.pieces > 0 || tu.segments > 0 {
		cfg := testuplink.DefaultConcurrentSegmentUploadsConfig()
		if tu.pieces > 0 {
			cfg.SchedulerOptions.MaximumConcurrent = tu.pieces
		}
		if tu.segments > 0 {
			cfg.SchedulerOptions.MaximumConcurrentHandles = tu.segments
		}
		ctx = testuplink.WithConcurrentSegmentUploadsConfig(ctx, cfg)
	}
	if tu.pool == nil {
		return ctx, nil, nil
	}
	pool := rpcpool.New(*tu.pool)
	if err := transport.SetConnectionPool(ctx, config, pool); err != nil {
		_ = pool.Close()
		return ctx, nil, err
	}
	return ctx, pool, nil
}
