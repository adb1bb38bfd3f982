#!/usr/bin/env bash
# interop-python: Beam Python pipelines (interop/python/pipelines.py) on our
# job server (cmd/jobserver), with LOOPBACK, EXTERNAL and PROCESS workers.
#
# It installs apache-beam from PyPI into a virtual environment under out/
# (ignored by git; BEAM_PY_VERSION picks the version), builds and starts the
# job server and a Beam Python worker pool on free loopback ports, runs the
# pipelines, prints one line per pipeline and environment, and stops what it
# started by process id. It fails, saying what, if an install is refused or
# any pipeline fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/out/interop-python
BEAM_PY_VERSION=${BEAM_PY_VERSION:-2.77.0}
PY=${PYTHON:-python3}
VENV=$ROOT/out/pyenv-beam-$BEAM_PY_VERSION
mkdir -p "$OUT"

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# install: the venv and apache-beam, unless they are there already.
if ! "$VENV/bin/python" -c "import apache_beam, sys; sys.exit(apache_beam.__version__ != '$BEAM_PY_VERSION')" 2>/dev/null; then
	echo "interop-python: installing apache-beam==$BEAM_PY_VERSION into $VENV"
	"$PY" -m venv "$VENV"
	if ! "$VENV/bin/pip" install -q "apache-beam==$BEAM_PY_VERSION" >"$OUT/pip.log" 2>&1; then
		echo "interop-python: FAIL: pip refused apache-beam==$BEAM_PY_VERSION (for $("$PY" --version)):" >&2
		tail -20 "$OUT/pip.log" >&2
		exit 1
	fi
fi
echo "interop-python: apache-beam $BEAM_PY_VERSION, $("$VENV/bin/python" --version)"

# freeport prints a free TCP port on 127.0.0.1.
freeport() {
	"$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# waitport waits up to 60 s for something to listen on 127.0.0.1:$1.
waitport() {
	for _ in $(seq 600); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "interop-python: FAIL: nothing listens on 127.0.0.1:$1 after 60 s ($2)" >&2
	return 1
}

# PROCESS workers run this boot command (the Python SDK ships its own boot
# program only in its container image).
BOOT=$OUT/boot.sh
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$VENV/bin/python" "$ROOT/interop/python/boot.py" >"$BOOT"
chmod +x "$BOOT"

go build -o "$OUT/jobserver" ./cmd/jobserver
JOB_PORT=$(freeport)
"$OUT/jobserver" --port="$JOB_PORT" --allow_process="$BOOT" >"$OUT/jobserver.log" 2>&1 &
pids+=($!)
waitport "$JOB_PORT" "job server, log in $OUT/jobserver.log"

# The worker pool starts each worker as "python -m ...": the venv's python.
POOL_PORT=$(freeport)
PATH="$VENV/bin:$PATH" "$VENV/bin/python" -m apache_beam.runners.worker.worker_pool_main \
	--service_port="$POOL_PORT" >"$OUT/pool.log" 2>&1 &
pids+=($!)
waitport "$POOL_PORT" "Beam Python worker pool, log in $OUT/pool.log"

run() { # label, args...
	local label=$1
	shift
	"$VENV/bin/python" interop/python/pipelines.py --job_endpoint="127.0.0.1:$JOB_PORT" "$@" \
		2>"$OUT/$label.err" | tee "$OUT/$label.out"
}

status=0
run LOOPBACK --environment_type=LOOPBACK || status=1
run EXTERNAL --environment_type=EXTERNAL --environment_config="127.0.0.1:$POOL_PORT" || status=1
# PROCESS starts a Python interpreter per worker (seconds each): a subset.
run PROCESS --environment_type=PROCESS --environment_config="{\"command\": \"$BOOT\"}" \
	--only=word_count,group_by_key,combine_per_key,side_inputs || status=1

passed=$(cat "$OUT"/*.out | grep -c '^PASS' || true)
failed=$(cat "$OUT"/*.out | grep -c '^FAIL' || true)
unsupported=$(cat "$OUT"/*.out | grep -c '^UNSUPPORTED' || true)
if [ "$status" -ne 0 ]; then
	echo "interop-python: stderr of the failed runs is in $OUT/*.err; the job server's log in $OUT/jobserver.log"
fi
echo "interop-python: $unsupported runs refused a feature our job server does not support yet (UNSUPPORTED lines)"
echo "interop-python: $passed passed, $failed failed"
exit "$status"
