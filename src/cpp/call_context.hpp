// The context of each blocking call: the cancellation scope that reaches it and its
// timeout (third_party/uplink-c/call_context.go), set on the calling thread just before
// the call. A scope is an id of ours; Go cancels exactly the calls made in it.
//  - A CallScope (Python: uplink_py._core.CallScope, used by the engine for one
//    operation: an asyncio task, a parallel transfer) is entered on each thread that
//    works for the operation; cancel() stops the calls in flight in it and every later one.
//  - A call on the main thread outside a CallScope runs in a scope of its own, so that
//    Ctrl-C cancels that call and nothing else.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <pybind11/pybind11.h>

namespace py = pybind11;

// How a project's calls run, from its Config. Timeouts in milliseconds, <= 0: none.
struct CallPolicy {
    int64_t call_ms = 0;      // satellite calls: stat, a listing page, delete, commit, open...
    int64_t transfer_ms = 0;  // each read or write on a transfer (at most TRANSFER_CHUNK bytes), its commit
    int32_t download_retries = 0;  // per read, of a stream that failed (download.go)
};

// uplink-py's defaults: generous enough for a slow WAN; a stalled call ends anyway.
constexpr int64_t DEFAULT_CALL_TIMEOUT_MS = 120'000;
constexpr int64_t DEFAULT_TRANSFER_TIMEOUT_MS = 600'000;
constexpr int32_t DEFAULT_DOWNLOAD_RETRIES = 5;
// Reads and writes go to Go in pieces of at most this, each its own call: the transfer
// timeout bounds how long one piece may take, not a whole large buffer.
constexpr size_t TRANSFER_CHUNK = size_t{8} << 20;

// From Config's fields: 0 is the default, negative is none.
CallPolicy call_policy(int64_t call_ms, int64_t transfer_ms, int64_t download_retries) noexcept;
inline CallPolicy default_policy() noexcept { return call_policy(0, 0, 0); }

// What the calling thread's calls get: the entered CallScope (0: none) and the timeout,
// unless call_timeout() overrides it on this thread.
size_t thread_scope() noexcept;
int64_t effective_timeout(int64_t timeout_ms) noexcept;

// A new scope id, never 0 and never reused.
size_t new_scope_id() noexcept;

// Sets the Go-side call context of this thread (skipped when unchanged).
void apply_call_context(size_t scope, int64_t timeout_ms) noexcept;

class CallScope {
public:
    CallScope() noexcept : id_(new_scope_id()) {}
    ~CallScope();
    CallScope(const CallScope &) = delete;
    CallScope &operator=(const CallScope &) = delete;

    void cancel() noexcept;
    bool cancelled() const noexcept { return cancelled_; }
    size_t id() const noexcept { return id_; }
    // Makes this the calling thread's scope until exit() (nestable, per thread).
    void enter();
    void exit();

private:
    size_t id_;
    std::atomic<bool> cancelled_{false};
};

void bind_call_context(py::module_ &m);
