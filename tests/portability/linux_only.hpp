// Force-included by tests/test_portability.py when it compiles src/cpp with __linux__
// undefined: calls that macOS (or other non-Linux POSIX systems) lack become errors
// unless they sit in a branch guarded by __linux__. The system headers come first, so
// that their own declarations are not poisoned.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#pragma GCC poison pipe2 accept4 dup3 epoll_create epoll_create1 epoll_ctl epoll_wait eventfd signalfd
#pragma GCC poison prctl gettid memfd_create sched_getaffinity sched_setaffinity vmsplice
#pragma GCC poison sendfile fallocate posix_fadvise sync_file_range syncfs O_TMPFILE O_PATH
