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
# Everything started is stopped by process id.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/out/spark
mkdir -p "$OUT"
T0=$(date +%s)

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$OUT"/work-* "$OUT/tmp"
}
trap cleanup EXIT

fail() {
	echo "spark: FAIL: $*" >&2
	exit 1
}

# Java 17 needs these for Spark 3.5 (its launcher passes the same); the
# JVMs' temporary files stay under out/ and go at the end.
mkdir -p "$OUT/tmp"
JAVA_OPENS=("-Djava.io.tmpdir=$OUT/tmp")
for p in java.base/java.lang java.base/java.lang.invoke java.base/java.lang.reflect java.base/java.io \
	java.base/java.net java.base/java.nio java.base/java.util java.base/java.util.concurrent \
	java.base/java.util.concurrent.atomic java.base/sun.nio.ch java.base/sun.nio.cs \
	java.base/sun.security.action java.base/sun.util.calendar; do
	JAVA_OPENS+=("--add-opens=$p=ALL-UNNAMED")
done

# 1. Beam's Spark job server and Spark from Maven.
if [ ! -f "$OUT/lib/.complete" ]; then
	rm -rf "$OUT/lib"
	if ! mvn -B -f interop/spark/pom.xml dependency:copy-dependencies -DoutputDirectory="$OUT/lib" >"$OUT/mvn.log" 2>&1; then
		grep -E 'Could not (find|resolve|transfer)' "$OUT/mvn.log" | head -5 >&2 || tail -20 "$OUT/mvn.log" >&2
		fail "Maven refused the job server's artifacts (above; full log $OUT/mvn.log)"
	fi
	touch "$OUT/lib/.complete"
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

# 4. Our pipelines, each output compared with the local runner's.
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
		echo "PASS spark $name env=$env: output equal to the local runner's ($(cat "$got"/out* | wc -l) lines) $((SECONDS - start))s"
		passed=$((passed + 1))
	else
		echo "FAIL spark $name env=$env: see $OUT/$name-$env.log and .diff"
		tail -5 "$OUT/$name-$env.log"
		failed=$((failed + 1))
	fi
	if [ -n "$pool" ]; then kill "$pool" 2>/dev/null || true; fi
	# Each executor copies the job server's class path (270 MB) into its
	# application's directory: drop the finished application's.
	rm -rf "$OUT"/work-*/app-*
}
# Each job takes minutes on two executors on a busy machine: the textio
# read once.
for env in LOOPBACK PROCESS EXTERNAL; do
	check wordcount "$env"
done
check wordcount-textio LOOPBACK --input="$INPUT"
echo "spark: the cluster's finished applications: $(curl -sf "http://127.0.0.1:$UI_PORT/json/" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["completedapps"]))')"
echo "spark: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
