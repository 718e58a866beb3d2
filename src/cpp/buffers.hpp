// Zero-copy access to the memory of any object with the buffer protocol (bytes,
// bytearray, memoryview, numpy arrays of any dtype...).
#pragma once

#include <cstddef>
#include <string>

#include <pybind11/pybind11.h>

// A Py_buffer held for the lifetime of this object. Construct and destroy it with the
// GIL held; its memory may be used without the GIL in between (the exporter cannot
// resize or free it while the buffer is held).
class BufferView {
public:
    // `what` names the argument in error messages, e.g. "readinto()".
    BufferView(pybind11::handle obj, bool writable, const char *what) {
        if (!PyObject_CheckBuffer(obj.ptr())) {
            throw pybind11::type_error(std::string(what) + " needs a bytes-like object (bytes, bytearray, "
                                       "memoryview, numpy array...), not '" + Py_TYPE(obj.ptr())->tp_name + "'");
        }
        const int flags = writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS;
        if (PyObject_GetBuffer(obj.ptr(), &view_, flags) < 0) {
            // Exporters word this differently (numpy raises ValueError): one clear BufferError.
            pybind11::error_already_set cause;
            const std::string message = std::string(what) +
                                        (writable ? " needs a writable, C-contiguous buffer (" :
                                                    " needs a C-contiguous buffer (") +
                                        pybind11::str(cause.value()).cast<std::string>() + ")";
            pybind11::raise_from(cause, PyExc_BufferError, message.c_str());
            throw pybind11::error_already_set();
        }
    }
    ~BufferView() { PyBuffer_Release(&view_); }
    BufferView(const BufferView &) = delete;
    BufferView &operator=(const BufferView &) = delete;

    char *data() const noexcept { return static_cast<char *>(view_.buf); }
    size_t size() const noexcept { return static_cast<size_t>(view_.len); }

private:
    Py_buffer view_{};
};
