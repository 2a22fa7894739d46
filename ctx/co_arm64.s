// Coroutines for arm64: resume, yield, the first frame of every coroutine,
// the per-thread block, the entry Go uses through runtime.cgocall, and the
// callback trampoline. All functions here use the AAPCS64 C ABI; see
// co_asm.h for the record layouts and ../ctxframe_arm64.h for the context
// frame, shared with the machine layer. As on amd64 (see co_amd64.s), the
// switches are balanced, entered by a call and left by RET, so that the
// return-address predictor mispredicts only the two returns that cross
// stacks in a round trip.
//
// Register use: X19-X23 are callee-saved (AAPCS64 6.1.1), so they keep the
// coroutine record, the thread block and the out pointers across the jump,
// during which the other side runs arbitrary C code. Each function saves
// the ones it uses, with LR, in a 16-byte aligned frame. Globals are
// addressed with MOVD $sym(SB) (ADRP+ADD) and loaded through the register:
// a MOVD sym(SB) load would clobber X27 (Go's REGTMP), which C callers
// expect to survive. X18 is never touched.

#include "textflag.h"
#include "co_asm.h"
#include "../ctxframe_arm64.h"


// threadBlock<> returns in X0 this thread's block (co_asm.h, TB_*),
// allocating it with calloc on the thread's first use. It clobbers only
// caller-saved registers and may run on any stack.
TEXT threadBlock<>(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR and the block while setspecific runs.
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	MOVD	$·tlsKey(SB), R0
	MOVD	(R0), R0
	MOVD	$·pthreadGetspecific(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	CBNZ	R0, done

	// First use on this thread: calloc(1, TB_SIZE), then
	// pthread_setspecific(key, block). The key's destructor frees it.
	MOVD	$1, R0
	MOVD	$TB_SIZE, R1
	MOVD	$·libcCalloc(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	MOVD	R0, 8(RSP)
	MOVD	R0, R1
	MOVD	$·tlsKey(SB), R0
	MOVD	(R0), R0
	MOVD	$·pthreadSetspecific(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	MOVD	8(RSP), R0
done:
	MOVD	0(RSP), R30
	ADD	$16, RSP
	RET

// resume is
//
//	int ck_resume(ck_coroutine *co, uintptr_t in, uintptr_t *out);
//
// It runs co until it yields (CK_OK) or returns (CK_DONE), storing the word
// it passed in *out (out may be NULL). Errors: CK_EINVAL for NULL,
// CK_ERUNNING, CK_EDEAD, and CK_ESTACK when the stack canary was clobbered
// (the coroutine is then dead).
TEXT ·resume(SB), NOSPLIT|NOFRAME, $0-0
	// Look up the thread block, keeping the arguments and LR in a frame,
	// then continue in resumeCore.
	SUB	$32, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R30), 16(RSP)
	MOVD	R0, R19
	MOVD	R1, R20
	MOVD	R2, R21
	BL	threadBlock<>(SB)
	MOVD	R0, R3
	MOVD	R19, R0
	MOVD	R20, R1
	MOVD	R21, R2
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R30)
	ADD	$32, RSP
	B	resumeCore<>(SB)

// resumeCore<> is resume with the thread block already in X3: co in X0, in
// in X1, out in X2.
TEXT resumeCore<>(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: X19-X23 and LR.
	SUB	$48, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R22), 16(RSP)
	STP	(R23, R30), 32(RSP)
	MOVD	R0, R19 // co
	MOVD	R1, R20 // in
	MOVD	R2, R21 // out
	MOVD	R3, R22 // thread block
	CBZ	R19, einval

	// Claim the coroutine: status suspended -> running, atomically
	// (load-acquire/store-release exclusive pair), so that two threads
	// racing to resume it cannot both get in.
	ADD	$CO_STATUS, R19, R1
claim:
	LDAXR	(R1), R0
	CBNZ	R0, busy // anything but ST_SUSPENDED (0)
	MOVD	$ST_RUNNING, R2
	STLXR	R2, (R1), R3
	CBNZ	R3, claim

	// Link it as this thread's current coroutine, remembering the outer one.
	MOVD	TB_CURRENT(R22), R2
	MOVD	R2, CO_PREV(R19)
	MOVD	R19, TB_CURRENT(R22)

	// Deliver in: in co->value, where a suspended yield asked for it, and
	// as trap's return value (in X2 for switchIn) if it waits in trap.
	MOVD	R20, CO_VALUE(R19)
	MOVD	CO_INPTR(R19), R2
	CBZ	R2, 2(PC)
	MOVD	R20, (R2)
	MOVD	CO_INTRAP(R19), R3
	MOVD	$CK_OK, R2
	CMP	$0, R3
	CSEL	NE, R20, R2, R2
	MOVD	R19, R0
	BL	switchIn<>(SB)

	// Back: X0 is the coroutine's next status (suspended after a yield,
	// dead after a return); yield or coEntry stored its context.
	MOVD	R0, R23
	MOVD	CO_PREV(R19), R2
	MOVD	R2, TB_CURRENT(R22)
	CBZ	R21, canary
	MOVD	CO_VALUE(R19), R2
	MOVD	R2, (R21)

canary:
	// The canary word at the low end of the stack must be intact; if not,
	// the stack overflowed past the guard page and the coroutine is dead.
	MOVD	CO_STACKLO(R19), R2
	MOVD	(R2), R2
	MOVD	CO_CANARY(R19), R3
	CMP	R3, R2
	BNE	estack

	// Publish the status last, with release order: once it says
	// suspended, another thread may resume the coroutine, and its context
	// is already stored.
	ADD	$CO_STATUS, R19, R1
	STLR	R23, (R1)
	MOVD	$CK_OK, R0
	CMP	$ST_DEAD, R23
	BNE	out
	MOVD	$CK_DONE, R0
	B	out

estack:
	MOVD	$ST_DEAD, R2
	MOVD	R2, CO_STATUS(R19)
	MOVD	$CK_ESTACK, R0
	B	out
busy:
	// X0 holds the status we found.
	CMP	$ST_RUNNING, R0
	MOVD	$CK_ERUNNING, R0
	BEQ	out
	MOVD	$CK_EDEAD, R0
	B	out
einval:
	MOVD	$CK_EINVAL, R0
out:
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R22)
	LDP	32(RSP), (R23, R30)
	ADD	$48, RSP
	RET

// switchIn<> switches from the resumer to the coroutine co (X0): it saves
// the resumer's context in co->caller and returns into the coroutine, with
// X0 = X2, the return value of the yield or trap it waits in, and X1 = co
// for a fresh coroutine's coEntry. It "returns" when the coroutine yields
// or ends, with the coroutine's next status in X0.
TEXT switchIn<>(SB), NOSPLIT|NOFRAME, $0-0
	SAVE_CONTEXT
	MOVD	RSP, R3
	MOVD	R3, CO_CALLER(R0)
	MOVD	R0, R1
	MOVD	CO_CTX(R0), R3
	MOVD	R2, R0
	RESTORE_CONTEXT(R3)
	RET	R10

// yield is
//
//	int ck_yield(ck_coroutine *co, uintptr_t out, uintptr_t *in);
//
// It suspends co, the innermost coroutine running on this thread, handing
// out to its resumer, and returns CK_OK when resumed, with the resumer's
// word in *in (in may be NULL; the resumer stores it). Called with any
// other co, it returns CK_ENOTRUNNING at once.
TEXT ·yield(SB), NOSPLIT|NOFRAME, $0-0
	// Check with temporaries only; LR is the resume PC of our frame.
	CBZ	R0, notrunning
	MOVD	CO_STATUS(R0), R3
	CMP	$ST_RUNNING, R3
	BNE	notrunning
	// co is the innermost coroutine on this thread exactly when we run on
	// its stack: a stack runs on one thread at a time, and a coroutine
	// resumed from co's body runs on a stack of its own.
	MOVD	RSP, R4
	MOVD	CO_STACKLO(R0), R3
	CMP	R3, R4
	BLO	notrunning
	MOVD	CO_STACKHI(R0), R3
	CMP	R3, R4
	BHS	notrunning

	// Switch back to the resumer, telling it we are suspended. The resume
	// that wakes us returns from this function with X0 = CK_OK.
	MOVD	R1, CO_VALUE(R0)
	MOVD	R2, CO_INPTR(R0)
	MOVD	ZR, CO_INTRAP(R0)
	SAVE_CONTEXT
	MOVD	RSP, R3
	MOVD	R3, CO_CTX(R0)
	MOVD	CO_CALLER(R0), R3
	MOVD	$ST_SUSPENDED, R0
	RESTORE_CONTEXT(R3)
	RET	R10
notrunning:
	MOVD	$CK_ENOTRUNNING, R0
	RET

// trap is
//
//	int64_t ck_trap(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b);
//
// the kernel trap of the trapping table (ctx.Trapping): it records op, a
// and b in the record and yields; the resumer (package kernel) reads them
// with (*Coroutine).Trap and resumes with the trap's result word, which
// trap returns. Called with a coroutine that is not the one running on
// this stack, it returns -1 (CK_ENOTTASK) at once.
TEXT ·trap(SB), NOSPLIT|NOFRAME, $0-0
	// Check with temporaries only; LR is the resume PC of our frame: trap
	// switches itself, like yield, one call below the body.
	CBZ	R0, notask
	MOVD	CO_STATUS(R0), R4
	CMP	$ST_RUNNING, R4
	BNE	notask
	MOVD	RSP, R5
	MOVD	CO_STACKLO(R0), R4
	CMP	R4, R5
	BLO	notask
	MOVD	CO_STACKHI(R0), R4
	CMP	R4, R5
	BHS	notask

	// Record the trap (op is a uint32: zero-extend it), yield 0 and wait
	// in trap: the resume that wakes us returns its word from here.
	MOVWU	R1, R1
	MOVD	R1, CO_TRAPOP(R0)
	MOVD	R2, CO_TRAPA(R0)
	MOVD	R3, CO_TRAPB(R0)
	MOVD	ZR, CO_VALUE(R0)
	MOVD	ZR, CO_INPTR(R0)
	MOVD	$1, R4
	MOVD	R4, CO_INTRAP(R0)
	SAVE_CONTEXT
	MOVD	RSP, R3
	MOVD	R3, CO_CTX(R0)
	MOVD	CO_CALLER(R0), R3
	MOVD	$ST_SUSPENDED, R0
	RESTORE_CONTEXT(R3)
	RET	R10
notask:
	MOVD	$CK_ENOTTASK, R0
	RET

// noTrap is the trap entry of the plain table: a coroutine that is not a
// kernel task cannot trap.
TEXT ·noTrap(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	$CK_ENOTTASK, R0
	RET

// goCycle is the cgocall target behind Cycle (see co_amd64.s for the
// struct): resume ring[i] with its co->value, round the ring, as long as
// each one traps with op == pass, at most max times, all in native code.
TEXT ·goCycle(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = a, X20 = thread block, X21 = the outer system SP, X22 = i,
	// X23 = count; frame keeps them and LR.
	SUB	$48, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R22), 16(RSP)
	STP	(R23, R30), 32(RSP)
	MOVD	R0, R19
	BL	threadBlock<>(SB)
	MOVD	R0, R20
	MOVD	TB_SYSSP(R20), R21
	MOVD	RSP, R2
	MOVD	R2, TB_SYSSP(R20)
	MOVD	16(R19), R22
	MOVD	$0, R23
loop:
	MOVD	$CYCLE_MORE, R0
	MOVD	24(R19), R2
	CMP	R2, R23
	BEQ	stop
	MOVD	0(R19), R2
	MOVD	(R2)(R22<<3), R0
	MOVD	CO_VALUE(R0), R1
	MOVD	$0, R2
	MOVD	R20, R3
	BL	resumeCore<>(SB)
	ADD	$1, R23
	CBNZ	R0, stop
	// It yielded: through trap with the passing op?
	MOVD	0(R19), R2
	MOVD	(R2)(R22<<3), R2
	MOVD	CO_TRAPOP(R2), R3
	MOVD	32(R19), R4
	CMP	R4, R3
	BNE	stop
	MOVD	ZR, CO_TRAPOP(R2)
	ADD	$1, R22
	MOVD	8(R19), R2
	CMP	R2, R22
	BNE	loop
	MOVD	$0, R22
	B	loop
stop:
	MOVD	R22, 40(R19)
	MOVD	R23, 48(R19)
	MOVD	R0, 56(R19)
	MOVD	R21, TB_SYSSP(R20)
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R22)
	LDP	32(RSP), (R23, R30)
	ADD	$48, RSP
	RET

// current is
//
//	ck_coroutine *ck_current(void);
//
// the innermost coroutine running on this thread, or NULL.
TEXT ·current(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	BL	threadBlock<>(SB)
	MOVD	TB_CURRENT(R0), R0
	MOVD	0(RSP), R30
	ADD	$16, RSP
	RET

// coEntry is the entry function of every coroutine's context: switchIn's
// first return lands in the machine layer's contextEntry, which calls us
// with co in X1, LR pointing at the finish stub and FP = 0. It calls
// co->fn(co, co->arg) and, when that returns, stores the result and
// switches back for good, telling the resumer the coroutine is dead.
TEXT coEntry<>(SB), NOSPLIT|NOFRAME, $0-0
	// X19 is ours to keep: nothing returns into this frame's caller.
	MOVD	R1, R19
	MOVD	R19, R0
	MOVD	CO_ARG(R19), R1
	MOVD	CO_FN(R19), R9
	BL	(R9)

	// fn returned: its result is the last word out.
	MOVD	R0, CO_VALUE(R19)
	MOVD	CO_CALLER(R19), R3
	MOVD	$ST_DEAD, R0
	RESTORE_CONTEXT(R3)
	RET	R10

// goResume is the cgocall target behind (*Coroutine).Resume:
//
//	int ck_go_resume(ck_coroutine *co);
//
// in and out travel in co->value. Before resuming it records the SP of
// this, the thread's system stack, in the thread block: callbacks into Go
// from the coroutine's stack switch back below it (see callbackCommon).
TEXT ·goResume(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: X19-X21 and LR.
	SUB	$32, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R30), 16(RSP)
	MOVD	R0, R19
	BL	threadBlock<>(SB)
	MOVD	R0, R20
	MOVD	TB_SYSSP(R20), R21
	MOVD	RSP, R2
	MOVD	R2, TB_SYSSP(R20)
	MOVD	R19, R0
	MOVD	CO_VALUE(R19), R1
	ADD	$CO_VALUE, R19, R2
	MOVD	R20, R3
	BL	resumeCore<>(SB)
	MOVD	R21, TB_SYSSP(R20)
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R30)
	ADD	$32, RSP
	RET

// callbackCommon runs a registered callback (index in X9, from its thunk)
// with the C arguments it was called with. On a coroutine stack it first
// switches to the thread's system stack, below the SP goResume recorded:
// the runtime's cgocallback must run there (it checks SP against the
// thread's stack bounds and dies with "morestack on g0" otherwise). X0-X7,
// X8 (indirect result) and D0-D7 pass through; X0:X1 and D0:D1 carry the
// results back.
//
// Frame on the caller's stack:
//
//	+0x00..0x3f  X0-X7
//	+0x40        X8, X9 (callback index)
//	+0x50..0x8f  D0-D7
//	+0x90        X19 (callee-saved; holds the caller's SP across the call), LR
//	+0xa0        FP, pad
TEXT ·callbackCommon(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$0xb0, RSP
	STP	(R0, R1), 0x00(RSP)
	STP	(R2, R3), 0x10(RSP)
	STP	(R4, R5), 0x20(RSP)
	STP	(R6, R7), 0x30(RSP)
	STP	(R8, R9), 0x40(RSP)
	FSTPD	(F0, F1), 0x50(RSP)
	FSTPD	(F2, F3), 0x60(RSP)
	FSTPD	(F4, F5), 0x70(RSP)
	FSTPD	(F6, F7), 0x80(RSP)
	STP	(R19, R30), 0x90(RSP)
	MOVD	R29, 0xa0(RSP)

	// The stack to call on: this one (X11 = SP) unless SP lies inside the
	// current coroutine's stack and Go entered native code on this thread.
	BL	threadBlock<>(SB)
	MOVD	RSP, R11
	MOVD	TB_CURRENT(R0), R2
	CBZ	R2, call
	MOVD	TB_SYSSP(R0), R3
	CBZ	R3, call
	MOVD	CO_STACKLO(R2), R4
	CMP	R4, R11
	BLO	call
	MOVD	CO_STACKHI(R2), R4
	CMP	R4, R11
	BHS	call
	SUB	$SYSSP_GAP, R3
	AND	$~15, R3
	MOVD	R3, R11

call:
	// Target from the table, arguments back in their registers, then call
	// on the chosen stack with the caller's SP kept in X19.
	MOVD	0x48(RSP), R9
	MOVD	$·callbackTargets(SB), R10
	MOVD	(R10)(R9<<3), R10
	FLDPD	0x50(RSP), (F0, F1)
	FLDPD	0x60(RSP), (F2, F3)
	FLDPD	0x70(RSP), (F4, F5)
	FLDPD	0x80(RSP), (F6, F7)
	LDP	0x00(RSP), (R0, R1)
	LDP	0x10(RSP), (R2, R3)
	LDP	0x20(RSP), (R4, R5)
	LDP	0x30(RSP), (R6, R7)
	MOVD	0x40(RSP), R8
	MOVD	RSP, R19
	MOVD	R11, RSP
	BL	(R10)
	MOVD	R19, RSP
	LDP	0x90(RSP), (R19, R30)
	MOVD	0xa0(RSP), R29
	ADD	$0xb0, RSP
	RET

// Entry points' addresses for Go (see the machine layer for why).
TEXT ·resumePC(SB), NOSPLIT, $0-8
	MOVD	$·resume(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·yieldPC(SB), NOSPLIT, $0-8
	MOVD	$·yield(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·currentPC(SB), NOSPLIT, $0-8
	MOVD	$·current(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·goResumePC(SB), NOSPLIT, $0-8
	MOVD	$·goResume(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·coEntryPC(SB), NOSPLIT, $0-8
	MOVD	$coEntry<>(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·callbackCommonPC(SB), NOSPLIT, $0-8
	MOVD	$·callbackCommon(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·trapPC(SB), NOSPLIT, $0-8
	MOVD	$·trap(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·noTrapPC(SB), NOSPLIT, $0-8
	MOVD	$·noTrap(SB), R0
	MOVD	R0, ret+0(FP)
	RET

TEXT ·goCyclePC(SB), NOSPLIT, $0-8
	MOVD	$·goCycle(SB), R0
	MOVD	R0, ret+0(FP)
	RET
