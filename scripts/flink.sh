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

ENGINE=flink
# shellcheck source=scripts/lib-cluster.sh
. scripts/lib-cluster.sh

# Java 17 needs these for Flink 1.19 (its own scripts pass the same); the
# JVMs' temporary files (Flink's blobs: the job server's class path, with
# every job) stay under out/ and go at the end. The TaskManagers drop a
# finished job's blobs after 10 s (blob.service.cleanup.interval), not the
# default hour: fifteen jobs' copies of the class path would otherwise sit
# on the disk until the cluster stops.
java_opens java.base/java.lang java.base/java.util java.base/java.lang.reflect java.base/java.io \
	java.base/java.net java.base/java.nio java.base/sun.nio.ch java.base/java.util.concurrent \
	java.base/java.time java.base/java.text java.sql/java.sql

# 1. Beam's Flink job server from Maven.
fetch_jobserver interop/flink/pom.xml

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
		blob.service.cleanup.interval: 10
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

# streaming_checks submits our streaming pipelines (interop/flink/streaming):
# each on the unbounded source that ends (Flink's streaming mode) and on the
# bounded input (batch mode), and two of them with PROCESS and EXTERNAL
# workers. In batch mode Flink fires each window once, at its end, with no
# pane information: the counts are checked, and that every pane's timing
# is UNKNOWN (no early panes), as the README records.
streaming_checks() {
	check windowed-rate LOOPBACK equal "$OUT/streaming" --job=windowed --source=rate
	check stateful-rate LOOPBACK equal "$OUT/streaming" --job=stateful --source=rate
	check early-rate LOOPBACK final "$OUT/streaming" --job=early --source=rate
	check windowed-create LOOPBACK batchpanes "$OUT/streaming" --job=windowed --source=create
	check stateful-create LOOPBACK equal "$OUT/streaming" --job=stateful --source=create
	check early-create LOOPBACK batchpanes "$OUT/streaming" --job=early --source=create
	check windowed-rate PROCESS equal "$OUT/streaming" --job=windowed --source=rate
	check stateful-rate EXTERNAL equal "$OUT/streaming" --job=stateful --source=rate
}

# 5. Our pipelines, each output compared with the local runner's.
build_programs
for env in LOOPBACK PROCESS EXTERNAL; do
	check wordcount "$env" equal "$OUT/wordcount"
	check wordcount-textio "$env" equal "$OUT/wordcount" --input="$INPUT"
done
streaming_checks
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
summary
