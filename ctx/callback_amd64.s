// Go callbacks for amd64 (callback.go): the common code behind every thunk
// of thunkTable, which moves to the stack Go may run on, calls the
// runtime's callback entry and comes back, and the unwind a panic in a Go
// callback runs.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_amd64.h"
#include "co_amd64.h"

// goCbUnwind is the cgocall target of a callback's panic guard (guarded in
// callback.go), run while the panic, or Goexit, leaves the Go callback:
//
//	void ck_go_cb_unwind(void);
//
// It pops the callback's record off the thread block, and when the
// callback was called on a coroutine stack it marks dead every coroutine
// whose frames the panic abandons, from the thread's current one down to
// the record's boundary, and makes the boundary's outer coroutine current
// again. The Go runtime keeps the goroutine on the callback's thread until
// the panic has left the callback, so this is the right thread block.
TEXT ·goCbUnwind(SB), NOSPLIT|NOFRAME, $0-0
	SUBQ	$8, SP
	CALL	·getThreadBlock(SB)
	ADDQ	$8, SP
	MOVQ	threadBlock_cbTop(AX), CX
	TESTQ	CX, CX
	JZ	done
	MOVQ	cbRecord_prev(CX), DX
	MOVQ	DX, threadBlock_cbTop(AX)
	MOVQ	cbRecord_boundary(CX), R8
	TESTQ	R8, R8
	JZ	done
	MOVQ	threadBlock_current(AX), CX
	MARK_DEAD(CX, R8, DX, kill, last)
	MOVQ	coro_prev(R8), DX
	MOVQ	DX, threadBlock_current(AX)
done:
	RET
DATA	·goCbUnwindAddr+0(SB)/8, $·goCbUnwind(SB)
GLOBL	·goCbUnwindAddr(SB), NOPTR|RODATA, $8

// callbackCommon runs a registered callback (index in R11, from its thunk)
// with the C arguments it was called with. Called on a coroutine stack, it
// first switches to the stack the coroutine's outermost resumer runs on
// (the thread's system stack when Go or C on the thread's own stack
// resumed it), just below that resumer's saved context: the runtime's
// cgocallback must run there (it checks SP against the thread's stack
// bounds and dies with "morestack on g0" otherwise). The outermost
// resumer is found by walking out from the current coroutine while each
// one's resumer ran on the stack of the coroutine before it. For the
// duration of the call a cbRecord on this frame tells goCbUnwind which
// coroutines a panic would abandon. Up to six integer and eight
// floating-point register arguments pass through; RAX:RDX and XMM0:XMM1
// carry the results back.
//
// Frame on the caller's stack, struct cbFrame (thunk_amd64.go), its
// offsets from go_asm.h:
//
//	+0x00..0x7f  xmm    XMM0-XMM7
//	+0x80..0xaf  args   RDI RSI RDX RCX R8 R9
//	+0xb0        index  R11 (callback index)
//	+0xb8        rbx    RBX (callee-saved; holds the caller's SP across the call)
//	+0xc0        rec    cbRecord {prev, boundary}
//	+0xd0        block  the thread block
//	+0xd8        fp     the caller's FP control state (MXCSR, x87 CW), as saved
//	+0xe0        gofp   Go's, with the caller's status flags, to load
//
// Go code runs with Go's floating-point control state (goFP): a body that
// set another rounding mode or flush-to-zero must not change the Go
// callback's arithmetic, and gets its own state back when the callback
// returns. Resumes from Go rely on it too (switchIn stores goFP as a Go
// resumer's state without reading it).
TEXT ·callbackCommon(SB), NOSPLIT|NOFRAME, $0-0
	// Entered by a jump from a thunk that C called: cbFrame__size (0xe8)
	// bytes realign SP.
	SUBQ	$cbFrame__size, SP
	MOVUPS	X0, (cbFrame_xmm+0x00)(SP)
	MOVUPS	X1, (cbFrame_xmm+0x10)(SP)
	MOVUPS	X2, (cbFrame_xmm+0x20)(SP)
	MOVUPS	X3, (cbFrame_xmm+0x30)(SP)
	MOVUPS	X4, (cbFrame_xmm+0x40)(SP)
	MOVUPS	X5, (cbFrame_xmm+0x50)(SP)
	MOVUPS	X6, (cbFrame_xmm+0x60)(SP)
	MOVUPS	X7, (cbFrame_xmm+0x70)(SP)
	MOVQ	DI, (cbFrame_args+0x00)(SP)
	MOVQ	SI, (cbFrame_args+0x08)(SP)
	MOVQ	DX, (cbFrame_args+0x10)(SP)
	MOVQ	CX, (cbFrame_args+0x18)(SP)
	MOVQ	R8, (cbFrame_args+0x20)(SP)
	MOVQ	R9, (cbFrame_args+0x28)(SP)
	MOVQ	R11, cbFrame_index(SP)
	MOVQ	BX, cbFrame_rbx(SP)

	// The stack to call on (R11): this one, unless SP lies inside the
	// current coroutine's stack. The boundary (R10): 0, or the outermost
	// coroutine below the callback.
	CALL	·getThreadBlock(SB)
	MOVQ	AX, cbFrame_block(SP)
	CMPQ	threadBlock_direct(AX), $0
	JNE	refuse
	MOVQ	SP, R11
	XORL	R10, R10
	MOVQ	threadBlock_current(AX), CX
	TESTQ	CX, CX
	JZ	record
	CMPQ	SP, coro_stackLo(CX)
	JCS	record
	CMPQ	SP, coro_stackHi(CX)
	JCC	record
walk:
	// Outward while CX's resumer ran on the stack of the coroutine before it.
	MOVQ	coro_prev(CX), DX
	TESTQ	DX, DX
	JZ	found
	MOVQ	coro_caller(CX), R8
	CMPQ	R8, coro_stackLo(DX)
	JCS	found
	CMPQ	R8, coro_stackHi(DX)
	JCC	found
	MOVQ	DX, CX
	JMP	walk
found:
	MOVQ	CX, R10
	MOVQ	coro_caller(CX), R11
	SUBQ	$const_sysSPGap, R11
	ANDQ	$~15, R11

record:
	// Push the callback's record on the thread block.
	MOVQ	threadBlock_cbTop(AX), CX
	MOVQ	CX, (cbFrame_rec+cbRecord_prev)(SP)
	MOVQ	R10, (cbFrame_rec+cbRecord_boundary)(SP)
	LEAQ	cbFrame_rec(SP), CX
	MOVQ	CX, threadBlock_cbTop(AX)

	// Go's FP control state for the Go code, if the caller's differs
	// (R8 and R9 are reloaded below).
	STMXCSR	cbFrame_fp(SP)
	FSTCW	(cbFrame_fp+4)(SP)
	FP_IS_GOS(cbFrame_fp(SP))
	JZ	fpGo
	MOVL	cbFrame_fp(SP), R8
	ANDL	$0x3f, R8
	ORL	·goFP(SB), R8
	MOVL	R8, cbFrame_gofp(SP)
	MOVW	·goFP+4(SB), R8
	MOVW	R8, (cbFrame_gofp+4)(SP)
	LDMXCSR	cbFrame_gofp(SP)
	FLDCW	(cbFrame_gofp+4)(SP)
fpGo:

	// Target from the table, arguments back in their registers, then call
	// on the chosen stack with the caller's SP kept in RBX.
	MOVQ	cbFrame_index(SP), AX
	LEAQ	·callbackTargets(SB), R10
	MOVQ	(R10)(AX*8), R10
	MOVUPS	(cbFrame_xmm+0x00)(SP), X0
	MOVUPS	(cbFrame_xmm+0x10)(SP), X1
	MOVUPS	(cbFrame_xmm+0x20)(SP), X2
	MOVUPS	(cbFrame_xmm+0x30)(SP), X3
	MOVUPS	(cbFrame_xmm+0x40)(SP), X4
	MOVUPS	(cbFrame_xmm+0x50)(SP), X5
	MOVUPS	(cbFrame_xmm+0x60)(SP), X6
	MOVUPS	(cbFrame_xmm+0x70)(SP), X7
	MOVQ	(cbFrame_args+0x00)(SP), DI
	MOVQ	(cbFrame_args+0x08)(SP), SI
	MOVQ	(cbFrame_args+0x10)(SP), DX
	MOVQ	(cbFrame_args+0x18)(SP), CX
	MOVQ	(cbFrame_args+0x20)(SP), R8
	MOVQ	(cbFrame_args+0x28)(SP), R9
	MOVQ	SP, BX
	MOVQ	R11, SP
	CALL	R10
	MOVQ	BX, SP

	// Pop the record (RAX:RDX and XMM0:XMM1 hold the results), and give
	// the caller its FP control state back if it was not Go's.
	MOVQ	cbFrame_block(SP), R8
	MOVQ	(cbFrame_rec+cbRecord_prev)(SP), R9
	MOVQ	R9, threadBlock_cbTop(R8)
	FP_IS_GOS(cbFrame_fp(SP))
	JZ	3(PC)
	LDMXCSR	cbFrame_fp(SP)
	FLDCW	(cbFrame_fp+4)(SP)
	MOVQ	cbFrame_rbx(SP), BX
	ADDQ	$cbFrame__size, SP
	RET

refuse:
	// A direct resume runs on this thread (its coroutine is in
	// threadBlock_direct): the goroutine is not in a system call, so the
	// runtime's cgocallback cannot run, and the body cannot go on without
	// the callback's result. Abandon every coroutine from the current one
	// down to the direct one, dead in its own generation, and switch back
	// to the direct resume's context with stRefused; its resumeCore makes
	// the direct coroutine's resumer current again and returns CK_EREFUSED.
	MOVQ	threadBlock_direct(AX), R8
	MOVQ	threadBlock_current(AX), CX
	MARK_DEAD(CX, R8, DX, rkill, rswitch)
	// RESTORE_CONTEXT compares with a frame just saved: save one on the
	// abandoned stack.
	SAVE_CONTEXT
	MOVQ	$const_stRefused, AX
	RESTORE_CONTEXT(coro_caller(R8))
	RET
