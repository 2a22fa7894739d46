//go:build !linux

package ctx

// installOverflowReporter does nothing here: the guard page still stops an
// overflow, but without the line naming the coroutine.
func installOverflowReporter() {}
