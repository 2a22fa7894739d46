// The overflow reporter's SIGSEGV handler for linux/arm64 (see
// overflow_linux.go). It runs on the thread's signal stack in the AAPCS64
// C ABI, uses raw system calls only (async-signal-safe), and always ends
// by jumping to the Go runtime's handler with the original arguments in
// X0-X2 and the original LR (the kernel's signal return trampoline).

#include "textflag.h"

#define SYS_write	64
#define SYS_getpid	172
#define SYS_process_vm_readv	270

// Frame (SP stays 16-byte aligned):
//
//	+0x00  header words read back: magic, guard address
//	+0x10  local iovec  {base = SP, len = 16}
//	+0x20  remote iovec {base = header page, len = 16}
//	+0x30  X0, X1 (signal number, siginfo)
//	+0x40  X2 (ucontext), pad
TEXT ·segvHandler(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$0x50, RSP
	STP	(R0, R1), 0x30(RSP)
	MOVD	R2, 0x40(RSP)

	// The page of the faulting address (siginfo si_addr, offset 16); the
	// header page would be one page below it.
	MOVD	16(R1), R3
	MOVD	$·segvPageSize(SB), R4
	MOVD	(R4), R4
	NEG	R4, R5
	AND	R5, R3
	CMP	R4, R3
	BLO	chain
	SUB	R4, R3

	// Read 16 bytes of the would-be header with process_vm_readv on
	// ourselves: EFAULT instead of a second fault if it is not mapped.
	MOVD	RSP, R6
	MOVD	$16, R7
	STP	(R6, R7), 0x10(RSP)
	STP	(R3, R7), 0x20(RSP)
	MOVD	$SYS_getpid, R8
	SVC
	ADD	$0x10, RSP, R1
	MOVD	$1, R2
	ADD	$0x20, RSP, R3
	MOVD	$1, R4
	MOVD	$0, R5
	MOVD	$SYS_process_vm_readv, R8
	SVC
	CMP	$16, R0
	BNE	chain

	// Ours if the magic matches and the header names this guard page.
	MOVD	$0x636b677561726421, R6
	MOVD	0x00(RSP), R7
	CMP	R6, R7
	BNE	chain
	MOVD	0x20(RSP), R6
	MOVD	$·segvPageSize(SB), R4
	MOVD	(R4), R4
	ADD	R4, R6
	MOVD	0x08(RSP), R7
	CMP	R6, R7
	BNE	chain

	// write(2, header+24, header[16]): the line naming the coroutine.
	MOVD	0x20(RSP), R1
	MOVD	16(R1), R2
	ADD	$24, R1
	MOVD	$2, R0
	MOVD	$SYS_write, R8
	SVC

chain:
	LDP	0x30(RSP), (R0, R1)
	MOVD	0x40(RSP), R2
	ADD	$0x50, RSP
	MOVD	$·oldSegvHandler(SB), R9
	MOVD	(R9), R9
	JMP	(R9)

TEXT ·segvHandlerPC(SB), NOSPLIT, $0-8
	MOVD	$·segvHandler(SB), R0
	MOVD	R0, ret+0(FP)
	RET
