// The per-thread block for amd64 (threadBlock in record.go): made on a
// thread's first use of this package's native code, found through a pthread
// key, and freed with the thread by the key's destructor. It holds the
// thread's current coroutine, its serial number (the binding of a body to
// its thread), the Go-callback records and the signal stack it installed.
// System V AMD64 C ABI, as everywhere in this package (co_amd64.s says more).

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_amd64.h"
#include "co_amd64.h"

#define SS_DISABLE	2
#define ALTSTACK_SIZE	65536

// getThreadBlock returns in AX this thread's block, making it on the
// thread's first use (threadBlockInit). It clobbers only caller-saved
// registers and may run on any stack.
TEXT ·getThreadBlock(SB), NOSPLIT|NOFRAME, $0-0
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
DATA	·threadDestroyAddr+0(SB)/8, $·threadDestroy(SB)
GLOBL	·threadDestroyAddr(SB), NOPTR|RODATA, $8

// goThreadBlock is a cgocall target that makes this thread's block if it
// has none (getThreadBlock): a direct resume (WithDirect) cannot make one
// itself, and calls this first on a thread's first resume.
TEXT ·goThreadBlock(SB), NOSPLIT|NOFRAME, $0-0
	SUBQ	$8, SP
	CALL	·getThreadBlock(SB)
	ADDQ	$8, SP
	RET
DATA	·goThreadBlockAddr+0(SB)/8, $·goThreadBlock(SB)
GLOBL	·goThreadBlockAddr(SB), NOPTR|RODATA, $8

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
