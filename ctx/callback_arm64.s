// Go callbacks for arm64 (callback.go): the common code behind every thunk
// of thunkTable, which moves to the stack Go may run on, calls the
// runtime's callback entry and comes back, and the unwind a panic in a Go
// callback runs.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_arm64.h"
#include "co_arm64.h"

// goCbUnwind is the cgocall target of a callback's panic guard (see
// callback_amd64.s): pop the callback's record and mark dead the coroutines
// whose frames the panic abandons.
TEXT ·goCbUnwind(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	BL	·getThreadBlock(SB)
	MOVD	0(RSP), R30
	ADD	$16, RSP
	MOVD	threadBlock_cbTop(R0), R2
	CBZ	R2, done
	MOVD	cbRecord_prev(R2), R3
	MOVD	R3, threadBlock_cbTop(R0)
	MOVD	cbRecord_boundary(R2), R4
	CBZ	R4, done
	MOVD	threadBlock_current(R0), R2
	MARK_DEAD(R2, R4, R3, kill, last)
	MOVD	coro_prev(R4), R3
	MOVD	R3, threadBlock_current(R0)
done:
	RET
DATA	·goCbUnwindAddr+0(SB)/8, $·goCbUnwind(SB)
GLOBL	·goCbUnwindAddr(SB), NOPTR|RODATA, $8

// callbackCommon runs a registered callback (index in X9, from its thunk)
// with the C arguments it was called with, on the stack of the
// coroutine's outermost resumer when called on a coroutine stack, with a
// cbRecord pushed on the thread block for the duration (see callback_amd64.s).
// X0-X7, X8 (indirect result) and D0-D7 pass through; X0:X1 and D0:D1
// carry the results back.
//
// Frame on the caller's stack, struct cbFrame (thunk_arm64.go), its
// offsets from go_asm.h:
//
//	+0x00        lr, x19      LR, X19 (callee-saved; holds the caller's SP across the call)
//	+0x10..0x4f  args         X0-X7
//	+0x50        x8, index    X8, X9 (callback index)
//	+0x60..0x9f  fargs        D0-D7
//	+0xa0        fp, block    FP, the thread block
//	+0xb0        rec          cbRecord {prev, boundary}
//	+0xc0        fpcr         the caller's FPCR, pad
//
// The Go code runs with Go's FPCR, goFP, and the caller gets its own back
// (see callback_amd64.s).
TEXT ·callbackCommon(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$cbFrame__size, RSP
	STP	(R30, R19), cbFrame_lr(RSP)
	STP	(R0, R1), (cbFrame_args+0x00)(RSP)
	STP	(R2, R3), (cbFrame_args+0x10)(RSP)
	STP	(R4, R5), (cbFrame_args+0x20)(RSP)
	STP	(R6, R7), (cbFrame_args+0x30)(RSP)
	STP	(R8, R9), cbFrame_x8(RSP)
	FSTPD	(F0, F1), (cbFrame_fargs+0x00)(RSP)
	FSTPD	(F2, F3), (cbFrame_fargs+0x10)(RSP)
	FSTPD	(F4, F5), (cbFrame_fargs+0x20)(RSP)
	FSTPD	(F6, F7), (cbFrame_fargs+0x30)(RSP)
	MOVD	R29, cbFrame_fp(RSP)

	// The stack to call on (X11): this one, unless SP lies inside the
	// current coroutine's stack. The boundary (X12): 0, or the outermost
	// coroutine below the callback.
	BL	·getThreadBlock(SB)
	MOVD	R0, cbFrame_block(RSP)
	MOVD	threadBlock_direct(R0), R8
	CBNZ	R8, refuse
	MOVD	RSP, R11
	MOVD	$0, R12
	MOVD	threadBlock_current(R0), R2
	CBZ	R2, record
	MOVD	coro_stackLo(R2), R4
	CMP	R4, R11
	BLO	record
	MOVD	coro_stackHi(R2), R4
	CMP	R4, R11
	BHS	record
walk:
	// Outward while X2's resumer ran on the stack of the coroutine before it.
	MOVD	coro_prev(R2), R3
	CBZ	R3, found
	MOVD	coro_caller(R2), R5
	MOVD	coro_stackLo(R3), R4
	CMP	R4, R5
	BLO	found
	MOVD	coro_stackHi(R3), R4
	CMP	R4, R5
	BHS	found
	MOVD	R3, R2
	B	walk
found:
	MOVD	R2, R12
	MOVD	coro_caller(R2), R11
	SUB	$const_sysSPGap, R11
	AND	$~15, R11

record:
	// Push the callback's record on the thread block.
	MOVD	threadBlock_cbTop(R0), R2
	MOVD	R2, (cbFrame_rec+cbRecord_prev)(RSP)
	MOVD	R12, (cbFrame_rec+cbRecord_boundary)(RSP)
	ADD	$cbFrame_rec, RSP, R2
	MOVD	R2, threadBlock_cbTop(R0)

	// Go's FPCR for the Go code, if the caller's differs.
	MRS	FPCR, R9
	MOVD	R9, cbFrame_fpcr(RSP)
	FPCR_IS_GOS(R9)
	BEQ	2(PC)
	MSR	R10, FPCR

	// Target from the table, arguments back in their registers, then call
	// on the chosen stack with the caller's SP kept in X19.
	MOVD	cbFrame_index(RSP), R9
	MOVD	$·callbackTargets(SB), R10
	MOVD	(R10)(R9<<3), R10
	FLDPD	(cbFrame_fargs+0x00)(RSP), (F0, F1)
	FLDPD	(cbFrame_fargs+0x10)(RSP), (F2, F3)
	FLDPD	(cbFrame_fargs+0x20)(RSP), (F4, F5)
	FLDPD	(cbFrame_fargs+0x30)(RSP), (F6, F7)
	LDP	(cbFrame_args+0x00)(RSP), (R0, R1)
	LDP	(cbFrame_args+0x10)(RSP), (R2, R3)
	LDP	(cbFrame_args+0x20)(RSP), (R4, R5)
	LDP	(cbFrame_args+0x30)(RSP), (R6, R7)
	MOVD	cbFrame_x8(RSP), R8
	MOVD	RSP, R19
	MOVD	R11, RSP
	BL	(R10)
	MOVD	R19, RSP

	// Pop the record (X0:X1 and D0:D1 hold the results), and give the
	// caller its FPCR back if it was not Go's.
	MOVD	cbFrame_block(RSP), R9
	MOVD	(cbFrame_rec+cbRecord_prev)(RSP), R10
	MOVD	R10, threadBlock_cbTop(R9)
	MOVD	cbFrame_fpcr(RSP), R9
	FPCR_IS_GOS(R9)
	BEQ	2(PC)
	MSR	R9, FPCR
	LDP	cbFrame_lr(RSP), (R30, R19)
	MOVD	cbFrame_fp(RSP), R29
	ADD	$cbFrame__size, RSP
	RET

// refuse: a direct resume runs on this thread (see callback_amd64.s). Every
// coroutine from the current one down to the direct one (X8) is abandoned,
// dead in its own generation, and we switch back to the direct resume's
// context with stRefused.
refuse:
	MOVD	threadBlock_current(R0), R2
	MARK_DEAD(R2, R8, R3, rkill, rswitch)
	// RESTORE_CONTEXT compares with a frame just saved: save one on the
	// abandoned stack.
	SAVE_CONTEXT
	MOVD	coro_caller(R8), R3
	MOVD	$const_stRefused, R0
	RESTORE_CONTEXT(R3)
	RET	R10
