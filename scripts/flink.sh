#!/usr/bin/env bash
# flink: our Go pipelines on Apache Flink through Beam's Flink job server.
#
# It fetches Beam's Flink job server with Maven (interop/flink/pom.xml; the
# jars go to out/flink/lib, Maven's cache to ~/.m2) and Flink's
# distribution jars from PyPI (apache-flink-libraries, into out/flink/),
# starts a standalone Flink cluster on loopback (a JobManager and two
# TaskManagers, each its own JVM), the job server against it, and submits
# examples/wordcount with --runner=universal and each environment type
# (LOOPBACK, PROCESS, EXTERNAL), on its embedded text and on a file read
# through textio. Each output is compared with the local runner's; one line a
# run. Then the runner conformance suite (interop's TestConformanceOnFlink)
# runs through a second job server on Flink's embedded cluster. Everything started is stopped by process id. FLINK_EMBEDDED=1 uses
# Flink's embedded cluster (inside the job server's JVM) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/out/flink
FLINK_VERSION=1.19.3 # the cluster; the job server's runner is built for 1.19
mkdir -p "$OUT"
T0=$(date +%s)

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$OUT/tmp"
}
trap cleanup EXIT

fail() {
	echo "flink: FAIL: $*" >&2
	exit 1
}

# Java 17 needs these for Flink 1.19 (its own scripts pass the same); the
# JVMs' temporary files (Flink's blobs: the job server's class path, with
# every job) stay under out/ and go at the end.
mkdir -p "$OUT/tmp"
JAVA_OPENS=("-Djava.io.tmpdir=$OUT/tmp")
for p in java.base/java.lang java.base/java.util java.base/java.lang.reflect java.base/java.io \
	java.base/java.net java.base/java.nio java.base/sun.nio.ch java.base/java.util.concurrent \
	java.base/java.time java.base/java.text java.sql/java.sql; do
	JAVA_OPENS+=("--add-opens=$p=ALL-UNNAMED")
done

# 1. Beam's Flink job server from Maven.
if [ ! -f "$OUT/lib/.complete" ]; then
	rm -rf "$OUT/lib"
	if ! mvn -B -f interop/flink/pom.xml dependency:copy-dependencies -DoutputDirectory="$OUT/lib" >"$OUT/mvn.log" 2>&1; then
		grep -E 'Could not (find|resolve|transfer)' "$OUT/mvn.log" | head -5 >&2 || tail -20 "$OUT/mvn.log" >&2
		fail "Maven refused the job server's artifacts (above; full log $OUT/mvn.log)"
	fi
	touch "$OUT/lib/.complete"
fi

# 2. Flink's distribution jars from PyPI.
FLD=$OUT/apache-flink-libraries-$FLINK_VERSION/deps
if [ ! -f "$FLD/lib/flink-dist-$FLINK_VERSION.jar" ]; then
	if ! python3 -m pip download --no-deps --no-cache-dir -d "$OUT" "apache-flink-libraries==$FLINK_VERSION" >"$OUT/pip.log" 2>&1; then
		tail -5 "$OUT/pip.log" >&2
		fail "pip refused apache-flink-libraries==$FLINK_VERSION (full log $OUT/pip.log)"
	fi
	tar -xzf "$OUT/apache-flink-libraries-$FLINK_VERSION.tar.gz" -C "$OUT" "apache-flink-libraries-$FLINK_VERSION/deps"
	rm -f "$OUT/apache-flink-libraries-$FLINK_VERSION.tar.gz"
fi
T_FETCH=$(date +%s)

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# waitfor waits up to $1 s for the command after it to succeed.
waitfor() {
	local secs=$1
	shift
	for _ in $(seq $((secs * 2))); do
		if "$@" 2>/dev/null; then return 0; fi
		sleep 0.5
	done
	return 1
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1"); }

# 3. A standalone cluster: a JobManager and two TaskManagers.
MASTER='[local]'
if [ "${FLINK_EMBEDDED:-}" != 1 ]; then
	REST_PORT=$(freeport)
	RPC_PORT=$(freeport)
	CONF=$OUT/conf
	mkdir -p "$CONF"
	cat >"$CONF/flink-conf.yaml" <<-YAML
		jobmanager.rpc.address: 127.0.0.1
		jobmanager.bind-host: 127.0.0.1
		jobmanager.rpc.port: $RPC_PORT
		taskmanager.bind-host: 127.0.0.1
		taskmanager.host: 127.0.0.1
		rest.address: 127.0.0.1
		rest.bind-address: 127.0.0.1
		rest.port: $REST_PORT
		jobmanager.memory.process.size: 768m
		taskmanager.memory.process.size: 1024m
		taskmanager.memory.managed.fraction: 0.05
		taskmanager.numberOfTaskSlots: 2
		parallelism.default: 2
	YAML
	cat >"$CONF/log4j.properties" <<-'LOG'
		rootLogger.level = INFO
		rootLogger.appenderRef.console.ref = ConsoleAppender
		appender.console.name = ConsoleAppender
		appender.console.type = CONSOLE
		appender.console.layout.type = PatternLayout
		appender.console.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-30c{1} - %m%n
	LOG
	LOG4J=-Dlog4j.configurationFile=$CONF/log4j.properties
	java -Xmx512m "${JAVA_OPENS[@]}" "$LOG4J" -cp "$FLD/lib/*" \
		org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$CONF" >"$OUT/jobmanager.log" 2>&1 &
	pids+=($!)
	# The TaskManager's JVM sizes and memory settings, as Flink's scripts
	# compute them.
	mapfile -t tmparams < <(java -cp "$FLD/lib/*:$FLD/bin/bash-java-utils.jar" \
		org.apache.flink.runtime.util.bash.BashJavaUtils GET_TM_RESOURCE_PARAMS --configDir "$CONF" 2>/dev/null |
		sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p')
	[ "${#tmparams[@]}" -eq 2 ] || fail "Flink's BashJavaUtils gave no TaskManager parameters"
	read -ra TM_JVM <<<"${tmparams[0]}"
	read -ra TM_DYN <<<"${tmparams[1]}"
	for i in 1 2; do
		java "${TM_JVM[@]}" "${JAVA_OPENS[@]}" "$LOG4J" -cp "$FLD/lib/*" \
			org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$CONF" "${TM_DYN[@]}" >"$OUT/taskmanager-$i.log" 2>&1 &
		pids+=($!)
	done
	two_taskmanagers() { curl -sf "http://127.0.0.1:$REST_PORT/overview" | grep -q '"taskmanagers":2'; }
	waitfor 120 two_taskmanagers || fail "the Flink cluster has not two TaskManagers after 120 s (logs in $OUT)"
	MASTER=127.0.0.1:$REST_PORT
	echo "flink: standalone Flink $FLINK_VERSION cluster: JobManager (REST 127.0.0.1:$REST_PORT) and 2 TaskManagers, 2 slots each"
fi

# 4. Beam's Flink job server.
JOB_PORT=$(freeport)
java -Xmx1g "${JAVA_OPENS[@]}" -cp "$OUT/lib/*" org.apache.beam.runners.flink.FlinkJobServerDriver \
	--job-host=127.0.0.1 --job-port="$JOB_PORT" --artifact-port=0 --expansion-port=0 \
	--flink-master="$MASTER" >"$OUT/jobserver.log" 2>&1 &
pids+=($!)
waitfor 120 listening "$JOB_PORT" || fail "Beam's Flink job server does not listen after 120 s (log $OUT/jobserver.log)"
T_UP=$(date +%s)
echo "flink: Beam $(ls "$OUT/lib" | sed -n 's/^beam-runners-flink-1.19-\(.*\)\.jar$/\1/p') Flink job server on 127.0.0.1:$JOB_PORT, master $MASTER; set-up $((T_UP - T0)) s (fetch $((T_FETCH - T0)) s, start $((T_UP - T_FETCH)) s)"

# 5. Our pipelines, each output compared with the local runner's.
go build -o "$OUT/wordcount" ./examples/wordcount
INPUT=$OUT/input.txt
for _ in $(seq 200); do sed -n '1,40p' README.md; done >"$INPUT"
passed=0
failed=0
check() { # name, env, args...
	local name=$1 env=$2
	shift 2
	local want=$OUT/$name-local got=$OUT/$name-$env
	rm -rf "$want" "$got"
	mkdir -p "$want" "$got"
	"$OUT/wordcount" "$@" --output="$want/out" >/dev/null 2>&1 || fail "$name on the local runner"
	local envargs=(--environment_type="$env") pool=
	if [ "$env" = EXTERNAL ]; then
		local port
		port=$(freeport)
		envargs+=(--environment_config="127.0.0.1:$port")
		# A worker pool: the same program and arguments, in pool mode.
		BEAMGO_WORKER_POOL=127.0.0.1:$port "$OUT/wordcount" --runner=universal --endpoint="127.0.0.1:$JOB_PORT" \
			"${envargs[@]}" "$@" --output="$got/out" >"$OUT/$name-$env-pool.log" 2>&1 &
		pool=$!
		pids+=("$pool")
		waitfor 30 listening "$port" || fail "the EXTERNAL worker pool does not listen"
	fi
	local start=$SECONDS
	if "$OUT/wordcount" --runner=universal --endpoint="127.0.0.1:$JOB_PORT" "${envargs[@]}" "$@" \
		--output="$got/out" >"$OUT/$name-$env.log" 2>&1 &&
		diff <(cat "$want"/out* | sort) <(cat "$got"/out* | sort) >"$OUT/$name-$env.diff"; then
		echo "PASS flink $name env=$env: output equal to the local runner's ($(cat "$got"/out* | wc -l) lines) $((SECONDS - start))s"
		passed=$((passed + 1))
	else
		echo "FAIL flink $name env=$env: see $OUT/$name-$env.log and .diff"
		tail -5 "$OUT/$name-$env.log"
		failed=$((failed + 1))
	fi
	if [ -n "$pool" ]; then kill "$pool" 2>/dev/null || true; fi
}
for env in LOOPBACK PROCESS EXTERNAL; do
	check wordcount "$env"
	check wordcount-textio "$env" --input="$INPUT"
done
if [ -n "${REST_PORT:-}" ]; then
	echo "flink: the cluster's jobs: $(curl -sf "http://127.0.0.1:$REST_PORT/overview")"
fi

# 6. The runner conformance suite (runner/runnertest, LOOPBACK) through a
# second job server on Flink's embedded cluster: on the cluster, each job
# uploads the job server's class path, which would take a quarter of an hour.
EMB_PORT=$(freeport)
java -Xmx1g "${JAVA_OPENS[@]}" -cp "$OUT/lib/*" org.apache.beam.runners.flink.FlinkJobServerDriver \
	--job-host=127.0.0.1 --job-port="$EMB_PORT" --artifact-port=0 --expansion-port=0 \
	--flink-master='[local]' >"$OUT/jobserver-embedded.log" 2>&1 &
pids+=($!)
waitfor 120 listening "$EMB_PORT" || fail "the embedded Flink job server does not listen after 120 s"
if (cd interop && BEAMGO_FLINK_ENDPOINT=127.0.0.1:$EMB_PORT go test -count=1 -v -run OnFlink -timeout 20m . >"$OUT/conformance.log" 2>&1); then
	echo "PASS flink conformance suite env=LOOPBACK (embedded cluster): $(grep -c -- '    --- PASS' "$OUT/conformance.log") passed, $(grep -c -- '    --- SKIP' "$OUT/conformance.log") skipped"
	passed=$((passed + 1))
else
	echo "FAIL flink conformance suite env=LOOPBACK (embedded cluster): $(grep -- '--- FAIL' "$OUT/conformance.log" | tr '\n' ' ')"
	failed=$((failed + 1))
fi
echo "flink: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
