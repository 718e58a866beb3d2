package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"encoding/hex"
	"unsafe"

	"storj.io/common/storj"
	"storj.io/uplink/private/object"
)

// deleteBatch is the most keys one DeleteObjects request may name (the
// satellite's metabase.DeleteObjectsMaxItems).
const deleteBatch = 1000

// uplink_py_delete_objects deletes many objects (or given versions) of a bucket,
// in requests of up to 1,000 keys, reporting each key's outcome in the order
// asked. A request that fails as a whole stops the call: its error is set and
// the items of the requests done before it are reported.
//
//export uplink_py_delete_objects
func uplink_py_delete_objects(p *C.UplinkProject, bucket_name *C.char, items *C.UplinkPyDeleteObjectsItem, count C.size_t, bypass_governance C.bool) (result C.UplinkPyDeleteObjectsResult) {
	defer recoverError(&result.error)
	bucket, cerr := requiredString(bucket_name, "bucket_name")
	if cerr != nil {
		return C.UplinkPyDeleteObjectsResult{error: cerr}
	}
	if items == nil && count > 0 {
		return C.UplinkPyDeleteObjectsResult{error: newError(nil, errNullArgument("items"))}
	}
	asked := make([]object.DeleteObjectsItem, 0, int(count))
	if count > 0 {
		for i, item := range unsafe.Slice(items, int(count)) {
			key, cerr := requiredString(item.key, "items[].key")
			if cerr != nil {
				return C.UplinkPyDeleteObjectsResult{error: cerr}
			}
			version, err := parseVersion(item.version)
			if err != nil {
				return C.UplinkPyDeleteObjectsResult{error: newError(nil, err)}
			}
			if key == "" {
				return C.UplinkPyDeleteObjectsResult{error: newError(nil, errInvalidArgument("items[%d].key is empty", i))}
			}
			asked = append(asked, object.DeleteObjectsItem{ObjectKey: key, Version: version})
		}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkPyDeleteObjectsResult{error: cerr}
	}
	defer done()
	var outcomes []object.DeleteObjectsResultItem
	var failed *C.UplinkError
	for start := 0; start < len(asked); start += deleteBatch {
		batch := asked[start:min(len(asked), start+deleteBatch)]
		got, err := object.DeleteObjects(ctx, proj.uplink, bucket, batch,
			&object.DeleteObjectsOptions{BypassGovernanceRetention: bool(bypass_governance)})
		if err != nil {
			failed = newError(ctx, err)
			break
		}
		outcomes = append(outcomes, inOrder(batch, got)...)
	}
	return C.UplinkPyDeleteObjectsResult{items: cDeleteOutcomes(outcomes), count: C.size_t(len(outcomes)), error: failed}
}

// inOrder lists the satellite's outcomes in the order the items were asked
// (it reports them in its own order, once per distinct item: an item asked
// twice gets its one outcome twice); an item it did not report is an
// internal error.
func inOrder(asked []object.DeleteObjectsItem, got []object.DeleteObjectsResultItem) []object.DeleteObjectsResultItem {
	type itemKey struct{ key, version string }
	byItem := make(map[itemKey]object.DeleteObjectsResultItem, len(got))
	for _, g := range got {
		byItem[itemKey{g.ObjectKey, string(g.RequestedVersion)}] = g
	}
	ordered := make([]object.DeleteObjectsResultItem, len(asked))
	for i, a := range asked {
		if outcome, ok := byItem[itemKey{a.ObjectKey, string(a.Version)}]; ok {
			ordered[i] = outcome
		} else {
			ordered[i] = object.DeleteObjectsResultItem{ObjectKey: a.ObjectKey, RequestedVersion: a.Version,
				Status: storj.DeleteObjectsStatusInternalError}
		}
	}
	return ordered
}

func cDeleteOutcomes(outcomes []object.DeleteObjectsResultItem) *C.UplinkPyDeleteObjectsResultItem {
	if len(outcomes) == 0 {
		return nil
	}
	size := C.size_t(unsafe.Sizeof(C.UplinkPyDeleteObjectsResultItem{}))
	array := (*C.UplinkPyDeleteObjectsResultItem)(C.calloc(C.size_t(len(outcomes)), size))
	for i, o := range outcomes {
		c := &unsafe.Slice(array, len(outcomes))[i]
		c.key = C.CString(o.ObjectKey)
		c.requested_version = C.CString(hex.EncodeToString(o.RequestedVersion))
		c.status = C.int32_t(o.Status)
		if o.Removed != nil {
			c.removed_version = C.CString(hex.EncodeToString(o.Removed.Version))
			c.removed_was_delete_marker = C.bool(o.Removed.IsDeleteMarker)
		}
		if o.Marker != nil {
			c.marker_version = C.CString(hex.EncodeToString(o.Marker.Version))
		}
	}
	return array
}

//export uplink_py_free_delete_objects_result
func uplink_py_free_delete_objects_result(result C.UplinkPyDeleteObjectsResult) {
	defer recoverSilently()
	if result.items != nil {
		for _, c := range unsafe.Slice(result.items, int(result.count)) {
			C.free(unsafe.Pointer(c.key))
			C.free(unsafe.Pointer(c.requested_version))
			C.free(unsafe.Pointer(c.removed_version))
			C.free(unsafe.Pointer(c.marker_version))
		}
		C.free(unsafe.Pointer(result.items))
	}
	uplink_free_error(result.error)
}
