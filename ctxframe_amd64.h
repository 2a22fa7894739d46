// The amd64 context frame as macros, shared by the machine layer
// (ctx_amd64.s) and package ctx, so that every context in the module has
// one layout. ctx_amd64.s draws the frame and says why each register is
// saved.

// SAVE_CONTEXT pushes the callee-saved state below the return address that
// the CALL into the switching function left (the RIP slot at +0x38),
// leaving SP at the new frame. The control words go first: STMXCSR and
// FSTCW are microcoded, and issued first they overlap the pushes.
#define SAVE_CONTEXT \
	SUBQ	$8, SP \
	STMXCSR	0x00(SP) \
	FSTCW	0x04(SP) \
	PUSHQ	BP \
	PUSHQ	BX \
	PUSHQ	R15 \
	PUSHQ	R14 \
	PUSHQ	R13 \
	PUSHQ	R12

// RESTORE_CONTEXT(to) makes SP the frame at to and restores the state saved
// there, the slow control-word loads first so that the pops overlap them.
// It leaves SP at the saved RIP: the caller ends with RET, or with POPQ and
// JMP.
#define RESTORE_CONTEXT(to) \
	MOVQ	to, SP \
	LDMXCSR	0x30(SP) \
	FLDCW	0x34(SP) \
	POPQ	R12 \
	POPQ	R13 \
	POPQ	R14 \
	POPQ	R15 \
	POPQ	BX \
	POPQ	BP \
	ADDQ	$8, SP
