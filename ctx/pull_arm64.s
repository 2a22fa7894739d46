// Pull loops for arm64 (pull.go): the common code behind every entry of
// yieldTable, which a C library calls as its callback and which yields
// the callback's arguments, and the body of NewCall's coroutines, which
// calls the library.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_arm64.h"
#include "co_arm64.h"

// yieldArgs is the common code of the yield table (thunks_arm64.s; see
// pull_amd64.s): entry N puts N in R9 and jumps here. It stores the six
// integer arguments in co->args, the tag in co->tag and D0-D7 (the double
// and float arguments) in co->fargs, and switches back to the resumer
// itself, with its frame popped and LR its own return address, as yield
// does; the coroutine waits as a trap does (inTrap = waitArgs), so the
// resume's word comes back as the result, in X0 and D0 (switchIn). On
// Close's cancel the result is the value WithCancelValue set for the tag
// (CK_ECANCELED unless set), and so is that of the calls the body makes
// while the cancel unwinds it (at most drainCalls, without suspending). With no coroutine running on this stack it
// returns CK_ENOTRUNNING at once.
//
// Frame, in the record's order from +0 (co->args, co->tag, co->fargs), so
// that one run of pair loads and stores copies it:
//
//	+0x00..0x2f  X0-X5
//	+0x30        X9 (the tag)
//	+0x38..0x77  D0-D7
//	+0x78        LR
TEXT ·yieldArgs(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$128, RSP
	STP	(R0, R1), 0x00(RSP)
	STP	(R2, R3), 0x10(RSP)
	STP	(R4, R5), 0x20(RSP)
	MOVD	R9, 0x30(RSP)
	FMOVD	F0, 0x38(RSP)
	FSTPD	(F1, F2), 0x40(RSP)
	FSTPD	(F3, F4), 0x50(RSP)
	FSTPD	(F5, F6), 0x60(RSP)
	FMOVD	F7, 0x70(RSP)
	MOVD	R30, 0x78(RSP)
	BL	·getThreadBlock(SB)

	// The current coroutine must be running on this very stack.
	MOVD	threadBlock_current(R0), R0
	RUNNING_HERE(R0, R3, R4, yaNotRunning)

	// While Close's cancel unwinds the body, answer at once with the
	// tag's cancel value, a bounded number of times (drainCalls).
	MOVD	coro_drain(R0), R3
	CBNZ	R3, yaDrain

	// The 0x78 bytes into the record (TestRecordLayout checks the order);
	// pop the frame, LR back.
	ADD	$coro_args, R0, R1
	LDP	0x00(RSP), (R2, R3)
	STP	(R2, R3), 0x00(R1)
	LDP	0x10(RSP), (R2, R3)
	STP	(R2, R3), 0x10(R1)
	LDP	0x20(RSP), (R2, R3)
	STP	(R2, R3), 0x20(R1)
	LDP	0x30(RSP), (R2, R3)
	STP	(R2, R3), 0x30(R1)
	LDP	0x40(RSP), (R2, R3)
	STP	(R2, R3), 0x40(R1)
	LDP	0x50(RSP), (R2, R3)
	STP	(R2, R3), 0x50(R1)
	LDP	0x60(RSP), (R2, R3)
	STP	(R2, R3), 0x60(R1)
	LDP	0x70(RSP), (R2, R30)
	MOVD	R2, 0x70(R1)
	ADD	$128, RSP

	// Switch back to the resumer with &co->args, as yield does.
	MOVD	$const_waitArgs, R3
	MOVD	ZR, R2
	B	·suspend(SB)
yaNotRunning:
	MOVD	0x78(RSP), R30
	ADD	$128, RSP
	MOVD	$const_ckENotRunning, R0
	RET
yaDrain:
	SUB	$1, R3
	MOVD	R3, coro_drain(R0)
	MOVD	0x30(RSP), R2
	ADD	$coro_cancels, R0, R1
	MOVD	(R1)(R2<<3), R0
	MOVD	0x78(RSP), R30
	ADD	$128, RSP
	FMOVD	R0, F0
	RET
DATA	·yieldArgsAddr+0(SB)/8, $·yieldArgs(SB)
GLOBL	·yieldArgsAddr(SB), NOPTR|RODATA, $8

// callBody is the body of NewCall's coroutines (see pull_amd64.s): it
// returns fn(co->args[0], ..., co->args[5]), fn in X1, with co->fargs in
// D0-D7, and keeps fn's D0 in co->fret and errno, read at once on fn's
// thread, in co->errno.
TEXT ·callBody(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR, and X19 (callee-saved), which keeps co across the calls.
	SUB	$16, RSP
	STP	(R30, R19), 0(RSP)
	MOVD	R1, R9
	MOVD	R0, R19
	FMOVD	(coro_fargs+0x00)(R19), F0
	FMOVD	(coro_fargs+0x08)(R19), F1
	FMOVD	(coro_fargs+0x10)(R19), F2
	FMOVD	(coro_fargs+0x18)(R19), F3
	FMOVD	(coro_fargs+0x20)(R19), F4
	FMOVD	(coro_fargs+0x28)(R19), F5
	FMOVD	(coro_fargs+0x30)(R19), F6
	FMOVD	(coro_fargs+0x38)(R19), F7
	MOVD	(coro_args+0x00)(R19), R0
	MOVD	(coro_args+0x08)(R19), R1
	MOVD	(coro_args+0x10)(R19), R2
	MOVD	(coro_args+0x18)(R19), R3
	MOVD	(coro_args+0x20)(R19), R4
	MOVD	(coro_args+0x28)(R19), R5
	BL	(R9)

	// fn's results, then errno before any other C call can change it.
	FMOVD	F0, coro_fret(R19)
	MOVD	R0, coro_value(R19)
	MOVD	$·libcErrnoLocation(SB), R9
	MOVD	(R9), R9
	CBZ	R9, noErrno
	BL	(R9)
	MOVW	(R0), R1
	MOVD	R1, coro_errno(R19)
noErrno:
	MOVD	coro_value(R19), R0
	LDP	0(RSP), (R30, R19)
	ADD	$16, RSP
	RET
DATA	·callBodyAddr+0(SB)/8, $·callBody(SB)
GLOBL	·callBodyAddr(SB), NOPTR|RODATA, $8
