package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"time"

	"storj.io/common/fpath"
	"storj.io/uplink"
)

// goConfig converts an UplinkConfig. The temporary directory is not a field of
// uplink.Config: uplink reads it from the context (fpath.WithTempData), so it
// is returned as a function that decorates a context.
func goConfig(c C.UplinkConfig) (uplink.Config, func(context.Context) context.Context) {
	config := uplink.Config{UserAgent: optionalString(c.user_agent)}
	if c.dial_timeout_milliseconds > 0 {
		config.DialTimeout = time.Duration(c.dial_timeout_milliseconds) * time.Millisecond
	}
	tempDir := optionalString(c.temp_directory)
	withTemp := func(ctx context.Context) context.Context {
		if tempDir == "" {
			return ctx
		}
		return fpath.WithTempData(ctx, tempDir, false)
	}
	return config, withTemp
}
