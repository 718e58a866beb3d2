package main

import (
	"os"
	"strconv"
)

// heapFloor raises the Go collector's heap goal in a Python process. Go collects
// when the heap doubles its live size (GOGC=100). A Go program reading into a Go
// buffer has that buffer in its heap, so its goal is large and its collector idle;
// here the bytes land in Python's memory, the Go heap stays at a few MiB, and a
// download's allocations (uplink's per-piece buffers) set off a collection every
// few MiB, which also hands pages back to the kernel only to fault them in again:
// measured on a 128 MiB single-stream download, 15-20 % of the process's CPU
// (BENCHMARKS.md). A pointer-free allocation that is never written costs no
// resident memory (its pages stay untouched) but counts toward the goal, so
// collections come once per floor's worth of garbage. The cost is that much more
// garbage held at peak. UPLINK_PY_GO_HEAP_FLOOR_MIB sets it (0: none, at most 1024;
// anything else keeps the default); GOGC still applies on top.
var heapFloor []byte

// defaultHeapFloorMiB: 8 MiB took most of the gain (16 and 32 MiB saved no more
// CPU) and keeps a single-stream download's RSS growth under the Go CLI's.
const defaultHeapFloorMiB = 8

func init() {
	mib := defaultHeapFloorMiB
	// at most 1 GiB: mib<<20 stays within a 32-bit int
	if v, err := strconv.Atoi(os.Getenv("UPLINK_PY_GO_HEAP_FLOOR_MIB")); err == nil && v >= 0 && v <= 1<<10 {
		mib = v
	}
	heapFloor = make([]byte, mib<<20)
}
