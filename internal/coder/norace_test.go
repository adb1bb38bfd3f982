//go:build !race

package coder

const raceEnabled = false
