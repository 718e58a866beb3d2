// Lazy iterators over buckets, objects, uploads and parts. Each __next__ fetches one
// item without the GIL; at the end the uplink iterator's error is raised, and the
// uplink iterator is freed exactly once (at the end or with the Python object).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>

#include "blocking.hpp"
#include "convert.hpp"
#include "owners.hpp"
#include "project_state.hpp"

namespace py = pybind11;

template <class Traits>
class ListIterator {
public:
    using Owner = typename Traits::Owner;
    using ItemOwner = typename Traits::ItemOwner;

    ListIterator(std::shared_ptr<ProjectState> project, typename Traits::Owner iterator) noexcept
        : project_(std::move(project)), iterator_(std::move(iterator)) {}

    py::object next() {
        ItemOwner item = call_blocking(options(), [this] { return step(); });
        if (!item) {
            throw py::stop_iteration();
        }
        return Traits::to_py(*item);
    }

    // The remaining items, fetched in one call without the GIL.
    py::list drain() {
        const std::vector<ItemOwner> items = call_blocking(options(), [this] {
            std::vector<ItemOwner> fetched;
            while (ItemOwner item = step()) {
                fetched.push_back(std::move(item));
            }
            return fetched;
        });
        py::list out(items.size());
        for (size_t i = 0; i < items.size(); ++i) {
            out[i] = Traits::to_py(*items[i]);
        }
        return out;
    }

private:
    CallOptions options() const { return {project_->policy().call_ms}; }

    // The next item, or nothing at the end (then the iterator's error is thrown, if any).
    ItemOwner step() {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (!iterator_) {
            return ItemOwner();
        }
        if (project_->closed()) {
            throw_invalid_handle("project is closed");
        }
        if (Traits::next(iterator_.get())) {
            return ItemOwner(Traits::item(iterator_.get()));
        }
        UplinkError *err = Traits::err(iterator_.get());
        iterator_.reset();
        check(err);
        return ItemOwner();
    }

    std::shared_ptr<ProjectState> project_;  // declared first: released after the iterator
    typename Traits::Owner iterator_;        // reset at the end
    std::mutex mutex_;                       // uplink iterators are not thread-safe
};

struct BucketIteration {
    using Owner = BucketIteratorOwner;
    using ItemOwner = BucketOwner;
    static bool next(UplinkBucketIterator *it) { return uplink_bucket_iterator_next(it); }
    static UplinkBucket *item(UplinkBucketIterator *it) { return uplink_bucket_iterator_item(it); }
    static UplinkError *err(UplinkBucketIterator *it) { return uplink_bucket_iterator_err(it); }
    static py::object to_py(const UplinkBucket &bucket) { return bucket_to_py(bucket); }
};

struct ObjectIteration {
    using Owner = ObjectIteratorOwner;
    using ItemOwner = ObjectOwner;
    static bool next(UplinkObjectIterator *it) { return uplink_object_iterator_next(it); }
    static UplinkObject *item(UplinkObjectIterator *it) { return uplink_object_iterator_item(it); }
    static UplinkError *err(UplinkObjectIterator *it) { return uplink_object_iterator_err(it); }
    static py::object to_py(const UplinkObject &object) { return object_to_py(object); }
};

struct UploadIteration {
    using Owner = UploadIteratorOwner;
    using ItemOwner = UploadInfoOwner;
    static bool next(UplinkUploadIterator *it) { return uplink_upload_iterator_next(it); }
    static UplinkUploadInfo *item(UplinkUploadIterator *it) { return uplink_upload_iterator_item(it); }
    static UplinkError *err(UplinkUploadIterator *it) { return uplink_upload_iterator_err(it); }
    static py::object to_py(const UplinkUploadInfo &info) { return upload_info_to_py(info); }
};

struct PartIteration {
    using Owner = PartIteratorOwner;
    using ItemOwner = PartOwner;
    static bool next(UplinkPartIterator *it) { return uplink_part_iterator_next(it); }
    static UplinkPart *item(UplinkPartIterator *it) { return uplink_part_iterator_item(it); }
    static UplinkError *err(UplinkPartIterator *it) { return uplink_part_iterator_err(it); }
    static py::object to_py(const UplinkPart &part) { return part_to_py(part); }
};

struct VersionIteration {
    using Owner = VersionIteratorOwner;
    using ItemOwner = ObjectVersionOwner;
    static bool next(UplinkPyVersionIterator *it) { return uplink_py_version_iterator_next(it); }
    static UplinkPyObjectVersion *item(UplinkPyVersionIterator *it) { return uplink_py_version_iterator_item(it); }
    static UplinkError *err(UplinkPyVersionIterator *it) { return uplink_py_version_iterator_err(it); }
    static py::object to_py(const UplinkPyObjectVersion &version) { return object_version_to_py(version); }
};

using BucketIterator = ListIterator<BucketIteration>;
using ObjectIterator = ListIterator<ObjectIteration>;
using UploadIterator = ListIterator<UploadIteration>;
using PartIterator = ListIterator<PartIteration>;
using VersionIterator = ListIterator<VersionIteration>;

void bind_iterators(py::module_ &m);
