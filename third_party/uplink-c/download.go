package main

// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"storj.io/uplink"
	"storj.io/uplink/private/object"
)

// download is the Go value behind an UplinkDownload handle. It reads through
// uplink's versioned download (the same stream as uplink.Download) so that the
// object version it reads is known: whole-object transfers pin their ranges to it.
//
// A read that fails with a network error is retried (see read) on a new download
// of the rest of the range, of the same object version; transfer.ctx spans them all.
type download struct {
	transfer
	dl *object.VersionedDownload

	bucket   string
	key      string
	pinned   []byte // the version to re-open; none for unversioned objects
	identity string // objectIdentity of what the first open found
	next     int64  // object offset of the next byte
	end      int64  // object offset where the range ends
	retries  int    // stream retries allowed in a row (uplink_py_set_download_retries)
	left     int    // of those, not used yet: refilled once a stream delivered retryRefill
	streamed int64  // bytes the current stream delivered
	broken   error  // a failed stream whose bytes were delivered; re-opened at next read
	changed  bool   // a re-open found another object: every read fails from then on

	closeOnce sync.Once
	closeErr  error
}

// retriedReads counts re-opened download streams, for uplink_py_debug_counts.
var retriedReads atomic.Int64

// errObjectChanged: the object was replaced or deleted while it was read.
var errObjectChanged = errors.New("uplink: the object was replaced or deleted while it was read")

// retryRefill: a stream that delivered this much earns the retries back. A network
// that fails every stream after a few kilobytes thus fails the download after
// d.retries retries, instead of crawling through it one retry per few kilobytes.
const retryRefill = 1 << 20

// read reads into buf, retrying a stream that failed with a network error or a
// rate limit: up to d.retries times in a row, after 100 ms, 200 ms, 400 ms...
// (capped at 2 s; the default 5 ride out about 3 s of failures), each on a new
// download from d.next to d.end, which must be the same object version (else
// errObjectChanged). Bytes read before a failure are returned first.
func (d *download) read(buf []byte) (int, error) {
	if d.changed {
		return 0, errObjectChanged
	}
	var err error
	for {
		if d.broken == nil {
			var n int
			n, err = d.dl.Read(buf)
			d.next += int64(n)
			if errors.Is(err, io.EOF) && d.next < d.end {
				// the stream ended before its range did: cut, not the end of the object
				err = fmt.Errorf("uplink: download stream ended at %d of %d: %v", d.next, d.end, err)
			}
			if d.streamed += int64(n); d.streamed >= retryRefill {
				d.left = d.retries
			}
			switch {
			case err == nil || !d.retryable(err):
				return n, err
			case n > 0:
				d.broken = err // deliver these; the next read re-opens
				return n, nil
			}
		} else {
			err, d.broken = d.broken, nil
		}
		if d.left <= 0 || !d.retryable(err) { // a re-open's error may not be retryable
			return 0, err
		}
		d.left--
		if waitErr := d.backoff(d.retries - d.left - 1); waitErr != nil {
			return 0, waitErr
		}
		retriedReads.Add(1)
		if reopenErr := d.reopen(); reopenErr != nil {
			return 0, reopenErr
		}
	}
}

// retryable: a network error, a rate limit, or a dial timeout (not a call's: the
// transfer is alive).
func (d *download) retryable(err error) bool {
	if d.alive() != nil {
		return false
	}
	code := errorCode(d.ctx, err, true)
	return code == codeInternal || code == codeTooManyRequests || code == codeTimeout
}

func (d *download) backoff(attempt int) error {
	wait := min(100*time.Millisecond<<min(attempt, 5), 2*time.Second)
	select {
	case <-time.After(wait):
		return nil
	case <-d.ctx.Done():
		return context.Cause(d.ctx)
	}
}

// reopen replaces the stream with a download of the rest of the range.
func (d *download) reopen() error {
	_ = d.dl.Close()
	opts := &object.DownloadObjectOptions{Offset: d.next, Length: d.end - d.next}
	dl, err := object.DownloadObject(d.ctx, d.proj.uplink, d.bucket, d.key, d.pinned, opts)
	if err != nil {
		if errors.Is(err, uplink.ErrObjectNotFound) {
			d.changed = true
			return errObjectChanged
		}
		d.broken = err // still broken: the next read tries again, if it may
		return err
	}
	d.dl = dl // closed with the download, also when it is another object's
	d.streamed = 0
	if objectIdentity(dl.Info()) != d.identity {
		d.changed = true
		return errObjectChanged
	}
	return nil
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
	info := dl.Info()
	d := &download{transfer: t, dl: dl, bucket: bucket, key: key, pinned: info.Version,
		identity: objectIdentity(info), retries: defaultDownloadRetries, left: defaultDownloadRetries}
	d.next, d.end = downloadRange(opts, info.System.ContentLength)
	return C.UplinkDownloadResult{download: newHandleStruct[C.UplinkDownload](d)}
}

// defaultDownloadRetries is the read retries of a download until
// uplink_py_set_download_retries says otherwise.
const defaultDownloadRetries = 5

// downloadRange is the object offsets [start, end) a download of opts reads, as
// uplink reads them (negative offset: from the end; negative length: to the end).
func downloadRange(opts *object.DownloadObjectOptions, size int64) (start, end int64) {
	if opts == nil {
		return 0, size
	}
	start, end = opts.Offset, size
	if start < 0 {
		start = max(0, size+start)
	}
	start = min(start, size)
	if opts.Length >= 0 {
		end = min(size, start+opts.Length)
	}
	return start, end
}

// uplink_py_set_download_retries sets how many times in a row the download may
// retry a failed stream (0: never).
//
//export uplink_py_set_download_retries
func uplink_py_set_download_retries(d *C.UplinkDownload, retries C.int32_t) {
	defer recoverSilently()
	if dl, ok := lookup[*download](handleID(d)); ok {
		dl.retries = max(0, int(retries))
		dl.left = dl.retries
	}
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
	if err := dl.alive(); err != nil {
		return C.UplinkReadResult{error: newError(dl.ctx, err)}
	}
	n, err := dl.read(buf)
	err = dl.outcome(err)
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
