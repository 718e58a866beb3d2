#include "project_state.hpp"

#include <algorithm>

#include "blocking.hpp"

ProjectState::~ProjectState() {
    if (closed_ || in_forked_child()) {
        return;
    }
    without_gil([this] {
        try {
            close();
        } catch (const UplinkFailure &) {
            // Nobody is left to tell: the project object is gone.
        }
    });
}

bool ProjectState::add_transfer(const std::shared_ptr<Transfer> &transfer) {
    const std::lock_guard<std::mutex> lock(transfers_mutex_);
    if (closed_) {
        return false;
    }
    transfers_.erase(std::remove_if(transfers_.begin(), transfers_.end(),
                                    [](const std::weak_ptr<Transfer> &t) { return t.expired(); }),
                     transfers_.end());
    transfers_.push_back(transfer);
    return true;
}

void ProjectState::close() {
    std::vector<std::shared_ptr<Transfer>> open;
    {
        const std::lock_guard<std::mutex> lock(transfers_mutex_);
        if (closed_) {
            return;
        }
        closed_ = true;
        for (const auto &weak : transfers_) {
            if (auto transfer = weak.lock()) {
                open.push_back(std::move(transfer));
            }
        }
        transfers_.clear();
    }
    // Interrupt first: finishing takes each transfer's lock, which a call in flight holds.
    for (const auto &transfer : open) {
        transfer->interrupt();
    }
    for (const auto &transfer : open) {
        transfer->finish_for_project_close();
    }
    check(uplink_close_project(handle_.get()));
}
