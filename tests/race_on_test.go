//go:build race

package tests

// raceEnabled tells the tests that they run under the race detector.
const raceEnabled = true
