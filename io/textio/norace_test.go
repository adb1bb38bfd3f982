//go:build !race

package textio_test

// raceEnabled is whether the race detector runs.
const raceEnabled = false
