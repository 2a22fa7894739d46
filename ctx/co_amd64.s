// Coroutines for amd64: resume, yield, the first frame of every coroutine,
// the per-thread block, the entry Go uses through runtime.cgocall, and the
// callback trampoline. All functions here use the System V C ABI; see
// co_asm.h for the record layouts and ../ctxframe_amd64.h for the context
// frame, shared with the machine layer.
//
// The switches here are balanced: entered by CALL, left by RET. (The
// machine layer's jumpContext leaves by JMP, which suits native loops that
// never return.) A body resumed from Go returns up a chain of frames after
// every switch, and an unbalanced switch would leave the CPU's stack of
// predicted return addresses off by one entry per switch, so that nearly
// every return in the cgocall chain mispredicted. Balanced, only two
// returns per round trip mispredict, the minimum: the one that crosses
// stacks in each direction. For the same reason yield switches itself,
// one call below the body, instead of calling a switch function.

#include "textflag.h"
#include "co_asm.h"
#include "../ctxframe_amd64.h"

// threadBlock<> returns in AX this thread's block (co_asm.h, TB_*),
// allocating it with calloc on the thread's first use. It clobbers only
// caller-saved registers and may run on any stack.
TEXT threadBlock<>(SB), NOSPLIT|NOFRAME, $0-0
	// One slot keeps SP 16-byte aligned for the C calls (we were CALLed).
	SUBQ	$8, SP
	MOVQ	·tlsKey(SB), DI
	MOVQ	·pthreadGetspecific(SB), AX
	CALL	AX
	TESTQ	AX, AX
	JNZ	done

	// First use on this thread: calloc(1, TB_SIZE), then
	// pthread_setspecific(key, block). The key's destructor frees it.
	MOVQ	$1, DI
	MOVQ	$TB_SIZE, SI
	MOVQ	·libcCalloc(SB), AX
	CALL	AX
	MOVQ	AX, 0(SP)
	MOVQ	·tlsKey(SB), DI
	MOVQ	AX, SI
	MOVQ	·pthreadSetspecific(SB), AX
	CALL	AX
	MOVQ	0(SP), AX
done:
	ADDQ	$8, SP
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
	// Look up the thread block, keeping the arguments in callee-saved
	// registers across the call (three pushes realign SP), then continue
	// in resumeCore.
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
	JMP	resumeCore<>(SB)

// resumeCore<> is resume with the thread block already in RCX: co in RDI,
// in in RSI, out in RDX.
TEXT resumeCore<>(SB), NOSPLIT|NOFRAME, $0-0
	// Save the callee-saved registers we use; the fifth push realigns SP.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	PUSHQ	R15
	MOVQ	DI, BX // co
	MOVQ	SI, R12 // in
	MOVQ	DX, R13 // out
	MOVQ	CX, R14 // thread block
	TESTQ	BX, BX
	JZ	einval

	// Claim the coroutine: status suspended -> running, atomically, so that
	// two threads racing to resume it cannot both get in.
	MOVQ	$ST_SUSPENDED, AX
	MOVQ	$ST_RUNNING, CX
	LOCK
	CMPXCHGQ	CX, CO_STATUS(BX)
	JNE	busy

	// Link it as this thread's current coroutine, remembering the outer one.
	MOVQ	TB_CURRENT(R14), CX
	MOVQ	CX, CO_PREV(BX)
	MOVQ	BX, TB_CURRENT(R14)

	// Deliver in: in co->value, where a suspended yield asked for it, and
	// as trap's return value (in DX for switchIn) if it waits in trap.
	MOVQ	R12, CO_VALUE(BX)
	MOVQ	CO_INPTR(BX), CX
	TESTQ	CX, CX
	JZ	2(PC)
	MOVQ	R12, 0(CX)
	MOVQ	$CK_OK, DX
	CMPQ	CO_INTRAP(BX), $0
	CMOVQNE	R12, DX
	MOVQ	BX, DI
	CALL	switchIn<>(SB)

	// Back: AX is the coroutine's next status (suspended after a yield,
	// dead after a return); yield or coEntry stored its context.
	MOVQ	AX, R15
	MOVQ	CO_PREV(BX), CX
	MOVQ	CX, TB_CURRENT(R14)
	TESTQ	R13, R13
	JZ	canary
	MOVQ	CO_VALUE(BX), CX
	MOVQ	CX, 0(R13)

canary:
	// The canary word at the low end of the stack must be intact; if not,
	// the stack overflowed past the guard page and the coroutine is dead.
	MOVQ	CO_STACKLO(BX), CX
	MOVQ	0(CX), CX
	CMPQ	CX, CO_CANARY(BX)
	JNE	estack

	// Publish the status last: once it says suspended, another thread may
	// resume the coroutine, and its context is already stored.
	MOVQ	R15, CO_STATUS(BX)
	MOVQ	$CK_OK, AX
	CMPQ	R15, $ST_DEAD
	JNE	out
	MOVQ	$CK_DONE, AX
	JMP	out

estack:
	MOVQ	$ST_DEAD, CO_STATUS(BX)
	MOVQ	$CK_ESTACK, AX
	JMP	out
busy:
	// AX holds the status we found.
	CMPQ	AX, $ST_RUNNING
	MOVQ	$CK_ERUNNING, AX
	JEQ	out
	MOVQ	$CK_EDEAD, AX
	JMP	out
einval:
	MOVQ	$CK_EINVAL, AX
out:
	POPQ	R15
	POPQ	R14
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

// switchIn<> switches from the resumer to the coroutine co (RDI): it saves
// the resumer's context in co->caller and returns into the coroutine, with
// AX = RDX, the return value of the yield or trap it waits in, and RSI = co
// for a fresh coroutine's coEntry. It "returns" when the coroutine yields
// or ends, with the coroutine's next status in AX.
TEXT switchIn<>(SB), NOSPLIT|NOFRAME, $0-0
	SAVE_CONTEXT
	MOVQ	SP, CO_CALLER(DI)
	MOVQ	DI, SI
	MOVQ	DX, AX
	RESTORE_CONTEXT(CO_CTX(DI))
	RET

// yield is
//
//	int ck_yield(ck_coroutine *co, uintptr_t out, uintptr_t *in);
//
// It suspends co, the innermost coroutine running on this thread, handing
// out to its resumer, and returns CK_OK when resumed, with the resumer's
// word in *in (in may be NULL; the resumer stores it). Called with any
// other co, it returns CK_ENOTRUNNING at once.
TEXT ·yield(SB), NOSPLIT|NOFRAME, $0-0
	// Check with caller-saved registers only and nothing pushed, so that
	// SP still points at our return address, the RIP of the frame below.
	TESTQ	DI, DI
	JZ	notrunning
	CMPQ	CO_STATUS(DI), $ST_RUNNING
	JNE	notrunning
	// co is the innermost coroutine on this thread exactly when we run on
	// its stack: a stack runs on one thread at a time, and a coroutine
	// resumed from co's body runs on a stack of its own.
	CMPQ	SP, CO_STACKLO(DI)
	JCS	notrunning
	CMPQ	SP, CO_STACKHI(DI)
	JCC	notrunning

	// Switch back to the resumer, telling it we are suspended. The resume
	// that wakes us returns from this function with AX = CK_OK.
	MOVQ	SI, CO_VALUE(DI)
	MOVQ	DX, CO_INPTR(DI)
	MOVQ	$0, CO_INTRAP(DI)
	SAVE_CONTEXT
	MOVQ	SP, CO_CTX(DI)
	MOVQ	$ST_SUSPENDED, AX
	RESTORE_CONTEXT(CO_CALLER(DI))
	RET
notrunning:
	MOVQ	$CK_ENOTRUNNING, AX
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
	// Check with caller-saved registers only and nothing pushed, so that
	// SP still points at our return address, the RIP of the frame below:
	// trap switches itself, like yield, one call below the body.
	TESTQ	DI, DI
	JZ	notask
	CMPQ	CO_STATUS(DI), $ST_RUNNING
	JNE	notask
	CMPQ	SP, CO_STACKLO(DI)
	JCS	notask
	CMPQ	SP, CO_STACKHI(DI)
	JCC	notask

	// Record the trap (op is a uint32: zero-extend it), yield 0 and wait
	// in trap: the resume that wakes us returns its word from here.
	MOVL	SI, SI
	MOVQ	SI, CO_TRAPOP(DI)
	MOVQ	DX, CO_TRAPA(DI)
	MOVQ	CX, CO_TRAPB(DI)
	MOVQ	$0, CO_VALUE(DI)
	MOVQ	$0, CO_INPTR(DI)
	MOVQ	$1, CO_INTRAP(DI)
	SAVE_CONTEXT
	MOVQ	SP, CO_CTX(DI)
	MOVQ	$ST_SUSPENDED, AX
	RESTORE_CONTEXT(CO_CALLER(DI))
	RET
notask:
	MOVQ	$CK_ENOTTASK, AX
	RET

// noTrap is the trap entry of the plain table: a coroutine that is not a
// kernel task cannot trap.
TEXT ·noTrap(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ	$CK_ENOTTASK, AX
	RET

// goCycle is the cgocall target behind Cycle:
//
//	void ck_go_cycle(struct cycle *a);
//	struct cycle { ck_coroutine **ring; uintptr_t n, start, max, pass;
//	               uintptr_t i, count; intptr_t code; };
//
// It resumes ring[start], ring[start+1], ... round the ring, each with the
// word in its co->value (the first time, what Ring.Add stored; after a
// trap, 0, which trap leaves there), for as long as each one yields
// through trap with op == pass (consumed:
// its trap op is cleared), at most max times. It stops at the first
// coroutine that does anything else (another trap, a plain yield, a return,
// an error) and reports where: i, the resumes made (count, including the
// one that stopped), and that resume's code: CK_OK when it merely trapped
// otherwise, CYCLE_MORE when max ran out (i is then the next to run). All
// in native code, in one cgocall.
TEXT ·goCycle(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = a, R12 = thread block, R13 = the outer system SP, R14 = i,
	// R15 = count. Five pushes realign SP.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	PUSHQ	R15
	MOVQ	DI, BX
	CALL	threadBlock<>(SB)
	MOVQ	AX, R12
	MOVQ	TB_SYSSP(R12), R13
	MOVQ	SP, TB_SYSSP(R12)
	MOVQ	16(BX), R14
	XORL	R15, R15
loop:
	MOVQ	$CYCLE_MORE, AX
	CMPQ	R15, 24(BX)
	JEQ	stop
	MOVQ	0(BX), CX
	MOVQ	(CX)(R14*8), DI
	MOVQ	CO_VALUE(DI), SI
	XORL	DX, DX
	MOVQ	R12, CX
	CALL	resumeCore<>(SB)
	INCQ	R15
	TESTQ	AX, AX
	JNZ	stop
	// It yielded: through trap with the passing op?
	MOVQ	0(BX), CX
	MOVQ	(CX)(R14*8), CX
	MOVQ	CO_TRAPOP(CX), DX
	CMPQ	DX, 32(BX)
	JNE	stop
	MOVQ	$0, CO_TRAPOP(CX)
	INCQ	R14
	CMPQ	R14, 8(BX)
	JNE	loop
	XORL	R14, R14
	JMP	loop
stop:
	MOVQ	R14, 40(BX)
	MOVQ	R15, 48(BX)
	MOVQ	AX, 56(BX)
	MOVQ	R13, TB_SYSSP(R12)
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
	MOVQ	TB_CURRENT(AX), AX
	ADDQ	$8, SP
	RET

// coEntry is the entry function of every coroutine's context: switchIn's
// first return lands in the machine layer's contextEntry, which calls us
// with co in RSI. It calls co->fn(co, co->arg) and, when that returns,
// stores the result and switches back for good, telling the resumer the
// coroutine is dead.
TEXT coEntry<>(SB), NOSPLIT|NOFRAME, $0-0
	// Entered like a call (SP+8 aligned); RBP is 0, ending the frame chain.
	// RBX is ours: nothing returns into this frame's caller.
	// The alignment slot keeps RBP (zero): vet's frame-pointer check wants
	// it saved before the final switch loads the resumer's.
	SUBQ	$8, SP
	MOVQ	BP, 0(SP)
	MOVQ	SI, BX
	MOVQ	BX, DI
	MOVQ	CO_ARG(BX), SI
	MOVQ	CO_FN(BX), AX
	CALL	AX

	// fn returned: its result is the last word out. Switch back for good:
	// RESTORE_CONTEXT spelled with loads instead of pops, since nothing was
	// pushed here (the assembler checks that pushes and pops balance).
	MOVQ	AX, CO_VALUE(BX)
	MOVQ	CO_CALLER(BX), R8
	LDMXCSR	0x30(R8)
	FLDCW	0x34(R8)
	MOVQ	0x00(R8), R12
	MOVQ	0x08(R8), R13
	MOVQ	0x10(R8), R14
	MOVQ	0x18(R8), R15
	MOVQ	0x20(R8), BX
	MOVQ	0x28(R8), BP
	LEAQ	0x38(R8), SP
	MOVQ	$ST_DEAD, AX
	RET

// goResume is the cgocall target behind (*Coroutine).Resume:
//
//	int ck_go_resume(ck_coroutine *co);
//
// in and out travel in co->value. Before resuming it records the SP of
// this, the thread's system stack, in the thread block: callbacks into Go
// from the coroutine's stack switch back below it (see callbackCommon).
TEXT ·goResume(SB), NOSPLIT|NOFRAME, $0-0
	// Three pushes realign SP.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	MOVQ	DI, BX
	CALL	threadBlock<>(SB)
	MOVQ	AX, R12
	MOVQ	TB_SYSSP(R12), R13
	MOVQ	SP, TB_SYSSP(R12)
	MOVQ	BX, DI
	MOVQ	CO_VALUE(BX), SI
	LEAQ	CO_VALUE(BX), DX
	MOVQ	R12, CX
	CALL	resumeCore<>(SB)
	MOVQ	R13, TB_SYSSP(R12)
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

// callbackCommon runs a registered callback (index in R11, from its thunk)
// with the C arguments it was called with. On a coroutine stack it first
// switches to the thread's system stack, below the SP goResume recorded:
// the runtime's cgocallback must run there (it checks SP against the
// thread's stack bounds and dies with "morestack on g0" otherwise). Up to
// six integer and eight floating-point register arguments pass through;
// RAX:RDX and XMM0:XMM1 carry the results back.
//
// Frame on the caller's stack:
//
//	+0x00..0x7f  XMM0-XMM7
//	+0x80..0xaf  RDI RSI RDX RCX R8 R9
//	+0xb0        R11 (callback index)
//	+0xb8        RBX (callee-saved; holds the caller's SP across the call)
//	+0xc0        pad to keep SP 16-byte aligned
TEXT ·callbackCommon(SB), NOSPLIT|NOFRAME, $0-0
	SUBQ	$0xc8, SP
	MOVUPS	X0, 0x00(SP)
	MOVUPS	X1, 0x10(SP)
	MOVUPS	X2, 0x20(SP)
	MOVUPS	X3, 0x30(SP)
	MOVUPS	X4, 0x40(SP)
	MOVUPS	X5, 0x50(SP)
	MOVUPS	X6, 0x60(SP)
	MOVUPS	X7, 0x70(SP)
	MOVQ	DI, 0x80(SP)
	MOVQ	SI, 0x88(SP)
	MOVQ	DX, 0x90(SP)
	MOVQ	CX, 0x98(SP)
	MOVQ	R8, 0xa0(SP)
	MOVQ	R9, 0xa8(SP)
	MOVQ	R11, 0xb0(SP)
	MOVQ	BX, 0xb8(SP)

	// The stack to call on: this one (R11 = SP) unless SP lies inside the
	// current coroutine's stack and Go entered native code on this thread.
	CALL	threadBlock<>(SB)
	MOVQ	SP, R11
	MOVQ	TB_CURRENT(AX), CX
	TESTQ	CX, CX
	JZ	call
	MOVQ	TB_SYSSP(AX), DX
	TESTQ	DX, DX
	JZ	call
	CMPQ	SP, CO_STACKLO(CX)
	JCS	call
	CMPQ	SP, CO_STACKHI(CX)
	JCC	call
	SUBQ	$SYSSP_GAP, DX
	ANDQ	$~15, DX
	MOVQ	DX, R11

call:
	// Target from the table, arguments back in their registers, then call
	// on the chosen stack with the caller's SP kept in RBX.
	MOVQ	0xb0(SP), AX
	LEAQ	·callbackTargets(SB), R10
	MOVQ	(R10)(AX*8), R10
	MOVUPS	0x00(SP), X0
	MOVUPS	0x10(SP), X1
	MOVUPS	0x20(SP), X2
	MOVUPS	0x30(SP), X3
	MOVUPS	0x40(SP), X4
	MOVUPS	0x50(SP), X5
	MOVUPS	0x60(SP), X6
	MOVUPS	0x70(SP), X7
	MOVQ	0x80(SP), DI
	MOVQ	0x88(SP), SI
	MOVQ	0x90(SP), DX
	MOVQ	0x98(SP), CX
	MOVQ	0xa0(SP), R8
	MOVQ	0xa8(SP), R9
	MOVQ	SP, BX
	MOVQ	R11, SP
	CALL	R10
	MOVQ	BX, SP
	MOVQ	0xb8(SP), BX
	ADDQ	$0xc8, SP
	RET

// Entry points' addresses for Go (see the machine layer for why).
TEXT ·resumePC(SB), NOSPLIT, $0-8
	MOVQ	$·resume(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·yieldPC(SB), NOSPLIT, $0-8
	MOVQ	$·yield(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·currentPC(SB), NOSPLIT, $0-8
	MOVQ	$·current(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·goResumePC(SB), NOSPLIT, $0-8
	MOVQ	$·goResume(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·coEntryPC(SB), NOSPLIT, $0-8
	MOVQ	$coEntry<>(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·callbackCommonPC(SB), NOSPLIT, $0-8
	MOVQ	$·callbackCommon(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·trapPC(SB), NOSPLIT, $0-8
	MOVQ	$·trap(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·noTrapPC(SB), NOSPLIT, $0-8
	MOVQ	$·noTrap(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·goCyclePC(SB), NOSPLIT, $0-8
	MOVQ	$·goCycle(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
