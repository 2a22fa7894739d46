// C-ABI test bodies for arm64 (AAPCS64). See cabi.go for what each does.
// ck_api offsets: yield +8, current +24. ck_coroutine: api +0, stack low +64.
// Globals are addressed with MOVD $sym(SB) so that X27 is never clobbered.

#include "textflag.h"
#include "ctxframe_arm64.h"

TEXT ·count(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = co, X20 = n, X21 = i; frame keeps them and LR.
	SUB	$32, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R30), 16(RSP)
	MOVD	R0, R19
	MOVD	R1, R20
	MOVD	$0, R21
loop:
	CBZ	R20, yield
	CMP	R20, R21
	BEQ	done
yield:
	// co->api->yield(co, i, NULL)
	MOVD	R19, R0
	MOVD	R21, R1
	MOVD	$0, R2
	MOVD	0(R19), R9
	MOVD	8(R9), R9
	BL	(R9)
	ADD	$1, R21
	B	loop
done:
	MOVD	R20, R0
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R30)
	ADD	$32, RSP
	RET

TEXT ·deep(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	R1, R0
	B	rec<>(SB)

// rec<>(n): a 1 KiB frame whose lowest word is written, n levels deep.
// Frames step by 1040 bytes, less than a page, so a runaway recursion
// cannot step over the guard page.
TEXT rec<>(SB), NOSPLIT|NOFRAME, $0-0
	// SP moves through X9: this is C code on a coroutine stack, and the
	// linker must not count the frame against a goroutine's nosplit limit.
	SUB	$1040, RSP, R9
	MOVD	R9, RSP
	MOVD	R30, 1024(RSP)
	MOVD	R0, 0(RSP)
	CBZ	R0, base
	SUB	$1, R0
	// Indirect, so the linker's nosplit check does not follow the cycle.
	MOVD	$rec<>(SB), R9
	BL	(R9)
	ADD	$1, R0
	MOVD	1024(RSP), R30
	ADD	$1040, RSP, R9
	MOVD	R9, RSP
	RET
base:
	ADD	$1040, RSP, R9
	MOVD	R9, RSP
	RET

TEXT ·skipGuard(SB), NOSPLIT|NOFRAME, $0-0
	// X2 = lowest stack address (co->stackLo), X3 = two pages below
	// it, inside the guard region below the stack.
	MOVD	64(R0), R2
	SUB	R1, R2, R3
	SUB	R1, R3
	// Move SP down there and write, as a huge frame's locals would, then
	// come back: the guard page in between is never touched.
	MOVD	RSP, R4
	MOVD	R3, RSP
	MOVD	$0x0badc0de, R5
	MOVD	R5, 0(RSP)
	MOVD	R5, 0(R2)
	MOVD	R4, RSP
	// co->api->yield(co, 1, NULL)
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	MOVD	$1, R1
	MOVD	$0, R2
	MOVD	0(R0), R9
	MOVD	8(R9), R9
	BL	(R9)
	MOVD	0(RSP), R30
	ADD	$16, RSP
	MOVD	$0, R0
	RET

TEXT ·call6(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = a, kept with LR.
	SUB	$16, RSP
	STP	(R19, R30), 0(RSP)
	MOVD	R1, R19
	LDP	8(R19), (R0, R1)
	LDP	24(R19), (R2, R3)
	LDP	40(R19), (R4, R5)
	MOVD	0(R19), R9
	BL	(R9)
	LDP	0(RSP), (R19, R30)
	ADD	$16, RSP
	RET

TEXT ·cmpYield(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: the pair {a, b} at 0, the resume word at 16, LR at 24.
	SUB	$32, RSP
	STP	(R0, R1), 0(RSP)
	MOVD	ZR, 16(RSP)
	MOVD	R30, 24(RSP)
	// co = api->current(); api->yield(co, &pair, &word)
	MOVD	$·api(SB), R9
	MOVD	(R9), R9
	MOVD	24(R9), R9
	BL	(R9)
	MOVD	RSP, R1
	ADD	$16, RSP, R2
	MOVD	$·api(SB), R9
	MOVD	(R9), R9
	MOVD	8(R9), R9
	BL	(R9)
	MOVD	16(RSP), R0
	MOVD	24(RSP), R30
	ADD	$32, RSP
	RET

TEXT ·pong(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = J (the first transfer's data).
	MOVD	R1, R19
	MOVD	$0, R1
loop:
	BL	(R19)
	B	loop

TEXT ·jumpLoop(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = J, X20 = ctx, X21 = n, X22 = a; frame keeps them and LR.
	SUB	$48, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R22), 16(RSP)
	MOVD	R30, 32(RSP)
	MOVD	R0, R22
	LDP	0(R22), (R19, R20)
	LDP	16(R22), (R21, R3)
	CBZ	R3, loop
	// First entry: hand Pong the jump function.
	MOVD	R20, R0
	MOVD	R19, R1
	BL	(R19)
	MOVD	R0, R20
	MOVD	ZR, 24(R22)
loop:
	CBZ	R21, done
	MOVD	R20, R0
	MOVD	R21, R1
	BL	(R19)
	MOVD	R0, R20
	SUB	$1, R21
	B	loop
done:
	MOVD	R20, 8(R22)
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R22)
	MOVD	32(RSP), R30
	ADD	$48, RSP
	RET

TEXT ·swapLoop(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = swapcontext, X20 = main, X21 = co, X22 = n.
	SUB	$48, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R22), 16(RSP)
	MOVD	R30, 32(RSP)
	LDP	0(R0), (R19, R20)
	LDP	16(R0), (R21, R22)
loop:
	CBZ	R22, done
	MOVD	R20, R0
	MOVD	R21, R1
	BL	(R19)
	SUB	$1, R22
	B	loop
done:
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R22)
	MOVD	32(RSP), R30
	ADD	$48, RSP
	RET

TEXT ·swapBody(SB), NOSPLIT|NOFRAME, $0-0
	// The bottom frame of its context: callee-saved registers are ours.
	LDP	0(R0), (R19, R20)
	MOVD	16(R0), R21
loop:
	MOVD	R21, R0
	MOVD	R20, R1
	BL	(R19)
	B	loop

TEXT ·trapSeq(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = co, X20 = ops, X21 = index, X22 = sum, X23 = previous result.
	SUB	$48, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R22), 16(RSP)
	STP	(R23, R30), 32(RSP)
	MOVD	R0, R19
	MOVD	R1, R20
	MOVD	$0, R21
	MOVD	$0, R22
	MOVD	$0, R23
loop:
	MOVWU	(R20)(R21<<2), R1
	CBZ	R1, done
	// co->api->trap(co, op, index, previous) (ck_api offset 32)
	MOVD	R19, R0
	MOVD	R21, R2
	MOVD	R23, R3
	MOVD	0(R19), R9
	MOVD	32(R9), R9
	BL	(R9)
	MOVD	R0, R23
	ADD	R0, R22
	ADD	$1, R21
	B	loop
done:
	MOVD	R22, R0
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R22)
	LDP	32(RSP), (R23, R30)
	ADD	$48, RSP
	RET

TEXT ·trapLoop(SB), NOSPLIT|NOFRAME, $0-0
	// traps<>(co, op, for ever)
	MOVD	$-1, R2
	B	traps<>(SB)

TEXT ·yieldN(SB), NOSPLIT|NOFRAME, $0-0
	// traps<>(co, 1, n)
	MOVD	R1, R2
	MOVD	$1, R1
	B	traps<>(SB)

// traps<>(co, op, n) makes n traps co->api->trap(co, op, i, 0), i = 0, 1,
// ... (n = -1: for ever) and returns n, or at once a negative result.
TEXT traps<>(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = co, X20 = op, X21 = i, X22 = n; frame keeps them and LR.
	SUB	$48, RSP
	STP	(R19, R20), 0(RSP)
	STP	(R21, R22), 16(RSP)
	MOVD	R30, 32(RSP)
	MOVD	R0, R19
	MOVD	R1, R20
	MOVD	R2, R22
	MOVD	$0, R21
loop:
	MOVD	R22, R0
	CMP	R22, R21
	BEQ	done
	MOVD	R19, R0
	MOVD	R20, R1
	MOVD	R21, R2
	MOVD	$0, R3
	MOVD	0(R19), R9
	MOVD	32(R9), R9
	BL	(R9)
	ADD	$1, R21
	CMP	$0, R0
	BGE	loop
done:
	LDP	0(RSP), (R19, R20)
	LDP	16(RSP), (R21, R22)
	MOVD	32(RSP), R30
	ADD	$48, RSP
	RET

TEXT ·trap1(SB), NOSPLIT|NOFRAME, $0-0
	// co->api->trap(co, t[0], t[1], 0) as a tail call: the same
	// argument shape, and its result is ours (LR is still our caller's).
	LDP	(R1), (R1, R2)
	MOVD	$0, R3
	MOVD	0(R0), R9
	MOVD	32(R9), R9
	JMP	(R9)

// echo(co, int64_t *last): see cabi_amd64.s.
TEXT ·echo(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = co, X20 = last, 16(RSP) = v, yield's in; frame keeps LR.
	SUB	$32, RSP
	STP	(R19, R20), 0(RSP)
	MOVD	R30, 24(RSP)
	MOVD	R0, R19
	MOVD	R1, R20
	MOVD	16(R19), R2 // co->value
	MOVD	R2, 16(RSP)
eloop:
	// r = co->api->yield(co, v, &v)
	MOVD	R19, R0
	MOVD	16(RSP), R1
	ADD	$16, RSP, R2
	MOVD	0(R19), R9
	MOVD	8(R9), R9
	BL	(R9)
	CBZW	R0, eloop
	SXTW	R0, R0
	CBZ	R20, 2(PC)
	MOVD	R0, (R20)
	LDP	0(RSP), (R19, R20)
	MOVD	24(RSP), R30
	ADD	$32, RSP
	RET

// threadResume(struct { resume; co; out; code } *a): see cabi_amd64.s.
TEXT ·threadResume(SB), NOSPLIT|NOFRAME, $0-0
	// X19 keeps a; frame keeps LR.
	SUB	$16, RSP
	STP	(R19, R30), 0(RSP)
	MOVD	R0, R19
	MOVD	8(R19), R0
	MOVD	$0, R1
	ADD	$16, R19, R2
	MOVD	0(R19), R9
	BL	(R9)
	SXTW	R0, R0
	MOVD	R0, 24(R19)
	MOVD	$0, R0
	LDP	0(RSP), (R19, R30)
	ADD	$16, RSP
	RET

// fpBody(co, a), a = {ctl, cb}: sets FPCR to ctl, then three times calls
// cb() unless it is 0, reads FPCR afresh and yields it, the third time
// returning it instead.
TEXT ·fpBody(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR, X19 = co, X20 = readings left, X21 = a.
	SUB	$32, RSP
	STP	(R30, R19), 0(RSP)
	STP	(R20, R21), 16(RSP)
	MOVD	R0, R19
	MOVD	R1, R21
	MOVD	0(R21), R1
	MSR	R1, FPCR
	MOVD	$3, R20
floop:
	MOVD	8(R21), R9
	CBZ	R9, 2(PC)
	BL	(R9)
	MRS	FPCR, R1
	SUB	$1, R20
	CBZ	R20, fdone
	// co->api->yield(co, FPCR, NULL)
	MOVD	R19, R0
	MOVD	$0, R2
	MOVD	0(R19), R9
	MOVD	8(R9), R9
	BL	(R9)
	B	floop
fdone:
	MOVD	R1, R0
	LDP	0(RSP), (R30, R19)
	LDP	16(RSP), (R20, R21)
	ADD	$32, RSP
	RET

// resumeLoop: n resumes from native code (see cabi_amd64.s). X19 = co,
// X20 = n; the frame keeps them and LR.
TEXT ·resumeLoop(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$32, RSP
	STP	(R19, R20), 0(RSP)
	MOVD	R30, 16(RSP)
	MOVD	R0, R19
	MOVD	R1, R20
	MOVD	$0, R0
rlLoop:
	CBZ	R20, rlDone
	// co->api->resume(co, 0, NULL)
	MOVD	R19, R0
	MOVD	$0, R1
	MOVD	$0, R2
	MOVD	0(R19), R9
	MOVD	16(R9), R9
	BL	(R9)
	SUB	$1, R20
	B	rlLoop
rlDone:
	LDP	0(RSP), (R19, R20)
	MOVD	16(RSP), R30
	ADD	$32, RSP
	RET

// The parts of a round trip, one at a time (see cabi_amd64.s).

// BARE_SWITCH restores the context at X0 as ctxframe_arm64.h's
// RESTORE_CONTEXT does, but without FPCR, leaving the resume PC in R10 and
// the context we came from in X0.
#define BARE_SWITCH \
	RESTORE_REGISTERS(R0) \
	ADD	$CTX_SIZE, RSP \
	MOVD	R13, R0

// bareJump is the machine layer's jumpContext without FPCR, leaving by an
// indirect branch (this file's Pong and JumpLoop need no BTI landing
// pads). The part: the switch itself.
TEXT ·bareJump(SB), NOSPLIT|NOFRAME, $0-0
	SAVE_CONTEXT_FPCR_R9
	BARE_SWITCH
	JMP	(R10)

// retJump is bareJump leaving by RET: each crossing mispredicts. The
// part: two mispredicted returns per round trip.
TEXT ·retJump(SB), NOSPLIT|NOFRAME, $0-0
	SAVE_CONTEXT_FPCR_R9
	BARE_SWITCH
	RET	R10

// claimLoop(a), a = {word, n}: n claims of a->word as resumeCore claims a
// coroutine (an exclusive pair, 0 -> 1) and as many publishing stores
// (STLR). The part: the claim.
TEXT ·claimLoop(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	0(R0), R2
	MOVD	8(R0), R3
	CBZ	R3, cdone
	MOVD	$1, R4
cloop:
	LDAXR	(R2), R5
	CBNZ	R5, cloop
	STLXR	R4, (R2), R6
	CBNZ	R6, cloop
	STLR	ZR, (R2)
	SUB	$1, R3
	CBNZ	R3, cloop
cdone:
	RET

// tlsLoop(a), a = {pthread_getspecific, key, n, pthread_setspecific}:
// sets the key on this thread, then n lookups (see cabi_amd64.s). The
// part: the thread block.
TEXT ·tlsLoop(SB), NOSPLIT|NOFRAME, $0-0
	// Frame: LR, X19 = the function, X20 = key, X21 = n.
	SUB	$32, RSP
	STP	(R30, R19), 0(RSP)
	STP	(R20, R21), 16(RSP)
	LDP	0(R0), (R19, R20)
	LDP	16(R0), (R21, R9)
	ADD	$8, R0, R1
	MOVD	R20, R0
	BL	(R9)
	CBZ	R21, tdone
tloop:
	MOVD	R20, R0
	BL	(R19)
	SUB	$1, R21
	CBNZ	R21, tloop
tdone:
	LDP	0(RSP), (R30, R19)
	LDP	16(RSP), (R20, R21)
	ADD	$32, RSP
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
	MOVD	addr+0(FP), R0
	MOVD	(R0), R0
	MOVD	R0, ret+8(FP)
	RET
