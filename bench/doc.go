// Package bench holds the benchmarks of issue 3 and their go test
// benchmarks (CI-sized: a few MB, run with go test -bench=. ./bench/).
//
// The full, side-by-side run is bench/run.sh (command bench/driver): it
// builds the programs below, generates the corpora, runs and measures each
// program (wall time, CPU time, peak RSS from the child's rusage), checks
// their results against each other and writes bench/RESULTS.md.
//
//	bench/corpus        deterministic corpus generator (text; GroupByKey records)
//	bench/handwritten   hand-written two-goroutine word count: the practical limit
//	bench/wordcount     our local runner's word count (io/textio, in-memory counts)
//	bench/beam          the Beam Go SDK's word count on Prism (its own go.mod)
//	bench/gbk           GroupByKey over skewed keys with a memory budget
//	bench/readtext      the 1 GB read (issue 5): textio on our runner, or the
//	                    hand-written two-goroutine bufio reader (-impl=hand)
//	bench/kafka         Kafka to Kafka through a map (io/kafka Read and Write)
//	                    against a hand-written franz-go loop, on kfake
//	bench/pgsink        io/postgres's exactly-once sink against a hand-written
//	                    batched COPY loop (run under scripts/postgres.sh)
//	bench/stateful      issue 16's stateful benchmark: value + bag state and an
//	                    event-time timer per key, memory or pebble backend
//	                    (bench/beam -job=stateful is its twin on Prism)
//	bench/recovery      issue 18's recovery time: a job with large keyed state
//	                    is SIGKILLed and restarted from its snapshot; the time
//	                    to its first processed element, snapshot size and RSS
//	bench/driver        the side-by-side run that writes RESULTS.md
//	bench/internal/...  the generator, scanner, hand-written count and pipelines
//
// The read benchmark runs alone with bench/run.sh -only=read1g, which
// rewrites only its section of RESULTS.md; its 1 GB corpus goes to the
// -work directory (under the system's temporary directory), never the
// repository.
//
// bench/beam is a separate module so that the main module does not depend
// on the Beam runtime.
package bench
