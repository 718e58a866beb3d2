package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"errors"
	"unsafe"

	"storj.io/uplink"
	"storj.io/uplink/private/metaclient"
	"storj.io/uplink/private/multipart"
	"storj.io/uplink/private/object"
)

// cUploadInfo allocates a C copy of info; NULL for nil.
func cUploadInfo(info *uplink.UploadInfo) *C.UplinkUploadInfo {
	if info == nil {
		return nil
	}
	c := calloc[C.UplinkUploadInfo]()
	c.upload_id = C.CString(info.UploadID)
	c.key = C.CString(info.Key)
	c.is_prefix = C.bool(info.IsPrefix)
	c.system = cSystemMetadata(info.System)
	c.custom = cCustomMetadata(info.Custom)
	return c
}

// cPart allocates a C copy of part; NULL for nil.
func cPart(part *uplink.Part) *C.UplinkPart {
	if part == nil {
		return nil
	}
	c := calloc[C.UplinkPart]()
	c.part_number = C.uint32_t(part.PartNumber)
	c.size = C.size_t(part.Size)
	c.modified = timeToUnix(part.Modified)
	c.etag = C.CString(string(part.ETag))
	c.etag_length = C.size_t(len(part.ETag))
	return c
}

//export uplink_begin_upload
func uplink_begin_upload(p *C.UplinkProject, bucket_name, object_key *C.char, options *C.UplinkUploadOptions) (result C.UplinkUploadInfoResult) {
	return uplink_py_begin_upload(p, bucket_name, object_key, options, nil)
}

// uplink_py_begin_upload is uplink_begin_upload that locks the object it will
// commit (write may be NULL). Its if_none_match is for uplink_py_commit_upload:
// a multipart upload checks the key when it commits.
//
//export uplink_py_begin_upload
func uplink_py_begin_upload(p *C.UplinkProject, bucket_name, object_key *C.char, options *C.UplinkUploadOptions, write *C.UplinkPyWriteOptions) (result C.UplinkUploadInfoResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	if a.err != nil {
		return C.UplinkUploadInfoResult{error: a.err}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkUploadInfoResult{error: cerr}
	}
	defer done()
	w, err := goWriteOptions(write)
	if err != nil {
		return C.UplinkUploadInfoResult{error: newError(nil, err)}
	}
	opts := multipart.UploadOptions{Retention: w.retention, LegalHold: w.legalHold}
	if options != nil {
		opts.Expires = unixToTime(options.expires)
	}
	// ctx is settled (project.call): begun as the call was cancelled, the id still
	// comes back, and a caller interrupted meanwhile aborts it (C++: Project::begin_upload).
	info, err := multipart.BeginUpload(ctx, proj.uplink, bucket, key, &opts)
	if err != nil {
		return C.UplinkUploadInfoResult{error: newError(ctx, err)}
	}
	if w.abortOnClose {
		if err := proj.own(bucket, key, info.UploadID); err != nil {
			return C.UplinkUploadInfoResult{error: newError(ctx, err)}
		}
	}
	return C.UplinkUploadInfoResult{info: cUploadInfo(&info)}
}

//export uplink_free_upload_info
func uplink_free_upload_info(info *C.UplinkUploadInfo) {
	defer recoverSilently()
	if info == nil {
		return
	}
	C.free(unsafe.Pointer(info.upload_id))
	C.free(unsafe.Pointer(info.key))
	freeCustomMetadata(&info.custom)
	C.free(unsafe.Pointer(info))
}

//export uplink_free_upload_info_result
func uplink_free_upload_info_result(result C.UplinkUploadInfoResult) {
	defer recoverSilently()
	uplink_free_upload_info(result.info)
	uplink_free_error(result.error)
}

//export uplink_commit_upload
func uplink_commit_upload(p *C.UplinkProject, bucket_name, object_key, upload_id *C.char, options *C.UplinkCommitUploadOptions) (result C.UplinkCommitUploadResult) {
	defer recoverError(&result.error)
	committed := uplink_py_commit_upload(p, bucket_name, object_key, upload_id, options, false)
	if committed.error != nil {
		return C.UplinkCommitUploadResult{error: committed.error}
	}
	obj := committed.version.object
	committed.version.object = nil // moved to the result
	uplink_py_free_object_version(committed.version)
	return C.UplinkCommitUploadResult{object: obj}
}

// uplink_py_commit_upload is uplink_commit_upload that reports the committed
// version and, with if_none_match, commits only if the key has no object
// (UPLINK_PY_ERROR_OBJECT_EXISTS otherwise; the upload stays pending).
//
//export uplink_py_commit_upload
func uplink_py_commit_upload(p *C.UplinkProject, bucket_name, object_key, upload_id *C.char, options *C.UplinkCommitUploadOptions, if_none_match C.bool) (result C.UplinkPyObjectVersionResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	uploadID := a.required(upload_id, "upload_id")
	if a.err != nil {
		return C.UplinkPyObjectVersionResult{error: a.err}
	}
	var opts metaclient.CommitUploadOptions
	if options != nil {
		metadata, err := goCustomMetadata(options.custom_metadata)
		if err != nil {
			return C.UplinkPyObjectVersionResult{error: newError(nil, err)}
		}
		opts.CustomMetadata = metadata
	}
	if if_none_match {
		opts.IfNoneMatch = []string{"*"}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	defer done()
	// uplink's commit, not object.CommitUpload: that replaces errors by bare sentinels
	obj, err := commitUpload(ctx, proj.uplink, bucket, key, uploadID, &opts) // settled: a commit done is reported
	if err != nil {
		return C.UplinkPyObjectVersionResult{error: newError(ctx, ifAbsent(bool(if_none_match), err))}
	}
	proj.disown(uploadID)
	return versionResult(&object.VersionedObject{Object: *obj, Version: objectVersion(obj),
		IsVersioned: objectIsVersioned(obj)}, nil)
}

//export uplink_free_commit_upload_result
func uplink_free_commit_upload_result(result C.UplinkCommitUploadResult) {
	defer recoverSilently()
	uplink_free_object(result.object)
	uplink_free_error(result.error)
}

//export uplink_abort_upload
func uplink_abort_upload(p *C.UplinkProject, bucket_name, object_key, upload_id *C.char) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	uploadID := a.required(upload_id, "upload_id")
	if a.err != nil {
		return a.err
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	err := proj.uplink.AbortUpload(ctx, bucket, key, uploadID)
	if err == nil || errors.Is(err, uplink.ErrUploadIDInvalid) {
		proj.disown(uploadID) // else close tries again
	}
	return newError(ctx, err)
}

// partUpload is the Go value behind an UplinkPartUpload handle.
// partUpload is like upload: uplink runs it on a settling context (settle.go).
type partUpload struct {
	transfer
	up  *uplink.PartUpload
	end *ending
}

// abort ends the part upload without committing (after a commit: ErrUploadDone).
func (u *partUpload) abort() error { return u.end.abort(u.transfer, u.up.Abort) }

func getPartUpload(u *C.UplinkPartUpload) (*partUpload, *C.UplinkError) {
	v, ok := lookup[*partUpload](handleID(u))
	if !ok {
		return nil, invalidHandle()
	}
	return v, nil
}

//export uplink_upload_part
func uplink_upload_part(p *C.UplinkProject, bucket_name, object_key, upload_id *C.char, part_number C.uint32_t) (result C.UplinkPartUploadResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	uploadID := a.required(upload_id, "upload_id")
	if a.err != nil {
		return C.UplinkPartUploadResult{error: a.err}
	}
	proj, cerr := getProject(p)
	if cerr != nil {
		return C.UplinkPartUploadResult{error: cerr}
	}
	t, up, cerr := startTransfer(proj,
		func(ctx context.Context) (*uplink.PartUpload, error) {
			return proj.uplink.UploadPart(settling(ctx), bucket, key, uploadID, uint32(part_number))
		},
		func(up *uplink.PartUpload) { _ = up.Abort() })
	if cerr != nil {
		return C.UplinkPartUploadResult{error: cerr}
	}
	return C.UplinkPartUploadResult{part_upload: newHandleStruct[C.UplinkPartUpload](&partUpload{transfer: t, up: up, end: newEnding()})}
}

//export uplink_part_upload_write
func uplink_part_upload_write(u *C.UplinkPartUpload, bytes unsafe.Pointer, length C.size_t) (result C.UplinkWriteResult) {
	defer recoverError(&result.error)
	up, cerr := getPartUpload(u)
	if cerr != nil {
		return C.UplinkWriteResult{error: cerr}
	}
	defer up.op()()
	buf, err := cBuffer(bytes, length)
	if err != nil || len(buf) == 0 {
		return C.UplinkWriteResult{error: newError(nil, err)}
	}
	if err := up.alive(); err != nil {
		return C.UplinkWriteResult{error: newError(up.ctx, err)}
	}
	n, err := writeReportingFailure(up.up.Write, buf)
	err = up.outcome(err)
	return C.UplinkWriteResult{bytes_written: C.size_t(n), error: newError(up.ctx, err)}
}

//export uplink_part_upload_commit
func uplink_part_upload_commit(u *C.UplinkPartUpload) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	up, cerr := getPartUpload(u)
	if cerr != nil {
		return cerr
	}
	defer up.op()()
	if err := up.alive(); err != nil {
		return newError(up.ctx, err) // ended: it must not commit
	}
	defer up.release() // after the outcome was classified: a failed commit is not a cancelled one
	return newError(up.ctx, up.end.commit(up.transfer, up.up.Commit))
}

//export uplink_part_upload_abort
func uplink_part_upload_abort(u *C.UplinkPartUpload) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	up, cerr := getPartUpload(u)
	if cerr != nil {
		return cerr
	}
	return newError(up.ctx, up.abort())
}

//export uplink_part_upload_set_etag
func uplink_part_upload_set_etag(u *C.UplinkPartUpload, etag *C.char) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	up, cerr := getPartUpload(u)
	if cerr != nil {
		return cerr
	}
	defer up.op()()
	tag, cerr := requiredString(etag, "etag")
	if cerr != nil {
		return cerr
	}
	if up.end.busy() { // uplink's SetETag waits for the lock a background commit holds
		return newError(nil, errEnding)
	}
	return newError(up.ctx, up.up.SetETag([]byte(tag)))
}

//export uplink_part_upload_info
func uplink_part_upload_info(u *C.UplinkPartUpload) (result C.UplinkPartResult) {
	defer recoverError(&result.error)
	up, cerr := getPartUpload(u)
	if cerr != nil {
		return C.UplinkPartResult{error: cerr}
	}
	if up.end.busy() { // as for uplink_upload_info
		return C.UplinkPartResult{error: newError(nil, errEnding)}
	}
	return C.UplinkPartResult{part: cPart(up.up.Info())}
}

//export uplink_free_part
func uplink_free_part(part *C.UplinkPart) {
	defer recoverSilently()
	if part == nil {
		return
	}
	C.free(unsafe.Pointer(part.etag))
	C.free(unsafe.Pointer(part))
}

//export uplink_free_part_result
func uplink_free_part_result(result C.UplinkPartResult) {
	defer recoverSilently()
	uplink_free_part(result.part)
	uplink_free_error(result.error)
}

//export uplink_free_part_upload_result
func uplink_free_part_upload_result(result C.UplinkPartUploadResult) {
	defer recoverSilently()
	if up, ok := freeHandleStruct(result.part_upload).(*partUpload); ok {
		_ = up.abort() // a part neither committed nor aborted (see uplink_free_upload_result)
	}
	uplink_free_error(result.error)
}

//export uplink_py_cancel_part_upload
func uplink_py_cancel_part_upload(u *C.UplinkPartUpload) {
	defer recoverSilently()
	if up, ok := lookup[*partUpload](handleID(u)); ok {
		up.release()
	}
}
