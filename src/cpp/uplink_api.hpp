// The C API of uplink-c: the header cgo generates next to libuplink.a (it includes
// uplink_definitions.h). Everything in src/cpp includes it through this file.
#pragma once

#if defined(_MSC_VER) && !defined(__clang__)
// cgo declares C bools as _Bool, a C keyword MSVC's C++ compiler does not know.
#define _Bool bool
#endif

#include "libuplink.h"
