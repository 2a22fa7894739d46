// Coroutines for amd64: resume, yield, trap, the first frame of every
// coroutine, the per-thread block, the entries Go uses through
// runtime.cgocall, and the callback trampoline. All functions here use the
// System V C ABI. Record layouts and constants come from go_asm.h, which
// the Go toolchain writes from the Go declarations in ctx.go (type coro is
// struct ck_coroutine, threadBlock the per-thread block, cbRecord a
// callback in progress, resumeArgs one Go Resume's argument block); the
// context frame is ctxframe_amd64.h, a copy of the machine layer's.
//
// The switches here keep the CPU's stack of predicted return addresses
// (the RAS) in step with the real stacks. A body resumed from Go returns
// up a chain of frames after every switch (resumeCore, the cgocall
// chain), and a RAS off by one entry would make nearly every one of those
// returns mispredict. So the resume crossing is a JMP, which leaves the
// RAS alone, and the yield crossing a RET, which pops the entry the body's
// call of yield pushed (switchIn says how the two meet). That RET is the
// one return per round trip that mispredicts, the minimum for a body that
// calls yield: a RET in both directions would miss twice. For the same
// reason yield switches itself, one call below the body, instead of
// calling a switch function. (The machine layer's jumpContext leaves by
// JMP in both directions, which suits native loops that never return.)

// Register use: RBX, R12-R15 are callee-saved (System V AMD64 ABI 3.2.1),
// so they keep the record, the thread block and the out pointer across
// the switch, during which the other side runs arbitrary C code. Each
// function pushes the ones it uses.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_amd64.h"

#define SS_DISABLE	2
#define ALTSTACK_SIZE	65536

// threadBlock<> returns in AX this thread's block, making it on the
// thread's first use (threadBlockInit). It clobbers only caller-saved
// registers and may run on any stack.
TEXT threadBlock<>(SB), NOSPLIT|NOFRAME, $0-0
	// One slot keeps SP 16-byte aligned for the C call (we were CALLed).
	SUBQ	$8, SP
	MOVQ	·tlsKey(SB), DI
	MOVQ	·pthreadGetspecific(SB), AX
	CALL	AX
	ADDQ	$8, SP
	TESTQ	AX, AX
	JZ	first
	RET
first:
	JMP	threadBlockInit<>(SB)

// threadBlockInit<> makes this thread's block: calloc, a serial number
// (threadSerial), then pthread_setspecific (the key's destructor is
// threadDestroy). A thread
// without a signal stack, one that C created, also gets one: a fault on a
// guard page cannot be delivered on the stack that overflowed, and without
// a signal stack the kernel kills the process before any handler, and the
// overflow report, can run.
//
// Frame (SP 16-byte aligned after the SUBQ, since we were CALLed):
//
//	+0x00  stack_t {ss_sp, ss_flags, ss_size}
//	+0x18  the new block
//	+0x20  pad
TEXT threadBlockInit<>(SB), NOSPLIT|NOFRAME, $0-0
	SUBQ	$0x28, SP
	MOVQ	$1, DI
	MOVQ	$threadBlock__size, SI
	MOVQ	·libcCalloc(SB), AX
	CALL	AX
	MOVQ	AX, 0x18(SP)
	// Its id: the next serial number, never 0 (a record bound to no
	// thread has 0).
	MOVQ	$1, CX
	LOCK
	XADDQ	CX, ·threadSerial(SB)
	INCQ	CX
	MOVQ	CX, threadBlock_id(AX)
	MOVQ	·tlsKey(SB), DI
	MOVQ	AX, SI
	MOVQ	·pthreadSetspecific(SB), AX
	CALL	AX

	// sigaltstack(NULL, &old): is there a signal stack already?
	XORL	DI, DI
	LEAQ	0(SP), SI
	MOVQ	·libcSigaltstack(SB), AX
	CALL	AX
	TESTL	$SS_DISABLE, 8(SP)
	JZ	done

	// No: calloc one and install it; the block remembers it for
	// threadDestroy.
	MOVQ	$1, DI
	MOVQ	$ALTSTACK_SIZE, SI
	MOVQ	·libcCalloc(SB), AX
	CALL	AX
	TESTQ	AX, AX
	JZ	done
	MOVQ	0x18(SP), CX
	MOVQ	AX, threadBlock_alt(CX)
	MOVQ	AX, 0(SP)
	MOVQ	$0, 8(SP)
	MOVQ	$ALTSTACK_SIZE, 16(SP)
	LEAQ	0(SP), DI
	XORL	SI, SI
	MOVQ	·libcSigaltstack(SB), AX
	CALL	AX
done:
	MOVQ	0x18(SP), AX
	ADDQ	$0x28, SP
	RET

// threadDestroy is the destructor of the thread block's key:
//
//	void ck_thread_destroy(void *block);
//
// It takes down the signal stack threadBlockInit installed, if any, and
// frees both.
TEXT ·threadDestroy(SB), NOSPLIT|NOFRAME, $0-0
	// RBX keeps the block; with the push, 0x20 bytes of stack_t keep SP
	// aligned.
	PUSHQ	BX
	SUBQ	$0x20, SP
	MOVQ	DI, BX
	MOVQ	threadBlock_alt(BX), CX
	TESTQ	CX, CX
	JZ	block
	MOVQ	$0, 0(SP)
	MOVQ	$SS_DISABLE, 8(SP)
	MOVQ	$0, 16(SP)
	LEAQ	0(SP), DI
	XORL	SI, SI
	MOVQ	·libcSigaltstack(SB), AX
	CALL	AX
	MOVQ	threadBlock_alt(BX), DI
	MOVQ	·libcFree(SB), AX
	CALL	AX
block:
	MOVQ	BX, DI
	MOVQ	·libcFree(SB), AX
	CALL	AX
	ADDQ	$0x20, SP
	POPQ	BX
	RET

// resume is
//
//	int ck_resume(ck_coroutine *co, uintptr_t in, uintptr_t *out);
//
// It runs co until it yields (CK_OK) or returns (CK_DONE), storing the word
// it passed in *out (out may be NULL). Errors: CK_EINVAL for NULL,
// CK_ERUNNING, CK_EDEAD, CK_ECLOSED.
TEXT ·resume(SB), NOSPLIT|NOFRAME, $0-0
	// Look up the thread block, keeping the arguments in callee-saved
	// registers across the call (three pushes realign SP).
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	MOVQ	DI, BX
	MOVQ	SI, R12
	MOVQ	DX, R13
	CALL	threadBlock<>(SB)
	MOVQ	AX, CX
	MOVQ	BX, DI
	MOVQ	R12, SI
	MOVQ	R13, DX
	POPQ	R13
	POPQ	R12
	POPQ	BX

	// The claim expects the generation the record has now, suspended: C
	// holds the record itself, not a handle of one generation.
	XORL	R8, R8
	XORL	R9, R9
	TESTQ	DI, DI
	JZ	core
	MOVQ	coro_status(DI), R8
	ANDQ	$~const_stMask, R8
core:
	JMP	resumeCore<>(SB)

// resumeCore<> resumes co (RDI) with in (RSI), storing its word at out
// (RDX, may be 0), with the thread block in RCX, the status word the claim
// expects in R8 and flags in R9: resumeCancel makes the yield or trap the
// body waits in return CK_ECANCELED and leaves the coroutine closed;
// resumeGo leaves the status for the caller to publish (Go does, after it
// has read co->value). It returns a CK_* code. Nothing the caller passed
// by address is touched after the switch: Go callbacks from the body may
// move the resuming goroutine's stack.
TEXT resumeCore<>(SB), NOSPLIT|NOFRAME, $0-0
	// Save the callee-saved registers we use; the fifth push realigns SP.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	PUSHQ	R15
	MOVQ	DI, BX  // co
	MOVQ	SI, R12 // in, then the flags
	MOVQ	DX, R13 // out
	MOVQ	CX, R14 // thread block
	MOVQ	R8, R15 // expected status word, then its generation
	TESTQ	BX, BX
	JZ	einval

	// Claim the coroutine: expected -> running, same generation,
	// atomically, so that two threads racing to resume (or close) it
	// cannot both get in, and a stale claim of an older generation fails.
	MOVQ	R15, AX
	ANDQ	$~const_stMask, R15
	MOVQ	R15, CX
	ORQ	$const_stRunning, CX
	LOCK
	CMPXCHGQ	CX, coro_status(BX)
	JNE	busy

	// The body is bound to the thread it first ran on (its frames may hold
	// that thread's locks, TLS, errno): on another thread, give the claim
	// back (AX is still the status word expected) and refuse. A fresh
	// record (thread 0) is bound here, unless it may roam (WithAnyThread).
	MOVQ	coro_thread(BX), CX
	CMPQ	CX, threadBlock_id(R14)
	JEQ	bound
	TESTQ	CX, CX
	JNZ	wrongThread
	CMPQ	coro_roam(BX), $0
	JNE	bound
	MOVQ	threadBlock_id(R14), CX
	MOVQ	CX, coro_thread(BX)
bound:

	// Link it as this thread's current coroutine, remembering the outer one.
	MOVQ	threadBlock_current(R14), CX
	MOVQ	CX, coro_prev(BX)
	MOVQ	BX, threadBlock_current(R14)

	// Deliver in: in co->value, at the address a suspended yield gave, and
	// as trap's return value (in DX for switchIn) if it waits in trap.
	MOVQ	R12, coro_value(BX)
	MOVQ	coro_inPtr(BX), CX
	TESTQ	CX, CX
	JZ	2(PC)
	MOVQ	R12, 0(CX)
	MOVQ	$const_ckOK, DX
	CMPQ	coro_inTrap(BX), $0
	CMOVQNE	R12, DX

	// A cancel makes the yield or trap it waits in return CK_ECANCELED,
	// and a yield function (waitArgs) the value set for its tag.
	MOVQ	R9, R12
	TESTQ	$const_resumeCancel, R12
	JZ	cancelSet
	MOVQ	$const_ckECanceled, DX
	MOVQ	$const_drainCalls, coro_drain(BX)
	CMPQ	coro_inTrap(BX), $const_waitArgs
	JNE	cancelSet
	MOVQ	coro_tag(BX), CX
	MOVQ	coro_cancels(BX)(CX*8), DX
cancelSet:
	MOVQ	BX, DI
	MOVQ	R12, CX
	ANDQ	$const_resumeFromGo, CX
	CALL	switchIn<>(SB)

	// Back: AX is the coroutine's next state (suspended after a yield,
	// dead after a return); yield or coEntry stored its context.
	MOVQ	AX, CX
	MOVQ	coro_prev(BX), DX
	MOVQ	DX, threadBlock_current(R14)
	TESTQ	R13, R13
	JZ	3(PC)
	MOVQ	coro_value(BX), DX
	MOVQ	DX, 0(R13)

	// The code: CK_OK for a yield, CK_DONE for a return, CK_EREFUSED when
	// callbackCommon refused a Go callback under a direct resume.
	MOVQ	$const_ckOK, AX
	CMPQ	CX, $const_stDead
	JNE	2(PC)
	MOVQ	$const_ckDone, AX
	CMPQ	CX, $const_stRefused
	JNE	3(PC)
	MOVQ	$const_ckERefused, AX
	MOVQ	$const_stDead, CX // refused: abandoned, dead

publish:
	// Publish the status last: once it says suspended, another thread may
	// resume the coroutine, and its context is already stored. (x86 stores
	// are released in order.) Go publishes for itself.
	TESTQ	$const_resumeGo, R12
	JNZ	out
	TESTQ	$const_resumeCancel, R12
	JZ	2(PC)
	MOVQ	$const_stClosed, CX
	ORQ	R15, CX
	MOVQ	CX, coro_status(BX)
	JMP	out

busy:
	// AX holds the status word found. Another generation means the
	// coroutine was closed (and its stack perhaps reused).
	MOVQ	AX, CX
	XORQ	R15, CX
	ANDQ	$~const_stMask, CX
	JNZ	closed
	ANDQ	$const_stMask, AX
	CMPQ	AX, $const_stRunning
	JEQ	running
	CMPQ	AX, $const_stDead
	JEQ	dead
closed:
	MOVQ	$const_ckEClosed, AX
	JMP	out
wrongThread:
	MOVQ	AX, coro_status(BX)
	MOVQ	$const_ckEThread, AX
	JMP	out
running:
	MOVQ	$const_ckERunning, AX
	JMP	out
dead:
	MOVQ	$const_ckEDead, AX
	JMP	out
einval:
	MOVQ	$const_ckEInval, AX
out:
	POPQ	R15
	POPQ	R14
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

// switchIn<> switches from the resumer to the coroutine co (RDI): it saves
// the resumer's context in co->caller and jumps into the coroutine, with
// AX = RDX, the return value of the yield or trap it waits in (in XMM0 as
// well, for a yield function a C library called as a callback that
// returns a double or a float: XMM0 is caller-saved, so the other waits
// lose nothing), and RSI = co for a fresh coroutine's coEntry. It "returns" when the coroutine yields
// or ends, with the coroutine's next state in AX. RCX != 0 says the
// resumer is Go (resumeFromGo): its floating-point control state is Go's,
// goFP, and is stored without being read (ctxframe_amd64.h says why).
//
// The crossing is a JMP, not a RET, and the resumer's context resumes at
// switchBack, whose RET returns to our caller. This is for the CPU's stack
// of predicted return addresses (the RAS). Our CALL pushed our return
// address on it, and the JMP, predicted by the indirect-branch predictor
// (a loop resumes the same place each time), leaves it there while the
// body runs. The body's call of yield pushes one more; yield's RET back
// here pops that one, mispredicted (the one miss of a round trip), and
// lands in switchBack, whose RET pops ours, predicted. A RET in both
// directions would miss twice: each would pop the other stack's address.
// (A JMP into C is safe on x86: CET's indirect-branch tracking, which would
// want an ENDBR64 there, is not enabled for user processes by Linux, and a
// Go binary is not marked for it.)
//
// The resumer's stack while the coroutine runs:
//
//	+0x40  our return address, in resumeCore
//	+0x38  switchBack: the RIP the coroutine's switch back returns to
//	+0x30  the FP control words (MXCSR, x87 CW): read, or Go's
//	+0x00  R12 R13 R14 R15 RBX RBP    <- co->caller
TEXT switchIn<>(SB), NOSPLIT|NOFRAME, $0-0
	// The resumer's context resumes at switchBack.
	LEAQ	switchBack<>(SB), R8
	PUSHQ	R8
	// Its FP control state: read, or for a Go resumer known.
	TESTQ	CX, CX
	JNZ	fromGo
	SAVE_FP_CONTROL
	JMP	save
fromGo:
	PUSHQ	·goFP(SB)
save:
	// The callee-saved registers; SP is then the resumer's context.
	SAVE_REGISTERS
	MOVQ	SP, coro_caller(DI)
	// Into the coroutine: SI = co for a fresh one's coEntry, AX the
	// result of the yield or trap it waits in; RESTORE_CONTEXT leaves SP
	// at its saved RIP, which the JMP resumes, popped.
	MOVQ	DI, SI
	MOVQ	DX, AX
	RESTORE_CONTEXT(coro_ctx(DI))
	MOVQ	AX, X0
	POPQ	R8
	JMP	R8

// switchBack<> is where a coroutine's switch back to its resumer lands
// (see switchIn): one more return, to switchIn's caller.
TEXT switchBack<>(SB), NOSPLIT|NOFRAME, $0-0
	RET

// suspend<> is the second half of yield, trap and yieldArgs, reached by
// a JMP once they have checked that co (DI) runs on this stack, with SP
// still at their return address: each of them switches itself, one call
// below the body. It stores the word handed to the resumer (SI), where the
// next resume's word goes (DX, or 0), and whether that word comes back as
// the function's result instead of CK_OK (R8: 1 for a trap-style wait),
// then switches back to co's resumer, telling it co is suspended.
TEXT suspend<>(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ	SI, coro_value(DI)
	MOVQ	DX, coro_inPtr(DI)
	MOVQ	R8, coro_inTrap(DI)
	SAVE_CONTEXT
	MOVQ	SP, coro_ctx(DI)
	MOVQ	$const_stSuspended, AX
	RESTORE_CONTEXT(coro_caller(DI))
	RET

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
	// Check with caller-saved registers only and nothing pushed, so that
	// SP still points at our return address, the RIP of the frame below.
	TESTQ	DI, DI
	JZ	notrunning
	MOVQ	coro_status(DI), AX
	ANDQ	$const_stMask, AX
	CMPQ	AX, $const_stRunning
	JNE	notrunning
	// co is the innermost coroutine on this thread exactly when we run on
	// its stack: a stack runs on one thread at a time, and a coroutine
	// resumed from co's body runs on a stack of its own.
	CMPQ	SP, coro_stackLo(DI)
	JCS	notrunning
	CMPQ	SP, coro_stackHi(DI)
	JCC	notrunning

	// Switch back to the resumer, telling it we are suspended. The resume
	// that wakes us returns from this function with AX = CK_OK (or
	// CK_ECANCELED).
	XORL	R8, R8
	JMP	suspend<>(SB)
notrunning:
	MOVQ	$const_ckENotRunning, AX
	RET

// trap is
//
//	int64_t ck_trap(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b);
//
// the kernel trap of the trapping table: it records op, a and b in the
// record and yields 0; the resumer (package kernel) reads them and
// resumes with the trap's result word, which trap returns (CK_ECANCELED
// for Close's cancel). Called with a coroutine that is not the one running
// on this stack, it returns CK_ENOTTASK at once.
TEXT ·trap(SB), NOSPLIT|NOFRAME, $0-0
	// Check as yield does, with nothing pushed: trap switches itself, one
	// call below the body.
	TESTQ	DI, DI
	JZ	notask
	MOVQ	coro_status(DI), AX
	ANDQ	$const_stMask, AX
	CMPQ	AX, $const_stRunning
	JNE	notask
	CMPQ	SP, coro_stackLo(DI)
	JCS	notask
	CMPQ	SP, coro_stackHi(DI)
	JCC	notask

	// Record the trap (op is a uint32: zero-extend it), yield 0 and wait
	// in trap: the resume that wakes us returns its word from here.
	MOVL	SI, SI
	MOVQ	SI, coro_trapOp(DI)
	MOVQ	DX, coro_trapA(DI)
	MOVQ	CX, coro_trapB(DI)
	XORL	SI, SI
	XORL	DX, DX
	MOVQ	$1, R8
	JMP	suspend<>(SB)
notask:
	MOVQ	$const_ckENotTask, AX
	RET

// noTrap is the trap entry of the plain table: a coroutine that is not a
// kernel task cannot trap.
TEXT ·noTrap(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ	$const_ckENotTask, AX
	RET

// goCycle is the cgocall target behind Ring.Cycle:
//
//	void ck_go_cycle(struct cycleArgs *a);
//
// It resumes ring[start], ring[start+1], ... round the ring, each with the
// word in its co->value (the first time, what Ring.Add stored; after a
// trap, 0, which trap leaves there), for as long as each one yields
// through trap with op == pass (consumed: its trap op is cleared), at most
// max times, or until the Go side sets a.stop (Ring.Stop, from a Go
// callback of the coroutine last resumed). It stops at the first coroutine
// that does anything else
// (another trap, a plain yield, a return, an error) and reports where: i,
// the resumes made (count, including the one that stopped), and that
// resume's code: CK_OK when it merely trapped otherwise, cycleMore when
// max ran out (i is then the next to run). All in native code, in one
// cgocall. i and count are kept up to date before each resume, so that
// after a panic in a Go callback they name the coroutine it came from.
TEXT ·goCycle(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = a, R12 = thread block, R14 = i, R15 = count; R13 pushed only
	// to realign SP (five pushes).
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	PUSHQ	R15
	MOVQ	DI, BX
	CALL	threadBlock<>(SB)
	MOVQ	AX, R12
	MOVQ	cycleArgs_start(BX), R14
	XORL	R15, R15
loop:
	MOVQ	$const_cycleMore, AX
	CMPQ	R15, cycleArgs_max(BX)
	JEQ	stop
	// Stopped by the Go side (Ring.Stop, from a callback of the last
	// coroutine resumed): as if the budget had run out.
	CMPQ	cycleArgs_stop(BX), $0
	JNE	stop
	// Progress so far, for a Go callback's panic that abandons this loop.
	MOVQ	R14, cycleArgs_i(BX)
	MOVQ	R15, cycleArgs_count(BX)
	MOVQ	cycleArgs_ring(BX), CX
	MOVQ	(CX)(R14*8), DI
	MOVQ	coro_value(DI), SI
	XORL	DX, DX
	MOVQ	R12, CX
	// Expect the record's own generation, suspended, as C's resume does.
	MOVQ	coro_status(DI), R8
	ANDQ	$~const_stMask, R8
	MOVQ	$const_resumeFromGo, R9
	CALL	resumeCore<>(SB)
	INCQ	R15
	TESTQ	AX, AX
	JNZ	stop
	// It yielded: through trap with the passing op?
	MOVQ	cycleArgs_ring(BX), CX
	MOVQ	(CX)(R14*8), CX
	MOVQ	coro_trapOp(CX), DX
	CMPQ	DX, cycleArgs_pass(BX)
	JNE	stop
	MOVQ	$0, coro_trapOp(CX)
	INCQ	R14
	CMPQ	R14, cycleArgs_n(BX)
	JNE	loop
	XORL	R14, R14
	JMP	loop
stop:
	MOVQ	R14, cycleArgs_i(BX)
	MOVQ	R15, cycleArgs_count(BX)
	MOVQ	AX, cycleArgs_code(BX)
	POPQ	R15
	POPQ	R14
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

// current is
//
//	ck_coroutine *ck_current(void);
//
// the innermost coroutine running on this thread, or NULL.
TEXT ·current(SB), NOSPLIT|NOFRAME, $0-0
	SUBQ	$8, SP
	CALL	threadBlock<>(SB)
	MOVQ	threadBlock_current(AX), AX
	ADDQ	$8, SP
	RET

// coEntry is the entry function of every coroutine's context: switchIn's
// first return lands in the machine layer's contextEntry, which calls us
// with co in RSI. It calls co->fn(co, co->arg) and, when that returns,
// stores the result and switches back for good, telling the resumer the
// coroutine is dead. It is the top of the coroutine's stack for Go's
// unwinder (TOPFRAME).
TEXT ·coEntry(SB), NOSPLIT|NOFRAME|TOPFRAME, $0-0
	// Entered like a call (SP+8 aligned); RBP is 0, ending the frame chain.
	// RBX is ours: nothing returns into this frame's caller.
	// The alignment slot keeps RBP (zero): vet's frame-pointer check wants
	// it saved before the final switch loads the resumer's.
	SUBQ	$8, SP
	MOVQ	BP, 0(SP)
	MOVQ	SI, BX
	MOVQ	$1, coro_started(BX)
	MOVQ	BX, DI
	MOVQ	coro_arg(BX), SI
	MOVQ	coro_fn(BX), AX
	CALL	AX

	// fn returned: its result is the last word out. Switch back for good:
	// RESTORE_CONTEXT spelled with loads instead of pops, since nothing was
	// pushed here (the assembler checks that pushes and pops balance).
	MOVQ	AX, coro_value(BX)
	MOVQ	coro_caller(BX), R8
	LDMXCSR	0x30(R8)
	FLDCW	0x34(R8)
	MOVQ	0x00(R8), R12
	MOVQ	0x08(R8), R13
	MOVQ	0x10(R8), R14
	MOVQ	0x18(R8), R15
	MOVQ	0x20(R8), BX
	MOVQ	0x28(R8), BP
	LEAQ	0x38(R8), SP
	MOVQ	$const_stDead, AX
	RET

// goResume is the cgocall target behind (*Coroutine).Resume and Close:
//
//	int ck_go_resume(struct resumeArgs *a);
//
// a, on the resuming goroutine's stack, carries this call's co, in, the
// expected status word and the cancel flag; it is read before the switch
// and never after (a Go callback may move that stack). The word comes back
// in co->value, and the status is left running for Go to publish once it
// has read it: until then no other call can claim the coroutine.
TEXT ·goResume(SB), NOSPLIT|NOFRAME, $0-0
	// RBX keeps a; the push realigns SP.
	PUSHQ	BX
	MOVQ	DI, BX
	CALL	threadBlock<>(SB)
	MOVQ	AX, CX
	MOVQ	resumeArgs_co(BX), DI
	MOVQ	resumeArgs_in(BX), SI
	XORL	DX, DX
	MOVQ	resumeArgs_expect(BX), R8
	MOVQ	resumeArgs_flags(BX), R9
	ORQ	$(const_resumeGo|const_resumeFromGo), R9
	CALL	resumeCore<>(SB)
	POPQ	BX
	RET

// directResume is func directResume(a *resumeArgs) int32, in Go's ABI0:
// the direct resume (WithDirect), entered from the goroutine's own stack
// with no runtime.cgocall, so the goroutine stays running, not in a
// system call. It does what goResume does, from inside its own frame.
//
// Go's frame, drawn from the top (SP is Go's SP after the prologue):
//
//	+0x208           saved BP (the prologue's)
//	+0x200 ... +0x1f0  the C-ABI code's frames grow down from here: SP is
//	                 moved to the frame's top, 16-byte aligned, before the
//	                 first call, so that every push and call below stays
//	                 inside this frame. The frame is NOSPLIT's budget: the
//	                 linker checks that it, and the frames it sees below,
//	                 fit in the space every Go function leaves.
//	+0x000           Go's SP, kept in R13 (callee-saved in C) meanwhile
//
// The thread block is read with pthread_getspecific, a leaf. A thread
// without one yet returns CK_ENOBLOCK: making one calls calloc, which may
// need more stack than this frame, so Go resumes through cgocall once.
// While the resume runs, threadBlock_direct holds the coroutine, so that
// callbackCommon refuses Go callbacks; the previous value is put back
// after (a direct resume can run inside a callback of an ordinary one).
// No Go code can run until it returns, so the goroutine's stack stays
// put: resumeCore stores the word in a.out and publishes the status
// itself, as for a C resumer.
TEXT ·directResume(SB), NOSPLIT, $512-12
	MOVQ	a+0(FP), R12
	MOVQ	SP, R13
	LEAQ	504(SP), AX
	ANDQ	$~15, AX
	MOVQ	AX, SP

	// The thread block, or CK_ENOBLOCK.
	MOVQ	·tlsKey(SB), DI
	MOVQ	·pthreadGetspecific(SB), AX
	CALL	AX
	TESTQ	AX, AX
	JZ	noBlock

	// Mark the direct resume, keeping the old mark and the block (two
	// pushes keep SP aligned), and resume as goResume does.
	MOVQ	AX, CX
	PUSHQ	threadBlock_direct(CX)
	PUSHQ	CX
	MOVQ	resumeArgs_co(R12), DI
	MOVQ	DI, threadBlock_direct(CX)
	MOVQ	resumeArgs_in(R12), SI
	LEAQ	resumeArgs_out(R12), DX
	MOVQ	resumeArgs_expect(R12), R8
	MOVQ	resumeArgs_flags(R12), R9
	ORQ	$const_resumeFromGo, R9
	CALL	resumeCore<>(SB)
	POPQ	CX
	POPQ	threadBlock_direct(CX)
	MOVQ	R13, SP
	MOVL	AX, ret+8(FP)
	RET
noBlock:
	MOVQ	R13, SP
	MOVL	$const_ckENoBlock, ret+8(FP)
	RET

// fpState is func fpState() uint64, in Go's ABI0: this thread's
// floating-point control state in the context frame's layout, MXCSR
// without its status flags | x87 control word << 32.
TEXT ·fpState(SB), NOSPLIT, $8-8
	STMXCSR	0(SP)
	FSTCW	4(SP)
	MOVL	0(SP), AX
	ANDL	$~0x3f, AX
	MOVWLZX	4(SP), CX
	SHLQ	$32, CX
	ORQ	CX, AX
	MOVQ	AX, ret+0(FP)
	RET

// cpuAMD is func cpuAMD() bool, in Go's ABI0 (see CPU_VENDOR_AMD).
TEXT ·cpuAMD(SB), NOSPLIT, $0-1
	CPU_VENDOR_AMD
	MOVB	DX, ret+0(FP)
	RET

// storeRelease is func storeRelease(p *uintptr, v uintptr), in Go's ABI0:
// a store with release order, a plain MOV on x86 (a Go atomic store is an
// XCHG, a locked instruction), so that publishing a status costs no more
// from Go than from native code.
TEXT ·storeRelease(SB), NOSPLIT, $0-16
	MOVQ	p+0(FP), AX
	MOVQ	v+8(FP), CX
	MOVQ	CX, 0(AX)
	RET

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
	CALL	threadBlock<>(SB)
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
kill:
	// CX is abandoned: dead, in its own generation.
	MOVQ	coro_status(CX), DX
	ANDQ	$~const_stMask, DX
	ORQ	$const_stDead, DX
	MOVQ	DX, coro_status(CX)
	CMPQ	CX, R8
	JEQ	last
	MOVQ	coro_prev(CX), CX
	JMP	kill
last:
	MOVQ	coro_prev(R8), DX
	MOVQ	DX, threadBlock_current(AX)
done:
	RET

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
	CALL	threadBlock<>(SB)
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
	MOVQ	cbFrame_fp(SP), R8
	XORQ	·goFP(SB), R8
	MOVQ	$const_fpControlMask, R9
	ANDQ	R9, R8
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
	MOVQ	cbFrame_fp(SP), R8
	XORQ	·goFP(SB), R8
	MOVQ	$const_fpControlMask, R9
	ANDQ	R9, R8
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
rkill:
	MOVQ	coro_status(CX), DX
	ANDQ	$~const_stMask, DX
	ORQ	$const_stDead, DX
	MOVQ	DX, coro_status(CX)
	CMPQ	CX, R8
	JEQ	rswitch
	MOVQ	coro_prev(CX), CX
	JMP	rkill
rswitch:
	// RESTORE_CONTEXT compares with a frame just saved: save one on the
	// abandoned stack.
	SAVE_CONTEXT
	MOVQ	$const_stRefused, AX
	RESTORE_CONTEXT(coro_caller(R8))
	RET

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
// Frame (SP 16-byte aligned for the call to threadBlock<>):
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
	CALL	threadBlock<>(SB)

	// The current coroutine must be running on this very stack (see yield).
	MOVQ	threadBlock_current(AX), DI
	TESTQ	DI, DI
	JZ	yaNotRunning
	MOVQ	coro_status(DI), AX
	ANDQ	$const_stMask, AX
	CMPQ	AX, $const_stRunning
	JNE	yaNotRunning
	CMPQ	SP, coro_stackLo(DI)
	JCS	yaNotRunning
	CMPQ	SP, coro_stackHi(DI)
	JCC	yaNotRunning

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
	JMP	suspend<>(SB)
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

// goThreadBlock is a cgocall target that makes this thread's block if it
// has none (threadBlock<>): a direct resume (WithDirect) cannot make one
// itself, and calls this first on a thread's first resume.
TEXT ·goThreadBlock(SB), NOSPLIT|NOFRAME, $0-0
	SUBQ	$8, SP
	CALL	threadBlock<>(SB)
	ADDQ	$8, SP
	RET

// makeFrame is func makeFrame(make, top, entry uintptr) uintptr, in Go's
// ABI0: make(top, 0, entry), the machine layer's ck_make_context, called
// on the goroutine's stack without a cgocall. makeContext is a leaf that
// writes only the new context's frame below top and uses no stack of its
// own beyond the return address (ctx_amd64.s); it clobbers AX and CX.
TEXT ·makeFrame(SB), NOSPLIT, $0-32
	MOVQ	top+8(FP), DI
	XORL	SI, SI
	MOVQ	entry+16(FP), DX
	MOVQ	make+0(FP), AX
	CALL	AX
	MOVQ	AX, ret+24(FP)
	RET

// threadID is func threadID() uintptr, in Go's ABI0: the id of this
// thread's block, or 0 when it has none. pthread_getspecific is a leaf
// that only reads the thread's TLS; it runs inside this frame, on the
// goroutine's stack, with SP moved to the frame's 16-byte aligned top and
// Go's SP kept in R12 (callee-saved in C).
TEXT ·threadID(SB), NOSPLIT, $128-8
	MOVQ	SP, R12
	LEAQ	120(SP), AX
	ANDQ	$~15, AX
	MOVQ	AX, SP
	MOVQ	·tlsKey(SB), DI
	MOVQ	·pthreadGetspecific(SB), AX
	CALL	AX
	MOVQ	R12, SP
	TESTQ	AX, AX
	JZ	2(PC)
	MOVQ	threadBlock_id(AX), AX
	MOVQ	AX, ret+0(FP)
	RET

// addrs fills dst, indexed by the e* constants of ctx.go, with the entry
// addresses of this package's C-ABI functions.
TEXT ·addrs(SB), NOSPLIT, $0-8
	MOVQ	dst+0(FP), DI
	MOVQ	$·resume(SB), AX
	MOVQ	AX, (const_eResume*8)(DI)
	MOVQ	$·yield(SB), AX
	MOVQ	AX, (const_eYield*8)(DI)
	MOVQ	$·current(SB), AX
	MOVQ	AX, (const_eCurrent*8)(DI)
	MOVQ	$·trap(SB), AX
	MOVQ	AX, (const_eTrap*8)(DI)
	MOVQ	$·noTrap(SB), AX
	MOVQ	AX, (const_eNoTrap*8)(DI)
	MOVQ	$·goResume(SB), AX
	MOVQ	AX, (const_eGoResume*8)(DI)
	MOVQ	$·goCycle(SB), AX
	MOVQ	AX, (const_eGoCycle*8)(DI)
	MOVQ	$·goCbUnwind(SB), AX
	MOVQ	AX, (const_eGoCbUnwind*8)(DI)
	MOVQ	$·coEntry(SB), AX
	MOVQ	AX, (const_eCoEntry*8)(DI)
	MOVQ	$·threadDestroy(SB), AX
	MOVQ	AX, (const_eThreadDestroy*8)(DI)
	MOVQ	$·thunkTable(SB), AX
	MOVQ	AX, (const_eThunkTable*8)(DI)
	MOVQ	$·segvHandler(SB), AX
	MOVQ	AX, (const_eSegvHandler*8)(DI)
	MOVQ	$·yieldTable(SB), AX
	MOVQ	AX, (const_eYieldTable*8)(DI)
	MOVQ	$·callBody(SB), AX
	MOVQ	AX, (const_eCallBody*8)(DI)
	MOVQ	$·goThreadBlock(SB), AX
	MOVQ	AX, (const_eGoThreadBlock*8)(DI)
	RET

// callerFP is func callerFP() uintptr, in Go's ABI0: the frame pointer of
// the Go function that calls it (a frameless function leaves BP alone).
TEXT ·callerFP(SB), NOSPLIT, $0-8
	MOVQ	BP, ret+0(FP)
	RET
