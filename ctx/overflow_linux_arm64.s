// The overflow reporter's SIGSEGV handler for linux/arm64 (see
// overflow_linux.go). It runs on the thread's signal stack in the AAPCS64
// C ABI and always ends by jumping to the Go runtime's handler with the
// original arguments in X0-X2 and the original LR (the kernel's signal
// return trampoline).
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

#define SYS_write	64

// Frame (SP stays 16-byte aligned):
//
//	+0x00  X0, X1 (signal number, siginfo)
//	+0x10  X2 (ucontext), LR
TEXT ·segvHandler(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$32, RSP
	STP	(R0, R1), 0x00(RSP)
	STP	(R2, R30), 0x10(RSP)

	// The coroutine running on this thread, if any.
	MOVD	$·tlsKey(SB), R0
	MOVD	(R0), R0
	MOVD	$·pthreadGetspecific(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	CBZ	R0, chain
	MOVD	threadBlock_current(R0), R0
	CBZ	R0, chain

	// Is the faulting address (siginfo si_addr, offset 16) in its guard
	// region, [stack low - GuardSize, stack low)?
	MOVD	coro_stackLo(R0), R3
	SUB	$const_GuardSize, R3, R5
	MOVD	0x08(RSP), R1
	MOVD	16(R1), R6
	CMP	R5, R6
	BLO	chain
	CMP	R3, R6
	BHS	chain

	// write(2, co->msg, co->msgLen): the line naming the coroutine.
	MOVD	coro_msgLen(R0), R2
	MOVD	coro_msg(R0), R1
	MOVD	$2, R0
	MOVD	$SYS_write, R8
	SVC

chain:
	LDP	0x00(RSP), (R0, R1)
	LDP	0x10(RSP), (R2, R30)
	ADD	$32, RSP
	MOVD	$·oldSegvHandler(SB), R9
	MOVD	(R9), R9
	JMP	(R9)
