// The per-thread block for arm64 (threadBlock in record.go): made on a
// thread's first use of this package's native code, found through a pthread
// key, and freed with the thread by the key's destructor. It holds the
// thread's current coroutine, its serial number (the binding of a body to
// its thread), the Go-callback records and the signal stack it installed.
// AAPCS64 C ABI, as everywhere in this package (co_arm64.s says more).

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_arm64.h"
#include "co_arm64.h"

#define SS_DISABLE	2
#define ALTSTACK_SIZE	65536

// getThreadBlock returns in X0 this thread's block, making it on the
// thread's first use (threadBlockInit). It clobbers only caller-saved
// registers and may run on any stack.
TEXT ·getThreadBlock(SB), NOSPLIT|NOFRAME, $0-0
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
// guard page hit can be reported (see thread_amd64.s).
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
DATA	·threadDestroyAddr+0(SB)/8, $·threadDestroy(SB)
GLOBL	·threadDestroyAddr(SB), NOPTR|RODATA, $8

// goThreadBlock is a cgocall target that makes this thread's block if it
// has none (see thread_amd64.s).
TEXT ·goThreadBlock(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$16, RSP
	MOVD	R30, 0(RSP)
	BL	·getThreadBlock(SB)
	MOVD	0(RSP), R30
	ADD	$16, RSP
	RET
DATA	·goThreadBlockAddr+0(SB)/8, $·goThreadBlock(SB)
GLOBL	·goThreadBlockAddr(SB), NOPTR|RODATA, $8

// threadID is func threadID() uintptr, in Go's ABI0 (see thread_amd64.s):
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
