package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"errors"
	"slices"
	"unsafe"

	"storj.io/uplink"
)

// goCustomMetadata copies C custom metadata; keys and values are read by length
// since they may contain NUL.
func goCustomMetadata(m C.UplinkCustomMetadata) (uplink.CustomMetadata, error) {
	if m.count == 0 {
		return uplink.CustomMetadata{}, nil
	}
	if m.entries == nil {
		return nil, errors.New("uplink: invalid argument: custom metadata entries is NULL")
	}
	entries := unsafe.Slice(m.entries, int(m.count))
	out := make(uplink.CustomMetadata, len(entries))
	for _, e := range entries {
		if (e.key == nil && e.key_length > 0) || (e.value == nil && e.value_length > 0) {
			return nil, errors.New("uplink: invalid argument: custom metadata entry with NULL data")
		}
		out[C.GoStringN(e.key, C.int(e.key_length))] = C.GoStringN(e.value, C.int(e.value_length))
	}
	return out, nil
}

// cCustomMetadata allocates C custom metadata (sorted by key). C.CString copies
// every byte of a Go string and adds a NUL, so embedded NULs survive and the
// lengths stay authoritative.
func cCustomMetadata(m uplink.CustomMetadata) C.UplinkCustomMetadata {
	if len(m) == 0 {
		return C.UplinkCustomMetadata{}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	size := C.size_t(unsafe.Sizeof(C.UplinkCustomMetadataEntry{}))
	ptr := (*C.UplinkCustomMetadataEntry)(C.calloc(C.size_t(len(keys)), size))
	entries := unsafe.Slice(ptr, len(keys))
	for i, k := range keys {
		v := m[k]
		entries[i] = C.UplinkCustomMetadataEntry{
			key:          C.CString(k),
			key_length:   C.size_t(len(k)),
			value:        C.CString(v),
			value_length: C.size_t(len(v)),
		}
	}
	return C.UplinkCustomMetadata{entries: ptr, count: C.size_t(len(keys))}
}

// freeCustomMetadata frees what cCustomMetadata allocated.
func freeCustomMetadata(m *C.UplinkCustomMetadata) {
	if m.entries != nil {
		for _, e := range unsafe.Slice(m.entries, int(m.count)) {
			C.free(unsafe.Pointer(e.key))
			C.free(unsafe.Pointer(e.value))
		}
		C.free(unsafe.Pointer(m.entries))
	}
	*m = C.UplinkCustomMetadata{}
}

func cSystemMetadata(s uplink.SystemMetadata) C.UplinkSystemMetadata {
	return C.UplinkSystemMetadata{
		created:        timeToUnix(s.Created),
		expires:        timeToUnix(s.Expires),
		content_length: C.int64_t(s.ContentLength),
	}
}

// cObject allocates a C copy of obj; NULL for nil.
func cObject(obj *uplink.Object) *C.UplinkObject {
	if obj == nil {
		return nil
	}
	c := calloc[C.UplinkObject]()
	c.key = C.CString(obj.Key)
	c.is_prefix = C.bool(obj.IsPrefix)
	c.system = cSystemMetadata(obj.System)
	c.custom = cCustomMetadata(obj.Custom)
	return c
}

// objectResult builds an UplinkObjectResult from an uplink call.
func objectResult(obj *uplink.Object, cerr *C.UplinkError) C.UplinkObjectResult {
	if cerr != nil {
		return C.UplinkObjectResult{error: cerr}
	}
	return C.UplinkObjectResult{object: cObject(obj)}
}

//export uplink_free_object
func uplink_free_object(obj *C.UplinkObject) {
	defer recoverSilently()
	if obj == nil {
		return
	}
	C.free(unsafe.Pointer(obj.key))
	freeCustomMetadata(&obj.custom)
	C.free(unsafe.Pointer(obj))
}

//export uplink_free_object_result
func uplink_free_object_result(result C.UplinkObjectResult) {
	defer recoverSilently()
	uplink_free_object(result.object)
	uplink_free_error(result.error)
}
