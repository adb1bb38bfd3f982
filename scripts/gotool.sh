#!/bin/sh
# Runs a Go build tool (compile, link, asm, cgo, vet) for the go command's
# -toolexec, with GOGC=400 unless GOGC is set: the compiler spends about a
# third of its CPU in its collector on this module's generic-heavy
# packages, and a build machine has the memory to collect less often. The
# tests themselves are not run through it, so they keep the collector's
# default.
#
#   go test -toolexec="$PWD/scripts/gotool.sh" ./...
: "${GOGC:=400}"
export GOGC
exec "$@"
