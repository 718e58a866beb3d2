#include "handle_types.hpp"

#include <mutex>

namespace {
// Never freed (see convert.cpp). The mutex matters without a GIL (free-threaded CPython):
// _register_type may replace a type while another thread creates a handle.
std::mutex types_mutex;
HandleTypes *types = new HandleTypes();
}  // namespace

HandleTypes handle_types() {
    const std::lock_guard<std::mutex> lock(types_mutex);
    return *types;
}

void set_handle_types(HandleTypes replacement) {
    const std::lock_guard<std::mutex> lock(types_mutex);
    *types = std::move(replacement);
}

void set_handle_type(py::object HandleTypes::*kind, py::object type) {
    const std::lock_guard<std::mutex> lock(types_mutex);
    (*types).*kind = std::move(type);
}
