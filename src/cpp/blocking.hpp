// How calls into uplink-c run: without the GIL, after the fork check.
#pragma once

#include <functional>
#include <utility>

#include <pybind11/pybind11.h>

#include "fork_guard.hpp"

// Stops a call in flight from another thread: the uplink_py_cancel_* function of the
// handle the call runs on, bound to it. Empty for calls nothing can cancel.
using Canceller = std::function<void()>;

template <class Handle>
Canceller canceller(void (*cancel)(Handle *), Handle *handle) {
    return [cancel, handle] { cancel(handle); };
}

// The one wrapper every uplink-c call that can block goes through: refuses in a
// forked child, then runs f without the GIL so other Python threads run meanwhile.
// f must not touch Python objects; it may throw C++ exceptions (the GIL is taken
// back before they reach Python). Ctrl-C support goes here: run f, poll
// PyErr_CheckSignals meanwhile and call `cancel` when a signal arrives.
template <class F>
auto call_blocking([[maybe_unused]] const Canceller &cancel, F &&f) -> decltype(std::forward<F>(f)()) {
    check_not_forked();
    const pybind11::gil_scoped_release released;
    return std::forward<F>(f)();
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
