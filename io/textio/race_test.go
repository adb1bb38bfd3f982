//go:build race

package textio_test

// raceEnabled is whether the race detector runs: its shadow memory, about
// as large as the heap again, lies outside any memory budget.
const raceEnabled = true
