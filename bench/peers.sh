#!/usr/bin/env bash
# peers: our word count and windowed count side by side with the same jobs
# written directly in PyFlink (Table API) and PySpark (DataFrame API),
# on this machine (issue 19, item 5). Not part of make test: make peers.
#
# Programs, each run as a user would run it, on the same input:
#   ours-local   examples/wordcount and bench/peers/windowed on our local runner
#   ours-flink   the same binaries through Beam's Flink job server on Flink's
#                embedded cluster (--flink-master=[local], the job server's JVM),
#                LOOPBACK workers; the job server runs throughout, and its
#                memory counts in each run's peak
#   pyflink      bench/peers/pyflink_jobs.py: Flink's local mini cluster, batch
#   pyspark      bench/peers/pyspark_jobs.py: Spark's local[2]
# PEERS_PROGRAMS (default all four) picks some of them, e.g. "ours-local
# pyspark" for a corpus too large for the others on this machine.
# Inputs (gencorpus of ../shared/anchors, the project's benchmark corpora):
# text corpora of PEERS_SIZES (default "20MB 200MB") for the word count, and
# 2M "key<TAB>int" lines over 1,000 keys (PEERS_KV_LINES) for the windowed
# count (event time int+500 s, 60 s windows; PEERS_KV_LINES=0 leaves it
# out). Each round runs every program once per input, interleaved;
# PEERS_RUNS rounds (default 3). Every output is compared with
# ours-local's (which always runs, as the reference). Wall time, CPU time
# and peak memory (of all the run's processes, added up:
# bench/peers/measure.py) go to out/peers/results.jsonl, and the medians as
# a Markdown table to stdout and out/peers/table.md.
#
# It installs apache-flink 1.19.3 and pyspark 3.5.0 from PyPI into a
# virtual environment under out/peers, and Beam's Flink job server with
# Maven (interop/flink/pom.xml) into out/flink/lib, as scripts/flink.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/out/peers
ENGINE=peers
mkdir -p "$OUT"
# shellcheck source=scripts/lib-cluster.sh
. scripts/lib-cluster.sh
RUNS=${PEERS_RUNS:-3}
SIZES=${PEERS_SIZES:-20MB 200MB}
KV_LINES=${PEERS_KV_LINES:-2M}
PROGRAMS=${PEERS_PROGRAMS:-ours-local ours-flink pyflink pyspark}
# ours-local is the reference every other output is compared with.
case " $PROGRAMS " in *" ours-local "*) ;; *) PROGRAMS="ours-local $PROGRAMS" ;; esac
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors}
java_opens java.base/java.lang java.base/java.util java.base/java.lang.reflect java.base/java.io \
	java.base/java.net java.base/java.nio java.base/sun.nio.ch java.base/java.util.concurrent \
	java.base/java.time java.base/java.text java.sql/java.sql

# 1. The peers in a virtual environment, the job server, our programs.
VENV=$OUT/venv
if [ ! -f "$VENV/.complete" ]; then
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	if ! "$VENV/bin/pip" install -q apache-flink==1.19.3 pyspark==3.5.0 >"$OUT/pip.log" 2>&1; then
		tail -5 "$OUT/pip.log" >&2
		fail "pip refused apache-flink 1.19.3 or pyspark 3.5.0 (full log $OUT/pip.log)"
	fi
	touch "$VENV/.complete"
fi
case " $PROGRAMS " in *" ours-flink "*) fetch_jobserver interop/flink/pom.xml "$ROOT/out/flink/lib" ;; esac
go build -o "$OUT/wordcount" ./examples/wordcount
go build -o "$OUT/windowed" ./bench/peers/windowed
(cd "$ANCHORS" && go build -o "$OUT/" ./cmd/gencorpus) || fail "cannot build gencorpus in $ANCHORS (set ANCHORS)"

# 2. The inputs.
inputs=()
for size in $SIZES; do
	f=$OUT/wc-$size.txt
	[ -f "$f" ] || "$OUT/gencorpus" -mode text -size "$size" -o "$f" 2>/dev/null
	inputs+=("wordcount:$f")
done
if [ "$KV_LINES" != 0 ]; then
	KV=$OUT/kv-$KV_LINES.tsv
	[ -f "$KV" ] || "$OUT/gencorpus" -mode kv -lines "$KV_LINES" -keys 1000 -o "$KV" 2>/dev/null
	inputs+=("windowed:$KV")
fi

# 3. Beam's Flink job server on Flink's embedded cluster, if it is needed.
JOB_PORT= JS=
if [[ " $PROGRAMS " == *" ours-flink "* ]]; then
	JOB_PORT=$(freeport)
	java -Xmx2g "${JAVA_OPENS[@]}" -cp "$ROOT/out/flink/lib/*" org.apache.beam.runners.flink.FlinkJobServerDriver \
		--job-host=127.0.0.1 --job-port="$JOB_PORT" --artifact-port=0 --expansion-port=0 \
		--flink-master='[local]' >"$OUT/jobserver.log" 2>&1 &
	JS=$!
	pids+=("$JS")
	waitfor 120 listening "$JOB_PORT" || fail "Beam's Flink job server does not listen after 120 s (log $OUT/jobserver.log)"
fi

# cmdline JOB SYSTEM INPUT OUTDIR prints the command line of one run.
cmdline() {
	local job=$1 sys=$2 in=$3 dir=$4 bin=$OUT/$1
	case $sys in
	ours-local) echo "$bin --input=$in --output=$dir/out" ;;
	ours-flink) echo "$bin --runner=universal --endpoint=127.0.0.1:$JOB_PORT --environment_type=LOOPBACK --input=$in --output=$dir/out" ;;
	pyflink) echo "$VENV/bin/python $ROOT/bench/peers/pyflink_jobs.py $job $in $dir/out" ;;
	pyspark) echo "$VENV/bin/python $ROOT/bench/peers/pyspark_jobs.py $job $in $dir/out" ;;
	esac
}

# normalized prints a run's output sorted, as one format: "word: count"
# lines for the word count, "start key count" for the windowed count.
normalized() { cat "$1"/out* | sort; }

# 4. Interleaved rounds.
# PEERS_TAG names a measurement's files, so that another one (a larger
# corpus with fewer programs) does not overwrite them.
TAG=${PEERS_TAG:+-$PEERS_TAG}
RESULTS=$OUT/results$TAG.jsonl
: >"$RESULTS"
export PYSPARK_PYTHON=$VENV/bin/python SPARK_LOCAL_IP=127.0.0.1
for round in $(seq "$RUNS"); do
	for item in "${inputs[@]}"; do
		job=${item%%:*} in=${item#*:}
		for sys in $PROGRAMS; do
			dir=$OUT/run-$job-$sys
			rm -rf "$dir"
			mkdir -p "$dir"
			also=()
			if [ "$sys" = ours-flink ]; then also=(--also "$JS"); fi
			# shellcheck disable=SC2046 # the command line is words
			line=$(python3 bench/peers/measure.py --label "$sys" "${also[@]}" --log "$dir.log" -- $(cmdline "$job" "$sys" "$in" "$dir"))
			check=same
			if [ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["exit"])' "$line")" != 0 ]; then
				check="failed (log $dir.log)"
			elif [ "$sys" != ours-local ] && ! diff -q <(normalized "$dir") <(normalized "$OUT/run-$job-ours-local") >/dev/null; then
				check="differs from ours-local"
			fi
			echo "peers: round $round $job $(basename "$in") $sys: $line $check"
			python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(round=int(sys.argv[2]), job=sys.argv[3], input=sys.argv[4], check=sys.argv[5]); print(json.dumps(d))' \
				"$line" "$round" "$job" "$(basename "$in")" "$check" >>"$RESULTS"
		done
	done
done

# 5. The medians.
python3 - "$RESULTS" <<'PY' | tee "$OUT/table$TAG.md"
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    d = json.loads(line)
    runs[(d["job"], d["input"], d["label"])].append(d)
print("| job | input | program | wall s (median) | CPU s (median) | peak MiB (median) | runs | output |")
print("|---|---|---|---:|---:|---:|---:|---|")
for (job, inp, label), ds in runs.items():
    ok = [d for d in ds if d["check"] == "same"]
    wall = statistics.median(d["wall_s"] for d in ok) if ok else float("nan")
    cpu = statistics.median(d["cpu_s"] for d in ok) if ok else float("nan")
    peak = statistics.median(d["peak_mib"] for d in ok) if ok else float("nan")
    checks = "same as ours-local" if len(ok) == len(ds) else "; ".join(sorted({d["check"] for d in ds}))
    print(f"| {job} | {inp} | {label} | {wall:.1f} | {cpu:.1f} | {peak:.0f} | {len(ds)} | {checks} |")
PY
