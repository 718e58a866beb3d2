package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"sync"
	"unsafe"
)

// universe maps the `_handle` ids stored in C structs to Go values. Ids start at
// 1 and are never reused, so a stale id can only miss, never hit something else.
var universe = struct {
	mu     sync.Mutex
	next   C.size_t
	values map[C.size_t]any
}{values: map[C.size_t]any{}}

// addHandle stores v and returns its new id.
func addHandle(v any) C.size_t {
	universe.mu.Lock()
	defer universe.mu.Unlock()
	universe.next++
	universe.values[universe.next] = v
	return universe.next
}

// getHandle returns the value behind id, or nil for 0 and unknown ids.
func getHandle(id C.size_t) any {
	if id == 0 {
		return nil
	}
	universe.mu.Lock()
	defer universe.mu.Unlock()
	return universe.values[id]
}

// delHandle forgets id and returns what it held (nil if nothing).
func delHandle(id C.size_t) any {
	if id == 0 {
		return nil
	}
	universe.mu.Lock()
	defer universe.mu.Unlock()
	v := universe.values[id]
	delete(universe.values, id)
	return v
}

// lookup returns the value of type T behind id; false when the id is 0, unknown
// or holds another type.
func lookup[T any](id C.size_t) (T, bool) {
	v, ok := getHandle(id).(T)
	return v, ok
}

// newHandleStruct allocates a C handle struct (all the handle types are
// `{size_t _handle}`) holding a new id for v.
func newHandleStruct[S any](v any) *S {
	p := (*C.UplinkHandle)(C.calloc(1, C.size_t(unsafe.Sizeof(C.UplinkHandle{}))))
	p._handle = addHandle(v)
	return (*S)(unsafe.Pointer(p))
}

// freeHandleStruct releases the id in a C handle struct, zeroes it, frees the
// struct and returns the released value (nil if none).
func freeHandleStruct[S any](s *S) any {
	if s == nil {
		return nil
	}
	p := (*C.UplinkHandle)(unsafe.Pointer(s))
	v := delHandle(p._handle)
	p._handle = 0
	C.free(unsafe.Pointer(p))
	return v
}

// handleID reads the id of a C handle struct; 0 for NULL.
func handleID[S any](s *S) C.size_t {
	if s == nil {
		return 0
	}
	return (*C.UplinkHandle)(unsafe.Pointer(s))._handle
}
