// Access grants and encryption keys.
#pragma once

#include <shared_mutex>
#include <string>

#include <pybind11/pybind11.h>

#include "convert.hpp"
#include "owners.hpp"

namespace py = pybind11;

// A key from derive_encryption_key, for Access.override_encryption_key.
class EncryptionKey {
public:
    explicit EncryptionKey(EncryptionKeyOwner key) noexcept : key_(std::move(key)) {}
    EncryptionKey(EncryptionKey &&) = default;
    EncryptionKey &operator=(EncryptionKey &&) = default;
    UplinkEncryptionKey *get() const noexcept { return key_.get(); }

private:
    EncryptionKeyOwner key_;
};

class Access {
public:
    Access() = default;  // empty until a factory adopts a handle

    // Takes the handle a factory got (GIL held).
    void adopt(AccessOwner handle);

    // Runs f(handle) without the GIL: readers share the access, override_encryption_key
    // (which changes it) has it alone. Call inside call_blocking, after require().
    template <class F>
    auto read(F &&f) const {
        const std::shared_lock<std::shared_mutex> lock(mutex_);
        return f(handle_.get());
    }
    // Throws InvalidHandleError if the access is empty.
    void require() const;

    py::str serialize() const;
    py::str satellite_address() const;
    py::object share(py::handle permission, py::handle shared_prefix) const;
    void override_encryption_key(const CString &bucket, const CString &prefix, const EncryptionKey &key);
    py::object open_project(py::handle config) const;  // None: uplink_open_project
    py::object register_access(py::handle config, py::handle options) const;
    std::string repr() const;

private:
    AccessOwner handle_;
    std::string satellite_;  // for repr, which must not call into Go (forked child)
    mutable std::shared_mutex mutex_;
};

void bind_access(py::module_ &m);
