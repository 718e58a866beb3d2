// What a project shares with the transfers and iterators opened on it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "call_context.hpp"
#include "owners.hpp"

// The part of an Upload, Download or PartUpload its project reaches when it closes.
class Transfer {
public:
    virtual ~Transfer() = default;
    // Makes a call in flight on the transfer return (any thread, no lock).
    virtual void interrupt() noexcept = 0;
    // Aborts or closes the transfer if still open, ignoring errors (without the GIL).
    virtual void finish_for_project_close() noexcept = 0;
};

// An open project. Transfers and iterators hold it by shared_ptr, so the handle lives
// as long as they do; the project keeps only weak references to its transfers.
class ProjectState {
public:
    ProjectState(ProjectOwner handle, CallPolicy timeouts) noexcept
        : handle_(std::move(handle)), policy_(timeouts) {}
    // Closes the project if nobody did (an unclosed Project collected with its transfers).
    ~ProjectState();
    ProjectState(const ProjectState &) = delete;
    ProjectState &operator=(const ProjectState &) = delete;

    UplinkProject *handle() const noexcept { return handle_.get(); }
    // From the Config the project was opened with.
    const CallPolicy &policy() const noexcept { return policy_; }
    bool closed() const noexcept { return closed_; }

    // Registers an open transfer; false if the project was closed meanwhile (the caller
    // then finishes it).
    bool add_transfer(const std::shared_ptr<Transfer> &transfer);

    // Interrupts and finishes the open transfers, then closes the project; closing again
    // is a no-op. Runs without the GIL; throws UplinkFailure if closing fails.
    void close();

private:
    ProjectOwner handle_;
    CallPolicy policy_;
    std::atomic<bool> closed_{false};
    std::mutex transfers_mutex_;  // guards transfers_, and closed_ against add_transfer
    std::vector<std::weak_ptr<Transfer>> transfers_;
};
