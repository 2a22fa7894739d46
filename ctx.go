// Package corokernel is the machine layer of the corokernel module: a
// hand-written context switch in the platform C ABI, shaped like
// boost.context's fcontext. MakeContext prepares a fresh context at the top
// of a stack; Jump switches to a context, passing one word, and returns
// when some context jumps back, with the context it came from and the word
// it passed.
//
// The switch itself lives in ctx_amd64.s and ctx_arm64.s as two C-ABI
// functions, whose addresses are MakeContextFn and JumpContextFn:
//
//	typedef void *ck_context;
//	typedef struct { ck_context from; uintptr_t data; } ck_transfer;
//	ck_context  ck_make_context(void *top, size_t size, void (*fn)(ck_transfer));
//	ck_transfer ck_jump_context(ck_context to, uintptr_t data);
//
// Only native (C-ABI) code may run on a stack reached this way: Go code
// cannot run on a stack the runtime did not allocate (docs/runtime.md). Go
// reaches the switch through runtime.cgocall, which moves to the thread's
// system stack first; package ctx builds safe coroutines on top of it.
package corokernel

//go:generate go run gen_frames.go

import (
	"unsafe"

	// purego links internal/fakecgo when CGO_ENABLED=0, which sets
	// runtime.iscgo so that runtime.cgocall is usable at all.
	_ "github.com/ebitengine/purego"
)

// Context is a suspended machine context: the stack pointer of the frame
// that JumpContext saved (fcontext_t). A Context is valid until it is
// jumped to once.
type Context uintptr

// Transfer is what a jump delivers to the context it resumes: the context
// that jumped (to jump back to) and the word it passed.
type Transfer struct {
	From Context
	Data uintptr
}

// C-ABI entry points of the context switch, for C code and native loops.
var (
	// MakeContextFn is ck_make_context(top, size, fn).
	MakeContextFn = makeContextAddr
	// JumpContextFn is ck_jump_context(to, data).
	JumpContextFn = jumpContextAddr
	// EchoFn is an entry function for MakeContext, the smallest body:
	// it answers every jump with a jump back to the context that jumped,
	// handing back the word it was given (void echo(ck_transfer t)).
	EchoFn = echoEntryAddr
)

var (
	goJumpFn = goJumpAddr
	makeFn   = goMakeAddr // goMake adapts ck_make_context to cgocall's one-pointer convention
)

// finishMsg is written by contextFinish, the stub under every fresh
// context's first frame.
var finishMsg = "corokernel: a context's entry function returned; it must jump away instead\n"

// Implemented in assembly with the C ABI; declared here for vet only.
// Their addresses are the ...Addr words below (a Go func value of an
// assembly function points at an ABI wrapper, not at the entry).
func makeContext()
func jumpContext()
func goJump()
func goMake()
func echoEntry()

// The entries' addresses: read-only words the assembly defines beside
// them (DATA ·makeContextAddr, $·makeContext(SB)).
var makeContextAddr, jumpContextAddr, goJumpAddr, goMakeAddr, echoEntryAddr uintptr

// Call runs the C-ABI function fn(arg) on the thread's system stack through
// runtime.cgocall and returns its 32-bit result. It costs one cgocall
// (tens of nanoseconds) and does not allocate.
//
//go:nosplit
func Call(fn uintptr, arg unsafe.Pointer) int32 {
	return cgocall(fn, arg)
}

//go:linkname cgocall runtime.cgocall
//go:noescape
func cgocall(fn uintptr, arg unsafe.Pointer) int32

// MakeContext prepares a fresh context at top, the high end of a stack of
// size bytes, so that the first Jump to it calls the C-ABI function
// fn(ck_transfer) with the jumping context and word. fn must never return:
// it ends by jumping to another context. One that returns anyway prints a
// report and exits the process with status 2.
func MakeContext(top, size, fn uintptr) Context {
	a := makeArgs{top: top, size: size, fn: fn}
	cgocall(makeFn, unsafe.Pointer(&a))
	return Context(a.ret)
}

// makeArgs is goMake's argument block; the assembly reads its offsets
// from go_asm.h.
type makeArgs struct{ top, size, fn, ret uintptr }

// jumpArgs is goJump's argument block, likewise.
type jumpArgs struct {
	to       Context
	data     uintptr
	from     Context // the Transfer the jump back delivers
	fromData uintptr
}

// Jump switches to the context to, passing data, and returns when some
// context jumps back to this one: the Transfer names that context and the
// word it passed. The jump runs on the thread's system stack inside one
// runtime.cgocall; the code at to must be native code on its own stack.
func Jump(to Context, data uintptr) Transfer {
	a := jumpArgs{to: to, data: data}
	cgocall(goJumpFn, unsafe.Pointer(&a))
	return Transfer{From: a.from, Data: a.fromData}
}
