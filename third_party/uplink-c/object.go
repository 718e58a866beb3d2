package main

// #include "uplink_definitions.h"
import "C"

import (
	"storj.io/uplink"
	"storj.io/uplink/private/object"
)

//export uplink_stat_object
func uplink_stat_object(p *C.UplinkProject, bucket_name, object_key *C.char) (result C.UplinkObjectResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	if a.err != nil {
		return C.UplinkObjectResult{error: a.err}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkObjectResult{error: cerr}
	}
	defer done()
	obj, err := proj.uplink.StatObject(ctx, bucket, key)
	return objectResult(obj, newError(ctx, err))
}

// uplink_py_stat_object_version is uplink_stat_object for a given version
// (hex; NULL or "" for the latest) that also reports the identity of the object
// found (see objectIdentity) in *identity_out, when there is no error; the caller
// frees it with uplink_free_string_result.
//
//export uplink_py_stat_object_version
func uplink_py_stat_object_version(p *C.UplinkProject, bucket_name, object_key, version *C.char, identity_out *C.UplinkStringResult) (result C.UplinkObjectResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	if a.err != nil {
		return C.UplinkObjectResult{error: a.err}
	}
	if identity_out == nil {
		return C.UplinkObjectResult{error: newError(nil, errNullArgument("identity_out"))}
	}
	pinned, err := parseVersion(version)
	if err != nil {
		return C.UplinkObjectResult{error: newError(nil, err)}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkObjectResult{error: cerr}
	}
	defer done()
	obj, err := object.StatObject(ctx, proj.uplink, bucket, key, pinned)
	if err != nil {
		return C.UplinkObjectResult{error: newError(ctx, err)}
	}
	if obj.IsDeleteMarker { // the latest version of a versioned object is a delete marker
		return C.UplinkObjectResult{error: newError(ctx, uplink.ErrObjectNotFound)}
	}
	*identity_out = C.UplinkStringResult{string: C.CString(objectIdentity(obj))}
	return objectResult(&obj.Object, nil)
}

//export uplink_delete_object
func uplink_delete_object(p *C.UplinkProject, bucket_name, object_key *C.char) (result C.UplinkObjectResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	if a.err != nil {
		return C.UplinkObjectResult{error: a.err}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkObjectResult{error: cerr}
	}
	defer done()
	obj, err := proj.uplink.DeleteObject(ctx, bucket, key)
	return objectResult(obj, newError(ctx, err))
}

//export uplink_copy_object
func uplink_copy_object(p *C.UplinkProject, old_bucket_name, old_object_key, new_bucket_name, new_object_key *C.char, options *C.UplinkCopyObjectOptions) (result C.UplinkObjectResult) {
	defer recoverError(&result.error)
	var a args
	oldBucket := a.required(old_bucket_name, "old_bucket_name")
	oldKey := a.required(old_object_key, "old_object_key")
	newBucket := a.required(new_bucket_name, "new_bucket_name")
	newKey := a.required(new_object_key, "new_object_key")
	if a.err != nil {
		return C.UplinkObjectResult{error: a.err}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkObjectResult{error: cerr}
	}
	defer done()
	obj, err := proj.uplink.CopyObject(ctx, oldBucket, oldKey, newBucket, newKey, nil)
	return objectResult(obj, newError(ctx, err))
}

// uplink_py_copy_object copies one version (NULL: the latest) of an object,
// locking the copy or writing it only if the target key is free (write may be
// NULL), and reports the copy's version.
//
//export uplink_py_copy_object
func uplink_py_copy_object(p *C.UplinkProject, old_bucket_name, old_object_key, old_version, new_bucket_name, new_object_key *C.char, write *C.UplinkPyWriteOptions) (result C.UplinkPyObjectVersionResult) {
	defer recoverError(&result.error)
	oldBucket, oldKey, pinned, cerr := objectArgs(old_bucket_name, old_object_key, old_version)
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	var a args
	newBucket := a.required(new_bucket_name, "new_bucket_name")
	newKey := a.required(new_object_key, "new_object_key")
	if a.err != nil {
		return C.UplinkPyObjectVersionResult{error: a.err}
	}
	w, err := goWriteOptions(write)
	if err != nil {
		return C.UplinkPyObjectVersionResult{error: newError(nil, err)}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	defer done()
	obj, err := object.CopyObject(ctx, proj.uplink, oldBucket, oldKey, pinned, newBucket, newKey,
		object.CopyObjectOptions{Retention: w.retention, LegalHold: w.legalHold, IfNoneMatch: w.ifNoneMatch})
	return versionResult(obj, newError(ctx, ifAbsent(w.ifNoneMatch != nil, err)))
}

//export uplink_move_object
func uplink_move_object(p *C.UplinkProject, old_bucket_name, old_object_key, new_bucket_name, new_object_key *C.char, options *C.UplinkMoveObjectOptions) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	var a args
	oldBucket := a.required(old_bucket_name, "old_bucket_name")
	oldKey := a.required(old_object_key, "old_object_key")
	newBucket := a.required(new_bucket_name, "new_bucket_name")
	newKey := a.required(new_object_key, "new_object_key")
	if a.err != nil {
		return a.err
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	return newError(ctx, proj.uplink.MoveObject(ctx, oldBucket, oldKey, newBucket, newKey, nil))
}

//export uplink_update_object_metadata
func uplink_update_object_metadata(p *C.UplinkProject, bucket_name, object_key *C.char, new_metadata C.UplinkCustomMetadata, options *C.UplinkUploadObjectMetadataOptions) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	if a.err != nil {
		return a.err
	}
	metadata, err := goCustomMetadata(new_metadata)
	if err != nil {
		return newError(nil, err)
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	return newError(ctx, proj.uplink.UpdateObjectMetadata(ctx, bucket, key, metadata, nil))
}

// objectIterator is the Go value behind an UplinkObjectIterator handle.
type objectIterator struct {
	iterator
	it *uplink.ObjectIterator
}

//export uplink_list_objects
func uplink_list_objects(p *C.UplinkProject, bucket_name *C.char, options *C.UplinkListObjectsOptions) (result *C.UplinkObjectIterator) {
	defer recoverSilently()
	it := &objectIterator{}
	proj, ok := lookup[*project](handleID(p))
	switch {
	case !ok:
		it.err = errInvalidHandle
	case bucket_name == nil:
		it.err = errNullArgument("bucket_name")
	case it.start(proj):
		var opts uplink.ListObjectsOptions
		if options != nil {
			opts = uplink.ListObjectsOptions{
				Prefix:    optionalString(options.prefix),
				Cursor:    optionalString(options.cursor),
				Recursive: bool(options.recursive),
				System:    bool(options.system),
				Custom:    bool(options.custom),
			}
		}
		it.it = proj.uplink.ListObjects(it.uctx, C.GoString(bucket_name), &opts)
	}
	return newHandleStruct[C.UplinkObjectIterator](it)
}

//export uplink_object_iterator_next
func uplink_object_iterator_next(iter *C.UplinkObjectIterator) (ok C.bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	it, found := lookup[*objectIterator](handleID(iter))
	return C.bool(found && it.it != nil && it.step(it.it.Next))
}

//export uplink_object_iterator_err
func uplink_object_iterator_err(iter *C.UplinkObjectIterator) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	it, found := lookup[*objectIterator](handleID(iter))
	if !found {
		return invalidHandle()
	}
	if it.it == nil {
		return it.error(nil)
	}
	return it.error(it.it.Err())
}

//export uplink_object_iterator_item
func uplink_object_iterator_item(iter *C.UplinkObjectIterator) (obj *C.UplinkObject) {
	defer recoverSilently()
	it, found := lookup[*objectIterator](handleID(iter))
	if !found || it.it == nil {
		return nil
	}
	return cObject(it.it.Item())
}

//export uplink_free_object_iterator
func uplink_free_object_iterator(iter *C.UplinkObjectIterator) {
	defer recoverSilently()
	if it, ok := freeHandleStruct(iter).(*objectIterator); ok {
		it.release()
	}
}
