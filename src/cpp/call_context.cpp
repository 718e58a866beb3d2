#include "call_context.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include <pybind11/stl.h>

#include "fork_guard.hpp"
#include "owners.hpp"
#include "uplink_api.hpp"

namespace {

std::atomic<size_t> last_scope_id{0};

thread_local std::vector<size_t> entered;  // CallScopes entered on this thread, innermost last
// call_timeout() on this thread: NOT_SET, else the timeout for every call (<= 0: none).
constexpr int64_t NOT_SET = std::numeric_limits<int64_t>::min();
thread_local int64_t timeout_override = NOT_SET;

// What this thread last told Go, to skip repeating it (a cgo call each).
thread_local size_t applied_scope = 0;
thread_local int64_t applied_timeout = 0;

int64_t or_default(int64_t ms, int64_t fallback) noexcept { return ms == 0 ? fallback : (ms < 0 ? 0 : ms); }

}  // namespace

CallPolicy call_policy(int64_t call_ms, int64_t transfer_ms, int64_t download_retries) noexcept {
    return {or_default(call_ms, DEFAULT_CALL_TIMEOUT_MS), or_default(transfer_ms, DEFAULT_TRANSFER_TIMEOUT_MS),
            static_cast<int32_t>(std::min<int64_t>(or_default(download_retries, DEFAULT_DOWNLOAD_RETRIES), 100))};
}

size_t thread_scope() noexcept { return entered.empty() ? 0 : entered.back(); }

int64_t effective_timeout(int64_t timeout_ms) noexcept {
    return timeout_override == NOT_SET ? timeout_ms : timeout_override;
}

size_t new_scope_id() noexcept { return ++last_scope_id; }

void apply_call_context(size_t scope, int64_t timeout_ms) noexcept {
    if (timeout_ms < 0) {
        timeout_ms = 0;
    }
    if (scope != applied_scope || timeout_ms != applied_timeout) {
        uplink_py_set_call_context(scope, timeout_ms);
        applied_scope = scope;
        applied_timeout = timeout_ms;
    }
}

CallScope::~CallScope() {
    if (!in_forked_child()) {
        uplink_py_end_scope(id_);  // Go keeps a cancelled scope until told (Ctrl-C may cancel it too)
    }
}

void CallScope::cancel() noexcept {
    if (!in_forked_child()) {
        cancelled_ = true;
        uplink_py_cancel_scope(id_);
    }
}

void CallScope::enter() { entered.push_back(id_); }

void CallScope::exit() {
    // Out of order only if a caller misuses enter/exit: remove the innermost entry of ours.
    for (auto it = entered.rbegin(); it != entered.rend(); ++it) {
        if (*it == id_) {
            entered.erase(std::next(it).base());
            return;
        }
    }
}

void bind_call_context(py::module_ &m) {
    py::class_<CallScope>(m, "CallScope",
                          "The calls of one operation: cancel() stops those in flight in it, on any "
                          "thread that entered it, and makes every later one fail.")
        .def(py::init<>())
        .def("cancel", &CallScope::cancel, py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("cancelled", &CallScope::cancelled)
        .def("__enter__", [](CallScope &self) { self.enter(); return &self; },
             py::return_value_policy::reference_internal)
        .def("__exit__", [](CallScope &self, const py::args &) { self.exit(); });
    m.def(
        "_swap_call_timeout",
        [](std::optional<int64_t> milliseconds) -> std::optional<int64_t> {
            // This thread's override: None unset, 0 no timeout, else milliseconds; the previous one back.
            if (milliseconds && *milliseconds < 0) {
                throw py::value_error("timeout milliseconds must be >= 0");
            }
            const int64_t previous = timeout_override;
            timeout_override = milliseconds ? *milliseconds : NOT_SET;
            return previous == NOT_SET ? std::nullopt : std::optional<int64_t>(previous);
        },
        py::arg("milliseconds"));
    m.def("_call_timeout", []() -> std::optional<int64_t> {
        return timeout_override == NOT_SET ? std::nullopt : std::optional<int64_t>(timeout_override);
    });
    // Without the GIL: a report on a hang must not wait for the thread that hangs.
    m.def(
        "_debug_stacks",
        [] {
            const StringResultOwner stacks = take<StringResultOwner>(uplink_py_debug_stacks());
            return std::string(stacks ? stacks.get() : "");
        },
        py::call_guard<py::gil_scoped_release>());
    m.def("_debug_counts", [] {
        int64_t goroutines = 0, handles = 0, scopes = 0, retried = 0, dropped = 0;
        uplink_py_debug_counts(&goroutines, &handles, &scopes, &retried, &dropped);
        py::dict counts;
        counts["goroutines"] = goroutines;
        counts["handles"] = handles;
        counts["scopes"] = scopes;
        counts["retried_reads"] = retried;
        counts["dropped_connections"] = dropped;
        return counts;
    });
}
