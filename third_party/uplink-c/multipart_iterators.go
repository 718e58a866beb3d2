package main

// #include "uplink_definitions.h"
import "C"

import (
	"storj.io/uplink"
)

// uploadIterator is the Go value behind an UplinkUploadIterator handle.
type uploadIterator struct {
	iterator
	it *uplink.UploadIterator
}

//export uplink_list_uploads
func uplink_list_uploads(p *C.UplinkProject, bucket_name *C.char, options *C.UplinkListUploadsOptions) (result *C.UplinkUploadIterator) {
	defer recoverSilently()
	it := &uploadIterator{}
	proj, ok := lookup[*project](handleID(p))
	switch {
	case !ok:
		it.err = errInvalidHandle
	case bucket_name == nil:
		it.err = errNullArgument("bucket_name")
	case it.start(proj):
		var opts uplink.ListUploadsOptions
		if options != nil {
			opts = uplink.ListUploadsOptions{
				Prefix:    optionalString(options.prefix),
				Cursor:    optionalString(options.cursor),
				Recursive: bool(options.recursive),
				System:    bool(options.system),
				Custom:    bool(options.custom),
			}
		}
		it.it = proj.uplink.ListUploads(it.uctx, C.GoString(bucket_name), &opts)
	}
	return newHandleStruct[C.UplinkUploadIterator](it)
}

//export uplink_upload_iterator_next
func uplink_upload_iterator_next(iter *C.UplinkUploadIterator) (ok C.bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	it, found := lookup[*uploadIterator](handleID(iter))
	return C.bool(found && it.it != nil && it.step(it.it.Next))
}

//export uplink_upload_iterator_err
func uplink_upload_iterator_err(iter *C.UplinkUploadIterator) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	it, found := lookup[*uploadIterator](handleID(iter))
	if !found {
		return invalidHandle()
	}
	if it.it == nil {
		return it.error(nil)
	}
	return it.error(it.it.Err())
}

//export uplink_upload_iterator_item
func uplink_upload_iterator_item(iter *C.UplinkUploadIterator) (info *C.UplinkUploadInfo) {
	defer recoverSilently()
	it, found := lookup[*uploadIterator](handleID(iter))
	if !found || it.it == nil {
		return nil
	}
	return cUploadInfo(it.it.Item())
}

//export uplink_free_upload_iterator
func uplink_free_upload_iterator(iter *C.UplinkUploadIterator) {
	defer recoverSilently()
	if it, ok := freeHandleStruct(iter).(*uploadIterator); ok {
		it.release()
	}
}

// partIterator is the Go value behind an UplinkPartIterator handle.
type partIterator struct {
	iterator
	it *uplink.PartIterator
}

//export uplink_list_upload_parts
func uplink_list_upload_parts(p *C.UplinkProject, bucket_name, object_key, upload_id *C.char, options *C.UplinkListUploadPartsOptions) (result *C.UplinkPartIterator) {
	defer recoverSilently()
	it := &partIterator{}
	proj, ok := lookup[*project](handleID(p))
	switch {
	case !ok:
		it.err = errInvalidHandle
	case bucket_name == nil:
		it.err = errNullArgument("bucket_name")
	case object_key == nil:
		it.err = errNullArgument("object_key")
	case upload_id == nil:
		it.err = errNullArgument("upload_id")
	case it.start(proj):
		var opts uplink.ListUploadPartsOptions
		if options != nil {
			opts.Cursor = uint32(options.cursor)
		}
		it.it = proj.uplink.ListUploadParts(it.uctx, C.GoString(bucket_name), C.GoString(object_key), C.GoString(upload_id), &opts)
	}
	return newHandleStruct[C.UplinkPartIterator](it)
}

//export uplink_part_iterator_next
func uplink_part_iterator_next(iter *C.UplinkPartIterator) (ok C.bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	it, found := lookup[*partIterator](handleID(iter))
	return C.bool(found && it.it != nil && it.step(it.it.Next))
}

//export uplink_part_iterator_err
func uplink_part_iterator_err(iter *C.UplinkPartIterator) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	it, found := lookup[*partIterator](handleID(iter))
	if !found {
		return invalidHandle()
	}
	if it.it == nil {
		return it.error(nil)
	}
	return it.error(it.it.Err())
}

//export uplink_part_iterator_item
func uplink_part_iterator_item(iter *C.UplinkPartIterator) (part *C.UplinkPart) {
	defer recoverSilently()
	it, found := lookup[*partIterator](handleID(iter))
	if !found || it.it == nil {
		return nil
	}
	return cPart(it.it.Item())
}

//export uplink_free_part_iterator
func uplink_free_part_iterator(iter *C.UplinkPartIterator) {
	defer recoverSilently()
	if it, ok := freeHandleStruct(iter).(*partIterator); ok {
		it.release()
	}
}
