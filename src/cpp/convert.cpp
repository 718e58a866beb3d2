#include "convert.hpp"

#include <atomic>
#include <limits>
#include <stdexcept>

namespace {

// The module_classes classes results are built from. Never freed: static py::objects
// would be destroyed after the interpreter is finalized.
struct ResultClasses {
    py::object bucket, object, system_metadata, custom_metadata, custom_metadata_entry, upload_info, part,
        edge_credentials, object_version, retention, object_lock_configuration, delete_result;
};
// Atomic: set once (under uplink_py._native's lock), read from any thread, GIL or not.
std::atomic<ResultClasses *> classes{nullptr};

const ResultClasses &result_classes() {
    const ResultClasses *registered = classes.load(std::memory_order_acquire);
    if (registered == nullptr) {
        throw std::runtime_error("uplink_py._core is private: use it through uplink_py, which registers its classes");
    }
    return *registered;
}

std::string type_name(py::handle value) { return Py_TYPE(value.ptr())->tp_name; }

// The attribute `field` of an option object; TypeError if it has none.
py::object field(py::handle options, const char *type, const char *field) {
    PyObject *value = PyObject_GetAttrString(options.ptr(), field);
    if (value == nullptr) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            throw py::error_already_set();
        }
        PyErr_Clear();
        throw py::type_error(std::string("expected a ") + type + " or an object with its attributes; '" +
                             type_name(options) + "' has no attribute '" + field + "'");
    }
    return py::reinterpret_steal<py::object>(value);
}

std::string str_field(py::handle options, const char *type, const char *name) {
    py::object value = field(options, type, name);
    if (!PyUnicode_Check(value.ptr())) {
        throw py::type_error(std::string(type) + "." + name + " must be str, not " + type_name(value));
    }
    std::string text = encode_str(value);
    if (text.find('\0') != std::string::npos) {
        throw py::value_error(std::string(type) + "." + name + " must not contain NUL characters");
    }
    return text;
}

bool bool_field(py::handle options, const char *type, const char *name) {
    py::object value = field(options, type, name);
    if (!PyLong_Check(value.ptr())) {  // bool is an int subclass
        throw py::type_error(std::string(type) + "." + name + " must be bool, not " + type_name(value));
    }
    return PyObject_IsTrue(value.ptr()) == 1;
}

int64_t int_field(py::handle options, const char *type, const char *name, int64_t min = INT64_MIN,
                  int64_t max = INT64_MAX) {
    const std::string what = std::string(type) + "." + name;
    return int_arg(field(options, type, name), what.c_str(), min, max);
}

// str or bytes (bytes-like) metadata key/value, as bytes.
std::string metadata_bytes(py::handle value) {
    if (PyUnicode_Check(value.ptr())) {
        return encode_str(value);
    }
    if (PyBytes_Check(value.ptr())) {
        return std::string(PyBytes_AS_STRING(value.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(value.ptr())));
    }
    if (PyByteArray_Check(value.ptr())) {
        return std::string(PyByteArray_AS_STRING(value.ptr()), static_cast<size_t>(PyByteArray_GET_SIZE(value.ptr())));
    }
    throw py::type_error("custom metadata keys and values must be str or bytes, not " + type_name(value));
}

py::object system_metadata_to_py(const UplinkSystemMetadata &system) {
    using namespace pybind11::literals;
    return result_classes().system_metadata("created"_a = system.created, "expires"_a = system.expires,
                                    "content_length"_a = system.content_length);
}

py::object custom_metadata_to_py(const UplinkCustomMetadata &custom) {
    using namespace pybind11::literals;
    py::list entries(custom.count);
    for (size_t i = 0; i < custom.count; ++i) {
        const UplinkCustomMetadataEntry &e = custom.entries[i];
        entries[i] = result_classes().custom_metadata_entry("key"_a = decode_str(e.key, e.key_length),
                                                    "key_length"_a = e.key_length,
                                                    "value"_a = decode_str(e.value, e.value_length),
                                                    "value_length"_a = e.value_length);
    }
    return result_classes().custom_metadata("entries"_a = entries);
}

}  // namespace

std::string encode_str(py::handle text) {
    Py_ssize_t size = 0;
    if (const char *utf8 = PyUnicode_AsUTF8AndSize(text.ptr(), &size)) {
        return std::string(utf8, static_cast<size_t>(size));
    }
    // Lone surrogates (from "surrogateescape" decoding) are not valid UTF-8.
    PyErr_Clear();
    auto bytes = py::reinterpret_steal<py::object>(PyUnicode_AsEncodedString(text.ptr(), "utf-8", "surrogateescape"));
    if (!bytes) {
        throw py::error_already_set();
    }
    return std::string(PyBytes_AS_STRING(bytes.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(bytes.ptr())));
}

py::str decode_str(const char *data, size_t length) {
    if (data == nullptr) {
        return py::str("");
    }
    auto text = py::reinterpret_steal<py::str>(
        PyUnicode_DecodeUTF8(data, static_cast<Py_ssize_t>(length), "surrogateescape"));
    if (!text) {
        throw py::error_already_set();
    }
    return text;
}

py::str decode_str(const char *text) { return decode_str(text, text ? std::char_traits<char>::length(text) : 0); }

int64_t int_arg(py::handle value, const char *what, int64_t min, int64_t max) {
    if (!PyIndex_Check(value.ptr())) {
        throw py::type_error(std::string(what) + " must be int, not " + type_name(value));
    }
    auto index = py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr()));
    if (!index) {
        throw py::error_already_set();
    }
    int overflow = 0;
    const long long result = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
    if (result == -1 && PyErr_Occurred()) {
        throw py::error_already_set();
    }
    if (overflow != 0 || result < min || result > max) {
        throw py::value_error(std::string(what) + " must be between " + std::to_string(min) + " and " +
                              std::to_string(max));
    }
    return result;
}

void set_result_classes(const py::dict &types) {
    if (classes.load(std::memory_order_acquire) != nullptr) {
        return;
    }
    const auto type = [&](const char *name) -> py::object {
        if (!types.contains(name)) {
            throw py::key_error(std::string("result class ") + name + " not registered");
        }
        return types[name];
    };
    classes.store(new ResultClasses{type("Bucket"),
                                type("Object"),
                                type("SystemMetadata"),
                                type("CustomMetadata"),
                                type("CustomMetadataEntry"),
                                type("UploadInfo"),
                                type("Part"),
                                type("EdgeCredentials"),
                                type("ObjectVersion"),
                                type("Retention"),
                                type("ObjectLockConfiguration"),
                                type("DeleteResult")},
                  std::memory_order_release);
}

// ---------------------------------------------------------------- options

ConfigArg::ConfigArg(py::handle config) {
    if (config.is_none()) {
        return;
    }
    user_agent_ = str_field(config, "Config", "user_agent");
    temp_directory_ = str_field(config, "Config", "temp_directory");
    c_.user_agent = user_agent_.c_str();
    c_.temp_directory = temp_directory_.c_str();
    c_.dial_timeout_milliseconds = static_cast<int32_t>(
        int_field(config, "Config", "dial_timeout_milliseconds", 0, std::numeric_limits<int32_t>::max()));
    const auto optional_ms = [&](const char *name) -> int64_t {
        return py::hasattr(config, name) ? int_field(config, "Config", name) : 0;
    };
    policy_ = call_policy(optional_ms("call_timeout_milliseconds"), optional_ms("transfer_timeout_milliseconds"),
                          optional_ms("download_retries"));
    const auto tuning = [&](const char *name, int64_t max) -> int64_t {
        return py::hasattr(config, name) ? int_field(config, "Config", name, 0, max) : 0;
    };
    constexpr int64_t int32_max = std::numeric_limits<int32_t>::max();
    transfer_.maximum_concurrent_pieces = static_cast<int32_t>(tuning("maximum_concurrent_pieces", int32_max));
    transfer_.maximum_concurrent_segments = static_cast<int32_t>(tuning("maximum_concurrent_segments", int32_max));
    transfer_.connection_pool_capacity = static_cast<int32_t>(tuning("connection_pool_capacity", int32_max));
    transfer_.connection_pool_key_capacity = static_cast<int32_t>(tuning("connection_pool_key_capacity", int32_max));
    transfer_.connection_pool_idle_expiration_milliseconds =
        tuning("connection_pool_idle_expiration_milliseconds",
               std::numeric_limits<int64_t>::max() / 1000000);  // what Go's time.Duration holds
}

UplinkPyPermission permission_arg(py::handle permission) {
    UplinkPyPermission c{};
    if (permission.is_none()) {
        return c;
    }
    UplinkPermission &base = c.base;
    base.allow_download = bool_field(permission, "Permission", "allow_download");
    base.allow_upload = bool_field(permission, "Permission", "allow_upload");
    base.allow_list = bool_field(permission, "Permission", "allow_list");
    base.allow_delete = bool_field(permission, "Permission", "allow_delete");
    base.not_before = int_field(permission, "Permission", "not_before");
    base.not_after = int_field(permission, "Permission", "not_after");
    const auto optional_flag = [&](const char *name) {
        return py::hasattr(permission, name) && bool_field(permission, "Permission", name);
    };
    c.allow_put_object_retention = optional_flag("allow_put_object_retention");
    c.allow_get_object_retention = optional_flag("allow_get_object_retention");
    c.allow_put_object_legal_hold = optional_flag("allow_put_object_legal_hold");
    c.allow_get_object_legal_hold = optional_flag("allow_get_object_legal_hold");
    c.allow_bypass_governance_retention = optional_flag("allow_bypass_governance_retention");
    c.allow_put_bucket_object_lock_configuration = optional_flag("allow_put_bucket_object_lock_configuration");
    c.allow_get_bucket_object_lock_configuration = optional_flag("allow_get_bucket_object_lock_configuration");
    if (py::hasattr(permission, "max_object_ttl_milliseconds")) {
        c.max_object_ttl_milliseconds = int_field(permission, "Permission", "max_object_ttl_milliseconds", 0);
    }
    return c;
}

SharePrefixesArg::SharePrefixesArg(py::handle prefixes) {
    if (prefixes.is_none()) {
        return;
    }
    if (!PySequence_Check(prefixes.ptr()) || PyUnicode_Check(prefixes.ptr())) {
        throw py::type_error("shared_prefix must be a sequence of SharePrefix, not " + type_name(prefixes));
    }
    for (py::handle prefix : prefixes) {
        strings_.emplace_back(str_field(prefix, "SharePrefix", "bucket"), str_field(prefix, "SharePrefix", "prefix"));
    }
    // Views are taken once strings_ stops growing: its elements' buffers are then stable.
    for (const auto &[bucket, prefix] : strings_) {
        c_.push_back({bucket.c_str(), prefix.c_str()});
    }
}

ListBucketsOptionsArg::ListBucketsOptionsArg(py::handle options) {
    if (options.is_none()) {
        return;
    }
    cursor_ = str_field(options, "ListBucketsOptions", "cursor");
    c_.cursor = cursor_.c_str();
}

template <class COptions>
ListOptionsArg<COptions>::ListOptionsArg(py::handle options, const char *type_name) {
    if (options.is_none()) {
        return;
    }
    prefix_ = str_field(options, type_name, "prefix");
    cursor_ = str_field(options, type_name, "cursor");
    c_.prefix = prefix_.c_str();
    c_.cursor = cursor_.c_str();
    c_.recursive = bool_field(options, type_name, "recursive");
    c_.system = bool_field(options, type_name, "system");
    c_.custom = bool_field(options, type_name, "custom");
}
template class ListOptionsArg<UplinkListObjectsOptions>;
template class ListOptionsArg<UplinkListUploadsOptions>;

UplinkListUploadPartsOptions list_upload_parts_options_arg(py::handle options) {
    UplinkListUploadPartsOptions c{};
    if (!options.is_none()) {
        c.cursor = static_cast<uint32_t>(
            int_field(options, "ListUploadPartsOptions", "cursor", 0, std::numeric_limits<uint32_t>::max()));
    }
    return c;
}

UplinkUploadOptions upload_options_arg(py::handle options) {
    UplinkUploadOptions c{};
    if (!options.is_none()) {
        c.expires = int_field(options, "UploadOptions", "expires");
    }
    return c;
}

UplinkDownloadOptions download_options_arg(py::handle options) {
    UplinkDownloadOptions c{0, -1};
    if (!options.is_none()) {
        c.offset = int_field(options, "DownloadOptions", "offset");
        c.length = int_field(options, "DownloadOptions", "length");
        if (c.offset < 0 && c.length >= 0) {  // uplink refuses it only as an internal error
            throw py::value_error("DownloadOptions: a negative offset reads the last -offset bytes, to the end: "
                                  "its length must be negative");
        }
    }
    return c;
}

EdgeConfigArg::EdgeConfigArg(py::handle config) {
    if (config.is_none()) {
        return;
    }
    address_ = str_field(config, "EdgeConfig", "auth_service_address");
    certificate_ = str_field(config, "EdgeConfig", "certificate_pem");
    c_.auth_service_address = address_.c_str();
    c_.certificate_pem = certificate_.c_str();
    c_.insecure_unencrypted_connection = bool_field(config, "EdgeConfig", "insecure_unencrypted_connection");
}

EdgeRegisterAccessOptions register_access_options_arg(py::handle options) {
    EdgeRegisterAccessOptions c{};
    if (!options.is_none()) {
        c.is_public = bool_field(options, "EdgeRegisterAccessOptions", "is_public");
    }
    return c;
}

EdgeShareURLOptions share_url_options_arg(py::handle options) {
    EdgeShareURLOptions c{};
    if (!options.is_none()) {
        c.raw = bool_field(options, "EdgeShareURLOptions", "raw");
    }
    return c;
}

MetadataArg::MetadataArg(py::handle metadata) {
    if (metadata.is_none()) {
        return;
    }
    const char *expected = "custom metadata must be a CustomMetadata (entries with .key and .value), a Mapping "
                           "of str or bytes, or None";
    try {
        if (py::hasattr(metadata, "entries")) {
            for (py::handle entry : metadata.attr("entries")) {
                add(entry.attr("key"), entry.attr("value"));
            }
        } else if (py::hasattr(metadata, "items")) {
            for (py::handle item : metadata.attr("items")()) {
                add(item[py::int_(0)], item[py::int_(1)]);
            }
        } else {
            throw py::type_error(std::string(expected) + ", not " + type_name(metadata));
        }
    } catch (py::error_already_set &e) {
        // An entry without .key, an item that is not a pair: the argument's type is wrong.
        if (e.matches(PyExc_AttributeError) || e.matches(PyExc_IndexError) || e.matches(PyExc_KeyError)) {
            py::raise_from(e, PyExc_TypeError, expected);
            throw py::error_already_set();
        }
        throw;
    }
    // Views are taken once items_ stops growing: its elements' buffers are then stable.
    for (auto &[key, value] : items_) {
        entries_.push_back({key.data(), key.size(), value.data(), value.size()});
    }
}

void MetadataArg::add(py::handle key, py::handle value) {
    items_.emplace_back(metadata_bytes(key), metadata_bytes(value));
}

// ---------------------------------------------------------------- results

py::object bucket_to_py(const UplinkBucket &bucket) {
    using namespace pybind11::literals;
    return result_classes().bucket("name"_a = decode_str(bucket.name), "created"_a = bucket.created);
}

py::object object_to_py(const UplinkObject &object, const char *identity) {
    using namespace pybind11::literals;
    py::object version = py::none();
    py::object identity_str = py::none();
    if (identity != nullptr && *identity != '\0') {
        const std::string text(identity);
        const std::string hex = text.substr(text.rfind(':') + 1);  // "created:length:version"
        identity_str = py::str(text);
        if (!hex.empty()) {
            version = py::str(hex);
        }
    }
    return result_classes().object("key"_a = decode_str(object.key), "is_prefix"_a = object.is_prefix,
                           "system"_a = system_metadata_to_py(object.system),
                           "custom"_a = custom_metadata_to_py(object.custom), "version"_a = version,
                           "identity"_a = identity_str);
}

CString version_arg(py::handle version) {
    if (version.is_none()) {
        return CString{};
    }
    if (!PyUnicode_Check(version.ptr())) {
        throw py::type_error(std::string("version must be a str (Object.version) or None, not ") +
                             Py_TYPE(version.ptr())->tp_name);
    }
    CString text{encode_str(version)};
    if (text.value.empty() || text.value.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        throw py::value_error("version must be a hexadecimal str, as Object.version reports it");
    }
    return text;
}

py::object upload_info_to_py(const UplinkUploadInfo &info) {
    using namespace pybind11::literals;
    return result_classes().upload_info("upload_id"_a = decode_str(info.upload_id), "key"_a = decode_str(info.key),
                                "is_prefix"_a = info.is_prefix, "system"_a = system_metadata_to_py(info.system),
                                "custom"_a = custom_metadata_to_py(info.custom));
}

py::object part_to_py(const UplinkPart &part) {
    using namespace pybind11::literals;
    return result_classes().part("part_number"_a = part.part_number, "size"_a = part.size, "modified"_a = part.modified,
                         "etag"_a = py::bytes(part.etag ? part.etag : "", part.etag ? part.etag_length : 0));
}

py::object credentials_to_py(const EdgeCredentials &credentials) {
    using namespace pybind11::literals;
    return result_classes().edge_credentials("access_key_id"_a = decode_str(credentials.access_key_id),
                                     "secret_key"_a = decode_str(credentials.secret_key),
                                     "endpoint"_a = decode_str(credentials.endpoint));
}

// ---------------------------------------------------------------- versions, Object Lock

py::object retention_to_py(const UplinkPyRetention &retention) {
    using namespace pybind11::literals;
    return result_classes().retention("mode"_a = retention.mode, "retain_until"_a = retention.retain_until);
}

py::object object_version_to_py(const UplinkPyObjectVersion &version) {
    using namespace pybind11::literals;
    const UplinkObject empty{};
    const UplinkObject &object = version.object != nullptr ? *version.object : empty;
    const bool has_version = version.version != nullptr && *version.version != '\0';
    py::object etag = version.etag != nullptr
                          ? py::object(py::bytes(reinterpret_cast<const char *>(version.etag), version.etag_length))
                          : py::object(py::none());
    py::object legal_hold = version.legal_hold < 0 ? py::object(py::none()) : py::object(py::bool_(version.legal_hold == 1));
    py::object retention = version.retention.mode < 0 ? py::object(py::none()) : retention_to_py(version.retention);
    return result_classes().object_version(
        "key"_a = decode_str(object.key), "is_prefix"_a = object.is_prefix,
        "system"_a = system_metadata_to_py(object.system), "custom"_a = custom_metadata_to_py(object.custom),
        "version"_a = has_version ? py::object(py::str(version.version)) : py::object(py::none()),
        "etag"_a = etag, "is_versioned"_a = version.is_versioned, "is_delete_marker"_a = version.is_delete_marker,
        "is_latest"_a = version.is_latest, "legal_hold"_a = legal_hold, "retention"_a = retention);
}

py::object lock_configuration_to_py(const UplinkPyObjectLockConfiguration &config) {
    using namespace pybind11::literals;
    return result_classes().object_lock_configuration("enabled"_a = config.enabled,
                                                      "default_mode"_a = config.default_mode,
                                                      "default_days"_a = config.default_days,
                                                      "default_years"_a = config.default_years);
}

py::object delete_result_to_py(const UplinkPyDeleteObjectsResultItem &item) {
    using namespace pybind11::literals;
    const auto optional = [](const char *text) {
        return text != nullptr ? py::object(py::str(text)) : py::object(py::none());
    };
    const auto version = [](const char *text) {
        return text != nullptr && *text != '\0' ? py::object(py::str(text)) : py::object(py::none());
    };
    return result_classes().delete_result(
        "key"_a = decode_str(item.key), "requested_version"_a = version(item.requested_version),
        "status"_a = item.status, "removed_version"_a = optional(item.removed_version),
        "removed_was_delete_marker"_a = item.removed_was_delete_marker,
        "marker_version"_a = optional(item.marker_version));
}

UplinkPyRetention retention_arg(py::handle retention) {
    UplinkPyRetention c{};
    if (retention.is_none()) {
        return c;
    }
    c.mode = static_cast<int32_t>(int_field(retention, "Retention", "mode", 0, 2));
    c.retain_until = int_field(retention, "Retention", "retain_until", 0);
    return c;
}

UplinkPyWriteOptions write_options_arg(py::handle retention, bool legal_hold, bool if_none_match) {
    UplinkPyWriteOptions c{};
    c.retention = retention_arg(retention);
    c.legal_hold = legal_hold;
    c.if_none_match = if_none_match;
    return c;
}

UplinkPyObjectLockConfiguration lock_configuration_arg(py::handle config) {
    UplinkPyObjectLockConfiguration c{};
    if (config.is_none()) {
        throw py::type_error("expected an ObjectLockConfiguration, not None");
    }
    constexpr int64_t int32_max = std::numeric_limits<int32_t>::max();
    c.enabled = bool_field(config, "ObjectLockConfiguration", "enabled");
    c.default_mode = static_cast<int32_t>(int_field(config, "ObjectLockConfiguration", "default_mode", 0, 2));
    c.default_days = static_cast<int32_t>(int_field(config, "ObjectLockConfiguration", "default_days", 0, int32_max));
    c.default_years =
        static_cast<int32_t>(int_field(config, "ObjectLockConfiguration", "default_years", 0, int32_max));
    return c;
}

DeleteItemsArg::DeleteItemsArg(py::handle items) {
    if (PyUnicode_Check(items.ptr()) || PyBytes_Check(items.ptr())) {
        throw py::type_error("delete_objects takes an iterable of keys or (key, version) pairs, not one " +
                             type_name(items));
    }
    for (py::handle item : py::iter(items)) {
        std::string key;
        CString version;
        if (PyUnicode_Check(item.ptr())) {
            key = encode_str(item);
        } else if (PyTuple_Check(item.ptr()) && PyTuple_GET_SIZE(item.ptr()) == 2 &&
                   PyUnicode_Check(PyTuple_GET_ITEM(item.ptr(), 0))) {
            key = encode_str(PyTuple_GET_ITEM(item.ptr(), 0));
            version = version_arg(PyTuple_GET_ITEM(item.ptr(), 1));
        } else {
            throw py::type_error("delete_objects items must be str keys or (key, version) tuples, not " +
                                 type_name(item));
        }
        if (key.empty() || key.find('\0') != std::string::npos) {
            throw py::value_error("delete_objects keys must be non-empty and without NUL characters");
        }
        strings_.emplace_back(std::move(key), std::move(version.value));
    }
    // Views are taken once strings_ stops growing: its elements' buffers are then stable.
    for (const auto &[key, version] : strings_) {
        c_.push_back({key.c_str(), version.c_str()});
    }
}
