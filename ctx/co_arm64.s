// The switch core for arm64: resume and yield, the switch between a
// coroutine and its resumer, the first frame of every coroutine, and the
// resumes Go makes (through runtime.cgocall, or direct). The other rooms:
// thread_arm64.s (the per-thread block), trap_arm64.s (traps and rings),
// callback_arm64.s (Go callbacks), pull_arm64.s (pull loops), fp_arm64.s and
// gocoro_arm64.s; co_arm64.h holds the checks they share. All functions here use the
// AAPCS64 C ABI. Record layouts and constants come from go_asm.h (see
// co_amd64.s); the context frame is ctxframe_arm64.h, a copy of the
// machine layer's. The switches are balanced, entered by a call and left by
// RET, so that the return-address predictor mispredicts only the two
// returns that cross stacks in a round trip, and a switch into C code
// built for BTI (-mbranch-protection) needs no landing pad. (amd64 resumes
// by JMP and saves one misprediction; see switchIn for why not here.)
//
// Register use: X19-X23 are callee-saved (AAPCS64 6.1.1), so they keep the
// coroutine record, the thread block and the flags across the switch,
// during which the other side runs arbitrary C code. Each function saves
// the ones it uses, with LR, in a 16-byte aligned frame, LR at 0(RSP):
// that is where the Go linker's unwind table (for debuggers and
// profilers) says a frame of an assembly function keeps it. Globals are
// addressed with MOVD $sym(SB) (ADRP+ADD) and loaded through the register:
// a MOVD sym(SB) load would clobber X27 (Go's REGTMP), which C callers
// expect to survive. X18 is never touched.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_arm64.h"
#include "co_arm64.h"

// resume is
//
//	int ck_resume(ck_coroutine *co, uintptr_t in, uintptr_t *out);
//
// It runs co until it yields (CK_OK) or returns (CK_DONE), storing the word
// it passed in *out (out may be NULL). Errors: CK_EINVAL for NULL,
// CK_ERUNNING, CK_EDEAD, CK_ECLOSED.
TEXT ·resume(SB), NOSPLIT|NOFRAME, $0-0
	// Look up the thread block, keeping the arguments and LR in a frame.
	SUB	$32, RSP
	STP	(R30, R19), 0(RSP)
	STP	(R20, R21), 16(RSP)
	MOVD	R0, R19
	MOVD	R1, R20
	MOVD	R2, R21
	BL	·getThreadBlock(SB)
	MOVD	R0, R3
	MOVD	R19, R0
	MOVD	R20, R1
	MOVD	R21, R2
	LDP	0(RSP), (R30, R19)
	LDP	16(RSP), (R20, R21)
	ADD	$32, RSP

	// The claim expects the generation the record has now, suspended: C
	// holds the record itself, not a handle of one generation.
	MOVD	$0, R4
	MOVD	$0, R5
	CBZ	R0, core
	MOVD	coro_status(R0), R4
	AND	$~const_stMask, R4
core:
	B	·resumeCore(SB)
DATA	·resumeAddr+0(SB)/8, $·resume(SB)
GLOBL	·resumeAddr(SB), NOPTR|RODATA, $8

// resumeCore resumes co (X0) with in (X1), storing its word at out (X2,
// may be 0), with the thread block in X3, the status word the claim
// expects in X4 and flags in X5 (see co_amd64.s: resumeCancel, resumeGo).
// It returns a CK_* code, and touches nothing the caller passed by address
// after the switch.
TEXT ·resumeCore(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR and X19-X24.
	SUB	$64, RSP
	STP	(R30, R19), 0(RSP)
	STP	(R20, R21), 16(RSP)
	STP	(R22, R23), 32(RSP)
	MOVD	R24, 48(RSP)
	MOVD	R0, R19 // co
	MOVD	R1, R20 // in
	MOVD	R2, R21 // out
	MOVD	R3, R22 // thread block
	MOVD	R4, R23 // expected status word, then its generation
	MOVD	R5, R24 // flags
	CBZ	R19, einval

	// Claim the coroutine: expected -> running, same generation,
	// atomically (load-acquire/store-release exclusive pair).
	AND	$~const_stMask, R23, R6
	ORR	$const_stRunning, R6, R7
	ADD	$coro_status, R19, R1
claim:
	LDAXR	(R1), R0
	CMP	R23, R0
	BNE	busy
	STLXR	R7, (R1), R3
	CBNZ	R3, claim
	MOVD	R6, R23

	// The body is bound to the thread it first ran on (see co_amd64.s): on
	// another thread, give the claim back (X0 is still the status word
	// expected) and refuse; a fresh record is bound here unless it roams.
	MOVD	coro_thread(R19), R2
	MOVD	threadBlock_id(R22), R3
	CMP	R3, R2
	BEQ	bound
	CBNZ	R2, wrongThread
	MOVD	coro_roam(R19), R2
	CBNZ	R2, bound
	MOVD	R3, coro_thread(R19)
bound:

	// Link it as this thread's current coroutine, remembering the outer one.
	MOVD	threadBlock_current(R22), R2
	MOVD	R2, coro_prev(R19)
	MOVD	R19, threadBlock_current(R22)

	// Deliver in: in co->value, at the address a suspended yield gave, and
	// as trap's return value (in X2 for switchIn) if it waits in trap.
	MOVD	R20, coro_value(R19)
	MOVD	coro_inPtr(R19), R2
	CBZ	R2, 2(PC)
	MOVD	R20, (R2)
	MOVD	coro_inTrap(R19), R3
	MOVD	$const_ckOK, R2
	CMP	$0, R3
	CSEL	NE, R20, R2, R2

	// A cancel makes the yield or trap it waits in return CK_ECANCELED,
	// and a yield function (waitArgs) the value set for its tag.
	TBZ	$0, R24, cancelSet // resumeCancel is bit 0
	MOVD	$const_ckECanceled, R2
	MOVD	$const_drainCalls, R4
	MOVD	R4, coro_drain(R19)
	CMP	$const_waitArgs, R3
	BNE	cancelSet
	MOVD	coro_tag(R19), R4
	ADD	$coro_cancels, R19, R5
	MOVD	(R5)(R4<<3), R2
cancelSet:
	MOVD	R19, R0
	AND	$const_resumeFromGo, R24, R4
	BL	switchIn<>(SB)

	// Back: X0 is the coroutine's next state (suspended after a yield,
	// dead after a return); yield or coEntry stored its context.
	MOVD	R0, R6
	MOVD	coro_prev(R19), R2
	MOVD	R2, threadBlock_current(R22)
	CBZ	R21, 3(PC)
	MOVD	coro_value(R19), R2
	MOVD	R2, (R21)

	// The code: CK_OK for a yield, CK_DONE for a return, CK_EREFUSED when
	// callbackCommon refused a Go callback under a direct resume.
	MOVD	$const_ckOK, R0
	CMP	$const_stDead, R6
	BNE	2(PC)
	MOVD	$const_ckDone, R0
	CMP	$const_stRefused, R6
	BNE	publish
	MOVD	$const_ckERefused, R0
	MOVD	$const_stDead, R6 // refused: abandoned, dead

publish:
	// Publish the status last, with release order: once it says
	// suspended, another thread may resume the coroutine, and its context
	// is already stored. A cancel leaves it closed; Go publishes for itself.
	TBNZ	$1, R24, out // resumeGo is bit 1
	TBZ	$0, R24, 2(PC)
	MOVD	$const_stClosed, R6
	ORR	R23, R6, R6
	ADD	$coro_status, R19, R1
	STLR	R6, (R1)
	B	out

busy:
	// X0 holds the status word found. Another generation means the
	// coroutine was closed (and its stack perhaps reused).
	CLREX
	EOR	R23, R0, R2
	AND	$~const_stMask, R2
	CBNZ	R2, closed
	AND	$const_stMask, R0
	CMP	$const_stRunning, R0
	BEQ	running
	CMP	$const_stDead, R0
	BEQ	dead
closed:
	MOVD	$const_ckEClosed, R0
	B	out
wrongThread:
	ADD	$coro_status, R19, R1
	STLR	R0, (R1)
	MOVD	$const_ckEThread, R0
	B	out
running:
	MOVD	$const_ckERunning, R0
	B	out
dead:
	MOVD	$const_ckEDead, R0
	B	out
einval:
	MOVD	$const_ckEInval, R0
out:
	LDP	0(RSP), (R30, R19)
	LDP	16(RSP), (R20, R21)
	LDP	32(RSP), (R22, R23)
	MOVD	48(RSP), R24
	ADD	$64, RSP
	RET

// switchIn<> switches from the resumer to the coroutine co (X0): it saves
// the resumer's context in co->caller and returns into the coroutine, with
// X0 = X2, the return value of the yield or trap it waits in (in D0 as
// well, for a yield function called as a callback that returns a double or
// a float; D0 is caller-saved), and X1 = co for a fresh coroutine's
// coEntry. It "returns" when the coroutine yields
// or ends, with the coroutine's next state in X0. X4 != 0 says the
// resumer is Go (resumeFromGo): its FPCR is goFP, stored without an MRS.
//
// Unlike amd64's, the crossing is a RET, not an indirect branch: the
// place a coroutine resumes is a return address in C code, which carries
// no BTI landing pad, and a BR there would fault in code built with
// -mbranch-protection on a core with BTI. So both returns that cross
// stacks in a round trip mispredict here.
TEXT switchIn<>(SB), NOSPLIT|NOFRAME, $0-0
	CBNZ	R4, fromGo
	MRS	FPCR, R9
	B	save
fromGo:
	MOVD	$·goFP(SB), R9 // address, then load: a load from SB would use R27
	MOVD	(R9), R9
save:
	SAVE_CONTEXT_FPCR_R9
	MOVD	RSP, R3
	MOVD	R3, coro_caller(R0)
	MOVD	R0, R1
	MOVD	coro_ctx(R0), R3
	MOVD	R2, R0
	RESTORE_CONTEXT(R3)
	FMOVD	R0, F0
	RET	R10

// suspend is the second half of yield, trap and yieldArgs (see
// co_amd64.s), reached by a branch with LR still their return address and
// SP their caller's: it stores X1 in co->value, X2 in co->inPtr and X3 in
// co->inTrap for co (X0), and switches back to co's resumer.
TEXT ·suspend(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	R1, coro_value(R0)
	MOVD	R2, coro_inPtr(R0)
	MOVD	R3, coro_inTrap(R0)
	SAVE_CONTEXT
	MOVD	RSP, R3
	MOVD	R3, coro_ctx(R0)
	MOVD	coro_caller(R0), R3
	MOVD	$const_stSuspended, R0
	RESTORE_CONTEXT(R3)
	RET	R10

// yield is
//
//	int ck_yield(ck_coroutine *co, uintptr_t out, uintptr_t *in);
//
// It suspends co, the innermost coroutine running on this thread, handing
// out to its resumer, and returns CK_OK when resumed, with the resumer's
// word in *in (in may be NULL; the resumer stores it), or CK_ECANCELED
// when the resume is Close's cancel. Called with any other co, it returns
// CK_ENOTRUNNING at once.
TEXT ·yield(SB), NOSPLIT|NOFRAME, $0-0
	// Check with temporaries only; LR is the resume PC of our frame.
	RUNNING_HERE(R0, R3, R4, notrunning)

	// Switch back to the resumer, telling it we are suspended.
	MOVD	ZR, R3
	B	·suspend(SB)
notrunning:
	MOVD	$const_ckENotRunning, R0
	RET
DATA	·yieldAddr+0(SB)/8, $·yield(SB)
GLOBL	·yieldAddr(SB), NOPTR|RODATA, $8

// current is
//
//	ck_coroutine *ck_current(void);
//
// the innermost coroutine running on this thread, or NULL.
TEXT ·current(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	BL	·getThreadBlock(SB)
	MOVD	threadBlock_current(R0), R0
	MOVD	0(RSP), R30
	ADD	$16, RSP
	RET
DATA	·currentAddr+0(SB)/8, $·current(SB)
GLOBL	·currentAddr(SB), NOPTR|RODATA, $8

// coEntry is the entry function of every coroutine's context: switchIn's
// first return lands in the machine layer's contextEntry, which calls us
// with co in X1, LR pointing at the finish stub and FP = 0. It calls
// co->fn(co, co->arg) and, when that returns, stores the result and
// switches back for good, telling the resumer the coroutine is dead. It is
// the top of the coroutine's stack (TOPFRAME): the Go linker's unwind
// table marks LR undefined here, so debuggers stop.
TEXT ·coEntry(SB), NOSPLIT|NOFRAME|TOPFRAME, $0-0
	// X19 is ours to keep: nothing returns into this frame's caller.
	MOVD	R1, R19
	MOVD	$1, R2
	MOVD	R2, coro_started(R19)
	MOVD	R19, R0
	MOVD	coro_arg(R19), R1
	MOVD	coro_fn(R19), R9
	BL	(R9)

	// fn returned: its result is the last word out. No SAVE_CONTEXT came
	// first, so make the frame RESTORE_CONTEXT compares FPCR against: the
	// current FPCR at CTX_FPCR of a context frame's worth of this stack.
	MOVD	R0, coro_value(R19)
	MOVD	coro_caller(R19), R3
	SUB	$CTX_SIZE, RSP
	MRS	FPCR, R2
	MOVD	R2, CTX_FPCR(RSP)
	MOVD	$const_stDead, R0
	RESTORE_CONTEXT(R3)
	RET	R10
DATA	·coEntryAddr+0(SB)/8, $·coEntry(SB)
GLOBL	·coEntryAddr(SB), NOPTR|RODATA, $8

// goResume is the cgocall target behind (*Coroutine).Resume and Close
// (see co_amd64.s): a is read before the switch and never after.
TEXT ·goResume(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR and X19 (a).
	SUB	$16, RSP
	STP	(R30, R19), 0(RSP)
	MOVD	R0, R19
	BL	·getThreadBlock(SB)
	MOVD	R0, R3
	MOVD	resumeArgs_co(R19), R0
	MOVD	resumeArgs_in(R19), R1
	MOVD	$0, R2
	MOVD	resumeArgs_expect(R19), R4
	MOVD	resumeArgs_flags(R19), R5
	ORR	$(const_resumeGo|const_resumeFromGo), R5
	BL	·resumeCore(SB)
	LDP	0(RSP), (R30, R19)
	ADD	$16, RSP
	RET
DATA	·goResumeAddr+0(SB)/8, $·goResume(SB)
GLOBL	·goResumeAddr(SB), NOPTR|RODATA, $8

// directResume is func directResume(a *resumeArgs) int32, in Go's ABI0:
// the direct resume (WithDirect; see co_amd64.s). Go's frame:
//
//	+0x208           the caller's frame
//	+0x1f0 ... +0x010  the C-ABI code's frames grow down from +0x1f0: RSP is
//	                 moved there before the first call, so that every store
//	                 below it stays inside this frame (NOSPLIT's budget)
//	+0x000           LR (the prologue's); Go's RSP is kept in X20
//
// X19 keeps a and X20 Go's RSP: both are callee-saved in C. No Go code
// can run until it returns, so the goroutine's stack stays put: resumeCore
// stores the word in a.out and publishes the status itself.
TEXT ·directResume(SB), NOSPLIT, $512-12
	MOVD	a+0(FP), R19
	MOVD	RSP, R20
	ADD	$0x1f0, RSP, R0
	MOVD	R0, RSP

	// The thread block, or CK_ENOBLOCK.
	MOVD	·tlsKey(SB), R0
	MOVD	·pthreadGetspecific(SB), R9
	BL	(R9)
	CBZ	R0, noBlock

	// Mark the direct resume, keeping the old mark and the block, and
	// resume as goResume does.
	MOVD	R0, R3
	MOVD	threadBlock_direct(R3), R4
	SUB	$16, RSP
	STP	(R3, R4), 0(RSP)
	MOVD	resumeArgs_co(R19), R0
	MOVD	R0, threadBlock_direct(R3)
	MOVD	resumeArgs_in(R19), R1
	ADD	$resumeArgs_out, R19, R2
	MOVD	resumeArgs_expect(R19), R4
	MOVD	resumeArgs_flags(R19), R5
	ORR	$const_resumeFromGo, R5
	BL	·resumeCore(SB)
	LDP	0(RSP), (R3, R4)
	MOVD	R4, threadBlock_direct(R3)
	MOVD	R20, RSP
	MOVW	R0, ret+8(FP)
	RET
noBlock:
	MOVD	R20, RSP
	MOVD	$const_ckENoBlock, R0
	MOVW	R0, ret+8(FP)
	RET

// makeFrame is func makeFrame(make, top, entry uintptr) uintptr, in Go's
// ABI0 (see co_amd64.s): makeContext is a leaf that writes only below top
// and clobbers X0-X4; the frame keeps LR across the BL.
TEXT ·makeFrame(SB), NOSPLIT, $16-32
	MOVD	top+8(FP), R0
	MOVD	ZR, R1
	MOVD	entry+16(FP), R2
	MOVD	make+0(FP), R9
	BL	(R9)
	MOVD	R0, ret+24(FP)
	RET

// storeRelease is func storeRelease(p *uintptr, v uintptr), in Go's ABI0:
// a store-release (STLR), which is all a Go atomic store is on arm64 too.
TEXT ·storeRelease(SB), NOSPLIT, $0-16
	MOVD	p+0(FP), R0
	MOVD	v+8(FP), R1
	STLR	R1, (R0)
	RET
