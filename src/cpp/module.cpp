// uplink_py._core: the native module over uplink-c (see _core.pyi for the API).
#include <pybind11/pybind11.h>

#include "access.hpp"
#include "call_context.hpp"
#include "convert.hpp"
#include "errors.hpp"
#include "fork_guard.hpp"
#include "handle_types.hpp"
#include "interrupts.hpp"
#include "iterators.hpp"
#include "project.hpp"
#include "transfers.hpp"

namespace py = pybind11;

namespace {

py::object checked_subclass(py::handle type, py::handle core, const char *what) {
    if (!PyType_Check(type.ptr()) || PyObject_IsSubclass(type.ptr(), core.ptr()) != 1) {
        throw py::type_error(std::string(what) + " must be a subclass of _core." +
                             core.attr("__name__").cast<std::string>());
    }
    return py::reinterpret_borrow<py::object>(type);
}

}  // namespace

// Declared free-threading safe: global state is set once under uplink_py._native's lock
// or guarded (handle types, interrupt registry, result and error tables), handles lock
// their own state, and every blocking call runs without the GIL anyway.
PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
    m.doc() = "Native core of uplink_py: handles over uplink-c, Storj's C API.";
    record_module_pid();
    register_error_translator();  // nothing of uplink_py is imported here: _register_python hands it over

    bind_call_context(m);
    bind_access(m);
    bind_project(m);
    bind_transfers(m);
    bind_iterators(m);
    set_handle_types(HandleTypes{m.attr("Access"), m.attr("Project"), m.attr("Upload"), m.attr("Download"),
                                 m.attr("PartUpload")});

    m.def("uplink_version", [] {
        check_not_forked();
        return std::string(uplink_py_uplink_version());
    });
    m.def(
        "_register_python",
        [](py::object from_code, py::object forked_process_error, const py::dict &result_classes,
           unsigned long main_thread_ident) {
            set_error_classes(std::move(from_code), std::move(forked_process_error));
            set_result_classes(result_classes);
            set_main_thread(main_thread_ident);
        },
        py::arg("from_code"), py::arg("forked_process_error"), py::arg("result_classes"),
        py::arg("main_thread_ident"));
    m.def("_interrupt_on", &interrupt_on, py::arg("signum"),
          "Makes the signal interrupt as SIGINT does (the command line's SIGTERM and SIGHUP).");
    m.def(
        "_register_type",
        [m](const std::string &kind, py::handle type) {
            if (kind == "Access") {
                set_handle_type(&HandleTypes::access, checked_subclass(type, m.attr("Access"), "Access"));
            } else if (kind == "Project") {
                set_handle_type(&HandleTypes::project, checked_subclass(type, m.attr("Project"), "Project"));
            } else {
                throw py::value_error("only Access and Project have facade subclasses, not " + kind);
            }
        },
        py::arg("kind"), py::arg("type"));
}
