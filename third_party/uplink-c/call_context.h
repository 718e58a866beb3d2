// The call context of the calling thread (call_context.c): what C++ set for the blocking
// call it is about to make. Private to the Go package: C++ sets it through
// uplink_py_set_call_context (call_context.go), so that it works with a Go DLL too.
#pragma once

#include <stddef.h>
#include <stdint.h>

size_t uplink_py_thread_scope(void);
int64_t uplink_py_thread_timeout_ms(void);
void uplink_py_store_call_context(size_t scope, int64_t timeout_ms);
