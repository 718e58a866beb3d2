// Owners of what uplink-c returns: every result, handle, iterator and item is freed
// exactly once, here, by its matching uplink_free_*. In a forked child nothing is
// freed: calling into Go there would hang, and the process's memory is a copy anyway.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "errors.hpp"
#include "fork_guard.hpp"
#include "uplink_api.hpp"

// Deleter calling Free unless in a forked child.
template <class T, void (*Free)(T *)>
struct GoFree {
    void operator()(T *p) const noexcept {
        if (!in_forked_child()) {
            Free(p);
        }
    }
};

// A pointer uplink-c allocated that is freed on its own (items, iterators, errors).
template <class T, void (*Free)(T *)>
using PtrOwner = std::unique_ptr<T, GoFree<T, Free>>;

// A *Result struct whose error was taken out (see take()), freed by its
// uplink_free_*_result. Value is the member holding the returned pointer.
template <class Result, auto Value, void (*Free)(Result)>
class ResultOwner {
public:
    using result_type = Result;
    using pointer = std::remove_reference_t<decltype(std::declval<Result &>().*Value)>;

    ResultOwner() = default;
    explicit ResultOwner(Result result) noexcept : result_(result) {}
    ResultOwner(ResultOwner &&other) noexcept : result_(std::exchange(other.result_, Result{})) {}
    ResultOwner &operator=(ResultOwner &&other) noexcept {
        if (this != &other) {
            reset();
            result_ = std::exchange(other.result_, Result{});
        }
        return *this;
    }
    ResultOwner(const ResultOwner &) = delete;
    ResultOwner &operator=(const ResultOwner &) = delete;
    ~ResultOwner() { reset(); }

    pointer get() const noexcept { return result_.*Value; }
    explicit operator bool() const noexcept { return get() != nullptr; }

    void reset() noexcept {
        Result result = std::exchange(result_, Result{});
        if (result.*Value != nullptr && !in_forked_child()) {
            Free(result);
        }
    }

private:
    Result result_{};
};

// Splits a result: throws its error (the whole result freed once) or returns the owner
// of its value.
template <class Owner>
Owner take(typename Owner::result_type result) {
    if (UplinkError *err = std::exchange(result.error, nullptr)) {
        const Owner discarded(result);  // a value returned along with the error, if any
        throw_uplink_error(err);
    }
    return Owner(result);
}

using ErrorOwner = PtrOwner<UplinkError, uplink_free_error>;

using AccessOwner = ResultOwner<UplinkAccessResult, &UplinkAccessResult::access, uplink_free_access_result>;
using ProjectOwner = ResultOwner<UplinkProjectResult, &UplinkProjectResult::project, uplink_free_project_result>;
using UploadOwner = ResultOwner<UplinkUploadResult, &UplinkUploadResult::upload, uplink_free_upload_result>;
using DownloadOwner =
    ResultOwner<UplinkDownloadResult, &UplinkDownloadResult::download, uplink_free_download_result>;
using PartUploadOwner =
    ResultOwner<UplinkPartUploadResult, &UplinkPartUploadResult::part_upload, uplink_free_part_upload_result>;
using EncryptionKeyOwner = ResultOwner<UplinkEncryptionKeyResult, &UplinkEncryptionKeyResult::encryption_key,
                                       uplink_free_encryption_key_result>;

using StringResultOwner = ResultOwner<UplinkStringResult, &UplinkStringResult::string, uplink_free_string_result>;
using BucketResultOwner = ResultOwner<UplinkBucketResult, &UplinkBucketResult::bucket, uplink_free_bucket_result>;
using ObjectResultOwner = ResultOwner<UplinkObjectResult, &UplinkObjectResult::object, uplink_free_object_result>;
using UploadInfoResultOwner =
    ResultOwner<UplinkUploadInfoResult, &UplinkUploadInfoResult::info, uplink_free_upload_info_result>;
using PartResultOwner = ResultOwner<UplinkPartResult, &UplinkPartResult::part, uplink_free_part_result>;
using CredentialsResultOwner =
    ResultOwner<EdgeCredentialsResult, &EdgeCredentialsResult::credentials, edge_free_credentials_result>;

using ObjectVersionResultOwner = ResultOwner<UplinkPyObjectVersionResult, &UplinkPyObjectVersionResult::version,
                                             uplink_py_free_object_version_result>;
// Items and an error may come together (the batches done before a failed one).
using DeleteObjectsResultOwner =
    ResultOwner<UplinkPyDeleteObjectsResult, &UplinkPyDeleteObjectsResult::items, uplink_py_free_delete_objects_result>;

using BucketOwner = PtrOwner<UplinkBucket, uplink_free_bucket>;
using ObjectVersionOwner = PtrOwner<UplinkPyObjectVersion, uplink_py_free_object_version>;
using ObjectOwner = PtrOwner<UplinkObject, uplink_free_object>;
using UploadInfoOwner = PtrOwner<UplinkUploadInfo, uplink_free_upload_info>;
using PartOwner = PtrOwner<UplinkPart, uplink_free_part>;

using BucketIteratorOwner = PtrOwner<UplinkBucketIterator, uplink_free_bucket_iterator>;
using ObjectIteratorOwner = PtrOwner<UplinkObjectIterator, uplink_free_object_iterator>;
using UploadIteratorOwner = PtrOwner<UplinkUploadIterator, uplink_free_upload_iterator>;
using PartIteratorOwner = PtrOwner<UplinkPartIterator, uplink_free_part_iterator>;
using VersionIteratorOwner = PtrOwner<UplinkPyVersionIterator, uplink_py_free_version_iterator>;

// Bytes written, or the write's error thrown (UplinkWriteResult holds nothing else to free).
inline size_t take_written(UplinkWriteResult result) {
    check(std::exchange(result.error, nullptr));
    return result.bytes_written;
}

// Bytes read and whether the end of the object was reached; other errors are thrown.
struct ReadOutcome {
    size_t bytes_read;
    bool at_end;
};
inline ReadOutcome take_read(UplinkReadResult result) {
    UplinkError *err = std::exchange(result.error, nullptr);
    if (err != nullptr && err->code == UPLINK_ERROR_EOF) {
        ignore_error(err);
        return {result.bytes_read, true};
    }
    check(err);
    return {result.bytes_read, false};
}
