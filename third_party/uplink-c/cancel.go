package main

// #include "uplink_definitions.h"
import "C"

// uplink_py_cancel_project_calls cancels the calls and iterators running on the
// project at this moment; later calls run normally. Transfers have their own
// uplink_py_cancel_* (see upload.go, download.go, multipart.go).
//
//export uplink_py_cancel_project_calls
func uplink_py_cancel_project_calls(p *C.UplinkProject) {
	defer recoverSilently()
	if proj, ok := lookup[*project](handleID(p)); ok {
		proj.cancelCalls()
	}
}
