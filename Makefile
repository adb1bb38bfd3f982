# beamgo — build, test and run.
SHELL := /bin/bash
GO      ?= go
# Packages whose tests exercise concurrency (and internal/operator, whose unsafe string
# conversions -race checks with checkptr) run with -race.
RACE_PKGS := ./sdk/... ./rangetracker/... ./internal/... ./runner/... ./fnapi/... ./io/... ./testutil/...
# Packages with a norace_test.go: some of their tests skip under the race detector
# (raceEnabled), which would distort what they measure (peak RSS, allocations), so
# these packages run without -race as well.
RACESKIP_PKGS := $(sort $(patsubst %/norace_test.go,./%,$(shell find . \( -path ./interop -o -path ./out -o -path ./.git \) -prune -o -name norace_test.go -print | sed 's|^\./||')))
# The build tools run through scripts/gotool.sh, which gives them GOGC=400:
# building runner/runnertest and its dependencies from nothing took 56-71 s
# of CPU in two builds against 80-85 s in two with the default. The path is
# taken at run time (CURDIR), for vet, both go test runs and the interop
# module.
TOOLEXEC := -toolexec=$(CURDIR)/scripts/gotool.sh
# Flags of both go test runs: -w leaves DWARF out of the test binaries, which
# halves the time to link each of them (a fresh clone links about a hundred),
# and panics still print file and line. -vet=off: go test's own subset of vet
# checks is a build of its own, and the targets that test (test, interop)
# run the whole of go vet first.
GOTESTFLAGS ?= -ldflags=-w -vet=off $(TOOLEXEC)
FUZZTIME ?= 10s

.PHONY: all run test vet lint short fuzz examples interop deps

all: lint test

## run: run the main job (word count) on the embedded sample text.
run:
	$(GO) run ./examples/wordcount

## test: go vet, then every test (concurrent packages under -race, see
## gotest). The tests run with a throw-away PostgreSQL server on 127.0.0.1
## (scripts/postgres.sh installs and starts it, and passes its URL in
## BEAMGO_POSTGRES_DSN). The interop tests against Beam's Prism runner and
## Beam's Go SDK (a separate module, whose build is Beam's SDK and Prism
## again) are make interop, which .ci/run runs after make test.
test: vet deps
	scripts/postgres.sh $(MAKE) gotest

## gotest: every test; a package's tests are compiled and run once, under
## -race for the packages of RACE_PKGS, without it for the others
## (examples, commands, benchmarks, protos), except RACESKIP_PKGS's, which
## run both ways (test runs it with a PostgreSQL server; io/postgres's
## tests fail without one).
.PHONY: gotest
gotest:
	all=$$($(GO) list ./...) && race=$$($(GO) list $(RACE_PKGS)) && \
	  norace=$$(comm -23 <(sort <<<"$$all") <(sort <<<"$$race")) && [ -n "$$norace" ] && \
	  $(GO) test -count=1 $(GOTESTFLAGS) $$norace $(RACESKIP_PKGS)
	$(GO) test -count=1 -race $(GOTESTFLAGS) $(RACE_PKGS)

## interop: our pipelines on Beam's Prism job server, with our harness.
## Beam's Go SDK leaves a temporary file per LOOPBACK job (and our job
## server its staging directory): the tests' TMPDIR is a directory of their
## own, removed after them.
interop:
	tmp=$$(mktemp -d) && cd interop && $(GO) vet $(TOOLEXEC) ./... && TMPDIR=$$tmp $(GO) test -count=1 $(GOTESTFLAGS) -v -run 'Prism|OurJobServer' ./... 2>&1 | grep -E '^(=== RUN|--- |ok|FAIL|PASS)' ; rc=$${PIPESTATUS[0]}; rm -rf "$$tmp"; exit $$rc

## vet: go vet with -race, the build the race run of gotest compiles too,
## so that the packages vet compiles for its analysis (test variants
## included) are compiled once, not once per mode.
vet:
	$(GO) vet -race $(TOOLEXEC) ./...

## deps: the dependency rules of scripts/deps.rules hold (go list -deps), and
## the checker reports a rule that is broken.
deps:
	@scripts/deps.sh --self-test
	@scripts/deps.sh

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

short:
	$(GO) test -short ./...

## fuzz: run each fuzz target for FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run=^$$ -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=1s $$pkg || exit 1; \
	  done; \
	done

examples:
	@for d in examples/*/; do echo "== $$d"; $(GO) run ./$$d || exit 1; done

## jobserver: Beam JobService on 127.0.0.1:8099 running jobs on the portable
## runner (JOBSERVER_FLAGS, e.g. --port=9000, or --address=0.0.0.0
## --auth_token_file=FILE: beyond loopback it needs a token).
## interop-python: Beam Python pipelines (interop/python) on our job server with
## LOOPBACK, EXTERNAL and PROCESS workers; installs apache-beam from PyPI into
## a virtual environment under out/ (BEAM_PY_VERSION, default 2.77.0).
.PHONY: interop-python
interop-python:
	scripts/interop-python.sh

## flink: our word count and streaming pipelines (interop/flink/streaming:
## windowed count, state and timers, early-firing triggers) on a standalone
## Flink cluster (a JobManager and two TaskManagers on loopback) through
## Beam's Flink job server, with LOOPBACK, PROCESS and EXTERNAL workers;
## fetches the job server with Maven and Flink from PyPI into out/flink
## (FLINK_EMBEDDED=1: Flink's embedded cluster).
## python-suite: Beam Python's own portable runner tests against our job
## server and against Prism, pass counts side by side (a measurement; after
## make interop-python, whose virtual environment it uses).
.PHONY: python-suite
python-suite:
	scripts/python-suite.sh

.PHONY: flink
flink:
	scripts/flink.sh

## spark: our word count and streaming pipelines on a standalone Spark
## cluster (a master and two workers on loopback) through Beam's Spark job
## server, with LOOPBACK, PROCESS and EXTERNAL workers, and the features
## the job server rejects, then the runner conformance suite on Spark's
## local mode; fetches the job server and Spark with Maven into out/spark.
.PHONY: spark
spark:
	scripts/spark.sh

## peers: our word count and windowed count beside the same jobs written in
## PyFlink and PySpark, and ours on Flink through Beam: wall time, CPU time
## and peak memory, interleaved runs (bench/peers.sh; PEERS_RUNS,
## PEERS_SIZES, PEERS_PROGRAMS). A
## measurement, not part of make test; installs apache-flink and pyspark
## into out/peers.
.PHONY: peers
peers:
	bench/peers.sh

.PHONY: jobserver
jobserver:
	$(GO) run ./cmd/jobserver $(JOBSERVER_FLAGS)

## chaos: the durable-checkpoint chaos tests with 100 SIGKILLs and restarts
## each (CHAOS_KILLS; make test runs them with 10): examples/durablecount
## (a generator source) and examples/kafkadurable (Kafka on kfake, produced
## while the job is killed).
CHAOS_KILLS ?= 100
.PHONY: chaos
chaos:
	DURABLECOUNT_KILLS=$(CHAOS_KILLS) $(GO) test -count=1 -timeout 60m -run TestSIGKILLAndRestart -v ./examples/durablecount/
	KAFKADURABLE_KILLS=$(CHAOS_KILLS) $(GO) test -count=1 -timeout 60m -run TestSIGKILLAndRestart -v ./examples/kafkadurable/
