package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"unsafe" // also for go:linkname

	"storj.io/uplink"
	"storj.io/uplink/private/metaclient"
	"storj.io/uplink/private/object"
)

// upload is the Go value behind an UplinkUpload handle. uplink runs it on a
// settling context (settle.go): a cancellation stops its transfers to storage
// nodes at once, and its satellite requests in flight are answered, so that the
// pending object begun in the background is known and deleted.
type upload struct {
	transfer
	up          *uplink.Upload
	end         *ending
	ifNoneMatch bool // a commit that finds the key taken is errObjectExists
}

// uplink's upload with retention, legal hold and IfNoneMatch, as private/object
// reaches it. Not object.UploadObject: its Commit replaces the library's error by a
// bare sentinel ("failed precondition" where uplink says "not enough nodes ...").
//
//go:linkname uploadObjectWithRetention storj.io/uplink.uploadObjectWithRetention
func uploadObjectWithRetention(ctx context.Context, project *uplink.Project, bucket, key string, options *metaclient.UploadOptions) (*uplink.Upload, error)

//go:linkname commitUpload storj.io/uplink.commitUpload
func commitUpload(ctx context.Context, project *uplink.Project, bucket, key, uploadID string, opts *metaclient.CommitUploadOptions) (*uplink.Object, error)

//go:linkname objectVersion storj.io/uplink.objectVersion
func objectVersion(obj *uplink.Object) []byte

//go:linkname objectIsVersioned storj.io/uplink.objectIsVersioned
func objectIsVersioned(obj *uplink.Object) bool

// abort ends the upload without committing (after a commit: ErrUploadDone).
func (u *upload) abort() error { return u.end.abort(u.transfer, u.up.Abort) }

func getUpload(u *C.UplinkUpload) (*upload, *C.UplinkError) {
	v, ok := lookup[*upload](handleID(u))
	if !ok {
		return nil, invalidHandle()
	}
	return v, nil
}

//export uplink_upload_object
func uplink_upload_object(p *C.UplinkProject, bucket_name, object_key *C.char, options *C.UplinkUploadOptions) (result C.UplinkUploadResult) {
	return uplink_py_upload_object(p, bucket_name, object_key, options, nil)
}

// uplink_py_upload_object is uplink_upload_object that can lock the new version
// or commit it only if the key is free (write may be NULL).
//
//export uplink_py_upload_object
func uplink_py_upload_object(p *C.UplinkProject, bucket_name, object_key *C.char, options *C.UplinkUploadOptions, write *C.UplinkPyWriteOptions) (result C.UplinkUploadResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	if a.err != nil {
		return C.UplinkUploadResult{error: a.err}
	}
	proj, cerr := getProject(p)
	if cerr != nil {
		return C.UplinkUploadResult{error: cerr}
	}
	w, err := goWriteOptions(write)
	if err != nil {
		return C.UplinkUploadResult{error: newError(nil, err)}
	}
	opts := metaclient.UploadOptions{Retention: w.retention, LegalHold: w.legalHold, IfNoneMatch: w.ifNoneMatch}
	if options != nil {
		opts.Expires = unixToTime(options.expires)
	}
	t, up, cerr := startTransfer(proj,
		func(ctx context.Context) (*uplink.Upload, error) {
			return uploadObjectWithRetention(settling(ctx), proj.uplink, bucket, key, &opts)
		},
		func(up *uplink.Upload) { _ = up.Abort() })
	if cerr != nil {
		return C.UplinkUploadResult{error: cerr}
	}
	u := &upload{transfer: t, up: up, end: newEnding(), ifNoneMatch: w.ifNoneMatch != nil}
	return C.UplinkUploadResult{upload: newHandleStruct[C.UplinkUpload](u)}
}

//export uplink_upload_write
func uplink_upload_write(u *C.UplinkUpload, bytes unsafe.Pointer, length C.size_t) (result C.UplinkWriteResult) {
	defer recoverError(&result.error)
	up, cerr := getUpload(u)
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

//export uplink_upload_commit
func uplink_upload_commit(u *C.UplinkUpload) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	up, cerr := getUpload(u)
	if cerr != nil {
		return cerr
	}
	defer up.op()() // a commit request in flight settles (settle.go)
	if err := up.alive(); err != nil {
		return newError(up.ctx, err) // ended: it must not commit
	}
	defer up.release() // after the outcome was classified: a failed commit is not a cancelled one
	return newError(up.ctx, ifAbsent(up.ifNoneMatch, up.end.commit(up.transfer, up.up.Commit)))
}

//export uplink_upload_abort
func uplink_upload_abort(u *C.UplinkUpload) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	up, cerr := getUpload(u)
	if cerr != nil {
		return cerr
	}
	return newError(up.ctx, up.abort())
}

//export uplink_upload_set_custom_metadata
func uplink_upload_set_custom_metadata(u *C.UplinkUpload, custom_metadata C.UplinkCustomMetadata) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	up, cerr := getUpload(u)
	if cerr != nil {
		return cerr
	}
	defer up.op()()
	metadata, err := goCustomMetadata(custom_metadata)
	if err != nil {
		return newError(nil, err)
	}
	if err := up.alive(); err != nil {
		return newError(up.ctx, err)
	}
	return newError(up.ctx, up.up.SetCustomMetadata(up.ctx, metadata))
}

//export uplink_upload_info
func uplink_upload_info(u *C.UplinkUpload) (result C.UplinkObjectResult) {
	defer recoverError(&result.error)
	up, cerr := getUpload(u)
	if cerr != nil {
		return C.UplinkObjectResult{error: cerr}
	}
	if up.end.busy() { // uplink's Info waits for the upload's lock, which the commit holds
		return C.UplinkObjectResult{error: newError(nil, errEnding)}
	}
	return objectResult(up.up.Info(), nil)
}

// uplink_py_upload_version is uplink_upload_info with the version (after a
// commit) and lock state of the upload's object.
//
//export uplink_py_upload_version
func uplink_py_upload_version(u *C.UplinkUpload) (result C.UplinkPyObjectVersionResult) {
	defer recoverError(&result.error)
	up, cerr := getUpload(u)
	if cerr != nil {
		return C.UplinkPyObjectVersionResult{error: cerr}
	}
	if up.end.busy() {
		return C.UplinkPyObjectVersionResult{error: newError(nil, errEnding)}
	}
	info := up.up.Info()
	if info == nil {
		return C.UplinkPyObjectVersionResult{}
	}
	return versionResult(&object.VersionedObject{Object: *info, Version: objectVersion(info),
		IsVersioned: objectIsVersioned(info)}, nil)
}

//export uplink_free_write_result
func uplink_free_write_result(result C.UplinkWriteResult) {
	defer recoverSilently()
	uplink_free_error(result.error)
}

// uplink_free_upload_result releases the handle and the upload's context, and
// aborts an upload that was neither committed nor aborted: its pending object
// and stored segments must not outlive the handle.
//
//export uplink_free_upload_result
func uplink_free_upload_result(result C.UplinkUploadResult) {
	defer recoverSilently()
	if up, ok := freeHandleStruct(result.upload).(*upload); ok {
		_ = up.abort() // ErrUploadDone once committed or aborted
	}
	uplink_free_error(result.error)
}

//export uplink_py_cancel_upload
func uplink_py_cancel_upload(u *C.UplinkUpload) {
	defer recoverSilently()
	if up, ok := lookup[*upload](handleID(u)); ok {
		up.release()
	}
}
