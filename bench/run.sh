#!/bin/sh
# Runs the benchmarks of bench/ side by side and writes bench/RESULTS.md.
# Flags go to the driver (go run ./bench/driver -help lists them), e.g.
#   bench/run.sh -runs=1 -beam=false
set -eu
cd "$(dirname "$0")/.."
exec go run ./bench/driver "$@"
