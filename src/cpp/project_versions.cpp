// Project methods for object versions, Object Lock and batch delete: the uplink_py_*
// calls of third_party/uplink-c (versions.go, objectlock.go, batch_delete.go).
#include "iterators.hpp"
#include "project.hpp"

py::object Project::create_bucket_with_object_lock(const CString &bucket_name) {
    return bucket_call(uplink_py_create_bucket_with_object_lock, bucket_name);
}

int Project::get_bucket_versioning(const CString &bucket_name) {
    int32_t state = 0;
    call([&](UplinkProject *p) { check(uplink_py_get_bucket_versioning(p, bucket_name.c(), &state)); });
    return state;
}

void Project::set_bucket_versioning(const CString &bucket_name, bool enabled) {
    call([&](UplinkProject *p) { check(uplink_py_set_bucket_versioning(p, bucket_name.c(), enabled)); });
}

py::object Project::get_bucket_object_lock(const CString &bucket_name) {
    UplinkPyObjectLockConfiguration config{};
    call([&](UplinkProject *p) {
        check(uplink_py_get_bucket_object_lock_configuration(p, bucket_name.c(), &config));
    });
    return lock_configuration_to_py(config);
}

void Project::set_bucket_object_lock(const CString &bucket_name, py::handle config) {
    UplinkPyObjectLockConfiguration c_config = lock_configuration_arg(config);
    call([&](UplinkProject *p) {
        check(uplink_py_set_bucket_object_lock_configuration(p, bucket_name.c(), &c_config));
    });
}

py::object Project::stat_version(const CString &bucket_name, const CString &key, py::handle version) {
    const CString c_version = version_arg(version);
    const ObjectVersionResultOwner found = call([&](UplinkProject *p) {
        return take<ObjectVersionResultOwner>(uplink_py_stat_version(p, bucket_name.c(), key.c(), c_version.c()));
    });
    return found ? object_version_to_py(*found.get()) : py::none();
}

py::object Project::delete_version(const CString &bucket_name, const CString &key, py::handle version,
                                   bool bypass_governance) {
    const CString c_version = version_arg(version);
    const ObjectVersionResultOwner deleted = call([&](UplinkProject *p) {
        return take<ObjectVersionResultOwner>(
            uplink_py_delete_version(p, bucket_name.c(), key.c(), c_version.c(), bypass_governance));
    });
    return deleted ? object_version_to_py(*deleted.get()) : py::none();  // None: nothing was there
}

py::object Project::iter_versions(const CString &bucket_name, py::handle options) {
    ListObjectsOptionsArg c_options(options, "ListObjectsOptions");
    return py::cast(start<VersionIterator>(
        [&](UplinkProject *p) { return uplink_py_list_versions(p, bucket_name.c(), c_options.c()); }));
}

py::list Project::list_versions(const CString &bucket_name, py::handle options) {
    ListObjectsOptionsArg c_options(options, "ListObjectsOptions");
    return start<VersionIterator>(
               [&](UplinkProject *p) { return uplink_py_list_versions(p, bucket_name.c(), c_options.c()); })
        ->drain();
}

void Project::set_object_retention(const CString &bucket_name, const CString &key, py::handle retention,
                                   py::handle version, bool bypass_governance) {
    const UplinkPyRetention c_retention = retention_arg(retention);
    const CString c_version = version_arg(version);
    call([&](UplinkProject *p) {
        check(uplink_py_set_object_retention(p, bucket_name.c(), key.c(), c_version.c(), c_retention,
                                             bypass_governance));
    });
}

py::object Project::get_object_retention(const CString &bucket_name, const CString &key, py::handle version) {
    const CString c_version = version_arg(version);
    UplinkPyRetention retention{};
    call([&](UplinkProject *p) {
        check(uplink_py_get_object_retention(p, bucket_name.c(), key.c(), c_version.c(), &retention));
    });
    return retention_to_py(retention);
}

void Project::set_object_legal_hold(const CString &bucket_name, const CString &key, bool enabled,
                                    py::handle version) {
    const CString c_version = version_arg(version);
    call([&](UplinkProject *p) {
        check(uplink_py_set_object_legal_hold(p, bucket_name.c(), key.c(), c_version.c(), enabled));
    });
}

bool Project::get_object_legal_hold(const CString &bucket_name, const CString &key, py::handle version) {
    const CString c_version = version_arg(version);
    bool enabled = false;
    call([&](UplinkProject *p) {
        check(uplink_py_get_object_legal_hold(p, bucket_name.c(), key.c(), c_version.c(), &enabled));
    });
    return enabled;
}

py::list Project::delete_objects(const CString &bucket_name, py::handle items, bool bypass_governance) {
    DeleteItemsArg c_items(items);
    if (c_items.count() == 0) {
        return py::list();
    }
    // The items, and the error of a failed request: the outcomes of the requests before it
    // go with the exception (its `results`), as they are deletions that happened.
    struct Deleted {
        DeleteObjectsResultOwner owner;
        size_t count;
        ErrorOwner error;
    };
    const Deleted deleted = call([&](UplinkProject *p) {
        UplinkPyDeleteObjectsResult result =
            uplink_py_delete_objects(p, bucket_name.c(), c_items.data(), c_items.count(), bypass_governance);
        ErrorOwner error(std::exchange(result.error, nullptr));
        const size_t count = result.count;
        return Deleted{DeleteObjectsResultOwner(result), count, std::move(error)};
    });
    py::list out(deleted.count);
    for (size_t i = 0; i < deleted.count; ++i) {
        out[i] = delete_result_to_py(deleted.owner.get()[i]);
    }
    if (deleted.error) {
        throw_uplink_error_with(*deleted.error, "results", out);
    }
    return out;
}

void bind_project_versions(py::class_<Project> &project) {
    const auto none = py::none();
    project
        .def("create_bucket_with_object_lock", &Project::create_bucket_with_object_lock, py::arg("bucket_name"))
        .def("get_bucket_versioning", &Project::get_bucket_versioning, py::arg("bucket_name"))
        .def("set_bucket_versioning", &Project::set_bucket_versioning, py::arg("bucket_name"),
             py::arg("enabled").noconvert())
        .def("get_bucket_object_lock", &Project::get_bucket_object_lock, py::arg("bucket_name"))
        .def("set_bucket_object_lock", &Project::set_bucket_object_lock, py::arg("bucket_name"), py::arg("config"))
        .def("stat_version", &Project::stat_version, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("version") = none)
        .def("delete_version", &Project::delete_version, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("version") = none, py::kw_only(), py::arg("bypass_governance").noconvert() = false)
        .def("iter_versions", &Project::iter_versions, py::arg("bucket_name"), py::arg("list_object_options") = none)
        .def("list_versions", &Project::list_versions, py::arg("bucket_name"), py::arg("list_object_options") = none)
        .def("set_object_retention", &Project::set_object_retention, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("retention"), py::kw_only(), py::arg("version") = none,
             py::arg("bypass_governance").noconvert() = false)
        .def("get_object_retention", &Project::get_object_retention, py::arg("bucket_name"), py::arg("storj_path"),
             py::kw_only(), py::arg("version") = none)
        .def("set_object_legal_hold", &Project::set_object_legal_hold, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("enabled").noconvert(), py::kw_only(), py::arg("version") = none)
        .def("get_object_legal_hold", &Project::get_object_legal_hold, py::arg("bucket_name"), py::arg("storj_path"),
             py::kw_only(), py::arg("version") = none)
        .def("delete_objects", &Project::delete_objects, py::arg("bucket_name"), py::arg("items"), py::kw_only(),
             py::arg("bypass_governance").noconvert() = false);
}
