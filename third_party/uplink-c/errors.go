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
	"storj.io/common/rpc/rpcstatus"
	"storj.io/uplink"
	"storj.io/uplink/edge"
	privateBucket "storj.io/uplink/private/bucket"
	"storj.io/uplink/private/object"
	privateProject "storj.io/uplink/private/project"
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
	codePreconditionFailed     = C.UPLINK_PY_ERROR_PRECONDITION_FAILED
	codeObjectExists           = C.UPLINK_PY_ERROR_OBJECT_EXISTS
	codeObjectLocked           = C.UPLINK_PY_ERROR_OBJECT_LOCKED
	codeObjectLockInvalid      = C.UPLINK_PY_ERROR_OBJECT_LOCK_INVALID
	codeMethodNotAllowed       = C.UPLINK_PY_ERROR_METHOD_NOT_ALLOWED
	codeUnimplemented          = C.UPLINK_PY_ERROR_UNIMPLEMENTED
	codeAuthDialFailed         = C.EDGE_ERROR_AUTH_DIAL_FAILED
	codeRegisterAccessFailed   = C.EDGE_ERROR_REGISTER_ACCESS_FAILED
)

// errorCodes is checked in order with errors.Is.
var errorCodes = []struct {
	err  error
	code C.int32_t
}{
	{errObjectChanged, codeObjectChanged},
	{errObjectExists, codeObjectExists},
	{object.ErrObjectProtected, codeObjectLocked},
	{object.ErrFailedPrecondition, codePreconditionFailed},
	{object.ErrNoObjectLockConfiguration, codeObjectLockInvalid},
	{object.ErrObjectLockInvalidObjectState, codeObjectLockInvalid},
	{object.ErrObjectLockUploadWithTTLAndDefaultRetention, codeObjectLockInvalid},
	{object.ErrObjectLockUploadWithTTLAPIKeyAndDefaultRetention, codeObjectLockInvalid},
	{privateBucket.ErrBucketNoLock, codeObjectLockInvalid},
	{privateBucket.ErrBucketInvalidStateObjectLock, codeObjectLockInvalid},
	{privateProject.ErrProjectNoLock, codeObjectLockInvalid},
	{privateProject.ErrLockNotEnabled, codeObjectLockInvalid},
	{object.ErrMethodNotAllowed, codeMethodNotAllowed},
	{object.ErrUnimplemented, codeUnimplemented},
	{object.ErrDeleteObjectsUnimplemented, codeUnimplemented},
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
	case errors.Is(err, errInvalidHandle), errors.Is(err, errProjectClosed):
		return codeInvalidHandle // a call begun after its project's close, as C++ tells one before
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
	if code, ok := rpcCodes[rpcstatus.Code(err)]; ok { // uplink's own paths pass these through
		return code
	}
	if badBucketName(err) {
		return codeBucketNameInvalid
	}
	return codeInternal
}

// badBucketName tells the satellite's refusal of a bucket name: uplink checks only
// that one is given, the satellite the rest (3-63 characters, lowercase letters,
// digits, hyphens, dots, not an IP address), as InvalidArgument with a message
// about the "bucket name" or a "bucket label" (one dot-separated part).
func badBucketName(err error) bool {
	switch rpcstatus.Code(err) {
	case rpcstatus.BucketNameMissing, rpcstatus.BucketNameInvalid:
		return true
	case rpcstatus.InvalidArgument:
		message := err.Error()
		return strings.Contains(message, "bucket name") || strings.Contains(message, "bucket label")
	}
	return false
}

// rpcCodes classifies the satellite's status codes that uplink's public calls pass
// through unconverted (private/object converts them for its own calls). Not
// FailedPrecondition: the satellite also says "not enough nodes" with it; only a
// conditional write's is classified (ifAbsent).
var rpcCodes = map[rpcstatus.StatusCode]C.int32_t{
	rpcstatus.ObjectLockObjectProtected:                        codeObjectLocked,
	rpcstatus.ObjectLockBucketRetentionConfigurationMissing:    codeObjectLockInvalid,
	rpcstatus.ObjectLockInvalidBucketState:                     codeObjectLockInvalid,
	rpcstatus.ObjectLockInvalidObjectState:                     codeObjectLockInvalid,
	rpcstatus.ObjectLockUploadWithTTLAndDefaultRetention:       codeObjectLockInvalid,
	rpcstatus.ObjectLockUploadWithTTLAPIKeyAndDefaultRetention: codeObjectLockInvalid,
	rpcstatus.ObjectLockEndpointsDisabled:                      codeObjectLockInvalid,
	rpcstatus.ObjectLockDisabledForProject:                     codeObjectLockInvalid,
	rpcstatus.MethodNotAllowed:                                 codeMethodNotAllowed,
	rpcstatus.Unimplemented:                                    codeUnimplemented,
}

// errObjectExists marks a create-if-absent write that lost: the satellite
// reports a failed precondition, which for IfNoneMatch means the key is taken.
var errObjectExists = errors.New("uplink: object already exists")

// ifAbsent turns a failed precondition of a create-if-absent write into
// errObjectExists (other errors pass unchanged).
func ifAbsent(ifNoneMatch bool, err error) error {
	if err == nil || !ifNoneMatch {
		return err
	}
	if errors.Is(err, object.ErrFailedPrecondition) || rpcstatus.Code(err) == rpcstatus.FailedPrecondition {
		return fmt.Errorf("%w: %w", errObjectExists, err)
	}
	return err
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
	if errors.As(err, &call) { // a call whose timeout passed before it started
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
