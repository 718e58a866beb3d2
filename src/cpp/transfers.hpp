// Upload, Download and PartUpload: the transfers a project opens.
//
// Each owns its uplink-c handle in a TransferState shared with the project (which
// finishes open transfers when it closes) and keeping the project alive. Calls on one
// transfer are serialized by its mutex, taken after the GIL is released; cancel() does
// not take it, so it can stop a call in flight from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <pybind11/pybind11.h>

#include "blocking.hpp"
#include "errors.hpp"
#include "owners.hpp"
#include "project_state.hpp"

namespace py = pybind11;

enum class Phase { Open, Committed, Aborted, Cancelled, Closed, ProjectClosed };

const char *phase_word(Phase phase) noexcept;

// State of one transfer; Traits gives its uplink-c functions and wording.
template <class Traits>
class TransferState final : public Transfer {
public:
    using Handle = typename Traits::Handle;

    TransferState(std::shared_ptr<ProjectState> project, typename Traits::Owner handle) noexcept
        : project_(std::move(project)), handle_(std::move(handle)) {}

    Handle *handle() const noexcept { return handle_.get(); }
    const std::shared_ptr<ProjectState> &project() const noexcept { return project_; }

    void interrupt() noexcept override {
        project_closing = true;
        Traits::cancel(handle());
    }
    void finish_for_project_close() noexcept override { finish_quietly(Phase::ProjectClosed); }

    // Marks an open transfer `as`, and abandons it in Go (Traits::abandon) unless it
    // ended there already: a cancelled transfer is only interrupted, and must still be
    // aborted or closed or its pending upload and resources stay. A call in flight is
    // interrupted, not waited for. Ignores errors. Without the GIL.
    void finish_quietly(Phase as) noexcept {
        stop_as(as);
        const std::lock_guard<std::mutex> lock(mutex);
        end_in_go_quietly();
    }

    // Moves an open transfer to `as` (false if it was not open) and interrupts a call
    // in flight on it, which would otherwise hold the mutex until it ends by itself.
    // Sets `interrupted` when it did. Any thread, no lock.
    bool stop_as(Phase as, bool *interrupted = nullptr) noexcept {
        Phase open = Phase::Open;
        if (!phase.compare_exchange_strong(open, as)) {
            return false;
        }
        if (busy) {
            Traits::cancel(handle());
            if (interrupted != nullptr) {
                *interrupted = true;
            }
        }
        return true;
    }

    // Traits::abandon once, ignoring errors (mutex held).
    void end_in_go_quietly() noexcept {
        if (!ended_in_go) {
            ended_in_go = true;
            ignore_error(Traits::abandon(handle()));
        }
    }

    // Throws InvalidHandleError unless the transfer is open.
    void check_open() const {
        const Phase now = phase;
        if (now == Phase::Open) {
            return;
        }
        const std::string name = Traits::name;
        switch (now) {
        case Phase::Committed: throw_invalid_handle(name + " was committed");
        case Phase::Aborted: throw_invalid_handle(name + " was aborted");
        case Phase::Cancelled: throw_invalid_handle(name + " was cancelled");
        case Phase::ProjectClosed: throw_invalid_handle(name + " was stopped: its project was closed");
        default: throw_invalid_handle(name + " is closed");
        }
    }

    // The phase a cancelled call leaves behind: cancelled, or stopped by the project closing.
    Phase cancelled_phase() const noexcept { return project_closing ? Phase::ProjectClosed : Phase::Cancelled; }

    std::mutex mutex;  // serializes calls on the handle
    std::atomic<Phase> phase{Phase::Open};
    bool ended_in_go = false;  // committed, aborted or closed in Go (mutex held)
    std::atomic<bool> busy{false};  // a call is in flight (set and cleared holding the mutex)
    std::atomic<bool> project_closing{false};

private:
    std::shared_ptr<ProjectState> project_;  // declared first: released after the handle
    typename Traits::Owner handle_;
};

// What a method needs of the transfer before it runs.
enum class Needs { Open, Handle };

// The part Upload, Download and PartUpload share: state, phase checks, cancel, cleanup.
template <class Traits>
class TransferCore {
public:
    using State = TransferState<Traits>;

    TransferCore() = default;  // empty until a factory adopts a handle
    TransferCore(const TransferCore &) = delete;
    TransferCore &operator=(const TransferCore &) = delete;

    // Collected while open: warn, then abort/close without leaking; collected after a
    // cancellation: abort/close in Go if nothing did. Never raises.
    ~TransferCore() {
        if (!state_ || in_forked_child()) {
            return;
        }
        if (state_->phase == Phase::Open) {
            warn_unclosed(Traits::unclosed_warning);
        }
        finish_quietly(Traits::finished);
    }

    bool closed() const noexcept { return !state_ || state_->phase != Phase::Open; }

    // From any thread: makes the call in flight return CancelledError and finishes the
    // transfer (uplink-c aborts a cancelled upload).
    void cancel() {
        check_not_forked();
        if (!state_) {
            return;
        }
        Phase open = Phase::Open;
        if (state_->phase.compare_exchange_strong(open, Phase::Cancelled)) {
            Traits::cancel(state_->handle());
        }
    }

protected:
    void adopt(const std::shared_ptr<ProjectState> &project, typename Traits::Owner handle) {
        state_ = std::make_shared<State>(project, std::move(handle));
        if (!project->add_transfer(state_)) {  // the project was closed meanwhile
            without_gil([this] { state_->finish_for_project_close(); });
        }
    }

    std::shared_ptr<State> require() const {
        check_not_forked();
        if (!state_) {
            throw_invalid_handle(Traits::empty_message);
        }
        return state_;
    }

    // Runs f(state) through call_blocking, holding the transfer's mutex. A cancelled
    // call leaves the transfer cancelled (uplink-c finished it).
    // A commit passes `settles`, the note for a KeyboardInterrupt after it completed:
    // Ctrl-C then cancels only the call's scope, and Go lets the commit request in
    // flight be answered (settle.go), so that a commit that happened is reported.
    template <class F>
    auto run(Needs needs, F &&f, const char *settles = nullptr) const {
        const std::shared_ptr<State> state = require();
        // Ctrl-C: uplink-c finishes (aborts) the transfer even if f returns first, so
        // mark it finished here too.
        const Canceller interrupt = [s = state.get()] {
            Phase open = Phase::Open;
            s->phase.compare_exchange_strong(open, s->cancelled_phase());
            Traits::cancel(s->handle());
        };
        const CallOptions options{state->project()->policy().transfer_ms, settles ? Canceller() : interrupt, settles};
        return call_blocking(options, [&] {
            const std::lock_guard<std::mutex> lock(state->mutex);
            // busy before the phase check: a stop_as() racing with it either sees busy
            // (and interrupts the call) or is seen by check_open().
            state->busy = true;
            const struct Idle {
                State &state;
                ~Idle() { state.busy = false; }
            } idle{*state};
            if (needs == Needs::Open) {
                state->check_open();
            }
            try {
                return f(*state);
            } catch (const UplinkFailure &failure) {
                // A timeout cancels the transfer in Go as a cancellation does.
                if (failure.code() == UPLINK_ERROR_CANCELED || failure.code() == UPLINK_PY_ERROR_TIMEOUT) {
                    Phase open = Phase::Open;
                    state->phase.compare_exchange_strong(open, state->cancelled_phase());
                }
                throw;
            }
        });
    }

    // Aborts/closes if open, ignoring errors (cleanup while another error propagates).
    void finish_quietly(Phase as) noexcept {
        if (state_ && !in_forked_child()) {
            without_gil([&] { state_->finish_quietly(as); });
        }
    }

    std::string repr_state() const { return state_ ? phase_word(state_->phase) : "empty"; }

    std::shared_ptr<State> state_;
};

struct UploadTraits {
    using Handle = UplinkUpload;
    using Owner = UploadOwner;
    static constexpr const char *name = "upload";
    static constexpr const char *empty_message = "upload is not open: create it with Project.upload_object()";
    static constexpr const char *unclosed_warning = "Upload neither committed nor aborted; aborting it";
    static constexpr Phase finished = Phase::Aborted;
    static void cancel(UplinkUpload *h) { uplink_py_cancel_upload(h); }
    // Ends the transfer without committing anything: aborts an upload, closes a download.
    static UplinkError *abandon(UplinkUpload *h) { return uplink_upload_abort(h); }
    static UplinkError *commit(UplinkUpload *h) { return uplink_upload_commit(h); }
    static UplinkWriteResult write(UplinkUpload *h, char *data, size_t n) { return uplink_upload_write(h, data, n); }
};

struct PartUploadTraits {
    using Handle = UplinkPartUpload;
    using Owner = PartUploadOwner;
    static constexpr const char *name = "part upload";
    static constexpr const char *empty_message = "part upload is not open: create it with Project.upload_part()";
    static constexpr const char *unclosed_warning = "PartUpload neither committed nor aborted; aborting it";
    static constexpr Phase finished = Phase::Aborted;
    static void cancel(UplinkPartUpload *h) { uplink_py_cancel_part_upload(h); }
    static UplinkError *abandon(UplinkPartUpload *h) { return uplink_part_upload_abort(h); }
    static UplinkError *commit(UplinkPartUpload *h) { return uplink_part_upload_commit(h); }
    static UplinkWriteResult write(UplinkPartUpload *h, char *data, size_t n) {
        return uplink_part_upload_write(h, data, n);
    }
};

struct DownloadTraits {
    using Handle = UplinkDownload;
    using Owner = DownloadOwner;
    static constexpr const char *name = "download";
    static constexpr const char *empty_message = "download is not open: create it with Project.download_object()";
    static constexpr const char *unclosed_warning = "unclosed Download; closing it";
    static constexpr Phase finished = Phase::Closed;
    static void cancel(UplinkDownload *h) { uplink_py_cancel_download(h); }
    static UplinkError *abandon(UplinkDownload *h) { return uplink_close_download(h); }
};

// What Upload and PartUpload share: write, commit, abort, the context manager.
template <class Traits>
class UploadCore : public TransferCore<Traits> {
public:
    using State = typename TransferCore<Traits>::State;

    // Writes `size` bytes (None: all) of any C-contiguous buffer, straight from its memory.
    size_t write(py::handle data, py::handle size);

    void commit() {
        static constexpr const char *committed = "uplink-py: the commit had completed before the interrupt: it is stored";
        this->run(Needs::Open, [](State &state) {
            UplinkError *err = Traits::commit(state.handle());
            // Cancelled or timed out: maybe before uplink's commit ran; abort it later.
            const bool stopped =
                err != nullptr && (err->code == UPLINK_ERROR_CANCELED || err->code == UPLINK_PY_ERROR_TIMEOUT);
            if (!stopped) {
                state.ended_in_go = true;  // uplink ends an upload on its first commit, failed or not
            }
            if (err != nullptr && !stopped) {
                // uplink finishes an upload on its first commit, failed or not: nothing was
                // committed, and abort() must now be the no-op it is after an abort.
                state.phase = Phase::Aborted;
            }
            check(err);
            state.phase = Phase::Committed;
        }, committed);
    }

    // No-op once committed or aborted; after a cancellation it aborts in Go quietly. A
    // write in flight on another thread is interrupted (it raises CancelledError).
    void abort() {
        const std::shared_ptr<State> state = this->require();
        bool interrupted = false;
        const bool was_open = state->stop_as(Phase::Aborted, &interrupted);
        this->run(Needs::Handle, [&](State &s) {
            if (was_open && !interrupted && !s.ended_in_go) {
                s.ended_in_go = true;
                check(Traits::abandon(s.handle()));
            } else {
                s.end_in_go_quietly();  // an interrupted call's errors are not this abort's
            }
        });
    }

    // Commits when the block succeeded, aborts when it raised; never suppresses. A block
    // that ends normally after another thread cancelled the upload raises: nothing was
    // stored, and leaving quietly would say otherwise.
    void exit(py::handle exc_type) {
        if (this->closed()) {
            const Phase now = this->state_ ? this->state_->phase.load() : Phase::Closed;
            this->finish_quietly(now);  // a cancelled upload: abort it in Go now
            if (exc_type.is_none() && (now == Phase::Cancelled || now == Phase::ProjectClosed)) {
                throw UplinkFailure(UPLINK_ERROR_CANCELED, std::string(Traits::name) + " was " +
                                                               phase_word(now) + " before it could commit: nothing was stored");
            }
            return;
        }
        if (!exc_type.is_none()) {
            this->finish_quietly(Phase::Aborted);  // must not mask the block's exception
            return;
        }
        try {
            commit();
        } catch (...) {
            this->finish_quietly(Phase::Aborted);
            throw;
        }
    }

protected:
    // Writes all n bytes at data (without the GIL, holding the mutex).
    static size_t write_all(State &state, const char *data, size_t n) {
        size_t total = 0;
        while (total < n) {
            // In pieces: each is one Go call, which the transfer timeout bounds.
            const size_t piece = std::min(n - total, TRANSFER_CHUNK);
            const size_t written =
                take_written(Traits::write(state.handle(), const_cast<char *>(data) + total, piece));
            if (written == 0) {
                throw UplinkFailure(UPLINK_ERROR_INTERNAL, std::string(Traits::name) + " write made no progress");
            }
            total += written;
        }
        return total;
    }
};

class Upload : public UploadCore<UploadTraits> {
public:
    // io.RawIOBase's close: commits, or aborts when an exception is being handled (a with
    // block of io.BufferedWriter left by an error). Idempotent.
    void close();
    void adopt(const std::shared_ptr<ProjectState> &project, UploadOwner handle, std::string bucket, std::string key);
    // Copies file (readinto, else read) through one reusable buffer; does not commit.
    size_t write_file(py::handle file, py::handle buffer_size);
    void set_custom_metadata(py::handle metadata);
    py::object info();
    std::string repr() const;

private:
    std::string bucket_, key_;
};

class PartUpload : public UploadCore<PartUploadTraits> {
public:
    void adopt(const std::shared_ptr<ProjectState> &project, PartUploadOwner handle, std::string bucket,
               std::string key, std::string upload_id, uint32_t part_number);
    void set_etag(py::handle etag);
    py::object info();
    std::string repr() const;

private:
    std::string bucket_, key_, upload_id_;
    uint32_t part_number_ = 0;
};

// A download just opened, with what its object info said then.
struct DownloadOpened {
    DownloadOwner handle;
    int64_t content_length = 0;
    std::string identity;  // of the object version every read of this download returns
};

class Download : public TransferCore<DownloadTraits> {
public:
    void adopt(const std::shared_ptr<ProjectState> &project, DownloadOpened opened, std::string bucket,
               std::string key, UplinkDownloadOptions range);
    std::pair<py::bytes, size_t> read(py::handle size_to_read);
    size_t readinto(py::handle buffer);
    py::bytes readall();
    // Copies the rest of the download into file.write through one reusable buffer.
    size_t read_file(py::handle file, py::handle buffer_size);
    int64_t file_size() const;
    const std::string &identity() const;
    // io.RawIOBase's position: the object offset of the next byte read.
    int64_t tell() const;
    // Moves the position by re-opening the rest of the range at it, on the same object
    // version (ObjectChangedError when that version is gone). whence as for files.
    int64_t seek(py::handle offset, py::handle whence);
    py::object info();
    void close();  // idempotent
    void exit(py::handle exc_type);
    std::string repr() const;

private:
    // Reads until n bytes are at data or the object ends (without the GIL, holding the mutex).
    ReadOutcome fill(State &state, char *data, size_t n);

    std::string bucket_, key_;
    UplinkDownloadOptions range_{0, -1};
    int64_t content_length_ = 0;
    std::string identity_;
    int64_t end_ = 0;                  // the object offset where the range ends
    std::atomic<int64_t> position_{0};  // the object offset of the next byte
    std::atomic<int64_t> remaining_{0};  // bytes of the range not read yet: caps allocations
};

void bind_transfers(py::module_ &m);
