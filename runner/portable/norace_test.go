//go:build !race

package portable_test

// raceEnabled reports whether the tests run under the race detector,
// whose shadow memory is outside any memory budget.
const raceEnabled = false
