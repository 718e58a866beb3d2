// C types of the uplink C API built from this folder (libuplink.a).
//
// The functions are declared by the header that `go build -buildmode=c-archive`
// generates next to the archive (libuplink.h); it includes this file. Names and
// semantics follow Storj's uplink-c so that a build from storj.io/uplink-c can
// replace this one without touching src/cpp (see README.md here). The
// `uplink_py_*` functions are extensions of ours (cancellation, version).
//
// Ownership: every pointer a function returns inside a *Result struct (handles,
// strings, errors, infos) is allocated by the library and released by the
// matching uplink_free_* function, exactly once. Strings passed in are borrowed
// for the duration of the call only.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Opaque handles. `_handle` indexes a Go object; 0 after it has been released.
typedef struct UplinkHandle { size_t _handle; } UplinkHandle;
typedef struct UplinkAccess { size_t _handle; } UplinkAccess;
typedef struct UplinkProject { size_t _handle; } UplinkProject;
typedef struct UplinkDownload { size_t _handle; } UplinkDownload;
typedef struct UplinkUpload { size_t _handle; } UplinkUpload;
typedef struct UplinkPartUpload { size_t _handle; } UplinkPartUpload;
typedef struct UplinkEncryptionKey { size_t _handle; } UplinkEncryptionKey;
typedef struct UplinkBucketIterator { size_t _handle; } UplinkBucketIterator;
typedef struct UplinkObjectIterator { size_t _handle; } UplinkObjectIterator;
typedef struct UplinkUploadIterator { size_t _handle; } UplinkUploadIterator;
typedef struct UplinkPartIterator { size_t _handle; } UplinkPartIterator;

// Times are Unix seconds; 0 means "not set" (e.g. no expiry).
typedef struct UplinkConfig {
    const char *user_agent;             // NULL or "" for the default
    int32_t dial_timeout_milliseconds;  // <= 0 for the default
    const char *temp_directory;         // NULL or "" for the default
} UplinkConfig;

// uplink-py's own: transfer tuning, the knobs of the Go CLI's `uplink cp` (0: uplink's
// default, in parentheses). Its --inmemory-erasure-coding is left out: it sets the
// temp data of the context, which storj.io/uplink v1.14.5 reads only in
// eestream.EncodeReader2, used only by ecclient.PutSingleResult, which its upload path
// never calls (the splitter buffers segments in memory).
typedef struct UplinkPyTransferConfig {
    int32_t maximum_concurrent_pieces;    // piece uploads in flight per upload, all its segments (300)
    int32_t maximum_concurrent_segments;  // segments in flight per upload (10)
    // Any connection_pool_* field gives the project one pool of its own, for the storage
    // nodes and the satellite (as uplink cp's does); uplink's defaults keep a pool each.
    int32_t connection_pool_capacity;     // connections kept for reuse (100)
    int32_t connection_pool_key_capacity; // of them per node (5)
    int64_t connection_pool_idle_expiration_milliseconds;  // an idle one is closed after
                                                           // (120000; at most 9223372036854)
} UplinkPyTransferConfig;

typedef struct UplinkPermission {
    bool allow_download;
    bool allow_upload;
    bool allow_list;
    bool allow_delete;
    int64_t not_before;  // 0: no restriction
    int64_t not_after;   // 0: no restriction
} UplinkPermission;

typedef struct UplinkSharePrefix {
    const char *bucket;
    const char *prefix;  // "" shares the whole bucket
} UplinkSharePrefix;

typedef struct UplinkBucket {
    char *name;
    int64_t created;
} UplinkBucket;

typedef struct UplinkSystemMetadata {
    int64_t created;
    int64_t expires;
    int64_t content_length;
} UplinkSystemMetadata;

// Keys and values may hold any bytes, including NUL: lengths are authoritative.
typedef struct UplinkCustomMetadataEntry {
    char *key;
    size_t key_length;
    char *value;
    size_t value_length;
} UplinkCustomMetadataEntry;

typedef struct UplinkCustomMetadata {
    UplinkCustomMetadataEntry *entries;
    size_t count;
} UplinkCustomMetadata;

typedef struct UplinkObject {
    char *key;
    bool is_prefix;
    UplinkSystemMetadata system;
    UplinkCustomMetadata custom;
} UplinkObject;

typedef struct UplinkUploadOptions {
    int64_t expires;  // 0: never
} UplinkUploadOptions;

typedef struct UplinkDownloadOptions {
    int64_t offset;  // negative: counted from the end (length must be < 0)
    int64_t length;  // negative: to the end
} UplinkDownloadOptions;

typedef struct UplinkListObjectsOptions {
    const char *prefix;
    const char *cursor;
    bool recursive;
    bool system;
    bool custom;
} UplinkListObjectsOptions;

typedef struct UplinkListBucketsOptions {
    const char *cursor;
} UplinkListBucketsOptions;

typedef struct UplinkListUploadsOptions {
    const char *prefix;
    const char *cursor;
    bool recursive;
    bool system;
    bool custom;
} UplinkListUploadsOptions;

typedef struct UplinkListUploadPartsOptions {
    uint32_t cursor;
} UplinkListUploadPartsOptions;

typedef struct UplinkCopyObjectOptions { char _reserved; } UplinkCopyObjectOptions;
typedef struct UplinkMoveObjectOptions { char _reserved; } UplinkMoveObjectOptions;
typedef struct UplinkUploadObjectMetadataOptions { char _reserved; } UplinkUploadObjectMetadataOptions;

typedef struct UplinkCommitUploadOptions {
    UplinkCustomMetadata custom_metadata;
} UplinkCommitUploadOptions;

typedef struct UplinkUploadInfo {
    char *upload_id;
    char *key;
    bool is_prefix;
    UplinkSystemMetadata system;
    UplinkCustomMetadata custom;
} UplinkUploadInfo;

typedef struct UplinkPart {
    uint32_t part_number;
    size_t size;
    int64_t modified;
    char *etag;
    size_t etag_length;
} UplinkPart;

// Error codes (the values of uplink-c).
#define UPLINK_ERROR_INTERNAL 0x02
#define UPLINK_ERROR_CANCELED 0x03
#define UPLINK_ERROR_INVALID_HANDLE 0x04
#define UPLINK_ERROR_TOO_MANY_REQUESTS 0x05
#define UPLINK_ERROR_BANDWIDTH_LIMIT_EXCEEDED 0x06
#define UPLINK_ERROR_STORAGE_LIMIT_EXCEEDED 0x07
#define UPLINK_ERROR_SEGMENTS_LIMIT_EXCEEDED 0x08
#define UPLINK_ERROR_PERMISSION_DENIED 0x09
#define UPLINK_ERROR_BUCKET_NAME_INVALID 0x10
#define UPLINK_ERROR_BUCKET_ALREADY_EXISTS 0x11
#define UPLINK_ERROR_BUCKET_NOT_EMPTY 0x12
#define UPLINK_ERROR_BUCKET_NOT_FOUND 0x13
#define UPLINK_ERROR_OBJECT_KEY_INVALID 0x20
#define UPLINK_ERROR_OBJECT_NOT_FOUND 0x21
#define UPLINK_ERROR_UPLOAD_DONE 0x22
#define EDGE_ERROR_AUTH_DIAL_FAILED 0x30
#define EDGE_ERROR_REGISTER_ACCESS_FAILED 0x31
// Ours: a download's object version is gone (replaced or deleted while it was read).
#define UPLINK_PY_ERROR_OBJECT_CHANGED 0x101
// Ours: a call's timeout or a dial timeout ended the call.
#define UPLINK_PY_ERROR_TIMEOUT 0x102
// Ours: a condition of a private/object request did not hold (the satellite's
// FailedPrecondition); a create-if-absent write's is UPLINK_PY_ERROR_OBJECT_EXISTS.
#define UPLINK_PY_ERROR_PRECONDITION_FAILED 0x103
// Ours: a create-if-absent write (if_none_match) found an object at the key.
#define UPLINK_PY_ERROR_OBJECT_EXISTS 0x104
// Ours: the object version is protected by a retention period or a legal hold.
#define UPLINK_PY_ERROR_OBJECT_LOCKED 0x105
// Ours: Object Lock cannot be used here (bucket without Object Lock, project without it,
// an object state or upload option it does not allow).
#define UPLINK_PY_ERROR_OBJECT_LOCK_INVALID 0x106
// Ours: the operation does not apply to this object version (e.g. reading a delete marker).
#define UPLINK_PY_ERROR_METHOD_NOT_ALLOWED 0x107
// Ours: the satellite does not implement the request.
#define UPLINK_PY_ERROR_UNIMPLEMENTED 0x108

// `message` may be NULL; `details` (ours) is the full Go error chain or NULL.
typedef struct UplinkError {
    int32_t code;
    char *message;
    char *details;
} UplinkError;

// In every result exactly one of (value, error) is non-NULL, except where noted.
typedef struct UplinkAccessResult { UplinkAccess *access; UplinkError *error; } UplinkAccessResult;
typedef struct UplinkProjectResult { UplinkProject *project; UplinkError *error; } UplinkProjectResult;
typedef struct UplinkBucketResult { UplinkBucket *bucket; UplinkError *error; } UplinkBucketResult;
// stat/copy/delete object: on success `object` may be NULL where uplink returns none
// (delete of a missing key).
typedef struct UplinkObjectResult { UplinkObject *object; UplinkError *error; } UplinkObjectResult;
typedef struct UplinkUploadResult { UplinkUpload *upload; UplinkError *error; } UplinkUploadResult;
typedef struct UplinkPartUploadResult { UplinkPartUpload *part_upload; UplinkError *error; } UplinkPartUploadResult;
typedef struct UplinkDownloadResult { UplinkDownload *download; UplinkError *error; } UplinkDownloadResult;
typedef struct UplinkUploadInfoResult { UplinkUploadInfo *info; UplinkError *error; } UplinkUploadInfoResult;
typedef struct UplinkCommitUploadResult { UplinkObject *object; UplinkError *error; } UplinkCommitUploadResult;
typedef struct UplinkPartResult { UplinkPart *part; UplinkError *error; } UplinkPartResult;
typedef struct UplinkEncryptionKeyResult { UplinkEncryptionKey *encryption_key; UplinkError *error; } UplinkEncryptionKeyResult;
// Both fields are meaningful together: bytes moved before the error, if any.
typedef struct UplinkWriteResult { size_t bytes_written; UplinkError *error; } UplinkWriteResult;
// At the end of the object error->code == UPLINK_ERROR_EOF; bytes_read may be > 0 with it.
typedef struct UplinkReadResult { size_t bytes_read; UplinkError *error; } UplinkReadResult;
typedef struct UplinkStringResult { char *string; UplinkError *error; } UplinkStringResult;

// Reported in UplinkReadResult at the end of a download (uplink-c uses EOF = -1).
#define UPLINK_ERROR_EOF (-1)

typedef struct EdgeConfig {
    const char *auth_service_address;
    const char *certificate_pem;          // NULL or "" for the system roots
    bool insecure_unencrypted_connection;  // tests only
} EdgeConfig;

typedef struct EdgeRegisterAccessOptions {
    bool is_public;
} EdgeRegisterAccessOptions;

typedef struct EdgeCredentials {
    char *access_key_id;
    char *secret_key;
    char *endpoint;
} EdgeCredentials;

typedef struct EdgeCredentialsResult { EdgeCredentials *credentials; UplinkError *error; } EdgeCredentialsResult;

typedef struct EdgeShareURLOptions {
    bool raw;
} EdgeShareURLOptions;

// --- ours: object versions, Object Lock, conditional writes, batch delete ---------------
// Version arguments are hex (as UplinkPyObjectVersion.version reports them); NULL or ""
// means the latest version.

typedef struct UplinkPyRetention {
    int32_t mode;          // 0 none, 1 compliance, 2 governance
    int64_t retain_until;  // Unix seconds (0 with mode 0)
} UplinkPyRetention;

typedef struct UplinkPyObjectVersion {
    UplinkObject *object;  // key, system and custom metadata (owned)
    char *version;         // hex; "" for an object uplink reports no version for
    uint8_t *etag;         // NULL when there is none
    size_t etag_length;
    bool is_versioned;     // stored with versioning enabled
    bool is_delete_marker;
    bool is_latest;
    int8_t legal_hold;     // -1: not reported, 0: off, 1: on
    UplinkPyRetention retention;  // mode -1: not reported
} UplinkPyObjectVersion;

typedef struct UplinkPyObjectVersionResult { UplinkPyObjectVersion *version; UplinkError *error; } UplinkPyObjectVersionResult;

// Upload, begin_upload and copy: lock the new version, or write only if the key is free.
typedef struct UplinkPyWriteOptions {
    UplinkPyRetention retention;  // mode 0: none (the bucket's default applies)
    bool legal_hold;
    bool if_none_match;  // commit only if the key has no object (IfNoneMatch: *)
    // begin_upload only: abort the upload when the project closes before it was
    // committed or aborted (a program's own uploads; not one to resume elsewhere)
    bool abort_on_close;
} UplinkPyWriteOptions;

typedef struct UplinkPyObjectLockConfiguration {
    bool enabled;
    int32_t default_mode;  // 0: no default retention, else as UplinkPyRetention.mode
    int32_t default_days;  // one of days and years is > 0 with a default mode
    int32_t default_years;
} UplinkPyObjectLockConfiguration;

typedef struct UplinkPyVersionIterator { size_t _handle; } UplinkPyVersionIterator;

typedef struct UplinkPyDeleteObjectsItem {
    const char *key;
    const char *version;  // NULL or "": the latest (a delete marker where versioning is on)
} UplinkPyDeleteObjectsItem;

typedef struct UplinkPyDeleteObjectsResultItem {
    char *key;
    char *requested_version;  // hex, "" for none
    int32_t status;           // 0 internal error, 1 unauthorized, 2 not found, 3 ok, 4 locked
    char *removed_version;    // hex; NULL: nothing removed
    bool removed_was_delete_marker;
    char *marker_version;     // hex; NULL: no delete marker inserted
} UplinkPyDeleteObjectsResultItem;

typedef struct UplinkPyDeleteObjectsResult {
    UplinkPyDeleteObjectsResultItem *items;  // one per item asked, in the order asked
    size_t count;
    UplinkError *error;  // set: items may hold the batches done before it
} UplinkPyDeleteObjectsResult;

// uplink's Permission beyond uplink-c's: Object Lock permissions and MaxObjectTTL.
typedef struct UplinkPyPermission {
    UplinkPermission base;
    bool allow_put_object_retention;
    bool allow_get_object_retention;
    bool allow_put_object_legal_hold;
    bool allow_get_object_legal_hold;
    bool allow_bypass_governance_retention;
    bool allow_put_bucket_object_lock_configuration;
    bool allow_get_bucket_object_lock_configuration;
    int64_t max_object_ttl_milliseconds;  // <= 0: none
} UplinkPyPermission;
