// Coroutines for arm64: resume, yield, trap, the first frame of every
// coroutine, the per-thread block, the entries Go uses through
// runtime.cgocall, and the callback trampoline. All functions here use the
// AAPCS64 C ABI. Record layouts and constants come from go_asm.h (see
// co_amd64.s); the context frame is ../ctxframe_arm64.h, shared with the
// machine layer. The switches are balanced, entered by a call and left by
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

#define SS_DISABLE	2
#define ALTSTACK_SIZE	65536

// threadBlock<> returns in X0 this thread's block, making it on the
// thread's first use (threadBlockInit). It clobbers only caller-saved
// registers and may run on any stack.
TEXT threadBlock<>(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR.
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	MOVD	$·tlsKey(SB), R0
	MOVD	(R0), R0
	MOVD	$·pthreadGetspecific(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	MOVD	0(RSP), R30
	ADD	$16, RSP
	CBZ	R0, first
	RET
first:
	B	threadBlockInit<>(SB)

// threadBlockInit<> makes this thread's block: calloc, then
// pthread_setspecific (the key's destructor is threadDestroy). A thread
// without a signal stack, one that C created, also gets one, so that a
// guard page hit can be reported (see co_amd64.s).
//
// Frame:
//
//	+0x00  LR
//	+0x08  stack_t {ss_sp, ss_flags, ss_size}
//	+0x20  the new block
TEXT threadBlockInit<>(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$48, RSP
	MOVD	R30, 0x00(RSP)
	MOVD	$1, R0
	MOVD	$threadBlock__size, R1
	MOVD	$·libcCalloc(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	MOVD	R0, 0x20(RSP)
	// Its id: the next serial number, never 0 (an exclusive pair adds 1).
	MOVD	$·threadSerial(SB), R3
serial:
	LDAXR	(R3), R1
	ADD	$1, R1
	STLXR	R1, (R3), R2
	CBNZ	R2, serial
	MOVD	R1, threadBlock_id(R0)
	MOVD	R0, R1
	MOVD	$·tlsKey(SB), R0
	MOVD	(R0), R0
	MOVD	$·pthreadSetspecific(SB), R9
	MOVD	(R9), R9
	BL	(R9)

	// sigaltstack(NULL, &old): is there a signal stack already?
	MOVD	$0, R0
	ADD	$8, RSP, R1
	MOVD	$·libcSigaltstack(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	MOVW	0x10(RSP), R2
	TBZ	$1, R2, done // SS_DISABLE is bit 1

	// No: calloc one and install it; the block remembers it.
	MOVD	$1, R0
	MOVD	$ALTSTACK_SIZE, R1
	MOVD	$·libcCalloc(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	CBZ	R0, done
	MOVD	0x20(RSP), R2
	MOVD	R0, threadBlock_alt(R2)
	MOVD	R0, 0x08(RSP)
	MOVD	ZR, 0x10(RSP)
	MOVD	$ALTSTACK_SIZE, R2
	MOVD	R2, 0x18(RSP)
	ADD	$8, RSP, R0
	MOVD	$0, R1
	MOVD	$·libcSigaltstack(SB), R9
	MOVD	(R9), R9
	BL	(R9)
done:
	MOVD	0x20(RSP), R0
	MOVD	0x00(RSP), R30
	ADD	$48, RSP
	RET

// threadDestroy is the destructor of the thread block's key:
//
//	void ck_thread_destroy(void *block);
//
// It takes down the signal stack threadBlockInit installed, if any, and
// frees both.
TEXT ·threadDestroy(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR, X19 (the block), stack_t.
	SUB	$48, RSP
	STP	(R30, R19), 0x00(RSP)
	MOVD	R0, R19
	MOVD	threadBlock_alt(R19), R2
	CBZ	R2, block
	MOVD	ZR, 0x10(RSP)
	MOVD	$SS_DISABLE, R2
	MOVD	R2, 0x18(RSP)
	MOVD	ZR, 0x20(RSP)
	ADD	$0x10, RSP, R0
	MOVD	$0, R1
	MOVD	$·libcSigaltstack(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	MOVD	threadBlock_alt(R19), R0
	MOVD	$·libcFree(SB), R9
	MOVD	(R9), R9
	BL	(R9)
block:
	MOVD	R19, R0
	MOVD	$·libcFree(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	LDP	0x00(RSP), (R30, R19)
	ADD	$48, RSP
	RET

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
	BL	threadBlock<>(SB)
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
	B	resumeCore<>(SB)

// resumeCore<> resumes co (X0) with in (X1), storing its word at out (X2,
// may be 0), with the thread block in X3, the status word the claim
// expects in X4 and flags in X5 (see co_amd64.s: resumeCancel, resumeGo).
// It returns a CK_* code, and touches nothing the caller passed by address
// after the switch.
TEXT resumeCore<>(SB), NOSPLIT|NOFRAME, $0-0
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

// suspend<> is the second half of yield, trap and yieldArgs (see
// co_amd64.s), reached by a branch with LR still their return address and
// SP their caller's: it stores X1 in co->value, X2 in co->inPtr and X3 in
// co->inTrap for co (X0), and switches back to co's resumer.
TEXT suspend<>(SB), NOSPLIT|NOFRAME, $0-0
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
	CBZ	R0, notrunning
	MOVD	coro_status(R0), R3
	AND	$const_stMask, R3
	CMP	$const_stRunning, R3
	BNE	notrunning
	// co is the innermost coroutine on this thread exactly when we run on
	// its stack: a stack runs on one thread at a time, and a coroutine
	// resumed from co's body runs on a stack of its own.
	MOVD	RSP, R4
	MOVD	coro_stackLo(R0), R3
	CMP	R3, R4
	BLO	notrunning
	MOVD	coro_stackHi(R0), R3
	CMP	R3, R4
	BHS	notrunning

	// Switch back to the resumer, telling it we are suspended.
	MOVD	ZR, R3
	B	suspend<>(SB)
notrunning:
	MOVD	$const_ckENotRunning, R0
	RET

// trap is
//
//	int64_t ck_trap(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b);
//
// the kernel trap of the trapping table (see co_amd64.s).
TEXT ·trap(SB), NOSPLIT|NOFRAME, $0-0
	// Check as yield does, with temporaries only.
	CBZ	R0, notask
	MOVD	coro_status(R0), R4
	AND	$const_stMask, R4
	CMP	$const_stRunning, R4
	BNE	notask
	MOVD	RSP, R5
	MOVD	coro_stackLo(R0), R4
	CMP	R4, R5
	BLO	notask
	MOVD	coro_stackHi(R0), R4
	CMP	R4, R5
	BHS	notask

	// Record the trap (op is a uint32: zero-extend it), yield 0 and wait
	// in trap: the resume that wakes us returns its word from here.
	MOVWU	R1, R1
	MOVD	R1, coro_trapOp(R0)
	MOVD	R2, coro_trapA(R0)
	MOVD	R3, coro_trapB(R0)
	MOVD	ZR, R1
	MOVD	ZR, R2
	MOVD	$1, R3
	B	suspend<>(SB)
notask:
	MOVD	$const_ckENotTask, R0
	RET

// noTrap is the trap entry of the plain table: a coroutine that is not a
// kernel task cannot trap.
TEXT ·noTrap(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	$const_ckENotTask, R0
	RET

// goCycle is the cgocall target behind Ring.Cycle (see co_amd64.s).
TEXT ·goCycle(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = a, X20 = thread block, X22 = i, X23 = count; frame keeps them
	// and LR.
	SUB	$48, RSP
	STP	(R30, R19), 0(RSP)
	STP	(R20, R21), 16(RSP)
	STP	(R22, R23), 32(RSP)
	MOVD	R0, R19
	BL	threadBlock<>(SB)
	MOVD	R0, R20
	MOVD	cycleArgs_start(R19), R22
	MOVD	$0, R23
loop:
	MOVD	$const_cycleMore, R0
	MOVD	cycleArgs_max(R19), R2
	CMP	R2, R23
	BEQ	stop
	// Stopped by the Go side (Ring.Stop, from a callback of the last
	// coroutine resumed): as if the budget had run out.
	MOVD	cycleArgs_stop(R19), R2
	CBNZ	R2, stop
	// Progress so far, for a Go callback's panic that abandons this loop.
	MOVD	R22, cycleArgs_i(R19)
	MOVD	R23, cycleArgs_count(R19)
	MOVD	cycleArgs_ring(R19), R2
	MOVD	(R2)(R22<<3), R0
	MOVD	coro_value(R0), R1
	MOVD	$0, R2
	MOVD	R20, R3
	// Expect the record's own generation, suspended, as C's resume does.
	MOVD	coro_status(R0), R4
	AND	$~const_stMask, R4
	MOVD	$const_resumeFromGo, R5
	BL	resumeCore<>(SB)
	ADD	$1, R23
	CBNZ	R0, stop
	// It yielded: through trap with the passing op?
	MOVD	cycleArgs_ring(R19), R2
	MOVD	(R2)(R22<<3), R2
	MOVD	coro_trapOp(R2), R3
	MOVD	cycleArgs_pass(R19), R4
	CMP	R4, R3
	BNE	stop
	MOVD	ZR, coro_trapOp(R2)
	ADD	$1, R22
	MOVD	cycleArgs_n(R19), R2
	CMP	R2, R22
	BNE	loop
	MOVD	$0, R22
	B	loop
stop:
	MOVD	R22, cycleArgs_i(R19)
	MOVD	R23, cycleArgs_count(R19)
	MOVD	R0, cycleArgs_code(R19)
	LDP	0(RSP), (R30, R19)
	LDP	16(RSP), (R20, R21)
	LDP	32(RSP), (R22, R23)
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
	MOVD	threadBlock_current(R0), R0
	MOVD	0(RSP), R30
	ADD	$16, RSP
	RET

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
	// current FPCR at 0xa8 of a context frame's worth of this stack.
	MOVD	R0, coro_value(R19)
	MOVD	coro_caller(R19), R3
	SUB	$0xb0, RSP
	MRS	FPCR, R2
	MOVD	R2, 0xa8(RSP)
	MOVD	$const_stDead, R0
	RESTORE_CONTEXT(R3)
	RET	R10

// goResume is the cgocall target behind (*Coroutine).Resume and Close
// (see co_amd64.s): a is read before the switch and never after.
TEXT ·goResume(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR and X19 (a).
	SUB	$16, RSP
	STP	(R30, R19), 0(RSP)
	MOVD	R0, R19
	BL	threadBlock<>(SB)
	MOVD	R0, R3
	MOVD	resumeArgs_co(R19), R0
	MOVD	resumeArgs_in(R19), R1
	MOVD	$0, R2
	MOVD	resumeArgs_expect(R19), R4
	MOVD	resumeArgs_flags(R19), R5
	ORR	$(const_resumeGo|const_resumeFromGo), R5
	BL	resumeCore<>(SB)
	LDP	0(RSP), (R30, R19)
	ADD	$16, RSP
	RET

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
	BL	resumeCore<>(SB)
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

// fpState is func fpState() uint64, in Go's ABI0: this thread's FPCR.
TEXT ·fpState(SB), NOSPLIT, $0-8
	MRS	FPCR, R0
	MOVD	R0, ret+0(FP)
	RET

// storeRelease is func storeRelease(p *uintptr, v uintptr), in Go's ABI0:
// a store-release (STLR), which is all a Go atomic store is on arm64 too.
TEXT ·storeRelease(SB), NOSPLIT, $0-16
	MOVD	p+0(FP), R0
	MOVD	v+8(FP), R1
	STLR	R1, (R0)
	RET

// goCbUnwind is the cgocall target of a callback's panic guard (see
// co_amd64.s): pop the callback's record and mark dead the coroutines
// whose frames the panic abandons.
TEXT ·goCbUnwind(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	BL	threadBlock<>(SB)
	MOVD	0(RSP), R30
	ADD	$16, RSP
	MOVD	threadBlock_cbTop(R0), R2
	CBZ	R2, done
	MOVD	cbRecord_prev(R2), R3
	MOVD	R3, threadBlock_cbTop(R0)
	MOVD	cbRecord_boundary(R2), R4
	CBZ	R4, done
	MOVD	threadBlock_current(R0), R2
kill:
	// X2 is abandoned: dead, in its own generation.
	MOVD	coro_status(R2), R3
	AND	$~const_stMask, R3
	ORR	$const_stDead, R3
	MOVD	R3, coro_status(R2)
	CMP	R4, R2
	BEQ	last
	MOVD	coro_prev(R2), R2
	B	kill
last:
	MOVD	coro_prev(R4), R3
	MOVD	R3, threadBlock_current(R0)
done:
	RET

// callbackCommon runs a registered callback (index in X9, from its thunk)
// with the C arguments it was called with, on the stack of the
// coroutine's outermost resumer when called on a coroutine stack, with a
// cbRecord pushed on the thread block for the duration (see co_amd64.s).
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
// (see co_amd64.s).
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
	BL	threadBlock<>(SB)
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
	MOVD	$·goFP(SB), R10
	MOVD	(R10), R10
	CMP	R9, R10
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
	MOVD	$·goFP(SB), R10
	MOVD	(R10), R10
	CMP	R9, R10
	BEQ	2(PC)
	MSR	R9, FPCR
	LDP	cbFrame_lr(RSP), (R30, R19)
	MOVD	cbFrame_fp(RSP), R29
	ADD	$cbFrame__size, RSP
	RET

// refuse: a direct resume runs on this thread (see co_amd64.s). Every
// coroutine from the current one down to the direct one (X8) is abandoned,
// dead in its own generation, and we switch back to the direct resume's
// context with stRefused.
refuse:
	MOVD	threadBlock_current(R0), R2
rkill:
	MOVD	coro_status(R2), R3
	AND	$~const_stMask, R3
	ORR	$const_stDead, R3
	MOVD	R3, coro_status(R2)
	CMP	R2, R8
	BEQ	rswitch
	MOVD	coro_prev(R2), R2
	B	rkill
rswitch:
	// RESTORE_CONTEXT compares with a frame just saved: save one on the
	// abandoned stack.
	SAVE_CONTEXT
	MOVD	coro_caller(R8), R3
	MOVD	$const_stRefused, R0
	RESTORE_CONTEXT(R3)
	RET	R10

// yieldArgs is the common code of the yield table (thunks_arm64.s; see
// co_amd64.s): entry N puts N in R9 and jumps here. It stores the six
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
	BL	threadBlock<>(SB)

	// The current coroutine must be running on this very stack.
	MOVD	threadBlock_current(R0), R0
	CBZ	R0, yaNotRunning
	MOVD	coro_status(R0), R3
	AND	$const_stMask, R3
	CMP	$const_stRunning, R3
	BNE	yaNotRunning
	MOVD	RSP, R4
	MOVD	coro_stackLo(R0), R3
	CMP	R3, R4
	BLO	yaNotRunning
	MOVD	coro_stackHi(R0), R3
	CMP	R3, R4
	BHS	yaNotRunning

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
	B	suspend<>(SB)
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

// callBody is the body of NewCall's coroutines (see co_amd64.s): it
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

// goThreadBlock is a cgocall target that makes this thread's block if it
// has none (see co_amd64.s).
TEXT ·goThreadBlock(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	BL	threadBlock<>(SB)
	MOVD	0(RSP), R30
	ADD	$16, RSP
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

// threadID is func threadID() uintptr, in Go's ABI0 (see co_amd64.s):
// pthread_getspecific runs inside this frame, with RSP moved to +0xf0
// (Go's LR stays at +0, far below anything the leaf touches) and Go's RSP
// kept in X20, callee-saved in C.
TEXT ·threadID(SB), NOSPLIT, $256-8
	MOVD	RSP, R20
	ADD	$0xf0, RSP, R0
	MOVD	R0, RSP
	MOVD	$·tlsKey(SB), R0
	MOVD	(R0), R0
	MOVD	$·pthreadGetspecific(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	MOVD	R20, RSP
	CBZ	R0, 2(PC)
	MOVD	threadBlock_id(R0), R0
	MOVD	R0, ret+0(FP)
	RET

// addrs fills dst, indexed by the e* constants of ctx.go, with the entry
// addresses of this package's C-ABI functions.
TEXT ·addrs(SB), NOSPLIT, $0-8
	MOVD	dst+0(FP), R0
	MOVD	$·resume(SB), R1
	MOVD	R1, (const_eResume*8)(R0)
	MOVD	$·yield(SB), R1
	MOVD	R1, (const_eYield*8)(R0)
	MOVD	$·current(SB), R1
	MOVD	R1, (const_eCurrent*8)(R0)
	MOVD	$·trap(SB), R1
	MOVD	R1, (const_eTrap*8)(R0)
	MOVD	$·noTrap(SB), R1
	MOVD	R1, (const_eNoTrap*8)(R0)
	MOVD	$·goResume(SB), R1
	MOVD	R1, (const_eGoResume*8)(R0)
	MOVD	$·goCycle(SB), R1
	MOVD	R1, (const_eGoCycle*8)(R0)
	MOVD	$·goCbUnwind(SB), R1
	MOVD	R1, (const_eGoCbUnwind*8)(R0)
	MOVD	$·coEntry(SB), R1
	MOVD	R1, (const_eCoEntry*8)(R0)
	MOVD	$·threadDestroy(SB), R1
	MOVD	R1, (const_eThreadDestroy*8)(R0)
	MOVD	$·thunkTable(SB), R1
	MOVD	R1, (const_eThunkTable*8)(R0)
	MOVD	$·segvHandler(SB), R1
	MOVD	R1, (const_eSegvHandler*8)(R0)
	MOVD	$·yieldTable(SB), R1
	MOVD	R1, (const_eYieldTable*8)(R0)
	MOVD	$·callBody(SB), R1
	MOVD	R1, (const_eCallBody*8)(R0)
	MOVD	$·goThreadBlock(SB), R1
	MOVD	R1, (const_eGoThreadBlock*8)(R0)
	RET

// callerFP is func callerFP() uintptr, in Go's ABI0: the frame pointer of
// the Go function that calls it (a frameless function leaves R29 alone).
TEXT ·callerFP(SB), NOSPLIT|NOFRAME, $0-8
	MOVD	R29, ret+0(FP)
	RET
