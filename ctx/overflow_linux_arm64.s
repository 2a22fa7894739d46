// The overflow reporter's SIGSEGV handler for linux/arm64 (see
// overflow_linux.go and overflow_linux_amd64.s). It runs on the thread's
// signal stack in the AAPCS64 C ABI and, unless the fault was in a direct
// resume, ends by jumping to the Go runtime's handler with the original
// arguments in X0-X2 and the original LR (the kernel's signal return
// trampoline). Globals are addressed with MOVD $sym(SB) and loaded
// through a register: nothing here touches X27.

#include "textflag.h"
#include "go_asm.h"

#define SYS_write	64
#define SYS_exit_group	94
#define UC_SP	432	// offsetof(ucontext_t, uc_mcontext.sp)
#define SI_ADDR	16	// offsetof(siginfo_t, si_addr)

// WRITE2(p, n) is write(2, p, n). SVC changes X0 only: X3-X6 keep the
// handler's state across it.
#define WRITE2(p, n) \
	MOVD	p, R1 \
	MOVD	n, R2 \
	MOVD	$2, R0 \
	MOVD	$SYS_write, R8 \
	SVC

// WRITESTR(s) writes the Go string variable s.
#define WRITESTR(s) \
	MOVD	$s(SB), R7 \
	WRITE2((R7), 8(R7))

// Frame (SP stays 16-byte aligned):
//
//	+0x00  X0, X1 (signal number, siginfo)
//	+0x10  X2 (ucontext), LR
//	+0x20  the address in hex, 16 digits
TEXT ·segvHandler(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$48, RSP
	STP	(R0, R1), 0x00(RSP)
	STP	(R2, R30), 0x10(RSP)

	// The coroutine running on this thread (X4), if any, and whether a
	// direct resume runs on it (X5).
	MOVD	$·tlsKey(SB), R0
	MOVD	(R0), R0
	MOVD	$·pthreadGetspecific(SB), R9
	MOVD	(R9), R9
	BL	(R9)
	CBZ	R0, chain
	MOVD	threadBlock_direct(R0), R5
	MOVD	threadBlock_current(R0), R4
	CBZ	R4, chain

	// Native code on its stack: the faulting SP in [stack low - GuardSize,
	// stack high)? Anything else is Go's alone.
	MOVD	0x10(RSP), R2
	MOVD	UC_SP(R2), R1
	MOVD	coro_stackLo(R4), R3
	SUB	$const_GuardSize, R3, R6
	CMP	R6, R1
	BLO	chain
	MOVD	coro_stackHi(R4), R6
	CMP	R6, R1
	BHS	chain

	// The faulting address (X6): in the guard region, an overflow.
	MOVD	0x08(RSP), R1
	MOVD	SI_ADDR(R1), R6
	SUB	$const_GuardSize, R3, R1
	CMP	R1, R6
	BLO	fault
	CMP	R3, R6
	BHS	fault
	WRITE2(coro_msg(R4), coro_msgLen(R4))
	CBZ	R5, chain
	B	exit

fault:
	// "corokernel: SIGSEGV at address 0x<16 hex digits> in NAME", the
	// digits written from the last.
	WRITESTR(·faultPrefix)
	MOVD	$·hexDigits(SB), R3
	MOVD	(R3), R3
	ADD	$0x20, RSP, R1
	MOVD	$15, R2
hex:
	AND	$15, R6, R0
	MOVBU	(R3)(R0), R0
	MOVB	R0, (R1)(R2)
	LSR	$4, R6
	SUBS	$1, R2
	BGE	hex
	ADD	$0x20, RSP, R3
	WRITE2(R3, $16)
	WRITESTR(·faultIn)
	WRITE2(coro_name(R4), coro_nameLen(R4))
	CBNZ	R5, direct
	WRITESTR(·faultEnd)
	B	chain
direct:
	WRITESTR(·faultDirect)
exit:
	// Under a direct resume the Go runtime cannot handle the fault (see
	// overflow_linux.go): end the process, with the status it would use.
	MOVD	$2, R0
	MOVD	$SYS_exit_group, R8
	SVC

chain:
	LDP	0x00(RSP), (R0, R1)
	LDP	0x10(RSP), (R2, R30)
	ADD	$48, RSP
	MOVD	$·oldSegvHandler(SB), R9
	MOVD	(R9), R9
	JMP	(R9)
DATA	·segvHandlerAddr+0(SB)/8, $·segvHandler(SB)
GLOBL	·segvHandlerAddr(SB), NOPTR|RODATA, $8
