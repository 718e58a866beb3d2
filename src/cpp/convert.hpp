// Conversions between Python objects and uplink-c structs.
//
// Options are read attribute by attribute (any object with the attributes of the
// module_classes option works; None means the defaults). Results are built by calling
// the uplink_py.module_classes classes, looked up once at module init. Strings cross
// as UTF-8 with "surrogateescape", so any bytes a key or metadata holds round-trip.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>

#include "call_context.hpp"

#include "uplink_api.hpp"

namespace py = pybind11;

// A str argument for uplink-c: UTF-8 without NUL (C would stop at a NUL and address
// another bucket or object). Loaded by the type caster below, so None or a non-str
// is a TypeError and a NUL a ValueError.
struct CString {
    std::string value;
    char *c() const noexcept { return const_cast<char *>(value.c_str()); }
};

// str -> UTF-8 bytes with "surrogateescape"; throws error_already_set if it is not a str.
std::string encode_str(py::handle text);

// Bytes -> str, decoding UTF-8 with "surrogateescape" (NULL gives "").
py::str decode_str(const char *data, size_t length);
py::str decode_str(const char *text);

// The integer value of an int-like argument (anything with __index__, not float);
// TypeError naming `what` for other types, ValueError when outside [min, max].
int64_t int_arg(py::handle value, const char *what, int64_t min = INT64_MIN, int64_t max = INT64_MAX);

// The exception type of __exit__(*exc) arguments (None when there is no exception).
inline py::object exc_type_arg(const py::args &exc) {
    return exc.empty() ? py::object(py::none()) : py::object(exc[0]);
}

// The uplink_py.module_classes classes results are built from, by name (uplink_py._native
// registers them once as it loads the module; GIL held).
void set_result_classes(const py::dict &types);

// ---------------------------------------------------------------- options

// The C view of a Config; None gives the defaults.
class ConfigArg {
public:
    explicit ConfigArg(py::handle config);
    ConfigArg(const ConfigArg &) = delete;
    ConfigArg &operator=(const ConfigArg &) = delete;
    const UplinkConfig &c() const noexcept { return c_; }
    // call_timeout_milliseconds, transfer_timeout_milliseconds and download_retries
    // (optional attributes: uplink-python's Config has none of them).
    const CallPolicy &policy() const noexcept { return policy_; }
    // maximum_concurrent_pieces, ..., connection_pool_* (optional attributes too).
    const UplinkPyTransferConfig &transfer() const noexcept { return transfer_; }

private:
    std::string user_agent_, temp_directory_;
    UplinkConfig c_{};
    UplinkPyTransferConfig transfer_{};
    CallPolicy policy_ = default_policy();
};

// A Permission; the Object Lock fields and max_object_ttl are optional attributes
// (uplink-python's Permission has none of them).
UplinkPyPermission permission_arg(py::handle permission);

// A sequence of SharePrefix (None: no prefixes).
class SharePrefixesArg {
public:
    explicit SharePrefixesArg(py::handle prefixes);
    SharePrefixesArg(const SharePrefixesArg &) = delete;
    SharePrefixesArg &operator=(const SharePrefixesArg &) = delete;
    UplinkSharePrefix *data() noexcept { return c_.empty() ? nullptr : c_.data(); }
    int64_t count() const noexcept { return static_cast<int64_t>(c_.size()); }

private:
    std::vector<std::pair<std::string, std::string>> strings_;
    std::vector<UplinkSharePrefix> c_;
};

class ListBucketsOptionsArg {
public:
    explicit ListBucketsOptionsArg(py::handle options);
    ListBucketsOptionsArg(const ListBucketsOptionsArg &) = delete;
    ListBucketsOptionsArg &operator=(const ListBucketsOptionsArg &) = delete;
    UplinkListBucketsOptions *c() noexcept { return &c_; }

private:
    std::string cursor_;
    UplinkListBucketsOptions c_{};
};

// ListObjectsOptions and ListUploadsOptions have the same fields.
template <class COptions>
class ListOptionsArg {
public:
    ListOptionsArg(py::handle options, const char *type_name);
    ListOptionsArg(const ListOptionsArg &) = delete;
    ListOptionsArg &operator=(const ListOptionsArg &) = delete;
    COptions *c() noexcept { return &c_; }

private:
    std::string prefix_, cursor_;
    COptions c_{};
};
using ListObjectsOptionsArg = ListOptionsArg<UplinkListObjectsOptions>;
using ListUploadsOptionsArg = ListOptionsArg<UplinkListUploadsOptions>;

UplinkListUploadPartsOptions list_upload_parts_options_arg(py::handle options);
UplinkUploadOptions upload_options_arg(py::handle options);
UplinkDownloadOptions download_options_arg(py::handle options);

class EdgeConfigArg {
public:
    explicit EdgeConfigArg(py::handle config);
    EdgeConfigArg(const EdgeConfigArg &) = delete;
    EdgeConfigArg &operator=(const EdgeConfigArg &) = delete;
    const EdgeConfig &c() const noexcept { return c_; }

private:
    std::string address_, certificate_;
    EdgeConfig c_{};
};

EdgeRegisterAccessOptions register_access_options_arg(py::handle options);
EdgeShareURLOptions share_url_options_arg(py::handle options);

// Custom metadata from None, a CustomMetadata-like object (.entries of .key/.value) or
// a Mapping; keys and values str or bytes.
class MetadataArg {
public:
    explicit MetadataArg(py::handle metadata);
    MetadataArg(const MetadataArg &) = delete;
    MetadataArg &operator=(const MetadataArg &) = delete;
    UplinkCustomMetadata c() noexcept { return {entries_.empty() ? nullptr : entries_.data(), entries_.size()}; }

private:
    void add(py::handle key, py::handle value);

    std::vector<std::pair<std::string, std::string>> items_;
    std::vector<UplinkCustomMetadataEntry> entries_;
};

// ---------------------------------------------------------------- results

py::object bucket_to_py(const UplinkBucket &bucket);
// identity: the object's identity (uplink_py_download_identity), when the call reported one;
// it also gives Object.version.
py::object object_to_py(const UplinkObject &object, const char *identity = nullptr);
py::object upload_info_to_py(const UplinkUploadInfo &info);
py::object part_to_py(const UplinkPart &part);
py::object credentials_to_py(const EdgeCredentials &credentials);

// An object version argument: None (the latest) or the hex str an Object.version holds.
CString version_arg(py::handle version);

// ---------------------------------------------------------------- versions, Object Lock

py::object object_version_to_py(const UplinkPyObjectVersion &version);
py::object retention_to_py(const UplinkPyRetention &retention);
py::object lock_configuration_to_py(const UplinkPyObjectLockConfiguration &config);
py::object delete_result_to_py(const UplinkPyDeleteObjectsResultItem &item);

// A Retention (or an object with .mode and .retain_until); None: no retention.
UplinkPyRetention retention_arg(py::handle retention);
// The lock and create-if-absent options of a write.
UplinkPyWriteOptions write_options_arg(py::handle retention, bool legal_hold, bool if_none_match);
UplinkPyObjectLockConfiguration lock_configuration_arg(py::handle config);

// What delete_objects deletes: str keys, or (key, version) pairs, version None or hex.
class DeleteItemsArg {
public:
    explicit DeleteItemsArg(py::handle items);
    DeleteItemsArg(const DeleteItemsArg &) = delete;
    DeleteItemsArg &operator=(const DeleteItemsArg &) = delete;
    UplinkPyDeleteObjectsItem *data() noexcept { return c_.empty() ? nullptr : c_.data(); }
    size_t count() const noexcept { return c_.size(); }

private:
    std::vector<std::pair<std::string, std::string>> strings_;
    std::vector<UplinkPyDeleteObjectsItem> c_;
};

// ---------------------------------------------------------------- CString caster

namespace pybind11::detail {
template <>
struct type_caster<CString> {
    PYBIND11_TYPE_CASTER(CString, const_name("str"));

    bool load(handle src, bool) {
        if (!src || !PyUnicode_Check(src.ptr())) {
            return false;  // pybind11 raises TypeError with the signature
        }
        value.value = encode_str(src);
        if (value.value.find('\0') != std::string::npos) {
            throw value_error("embedded null character in a str argument");
        }
        return true;
    }

    static handle cast(const CString &src, return_value_policy, handle) {
        return decode_str(src.value.data(), src.value.size()).release();
    }
};
}  // namespace pybind11::detail
