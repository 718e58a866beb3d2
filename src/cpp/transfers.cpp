#include "transfers.hpp"

#include <algorithm>

#include "buffers.hpp"
#include "convert.hpp"

namespace {

constexpr size_t kDefaultFileBuffer = 1 << 20;
// read() never allocates more than this per call, whatever size it is asked for.
constexpr size_t kMaxReadChunk = 64 << 20;

std::string quoted(const std::string &text) {
    return py::repr(decode_str(text.data(), text.size())).cast<std::string>();
}

size_t file_buffer_size(py::handle buffer_size) {
    const auto size = static_cast<size_t>(int_arg(buffer_size, "buffer_size", 0));
    // A hint: never a larger allocation than read() makes (a huge size is not a huge buffer).
    return size == 0 ? kDefaultFileBuffer : std::min(size, kMaxReadChunk);
}

py::bytes new_bytes(size_t size) {
    auto bytes = py::reinterpret_steal<py::bytes>(PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size)));
    if (!bytes) {
        throw py::error_already_set();
    }
    return bytes;
}

// Resizes a bytes object nobody else references yet (GIL held).
void resize_bytes(py::bytes &bytes, size_t size) {
    PyObject *raw = bytes.release().ptr();
    if (_PyBytes_Resize(&raw, static_cast<Py_ssize_t>(size)) < 0) {
        throw py::error_already_set();  // raw was freed and set to NULL
    }
    bytes = py::reinterpret_steal<py::bytes>(raw);
}

// A memoryview of bytes [begin, end) of a reusable bytearray, released afterwards so a
// file object that keeps it cannot see the buffer's next contents.
class ChunkView {
public:
    ChunkView(const py::bytearray &buffer, size_t begin, size_t end)
        : view_(py::memoryview(buffer)[py::slice(static_cast<py::ssize_t>(begin), static_cast<py::ssize_t>(end), 1)]) {}
    ~ChunkView() {
        const py::error_scope pending;
        if (PyObject *result = PyObject_CallMethod(view_.ptr(), "release", nullptr)) {
            Py_DECREF(result);
        } else {
            PyErr_Clear();  // still exported by the file: the bytearray stays alive with it
        }
    }
    ChunkView(const ChunkView &) = delete;
    ChunkView &operator=(const ChunkView &) = delete;
    const py::object &get() const noexcept { return view_; }

private:
    py::object view_;
};

py::bytearray new_bytearray(size_t size) {
    auto buffer = py::reinterpret_steal<py::bytearray>(
        PyByteArray_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size)));
    if (!buffer) {
        throw py::error_already_set();
    }
    return buffer;
}

// file.write(chunk) until it took all n bytes (raw files may take fewer; None: all).
void write_to_file(const py::object &write, const py::bytearray &buffer, size_t n) {
    size_t done = 0;
    while (done < n) {
        py::object written;
        {
            const ChunkView chunk(buffer, done, n);
            written = write(chunk.get());
        }
        if (written.is_none()) {
            return;
        }
        const auto count = int_arg(written, "file.write() result", 1, static_cast<int64_t>(n - done));
        done += static_cast<size_t>(count);
    }
}

}  // namespace

const char *phase_word(Phase phase) noexcept {
    switch (phase) {
    case Phase::Open: return "open";
    case Phase::Committed: return "committed";
    case Phase::Aborted: return "aborted";
    case Phase::Cancelled: return "cancelled";
    case Phase::Closed: return "closed";
    case Phase::ProjectClosed: return "stopped by project close";
    }
    return "unknown";
}

// ---------------------------------------------------------------- uploads

template <class Traits>
size_t UploadCore<Traits>::write(py::handle data, py::handle size) {
    const BufferView buffer(data, false, "write()");
    size_t n = buffer.size();
    if (!size.is_none()) {
        n = static_cast<size_t>(int_arg(size, "size", 0, static_cast<int64_t>(buffer.size())));
    }
    return this->run(Needs::Open, [&](State &state) { return write_all(state, buffer.data(), n); });
}

template class UploadCore<UploadTraits>;
template class UploadCore<PartUploadTraits>;

void Upload::adopt(const std::shared_ptr<ProjectState> &project, UploadOwner handle, std::string bucket,
                   std::string key) {
    bucket_ = std::move(bucket);
    key_ = std::move(key);
    TransferCore::adopt(project, std::move(handle));
}

size_t Upload::write_file(py::handle file, py::handle buffer_size) {
    const size_t size = file_buffer_size(buffer_size);
    require();
    const py::bytearray buffer = new_bytearray(size);
    const py::object readinto = py::getattr(file, "readinto", py::none());
    const py::object read = readinto.is_none() ? py::getattr(file, "read", py::none()) : py::object(py::none());
    if (readinto.is_none() && read.is_none()) {
        throw py::type_error(std::string("write_file() needs a binary file with readinto() or read(), not '") +
                             Py_TYPE(file.ptr())->tp_name + "'");
    }
    size_t total = 0;
    for (;;) {
        size_t n = 0;
        if (!readinto.is_none()) {
            py::object got;
            {
                const ChunkView chunk(buffer, 0, size);
                got = readinto(chunk.get());
            }
            if (got.is_none()) {
                throw py::value_error("file.readinto() returned None: non-blocking files are not supported");
            }
            n = static_cast<size_t>(int_arg(got, "file.readinto() result", 0, static_cast<int64_t>(size)));
            if (n == 0) {
                return total;
            }
            const char *data = PyByteArray_AS_STRING(buffer.ptr());
            run(Needs::Open, [&](State &state) { return write_all(state, data, n); });
        } else {
            const py::object chunk = read(size);
            const BufferView bytes(chunk, false, "file.read() result");
            n = bytes.size();
            if (n == 0) {
                return total;
            }
            run(Needs::Open, [&](State &state) { return write_all(state, bytes.data(), n); });
        }
        total += n;
    }
}

void Upload::set_custom_metadata(py::handle metadata) {
    MetadataArg c_metadata(metadata);
    run(Needs::Open,
        [&](State &state) { check(uplink_upload_set_custom_metadata(state.handle(), c_metadata.c())); });
}

py::object Upload::info() {
    // Also after commit: the committed object's info.
    const ObjectVersionResultOwner object = run(
        Needs::Handle, [](State &state) { return take<ObjectVersionResultOwner>(uplink_py_upload_version(state.handle())); });
    return object ? object_version_to_py(*object.get()) : py::none();
}

void Upload::close() {
    if (closed()) {
        return;
    }
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    PyErr_GetExcInfo(&type, &value, &traceback);  // the exception being handled, if any
    const bool failing = value != nullptr && value != Py_None;
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    if (failing) {
        finish_quietly(Phase::Aborted);
    } else {
        commit();
    }
}

std::string Upload::repr() const {
    if (!state_) {
        return "<Upload empty>";
    }
    return "<Upload bucket=" + quoted(bucket_) + " key=" + quoted(key_) + " " + repr_state() + ">";
}

void PartUpload::adopt(const std::shared_ptr<ProjectState> &project, PartUploadOwner handle, std::string bucket,
                       std::string key, std::string upload_id, uint32_t part_number) {
    bucket_ = std::move(bucket);
    key_ = std::move(key);
    upload_id_ = std::move(upload_id);
    part_number_ = part_number;
    TransferCore::adopt(project, std::move(handle));
}

void PartUpload::set_etag(py::handle etag) {
    std::string c_etag;
    if (PyUnicode_Check(etag.ptr())) {
        c_etag = encode_str(etag);
    } else if (PyBytes_Check(etag.ptr())) {
        c_etag = etag.cast<std::string>();
    } else {
        throw py::type_error(std::string("etag must be str or bytes, not ") + Py_TYPE(etag.ptr())->tp_name);
    }
    if (c_etag.find('\0') != std::string::npos) {
        throw py::value_error("etag must not contain NUL bytes");
    }
    run(Needs::Open, [&](State &state) { check(uplink_part_upload_set_etag(state.handle(), c_etag.data())); });
}

py::object PartUpload::info() {
    const PartResultOwner part =
        run(Needs::Handle, [](State &state) { return take<PartResultOwner>(uplink_part_upload_info(state.handle())); });
    return part ? part_to_py(*part.get()) : py::none();
}

std::string PartUpload::repr() const {
    if (!state_) {
        return "<PartUpload empty>";
    }
    return "<PartUpload bucket=" + quoted(bucket_) + " key=" + quoted(key_) + " part=" +
           std::to_string(part_number_) + " " + repr_state() + ">";
}

// ---------------------------------------------------------------- downloads

void Download::adopt(const std::shared_ptr<ProjectState> &project, DownloadOpened opened, std::string bucket,
                     std::string key, UplinkDownloadOptions range) {
    bucket_ = std::move(bucket);
    key_ = std::move(key);
    range_ = range;
    const int64_t content_length = content_length_ = opened.content_length;
    identity_ = std::move(opened.identity);
    // The range uplink serves: a negative offset counts from the end, a negative length
    // reads to the end.
    const int64_t start = range.offset < 0 ? std::max<int64_t>(0, content_length + range.offset)
                                           : std::min(range.offset, content_length);
    const int64_t end =
        range.length < 0 || range.length > content_length - start ? content_length : start + range.length;
    remaining_ = end - start;
    position_ = start;
    end_ = end;
    TransferCore::adopt(project, std::move(opened.handle));
}

ReadOutcome Download::fill(State &state, char *data, size_t n) {
    size_t total = 0;
    bool at_end = false;
    while (total < n && !at_end) {
        const ReadOutcome outcome = take_read(uplink_download_read(state.handle(), data + total, n - total));
        total += outcome.bytes_read;
        at_end = outcome.at_end;
    }
    remaining_ = std::max<int64_t>(0, remaining_ - static_cast<int64_t>(total));
    position_ += static_cast<int64_t>(total);
    return {total, at_end};
}

std::pair<py::bytes, size_t> Download::read(py::handle size_to_read) {
    const auto wanted = static_cast<uint64_t>(int_arg(size_to_read, "size_to_read", 0));
    require()->check_open();
    if (wanted == 0) {
        return {py::bytes(), 0};
    }
    // At least 1 byte even when nothing should remain: the read then confirms the end.
    const size_t cap = std::min<uint64_t>({wanted, kMaxReadChunk, std::max<uint64_t>(remaining_, 1)});
    py::bytes out = new_bytes(cap);
    char *data = PyBytes_AS_STRING(out.ptr());
    const size_t n = run(Needs::Open, [&](State &state) { return fill(state, data, cap).bytes_read; });
    if (n < cap) {
        resize_bytes(out, n);
    }
    return {out, n};
}

size_t Download::readinto(py::handle buffer) {
    const BufferView target(buffer, true, "readinto()");
    return run(Needs::Open, [&](State &state) { return fill(state, target.data(), target.size()).bytes_read; });
}

py::bytes Download::readall() {
    require()->check_open();
    // One byte more than expected, so the last read sees the end without a second buffer.
    size_t cap = static_cast<size_t>(remaining_) + 1;
    size_t filled = 0;
    py::bytes out = new_bytes(cap);
    for (;;) {
        char *data = PyBytes_AS_STRING(out.ptr()) + filled;
        const ReadOutcome outcome = run(Needs::Open, [&](State &state) { return fill(state, data, cap - filled); });
        filled += outcome.bytes_read;
        if (outcome.at_end) {
            break;
        }
        cap *= 2;
        resize_bytes(out, cap);
    }
    resize_bytes(out, filled);
    return out;
}

size_t Download::read_file(py::handle file, py::handle buffer_size) {
    const size_t size = file_buffer_size(buffer_size);
    require();
    const py::bytearray buffer = new_bytearray(size);
    const py::object write = py::getattr(file, "write", py::none());
    if (write.is_none()) {
        throw py::type_error(std::string("read_file() needs a binary file with write(), not '") +
                             Py_TYPE(file.ptr())->tp_name + "'");
    }
    size_t total = 0;
    for (;;) {
        char *data = PyByteArray_AS_STRING(buffer.ptr());
        const ReadOutcome outcome = run(Needs::Open, [&](State &state) { return fill(state, data, size); });
        if (outcome.bytes_read > 0) {
            write_to_file(write, buffer, outcome.bytes_read);
        }
        total += outcome.bytes_read;
        if (outcome.at_end) {
            return total;
        }
    }
}

int64_t Download::file_size() const {
    require();
    return content_length_;
}

const std::string &Download::identity() const {
    require();
    return identity_;
}

int64_t Download::tell() const {
    require();
    return position_;
}

int64_t Download::seek(py::handle offset_arg, py::handle whence_arg) {
    const int64_t whence = int_arg(whence_arg, "whence", 0, 2);
    const int64_t base = whence == 0 ? 0 : whence == 1 ? position_.load() : content_length_;
    const int64_t target = int_arg(offset_arg, "offset", INT64_MIN / 2, INT64_MAX / 2) + base;
    if (target < 0) {
        throw py::value_error("negative seek position " + std::to_string(target));
    }
    const std::shared_ptr<State> old = require();
    old->check_open();
    if (target == position_) {
        return target;
    }
    const std::shared_ptr<ProjectState> project = old->project();
    const int64_t start = std::min(target, end_);
    UplinkDownloadOptions options{start, end_ - start};  // from the end: an empty read, then EOF
    const std::string version = identity_.substr(identity_.rfind(':') + 1);
    DownloadOpened opened = call_blocking({project->policy().call_ms}, [&] {
        DownloadOwner owner;
        try {
            owner = take<DownloadOwner>(uplink_py_download_object_version(
                project->handle(), const_cast<char *>(bucket_.c_str()), const_cast<char *>(key_.c_str()),
                version.empty() ? nullptr : const_cast<char *>(version.c_str()), &options));
        } catch (const UplinkFailure &failure) {
            if (failure.code() != UPLINK_ERROR_OBJECT_NOT_FOUND) {
                throw;
            }
            throw UplinkFailure(UPLINK_PY_ERROR_OBJECT_CHANGED, "the object was deleted or replaced while it was read");
        }
        uplink_py_set_download_retries(owner.get(), project->policy().download_retries);
        const StringResultOwner found = take<StringResultOwner>(uplink_py_download_identity(owner.get()));
        if (!found || identity_ != found.get()) {
            throw UplinkFailure(UPLINK_PY_ERROR_OBJECT_CHANGED, "the object was replaced while it was read");
        }
        return DownloadOpened{std::move(owner), content_length_, identity_};
    });
    state_ = std::make_shared<State>(project, std::move(opened.handle));
    if (!project->add_transfer(state_)) {
        without_gil([&] { state_->finish_for_project_close(); });
    }
    without_gil([&] { old->finish_quietly(Phase::Closed); });
    position_ = target;
    remaining_ = end_ - start;
    return target;
}

py::object Download::info() {
    const ObjectResultOwner object = run(
        Needs::Handle, [](State &state) { return take<ObjectResultOwner>(uplink_download_info(state.handle())); });
    return object ? object_to_py(*object.get(), identity_.c_str()) : py::none();
}

void Download::close() {
    check_not_forked();
    if (!state_) {
        return;
    }
    // A read in flight on another thread is interrupted (it raises CancelledError).
    bool interrupted = false;
    const bool was_open = state_->stop_as(Phase::Closed, &interrupted);
    run(Needs::Handle, [&](State &state) {
        if (was_open && !interrupted && !state.ended_in_go) {
            state.ended_in_go = true;
            check(uplink_close_download(state.handle()));
        } else {
            state.end_in_go_quietly();  // after a cancellation: close it in Go too
        }
    });
}

void Download::exit(py::handle exc_type) {
    if (exc_type.is_none()) {
        close();
    } else {
        finish_quietly(Phase::Closed);  // must not mask the block's exception
    }
}

std::string Download::repr() const {
    if (!state_) {
        return "<Download empty>";
    }
    return "<Download bucket=" + quoted(bucket_) + " key=" + quoted(key_) + " offset=" +
           std::to_string(range_.offset) + " length=" + std::to_string(range_.length) + " " + repr_state() + ">";
}

// ---------------------------------------------------------------- bindings

namespace {

py::object enter(py::object self) { return self; }

}  // namespace

void bind_transfers(py::module_ &m) {
    py::class_<Upload>(m, "Upload", "An object being uploaded; commit() makes it visible.")
        .def(py::init<>())
        .def_property_readonly("closed", &Upload::closed)
        .def("write", &Upload::write, py::arg("data"), py::arg("size") = py::none())
        .def("write_file", &Upload::write_file, py::arg("file"), py::arg("buffer_size") = 0)
        .def("set_custom_metadata", &Upload::set_custom_metadata, py::arg("custom_metadata"))
        .def("commit", &Upload::commit)
        .def("abort", &Upload::abort)
        .def("cancel", &Upload::cancel)
        .def("close", &Upload::close)
        .def("readable", [](const Upload &) { return false; })
        .def("writable", [](const Upload &) { return true; })
        .def("seekable", [](const Upload &) { return false; })
        .def("flush", [](const Upload &) {})
        .def("info", &Upload::info)
        .def("__enter__", &enter)
        .def("__exit__", [](Upload &self, py::handle exc_type, py::handle, py::handle) { self.exit(exc_type); },
             py::arg("exc_type"), py::arg("exc"), py::arg("tb"))
        .def("__repr__", &Upload::repr);

    py::class_<Download>(m, "Download", "An object being downloaded.")
        .def(py::init<>())
        .def_property_readonly("closed", &Download::closed)
        .def("read", &Download::read, py::arg("size_to_read"))
        .def("readinto", &Download::readinto, py::arg("buffer"))
        .def("readall", &Download::readall)
        .def("read_file", &Download::read_file, py::arg("file"), py::arg("buffer_size") = 0)
        .def("file_size", &Download::file_size)
        .def("tell", &Download::tell)
        .def("seek", &Download::seek, py::arg("offset"), py::arg("whence") = 0)
        .def("readable", [](const Download &) { return true; })
        .def("writable", [](const Download &) { return false; })
        .def("seekable", [](const Download &) { return true; })
        .def("flush", [](const Download &) {})
        .def_property_readonly("identity", &Download::identity,
                               "Names the stored object this download reads (equal to Object.identity of the "
                               "same version): every read returns bytes of that one version.")
        .def("info", &Download::info)
        .def("close", &Download::close)
        .def("cancel", &Download::cancel)
        .def("__enter__", &enter)
        .def("__exit__", [](Download &self, const py::args &exc) { self.exit(exc_type_arg(exc)); })
        .def("__repr__", &Download::repr);

    py::class_<PartUpload>(m, "PartUpload", "One part of a multipart upload.")
        .def(py::init<>())
        .def_property_readonly("closed", &PartUpload::closed)
        .def("write", &PartUpload::write, py::arg("data"), py::arg("size") = py::none())
        .def("set_etag", &PartUpload::set_etag, py::arg("etag"))
        .def("commit", &PartUpload::commit)
        .def("abort", &PartUpload::abort)
        .def("cancel", &PartUpload::cancel)
        .def("info", &PartUpload::info)
        .def("__enter__", &enter)
        .def("__exit__",
             [](PartUpload &self, py::handle exc_type, py::handle, py::handle) { self.exit(exc_type); },
             py::arg("exc_type"), py::arg("exc"), py::arg("tb"))
        .def("__repr__", &PartUpload::repr);
}
