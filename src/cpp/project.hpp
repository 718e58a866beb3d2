// A project: buckets, objects, transfers and multipart uploads. Calls on one project
// from many threads run concurrently (each without the GIL).
#pragma once

#include <memory>
#include <string>

#include <pybind11/pybind11.h>

#include "blocking.hpp"
#include "convert.hpp"
#include "project_state.hpp"

namespace py = pybind11;

class Access;

class Project {
public:
    Project() = default;  // closed until Access.open_project adopts a handle
    // Collected while open: warn; the project closes once its transfers are gone too.
    ~Project();
    Project(const Project &) = delete;
    Project &operator=(const Project &) = delete;

    void adopt(ProjectOwner handle, CallPolicy timeouts);

    bool closed() const noexcept { return !state_ || state_->closed(); }
    void close();  // idempotent
    void cancel_calls();
    void exit(py::handle exc_type);
    std::string repr() const { return closed() ? "<Project closed>" : "<Project open>"; }

    // stat/create/ensure/delete(_with_objects) bucket
    py::object bucket_call(UplinkBucketResult (*function)(UplinkProject *, char *), const CString &bucket_name);
    py::object iter_buckets(py::handle options);
    py::list list_buckets(py::handle options);

    // version: None for the latest, or the hex version an Object reports.
    py::object stat_object(const CString &bucket_name, const CString &key, py::handle version);
    py::object delete_object(const CString &bucket_name, const CString &key);
    py::object iter_objects(const CString &bucket_name, py::handle options);
    py::list list_objects(const CString &bucket_name, py::handle options);
    py::object copy_object(const CString &old_bucket, const CString &old_key, const CString &new_bucket,
                           const CString &new_key, py::handle version, py::handle retention, bool legal_hold,
                           bool if_none_match);
    void move_object(const CString &old_bucket, const CString &old_key, const CString &new_bucket,
                     const CString &new_key);
    void update_object_metadata(const CString &bucket_name, const CString &key, py::handle metadata);

    py::object upload_object(const CString &bucket_name, const CString &key, py::handle options,
                             py::handle retention, bool legal_hold);
    py::object download_object(const CString &bucket_name, const CString &key, py::handle options,
                               py::handle version);

    // abort_on_close: closing the project aborts the upload unless it was committed or
    // aborted by then (the engine's own uploads; not one another process resumes).
    py::object begin_upload(const CString &bucket_name, const CString &key, py::handle options,
                            py::handle retention, bool legal_hold, bool abort_on_close);
    py::object commit_upload(const CString &bucket_name, const CString &key, const CString &upload_id,
                             py::handle options, bool if_none_match);
    void abort_upload(const CString &bucket_name, const CString &key, const CString &upload_id);
    py::object upload_part(const CString &bucket_name, const CString &key, const CString &upload_id,
                           py::handle part_number);
    py::object iter_uploads(const CString &bucket_name, py::handle options);
    py::list list_uploads(const CString &bucket_name, py::handle options);
    py::object iter_upload_parts(const CString &bucket_name, const CString &key, const CString &upload_id,
                                 py::handle options);
    py::list list_upload_parts(const CString &bucket_name, const CString &key, const CString &upload_id,
                               py::handle options);

    void revoke_access(const Access &access);

    // Versions, Object Lock and batch delete (project_versions.cpp). version: None for
    // the latest, or the hex version an ObjectVersion reports.
    int get_bucket_versioning(const CString &bucket_name);
    void set_bucket_versioning(const CString &bucket_name, bool enabled);
    py::object create_bucket_with_object_lock(const CString &bucket_name);
    py::object get_bucket_object_lock(const CString &bucket_name);
    void set_bucket_object_lock(const CString &bucket_name, py::handle config);
    py::object stat_version(const CString &bucket_name, const CString &key, py::handle version);
    py::object delete_version(const CString &bucket_name, const CString &key, py::handle version,
                              bool bypass_governance);
    py::object iter_versions(const CString &bucket_name, py::handle options);
    py::list list_versions(const CString &bucket_name, py::handle options);
    void set_object_retention(const CString &bucket_name, const CString &key, py::handle retention,
                              py::handle version, bool bypass_governance);
    py::object get_object_retention(const CString &bucket_name, const CString &key, py::handle version);
    void set_object_legal_hold(const CString &bucket_name, const CString &key, bool enabled, py::handle version);
    bool get_object_legal_hold(const CString &bucket_name, const CString &key, py::handle version);
    py::list delete_objects(const CString &bucket_name, py::handle items, bool bypass_governance);

private:
    // The open project's state; InvalidHandleError if it is closed or was never opened.
    const std::shared_ptr<ProjectState> &require() const;

    // A satellite call through call_blocking, with the project's call timeout (options
    // as for call_blocking; cancel_calls() reaches it too).
    template <class F, class Dropped = KeepNothing>
    auto call(F &&f, Dropped &&dropped = {}, const char *completed = nullptr) const {
        const std::shared_ptr<ProjectState> &state = require();
        return call_blocking({state->policy().call_ms, {}, completed},
                             [&] { return std::forward<F>(f)(state->handle()); }, std::forward<Dropped>(dropped));
    }

    // A new iterator of type Iterator over what list(handle) returns.
    template <class Iterator, class List>
    std::unique_ptr<Iterator> start(List &&list);

    std::shared_ptr<ProjectState> state_;
};

template <class Iterator, class List>
std::unique_ptr<Iterator> Project::start(List &&list) {
    auto iterator = call([&](UplinkProject *p) { return typename Iterator::Owner(list(p)); });
    return std::make_unique<Iterator>(state_, std::move(iterator));
}

void bind_project(py::module_ &m);
// The methods of project_versions.cpp, on the class bind_project made.
void bind_project_versions(py::class_<Project> &project);
