// The switch core for amd64: resume and yield, the switch between a
// coroutine and its resumer, the first frame of every coroutine, and the
// resumes Go makes (through runtime.cgocall, or direct). The other rooms:
// thread_amd64.s (the per-thread block), trap_amd64.s (traps and rings),
// callback_amd64.s (Go callbacks), pull_amd64.s (pull loops), fp_amd64.s and
// gocoro_amd64.s; co_amd64.h holds the checks they share. All functions here use the
// System V C ABI. Record layouts and constants come from go_asm.h, which
// the Go toolchain writes from the Go declarations in record.go (type coro is
// struct ck_coroutine, threadBlock the per-thread block, cbRecord a
// callback in progress, resumeArgs one Go Resume's argument block); the
// context frame is ctxframe_amd64.h, a copy of the machine layer's (CTX_* slots).
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
#include "co_amd64.h"

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
	CALL	·getThreadBlock(SB)
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
	JMP	·resumeCore(SB)
DATA	·resumeAddr+0(SB)/8, $·resume(SB)
GLOBL	·resumeAddr(SB), NOPTR|RODATA, $8

// resumeCore resumes co (RDI) with in (RSI), storing its word at out
// (RDX, may be 0), with the thread block in RCX, the status word the claim
// expects in R8 and flags in R9: resumeCancel makes the yield or trap the
// body waits in return CK_ECANCELED and leaves the coroutine closed;
// resumeGo leaves the status for the caller to publish (Go does, after it
// has read co->value). It returns a CK_* code. Nothing the caller passed
// by address is touched after the switch: Go callbacks from the body may
// move the resuming goroutine's stack.
TEXT ·resumeCore(SB), NOSPLIT|NOFRAME, $0-0
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

// suspend is the second half of yield, trap and yieldArgs, reached by
// a JMP once they have checked that co (DI) runs on this stack, with SP
// still at their return address: each of them switches itself, one call
// below the body. It stores the word handed to the resumer (SI), where the
// next resume's word goes (DX, or 0), and whether that word comes back as
// the function's result instead of CK_OK (R8: 1 for a trap-style wait),
// then switches back to co's resumer, telling it co is suspended.
TEXT ·suspend(SB), NOSPLIT|NOFRAME, $0-0
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
	RUNNING_HERE(DI, notrunning)

	// Switch back to the resumer, telling it we are suspended. The resume
	// that wakes us returns from this function with AX = CK_OK (or
	// CK_ECANCELED).
	XORL	R8, R8
	JMP	·suspend(SB)
notrunning:
	MOVQ	$const_ckENotRunning, AX
	RET
DATA	·yieldAddr+0(SB)/8, $·yield(SB)
GLOBL	·yieldAddr(SB), NOPTR|RODATA, $8

// current is
//
//	ck_coroutine *ck_current(void);
//
// the innermost coroutine running on this thread, or NULL.
TEXT ·current(SB), NOSPLIT|NOFRAME, $0-0
	SUBQ	$8, SP
	CALL	·getThreadBlock(SB)
	MOVQ	threadBlock_current(AX), AX
	ADDQ	$8, SP
	RET
DATA	·currentAddr+0(SB)/8, $·current(SB)
GLOBL	·currentAddr(SB), NOPTR|RODATA, $8

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

	// fn returned: its result is the last word out. Switch back for good,
	// with LOAD_CONTEXT: nothing was pushed here to pop (the assembler
	// checks that pushes and pops balance), and no frame of ours to
	// compare the FP words with.
	MOVQ	AX, coro_value(BX)
	MOVQ	coro_caller(BX), R8
	LOAD_CONTEXT(R8)
	MOVQ	$const_stDead, AX
	RET
DATA	·coEntryAddr+0(SB)/8, $·coEntry(SB)
GLOBL	·coEntryAddr(SB), NOPTR|RODATA, $8

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
	CALL	·getThreadBlock(SB)
	MOVQ	AX, CX
	MOVQ	resumeArgs_co(BX), DI
	MOVQ	resumeArgs_in(BX), SI
	XORL	DX, DX
	MOVQ	resumeArgs_expect(BX), R8
	MOVQ	resumeArgs_flags(BX), R9
	ORQ	$(const_resumeGo|const_resumeFromGo), R9
	CALL	·resumeCore(SB)
	POPQ	BX
	RET
DATA	·goResumeAddr+0(SB)/8, $·goResume(SB)
GLOBL	·goResumeAddr(SB), NOPTR|RODATA, $8

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
	CALL	·resumeCore(SB)
	POPQ	CX
	POPQ	threadBlock_direct(CX)
	MOVQ	R13, SP
	MOVL	AX, ret+8(FP)
	RET
noBlock:
	MOVQ	R13, SP
	MOVL	$const_ckENoBlock, ret+8(FP)
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

// storeRelease is func storeRelease(p *uintptr, v uintptr), in Go's ABI0:
// a store with release order, a plain MOV on x86 (a Go atomic store is an
// XCHG, a locked instruction), so that publishing a status costs no more
// from Go than from native code.
TEXT ·storeRelease(SB), NOSPLIT, $0-16
	MOVQ	p+0(FP), AX
	MOVQ	v+8(FP), CX
	MOVQ	CX, 0(AX)
	RET
