package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"unsafe"

	"storj.io/uplink/private/object"
)

// download is the Go value behind an UplinkDownload handle. It reads through
// uplink's versioned download (the same stream as uplink.Download) so that the
// object version it reads is known: whole-object transfers pin their ranges to it.
type download struct {
	transfer
	dl *object.VersionedDownload

	closeOnce sync.Once
	closeErr  error
}

// close closes the download once (by uplink_close_download or on free).
func (d *download) close() error {
	d.closeOnce.Do(func() { d.closeErr = d.dl.Close() })
	return d.closeErr
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
	return uplink_py_download_object_version(p, bucket_name, object_key, nil, options)
}

// uplink_py_download_object_version downloads the given version of an object
// (hex, as uplink_py_download_version reports it; NULL or "" for the latest).
// A version that is no longer stored is UPLINK_ERROR_OBJECT_NOT_FOUND.
//
//export uplink_py_download_object_version
func uplink_py_download_object_version(p *C.UplinkProject, bucket_name, object_key, version *C.char, options *C.UplinkDownloadOptions) (result C.UplinkDownloadResult) {
	defer recoverError(&result.error)
	var a args
	bucket := a.required(bucket_name, "bucket_name")
	key := a.required(object_key, "object_key")
	if a.err != nil {
		return C.UplinkDownloadResult{error: a.err}
	}
	pinned, err := parseVersion(version)
	if err != nil {
		return C.UplinkDownloadResult{error: newError(nil, err)}
	}
	proj, cerr := getProject(p)
	if cerr != nil {
		return C.UplinkDownloadResult{error: cerr}
	}
	var opts *object.DownloadObjectOptions
	if options != nil {
		opts = &object.DownloadObjectOptions{Offset: int64(options.offset), Length: int64(options.length)}
	}
	t, dl, cerr := startTransfer(proj,
		func(ctx context.Context) (*object.VersionedDownload, error) {
			return object.DownloadObject(ctx, proj.uplink, bucket, key, pinned, opts)
		},
		func(dl *object.VersionedDownload) { _ = dl.Close() })
	if cerr != nil {
		return C.UplinkDownloadResult{error: cerr}
	}
	return C.UplinkDownloadResult{download: newHandleStruct[C.UplinkDownload](&download{transfer: t, dl: dl})}
}

// uplink_py_download_identity names the object version a download reads (see
// objectIdentity); freed with uplink_free_string_result.
//
//export uplink_py_download_identity
func uplink_py_download_identity(d *C.UplinkDownload) (result C.UplinkStringResult) {
	defer recoverError(&result.error)
	dl, cerr := getDownload(d)
	if cerr != nil {
		return C.UplinkStringResult{error: cerr}
	}
	return C.UplinkStringResult{string: C.CString(objectIdentity(dl.dl.Info()))}
}

// objectIdentity is "<created, Unix ns>:<content length>:<version, hex>". Two reads
// of a key see the same stored object exactly when their identities are equal:
// versioned objects have a version; uplink reports none for unversioned ones, but
// the satellite stamps every commit with its own creation time (microseconds),
// and an overwrite is a new commit. The last field is the version
// uplink_py_download_object_version pins ("" for unversioned objects).
func objectIdentity(obj *object.VersionedObject) string {
	return fmt.Sprintf("%d:%d:%s", obj.System.Created.UnixNano(), obj.System.ContentLength, hex.EncodeToString(obj.Version))
}

// parseVersion reads an optional hex version argument (NULL or "": none).
func parseVersion(version *C.char) ([]byte, error) {
	text := optionalString(version)
	if text == "" {
		return nil, nil
	}
	pinned, err := hex.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("uplink: invalid argument: version %q is not hexadecimal", text)
	}
	return pinned, nil
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
	defer dl.op()()
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
	return objectResult(&dl.dl.Info().Object, nil)
}

//export uplink_close_download
func uplink_close_download(d *C.UplinkDownload) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	dl, cerr := getDownload(d)
	if cerr != nil {
		return cerr
	}
	return newError(dl.ctx, dl.close())
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
		_ = dl.close() // its connections and goroutines end with the handle
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
