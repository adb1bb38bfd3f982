#!/bin/sh
# Runs a Go build tool (compile, link, asm, cgo, vet) for the go command's
# -toolexec, with GOGC=400 unless GOGC is set: compiling this module's
# generic-heavy packages, the compiler spends about a fifth of its CPU
# marking (a profile of runner/runnertest's compile), and a build machine
# has the memory to collect less often (1.9 GB at most for that compile,
# against 1.5 GB). The tests themselves are not run through it, so they
# keep the collector's default.
#
#   go test -toolexec="$PWD/scripts/gotool.sh" ./...
: "${GOGC:=400}"
export GOGC
exec "$@"
