// The Go runtime inside libuplink does not survive fork(): its threads exist only in
// the parent, so any call into Go from a forked child hangs. Every entry point checks
// the pid recorded when the module was loaded, and destructors skip Go in a child.
#pragma once

// Records the current pid as the process the module was loaded in (module init).
void record_module_pid();

// True in a child forked after the module was loaded.
bool in_forked_child();

// Throws ForkedProcessFailure (raised as uplink_py.errors.ForkedProcessError) in a
// forked child.
void check_not_forked();
