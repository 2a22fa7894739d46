// Machine layer for amd64: an fcontext-style context switch in the System V
// C ABI. Every function here is called with the C calling convention (from
// C through a function pointer, or from Go through runtime.cgocall), never
// with Go's ABI: they are declared in Go only so that vet can see them.
//
// A Context is the stack pointer of a suspended frame laid out like this
// (offsets from the Context; the stack grows down):
//
//	+0x00  R12
//	+0x08  R13
//	+0x10  R14
//	+0x18  R15
//	+0x20  RBX
//	+0x28  RBP
//	+0x30  MXCSR (4 bytes), x87 control word (2 bytes), 2 bytes pad
//	+0x38  RIP: where the context resumes (the return address of its jump)
//	+0x40  the suspended code's own frames
//
// Why these registers: the System V AMD64 ABI (section 3.2.1) makes RBX,
// RBP and R12-R15 callee-saved, and makes the MXCSR control bits and the
// x87 control word callee-saved too ("the control bits of the MXCSR
// register are callee-saved", "the x87 CW is callee-saved"). RSP is the
// Context itself. Everything else is caller-saved, so the compiler that
// called JumpContext has already spilled what it needs. Go 1.26 keeps
// frame pointers in RBP and asmcgocall relies on it, another reason RBP
// must survive the switch. MXCSR's status flags (bits 0-5) are not
// callee-saved: a switch restores the control bits and the x87 control
// word only where they differ from the frame it just saved, and never
// the flags (ctxframe_amd64.h says why: the cost of restoring them).

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_amd64.h"

// makeContext is
//
//	ck_context ck_make_context(void *top, size_t size, void (*fn)(ck_transfer));
//
// It builds a fresh context at the top of a stack so that the first jump to
// it calls fn(transfer) with a 16-byte aligned stack. size is accepted for
// boost.context compatibility and not needed: nothing is written below the
// frame.
TEXT ·makeContext(SB), NOSPLIT|NOFRAME, $0-0
	// Align the top down to 16 bytes and reserve one context frame below
	// it. After the first jump pops the frame, SP is that aligned top.
	MOVQ	DI, AX
	ANDQ	$~15, AX
	SUBQ	$CTX_SIZE, AX

	// Inherit the caller's floating-point control state.
	STMXCSR	CTX_FP(AX)
	FSTCW	(CTX_FP+4)(AX)

	// contextEntry receives fn in RBX and the finish stub in R12. RBP = 0
	// ends the frame-pointer chain at the first frame; the other slots are
	// zeroed so a fresh context starts from a known state.
	LEAQ	contextFinish<>(SB), CX
	MOVQ	CX, CTX_R12(AX)
	MOVQ	$0, CTX_R13(AX)
	MOVQ	$0, CTX_R14(AX)
	MOVQ	$0, CTX_R15(AX)
	MOVQ	DX, CTX_RBX(AX)
	MOVQ	$0, CTX_RBP(AX)

	// The first jump "returns" into contextEntry.
	LEAQ	contextEntry<>(SB), CX
	MOVQ	CX, CTX_RIP(AX)
	RET

// jumpContext is
//
//	ck_transfer ck_jump_context(ck_context to, uintptr_t data);
//
// It saves the caller's callee-saved state on the caller's stack, switches
// SP to to, restores the state saved there and resumes it. The resumed side
// sees {from: the context just saved, data} as the return value of its own
// jump (RAX:RDX), or as the argument of its entry function (RDI:RSI) if it
// is a fresh context.
TEXT ·jumpContext(SB), NOSPLIT|NOFRAME, $0-0
	// Save our state (ctxframe_amd64.h); our frame becomes the context we
	// came from.
	SAVE_CONTEXT
	MOVQ	SP, AX

	// Switch to the target's frame and restore its state.
	RESTORE_CONTEXT(DI)

	// Hand over {from, data}: as a return value in RAX:RDX for a context
	// suspended in jumpContext, as the argument in RDI:RSI for a fresh one.
	// Resume with a jump, not a RET: in a ping-pong loop neither side ever
	// returns, and a jump leaves the return-address predictor alone.
	POPQ	R8
	MOVQ	SI, DX
	MOVQ	AX, DI
	JMP	R8

// contextEntry is the first code a fresh context runs, entered by
// jumpContext's JMP with SP 16-byte aligned, the entry function in RBX,
// contextFinish in R12, RBP = 0 and the transfer in RDI:RSI.
TEXT contextEntry<>(SB), NOSPLIT|NOFRAME, $0-0
	// Push contextFinish as a return address: the entry function then sees
	// the (SP+8) % 16 == 0 alignment of a CALL, and if it ever returns it
	// lands in contextFinish instead of running off the top of its stack.
	PUSHQ	R12
	JMP	BX

// contextFinish is where an entry function that returned lands. There is
// no frame to return to, so report it on fd 2 and exit with status 2, the
// status of a Go fatal error. Raw system calls: nothing else is safe here.
TEXT contextFinish<>(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ	$2, DI
	MOVQ	·finishMsg+0(SB), SI
	MOVQ	·finishMsg+8(SB), DX
#ifdef GOOS_darwin
	MOVQ	$0x2000004, AX // write
	SYSCALL
	MOVQ	$2, DI
	MOVQ	$0x2000001, AX // exit
	SYSCALL
#else
	MOVQ	$1, AX // write
	SYSCALL
	MOVQ	$2, DI
	MOVQ	$231, AX // exit_group
	SYSCALL
#endif
	INT	$3

// echoEntry is the entry function EchoFn names:
//
//	void echo(ck_transfer t);
//
// It answers every jump with a jump back to the context that jumped,
// handing back the word it got: t = ck_jump_context(t.from, t.data), for
// ever. Entered like a call, with the transfer in RDI:RSI; each jump
// returns the next one in RAX:RDX.
TEXT ·echoEntry(SB), NOSPLIT|NOFRAME, $0-0
	// One slot realigns SP for the calls; nothing is ever returned to.
	SUBQ	$8, SP
echoLoop:
	CALL	·jumpContext(SB)
	MOVQ	AX, DI
	MOVQ	DX, SI
	JMP	echoLoop

// goJump is the cgocall target behind Jump:
//
//	void ck_go_jump(struct jumpArgs *a); /* ctx.go: to, data, and the Transfer back: from, fromData */
TEXT ·goJump(SB), NOSPLIT|NOFRAME, $0-0
	// RBX is callee-saved, so it survives the jump and holds a. Pushing it
	// also restores the 16-byte alignment that our caller's CALL broke.
	PUSHQ	BX
	MOVQ	DI, BX
	MOVQ	jumpArgs_to(BX), DI
	MOVQ	jumpArgs_data(BX), SI
	CALL	·jumpContext(SB)
	MOVQ	AX, jumpArgs_from(BX)
	MOVQ	DX, jumpArgs_fromData(BX)
	POPQ	BX
	RET

// goMake is the cgocall target behind MakeContext:
//
//	void ck_go_make(struct makeArgs *a); /* ctx.go: top, size, fn, and ret */
TEXT ·goMake(SB), NOSPLIT|NOFRAME, $0-0
	// RBX (callee-saved) holds a across the call and realigns SP.
	PUSHQ	BX
	MOVQ	DI, BX
	MOVQ	makeArgs_top(BX), DI
	MOVQ	makeArgs_size(BX), SI
	MOVQ	makeArgs_fn(BX), DX
	CALL	·makeContext(SB)
	MOVQ	AX, makeArgs_ret(BX)
	POPQ	BX
	RET

// cpuAMD is func cpuAMD() bool, in Go's ABI0 (see CPU_VENDOR_AMD).
TEXT ·cpuAMD(SB), NOSPLIT, $0-1
	CPU_VENDOR_AMD
	MOVB	DX, ret+0(FP)
	RET

// The entries' addresses, read-only words Go reads (makeContextAddr and
// the others in ctx.go): a Go func value of an assembly function points at
// an ABI wrapper, not at the entry.
DATA	·makeContextAddr+0(SB)/8, $·makeContext(SB)
GLOBL	·makeContextAddr(SB), NOPTR|RODATA, $8
DATA	·jumpContextAddr+0(SB)/8, $·jumpContext(SB)
GLOBL	·jumpContextAddr(SB), NOPTR|RODATA, $8
DATA	·goJumpAddr+0(SB)/8, $·goJump(SB)
GLOBL	·goJumpAddr(SB), NOPTR|RODATA, $8
DATA	·goMakeAddr+0(SB)/8, $·goMake(SB)
GLOBL	·goMakeAddr(SB), NOPTR|RODATA, $8
DATA	·echoEntryAddr+0(SB)/8, $·echoEntry(SB)
GLOBL	·echoEntryAddr(SB), NOPTR|RODATA, $8
