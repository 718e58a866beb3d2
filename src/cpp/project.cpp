#include "project.hpp"

#include <limits>

#include "access.hpp"
#include "handle_types.hpp"
#include "iterators.hpp"
#include "transfers.hpp"

Project::~Project() {
    if (state_ && !state_->closed() && !in_forked_child()) {
        warn_unclosed("unclosed Project");
    }
    // Dropping state_ closes the project once no transfer or iterator uses it.
}

void Project::adopt(ProjectOwner handle, CallPolicy timeouts) {
    state_ = std::make_shared<ProjectState>(std::move(handle), timeouts);
}

const std::shared_ptr<ProjectState> &Project::require() const {
    check_not_forked();
    if (!state_) {
        throw_invalid_handle("project is not open: create it with Access.open_project()");
    }
    if (state_->closed()) {
        throw_invalid_handle("project is closed");
    }
    return state_;
}

void Project::close() {
    check_not_forked();
    if (closed()) {
        return;
    }
    // Not call(): a close racing with this one must not make it fail.
    const std::shared_ptr<ProjectState> state = state_;
    call_blocking({state->policy().call_ms}, [&] { state->close(); });
}

void Project::cancel_calls() {
    check_not_forked();
    if (!closed()) {
        uplink_py_cancel_project_calls(state_->handle());
    }
}

void Project::exit(py::handle exc_type) {
    if (exc_type.is_none()) {
        close();
        return;
    }
    try {
        close();
    } catch (const UplinkFailure &) {
        // The block's exception matters more than a failed close.
    }
}

// ---------------------------------------------------------------- buckets

py::object Project::bucket_call(UplinkBucketResult (*function)(UplinkProject *, char *), const CString &name) {
    const BucketResultOwner bucket =
        call([&](UplinkProject *p) { return take<BucketResultOwner>(function(p, name.c())); });
    return bucket ? bucket_to_py(*bucket.get()) : py::none();
}

py::object Project::iter_buckets(py::handle options) {
    ListBucketsOptionsArg c_options(options);
    return py::cast(start<BucketIterator>([&](UplinkProject *p) { return uplink_list_buckets(p, c_options.c()); }));
}

py::list Project::list_buckets(py::handle options) {
    ListBucketsOptionsArg c_options(options);
    return start<BucketIterator>([&](UplinkProject *p) { return uplink_list_buckets(p, c_options.c()); })->drain();
}

// ---------------------------------------------------------------- objects

py::object Project::stat_object(const CString &bucket_name, const CString &key, py::handle version) {
    const CString c_version = version_arg(version);
    auto [object, found] = call([&](UplinkProject *p) {
        UplinkStringResult identity{};
        UplinkObjectResult result =
            uplink_py_stat_object_version(p, bucket_name.c(), key.c(), c_version.c(), &identity);
        StringResultOwner identity_owner(identity);  // set only on success
        return std::make_pair(take<ObjectResultOwner>(result), std::move(identity_owner));
    });
    return object ? object_to_py(*object.get(), found.get()) : py::none();
}

py::object Project::delete_object(const CString &bucket_name, const CString &key) {
    const ObjectResultOwner object = call(
        [&](UplinkProject *p) { return take<ObjectResultOwner>(uplink_delete_object(p, bucket_name.c(), key.c())); });
    return object ? object_to_py(*object.get()) : py::none();  // None: there was no such object
}

py::object Project::iter_objects(const CString &bucket_name, py::handle options) {
    ListObjectsOptionsArg c_options(options, "ListObjectsOptions");
    return py::cast(start<ObjectIterator>(
        [&](UplinkProject *p) { return uplink_list_objects(p, bucket_name.c(), c_options.c()); }));
}

py::list Project::list_objects(const CString &bucket_name, py::handle options) {
    ListObjectsOptionsArg c_options(options, "ListObjectsOptions");
    return start<ObjectIterator>(
               [&](UplinkProject *p) { return uplink_list_objects(p, bucket_name.c(), c_options.c()); })
        ->drain();
}

py::object Project::copy_object(const CString &old_bucket, const CString &old_key, const CString &new_bucket,
                                const CString &new_key, py::handle version, py::handle retention, bool legal_hold,
                                bool if_none_match) {
    const CString c_version = version_arg(version);
    UplinkPyWriteOptions write = write_options_arg(retention, legal_hold, if_none_match);
    const ObjectVersionResultOwner copied = call([&](UplinkProject *p) {
        return take<ObjectVersionResultOwner>(uplink_py_copy_object(p, old_bucket.c(), old_key.c(), c_version.c(),
                                                                    new_bucket.c(), new_key.c(), &write));
    });
    return copied ? object_version_to_py(*copied.get()) : py::none();
}

void Project::move_object(const CString &old_bucket, const CString &old_key, const CString &new_bucket,
                          const CString &new_key) {
    call([&](UplinkProject *p) {
        check(uplink_move_object(p, old_bucket.c(), old_key.c(), new_bucket.c(), new_key.c(), nullptr));
    });
}

void Project::update_object_metadata(const CString &bucket_name, const CString &key, py::handle metadata) {
    MetadataArg c_metadata(metadata);
    call([&](UplinkProject *p) {
        check(uplink_update_object_metadata(p, bucket_name.c(), key.c(), c_metadata.c(), nullptr));
    });
}

// ---------------------------------------------------------------- transfers

py::object Project::upload_object(const CString &bucket_name, const CString &key, py::handle options,
                                   py::handle retention, bool legal_hold) {
    UplinkUploadOptions c_options = upload_options_arg(options);
    // No if_none_match here: a small single upload that loses the race would leave its
    // pending object behind (see third_party/uplink-c/README.md); commit_upload has it.
    UplinkPyWriteOptions write = write_options_arg(retention, legal_hold, false);
    require();
    // The Python object first: if creating it fails, there is no upload to abort.
    auto [handle, upload] = new_handle<Upload>(handle_types().upload);
    UploadOwner owner = call([&](UplinkProject *p) {
        return take<UploadOwner>(uplink_py_upload_object(p, bucket_name.c(), key.c(), &c_options, &write));
    });
    upload->adopt(state_, std::move(owner), bucket_name.value, key.value);
    return handle;
}

py::object Project::download_object(const CString &bucket_name, const CString &key, py::handle options,
                                     py::handle version) {
    UplinkDownloadOptions c_options = download_options_arg(options);
    const CString c_version = version_arg(version);
    require();
    auto [handle, download] = new_handle<Download>(handle_types().download);
    DownloadOpened opened = call([&](UplinkProject *p) {
        DownloadOwner owner = take<DownloadOwner>(
            uplink_py_download_object_version(p, bucket_name.c(), key.c(), c_version.c(), &c_options));
        uplink_py_set_download_retries(owner.get(), state_->policy().download_retries);
        const ObjectResultOwner info = take<ObjectResultOwner>(uplink_download_info(owner.get()));
        const StringResultOwner found = take<StringResultOwner>(uplink_py_download_identity(owner.get()));
        return DownloadOpened{std::move(owner), info ? info.get()->system.content_length : 0,
                              found ? std::string(found.get()) : std::string()};
    });
    download->adopt(state_, std::move(opened), bucket_name.value, key.value, c_options);
    return handle;
}

// ---------------------------------------------------------------- multipart

py::object Project::begin_upload(const CString &bucket_name, const CString &key, py::handle options,
                                  py::handle retention, bool legal_hold, bool abort_on_close) {
    UplinkUploadOptions c_options = upload_options_arg(options);
    UplinkPyWriteOptions write = write_options_arg(retention, legal_hold, false);
    write.abort_on_close = abort_on_close;
    // Ctrl-C as the upload began: abort it, or it stays pending with nobody knowing its id.
    const auto abort_begun = [&](UploadInfoResultOwner &begun) {
        if (begun) {
            ignore_error(uplink_abort_upload(state_->handle(), bucket_name.c(), key.c(), begun.get()->upload_id));
        }
    };
    const UploadInfoResultOwner info = call(
        [&](UplinkProject *p) {
            return take<UploadInfoResultOwner>(
                uplink_py_begin_upload(p, bucket_name.c(), key.c(), &c_options, &write));
        },
        abort_begun);
    return info ? upload_info_to_py(*info.get()) : py::none();
}

py::object Project::commit_upload(const CString &bucket_name, const CString &key, const CString &upload_id,
                                  py::handle options, bool if_none_match) {
    // CommitUploadOptions, or the custom metadata itself.
    const py::object metadata = py::hasattr(options, "custom_metadata") ? options.attr("custom_metadata")
                                                                        : py::reinterpret_borrow<py::object>(options);
    MetadataArg c_metadata(metadata);
    UplinkCommitUploadOptions c_options{c_metadata.c()};
    const ObjectVersionResultOwner object = call(
        [&](UplinkProject *p) {
            return take<ObjectVersionResultOwner>(
                uplink_py_commit_upload(p, bucket_name.c(), key.c(), upload_id.c(), &c_options, if_none_match));
        },
        KeepNothing{}, "uplink-py: commit_upload had completed before the interrupt: the object is committed");
    return object ? object_version_to_py(*object.get()) : py::none();
}

void Project::abort_upload(const CString &bucket_name, const CString &key, const CString &upload_id) {
    call([&](UplinkProject *p) { check(uplink_abort_upload(p, bucket_name.c(), key.c(), upload_id.c())); });
}

py::object Project::upload_part(const CString &bucket_name, const CString &key, const CString &upload_id,
                                py::handle part_number) {
    const auto number =
        static_cast<uint32_t>(int_arg(part_number, "part_number", 1, std::numeric_limits<int32_t>::max()));
    require();
    auto [handle, part] = new_handle<PartUpload>(handle_types().part_upload);
    PartUploadOwner owner = call([&](UplinkProject *p) {
        return take<PartUploadOwner>(uplink_upload_part(p, bucket_name.c(), key.c(), upload_id.c(), number));
    });
    part->adopt(state_, std::move(owner), bucket_name.value, key.value, upload_id.value, number);
    return handle;
}

py::object Project::iter_uploads(const CString &bucket_name, py::handle options) {
    ListUploadsOptionsArg c_options(options, "ListUploadsOptions");
    return py::cast(start<UploadIterator>(
        [&](UplinkProject *p) { return uplink_list_uploads(p, bucket_name.c(), c_options.c()); }));
}

py::list Project::list_uploads(const CString &bucket_name, py::handle options) {
    ListUploadsOptionsArg c_options(options, "ListUploadsOptions");
    return start<UploadIterator>(
               [&](UplinkProject *p) { return uplink_list_uploads(p, bucket_name.c(), c_options.c()); })
        ->drain();
}

py::object Project::iter_upload_parts(const CString &bucket_name, const CString &key, const CString &upload_id,
                                      py::handle options) {
    UplinkListUploadPartsOptions c_options = list_upload_parts_options_arg(options);
    return py::cast(start<PartIterator>([&](UplinkProject *p) {
        return uplink_list_upload_parts(p, bucket_name.c(), key.c(), upload_id.c(), &c_options);
    }));
}

py::list Project::list_upload_parts(const CString &bucket_name, const CString &key, const CString &upload_id,
                                    py::handle options) {
    UplinkListUploadPartsOptions c_options = list_upload_parts_options_arg(options);
    return start<PartIterator>([&](UplinkProject *p) {
               return uplink_list_upload_parts(p, bucket_name.c(), key.c(), upload_id.c(), &c_options);
           })
        ->drain();
}

void Project::revoke_access(const Access &access) {
    access.require();
    call([&](UplinkProject *p) {
        access.read([&](UplinkAccess *a) { check(uplink_revoke_access(p, a)); });
    });
}

// ---------------------------------------------------------------- bindings

void bind_project(py::module_ &m) {
    const auto bucket_method = [](UplinkBucketResult (*fn)(UplinkProject *, char *)) {
        return [fn](Project &self, const CString &bucket_name) { return self.bucket_call(fn, bucket_name); };
    };
    const auto none = py::none();

    py::class_<Project> project(m, "Project", "An open project: buckets, objects and transfers.");
    project
        .def(py::init<>())
        .def_property_readonly("closed", &Project::closed)
        .def("close", &Project::close)
        .def("cancel_calls", &Project::cancel_calls)
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](Project &self, const py::args &exc) { self.exit(exc_type_arg(exc)); })
        .def("__repr__", &Project::repr)
        .def("stat_bucket", bucket_method(uplink_stat_bucket), py::arg("bucket_name"))
        .def("create_bucket", bucket_method(uplink_create_bucket), py::arg("bucket_name"))
        .def("ensure_bucket", bucket_method(uplink_ensure_bucket), py::arg("bucket_name"))
        .def("delete_bucket", bucket_method(uplink_delete_bucket), py::arg("bucket_name"))
        .def("delete_bucket_with_objects", bucket_method(uplink_delete_bucket_with_objects), py::arg("bucket_name"))
        .def("list_buckets", &Project::list_buckets, py::arg("list_bucket_options") = none)
        .def("iter_buckets", &Project::iter_buckets, py::arg("list_bucket_options") = none)
        .def("stat_object", &Project::stat_object, py::arg("bucket_name"), py::arg("storj_path"), py::kw_only(),
             py::arg("version") = none)
        .def("delete_object", &Project::delete_object, py::arg("bucket_name"), py::arg("storj_path"))
        .def("list_objects", &Project::list_objects, py::arg("bucket_name"), py::arg("list_object_options") = none)
        .def("iter_objects", &Project::iter_objects, py::arg("bucket_name"), py::arg("list_object_options") = none)
        .def("copy_object", &Project::copy_object, py::arg("old_bucket"), py::arg("old_key"), py::arg("new_bucket"),
             py::arg("new_key"), py::kw_only(), py::arg("version") = none, py::arg("retention") = none,
             py::arg("legal_hold").noconvert() = false, py::arg("if_none_match").noconvert() = false)
        .def("move_object", &Project::move_object, py::arg("old_bucket"), py::arg("old_key"), py::arg("new_bucket"),
             py::arg("new_key"))
        .def("update_object_metadata", &Project::update_object_metadata, py::arg("bucket_name"),
             py::arg("storj_path"), py::arg("custom_metadata"))
        .def("upload_object", &Project::upload_object, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("upload_options") = none, py::kw_only(), py::arg("retention") = none,
             py::arg("legal_hold").noconvert() = false)
        .def("download_object", &Project::download_object, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("download_options") = none, py::kw_only(), py::arg("version") = none)
        .def("begin_upload", &Project::begin_upload, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("upload_options") = none, py::kw_only(), py::arg("retention") = none,
             py::arg("legal_hold").noconvert() = false, py::arg("abort_on_close").noconvert() = false)
        .def("commit_upload", &Project::commit_upload, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("upload_id"), py::arg("options") = none, py::kw_only(),
             py::arg("if_none_match").noconvert() = false)
        .def("abort_upload", &Project::abort_upload, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("upload_id"))
        .def("upload_part", &Project::upload_part, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("upload_id"), py::arg("part_number"))
        .def("list_uploads", &Project::list_uploads, py::arg("bucket_name"), py::arg("options") = none)
        .def("iter_uploads", &Project::iter_uploads, py::arg("bucket_name"), py::arg("options") = none)
        .def("list_upload_parts", &Project::list_upload_parts, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("upload_id"), py::arg("options") = none)
        .def("iter_upload_parts", &Project::iter_upload_parts, py::arg("bucket_name"), py::arg("storj_path"),
             py::arg("upload_id"), py::arg("options") = none)
        .def("revoke_access", &Project::revoke_access, py::arg("access").none(false));
    bind_project_versions(project);
}
