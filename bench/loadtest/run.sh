#!/usr/bin/env bash
# Runs Beam Go's own load tests (sdks/go/test/load: group_by_key, cogbk,
# combine, pardo, sideinput; 1M records of 100 bytes each by default,
# LOOPBACK workers in the load test's process) against a fresh job server
# for each test, ours and Prism's, and prints one line per run: the job
# server, the test, its wall seconds, the CPU seconds (user + system) of
# the job server and of the test's process (its LOOPBACK workers), and the
# job server's peak resident memory (VmHWM from /proc, Linux only). On a
# shared machine the CPU seconds are the steadier figure; the runs never
# overlap. The load tests come from the Beam
# module bench/beam requires (the Go module cache), Prism from the interop
# module's tool dependency; both are built into a temporary directory.
#
# Usage: bench/loadtest/run.sh [BUDGET_MIB [RECORDS [TESTS...]]]
#   BUDGET_MIB  our job server's --memory_budget (default 256)
#   RECORDS     records per synthetic input (default 1000000)
#   TESTS       default: group_by_key cogbk combine pardo sideinput
# Set SERVERS="ours" or "prism" to run one side only, and BIN to a directory
# that already holds the binaries (the tests, prism, jobserver) to skip
# building them.
set -euo pipefail
cd "$(dirname "$0")/../.."
budget=${1:-256}
records=${2:-1000000}
shift $(( $# > 2 ? 2 : $# ))
tests=("$@")
[ ${#tests[@]} = 0 ] && tests=(group_by_key cogbk combine pardo sideinput)
servers=${SERVERS:-ours prism}
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  bin=$(mktemp -d)
  trap 'rm -rf "$bin"' EXIT
  for t in "${tests[@]}"; do
    (cd bench/beam && go build -o "$bin/$t" "github.com/apache/beam/sdks/v2/go/test/load/$t")
  done
  (cd interop && go build -o "$bin/prism" github.com/apache/beam/sdks/v2/go/cmd/prism)
  go build -o "$bin/jobserver" ./cmd/jobserver
fi

input="{\"num_records\":$records,\"key_size\":10,\"value_size\":90}"
args_of() { # test: its flags beyond the input
  case $1 in
  cogbk) echo "--co_input_options=$input" ;;
  sideinput) echo "--access_percentage=100" ;;
  combine) echo "--top_count=20" ;;
  *) ;;
  esac
}

port=$((20000 + RANDOM % 20000))
start_server() { # server: starts it on $port, sets $pid
  case $1 in
  ours) "$bin/jobserver" --port="$port" --ui=false --memory_budget="$budget" >"$bin/server.log" 2>&1 & ;;
  prism) "$bin/prism" --job_port="$port" --serve_http=false >"$bin/server.log" 2>&1 & ;;
  esac
  pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
    sleep 0.1
  done
  echo "$1 did not listen on $port:" >&2
  cat "$bin/server.log" >&2
  exit 1
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); budget ${budget} MiB; ${records} records of 100 B per input"
printf '%-7s %-13s %8s %10s %10s %10s\n' server test seconds server_cpu test_cpu peak_MiB
for t in "${tests[@]}"; do
  for s in $servers; do
    start_server "$s"
    t0=$(date +%s.%N)
    status=ok
    TIMEFORMAT='%U %S'
    # shellcheck disable=SC2046
    if ! { time "$bin/$t" --runner=universal --endpoint="127.0.0.1:$port" --environment_type=LOOPBACK \
      --input_options="$input" $(args_of "$t") >"$bin/test.log" 2>&1; } 2>"$bin/test.time"; then
      status=FAILED
    fi
    t1=$(date +%s.%N)
    peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
    # utime and stime, fields 14 and 15, in clock ticks.
    server_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat")
    test_cpu=$(awk '{printf "%.1f", $1 + $2}' "$bin/test.time")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    printf '%-7s %-13s %8.1f %10s %10s %10s %s\n' "$s" "$t" "$(echo "$t1 - $t0" | bc)" "$server_cpu" "$test_cpu" "$peak" "$status"
    if [ $status != ok ]; then tail -5 "$bin/test.log" >&2; fi
    port=$((port + 1))
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
