package main

// #include "uplink_definitions.h"
import "C"

import (
	"errors"

	"storj.io/common/storj"
	"storj.io/uplink"
	privateBucket "storj.io/uplink/private/bucket"
	"storj.io/uplink/private/metaclient"
	"storj.io/uplink/private/object"
)

// uplink_py_create_bucket_with_object_lock creates a bucket with Object Lock
// enabled (which enables versioning too); an existing bucket is
// UPLINK_ERROR_BUCKET_ALREADY_EXISTS.
//
//export uplink_py_create_bucket_with_object_lock
func uplink_py_create_bucket_with_object_lock(p *C.UplinkProject, bucket_name *C.char) (result C.UplinkBucketResult) {
	defer recoverError(&result.error)
	bucket, cerr := requiredString(bucket_name, "bucket_name")
	if cerr != nil {
		return C.UplinkBucketResult{error: cerr}
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return C.UplinkBucketResult{error: cerr}
	}
	defer done()
	b, err := privateBucket.CreateBucketWithObjectLock(ctx, proj.uplink,
		privateBucket.CreateBucketWithObjectLockParams{Name: bucket, ObjectLockEnabled: true})
	if err != nil {
		return C.UplinkBucketResult{error: newError(ctx, err)}
	}
	return C.UplinkBucketResult{bucket: cBucket(&uplink.Bucket{Name: b.Name, Created: b.Created})}
}

//export uplink_py_get_bucket_object_lock_configuration
func uplink_py_get_bucket_object_lock_configuration(p *C.UplinkProject, bucket_name *C.char, out *C.UplinkPyObjectLockConfiguration) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	bucket, cerr := requiredString(bucket_name, "bucket_name")
	if cerr != nil {
		return cerr
	}
	if out == nil {
		return newError(nil, errNullArgument("out"))
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	config, err := privateBucket.GetBucketObjectLockConfiguration(ctx, proj.uplink, bucket)
	if errors.Is(err, privateBucket.ErrBucketNoLock) { // "not enabled" is a state, not a failure
		*out = C.UplinkPyObjectLockConfiguration{}
		return nil
	}
	if err != nil {
		return newError(ctx, err)
	}
	*out = C.UplinkPyObjectLockConfiguration{enabled: C.bool(config.Enabled)}
	if d := config.DefaultRetention; d != nil {
		out.default_mode, out.default_days, out.default_years = C.int32_t(d.Mode), C.int32_t(d.Days), C.int32_t(d.Years)
	}
	return nil
}

//export uplink_py_set_bucket_object_lock_configuration
func uplink_py_set_bucket_object_lock_configuration(p *C.UplinkProject, bucket_name *C.char, config *C.UplinkPyObjectLockConfiguration) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	bucket, cerr := requiredString(bucket_name, "bucket_name")
	if cerr != nil {
		return cerr
	}
	if config == nil {
		return newError(nil, errNullArgument("config"))
	}
	goConfig := &metaclient.BucketObjectLockConfiguration{Enabled: bool(config.enabled)}
	switch mode := storj.RetentionMode(config.default_mode); mode {
	case storj.NoRetention:
	case storj.ComplianceMode, storj.GovernanceMode:
		if (config.default_days > 0) == (config.default_years > 0) {
			return newError(nil, errInvalidArgument("a default retention needs exactly one of days and years > 0"))
		}
		goConfig.DefaultRetention = &metaclient.DefaultRetention{
			Mode: mode, Days: int32(config.default_days), Years: int32(config.default_years)}
	default:
		return newError(nil, errInvalidArgument("retention mode %d is not 0, 1 or 2", int32(mode)))
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	return newError(ctx, privateBucket.SetBucketObjectLockConfiguration(ctx, proj.uplink, bucket, goConfig))
}

// uplink_py_set_object_retention places (or, with bypass_governance, shortens or
// removes: mode 0) a retention period on an object version.
//
//export uplink_py_set_object_retention
func uplink_py_set_object_retention(p *C.UplinkProject, bucket_name, object_key, version *C.char, retention C.UplinkPyRetention, bypass_governance C.bool) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	bucket, key, pinned, cerr := objectArgs(bucket_name, object_key, version)
	if cerr != nil {
		return cerr
	}
	r, err := goRetention(retention)
	if err != nil {
		return newError(nil, err)
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	return newError(ctx, object.SetObjectRetention(ctx, proj.uplink, bucket, key, pinned, r,
		&object.SetObjectRetentionOptions{BypassGovernanceRetention: bool(bypass_governance)}))
}

// uplink_py_get_object_retention reports a version's retention (mode 0: none).
//
//export uplink_py_get_object_retention
func uplink_py_get_object_retention(p *C.UplinkProject, bucket_name, object_key, version *C.char, out *C.UplinkPyRetention) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	bucket, key, pinned, cerr := objectArgs(bucket_name, object_key, version)
	if cerr != nil {
		return cerr
	}
	if out == nil {
		return newError(nil, errNullArgument("out"))
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	r, err := object.GetObjectRetention(ctx, proj.uplink, bucket, key, pinned)
	switch {
	case errors.Is(err, object.ErrRetentionNotFound):
		*out = C.UplinkPyRetention{}
	case err != nil:
		return newError(ctx, err)
	default:
		*out = cRetention(*r)
	}
	return nil
}

//export uplink_py_set_object_legal_hold
func uplink_py_set_object_legal_hold(p *C.UplinkProject, bucket_name, object_key, version *C.char, enabled C.bool) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	bucket, key, pinned, cerr := objectArgs(bucket_name, object_key, version)
	if cerr != nil {
		return cerr
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	return newError(ctx, object.SetObjectLegalHold(ctx, proj.uplink, bucket, key, pinned, bool(enabled)))
}

//export uplink_py_get_object_legal_hold
func uplink_py_get_object_legal_hold(p *C.UplinkProject, bucket_name, object_key, version *C.char, out *C.bool) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	bucket, key, pinned, cerr := objectArgs(bucket_name, object_key, version)
	if cerr != nil {
		return cerr
	}
	if out == nil {
		return newError(nil, errNullArgument("out"))
	}
	proj, ctx, done, cerr := projectCall(p)
	if cerr != nil {
		return cerr
	}
	defer done()
	enabled, err := object.GetObjectLegalHold(ctx, proj.uplink, bucket, key, pinned)
	if err != nil {
		return newError(ctx, err)
	}
	*out = C.bool(enabled)
	return nil
}

// writeOptions reads an UplinkPyWriteOptions (NULL: none).
type writeOptions struct {
	retention    metaclient.Retention
	legalHold    bool
	ifNoneMatch  []string
	abortOnClose bool // begin_upload: the project's close aborts it (project.own)
}

func goWriteOptions(w *C.UplinkPyWriteOptions) (writeOptions, error) {
	if w == nil {
		return writeOptions{}, nil
	}
	r, err := goRetention(w.retention)
	if err != nil {
		return writeOptions{}, err
	}
	opts := writeOptions{retention: r, legalHold: bool(w.legal_hold), abortOnClose: bool(w.abort_on_close)}
	if w.if_none_match {
		opts.ifNoneMatch = []string{"*"}
	}
	return opts, nil
}
