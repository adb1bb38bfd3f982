package interop

import (
	"os"
	"testing"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/runner/universal"
)

// sparkEndpointVar names a running Beam Spark job server (scripts/spark.sh
// starts one) for TestConformanceOnSpark; it skips without it, except under
// CI, where it fails.
const sparkEndpointVar = "BEAMGO_SPARK_ENDPOINT"

// TestConformanceOnSpark runs the runner conformance suite through Beam's
// Spark job server with LOOPBACK workers: which features Spark runs with our
// harness, and which it rejects. Like Flink and Prism, Spark fails a job on
// a failed bundle instead of retrying its elements.
//
//	BEAMGO_SPARK_ENDPOINT=127.0.0.1:8099 go test -run OnSpark -v .
func TestConformanceOnSpark(t *testing.T) {
	endpoint := os.Getenv(sparkEndpointVar)
	if endpoint == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: start Beam's Spark job server (scripts/spark.sh) and name it", sparkEndpointVar)
		}
		t.Skipf("%s is not set: no Spark job server to run on", sparkEndpointVar)
	}
	runnertest.RunConformanceTests(t, func(t *testing.T) runner.Runner {
		return universal.New(&universal.Options{Endpoint: endpoint, EnvironmentType: universal.Loopback})
	}, runnertest.Capabilities{NoRetries: true})
}
