package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"encoding/hex"
	"unsafe"

	"storj.io/common/storj"
	"storj.io/uplink"
	privateBucket "storj.io/uplink/private/bucket"
	"storj.io/uplink/private/metaclient"
	"storj.io/uplink/private/object"
)

// cObjectVersion converts a versioned object (nil stays nil).
func cObjectVersion(obj *object.VersionedObject) *C.UplinkPyObjectVersion {
	if obj == nil {
		return nil
	}
	c := calloc[C.UplinkPyObjectVersion]()
	c.object = cObject(&obj.Object)
	c.version = C.CString(hex.EncodeToString(obj.Version))
	if len(obj.ETag) > 0 {
		c.etag = (*C.uint8_t)(C.CBytes(obj.ETag))
		c.etag_length = C.size_t(len(obj.ETag))
	}
	c.is_versioned = C.bool(obj.IsVersioned)
	c.is_delete_marker = C.bool(obj.IsDeleteMarker)
	c.is_latest = C.bool(obj.IsLatest)
	c.legal_hold = -1
	if obj.LegalHold != nil {
		c.legal_hold = 0
		if *obj.LegalHold {
			c.legal_hold = 1
		}
	}
	c.retention = C.UplinkPyRetention{mode: -1}
	if obj.Retention != nil {
		c.retention = cRetention(*obj.Retention)
	}
	return c
}

func versionResult(obj *object.VersionedObject, cerr *C.UplinkError) C.UplinkPyObjectVersionResult {
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	return C.UplinkPyObjectVersionResult{version: cObjectVersion(obj)}
}

//export uplink_py_free_object_version
func uplink_py_free_object_version(v *C.UplinkPyObjectVersion) {
	defer recoverSilently()
	if v == nil {
		return
	}
	uplink_free_object(v.object)
	C.free(unsafe.Pointer(v.version))
	C.free(unsafe.Pointer(v.etag))
	C.free(unsafe.Pointer(v))
}

//export uplink_py_free_object_version_result
func uplink_py_free_object_version_result(result C.UplinkPyObjectVersionResult) {
	defer recoverSilently()
	uplink_py_free_object_version(result.version)
	uplink_free_error(result.error)
}

// objectArgs reads the bucket, key and version arguments shared by the calls on
// one object version.
func objectArgs(bucket_name, object_key, version *C.char) (bucket, key string, pinned []byte, cerr *C.UplinkError) {
	var a args
	bucket = a.required(bucket_name, "bucket_name")
	key = a.required(object_key, "object_key")
	if a.err != nil {
		return "", "", nil, a.err
	}
	pinned, err := parseVersion(version)
	if err != nil {
		return "", "", nil, newError(nil, err)
	}
	return bucket, key, pinned, nil
}

// uplink_py_stat_version is the metadata of one version (the latest for NULL),
// delete markers included, with its lock state where the access may read it.
//
//export uplink_py_stat_version
func uplink_py_stat_version(p *C.UplinkProject, bucket_name, object_key, version *C.char) (result C.UplinkPyObjectVersionResult) {
	defer recoverError(&result.error)
	bucket, key, pinned, cerr := objectArgs(bucket_name, object_key, version)
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	defer done()
	obj, err := object.StatObject(ctx, proj.uplink, bucket, key, pinned)
	if err == nil && obj == nil { // what private/object makes of an empty answer
		err = uplink.ErrObjectNotFound
	}
	return versionResult(obj, newError(ctx, err))
}

// uplink_py_delete_version deletes one version, or (NULL) the latest: where
// versioning is on that inserts a delete marker, which the result describes.
// The result's version is NULL when nothing was there.
//
//export uplink_py_delete_version
func uplink_py_delete_version(p *C.UplinkProject, bucket_name, object_key, version *C.char, bypass_governance C.bool) (result C.UplinkPyObjectVersionResult) {
	defer recoverError(&result.error)
	bucket, key, pinned, cerr := objectArgs(bucket_name, object_key, version)
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	defer done()
	obj, err := object.DeleteObject(ctx, proj.uplink, bucket, key, pinned,
		&object.DeleteObjectOptions{BypassGovernanceRetention: bool(bypass_governance)})
	return versionResult(obj, newError(ctx, err))
}

// uplink_py_get_bucket_versioning reports a bucket's versioning state:
// 0 unsupported, 1 unversioned (never enabled), 2 enabled, 3 suspended.
//
//export uplink_py_get_bucket_versioning
func uplink_py_get_bucket_versioning(p *C.UplinkProject, bucket_name *C.char, state *C.int32_t) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	bucket, cerr := requiredString(bucket_name, "bucket_name")
	if cerr != nil {
		return cerr
	}
	if state == nil {
		return newError(nil, errNullArgument("state"))
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	v, err := privateBucket.GetBucketVersioning(ctx, proj.uplink, bucket)
	if err != nil {
		return newError(ctx, err)
	}
	*state = C.int32_t(v)
	return nil
}

// uplink_py_set_bucket_versioning enables (true) or suspends (false) versioning.
//
//export uplink_py_set_bucket_versioning
func uplink_py_set_bucket_versioning(p *C.UplinkProject, bucket_name *C.char, enabled C.bool) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	bucket, cerr := requiredString(bucket_name, "bucket_name")
	if cerr != nil {
		return cerr
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	return newError(ctx, privateBucket.SetBucketVersioning(ctx, proj.uplink, bucket, bool(enabled)))
}

// versionIterator is the Go value behind an UplinkPyVersionIterator handle: it
// lists one page at a time (uplink has no iterator for versions), newest version
// of each key first, delete markers included.
type versionIterator struct {
	iterator
	bucket string
	opts   object.ListObjectVersionsOptions
	page   []*object.VersionedObject
	item   *object.VersionedObject
	more   bool
	listed error
}

// versionPageSize is the page the satellite is asked for (its own maximum is
// larger; a smaller page keeps the first item quick).
const versionPageSize = 500

//export uplink_py_list_versions
func uplink_py_list_versions(p *C.UplinkProject, bucket_name *C.char, options *C.UplinkListObjectsOptions) (result *C.UplinkPyVersionIterator) {
	defer recoverSilently()
	it := &versionIterator{more: true}
	proj, ok := lookup[*project](handleID(p))
	switch {
	case !ok:
		it.err = errInvalidHandle
	case bucket_name == nil:
		it.err = errNullArgument("bucket_name")
	case it.start(proj):
		it.bucket = C.GoString(bucket_name)
		it.opts.Limit = versionPageSize
		if options != nil {
			it.opts.Prefix = optionalString(options.prefix)
			it.opts.Cursor = optionalString(options.cursor)
			it.opts.Recursive = bool(options.recursive)
			it.opts.System = bool(options.system)
			it.opts.ETag = bool(options.system) // with the system metadata: S3 users expect both
			it.opts.Custom = bool(options.custom)
		}
	}
	return newHandleStruct[C.UplinkPyVersionIterator](it)
}

// next moves to the next version, fetching a page when the last one is used up.
func (it *versionIterator) next() bool {
	for len(it.page) == 0 {
		if !it.more || it.listed != nil {
			it.item = nil
			return false
		}
		page, more, err := object.ListObjectVersions(it.uctx, it.proj.uplink, it.bucket, &it.opts)
		if err != nil {
			it.listed = err
			it.item = nil
			return false
		}
		it.page, it.more = page, more && len(page) > 0
		if len(page) > 0 { // the cursor is relative to the prefix, as the keys listed are
			last := page[len(page)-1]
			it.opts.Cursor, it.opts.VersionCursor = last.Key, last.Version
		}
		for _, v := range page {
			v.Key = it.opts.Prefix + v.Key
		}
	}
	it.item, it.page = it.page[0], it.page[1:]
	return true
}

//export uplink_py_version_iterator_next
func uplink_py_version_iterator_next(iter *C.UplinkPyVersionIterator) (ok C.bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	it, found := lookup[*versionIterator](handleID(iter))
	return C.bool(found && it.step(it.next))
}

//export uplink_py_version_iterator_err
func uplink_py_version_iterator_err(iter *C.UplinkPyVersionIterator) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	it, found := lookup[*versionIterator](handleID(iter))
	if !found {
		return invalidHandle()
	}
	return it.error(it.listed)
}

//export uplink_py_version_iterator_item
func uplink_py_version_iterator_item(iter *C.UplinkPyVersionIterator) (v *C.UplinkPyObjectVersion) {
	defer recoverSilently()
	it, found := lookup[*versionIterator](handleID(iter))
	if !found {
		return nil
	}
	return cObjectVersion(it.item)
}

//export uplink_py_free_version_iterator
func uplink_py_free_version_iterator(iter *C.UplinkPyVersionIterator) {
	defer recoverSilently()
	if it, ok := freeHandleStruct(iter).(*versionIterator); ok {
		it.release()
	}
}

// cRetention and goRetention convert a retention (mode and Unix seconds).
func cRetention(r metaclient.Retention) C.UplinkPyRetention {
	if r.Mode == storj.NoRetention {
		return C.UplinkPyRetention{}
	}
	return C.UplinkPyRetention{mode: C.int32_t(r.Mode), retain_until: timeToUnix(r.RetainUntil)}
}

func goRetention(r C.UplinkPyRetention) (metaclient.Retention, error) {
	switch storj.RetentionMode(r.mode) {
	case storj.NoRetention:
		return metaclient.Retention{}, nil
	case storj.ComplianceMode, storj.GovernanceMode:
		if r.retain_until <= 0 {
			return metaclient.Retention{}, errInvalidArgument("a retention needs a retain_until time")
		}
		return metaclient.Retention{Mode: storj.RetentionMode(r.mode), RetainUntil: unixToTime(r.retain_until)}, nil
	}
	return metaclient.Retention{}, errInvalidArgument("retention mode %d is not 0, 1 or 2", int32(r.mode))
}
