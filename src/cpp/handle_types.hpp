// The Python types handles are created as. uplink_py's facade subclasses the core
// classes and registers the subclasses (_register_types), so every factory creates an
// instance of the subclass: it calls the registered type with no arguments and adopts
// the uplink-c handle into the core object inside.
#pragma once

#include <utility>

#include <pybind11/pybind11.h>

namespace py = pybind11;

struct HandleTypes {
    py::object access, project, upload, download, part_upload;
};

// Defaults to the core classes (set at module init); never freed (see convert.cpp).
HandleTypes &handle_types();

// A new, empty handle of `type` and the core object inside it.
template <class Core>
std::pair<py::object, Core *> new_handle(const py::object &type) {
    py::object handle = type();
    return {handle, &handle.cast<Core &>()};
}
