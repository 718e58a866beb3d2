#include "fork_guard.hpp"

#include "errors.hpp"

#ifdef _WIN32

// Windows has no fork().
void record_module_pid() {}
bool in_forked_child() { return false; }

#else

#include <unistd.h>

#include <atomic>

namespace {
std::atomic<pid_t> module_pid{0};
}  // namespace

void record_module_pid() { module_pid = getpid(); }

bool in_forked_child() { return getpid() != module_pid.load(std::memory_order_relaxed); }

#endif

void check_not_forked() {
    if (in_forked_child()) {
        throw ForkedProcessFailure();
    }
}
