// Traps and rings for amd64 (trap.go): a kernel task's body records a
// trap and yields, and goCycle resumes a ring of such bodies in turn,
// in one cgocall, for as long as each traps with the passing op.

#include "textflag.h"
#include "go_asm.h"
#include "ctxframe_amd64.h"
#include "co_amd64.h"

// trap is
//
//	int64_t ck_trap(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b);
//
// the kernel trap of the trapping table: it records op, a and b in the
// record and yields 0; the resumer (package kernel) reads them and
// resumes with the trap's result word, which trap returns (CK_ECANCELED
// for Close's cancel). Called with a coroutine that is not the one running
// on this stack, it returns CK_ENOTTASK at once.
TEXT ·trap(SB), NOSPLIT|NOFRAME, $0-0
	// Check as yield does, with nothing pushed: trap switches itself, one
	// call below the body.
	RUNNING_HERE(DI, notask)

	// Record the trap (op is a uint32: zero-extend it), yield 0 and wait
	// in trap: the resume that wakes us returns its word from here.
	MOVL	SI, SI
	MOVQ	SI, coro_trapOp(DI)
	MOVQ	DX, coro_trapA(DI)
	MOVQ	CX, coro_trapB(DI)
	XORL	SI, SI
	XORL	DX, DX
	MOVQ	$1, R8
	JMP	·suspend(SB)
notask:
	MOVQ	$const_ckENotTask, AX
	RET
DATA	·trapAddr+0(SB)/8, $·trap(SB)
GLOBL	·trapAddr(SB), NOPTR|RODATA, $8

// noTrap is the trap entry of the plain table: a coroutine that is not a
// kernel task cannot trap.
TEXT ·noTrap(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ	$const_ckENotTask, AX
	RET
DATA	·noTrapAddr+0(SB)/8, $·noTrap(SB)
GLOBL	·noTrapAddr(SB), NOPTR|RODATA, $8

// goCycle is the cgocall target behind Ring.Cycle:
//
//	void ck_go_cycle(struct cycleArgs *a);
//
// It resumes ring[start], ring[start+1], ... round the ring, each with the
// word in its co->value (the first time, what Ring.Add stored; after a
// trap, 0, which trap leaves there), for as long as each one yields
// through trap with op == pass (consumed: its trap op is cleared), at most
// max times, or until the Go side sets a.stop (Ring.Stop, from a Go
// callback of the coroutine last resumed). It stops at the first coroutine
// that does anything else
// (another trap, a plain yield, a return, an error) and reports where: i,
// the resumes made (count, including the one that stopped), and that
// resume's code: CK_OK when it merely trapped otherwise, cycleMore when
// max ran out (i is then the next to run). All in native code, in one
// cgocall. i and count are kept up to date before each resume, so that
// after a panic in a Go callback they name the coroutine it came from.
TEXT ·goCycle(SB), NOSPLIT|NOFRAME, $0-0
	// RBX = a, R12 = thread block, R14 = i, R15 = count; R13 pushed only
	// to realign SP (five pushes).
	PUSHQ	BX
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	PUSHQ	R15
	MOVQ	DI, BX
	CALL	·getThreadBlock(SB)
	MOVQ	AX, R12
	MOVQ	cycleArgs_start(BX), R14
	XORL	R15, R15
loop:
	MOVQ	$const_cycleMore, AX
	CMPQ	R15, cycleArgs_max(BX)
	JEQ	stop
	// Stopped by the Go side (Ring.Stop, from a callback of the last
	// coroutine resumed): as if the budget had run out.
	CMPQ	cycleArgs_stop(BX), $0
	JNE	stop
	// Progress so far, for a Go callback's panic that abandons this loop.
	MOVQ	R14, cycleArgs_i(BX)
	MOVQ	R15, cycleArgs_count(BX)
	MOVQ	cycleArgs_ring(BX), CX
	MOVQ	(CX)(R14*8), DI
	MOVQ	coro_value(DI), SI
	XORL	DX, DX
	MOVQ	R12, CX
	// Expect the record's own generation, suspended, as C's resume does.
	MOVQ	coro_status(DI), R8
	ANDQ	$~const_stMask, R8
	MOVQ	$const_resumeFromGo, R9
	CALL	·resumeCore(SB)
	INCQ	R15
	TESTQ	AX, AX
	JNZ	stop
	// It yielded: through trap with the passing op?
	MOVQ	cycleArgs_ring(BX), CX
	MOVQ	(CX)(R14*8), CX
	MOVQ	coro_trapOp(CX), DX
	CMPQ	DX, cycleArgs_pass(BX)
	JNE	stop
	MOVQ	$0, coro_trapOp(CX)
	INCQ	R14
	CMPQ	R14, cycleArgs_n(BX)
	JNE	loop
	XORL	R14, R14
	JMP	loop
stop:
	MOVQ	R14, cycleArgs_i(BX)
	MOVQ	R15, cycleArgs_count(BX)
	MOVQ	AX, cycleArgs_code(BX)
	POPQ	R15
	POPQ	R14
	POPQ	R13
	POPQ	R12
	POPQ	BX
	RET
DATA	·goCycleAddr+0(SB)/8, $·goCycle(SB)
GLOBL	·goCycleAddr(SB), NOPTR|RODATA, $8
