// Checks the arm64 assembly of package ctx repeats, written once. Offsets
// and constants come from go_asm.h, which the including file includes
// first.

// RUNNING_HERE(co, t1, t2, fail) branches to fail unless the record in
// register co is running and RSP lies inside its stack: exactly when co
// is the innermost coroutine running on this thread, since a stack runs
// on one thread at a time and a coroutine resumed from co's body runs on
// a stack of its own. It clobbers the temporaries t1 and t2 only.
#define RUNNING_HERE(co, t1, t2, fail) \
	CBZ	co, fail \
	MOVD	coro_status(co), t1 \
	AND	$const_stMask, t1 \
	CMP	$const_stRunning, t1 \
	BNE	fail \
	MOVD	RSP, t2 \
	MOVD	coro_stackLo(co), t1 \
	CMP	t1, t2 \
	BLO	fail \
	MOVD	coro_stackHi(co), t1 \
	CMP	t1, t2 \
	BHS	fail

// MARK_DEAD(from, to, tmp, loop, end) marks dead, each in its own
// generation, the coroutines from the record in register from out
// through coro_prev to the one in register to, included: those whose
// frames a panic in a Go callback, or a refused callback, abandons. from
// ends equal to to; loop and end are the labels it defines.
#define MARK_DEAD(from, to, tmp, loop, end) \
loop: \
	MOVD	coro_status(from), tmp \
	AND	$~const_stMask, tmp \
	ORR	$const_stDead, tmp \
	MOVD	tmp, coro_status(from) \
	CMP	to, from \
	BEQ	end \
	MOVD	coro_prev(from), from \
	B	loop \
end:

// FPCR_IS_GOS(reg) compares the FPCR value in reg with Go's, goFP, for a
// BEQ. It clobbers R10, leaving goFP there.
#define FPCR_IS_GOS(reg) \
	MOVD	$·goFP(SB), R10 \
	MOVD	(R10), R10 \
	CMP	reg, R10
