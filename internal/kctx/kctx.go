// Package kctx is package kernel's door into package ctx: the parts of
// ctx that only native kernel tasks need, kept out of ctx's public API.
// Role: production plumbing between ctx and kernel.
//
// A trapping coroutine's body calls co->api->trap(co, op, a, b), which
// records the trap and yields; Trap reads what it recorded. A Ring resumes
// many trapping coroutines in turn without leaving native code, for as
// long as each traps with the same passing op: one cgocall for a whole
// round of a scheduler's ready queue.
//
// The door is a value, not variables filled in at start-up: API is the
// interface, and the one way to get one is ctx.Kernel(kctx.Key{}). Key is
// a type of this internal package, so only this module can name it, and a
// package that uses the door imports ctx and calls it: the compiler, not
// an init order, makes sure ctx is there.
package kctx

// Coroutine is the part of a *ctx.Coroutine's public API that kernel
// uses; every value NewTrapping returns is a *ctx.Coroutine.
type Coroutine interface {
	Resume(in uintptr) (out uintptr, done bool, err error)
	Close() error
	Name() string
}

// Ring is a sequence of trapping coroutines resumed in turn, in native
// code.
type Ring interface {
	// Reset empties the ring, keeping its storage.
	Reset()
	// Add appends c; the first resume Cycle makes of it passes in.
	Add(c Coroutine, in uintptr)
	// Len returns the number of coroutines in the ring.
	Len() int
	// At returns the i'th coroutine.
	At(i int) Coroutine
	// Cycle resumes the ring's coroutines in order from index start, round
	// the ring, as long as each one traps with op pass (its trap is
	// consumed), at most max times in all. A coroutine's first resume
	// passes the word given to Add, the later ones 0. It returns the index
	// i where it stopped and the number of resumes made. With more set,
	// the budget ran out and i is the next to run; otherwise ring[i], the
	// count'th resume, did something else: it trapped with another op or
	// yielded (read it with Trap), returned (done), or failed (err, as
	// from Resume).
	Cycle(start, max int, pass uint32) (i, count int, more, done bool, err error)
	// Stop, called by a Go callback of the coroutine a Cycle resumed last,
	// ends that Cycle once the coroutine stops, as if max had run out.
	Stop()
	// Progress returns, after a panic in a Go callback left Cycle, the
	// index of the coroutine whose callback panicked and the resumes
	// completed before its own.
	Progress() (i, count int)
}

// Key is the argument of ctx.Kernel. Outside this module it cannot be
// named, and its blank field of an unexported type keeps a value of
// another struct type from being assigned to it, so ctx.Kernel cannot be
// called there. Inside, kctx.Key{} is the value.
type Key struct{ _ key }

type key struct{}

// API is what ctx.Kernel returns.
type API interface {
	// NewTrapping is ctx.New for a body that traps, on a stack of
	// stackSize bytes (0: ctx.DefaultStackSize).
	NewTrapping(fn, arg uintptr, name string, stackSize int) (Coroutine, error)
	// Trap returns the trap c's body recorded before its last yield and
	// clears it; op is 0 when the body yielded without trapping.
	Trap(c Coroutine) (op uint32, a, b uintptr)
	// NewRing returns an empty ring.
	NewRing() Ring
}
