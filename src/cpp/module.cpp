// uplink_py._core: the native module over uplink-c (see _core.pyi for the API).
#include <pybind11/pybind11.h>

#include "access.hpp"
#include "convert.hpp"
#include "errors.hpp"
#include "fork_guard.hpp"
#include "handle_types.hpp"
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

PYBIND11_MODULE(_core, m) {
    m.doc() = "Native core of uplink_py: handles over uplink-c, Storj's C API.";
    record_module_pid();
    register_error_translator();
    load_result_classes();

    bind_access(m);
    bind_project(m);
    bind_transfers(m);
    bind_iterators(m);
    handle_types() = HandleTypes{m.attr("Access"), m.attr("Project"), m.attr("Upload"), m.attr("Download"),
                                 m.attr("PartUpload")};

    m.def("uplink_version", [] {
        check_not_forked();
        return std::string(uplink_py_uplink_version());
    });
    m.def(
        "_register_types",
        [m](py::handle access, py::handle project, py::handle upload, py::handle download, py::handle part_upload) {
            handle_types() = HandleTypes{checked_subclass(access, m.attr("Access"), "access"),
                                         checked_subclass(project, m.attr("Project"), "project"),
                                         checked_subclass(upload, m.attr("Upload"), "upload"),
                                         checked_subclass(download, m.attr("Download"), "download"),
                                         checked_subclass(part_upload, m.attr("PartUpload"), "part_upload")};
        },
        py::arg("access"), py::arg("project"), py::arg("upload"), py::arg("download"), py::arg("part_upload"));
}
