// How calls into uplink-c run: without the GIL, after the fork check.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <pybind11/pybind11.h>

#include "fork_guard.hpp"
#include "interrupts.hpp"

// Canceller (interrupts.hpp) stops a call in flight from another thread: the
// uplink_py_cancel_* function of the handle the call runs on, bound to it. Empty for
// calls nothing can cancel.

template <class Handle>
Canceller canceller(void (*cancel)(Handle *), Handle *handle) {
    return [cancel, handle] { cancel(handle); };
}

// The one wrapper every uplink-c call that can block goes through: refuses in a
// forked child, then runs f without the GIL so other Python threads run meanwhile.
// f must not touch Python objects; it may throw C++ exceptions (the GIL is taken
// back before they reach Python).
// On the main thread, Ctrl-C cancels f through `cancel` (interrupts.hpp) and raises
// KeyboardInterrupt once f returned, instead of f's result or error: a result is
// dropped, so its owner frees it. Other threads are not affected by signals.
template <class F>
auto call_blocking(const Canceller &cancel, F &&f) -> decltype(std::forward<F>(f)()) {
    using Result = decltype(std::forward<F>(f)());
    check_not_forked();
    if (!on_main_thread()) {
        const pybind11::gil_scoped_release released;
        return std::forward<F>(f)();
    }
    InterruptWatch watch(cancel);
    std::exception_ptr failure;
    if constexpr (std::is_void_v<Result>) {
        {
            const pybind11::gil_scoped_release released;
            try {
                std::forward<F>(f)();
            } catch (...) {
                failure = std::current_exception();
            }
            watch.end();
        }
        raise_pending_signals();  // a KeyboardInterrupt wins over f's error
        if (failure) {
            std::rethrow_exception(failure);
        }
    } else {
        std::optional<Result> result;
        {
            const pybind11::gil_scoped_release released;
            try {
                result.emplace(std::forward<F>(f)());
            } catch (...) {
                failure = std::current_exception();
            }
            watch.end();
        }
        raise_pending_signals();
        if (failure) {
            std::rethrow_exception(failure);
        }
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
