// Traps and rings for arm64 (trap.go): a kernel task's body records a
// trap and yields, and goCycle resumes a ring of such bodies in turn,
// in one cgocall, for as long as each traps with the passing op.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_arm64.h"
#include "co_arm64.h"

// trap is
//
//	int64_t ck_trap(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b);
//
// the kernel trap of the trapping table (see trap_amd64.s).
TEXT ·trap(SB), NOSPLIT|NOFRAME, $0-0
	// Check as yield does, with temporaries only.
	RUNNING_HERE(R0, R4, R5, notask)

	// Record the trap (op is a uint32: zero-extend it), yield 0 and wait
	// in trap: the resume that wakes us returns its word from here.
	MOVWU	R1, R1
	MOVD	R1, coro_trapOp(R0)
	MOVD	R2, coro_trapA(R0)
	MOVD	R3, coro_trapB(R0)
	MOVD	ZR, R1
	MOVD	ZR, R2
	MOVD	$1, R3
	B	·suspend(SB)
notask:
	MOVD	$const_ckENotTask, R0
	RET
DATA	·trapAddr+0(SB)/8, $·trap(SB)
GLOBL	·trapAddr(SB), NOPTR|RODATA, $8

// noTrap is the trap entry of the plain table: a coroutine that is not a
// kernel task cannot trap.
TEXT ·noTrap(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	$const_ckENotTask, R0
	RET
DATA	·noTrapAddr+0(SB)/8, $·noTrap(SB)
GLOBL	·noTrapAddr(SB), NOPTR|RODATA, $8

// goCycle is the cgocall target behind Ring.Cycle (see trap_amd64.s).
TEXT ·goCycle(SB), NOSPLIT|NOFRAME, $0-0
	// X19 = a, X20 = thread block, X22 = i, X23 = count; frame keeps them
	// and LR.
	SUB	$48, RSP
	STP	(R30, R19), 0(RSP)
	STP	(R20, R21), 16(RSP)
	STP	(R22, R23), 32(RSP)
	MOVD	R0, R19
	BL	·getThreadBlock(SB)
	MOVD	R0, R20
	MOVD	cycleArgs_start(R19), R22
	MOVD	$0, R23
loop:
	MOVD	$const_cycleMore, R0
	MOVD	cycleArgs_max(R19), R2
	CMP	R2, R23
	BEQ	stop
	// Stopped by the Go side (Ring.Stop, from a callback of the last
	// coroutine resumed): as if the budget had run out.
	MOVD	cycleArgs_stop(R19), R2
	CBNZ	R2, stop
	// Progress so far, for a Go callback's panic that abandons this loop.
	MOVD	R22, cycleArgs_i(R19)
	MOVD	R23, cycleArgs_count(R19)
	MOVD	cycleArgs_ring(R19), R2
	MOVD	(R2)(R22<<3), R0
	MOVD	coro_value(R0), R1
	MOVD	$0, R2
	MOVD	R20, R3
	// Expect the record's own generation, suspended, as C's resume does.
	MOVD	coro_status(R0), R4
	AND	$~const_stMask, R4
	MOVD	$const_resumeFromGo, R5
	BL	·resumeCore(SB)
	ADD	$1, R23
	CBNZ	R0, stop
	// It yielded: through trap with the passing op?
	MOVD	cycleArgs_ring(R19), R2
	MOVD	(R2)(R22<<3), R2
	MOVD	coro_trapOp(R2), R3
	MOVD	cycleArgs_pass(R19), R4
	CMP	R4, R3
	BNE	stop
	MOVD	ZR, coro_trapOp(R2)
	ADD	$1, R22
	MOVD	cycleArgs_n(R19), R2
	CMP	R2, R22
	BNE	loop
	MOVD	$0, R22
	B	loop
stop:
	MOVD	R22, cycleArgs_i(R19)
	MOVD	R23, cycleArgs_count(R19)
	MOVD	R0, cycleArgs_code(R19)
	LDP	0(RSP), (R30, R19)
	LDP	16(RSP), (R20, R21)
	LDP	32(RSP), (R22, R23)
	ADD	$48, RSP
	RET
DATA	·goCycleAddr+0(SB)/8, $·goCycle(SB)
GLOBL	·goCycleAddr(SB), NOPTR|RODATA, $8
