package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"storj.io/common/errs2"
	"storj.io/uplink"
	"storj.io/uplink/edge"
)

// Error codes of uplink_definitions.h.
const (
	codeEOF                    = C.UPLINK_ERROR_EOF
	codeInternal               = C.UPLINK_ERROR_INTERNAL
	codeCanceled               = C.UPLINK_ERROR_CANCELED
	codeInvalidHandle          = C.UPLINK_ERROR_INVALID_HANDLE
	codeTooManyRequests        = C.UPLINK_ERROR_TOO_MANY_REQUESTS
	codeBandwidthLimitExceeded = C.UPLINK_ERROR_BANDWIDTH_LIMIT_EXCEEDED
	codeStorageLimitExceeded   = C.UPLINK_ERROR_STORAGE_LIMIT_EXCEEDED
	codeSegmentsLimitExceeded  = C.UPLINK_ERROR_SEGMENTS_LIMIT_EXCEEDED
	codePermissionDenied       = C.UPLINK_ERROR_PERMISSION_DENIED
	codeBucketNameInvalid      = C.UPLINK_ERROR_BUCKET_NAME_INVALID
	codeBucketAlreadyExists    = C.UPLINK_ERROR_BUCKET_ALREADY_EXISTS
	codeBucketNotEmpty         = C.UPLINK_ERROR_BUCKET_NOT_EMPTY
	codeBucketNotFound         = C.UPLINK_ERROR_BUCKET_NOT_FOUND
	codeObjectKeyInvalid       = C.UPLINK_ERROR_OBJECT_KEY_INVALID
	codeObjectNotFound         = C.UPLINK_ERROR_OBJECT_NOT_FOUND
	codeUploadDone             = C.UPLINK_ERROR_UPLOAD_DONE
	codeTimeout                = C.UPLINK_PY_ERROR_TIMEOUT
	codeObjectChanged          = C.UPLINK_PY_ERROR_OBJECT_CHANGED
	codeAuthDialFailed         = C.EDGE_ERROR_AUTH_DIAL_FAILED
	codeRegisterAccessFailed   = C.EDGE_ERROR_REGISTER_ACCESS_FAILED
)

// errorCodes is checked in order with errors.Is.
var errorCodes = []struct {
	err  error
	code C.int32_t
}{
	{errObjectChanged, codeObjectChanged},
	{uplink.ErrTooManyRequests, codeTooManyRequests},
	{uplink.ErrBandwidthLimitExceeded, codeBandwidthLimitExceeded},
	{uplink.ErrStorageLimitExceeded, codeStorageLimitExceeded},
	{uplink.ErrSegmentsLimitExceeded, codeSegmentsLimitExceeded},
	{uplink.ErrPermissionDenied, codePermissionDenied},
	{uplink.ErrBucketNameInvalid, codeBucketNameInvalid},
	{uplink.ErrBucketAlreadyExists, codeBucketAlreadyExists},
	{uplink.ErrBucketNotEmpty, codeBucketNotEmpty},
	{uplink.ErrBucketNotFound, codeBucketNotFound},
	{uplink.ErrObjectKeyInvalid, codeObjectKeyInvalid},
	{uplink.ErrObjectNotFound, codeObjectNotFound},
	{uplink.ErrUploadDone, codeUploadDone},
	{edge.ErrAuthDialFailed, codeAuthDialFailed},
	{edge.ErrRegisterAccessFailed, codeRegisterAccessFailed},
}

// errInvalidHandle is what a NULL, released or mistyped handle gives.
var errInvalidHandle = errors.New("uplink: invalid handle")

// errorCode classifies err. ctx is the context the failed call ran on (nil if
// none): once it is cancelled, whatever the call returned counts as a
// cancellation, since a cancelled RPC can surface as anything (even
// "metaclient: EOF"). io.EOF is UPLINK_ERROR_EOF only where eof is true (reads):
// elsewhere it is a broken connection, not the end of an object.
func errorCode(ctx context.Context, err error, eof bool) C.int32_t {
	switch {
	case errors.Is(err, errInvalidHandle):
		return codeInvalidHandle
	case eof && errors.Is(err, io.EOF):
		return codeEOF
	case timeoutCause(ctx, err) != nil:
		return codeTimeout
	case (ctx != nil && ctx.Err() != nil) || errors.Is(err, context.Canceled) || errs2.IsCanceled(err):
		return codeCanceled
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return codeInternal
}

// newError converts err into a malloc'd UplinkError; nil for a nil err.
func newError(ctx context.Context, err error) *C.UplinkError {
	return makeError(ctx, err, false)
}

// newReadError is newError for reads, where io.EOF is the end of the object.
func newReadError(ctx context.Context, err error) *C.UplinkError {
	return makeError(ctx, err, true)
}

// timeoutCause is the timeout that ended the call: a call timeout that
// cancelled ctx, or a dial timeout err reports; nil if none.
func timeoutCause(ctx context.Context, err error) error {
	var call *callTimeoutError
	if ctx != nil && errors.As(context.Cause(ctx), &call) {
		return call
	}
	var dial *errDialTimeout
	if errors.As(err, &dial) {
		return dial
	}
	return nil
}

func makeError(ctx context.Context, err error, eof bool) *C.UplinkError {
	if err == nil {
		return nil
	}
	cerr := (*C.UplinkError)(C.calloc(1, C.size_t(unsafe.Sizeof(C.UplinkError{}))))
	cerr.code = errorCode(ctx, err, eof)
	message := err.Error()
	if cause := timeoutCause(ctx, err); cause != nil && !strings.Contains(message, cause.Error()) {
		message = cause.Error() + ": " + message // what failed may only say "context canceled"
	}
	cerr.message = C.CString(message)
	if details := fmt.Sprintf("%+v", err); details != message {
		cerr.details = C.CString(details)
	}
	return cerr
}

// newInternalError is an UPLINK_ERROR_INTERNAL error with a fixed message.
func newInternalError(format string, args ...any) *C.UplinkError {
	return newError(nil, fmt.Errorf("uplink: "+format, args...))
}

// invalidHandle is the error of a NULL, released or mistyped handle.
func invalidHandle() *C.UplinkError { return newError(nil, errInvalidHandle) }

// recoverError turns a panic into an UPLINK_ERROR_INTERNAL error in *errp. It
// must be deferred directly by every exported function returning an error, so
// no panic reaches C.
func recoverError(errp **C.UplinkError) {
	if r := recover(); r != nil {
		if *errp != nil {
			uplink_free_error(*errp)
		}
		*errp = newInternalError("internal error (panic): %v", r)
	}
}

// recoverSilently swallows a panic, for functions that cannot report errors.
func recoverSilently() { _ = recover() }

//export uplink_free_error
func uplink_free_error(err *C.UplinkError) {
	defer recoverSilently()
	if err == nil {
		return
	}
	C.free(unsafe.Pointer(err.message))
	C.free(unsafe.Pointer(err.details))
	C.free(unsafe.Pointer(err))
}
