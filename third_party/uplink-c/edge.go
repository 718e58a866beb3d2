package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"context"
	"unsafe"

	"storj.io/uplink/edge"
)

//export edge_register_access
func edge_register_access(config C.EdgeConfig, access *C.UplinkAccess, options *C.EdgeRegisterAccessOptions) (result C.EdgeCredentialsResult) {
	defer recoverError(&result.error)
	acc, cerr := getAccess(access)
	if cerr != nil {
		return C.EdgeCredentialsResult{error: cerr}
	}
	cfg := edge.Config{
		AuthServiceAddress:            optionalString(config.auth_service_address),
		InsecureUnencryptedConnection: bool(config.insecure_unencrypted_connection),
	}
	if pem := optionalString(config.certificate_pem); pem != "" {
		cfg.CertificatePEM = []byte(pem)
	}
	var opts edge.RegisterAccessOptions
	if options != nil {
		opts.Public = bool(options.is_public)
	}
	ctx, done := scoped(context.Background())
	defer done()
	credentials, err := cfg.RegisterAccess(ctx, acc, &opts)
	if err != nil {
		return C.EdgeCredentialsResult{error: newError(ctx, err)}
	}
	c := calloc[C.EdgeCredentials]()
	c.access_key_id = C.CString(credentials.AccessKeyID)
	c.secret_key = C.CString(credentials.SecretKey)
	c.endpoint = C.CString(credentials.Endpoint)
	return C.EdgeCredentialsResult{credentials: c}
}

//export edge_free_credentials
func edge_free_credentials(credentials *C.EdgeCredentials) {
	defer recoverSilently()
	if credentials == nil {
		return
	}
	C.free(unsafe.Pointer(credentials.access_key_id))
	C.free(unsafe.Pointer(credentials.secret_key))
	C.free(unsafe.Pointer(credentials.endpoint))
	C.free(unsafe.Pointer(credentials))
}

//export edge_free_credentials_result
func edge_free_credentials_result(result C.EdgeCredentialsResult) {
	defer recoverSilently()
	edge_free_credentials(result.credentials)
	uplink_free_error(result.error)
}

//export edge_join_share_url
func edge_join_share_url(base_url, access_key_id, bucket, key *C.char, options *C.EdgeShareURLOptions) (result C.UplinkStringResult) {
	defer recoverError(&result.error)
	var a args
	baseURL := a.required(base_url, "base_url")
	accessKeyID := a.required(access_key_id, "access_key_id")
	if a.err != nil {
		return C.UplinkStringResult{error: a.err}
	}
	var opts edge.ShareURLOptions
	if options != nil {
		opts.Raw = bool(options.raw)
	}
	url, err := edge.JoinShareURL(baseURL, accessKeyID, optionalString(bucket), optionalString(key), &opts)
	if err != nil {
		return C.UplinkStringResult{error: newError(nil, err)}
	}
	return C.UplinkStringResult{string: C.CString(url)}
}
