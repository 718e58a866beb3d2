#include "call_context.h"

// Thread-local: a cgo export runs on the thread of its C caller, so a Go call reads
// here what its caller stored just before calling.
static _Thread_local size_t thread_scope;
static _Thread_local int64_t thread_timeout_ms;

size_t uplink_py_thread_scope(void) { return thread_scope; }
int64_t uplink_py_thread_timeout_ms(void) { return thread_timeout_ms; }
void uplink_py_store_call_context(size_t scope, int64_t timeout_ms) {
    thread_scope = scope;
    thread_timeout_ms = timeout_ms;
}
