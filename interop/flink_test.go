package interop

import (
	"os"
	"testing"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/runner/universal"
)

// flinkEndpointVar names a running Beam Flink job server (scripts/flink.sh
// starts one) for the tests below; they skip without it, except under CI,
// where they fail.
const flinkEndpointVar = "BEAMGO_FLINK_ENDPOINT"

// TestConformanceOnFlink runs the runner conformance suite through Beam's
// Flink job server with LOOPBACK workers: which features Flink runs with our
// harness, and which it rejects. Flink does not retry a failed bundle's
// elements on its own (a failure fails the job), as Prism.
//
//	BEAMGO_FLINK_ENDPOINT=127.0.0.1:8099 go test -run OnFlink -v ./...
func TestConformanceOnFlink(t *testing.T) {
	endpoint := os.Getenv(flinkEndpointVar)
	if endpoint == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: start Beam's Flink job server (scripts/flink.sh) and name it", flinkEndpointVar)
		}
		t.Skipf("%s is not set: no Flink job server to run on", flinkEndpointVar)
	}
	runnertest.RunConformanceTests(t, func(t *testing.T) runner.Runner {
		return universal.New(&universal.Options{Endpoint: endpoint, EnvironmentType: universal.Loopback})
	}, runnertest.Capabilities{NoRetries: true})
}
