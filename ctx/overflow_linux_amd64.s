// The overflow reporter's SIGSEGV handler for linux/amd64 (see
// overflow_linux.go). It runs on the thread's signal stack in the
// System V C ABI, uses raw system calls only (async-signal-safe), and
// always ends by jumping to the Go runtime's handler with the original
// arguments in RDI, RSI, RDX.

#include "textflag.h"

#define HDR_MAGIC	$0x636b677561726421
#define SYS_write	1
#define SYS_getpid	39
#define SYS_process_vm_readv	310

// Frame (after the three argument pushes, SP 16-byte aligned):
//
//	+0x00  header words read back: magic, guard address
//	+0x10  local iovec  {base = SP, len = 16}
//	+0x20  remote iovec {base = header page, len = 16}
TEXT ·segvHandler(SB), NOSPLIT|NOFRAME, $0-0
	PUSHQ	DI
	PUSHQ	SI
	PUSHQ	DX
	SUBQ	$0x30, SP

	// The page of the faulting address (siginfo si_addr, offset 16); the
	// header page would be one page below it.
	MOVQ	16(SI), AX
	MOVQ	·segvPageSize(SB), CX
	MOVQ	CX, R8
	NEGQ	R8
	ANDQ	R8, AX
	CMPQ	AX, CX
	JCS	chain
	SUBQ	CX, AX

	// Read 16 bytes of the would-be header with process_vm_readv on
	// ourselves: EFAULT instead of a second fault if it is not mapped.
	MOVQ	SP, 0x10(SP)
	MOVQ	$16, 0x18(SP)
	MOVQ	AX, 0x20(SP)
	MOVQ	$16, 0x28(SP)
	MOVQ	$SYS_getpid, AX
	SYSCALL
	MOVQ	AX, DI
	LEAQ	0x10(SP), SI
	MOVQ	$1, DX
	LEAQ	0x20(SP), R10
	MOVQ	$1, R8
	XORL	R9, R9
	MOVQ	$SYS_process_vm_readv, AX
	SYSCALL
	CMPQ	AX, $16
	JNE	chain

	// Ours if the magic matches and the header names this guard page.
	MOVQ	HDR_MAGIC, CX
	CMPQ	0x00(SP), CX
	JNE	chain
	MOVQ	0x20(SP), CX
	ADDQ	·segvPageSize(SB), CX
	CMPQ	0x08(SP), CX
	JNE	chain

	// write(2, header+24, header[16]): the line naming the coroutine.
	MOVQ	0x20(SP), SI
	MOVQ	16(SI), DX
	ADDQ	$24, SI
	MOVQ	$2, DI
	MOVQ	$SYS_write, AX
	SYSCALL

chain:
	ADDQ	$0x30, SP
	POPQ	DX
	POPQ	SI
	POPQ	DI
	MOVQ	·oldSegvHandler(SB), AX
	JMP	AX

TEXT ·segvHandlerPC(SB), NOSPLIT, $0-8
	MOVQ	$·segvHandler(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
