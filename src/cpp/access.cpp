#include "access.hpp"

#include <mutex>

#include "blocking.hpp"
#include "buffers.hpp"
#include "handle_types.hpp"
#include "project.hpp"

namespace {

std::string take_string(UplinkStringResult result) {
    const StringResultOwner owned = take<StringResultOwner>(result);
    return owned ? owned.get() : "";
}

py::object parse_access(const CString &serialized_access) {
    auto [handle, access] = new_handle<Access>(handle_types().access);
    access->adopt(call_blocking({}, [&] { return take<AccessOwner>(uplink_parse_access(serialized_access.c())); }));
    return handle;
}

py::object request_access_with_passphrase(const CString &satellite, const CString &api_key,
                                          const CString &passphrase, py::handle config) {
    const ConfigArg c_config(config);
    auto [handle, access] = new_handle<Access>(handle_types().access);
    access->adopt(call_blocking({c_config.policy().call_ms}, [&] {
        return take<AccessOwner>(
            config.is_none()
                ? uplink_request_access_with_passphrase(satellite.c(), api_key.c(), passphrase.c())
                : uplink_config_request_access_with_passphrase(c_config.c(), satellite.c(), api_key.c(),
                                                               passphrase.c()));
    }));
    return handle;
}

EncryptionKey derive_encryption_key(const CString &passphrase, py::handle salt) {
    const BufferView salt_bytes(salt, false, "salt");
    // Key derivation is deliberately slow (Argon2): other threads run meanwhile.
    return EncryptionKey(call_blocking({}, [&] {
        return take<EncryptionKeyOwner>(
            uplink_derive_encryption_key(passphrase.c(), salt_bytes.data(), salt_bytes.size()));
    }));
}

py::str join_share_url(const CString &base_url, const CString &access_key_id, const CString &bucket,
                       const CString &key, py::handle options) {
    EdgeShareURLOptions c_options = share_url_options_arg(options);
    const std::string url = call_blocking({}, [&] {
        return take_string(edge_join_share_url(base_url.c(), access_key_id.c(), bucket.c(), key.c(), &c_options));
    });
    return decode_str(url.data(), url.size());
}

}  // namespace

void Access::adopt(AccessOwner handle) {
    UplinkAccess *access = handle.get();
    satellite_ = call_blocking({}, [&] { return take_string(uplink_access_satellite_address(access)); });
    handle_ = std::move(handle);
}

void Access::require() const {
    if (!handle_) {
        throw_invalid_handle("access is empty: create it with parse_access() or request_access_with_passphrase()");
    }
}

py::str Access::serialize() const {
    require();
    const std::string serialized = call_blocking(
        {}, [&] { return read([](UplinkAccess *a) { return take_string(uplink_access_serialize(a)); }); });
    return decode_str(serialized.data(), serialized.size());
}

py::str Access::satellite_address() const {
    check_not_forked();
    require();
    return decode_str(satellite_.data(), satellite_.size());
}

py::object Access::share(py::handle permission, py::handle shared_prefix) const {
    const UplinkPyPermission c_permission = permission_arg(permission);
    SharePrefixesArg prefixes(shared_prefix);
    require();
    auto [handle, access] = new_handle<Access>(handle_types().access);
    access->adopt(call_blocking({}, [&] {
        return read([&](UplinkAccess *a) {
            return take<AccessOwner>(uplink_py_access_share(a, c_permission, prefixes.data(), prefixes.count()));
        });
    }));
    return handle;
}

void Access::override_encryption_key(const CString &bucket, const CString &prefix, const EncryptionKey &key) {
    require();
    call_blocking({}, [&] {
        const std::unique_lock<std::shared_mutex> lock(mutex_);
        check(uplink_access_override_encryption_key(handle_.get(), bucket.c(), prefix.c(), key.get()));
    });
}

py::object Access::open_project(py::handle config) const {
    const ConfigArg c_config(config);
    require();
    auto [handle, project] = new_handle<Project>(handle_types().project);
    // Ctrl-C as it opened: close it here, without the GIL (freeing the owner would too, with it).
    const auto close_dropped = [](ProjectOwner &opened) {
        if (opened) {
            ignore_error(uplink_close_project(opened.get()));
        }
    };
    project->adopt(call_blocking({c_config.policy().call_ms},
                                 [&] {
                                     return read([&](UplinkAccess *a) {
                                         return take<ProjectOwner>(
                                             config.is_none()
                                                 ? uplink_open_project(a)
                                                 : uplink_py_config_open_project(c_config.c(), c_config.transfer(), a));
                                     });
                                 },
                                 close_dropped),
                   c_config.policy());
    return handle;
}

py::object Access::register_access(py::handle config, py::handle options) const {
    const EdgeConfigArg c_config(config);
    EdgeRegisterAccessOptions c_options = register_access_options_arg(options);
    require();
    const CredentialsResultOwner credentials = call_blocking({default_policy().call_ms}, [&] {
        return read([&](UplinkAccess *a) {
            return take<CredentialsResultOwner>(edge_register_access(c_config.c(), a, &c_options));
        });
    });
    return credentials ? credentials_to_py(*credentials.get()) : py::none();
}

std::string Access::repr() const {
    if (!handle_) {
        return "<Access empty>";
    }
    return "<Access satellite=" + py::repr(decode_str(satellite_.data(), satellite_.size())).cast<std::string>() + ">";
}

void bind_access(py::module_ &m) {
    py::class_<EncryptionKey>(m, "EncryptionKey", "A key from derive_encryption_key().")
        .def("__repr__", [](const EncryptionKey &) { return "<EncryptionKey>"; });

    py::class_<Access>(m, "Access", "An access grant: satellite address, API key and encryption secrets.")
        .def(py::init<>())
        .def("serialize", &Access::serialize)
        .def("satellite_address", &Access::satellite_address)
        .def("share", &Access::share, py::arg("permission") = py::none(), py::arg("shared_prefix") = py::none())
        .def("override_encryption_key", &Access::override_encryption_key, py::arg("bucket"), py::arg("prefix"),
             py::arg("encryption_key").none(false))
        .def("open_project", [](const Access &self) { return self.open_project(py::none()); })
        .def("config_open_project", &Access::open_project, py::arg("config"))
        .def("register_access", &Access::register_access, py::arg("config"), py::arg("options") = py::none())
        .def("__repr__", &Access::repr);

    m.def("parse_access", &parse_access, py::arg("serialized_access"));
    m.def("request_access_with_passphrase", &request_access_with_passphrase, py::arg("satellite"),
          py::arg("api_key"), py::arg("passphrase"), py::arg("config") = py::none());
    m.def("derive_encryption_key", &derive_encryption_key, py::arg("passphrase"), py::arg("salt"));
    m.def("join_share_url", &join_share_url, py::arg("base_url"), py::arg("access_key_id"), py::arg("bucket"),
          py::arg("key"), py::arg("options") = py::none());
}
