// Package main is the uplink C API (the functions and types of Storj's
// uplink-c) over storj.io/uplink, built with -buildmode=c-archive.
// See README.md for the function list and uplink_definitions.h for the types.
package main

// #include "uplink_definitions.h"
import "C"

// main is required by -buildmode=c-archive and never runs.
func main() {}
