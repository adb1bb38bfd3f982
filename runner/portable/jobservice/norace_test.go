//go:build !race

package jobservice_test

// raceEnabled reports whether the tests run under the race detector,
// which multiplies memory use and slows large decodes.
const raceEnabled = false
