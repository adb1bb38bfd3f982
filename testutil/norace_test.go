//go:build !race

package testutil_test

const raceEnabled = false
