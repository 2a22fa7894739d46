// Machine layer for arm64: an fcontext-style context switch in the AAPCS64
// C ABI. Every function here is called with the C calling convention (from
// C through a function pointer, or from Go through runtime.cgocall), never
// with Go's ABI: they are declared in Go only so that vet can see them.
//
// A Context is the stack pointer of a suspended frame laid out like this
// (offsets from the Context; the stack grows down):
//
//	+0x00  D8   D9
//	+0x10  D10  D11
//	+0x20  D12  D13
//	+0x30  D14  D15
//	+0x40  X19  X20
//	+0x50  X21  X22
//	+0x60  X23  X24
//	+0x70  X25  X26
//	+0x80  X27  X28
//	+0x90  X29 (FP)  X30 (LR)
//	+0xa0  PC: where the context resumes (the LR of its jump)
//	+0xa8  FPCR
//	+0xb0  the suspended code's own frames
//
// Why these registers: AAPCS64 (section 6.1.1) makes X19-X29 and SP
// callee-saved and the low 64 bits of V8-V15 (D8-D15) callee-saved; X30 is
// the return address. FPCR (rounding mode, flush-to-zero) is process state
// the ABI expects a call to preserve, so it travels with the context too;
// boost.context does not save it. X27 is the register Go's assembler uses
// as scratch (REGTMP): it is callee-saved for C, so it is saved like the
// rest, and no instruction here may use REGTMP between save and restore
// (every offset fits an immediate, and addresses are formed with ADRP/ADD,
// never with MOVD sym(SB) loads). X18 is the platform register and is
// never touched.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_arm64.h"

// makeContext is
//
//	ck_context ck_make_context(void *top, size_t size, void (*fn)(ck_transfer));
//
// It builds a fresh context at the top of a stack so that the first jump to
// it calls fn(transfer) with a 16-byte aligned stack. size is accepted for
// boost.context compatibility and not needed.
TEXT ·makeContext(SB), NOSPLIT|NOFRAME, $0-0
	// Align the top down to 16 bytes and reserve one context frame below it.
	AND	$~15, R0
	SUB	$CTX_SIZE, R0

	// Callee-saved registers of a fresh context start at zero. FP = 0 and
	// LR = 0 end the frame-record chain at the first frame.
	STP	(ZR, ZR), 0x00(R0)
	STP	(ZR, ZR), 0x10(R0)
	STP	(ZR, ZR), 0x20(R0)
	STP	(ZR, ZR), 0x30(R0)
	STP	(ZR, ZR), 0x50(R0)
	STP	(ZR, ZR), 0x60(R0)
	STP	(ZR, ZR), 0x70(R0)
	STP	(ZR, ZR), 0x80(R0)
	STP	(ZR, ZR), 0x90(R0)

	// contextEntry receives fn in X19 and the finish stub in X20.
	MOVD	$contextFinish<>(SB), R3
	STP	(R2, R3), 0x40(R0)

	// The first jump resumes at contextEntry, with the caller's FPCR.
	MOVD	$contextEntry<>(SB), R3
	MRS	FPCR, R4
	STP	(R3, R4), 0xa0(R0)
	RET

// jumpContext is
//
//	ck_transfer ck_jump_context(ck_context to, uintptr_t data);
//
// It saves the caller's callee-saved state on the caller's stack, switches
// SP to to, restores the state saved there and resumes it. The resumed side
// sees {from: the context just saved, data} in X0:X1, either as the return
// value of its own jump or as the argument of its entry function.
TEXT ·jumpContext(SB), NOSPLIT|NOFRAME, $0-0
	// Save our state (ctxframe_arm64.h); our frame becomes the context we
	// came from.
	SAVE_CONTEXT
	MOVD	RSP, R12

	// Switch to the target's frame and restore its state.
	RESTORE_CONTEXT(R0)

	// Hand over {from, data} in X0:X1 (data is still in X1) and resume
	// with RET R10, not an indirect jump: C code built for BTI
	// (-mbranch-protection=standard, run with BTI enforced) has no landing
	// pad at a return address, and a BR there faults with SIGILL, while a
	// RET needs none.
	MOVD	R12, R0
	RET	R10

// contextEntry is the first code a fresh context runs, entered by
// jumpContext with SP 16-byte aligned, the entry function in X19,
// contextFinish in X20, FP = 0 and the transfer in X0:X1.
TEXT contextEntry<>(SB), NOSPLIT|NOFRAME, $0-0
	// LR = contextFinish: an entry function that returns lands there
	// instead of running off the top of its stack.
	MOVD	R20, R30
	JMP	(R19)

// contextFinish is where an entry function that returned lands. There is
// no frame to return to, so report it on fd 2 and exit with status 2, the
// status of a Go fatal error. Raw system calls: nothing else is safe here.
TEXT contextFinish<>(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	$·finishMsg(SB), R3
	LDP	(R3), (R1, R2)
	MOVD	$2, R0
#ifdef GOOS_darwin
	MOVD	$4, R16 // write
	SVC	$0x80
	MOVD	$2, R0
	MOVD	$1, R16 // exit
	SVC	$0x80
#else
	MOVD	$64, R8 // write
	SVC
	MOVD	$2, R0
	MOVD	$94, R8 // exit_group
	SVC
#endif
	BRK

// echoEntry is the entry function EchoFn names (see ctx_amd64.s): t =
// ck_jump_context(t.from, t.data), for ever. The transfer arrives in
// X0:X1 and each jump returns the next one there; SP stays 16-byte
// aligned and LR is never needed, since nothing is returned to.
TEXT ·echoEntry(SB), NOSPLIT|NOFRAME, $0-0
echoLoop:
	BL	·jumpContext(SB)
	B	echoLoop

// goJump is the cgocall target behind Jump:
//
//	void ck_go_jump(struct jumpArgs *a); /* ctx.go: to, data, and the Transfer back: from, fromData */
TEXT ·goJump(SB), NOSPLIT|NOFRAME, $0-0
	// X19 is callee-saved, so it survives the jump and holds a; LR must
	// survive our BL. Sixteen bytes keep SP aligned; LR goes at 0(RSP),
	// where the Go linker's unwind table says a frame keeps it.
	SUB	$16, RSP
	STP	(R30, R19), (RSP)
	MOVD	R0, R19
	MOVD	jumpArgs_to(R19), R0
	MOVD	jumpArgs_data(R19), R1
	BL	·jumpContext(SB)
	MOVD	R0, jumpArgs_from(R19)
	MOVD	R1, jumpArgs_fromData(R19)
	LDP	(RSP), (R30, R19)
	ADD	$16, RSP
	RET

// goMake is the cgocall target behind MakeContext:
//
//	void ck_go_make(struct makeArgs *a); /* ctx.go: top, size, fn, and ret */
TEXT ·goMake(SB), NOSPLIT|NOFRAME, $0-0
	// X19 (callee-saved) holds a across the call; LR must survive the BL
	// (at 0(RSP), as in goJump).
	SUB	$16, RSP
	STP	(R30, R19), (RSP)
	MOVD	R0, R19
	MOVD	makeArgs_top(R19), R0
	MOVD	makeArgs_size(R19), R1
	MOVD	makeArgs_fn(R19), R2
	BL	·makeContext(SB)
	MOVD	R0, makeArgs_ret(R19)
	LDP	(RSP), (R30, R19)
	ADD	$16, RSP
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
