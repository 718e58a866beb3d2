// Ctrl-C during a blocking call. Python runs signal handlers only on the main thread,
// between bytecodes; a main thread blocked inside Go (GIL released) would not see
// SIGINT until the call ends on its own. So while the main thread runs a call, its
// Canceller is registered here, and SIGINT also wakes a watcher thread that runs it:
//
//   SIGINT (any thread, Go's too) -> on_sigint: the handler it replaced (Python's, which
//   notes the signal), then one byte into a pipe -> watcher thread: the registered
//   Canceller -> the call returns UPLINK_ERROR_CANCELED -> call_blocking takes the GIL,
//   PyErr_CheckSignals runs the Python handler -> KeyboardInterrupt.
//
// on_sigint is installed lazily by the first call on the main thread, over the handler
// found there, and installed again when something replaced it (signal.signal() does);
// it is not installed while SIGINT is ignored or has its default action (then Python
// does not handle it either). Calls on other threads are never cancelled. After fork()
// the child runs no calls (fork_guard), and on_sigint there only runs the handler it
// replaced: it writes to the pipe only in the process that made it.
#pragma once

#include <functional>

using Canceller = std::function<void()>;

// True on Python's main thread (the one that runs signal handlers). GIL held.
bool on_main_thread();
// Which thread that is (threading.main_thread().ident), registered by uplink_py._native.
void set_main_thread(unsigned long ident);  // 0: unknown

// Registers a main-thread call's Canceller for SIGINT, from construction to end() or
// destruction. Construct it on the main thread with the GIL held: it installs on_sigint
// as needed, then raises KeyboardInterrupt (py::error_already_set) when a signal is
// already pending, since a signal that came just before the registration cancels nothing.
// end() and the destructor take no GIL.
class InterruptWatch {
public:
    explicit InterruptWatch(const Canceller &cancel);
    ~InterruptWatch() { end(); }
    InterruptWatch(const InterruptWatch &) = delete;
    InterruptWatch &operator=(const InterruptWatch &) = delete;

    void end() noexcept;

private:
    const Canceller *cancel_ = nullptr;  // registered, until end()
    const Canceller *outer_ = nullptr;   // what was registered before (nested calls)
    unsigned long outer_at_ = 0;
};

// Makes signal `signum` (SIGTERM, SIGHUP: a command line's) interrupt as SIGINT does, so
// that a transfer it stops cleans up as after Ctrl-C; where SIGINT is not handled, the
// signal keeps its default action. An ignored signal stays ignored (nohup's SIGHUP).
// False where nothing was installed (ignored, Windows, a bad number).
bool interrupt_on(int signum);

// Runs pending Python signal handlers (main thread, GIL held); throws
// py::error_already_set when one raised, e.g. KeyboardInterrupt.
void raise_pending_signals();
