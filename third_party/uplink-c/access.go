package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"math"
	"time"
	"unsafe"

	"storj.io/uplink"
)

// getAccess resolves an UplinkAccess handle.
func getAccess(a *C.UplinkAccess) (*uplink.Access, *C.UplinkError) {
	v, ok := lookup[*uplink.Access](handleID(a))
	if !ok {
		return nil, invalidHandle()
	}
	return v, nil
}

func accessResult(access *uplink.Access, err error) C.UplinkAccessResult {
	if err != nil {
		return C.UplinkAccessResult{error: newError(nil, err)}
	}
	return C.UplinkAccessResult{access: newHandleStruct[C.UplinkAccess](access)}
}

//export uplink_parse_access
func uplink_parse_access(accessString *C.char) (result C.UplinkAccessResult) {
	defer recoverError(&result.error)
	serialized, cerr := requiredString(accessString, "access")
	if cerr != nil {
		return C.UplinkAccessResult{error: cerr}
	}
	return accessResult(uplink.ParseAccess(serialized))
}

//export uplink_request_access_with_passphrase
func uplink_request_access_with_passphrase(satellite_address, api_key, passphrase *C.char) (result C.UplinkAccessResult) {
	defer recoverError(&result.error)
	return uplink_config_request_access_with_passphrase(C.UplinkConfig{}, satellite_address, api_key, passphrase)
}

//export uplink_config_request_access_with_passphrase
func uplink_config_request_access_with_passphrase(config C.UplinkConfig, satellite_address, api_key, passphrase *C.char) (result C.UplinkAccessResult) {
	defer recoverError(&result.error)
	var a args
	satellite := a.required(satellite_address, "satellite_address")
	apiKey := a.required(api_key, "api_key")
	pass := a.required(passphrase, "passphrase")
	if a.err != nil {
		return C.UplinkAccessResult{error: a.err}
	}
	cfg, withTemp := goConfig(config, nil)
	ctx, done := scoped(withTemp(context.Background()))
	defer done()
	access, err := cfg.RequestAccessWithPassphrase(ctx, satellite, apiKey, pass)
	if err != nil {
		return C.UplinkAccessResult{error: newError(ctx, err)}
	}
	return accessResult(access, nil)
}

//export uplink_access_satellite_address
func uplink_access_satellite_address(access *C.UplinkAccess) (result C.UplinkStringResult) {
	defer recoverError(&result.error)
	acc, cerr := getAccess(access)
	if cerr != nil {
		return C.UplinkStringResult{error: cerr}
	}
	return C.UplinkStringResult{string: C.CString(acc.SatelliteAddress())}
}

//export uplink_access_serialize
func uplink_access_serialize(access *C.UplinkAccess) (result C.UplinkStringResult) {
	defer recoverError(&result.error)
	acc, cerr := getAccess(access)
	if cerr != nil {
		return C.UplinkStringResult{error: cerr}
	}
	serialized, err := acc.Serialize()
	if err != nil {
		return C.UplinkStringResult{error: newError(nil, err)}
	}
	return C.UplinkStringResult{string: C.CString(serialized)}
}

//export uplink_access_share
func uplink_access_share(access *C.UplinkAccess, permission C.UplinkPermission, prefixes *C.UplinkSharePrefix, prefixes_count C.int64_t) (result C.UplinkAccessResult) {
	return uplink_py_access_share(access, C.UplinkPyPermission{base: permission}, prefixes, prefixes_count)
}

// uplink_py_access_share is uplink_access_share with every field of uplink's
// Permission: the Object Lock permissions and MaxObjectTTL.
//
//export uplink_py_access_share
func uplink_py_access_share(access *C.UplinkAccess, permission C.UplinkPyPermission, prefixes *C.UplinkSharePrefix, prefixes_count C.int64_t) (result C.UplinkAccessResult) {
	defer recoverError(&result.error)
	acc, cerr := getAccess(access)
	if cerr != nil {
		return C.UplinkAccessResult{error: cerr}
	}
	if prefixes_count < 0 || (prefixes == nil && prefixes_count > 0) {
		return C.UplinkAccessResult{error: newInternalError("invalid argument: prefixes")}
	}
	var goPrefixes []uplink.SharePrefix
	if prefixes_count > 0 {
		for _, p := range unsafe.Slice(prefixes, int(prefixes_count)) {
			bucket, cerr := requiredString(p.bucket, "prefix bucket")
			if cerr != nil {
				return C.UplinkAccessResult{error: cerr}
			}
			goPrefixes = append(goPrefixes, uplink.SharePrefix{Bucket: bucket, Prefix: optionalString(p.prefix)})
		}
	}
	base := permission.base
	perm := uplink.Permission{
		AllowDownload: bool(base.allow_download),
		AllowUpload:   bool(base.allow_upload),
		AllowList:     bool(base.allow_list),
		AllowDelete:   bool(base.allow_delete),
		NotBefore:     unixToTime(base.not_before),
		NotAfter:      unixToTime(base.not_after),

		AllowPutObjectRetention:               bool(permission.allow_put_object_retention),
		AllowGetObjectRetention:               bool(permission.allow_get_object_retention),
		AllowPutObjectLegalHold:               bool(permission.allow_put_object_legal_hold),
		AllowGetObjectLegalHold:               bool(permission.allow_get_object_legal_hold),
		AllowBypassGovernanceRetention:        bool(permission.allow_bypass_governance_retention),
		AllowPutBucketObjectLockConfiguration: bool(permission.allow_put_bucket_object_lock_configuration),
		AllowGetBucketObjectLockConfiguration: bool(permission.allow_get_bucket_object_lock_configuration),
	}
	if ms := int64(permission.max_object_ttl_milliseconds); ms > 0 {
		ttl := time.Duration(min(ms, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
		perm.MaxObjectTTL = &ttl
	}
	return accessResult(acc.Share(perm, goPrefixes...))
}

//export uplink_access_override_encryption_key
func uplink_access_override_encryption_key(access *C.UplinkAccess, bucket, prefix *C.char, encryptionKey *C.UplinkEncryptionKey) (cerr *C.UplinkError) {
	defer recoverError(&cerr)
	acc, cerr := getAccess(access)
	if cerr != nil {
		return cerr
	}
	key, ok := lookup[*uplink.EncryptionKey](handleID(encryptionKey))
	if !ok {
		return invalidHandle()
	}
	bucketName, cerr := requiredString(bucket, "bucket")
	if cerr != nil {
		return cerr
	}
	return newError(nil, acc.OverrideEncryptionKey(bucketName, optionalString(prefix), key))
}

//export uplink_free_access_result
func uplink_free_access_result(result C.UplinkAccessResult) {
	defer recoverSilently()
	freeHandleStruct(result.access)
	uplink_free_error(result.error)
}

//export uplink_derive_encryption_key
func uplink_derive_encryption_key(passphrase *C.char, salt unsafe.Pointer, length C.size_t) (result C.UplinkEncryptionKeyResult) {
	defer recoverError(&result.error)
	pass, cerr := requiredString(passphrase, "passphrase")
	if cerr != nil {
		return C.UplinkEncryptionKeyResult{error: cerr}
	}
	saltBytes, err := cBuffer(salt, length)
	if err != nil {
		return C.UplinkEncryptionKeyResult{error: newError(nil, err)}
	}
	// DeriveEncryptionKey does not keep the salt, but copy anyway: it is tiny.
	key, err := uplink.DeriveEncryptionKey(pass, append([]byte(nil), saltBytes...))
	if err != nil {
		return C.UplinkEncryptionKeyResult{error: newError(nil, err)}
	}
	return C.UplinkEncryptionKeyResult{encryption_key: newHandleStruct[C.UplinkEncryptionKey](key)}
}

//export uplink_free_encryption_key_result
func uplink_free_encryption_key_result(result C.UplinkEncryptionKeyResult) {
	defer recoverSilently()
	freeHandleStruct(result.encryption_key)
	uplink_free_error(result.error)
}
