#!/usr/bin/env bash
# spark: our Go pipelines on Apache Spark through Beam's Spark job server.
#
# It fetches Beam's Spark job server and Spark 3.5.0 with Maven
# (interop/spark/pom.xml; the jars go to out/spark/lib, Maven's cache to
# ~/.m2), starts a standalone Spark master and two workers of one core each
# (two executors) on loopback, the job server against the master, and
# submits examples/wordcount with --runner=universal and each environment
# type (LOOPBACK, PROCESS, EXTERNAL), and once on a file read through
# textio. Each output is compared with the local runner's; one line a run.
# Then the runner conformance suite (interop's TestConformanceOnSpark)
# through a second job server on Spark's local mode. SPARK_CHECKS=streaming
# runs only the streaming pipelines, SPARK_CHECKS=conformance only the
# suite (without the cluster), SPARK_CHECKS=stateful only the stateful
# pipeline, SPARK_REPEAT times. Everything started is stopped by process id.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/out/spark
mkdir -p "$OUT"
T0=$(date +%s)

ENGINE=spark
# shellcheck source=scripts/lib-cluster.sh
. scripts/lib-cluster.sh
# The workers' folders (each application's copy of the class path) go too.
on_cleanup() { rm -rf "$OUT"/work-*; }

# Java 17 needs these for Spark 3.5 (its launcher passes the same); the
# JVMs' temporary files stay under out/ and go at the end.
java_opens java.base/java.lang java.base/java.lang.invoke java.base/java.lang.reflect java.base/java.io \
	java.base/java.net java.base/java.nio java.base/java.util java.base/java.util.concurrent \
	java.base/java.util.concurrent.atomic java.base/sun.nio.ch java.base/sun.nio.cs \
	java.base/sun.security.action java.base/sun.util.calendar

# 1. Beam's Spark job server and Spark from Maven.
fetch_jobserver interop/spark/pom.xml
T_FETCH=$(date +%s)

# conformance runs the runner conformance suite (runner/runnertest, LOOPBACK)
# through a second job server on Spark's local mode (local[2], inside the
# job server's JVM): on the cluster each job's executors copy the job
# server's class path, minutes a job. It prints one line.
conformance() {
	local port
	port=$(freeport)
	java -Xmx1g "${JAVA_OPENS[@]}" -cp "$OUT/lib/*" org.apache.beam.runners.spark.SparkJobServerDriver \
		--job-host=127.0.0.1 --job-port="$port" --artifact-port=0 --expansion-port=0 \
		--spark-master-url='local[2]' >"$OUT/jobserver-local.log" 2>&1 &
	pids+=($!)
	waitfor 180 listening "$port" || fail "the local-mode Spark job server does not listen after 180 s"
	if (cd interop && BEAMGO_SPARK_ENDPOINT=127.0.0.1:$port go test -count=1 -v -run OnSpark -timeout 30m . >"$OUT/conformance.log" 2>&1); then
		echo "PASS spark conformance suite env=LOOPBACK (local mode): $(grep -c -- '    --- PASS' "$OUT/conformance.log") passed, $(grep -c -- '    --- SKIP' "$OUT/conformance.log") skipped"
		passed=$((passed + 1))
	else
		echo "FAIL spark conformance suite env=LOOPBACK (local mode): $(grep -- '--- FAIL' "$OUT/conformance.log" | tr '\n' ' ')"
		failed=$((failed + 1))
	fi
}
if [ "${SPARK_CHECKS:-all}" = conformance ]; then
	conformance
	summary
	exit
fi

# 2. A standalone cluster: a master and two workers. A worker builds its
# executors' class path from SPARK_HOME/jars; RELEASE marks SPARK_HOME a
# distribution, not a build tree.
export SPARK_HOME=$OUT/home SPARK_LOCAL_IP=127.0.0.1 SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_DIRS=$OUT/tmp
mkdir -p "$SPARK_HOME"
ln -sfn ../lib "$SPARK_HOME/jars"
touch "$SPARK_HOME/RELEASE"
MASTER_PORT=$(freeport)
UI_PORT=$(freeport)
java -Xmx512m "${JAVA_OPENS[@]}" -cp "$OUT/lib/*" org.apache.spark.deploy.master.Master \
	--host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$UI_PORT" >"$OUT/master.log" 2>&1 &
pids+=($!)
for i in 1 2; do
	mkdir -p "$OUT/work-$i"
	SPARK_WORKER_DIR=$OUT/work-$i java -Xmx512m "${JAVA_OPENS[@]}" -cp "$OUT/lib/*" org.apache.spark.deploy.worker.Worker \
		--host 127.0.0.1 --cores 1 --memory 1g --webui-port 0 "spark://127.0.0.1:$MASTER_PORT" >"$OUT/worker-$i.log" 2>&1 &
	pids+=($!)
done
two_workers() { curl -sf "http://127.0.0.1:$UI_PORT/json/" | grep -q '"aliveworkers" *: *2'; }
waitfor 180 two_workers || fail "the Spark master has not two workers after 180 s (logs in $OUT)"
echo "spark: standalone Spark 3.5.0 master (127.0.0.1:$MASTER_PORT) and 2 workers of 1 core each"

# 3. Beam's Spark job server.
JOB_PORT=$(freeport)
java -Xmx1g "${JAVA_OPENS[@]}" -cp "$OUT/lib/*" org.apache.beam.runners.spark.SparkJobServerDriver \
	--job-host=127.0.0.1 --job-port="$JOB_PORT" --artifact-port=0 --expansion-port=0 \
	--spark-master-url="spark://127.0.0.1:$MASTER_PORT" >"$OUT/jobserver.log" 2>&1 &
pids+=($!)
waitfor 180 listening "$JOB_PORT" || fail "Beam's Spark job server does not listen after 180 s (log $OUT/jobserver.log)"
T_UP=$(date +%s)
echo "spark: Beam $(ls "$OUT/lib" | sed -n 's/^beam-runners-spark-3-\(.*\)\.jar$/\1/p') Spark job server on 127.0.0.1:$JOB_PORT; set-up $((T_UP - T0)) s (fetch $((T_FETCH - T0)) s, start $((T_UP - T_FETCH)) s)"

# streaming_checks submits our streaming pipelines (interop/flink/streaming)
# with LOOPBACK workers. On the unbounded source the job server runs the job
# in Spark's streaming mode, which never ends a job on its own: the check
# asserts that it still runs after 240 s, then cancels it. It comes last:
# the cancelled job leaves its SparkContext in the job server, which then
# fails every later job ("Only one SparkContext should be running in this
# JVM").
streaming_checks() {
	spark_check windowed-create LOOPBACK equal "$OUT/streaming" --job=windowed --source=create
	spark_check stateful-create LOOPBACK equal "$OUT/streaming" --job=stateful --source=create
	spark_check early-create LOOPBACK final "$OUT/streaming" --job=early --source=create
	spark_check windowed-rate LOOPBACK unending:240 "$OUT/streaming" --job=windowed --source=rate
}

# 4. Our pipelines, each output compared with the local runner's.
build_programs
# Each executor copies the job server's class path (270 MB) into its
# application's directory: drop the finished applications' after each job.
spark_check() {
	check "$@"
	rm -rf "$OUT"/work-*/app-*
}
# SPARK_CHECKS=stateful runs only the stateful pipeline's check,
# SPARK_REPEAT times (default 1), and keeps each failed run's output, its
# diff, the job server's and the executors' logs in $OUT/failed-<n>: the
# loop that found why that check once failed (two executors asked the
# LOOPBACK pool for one worker id; fnapi/workerpool).
if [ "${SPARK_CHECKS:-all}" = stateful ]; then
	for n in $(seq "${SPARK_REPEAT:-1}"); do
		before=$failed
		check stateful-create LOOPBACK equal "$OUT/streaming" --job=stateful --source=create
		if [ "$failed" -gt "$before" ]; then
			rm -rf "$OUT/failed-$n"
			mkdir -p "$OUT/failed-$n"
			cp -r "$OUT"/stateful-create-* "$OUT/jobserver.log" "$OUT/failed-$n/"
			# The executors' logs, not their copies of the class path.
			for f in "$OUT"/work-*/app-*/*/std*; do
				cp "$f" "$OUT/failed-$n/$(echo "${f#"$OUT"/}" | tr / _)"
			done
		fi
		rm -rf "$OUT"/work-*/app-*
	done
	summary
	exit
fi
# Each job takes minutes on two executors on a busy machine: the textio
# read once. SPARK_CHECKS=streaming runs only the streaming pipelines.
if [ "${SPARK_CHECKS:-all}" != streaming ]; then
	for env in LOOPBACK PROCESS EXTERNAL; do
		spark_check wordcount "$env" equal "$OUT/wordcount"
	done
	spark_check wordcount-textio LOOPBACK equal "$OUT/wordcount" --input="$INPUT"
fi
streaming_checks
conformance
echo "spark: the cluster's finished applications: $(curl -sf "http://127.0.0.1:$UI_PORT/json/" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["completedapps"]))')"
summary
