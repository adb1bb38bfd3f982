//go:build !race

package plan_test

// raceEnabled reports whether the tests run under the race detector, which
// slows planning of large pipelines tenfold.
const raceEnabled = false
