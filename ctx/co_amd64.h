// Checks the amd64 assembly of package ctx repeats, written once. Offsets
// and constants come from go_asm.h, which the including file includes
// first.

// RUNNING_HERE(co, fail) jumps to fail unless the record in register co
// is running and SP lies inside its stack: exactly when co is the
// innermost coroutine running on this thread, since a stack runs on one
// thread at a time and a coroutine resumed from co's body runs on a stack
// of its own. It clobbers AX and nothing else; yield, trap and yieldArgs
// run it with SP at their return address, before they push anything.
#define RUNNING_HERE(co, fail) \
	TESTQ	co, co \
	JZ	fail \
	MOVQ	coro_status(co), AX \
	ANDQ	$const_stMask, AX \
	CMPQ	AX, $const_stRunning \
	JNE	fail \
	CMPQ	SP, coro_stackLo(co) \
	JCS	fail \
	CMPQ	SP, coro_stackHi(co) \
	JCC	fail

// MARK_DEAD(from, to, tmp, loop, end) marks dead, each in its own
// generation, the coroutines from the record in register from out
// through coro_prev to the one in register to, included: those whose
// frames a panic in a Go callback, or a refused callback, abandons. from
// ends equal to to; loop and end are the labels it defines.
#define MARK_DEAD(from, to, tmp, loop, end) \
loop: \
	MOVQ	coro_status(from), tmp \
	ANDQ	$~const_stMask, tmp \
	ORQ	$const_stDead, tmp \
	MOVQ	tmp, coro_status(from) \
	CMPQ	from, to \
	JEQ	end \
	MOVQ	coro_prev(from), from \
	JMP	loop \
end:

// FP_IS_GOS(saved) sets ZF when the floating-point control state in the
// 8-byte word saved (MXCSR | x87 CW << 32, as STMXCSR and FSTCW stored
// it) equals Go's, goFP, ignoring MXCSR's status flags. It clobbers R8
// and R9.
#define FP_IS_GOS(saved) \
	MOVQ	saved, R8 \
	XORQ	·goFP(SB), R8 \
	MOVQ	$const_fpControlMask, R9 \
	ANDQ	R9, R8
