// How calls into uplink-c run: without the GIL, after the fork check, in a call context
// (call_context.hpp: the scope that cancels them, their timeout).
#pragma once

#include <atomic>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <pybind11/pybind11.h>

#include "call_context.hpp"
#include "fork_guard.hpp"
#include "interrupts.hpp"
#include "uplink_api.hpp"

struct CallOptions {
    int64_t timeout_ms = 0;  // the call's timeout unless call_timeout() overrides it; <= 0: none
    Canceller on_interrupt;  // what Ctrl-C cancels besides the call's scope (a transfer's state)
    // Added to a KeyboardInterrupt that lands after the call completed, when the result
    // says something happened (a commit): the user must know it did.
    const char *completed = nullptr;
};

// What a completed call's result needs when a KeyboardInterrupt discards it; the owners
// free what Go returned, this undoes what they cannot (a begun multipart upload).
struct KeepNothing {
    template <class T>
    void operator()(T &) const noexcept {}
};

inline void add_note(pybind11::error_already_set &error, const char *note) {
    const pybind11::object value = error.value();
    if (note != nullptr && pybind11::hasattr(value, "add_note")) {  // Python >= 3.11
        value.attr("add_note")(note);
    }
}

// The one wrapper every uplink-c call that can block goes through: refuses in a
// forked child, then runs f without the GIL so other Python threads run meanwhile.
// f must not touch Python objects; it may throw C++ exceptions (the GIL is taken
// back before they reach Python).
// On the main thread, Ctrl-C cancels f's scope (its own unless a CallScope is entered)
// and raises KeyboardInterrupt once f returned, instead of f's result or error: a
// result is dropped (`dropped` runs on it, without the GIL, then its owner frees it).
// Other threads are not affected by signals.
template <class F, class Dropped = KeepNothing>
auto call_blocking(const CallOptions &options, F &&f, Dropped &&dropped = {}) -> decltype(std::forward<F>(f)()) {
    using Result = decltype(std::forward<F>(f)());
    check_not_forked();
    const int64_t timeout = effective_timeout(options.timeout_ms);
    if (!on_main_thread()) {
        const size_t scope = thread_scope();
        const pybind11::gil_scoped_release released;
        apply_call_context(scope, timeout);
        return std::forward<F>(f)();
    }
    const size_t entered = thread_scope();
    const size_t scope = entered != 0 ? entered : new_scope_id();
    std::atomic<bool> interrupted{false};
    const Canceller cancel = [&] {
        interrupted = true;
        uplink_py_cancel_scope(scope);
        if (options.on_interrupt) {
            options.on_interrupt();
        }
    };
    InterruptWatch watch(cancel);
    std::exception_ptr failure;
    std::optional<std::conditional_t<std::is_void_v<Result>, bool, Result>> result;
    {
        const pybind11::gil_scoped_release released;
        apply_call_context(scope, timeout);
        try {
            if constexpr (std::is_void_v<Result>) {
                std::forward<F>(f)();
                result.emplace(true);
            } else {
                result.emplace(std::forward<F>(f)());
            }
        } catch (...) {
            failure = std::current_exception();
        }
        watch.end();
        if (interrupted && entered == 0) {
            uplink_py_end_scope(scope);  // Go keeps a cancelled scope until told
        }
    }
    if (failure) {
        raise_pending_signals();  // a KeyboardInterrupt wins over f's error
        std::rethrow_exception(failure);
    }
    try {
        raise_pending_signals();
    } catch (pybind11::error_already_set &error) {
        if constexpr (!std::is_void_v<Result>) {
            const pybind11::gil_scoped_release released;
            apply_call_context(0, timeout);  // not in the cancelled scope: undoing must work
            dropped(*result);
        }
        add_note(error, options.completed);
        throw;
    }
    if constexpr (!std::is_void_v<Result>) {
        return std::move(*result);
    }
}

// Runs f without the GIL when this thread holds it: cleanup in destructors, which run
// with the GIL (Python objects collected) or without it (last reference dropped by a
// call in flight). f must not touch Python objects.
template <class F>
void without_gil(F &&f) {
    if (PyGILState_Check()) {
        const pybind11::gil_scoped_release released;
        std::forward<F>(f)();
    } else {
        std::forward<F>(f)();
    }
}
