// The overflow reporter's SIGSEGV handler for linux/amd64 (see
// overflow_linux.go). It runs on the thread's signal stack in the System V
// C ABI and always ends by jumping to the Go runtime's handler with the
// original arguments in RDI, RSI, RDX.
//
// A guard page hit comes from the coroutine running on this thread, so the
// test is exact and reads nothing it is not sure of: the thread block's
// current coroutine (pthread_getspecific only reads the thread's TLS; the
// current coroutine is always running, so its record is mapped), its
// guard region (the GuardSize bytes below its lowest stack address), and,
// when the fault lies there, the line its record points at, in the
// record's own page. Then one raw write(2) and the jump.

#include "textflag.h"
#include "go_asm.h"

#define SYS_write	1

// Frame: the three arguments, pushed (SP is then 16-byte aligned):
//
//	+0x00  RDX (ucontext)
//	+0x08  RSI (siginfo)
//	+0x10  RDI (signal number)
TEXT ·segvHandler(SB), NOSPLIT|NOFRAME, $0-0
	PUSHQ	DI
	PUSHQ	SI
	PUSHQ	DX

	// The coroutine running on this thread, if any.
	MOVQ	·tlsKey(SB), DI
	MOVQ	·pthreadGetspecific(SB), AX
	CALL	AX
	TESTQ	AX, AX
	JZ	chain
	MOVQ	threadBlock_current(AX), AX
	TESTQ	AX, AX
	JZ	chain

	// Is the faulting address (siginfo si_addr, offset 16) in its guard
	// region, [stack low - GuardSize, stack low)?
	MOVQ	coro_stackLo(AX), CX
	MOVQ	CX, R9
	SUBQ	$const_GuardSize, R9
	MOVQ	0x08(SP), SI
	MOVQ	16(SI), R10
	CMPQ	R10, R9
	JCS	chain
	CMPQ	R10, CX
	JCC	chain

	// write(2, co->msg, co->msgLen): the line naming the coroutine.
	MOVQ	coro_msgLen(AX), DX
	MOVQ	coro_msg(AX), SI
	MOVQ	$2, DI
	MOVQ	$SYS_write, AX
	SYSCALL

chain:
	POPQ	DX
	POPQ	SI
	POPQ	DI
	MOVQ	·oldSegvHandler(SB), AX
	JMP	AX
