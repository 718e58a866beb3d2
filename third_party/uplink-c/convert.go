package main

// #include <stdlib.h>
// #include "uplink_definitions.h"
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// requiredString reads a string argument that must not be NULL; name is used
// in the error only.
func requiredString(s *C.char, name string) (string, *C.UplinkError) {
	if s == nil {
		return "", newError(nil, errNullArgument(name))
	}
	return C.GoString(s), nil
}

func errNullArgument(name string) error {
	return errInvalidArgument("%s is NULL", name)
}

// errInvalidArgument is an UPLINK_ERROR_INTERNAL "invalid argument" error.
func errInvalidArgument(format string, args ...any) error {
	return fmt.Errorf("uplink: invalid argument: "+format, args...)
}

// optionalString reads a string argument where NULL means "".
func optionalString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// args reads several required string arguments, keeping the first error.
type args struct{ err *C.UplinkError }

func (a *args) required(s *C.char, name string) string {
	if a.err != nil {
		return ""
	}
	v, cerr := requiredString(s, name)
	a.err = cerr
	return v
}

// cBuffer views length bytes of C memory at ptr as a Go slice, without copying.
func cBuffer(ptr unsafe.Pointer, length C.size_t) ([]byte, error) {
	if length == 0 {
		return nil, nil
	}
	if ptr == nil {
		return nil, fmt.Errorf("uplink: invalid argument: NULL buffer of length %d", uint64(length))
	}
	return unsafe.Slice((*byte)(ptr), int(length)), nil
}

// timeToUnix gives Unix seconds, 0 for the zero time.
func timeToUnix(t time.Time) C.int64_t {
	if t.IsZero() {
		return 0
	}
	return C.int64_t(t.Unix())
}

// unixToTime reads Unix seconds, 0 meaning the zero time.
func unixToTime(s C.int64_t) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0)
}

// calloc allocates one zeroed C value of type T.
func calloc[T any]() *T {
	var zero T
	return (*T)(C.calloc(1, C.size_t(unsafe.Sizeof(zero))))
}

//export uplink_free_string_result
func uplink_free_string_result(result C.UplinkStringResult) {
	defer recoverSilently()
	C.free(unsafe.Pointer(result.string))
	uplink_free_error(result.error)
}
