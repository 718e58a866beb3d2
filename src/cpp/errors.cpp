#include "errors.hpp"

#include <atomic>

#include <pybind11/pybind11.h>

#include "fork_guard.hpp"
#include "owners.hpp"

namespace py = pybind11;

namespace {

// Loaded once at module init and never freed: static py::objects would be
// destroyed after the interpreter is finalized.
struct ErrorsModule {
    py::object from_code;
    py::object forked_process_error;
};
// Atomic: set once (under uplink_py._native's lock), read from any thread, GIL or not.
std::atomic<ErrorsModule *> errors_module{nullptr};

py::object decode_message(const std::string &text) {
    // Go error texts can quote object keys, which are not always valid UTF-8.
    return py::reinterpret_steal<py::object>(
        PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace"));
}

// The exception for failure (RuntimeError before uplink_py registered its tables).
py::object storj_exception(const UplinkFailure &failure) {
    py::object message = decode_message(failure.message());
    py::object details = failure.details() ? decode_message(*failure.details()) : py::none();
    if (!message || !details) {
        throw py::error_already_set();
    }
    const ErrorsModule *registered = errors_module.load();
    if (registered == nullptr) {  // _core used directly
        return py::reinterpret_borrow<py::object>(PyExc_RuntimeError)(message);
    }
    return registered->from_code(failure.code(), message, details);
}

void raise_storj_exception(const UplinkFailure &failure) {
    py::object exc = storj_exception(failure);
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
}

UplinkFailure failure_of(const UplinkError &err) {
    std::optional<std::string> details;
    if (err.details != nullptr) {
        details = err.details;
    }
    return UplinkFailure(err.code, err.message ? err.message : "uplink error", std::move(details));
}

}  // namespace

const char *ForkedProcessFailure::what() const noexcept {
    return "uplink_py cannot be used in a process forked after it was loaded: the Go "
           "runtime it embeds does not survive fork(). Use the 'spawn' or 'forkserver' "
           "multiprocessing start method.";
}

void throw_uplink_error(UplinkError *err) {
    const ErrorOwner owned(err);
    throw failure_of(*err);
}

void throw_uplink_error_with(const UplinkError &err, const char *attribute, py::handle value) {
    py::object exc = storj_exception(failure_of(err));
    exc.attr(attribute) = value;
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
    throw py::error_already_set();
}

void ignore_error(UplinkError *err) noexcept { const ErrorOwner owned(err); }

void throw_invalid_handle(std::string message) {
    throw UplinkFailure(UPLINK_ERROR_INVALID_HANDLE, std::move(message));
}

void set_error_classes(py::object from_code, py::object forked_process_error) {
    if (errors_module.load() == nullptr) {
        errors_module.store(new ErrorsModule{std::move(from_code), std::move(forked_process_error)});
    }
}

void register_error_translator() {
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            std::rethrow_exception(p);
        } catch (const UplinkFailure &failure) {
            try {
                raise_storj_exception(failure);
            } catch (py::error_already_set &e) {
                e.restore();
            }
        } catch (const ForkedProcessFailure &failure) {
            const ErrorsModule *registered = errors_module.load();
            PyErr_SetString(registered != nullptr ? registered->forked_process_error.ptr() : PyExc_RuntimeError,
                            failure.what());
        }
    });
}

void warn_unclosed(const char *message) noexcept {
    const py::error_scope pending;  // a destructor may run while an exception propagates
    if (PyErr_WarnEx(PyExc_ResourceWarning, message, 1) < 0) {
        PyErr_WriteUnraisable(nullptr);
    }
}
