package portable_test

import (
	"testing"

	"beamgo/runner"
	"beamgo/runner/portable"
	"beamgo/runner/runnertest"
)

func TestConformance(t *testing.T) {
	runnertest.RunConformanceTests(t, func(*testing.T) runner.Runner {
		return portable.New(&portable.Options{Workers: 2})
	}, runnertest.Capabilities{})
}
