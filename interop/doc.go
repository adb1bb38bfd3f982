// Package interop tests this project against the real Apache Beam code. It
// is a separate module (github.com/beamgo-dev/beamgo/interop) so that Beam's Prism runner, its
// Docker client and their dependencies stay out of the main module.
//
// The tests build Prism's job server from
// github.com/apache/beam/sdks/v2/go/cmd/prism (a tool dependency in go.mod,
// at the same Beam version as the main module), start it on a free port and
// submit pipelines built with package sdk through runner/universal with
// LOOPBACK workers (or PROCESS, below): this SDK's harness runs the bundles
// Prism plans.
//
//   - TestWordCountOnPrism: the word count of examples/wordcount, compared
//     with the local runner's output.
//   - TestConformanceOnPrism: the runner conformance suite
//     (runner/runnertest). Prism fails a job on its first bundle failure, so
//     the retry test is skipped through Capabilities.NoRetries.
//   - TestStreamingConformanceOnPrism and TestStreamingSideInputsOnPrism:
//     the suite's streaming cases (the reference's section 9: windows,
//     triggers, panes, TestStream) and its streaming side inputs, each
//     case on a Prism of its own; the cases Prism gets wrong are recorded
//     with the failure they produce (prismStreamingDeviations,
//     prismSideInputDeviations), so a deviation that goes away, or turns
//     into another failure, fails the test.
//   - TestRowCodersCrossPrism: row-coded keys and combine accumulators,
//     which Prism length-prefixes, compared with the local runner.
//   - TestWordCountProcessOnPrism and TestOurJobServerWordCountProcess: the
//     word count with --environment_type=PROCESS: the job server (Prism, or
//     ours) starts this test binary as the worker, with
//     --id='<id>' --provision_endpoint=<endpoint>; it runs only the
//     submitting test again, whose Run serves the rebuilt pipeline
//     (fnapi/worker). TestMain calls worker.Init first, which strips the
//     runner's flags before the test flags are parsed, and starts no Prism
//     in a worker.
//   - TestConformanceOnFlink: the runner conformance suite through Beam's
//     Flink job server named by BEAMGO_FLINK_ENDPOINT (scripts/flink.sh,
//     make flink, starts one and runs it); skipped without it, failed
//     without it under CI=true.
//   - TestConformanceOnSpark: the same through Beam's Spark job server named
//     by BEAMGO_SPARK_ENDPOINT (scripts/spark.sh, make spark, runs it on a
//     job server in Spark's local mode).
//
// Run them from this directory:
//
//	go test ./...             # -short skips them
//	go test ./... -prism.log  # with Prism's log on stderr
//
// The first run compiles Prism ("go tool -n prism", about two minutes of
// CPU); Go's build cache keeps the executable, so later runs start it at
// once.
package interop
