// Pull loops for amd64 (pull.go): the common code behind every entry of
// yieldTable, which a C library calls as its callback and which yields
// the callback's arguments, and the body of NewCall's coroutines, which
// calls the library.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_amd64.h"
#include "co_amd64.h"

// yieldArgs is the common code of the yield table (thunks_amd64.s),
// whose entry N is YieldFuncTag(N):
//
//	uintptr_t ck_yield_args(uintptr_t a0, ..., uintptr_t a5);  /* or any
//	    mix of up to six integer or pointer and eight double or float
//	    arguments, returning an integer, a pointer, a double or a float */
//
// A C library calls an entry as a callback from a coroutine's stack: the
// entry puts N in R11 and jumps here. This stores the six integer or
// pointer argument registers, the low 64 bits of XMM0-XMM7 (the double
// and float arguments) and the tag in the record (co->args, co->fargs,
// co->tag), yields their address, and returns the word the next resume
// passes, the Go loop's answer, in RAX and in XMM0 (switchIn puts it in
// both), so that a callback declared to return a double or a float gets
// it too. On Close's cancel it returns the value WithCancelValue set for
// its tag (CK_ECANCELED, -125, unless set), and so do the calls the body
// makes while the cancel unwinds it (at most drainCalls, without
// suspending); with no coroutine running on this thread's stack it
// returns CK_ENOTRUNNING (-4) at once.
//
// It switches itself, as yield does, with its frame already popped: one
// call below the body, so that each crossing of stacks costs one
// mispredicted return and no more (calling yield would add two). The
// coroutine waits as a trap does (inTrap = waitArgs): the resume's word
// comes back as this function's result.
//
// Frame (SP 16-byte aligned for the call to getThreadBlock):
//
//	+0x00..0x2f  RDI RSI RDX RCX R8 R9
//	+0x30        R11 (the tag)
//	+0x38..0x77  XMM0-XMM7, the low 64 bits
TEXT ·yieldArgs(SB), NOSPLIT|NOFRAME, $0-0
	// Entered by a jump from an entry that C called: 0x78 bytes realign SP.
	SUBQ	$0x78, SP
	MOVQ	DI, 0x00(SP)
	MOVQ	SI, 0x08(SP)
	MOVQ	DX, 0x10(SP)
	MOVQ	CX, 0x18(SP)
	MOVQ	R8, 0x20(SP)
	MOVQ	R9, 0x28(SP)
	MOVQ	R11, 0x30(SP)
	MOVQ	X0, 0x38(SP)
	MOVQ	X1, 0x40(SP)
	MOVQ	X2, 0x48(SP)
	MOVQ	X3, 0x50(SP)
	MOVQ	X4, 0x58(SP)
	MOVQ	X5, 0x60(SP)
	MOVQ	X6, 0x68(SP)
	MOVQ	X7, 0x70(SP)
	CALL	·getThreadBlock(SB)

	// The current coroutine must be running on this very stack (see yield).
	MOVQ	threadBlock_current(AX), DI
	RUNNING_HERE(DI, yaNotRunning)

	// While Close's cancel unwinds the body, answer at once with the
	// tag's cancel value, a bounded number of times (drainCalls).
	CMPQ	coro_drain(DI), $0
	JNE	yaDrain

	// The arguments, the tag and the FP arguments into the record, which
	// has them in the frame's order (co->args, co->tag, co->fargs:
	// TestRecordLayout): 0x78 bytes, copied 16 at a time through the
	// vector registers, free now. Then pop the frame.
	MOVUPS	0x00(SP), X0
	MOVUPS	X0, (coro_args+0x00)(DI)
	MOVUPS	0x10(SP), X0
	MOVUPS	X0, (coro_args+0x10)(DI)
	MOVUPS	0x20(SP), X0
	MOVUPS	X0, (coro_args+0x20)(DI)
	MOVUPS	0x30(SP), X0
	MOVUPS	X0, (coro_args+0x30)(DI)
	MOVUPS	0x40(SP), X0
	MOVUPS	X0, (coro_args+0x40)(DI)
	MOVUPS	0x50(SP), X0
	MOVUPS	X0, (coro_args+0x50)(DI)
	MOVUPS	0x60(SP), X0
	MOVUPS	X0, (coro_args+0x60)(DI)
	MOVQ	0x70(SP), CX
	MOVQ	CX, (coro_args+0x70)(DI)
	ADDQ	$0x78, SP

	// Switch back to the resumer with &co->args, as yield does; the
	// resume returns from this function with its word in AX and XMM0.
	LEAQ	coro_args(DI), SI
	XORL	DX, DX
	MOVQ	$const_waitArgs, R8
	JMP	·suspend(SB)
yaNotRunning:
	ADDQ	$0x78, SP
	MOVQ	$const_ckENotRunning, AX
	RET
yaDrain:
	DECQ	coro_drain(DI)
	MOVQ	0x30(SP), CX
	MOVQ	coro_cancels(DI)(CX*8), AX
	ADDQ	$0x78, SP
	MOVQ	AX, X0
	RET
DATA	·yieldArgsAddr+0(SB)/8, $·yieldArgs(SB)
GLOBL	·yieldArgsAddr(SB), NOPTR|RODATA, $8

// callBody is the body of NewCall's coroutines:
//
//	uintptr_t callBody(ck_coroutine *co, uintptr_t fn);
//
// It returns fn(co->args[0], ..., co->args[5]), with co->fargs in XMM0-XMM7
// (WithFloatArgs), and keeps in the record what the Go side cannot read
// later: fn's floating-point result register (co->fret) and errno
// (co->errno), read at once, on the thread fn ran on.
TEXT ·callBody(SB), NOSPLIT|NOFRAME, $0-0
	// Entered like a call: the push realigns SP, and RBX (callee-saved)
	// keeps co across the calls.
	PUSHQ	BX
	MOVQ	DI, BX
	MOVQ	SI, R11
	MOVQ	(coro_fargs+0x00)(BX), X0
	MOVQ	(coro_fargs+0x08)(BX), X1
	MOVQ	(coro_fargs+0x10)(BX), X2
	MOVQ	(coro_fargs+0x18)(BX), X3
	MOVQ	(coro_fargs+0x20)(BX), X4
	MOVQ	(coro_fargs+0x28)(BX), X5
	MOVQ	(coro_fargs+0x30)(BX), X6
	MOVQ	(coro_fargs+0x38)(BX), X7
	MOVQ	(coro_args+0x00)(BX), DI
	MOVQ	(coro_args+0x08)(BX), SI
	MOVQ	(coro_args+0x10)(BX), DX
	MOVQ	(coro_args+0x18)(BX), CX
	MOVQ	(coro_args+0x20)(BX), R8
	MOVQ	(coro_args+0x28)(BX), R9
	MOVL	$8, AX // for a variadic fn: up to eight vector registers carry arguments
	CALL	R11

	// fn's results, then errno before any other C call can change it.
	MOVQ	X0, coro_fret(BX)
	MOVQ	AX, coro_value(BX)
	MOVQ	·libcErrnoLocation(SB), AX
	TESTQ	AX, AX
	JZ	noErrno
	CALL	AX
	MOVLQSX	(AX), CX
	MOVQ	CX, coro_errno(BX)
noErrno:
	MOVQ	coro_value(BX), AX
	POPQ	BX
	RET
DATA	·callBodyAddr+0(SB)/8, $·callBody(SB)
GLOBL	·callBodyAddr(SB), NOPTR|RODATA, $8
