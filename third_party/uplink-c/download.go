package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"unsafe"

	"storj.io/uplink"
)

// download is the Go value behind an UplinkDownload handle.
type download struct {
	transfer
	dl *uplink.Download
}

func getDownload(d *C.UplinkDownload) (*download, *C.UplinkError) {
	v, ok := lookup[*download](handleID(d))
	if !ok {
		return nil, invalidHandle()
	}
	return v, nil
}

//export uplink_download_object
func uplink_download_object(p *C.UplinkProject, bucket_name, object_key *C.char, options *C.UplinkDownloadOptions) (result C.UplinkDownloadResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	if a.err != nil {
		return C.UplinkDownloadResult{error: a.err}
	}
	proj, cerr := getProject(p)
	if cerr != nil {
		return C.UplinkDownloadResult{error: cerr}
	}
	var opts *uplink.DownloadOptions
	if options != nil {
		opts = &uplink.DownloadOptions{Offset: int64(options.offset), Length: int64(options.length)}
	}
	t, dl, cerr := startTransfer(proj,
		func(ctx context.Context) (*uplink.Download, error) {
			return proj.uplink.DownloadObject(ctx, bucket, key, opts)
		},
		func(dl *uplink.Download) { _ = dl.Close() })
	if cerr != nil {
		return C.UplinkDownloadResult{error: cerr}
	}
	return C.UplinkDownloadResult{download: newHandleStruct[C.UplinkDownload](&download{transfer: t, dl: dl})}
}

// uplink_download_read reads into the caller's buffer directly. At the end of
// the object the error is UPLINK_ERROR_EOF, possibly with bytes_read > 0.
//
//export uplink_download_read
func uplink_download_read(d *C.UplinkDownload, bytes unsafe.Pointer, length C.size_t) (result C.UplinkReadResult) {
	defer recoverError(&result.error)
	dl, cerr := getDownload(d)
	if cerr != nil {
		return C.UplinkReadResult{error: cerr}
	}
	buf, err := cBuffer(bytes, length)
	if err != nil || len(buf) == 0 {
		return C.UplinkReadResult{error: newError(nil, err)}
	}
	n, err := dl.dl.Read(buf)
	return C.UplinkReadResult{bytes_read: C.size_t(n), error: newReadError(dl.ctx, err)}
}

//export uplink_download_info
func uplink_download_info(d *C.UplinkDownload) (result C.UplinkObjectResult) {
	defer recoverError(&result.error)
	dl, cerr := getDownload(d)
	if cerr != nil {
		return C.UplinkObjectResult{error: cerr}
	}
	return objectResult(dl.dl.Info(), nil)
}

//export uplink_close_download
func uplink_close_download(d *C.UplinkDownload) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	dl, cerr := getDownload(d)
	if cerr != nil {
		return cerr
	}
	return newError(dl.ctx, dl.dl.Close())
}

//export uplink_free_read_result
func uplink_free_read_result(result C.UplinkReadResult) {
	defer recoverSilently()
	uplink_free_error(result.error)
}

//export uplink_free_download_result
func uplink_free_download_result(result C.UplinkDownloadResult) {
	defer recoverSilently()
	if dl, ok := freeHandleStruct(result.download).(*download); ok {
		dl.release()
	}
	uplink_free_error(result.error)
}

//export uplink_py_cancel_download
func uplink_py_cancel_download(d *C.UplinkDownload) {
	defer recoverSilently()
	if dl, ok := lookup[*download](handleID(d)); ok {
		dl.release()
	}
}
