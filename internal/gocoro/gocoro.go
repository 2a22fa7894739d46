// Package gocoro tells whether the calling goroutine is one of the Go
// runtime's coroutines (iter.Pull's), where a pull loop must not lock its
// OS thread. Role: production plumbing shared by ctx and expat, whose
// pull loops both ask.
package gocoro

import (
	"iter"
	"unsafe"
)

// A pull loop keeps its goroutine on one OS thread with
// runtime.LockOSThread, so that its body's C frames stay on the thread
// that holds their state. It must not do so inside one of the Go
// runtime's own coroutines, such as the one iter.Pull runs a sequence on:
// the runtime requires a coroutine's thread lock to be what it was when
// the coroutine was made, and throws ("coro: OS thread locking must match
// locking at coroutine creation", which no recover stops) at the next
// switch otherwise. So a loop first asks InGoCoroutine.
//
// Every goroutine starts at one function, whose frame is the last of the
// goroutine's frame-pointer chain (Go keeps frame pointers on amd64 and
// arm64, and a new goroutine starts with a zero one); for the runtime's
// coroutines that function is runtime.corostart. Its return address into
// that function, the next-to-last return address of the chain, is the
// same for every coroutine: init finds it in an iter.Pull of its own.

// callerFP returns the frame pointer of its caller (assembly).
func callerFP() uintptr

// coroReturnPC is the return address into runtime.corostart found in a
// coroutine's frame-pointer chain; 0 if init could not find one, and then
// every goroutine counts as a possible coroutine.
var coroReturnPC = func() (pc uintptr) {
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		pc, _ = entryReturnPC(callerFP())
		yield(struct{}{})
	})
	defer stop()
	next()
	return pc
}()

// maxChain bounds the walk of a frame-pointer chain, and maxFrameSpan the
// distance from the first frame pointer to any other: a chain that leaves
// the goroutine's stack (into a C caller's frames, in a Go callback) ends
// the walk instead of reading memory that is not the stack.
const (
	maxChain     = 4096
	maxFrameSpan = 1 << 30
)

// entryReturnPC walks the frame-pointer chain from fp to its end and
// returns the next-to-last return address, the one into the goroutine's
// entry function; ok is false when the chain did not end cleanly.
func entryReturnPC(fp uintptr) (pc uintptr, ok bool) {
	var last, prev uintptr
	start := fp
	for range maxChain {
		if fp == 0 {
			return prev, prev != 0
		}
		if fp < start || fp-start > maxFrameSpan || fp%unsafe.Sizeof(fp) != 0 {
			return 0, false
		}
		prev, last = last, *(*uintptr)(word2ptr(fp + unsafe.Sizeof(fp)))
		fp = *(*uintptr)(word2ptr(fp))
	}
	return 0, false
}

// InGoCoroutine reports whether the calling goroutine may be a coroutine
// of the Go runtime's (iter.Pull's), where a loop must not lock its
// thread: true when its chain ends at runtime.corostart, and when that
// cannot be told.
func InGoCoroutine() bool {
	pc, ok := entryReturnPC(callerFP())
	return !ok || coroReturnPC == 0 || pc == coroReturnPC
}

// word2ptr turns a stack address into a pointer without a conversion vet
// flags (the frames it reads are live: the caller's own).
func word2ptr(w uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&w)) }

// Calibrated reports whether init found runtime.corostart's return
// address (without it every goroutine counts as a possible coroutine).
func Calibrated() bool { return coroReturnPC != 0 }
