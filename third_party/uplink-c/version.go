package main

// #include <stdlib.h>
import "C"

import (
	"runtime/debug"
	"sync"
)

// uplinkVersion is allocated once and never freed: callers keep the pointer.
var uplinkVersion = sync.OnceValue(func() *C.char {
	version := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "storj.io/uplink" {
				if dep.Replace != nil {
					dep = dep.Replace
				}
				version = dep.Version
				break
			}
		}
	}
	return C.CString(version)
})

// uplink_py_uplink_version returns the storj.io/uplink version linked in, e.g.
// "v1.14.5" (static string, do not free).
//
//export uplink_py_uplink_version
func uplink_py_uplink_version() *C.char {
	defer recoverSilently()
	return uplinkVersion()
}
