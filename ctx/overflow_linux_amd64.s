// The overflow reporter's SIGSEGV handler for linux/amd64 (see
// overflow_linux.go). It runs on the thread's signal stack in the System V
// C ABI and, unless the fault was in a direct resume, ends by jumping to
// the Go runtime's handler with the original arguments in RDI, RSI, RDX.
//
// A fault in native code on a coroutine's stack comes from the coroutine
// running on this thread, so the test is exact and reads nothing it is
// not sure of: the thread block's current coroutine (pthread_getspecific
// only reads the thread's TLS; the current coroutine is always running, so
// its record is mapped), its stack and guard region, the faulting stack
// pointer from the ucontext, and the lines its record points at, in the
// record's own page. Then a few raw write(2)s and the jump.

#include "textflag.h"
#include "go_asm.h"

#define SYS_write	1
#define SYS_exit_group	231
#define UC_RSP	160	// offsetof(ucontext_t, uc_mcontext.gregs[REG_RSP])
#define SI_ADDR	16	// offsetof(siginfo_t, si_addr)

// WRITE2(p, n) is write(2, p, n). SYSCALL clobbers RAX, RCX and R11 only:
// R8-R10 keep the handler's state across it.
#define WRITE2(p, n) \
	MOVQ	p, SI \
	MOVQ	n, DX \
	MOVL	$2, DI \
	MOVL	$SYS_write, AX \
	SYSCALL

// Frame: the three arguments, pushed (SP is then 16-byte aligned), and a
// 16-byte buffer for the address in hex:
//
//	+0x10  RDX (ucontext)
//	+0x18  RSI (siginfo)
//	+0x20  RDI (signal number)
//	+0x00  the hex digits
TEXT ·segvHandler(SB), NOSPLIT|NOFRAME, $0-0
	PUSHQ	DI
	PUSHQ	SI
	PUSHQ	DX
	SUBQ	$16, SP

	// The coroutine running on this thread (R8), if any, and whether a
	// direct resume runs on it (R9).
	MOVQ	·tlsKey(SB), DI
	MOVQ	·pthreadGetspecific(SB), AX
	CALL	AX
	TESTQ	AX, AX
	JZ	chain
	MOVQ	threadBlock_direct(AX), R9
	MOVQ	threadBlock_current(AX), R8
	TESTQ	R8, R8
	JZ	chain

	// Native code on its stack: the faulting SP in [stack low - GuardSize,
	// stack high)? Anything else (Go code, another stack) is Go's alone.
	MOVQ	0x10(SP), DX
	MOVQ	UC_RSP(DX), CX
	MOVQ	coro_stackLo(R8), R10
	SUBQ	$const_GuardSize, R10
	CMPQ	CX, R10
	JCS	chain
	CMPQ	CX, coro_stackHi(R8)
	JCC	chain

	// The faulting address (R10): in the guard region, [stack low -
	// GuardSize, stack low), it is an overflow, and the line says so.
	MOVQ	0x18(SP), SI
	MOVQ	SI_ADDR(SI), R10
	MOVQ	coro_stackLo(R8), CX
	MOVQ	CX, AX
	SUBQ	$const_GuardSize, AX
	CMPQ	R10, AX
	JCS	fault
	CMPQ	R10, CX
	JCC	fault
	WRITE2(coro_msg(R8), coro_msgLen(R8))
	JMP	reported

fault:
	// Otherwise: "corokernel: SIGSEGV at address 0x<16 hex digits> in NAME",
	// the digits written from the last.
	WRITE2(·faultPrefix(SB), ·faultPrefix+8(SB))
	MOVQ	$15, CX
	MOVQ	·hexDigits(SB), DX
hex:
	MOVQ	R10, AX
	ANDQ	$15, AX
	MOVB	(DX)(AX*1), AX
	MOVB	AX, (SP)(CX*1)
	SHRQ	$4, R10
	DECQ	CX
	JGE	hex
	LEAQ	0(SP), AX
	WRITE2(AX, $16)
	WRITE2(·faultIn(SB), ·faultIn+8(SB))
	WRITE2(coro_name(R8), coro_nameLen(R8))
	TESTQ	R9, R9
	JNZ	direct
	WRITE2(·faultEnd(SB), ·faultEnd+8(SB))

reported:
	// An overflow: under a direct resume, end the process here too.
	TESTQ	R9, R9
	JZ	chain
	JMP	exit
direct:
	WRITE2(·faultDirect(SB), ·faultDirect+8(SB))
exit:
	// Under a direct resume the Go runtime cannot handle the fault (see
	// overflow_linux.go): end the process, with the status it would use.
	MOVL	$2, DI
	MOVL	$SYS_exit_group, AX
	SYSCALL

chain:
	ADDQ	$16, SP
	POPQ	DX
	POPQ	SI
	POPQ	DI
	MOVQ	·oldSegvHandler(SB), AX
	JMP	AX
DATA	·segvHandlerAddr+0(SB)/8, $·segvHandler(SB)
GLOBL	·segvHandlerAddr(SB), NOPTR|RODATA, $8
