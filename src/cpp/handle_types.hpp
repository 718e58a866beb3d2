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

// A copy of the types (the core classes until the facade registers its subclasses);
// safe from any thread, with or without the GIL.
HandleTypes handle_types();
void set_handle_types(HandleTypes types);                       // at module init
void set_handle_type(py::object HandleTypes::*kind, py::object type);  // _register_type

// A new, empty handle of `type` and the core object inside it.
template <class Core>
std::pair<py::object, Core *> new_handle(const py::object &type) {
    py::object handle = type();
    return {handle, &handle.cast<Core &>()};
}
