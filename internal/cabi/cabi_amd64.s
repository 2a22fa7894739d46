// C-ABI test bodies for amd64 (System V). See cabi.go for what each does.
// ck_api offsets: yield +8, current +24. ck_coroutine: api +0, stack low +64.

#include "textflag.h"
#include "ctxframe_amd64.h"

TEXT ·count(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = co, R12 = n, R13 = i; three pushes realign SP.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	MOVQ	DI, BX
	MOVQ	SI, R12
	XORL	R13, R13
loop:
	TESTQ	R12, R12
	JZ	yield
	CMPQ	R13, R12
	JEQ	done
yield:
	// co->api->yield(co, i, NULL)
	MOVQ	BX, DI
	MOVQ	R13, SI
	XORL	DX, DX
	MOVQ	0(BX), AX
	MOVQ	8(AX), AX
	CALL	AX
	INCQ	R13
	JMP	loop
done:
	MOVQ	R12, AX
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

TEXT ·deep(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ	SI, DI
	JMP	rec<>(SB)

// rec<>(n): a 1 KiB frame whose lowest word is written, n levels deep.
// Frames step by 1040 bytes, less than a page, so a runaway recursion
// cannot step over the guard page.
TEXT rec<>(SB), NOSPLIT|NOFRAME, $0-0
	SUBQ	$1032, SP
	MOVQ	DI, 0(SP)
	TESTQ	DI, DI
	JZ	base
	DECQ	DI
	// Indirect, so the linker's nosplit check does not follow the cycle.
	LEAQ	rec<>(SB), R11
	CALL	R11
	INCQ	AX
	ADDQ	$1032, SP
	RET
base:
	XORL	AX, AX
	ADDQ	$1032, SP
	RET

TEXT ·skipGuard(SB), NOSPLIT|NOFRAME, $0-0
	// AX = lowest stack address (co->stackLo), DX = two pages below it,
	// inside the guard region below the stack.
	MOVQ	64(DI), AX
	MOVQ	AX, DX
	SUBQ	SI, DX
	SUBQ	SI, DX
	// Move SP down there and write, as a huge frame's locals would, then
	// come back: the guard page in between is never touched.
	MOVQ	SP, CX
	MOVQ	DX, SP
	MOVQ	$0x0badc0de, 0(SP)
	MOVQ	$0x0badc0de, 0(AX)
	MOVQ	CX, SP
	// co->api->yield(co, 1, NULL) with SP realigned.
	SUBQ	$8, SP
	MOVQ	$1, SI
	XORL	DX, DX
	MOVQ	0(DI), AX
	MOVQ	8(AX), AX
	CALL	AX
	ADDQ	$8, SP
	XORL	AX, AX
	RET

TEXT ·call6(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = a; the push realigns SP. AL = 0: no vector arguments, in case
	// a[0] is variadic.
	PUSHQ	BX
	MOVQ	SI, BX
	MOVQ	8(BX), DI
	MOVQ	16(BX), SI
	MOVQ	24(BX), DX
	MOVQ	32(BX), CX
	MOVQ	40(BX), R8
	MOVQ	48(BX), R9
	MOVQ	0(BX), R11
	XORL	AX, AX
	CALL	R11
	POPQ	BX
	RET

TEXT ·cmpYield(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: the pair {a, b} at 0, the resume word at 16 (SP aligned).
	SUBQ	$24, SP
	MOVQ	DI, 0(SP)
	MOVQ	SI, 8(SP)
	MOVQ	$0, 16(SP)
	// co = api->current(); api->yield(co, &pair, &word)
	MOVQ	·api(SB), AX
	MOVQ	24(AX), AX
	CALL	AX
	MOVQ	AX, DI
	LEAQ	0(SP), SI
	LEAQ	16(SP), DX
	MOVQ	·api(SB), AX
	MOVQ	8(AX), AX
	CALL	AX
	MOVQ	16(SP), AX
	ADDQ	$24, SP
	RET

TEXT ·pong(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = J (the first transfer's data); SP realigned for the calls.
	SUBQ	$8, SP
	MOVQ	SI, BX
	XORL	SI, SI
	// Aligned loops: the measured switch, not the branch predictor's
	// handling of two branch-dense lines, sets the time.
	PCALIGN	$64
loop:
	CALL	BX
	MOVQ	AX, DI
	MOVQ	DX, SI
	JMP	loop

TEXT ·jumpLoop(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = J, R12 = ctx, R13 = n, R14 = a; four pushes and 8 bytes align
	// SP. The 8 bytes hold MXCSR: this side's working value at 0, the
	// original at 4 (flags-differ runs).
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	SUBQ	$8, SP
	MOVQ	DI, R14
	MOVQ	0(R14), BX
	MOVQ	8(R14), R12
	MOVQ	16(R14), R13
	CMPQ	24(R14), $0
	JEQ	flags
	// First entry: hand Pong the jump function.
	MOVQ	R12, DI
	MOVQ	BX, SI
	CALL	BX
	MOVQ	AX, R12
	MOVQ	$0, 24(R14)
flags:
	// a->flags: flip this side's inexact flag (MXCSR bit 5), so that the
	// two contexts' status flags differ for the whole loop.
	STMXCSR	4(SP)
	CMPQ	32(R14), $0
	JEQ	loop
	MOVL	4(SP), AX
	XORL	$0x20, AX
	MOVL	AX, 0(SP)
	LDMXCSR	0(SP)
	PCALIGN	$64
loop:
	TESTQ	R13, R13
	JZ	done
	MOVQ	R12, DI
	MOVQ	R13, SI
	CALL	BX
	MOVQ	AX, R12
	DECQ	R13
	JMP	loop
done:
	MOVQ	R12, 8(R14)
	LDMXCSR	4(SP)
	ADDQ	$8, SP
	POPQ	R14
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

TEXT ·swapLoop(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = swapcontext, R12 = main, R13 = co, R14 = n.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	SUBQ	$8, SP
	MOVQ	0(DI), BX
	MOVQ	8(DI), R12
	MOVQ	16(DI), R13
	MOVQ	24(DI), R14
loop:
	TESTQ	R14, R14
	JZ	done
	MOVQ	R12, DI
	MOVQ	R13, SI
	CALL	BX
	DECQ	R14
	JMP	loop
done:
	ADDQ	$8, SP
	POPQ	R14
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

TEXT ·swapBody(SB), NOSPLIT|NOFRAME, $0-0
	// The bottom frame of its context: callee-saved registers are ours.
	SUBQ	$8, SP
	MOVQ	0(DI), BX
	MOVQ	8(DI), R12
	MOVQ	16(DI), R13
loop:
	MOVQ	R13, DI
	MOVQ	R12, SI
	CALL	BX
	JMP	loop

TEXT ·trapSeq(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = co, R12 = ops, R13 = index, R14 = sum, R15 = previous result;
	// five pushes realign SP.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	PUSHQ	R15
	MOVQ	DI, BX
	MOVQ	SI, R12
	XORL	R13, R13
	XORL	R14, R14
	XORL	R15, R15
loop:
	MOVL	(R12)(R13*4), SI
	TESTL	SI, SI
	JZ	done
	// co->api->trap(co, op, index, previous) (ck_api offset 32)
	MOVQ	BX, DI
	MOVQ	R13, DX
	MOVQ	R15, CX
	MOVQ	0(BX), AX
	MOVQ	32(AX), AX
	CALL	AX
	MOVQ	AX, R15
	ADDQ	AX, R14
	INCQ	R13
	JMP	loop
done:
	MOVQ	R14, AX
	POPQ	R15
	POPQ	R14
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

TEXT ·trapLoop(SB), NOSPLIT|NOFRAME, $0-0
	// traps<>(co, op, for ever)
	MOVQ	$-1, DX
	JMP	traps<>(SB)

TEXT ·yieldN(SB), NOSPLIT|NOFRAME, $0-0
	// traps<>(co, 1, n)
	MOVQ	SI, DX
	MOVQ	$1, SI
	JMP	traps<>(SB)

// traps<>(co, op, n) makes n traps co->api->trap(co, op, i, 0), i = 0, 1,
// ... (n = -1: for ever) and returns n, or at once a negative result.
TEXT traps<>(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = co, R12 = op, R13 = i, R14 = n; four pushes and a slot
	// realign SP (we were entered by a jump from a called function).
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	SUBQ	$8, SP
	MOVQ	DI, BX
	MOVQ	SI, R12
	MOVQ	DX, R14
	XORL	R13, R13
loop:
	MOVQ	R14, AX
	CMPQ	R13, R14
	JEQ	done
	MOVQ	BX, DI
	MOVQ	R12, SI
	MOVQ	R13, DX
	XORL	CX, CX
	MOVQ	0(BX), AX
	MOVQ	32(AX), AX
	CALL	AX
	INCQ	R13
	TESTQ	AX, AX
	JGE	loop
done:
	ADDQ	$8, SP
	POPQ	R14
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

TEXT ·trap1(SB), NOSPLIT|NOFRAME, $0-0
	// co->api->trap(co, t[0], t[1], 0) as a tail call: the same
	// argument shape, and its result is ours.
	MOVQ	0(SI), AX
	MOVQ	8(SI), DX
	MOVQ	AX, SI
	XORL	CX, CX
	MOVQ	0(DI), AX
	MOVQ	32(AX), AX
	JMP	AX

// echo(co, int64_t *last): yields back every word it is resumed with
// (the first is co->value); when a yield returns anything but CK_OK it
// stores that code at last (if not NULL) and returns it.
TEXT ·echo(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = co, R12 = last, 0(SP) = v, yield's in; with the two pushes the
	// slot realigns SP.
	PUSHQ	BX
	PUSHQ	R12
	SUBQ	$8, SP
	MOVQ	DI, BX
	MOVQ	SI, R12
	MOVQ	16(BX), AX // co->value
	MOVQ	AX, 0(SP)
eloop:
	// r = co->api->yield(co, v, &v)
	MOVQ	BX, DI
	MOVQ	0(SP), SI
	LEAQ	0(SP), DX
	MOVQ	0(BX), AX
	MOVQ	8(AX), AX
	CALL	AX
	TESTL	AX, AX
	JZ	eloop
	MOVLQSX	AX, AX
	TESTQ	R12, R12
	JZ	2(PC)
	MOVQ	AX, 0(R12)
	ADDQ	$8, SP
	POPQ	R12
	POPQ	BX
	RET

// threadResume(struct { resume; co; out; code } *a), a pthread start
// routine: a->code = a->resume(a->co, 0, &a->out); returns NULL.
TEXT ·threadResume(SB), NOSPLIT|NOFRAME, $0-0
	// RBX keeps a; the push realigns SP.
	PUSHQ	BX
	MOVQ	DI, BX
	MOVQ	8(BX), DI
	XORL	SI, SI
	LEAQ	16(BX), DX
	MOVQ	0(BX), AX
	CALL	AX
	MOVLQSX	AX, AX
	MOVQ	AX, 24(BX)
	XORL	AX, AX
	POPQ	BX
	RET

// fpBody(co, a), a = {ctl, cb}: sets MXCSR to ctl's low 32 bits and the
// x87 control word to bits 32-47; then three times calls cb() unless it is
// 0, reads its control state afresh (MXCSR without the flags | x87 CW <<
// 32) and yields it, the third time returning it instead.
TEXT ·fpBody(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = co, R12 = readings left, R13 = a; 0(SP) the scratch slot;
	// three pushes and 16 bytes realign SP.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	SUBQ	$16, SP
	MOVQ	DI, BX
	MOVQ	SI, R13
	MOVQ	0(R13), SI
	MOVL	SI, 0(SP)
	LDMXCSR	0(SP)
	SHRQ	$32, SI
	MOVW	SI, 4(SP)
	FLDCW	4(SP)
	MOVL	$3, R12
floop:
	MOVQ	8(R13), AX
	TESTQ	AX, AX
	JZ	2(PC)
	CALL	AX
	STMXCSR	0(SP)
	FSTCW	4(SP)
	MOVL	0(SP), SI
	ANDL	$~0x3f, SI
	MOVWLZX	4(SP), AX
	SHLQ	$32, AX
	ORQ	AX, SI
	DECL	R12
	JZ	fdone
	// co->api->yield(co, control, NULL)
	MOVQ	BX, DI
	XORL	DX, DX
	MOVQ	0(BX), AX
	MOVQ	8(AX), AX
	CALL	AX
	JMP	floop
fdone:
	MOVQ	SI, AX
	ADDQ	$16, SP
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

// resumeLoop: n resumes from native code, the yields of a Count body
// coming back each time. RBX = co, R12 = n; the third push realigns SP.
TEXT ·resumeLoop(SB), NOSPLIT|NOFRAME, $0-0
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	MOVQ	DI, BX
	MOVQ	SI, R12
	XORL	AX, AX
rlLoop:
	TESTQ	R12, R12
	JZ	rlDone
	// co->api->resume(co, 0, NULL)
	MOVQ	BX, DI
	XORL	SI, SI
	XORL	DX, DX
	MOVQ	0(BX), AX
	MOVQ	16(AX), AX
	CALL	AX
	DECQ	R12
	JMP	rlLoop
rlDone:
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET

// The parts of a round trip, one at a time (ctx's BenchmarkRoundTripParts).

// BARE_SWITCH saves the callee-saved registers in a machine-layer frame
// (the control-word slot skipped: nothing is read or written there), makes
// SP the frame at DI, restores its registers and leaves SP at its saved
// RIP, with the frame we came from in AX.
#define BARE_SWITCH \
	SUBQ	$8, SP \
	SAVE_REGISTERS \
	MOVQ	SP, AX \
	MOVQ	DI, SP \
	RESTORE_REGISTERS

// bareJump is the machine layer's jumpContext without the floating-point
// control state: the callee-saved registers and SP, in the same frame (the
// control-word slot skipped), leaving by JMP. The part: the switch itself.
TEXT ·bareJump(SB), NOSPLIT|NOFRAME, $0-0
	BARE_SWITCH
	POPQ	R8
	MOVQ	SI, DX
	MOVQ	AX, DI
	JMP	R8

// retJump is bareJump leaving by RET: each crossing returns into the
// other stack's caller, where the CPU predicted its own, so each one
// mispredicts. The part: two mispredicted returns per round trip.
TEXT ·retJump(SB), NOSPLIT|NOFRAME, $0-0
	BARE_SWITCH
	MOVQ	SI, DX
	MOVQ	AX, DI
	RET

// claimLoop(a), a = {word, n}: n times, claims a->word as resumeCore
// claims a coroutine (LOCK CMPXCHG 0 -> 1) and publishes it back (a plain
// store). The part: the claim.
TEXT ·claimLoop(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ	0(DI), DX
	MOVQ	8(DI), SI
	TESTQ	SI, SI
	JZ	cdone
	MOVL	$1, CX
cloop:
	XORL	AX, AX
	LOCK
	CMPXCHGQ	CX, 0(DX)
	MOVQ	$0, 0(DX)
	DECQ	SI
	JNZ	cloop
cdone:
	RET

// tlsLoop(a), a = {pthread_getspecific, key, n, pthread_setspecific}:
// sets the key on this thread (to the key's address), then looks it up n
// times, as every resume looks up its thread block. The part: the thread
// block.
TEXT ·tlsLoop(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = the function, R12 = key, R13 = n; three pushes realign SP.
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	MOVQ	0(DI), BX
	MOVQ	8(DI), R12
	MOVQ	16(DI), R13
	MOVQ	24(DI), AX
	LEAQ	8(DI), SI
	MOVQ	R12, DI
	CALL	AX
	TESTQ	R13, R13
	JZ	tdone
tloop:
	MOVQ	R12, DI
	CALL	BX
	DECQ	R13
	JNZ	tloop
tdone:
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET
// The bodies' addresses, the read-only words cabi.go exports (Count for
// count, ...): a Go func value of an assembly function points at an ABI
// wrapper, not at the entry.
DATA	·Count+0(SB)/8, $·count(SB)
GLOBL	·Count(SB), NOPTR|RODATA, $8
DATA	·Deep+0(SB)/8, $·deep(SB)
GLOBL	·Deep(SB), NOPTR|RODATA, $8
DATA	·SkipGuard+0(SB)/8, $·skipGuard(SB)
GLOBL	·SkipGuard(SB), NOPTR|RODATA, $8
DATA	·Call6+0(SB)/8, $·call6(SB)
GLOBL	·Call6(SB), NOPTR|RODATA, $8
DATA	·CmpYield+0(SB)/8, $·cmpYield(SB)
GLOBL	·CmpYield(SB), NOPTR|RODATA, $8
DATA	·Pong+0(SB)/8, $·pong(SB)
GLOBL	·Pong(SB), NOPTR|RODATA, $8
DATA	·JumpLoop+0(SB)/8, $·jumpLoop(SB)
GLOBL	·JumpLoop(SB), NOPTR|RODATA, $8
DATA	·SwapLoop+0(SB)/8, $·swapLoop(SB)
GLOBL	·SwapLoop(SB), NOPTR|RODATA, $8
DATA	·SwapBody+0(SB)/8, $·swapBody(SB)
GLOBL	·SwapBody(SB), NOPTR|RODATA, $8
DATA	·TrapSeq+0(SB)/8, $·trapSeq(SB)
GLOBL	·TrapSeq(SB), NOPTR|RODATA, $8
DATA	·TrapLoop+0(SB)/8, $·trapLoop(SB)
GLOBL	·TrapLoop(SB), NOPTR|RODATA, $8
DATA	·YieldN+0(SB)/8, $·yieldN(SB)
GLOBL	·YieldN(SB), NOPTR|RODATA, $8
DATA	·Trap1+0(SB)/8, $·trap1(SB)
GLOBL	·Trap1(SB), NOPTR|RODATA, $8
DATA	·Echo+0(SB)/8, $·echo(SB)
GLOBL	·Echo(SB), NOPTR|RODATA, $8
DATA	·ThreadResume+0(SB)/8, $·threadResume(SB)
GLOBL	·ThreadResume(SB), NOPTR|RODATA, $8
DATA	·FPBody+0(SB)/8, $·fpBody(SB)
GLOBL	·FPBody(SB), NOPTR|RODATA, $8
DATA	·ResumeLoop+0(SB)/8, $·resumeLoop(SB)
GLOBL	·ResumeLoop(SB), NOPTR|RODATA, $8
DATA	·BareJump+0(SB)/8, $·bareJump(SB)
GLOBL	·BareJump(SB), NOPTR|RODATA, $8
DATA	·RetJump+0(SB)/8, $·retJump(SB)
GLOBL	·RetJump(SB), NOPTR|RODATA, $8
DATA	·ClaimLoop+0(SB)/8, $·claimLoop(SB)
GLOBL	·ClaimLoop(SB), NOPTR|RODATA, $8
DATA	·TLSLoop+0(SB)/8, $·tlsLoop(SB)
GLOBL	·TLSLoop(SB), NOPTR|RODATA, $8

TEXT ·Word(SB), NOSPLIT, $0-16
	MOVQ	addr+0(FP), AX
	MOVQ	0(AX), AX
	MOVQ	AX, ret+8(FP)
	RET
