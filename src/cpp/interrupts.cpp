#include "interrupts.hpp"

#include <atomic>
#include <mutex>

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace {
// Python's main thread, told by uplink_py._native as it loads the module (0: not yet, and
// then no call counts as the main thread's). It does not change: a forked child makes no calls.
std::atomic<unsigned long> main_ident{0};
}  // namespace

void set_main_thread(unsigned long ident) { main_ident = ident; }

bool on_main_thread() { return main_ident != 0 && PyThread_get_thread_ident() == main_ident; }

void raise_pending_signals() {
    if (PyErr_CheckSignals() != 0) {
        throw py::error_already_set();
    }
}

namespace {
std::mutex registry_mutex;               // guards `registered` and the watcher's call of it
const Canceller *registered = nullptr;   // the main thread's call in flight, if any
unsigned long registered_at = 0;         // sigint_count when it was registered
// SIGINTs so far, counted by on_sigint. The watcher may read a byte late, after the
// call the signal interrupted ended and the next began: it cancels only a call
// registered before the latest signal. (A lock-free atomic: async-signal-safe.)
std::atomic<unsigned long> sigint_count{0};
}  // namespace

#ifdef _WIN32

// Windows: no sigaction; Ctrl-C is noticed when the call returns.
static bool install_handler() { return false; }

bool interrupt_on(int) { return false; }

#else

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace {

int pipe_fds[2] = {-1, -1};  // on_sigint writes a byte per signal, the watcher reads
pid_t pipe_pid = 0;          // the process that made the pipe and runs the watcher
// The handler on_sigint replaced (Python's). A new one per (re)install, never freed: a
// signal on another thread may be reading the old one meanwhile.
std::atomic<const struct sigaction *> previous{nullptr};
std::atomic<bool> in_handler{false};

// The SIGINT handler. Only async-signal-safe work: the replaced handler, then write().
void on_sigint(int sig, siginfo_t *info, void *context) {
    const int saved_errno = errno;
    // Guard against a cycle: another library that installed its handler over ours and
    // chains to it, and over which we were installed again.
    if (!in_handler.exchange(true)) {
        const struct sigaction *prev = previous.load();
        if (prev != nullptr) {
            if (prev->sa_flags & SA_SIGINFO) {
                prev->sa_sigaction(sig, info, context);
            } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
                prev->sa_handler(sig);
            }
        }
        if (getpid() == pipe_pid) {  // not in a forked child: its parent reads the pipe
            sigint_count.fetch_add(1);
            const char byte = 0;
            [[maybe_unused]] const ssize_t n = write(pipe_fds[1], &byte, 1);  // full pipe: a wake-up is pending
        }
        in_handler.store(false);
    }
    errno = saved_errno;
}

// The watcher thread: per byte read, cancels the main thread's call in flight.
void watch() {
    char bytes[64];
    for (;;) {
        const ssize_t n = read(pipe_fds[0], bytes, sizeof bytes);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        const std::lock_guard<std::mutex> lock(registry_mutex);
        if (registered != nullptr && sigint_count.load() != registered_at) {
            (*registered)();
        }
    }
}

// Makes the pipe and starts the watcher, once. Main thread with the GIL: no race.
bool start_watcher() {
    if (pipe_pid != 0) {
        return true;
    }
    int fds[2];
#if defined(__linux__)
    if (pipe2(fds, O_CLOEXEC) != 0) {  // close-on-exec from the start
        return false;
    }
#else
    // macOS has no pipe2: a fork+exec between these calls could inherit the pipe,
    // which only costs that child two descriptors.
    if (pipe(fds) != 0) {
        return false;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
    fcntl(fds[1], F_SETFL, O_NONBLOCK);  // the handler never blocks
    pipe_fds[0] = fds[0];
    pipe_fds[1] = fds[1];
    pipe_pid = getpid();
    std::thread(watch).detach();
    return true;
}

// Makes sure on_sigint handles SIGINT; false when SIGINT is ignored or has its default
// action (Python does not handle it then, and neither do we).
bool install_handler() {
    struct sigaction current {};
    if (sigaction(SIGINT, nullptr, &current) != 0) {
        return false;
    }
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_sigint) {
        return true;  // still ours
    }
    if (!(current.sa_flags & SA_SIGINFO) && (current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN)) {
        return false;
    }
    if (!start_watcher()) {
        return false;
    }
    previous.store(new struct sigaction(current));
    struct sigaction ours {};
    ours.sa_sigaction = on_sigint;
    ours.sa_mask = current.sa_mask;
    // SA_ONSTACK: the signal may land on a Go thread, whose stack is small (Go requires
    // it of every handler). SA_RESTART only if the replaced handler had it: Python's has
    // not, so that a main thread blocked in read() or sleep() gets EINTR and runs the
    // Python handler (PEP 475); restarting would hang Ctrl-C in input().
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | (current.sa_flags & SA_RESTART);
    return sigaction(SIGINT, &ours, nullptr) == 0;
}

// A signal that interrupts as Ctrl-C does: sent on as SIGINT, whose handlers (ours, then
// Python's) cancel the call in flight and raise KeyboardInterrupt. Where nobody handles
// SIGINT (ignored, as in a shell's background job, or default), the signal takes its
// default action instead, as if this handler were not there. Async-signal-safe calls only.
void on_forwarded(int sig) {
    const int saved_errno = errno;
    struct sigaction sigint {};
    const bool handled = sigaction(SIGINT, nullptr, &sigint) == 0 &&
                         ((sigint.sa_flags & SA_SIGINFO) ||
                          (sigint.sa_handler != SIG_DFL && sigint.sa_handler != SIG_IGN));
    if (handled) {
        kill(getpid(), SIGINT);
    } else {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    errno = saved_errno;
}

}  // namespace

bool interrupt_on(int signum) {
    if (signum == SIGINT || signum <= 0 || signum >= NSIG) {
        return false;
    }
    struct sigaction current {};
    if (sigaction(signum, nullptr, &current) != 0 ||
        (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN)) {
        return false;  // ignored, as nohup leaves SIGHUP: it stays ignored
    }
    struct sigaction ours {};
    ours.sa_handler = on_forwarded;
    sigemptyset(&ours.sa_mask);
    ours.sa_flags = SA_ONSTACK;  // may land on a Go thread (see install_handler)
    return sigaction(signum, &ours, nullptr) == 0;
}

#endif

InterruptWatch::InterruptWatch(const Canceller &cancel) {
    if (cancel && install_handler()) {
        const std::lock_guard<std::mutex> lock(registry_mutex);
        outer_ = registered;
        outer_at_ = registered_at;
        registered = &cancel;
        registered_at = sigint_count.load();
        cancel_ = &cancel;
    }
    // A signal counted before registered_at set Python's flag before it was counted
    // (on_sigint runs Python's handler first): it raises here. Later ones cancel.
    try {
        raise_pending_signals();
    } catch (...) {
        end();
        throw;
    }
}

void InterruptWatch::end() noexcept {
    if (cancel_ != nullptr) {
        const std::lock_guard<std::mutex> lock(registry_mutex);
        registered = outer_;
        registered_at = outer_at_;
        cancel_ = nullptr;
    }
}
