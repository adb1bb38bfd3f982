# lib-cluster.sh: what scripts/flink.sh and scripts/spark.sh share, sourced
# by both after they set ENGINE (flink or spark) and OUT (their folder under
# out/): process bookkeeping and clean-up, the JVMs' options, the job server's
# jars from Maven, waiting for ports, and the checks that submit our
# pipelines to a job server and compare their output with the local
# runner's. Not a program of its own.

pids=()
# cleanup stops every process this script started, by process id, then
# removes the JVMs' temporary files under out/, and calls the script's
# on_cleanup, if it has one, for what else its engine left there.
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	# A JVM may ignore SIGTERM (Spark's job server with a cancelled streaming
	# job's context): what still runs after 10-20 s is killed.
	for _ in $(seq 20); do
		alive=
		for pid in "${pids[@]}"; do
			case $(ps -o stat= -p "$pid" 2>/dev/null) in '' | Z*) ;; *) alive=1 ;; esac
		done
		if [ -z "$alive" ]; then break; fi
		sleep 0.5
	done
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$OUT/tmp"
	if declare -F on_cleanup >/dev/null; then on_cleanup; fi
}
trap cleanup EXIT

fail() {
	echo "$ENGINE: FAIL: $*" >&2
	exit 1
}

# java_opens sets JAVA_OPENS to the JVM options every JVM of the cluster
# gets: the packages Java 17 must open to the engine (the arguments, as
# its own launcher passes them), and a temporary folder under out/.
java_opens() {
	mkdir -p "$OUT/tmp"
	JAVA_OPENS=("-Djava.io.tmpdir=$OUT/tmp")
	local p
	for p in "$@"; do JAVA_OPENS+=("--add-opens=$p=ALL-UNNAMED"); done
}

# fetch_jobserver copies the job server's jars and their dependencies
# (the pom $1) into the folder $2 (default $OUT/lib) with Maven, once; it
# fails naming what Maven refused.
fetch_jobserver() {
	local lib=${2:-$OUT/lib}
	if [ -f "$lib/.complete" ]; then return 0; fi
	rm -rf "$lib"
	# The folder's parent may not exist yet (bench/peers.sh's out/flink).
	mkdir -p "$(dirname "$lib")"
	if ! mvn -B -f "$1" dependency:copy-dependencies -DoutputDirectory="$lib" >"$lib.mvn.log" 2>&1; then
		grep -E 'Could not (find|resolve|transfer)' "$lib.mvn.log" | head -5 >&2 || tail -20 "$lib.mvn.log" >&2 || true
		fail "Maven refused the job server's artifacts (above; full log $lib.mvn.log)"
	fi
	touch "$lib/.complete"
}

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

# build_programs builds what the checks submit: the word count, our
# streaming pipelines (interop/flink/streaming), and the input file of the
# textio word count.
build_programs() {
	go build -o "$OUT/wordcount" ./examples/wordcount
	(cd interop && go build -o "$OUT/streaming" ./flink/streaming)
	INPUT=$OUT/input.txt
	for _ in $(seq 200); do sed -n '1,40p' README.md; done >"$INPUT"
}

passed=0
failed=0

# check NAME ENV EXPECT PROGRAM ARGS... runs PROGRAM with ARGS on the local
# runner, then through the job server at JOB_PORT with environment type
# ENV (EXTERNAL: with a worker pool of the same program and arguments), and
# prints one line: PASS or FAIL, the engine, NAME and ENV, and the check.
# EXPECT says what passes:
#   equal        the sorted output lines equal the local runner's
#   final        the same, for the lines not of early panes (pane=EARLY),
#                whose number depends on when a runner fires them
#   batchpanes   the counts (the lines without their pane= field, the final
#                panes of the local runner's) equal the local runner's, and
#                every pane's timing is UNKNOWN: a batch-mode engine that
#                fires each window once and sets no pane information
#   unending:S   the job still runs after S seconds (an engine that never
#                ends a streaming job on its own); it is then stopped with
#                SIGTERM, which cancels it on the job server, and what it
#                wrote so far is reported
#   reject:TEXT  the job server refuses the job with an error containing
#                TEXT (a feature it does not run; the check keeps the
#                README's list of rejections true)
# PROGRAM writes its output under --output (files beginning with it).
check() {
	local name=$1 env=$2 expect=$3 prog=$4
	shift 4
	local want=$OUT/$name-local got=$OUT/$name-$env log=$OUT/$name-$env.log
	rm -rf "$want" "$got"
	mkdir -p "$want" "$got"
	"$prog" "$@" --output="$want/out" >/dev/null 2>&1 || fail "$name on the local runner"
	local envargs=(--environment_type="$env") pool=
	if [ "$env" = EXTERNAL ]; then
		local port
		port=$(freeport)
		envargs+=(--environment_config="127.0.0.1:$port")
		# A worker pool: the same program and arguments, in pool mode.
		BEAMGO_WORKER_POOL=127.0.0.1:$port "$prog" --runner=universal --endpoint="127.0.0.1:$JOB_PORT" \
			"${envargs[@]}" "$@" --output="$got/out" >"$OUT/$name-$env-pool.log" 2>&1 &
		pool=$!
		pids+=("$pool")
		waitfor 30 listening "$port" || fail "the EXTERNAL worker pool does not listen"
	fi
	local start=$SECONDS ok=
	if [[ $expect == unending:* ]]; then
		"$prog" --runner=universal --endpoint="127.0.0.1:$JOB_PORT" "${envargs[@]}" "$@" --output="$got/out" >"$log" 2>&1 &
		local job=$!
		pids+=("$job")
		sleep "${expect#unending:}"
		if kill -0 "$job" 2>/dev/null; then
			ok=running
			kill -TERM "$job"
		fi
		wait "$job" || true
	else
		"$prog" --runner=universal --endpoint="127.0.0.1:$JOB_PORT" "${envargs[@]}" "$@" --output="$got/out" >"$log" 2>&1 && ok=1
	fi
	local took=$((SECONDS - start)) verdict
	if verdict=$(judge "$expect" "$ok" "$want" "$got" "$log"); then
		echo "PASS $ENGINE $name env=$env: $verdict ${took}s"
		passed=$((passed + 1))
	else
		echo "FAIL $ENGINE $name env=$env: $verdict (see $log and $got.diff)"
		tail -5 "$log"
		failed=$((failed + 1))
	fi
	if [ -n "$pool" ]; then kill "$pool" 2>/dev/null || true; fi
}

# judge EXPECT OK WANT GOT LOG prints what check found, and fails unless it
# is what EXPECT asks for (see check).
judge() {
	local expect=$1 ok=$2 want=$3 got=$4 log=$5
	case $expect in
	reject:*)
		local text=${expect#reject:}
		if [ -n "$ok" ]; then
			echo "the job ran, but the job server was expected to reject it with \"$text\""
			return 1
		fi
		if ! grep -qF -- "$text" "$log"; then
			echo "the job failed, but not with \"$text\": $(grep -m1 -iE 'error|exception' "$log" | cut -c1-300)"
			return 1
		fi
		echo "rejected by the job server, as recorded: \"$text\""
		;;
	equal | final)
		[ -n "$ok" ] || {
			echo "the job failed: $(grep -m1 -iE 'error|exception' "$log" | cut -c1-300)"
			return 1
		}
		local filter=(cat)
		if [ "$expect" = final ]; then filter=(grep -v 'pane=EARLY'); fi
		if ! diff <(cat "$want"/out* | "${filter[@]}" | sort) <(cat "$got"/out* | "${filter[@]}" | sort) >"$got.diff"; then
			echo "output differs from the local runner's"
			return 1
		fi
		local lines
		lines=$(cat "$got"/out* | "${filter[@]}" | wc -l)
		[ "$lines" -gt 0 ] || {
			echo "no output"
			return 1
		}
		if [ "$expect" = final ]; then
			echo "final panes equal to the local runner's ($lines lines), $(grep -c 'pane=EARLY' <(cat "$got"/out*)) early panes (local: $(grep -c 'pane=EARLY' <(cat "$want"/out*)))"
		else
			echo "output equal to the local runner's ($lines lines)"
		fi
		;;
	unending:*)
		if [ "$ok" != running ]; then
			echo "the job ended within ${expect#unending:} s, where it was recorded to run on: update the README's list"
			return 1
		fi
		local wrote
		wrote="it had written $(cat "$got"/out* 2>/dev/null | wc -l) of the local runner's $(cat "$want"/out* | wc -l) lines"
		if diff <(cat "$want"/out* | sort) <(cat "$got"/out* 2>/dev/null | sort) >"$got.diff"; then
			wrote="its output was equal to the local runner's ($(cat "$want"/out* | wc -l) lines)"
		fi
		echo "still running after ${expect#unending:} s, as recorded (cancelled then); $wrote"
		;;
	batchpanes)
		[ -n "$ok" ] || {
			echo "the job failed: $(grep -m1 -iE 'error|exception' "$log" | cut -c1-300)"
			return 1
		}
		if ! diff <(cat "$want"/out* | grep -v 'pane=EARLY' | sed 's/ pane=.*//' | sort) \
			<(cat "$got"/out* | sed 's/ pane=.*//' | sort) >"$got.diff"; then
			echo "counts differ from the local runner's"
			return 1
		fi
		local other
		other=$(cat "$got"/out* | grep -vc 'pane=UNKNOWN$')
		if [ "$other" -ne 0 ]; then
			echo "$other panes with a timing, where batch mode was recorded to set none: update the README's list"
			return 1
		fi
		echo "counts equal to the local runner's final panes ($(cat "$got"/out* | wc -l) lines); every pane's timing UNKNOWN, no early panes (batch mode)"
		;;
	*)
		echo "unknown expectation $expect"
		return 1
		;;
	esac
}

# summary prints the closing line and fails if a check failed.
summary() {
	echo "$ENGINE: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
