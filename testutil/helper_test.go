package testutil_test

import (
	"os"
	"os/exec"
	"testing"
)

// helperEnv marks a child test process started by runHelper.
const helperEnv = "BEAMGO_TESTUTIL_HELPER"

func isHelper() bool { return os.Getenv(helperEnv) == "1" }

// runHelper runs the test named name of this test binary in a child
// process and returns its output, and its error if it failed.
func runHelper(t *testing.T, name string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
