// The one place where uplink-c errors become Python exceptions.
//
// An UplinkError* is taken over, copied into an UplinkFailure (pure C++, so it can
// be thrown while the GIL is released) and freed exactly once; the translator
// registered at module init raises uplink_py.errors._from_code(code, message,
// details) for it. Code that must not raise (destructors, cleanup while another
// exception propagates) uses ignore_error instead.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include <pybind11/pybind11.h>

#include "uplink_api.hpp"

namespace py = pybind11;

// Our own error codes beyond uplink-c's are in uplink_definitions.h (UPLINK_PY_ERROR_*):
// a download's object version gone (ObjectChangedError), a call timed out
// (DeadlineExceededError).

class UplinkFailure : public std::exception {
public:
    UplinkFailure(int32_t code, std::string message, std::optional<std::string> details = std::nullopt)
        : code_(code), message_(std::move(message)), details_(std::move(details)) {}

    const char *what() const noexcept override { return message_.c_str(); }
    int32_t code() const noexcept { return code_; }
    const std::string &message() const noexcept { return message_; }
    const std::optional<std::string> &details() const noexcept { return details_; }

private:
    int32_t code_;
    std::string message_;
    std::optional<std::string> details_;
};

// Raised as uplink_py.errors.ForkedProcessError.
class ForkedProcessFailure : public std::exception {
public:
    const char *what() const noexcept override;
};

// Takes ownership of err (not NULL): copies it, frees it, throws UplinkFailure.
[[noreturn]] void throw_uplink_error(UplinkError *err);

// The exception of err (not freed: its owner keeps it) with one more attribute, raised
// (GIL held): e.g. the outcomes of a batch delete's requests done before one failed.
[[noreturn]] void throw_uplink_error_with(const UplinkError &err, const char *attribute, py::handle value);

// Takes ownership of err (may be NULL) and throws it if there is one.
inline void check(UplinkError *err) {
    if (err != nullptr) {
        throw_uplink_error(err);
    }
}

// Frees err (may be NULL) without raising: for cleanup that must not mask another error.
void ignore_error(UplinkError *err) noexcept;

// InvalidHandleError (code UPLINK_ERROR_INVALID_HANDLE): an empty, closed or finished handle.
[[noreturn]] void throw_invalid_handle(std::string message);

// Registers the translator (module init, GIL held). Until set_error_classes is called,
// errors come out as RuntimeError (the facade calls it as it loads the module).
void register_error_translator();

// uplink_py.errors._from_code and ForkedProcessError (uplink_py._native, once; GIL held).
void set_error_classes(py::object from_code, py::object forked_process_error);

// A ResourceWarning from a destructor (GIL held). Never raises: if the warning is
// turned into an error, it is reported as unraisable. Keeps any pending exception.
void warn_unclosed(const char *message) noexcept;
