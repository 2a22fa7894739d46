// The arm64 context frame as macros, shared by the machine layer
// (ctx_arm64.s), package ctx and internal/cabi, so that every context in
// the module has one layout. Those packages include copies of their own,
// which go generate here writes (gen_frames.go): the go command rebuilds a
// package only when its own files change. ctx_arm64.s draws the frame and says why each register is
// saved. X9 is the scratch register for FPCR.

// The frame's size and the slot other code reads: the saved FPCR (the
// registers are stored in pairs from +0x00; ctx_arm64.s draws them).
#define CTX_FPCR	0xa8
#define CTX_SIZE	0xb0

// SAVE_CONTEXT saves the callee-saved state in a new frame below SP and
// leaves SP at it. The resume PC is LR: the return address of the call
// into the switching function.
#define SAVE_CONTEXT \
	MRS	FPCR, R9 \
	SAVE_CONTEXT_FPCR_R9

// SAVE_CONTEXT_FPCR_R9 is SAVE_CONTEXT with the FPCR to save already in
// R9: package ctx stores Go's (goFP) for a Go resumer instead of reading
// the register (ctxframe_amd64.h says why).
#define SAVE_CONTEXT_FPCR_R9 \
	SUB	$CTX_SIZE, RSP \
	FSTPD	(F8, F9), 0x00(RSP) \
	FSTPD	(F10, F11), 0x10(RSP) \
	FSTPD	(F12, F13), 0x20(RSP) \
	FSTPD	(F14, F15), 0x30(RSP) \
	STP	(R19, R20), 0x40(RSP) \
	STP	(R21, R22), 0x50(RSP) \
	STP	(R23, R24), 0x60(RSP) \
	STP	(R25, R26), 0x70(RSP) \
	STP	(R27, g), 0x80(RSP) \
	STP	(R29, R30), 0x90(RSP) \
	STP	(R30, R9), 0xa0(RSP)

// RESTORE_CONTEXT(to) makes SP the frame at register to, restores the
// state saved there and pops the frame, leaving the resume PC in R10 for
// the caller to end with RET R10. It must follow SAVE_CONTEXT with SP
// unchanged: the frame SAVE_CONTEXT just wrote holds the current FPCR. It
// uses R11 and R13 as scratch. FPCR (rounding mode, flush-to-zero) is
// written only when the saved value differs from the current one: an MSR
// to FPCR is costly on many cores, and contexts nearly always share it.
// (The flags live in FPSR, which no context saves: the ABI does not
// preserve them.)
#define RESTORE_CONTEXT(to) \
	RESTORE_REGISTERS(to) \
	MOVD	CTX_FPCR(R13), R13 \
	CMP	R11, R13 \
	BEQ	rcSameFP \
	MSR	R11, FPCR \
rcSameFP: \
	ADD	$CTX_SIZE, RSP

// RESTORE_REGISTERS(to) is RESTORE_CONTEXT's first half: SP becomes the
// frame at to (the old SP is left in R13), the registers are loaded, and
// R10:R11 hold the resume PC and the saved FPCR; the frame is not popped.
#define RESTORE_REGISTERS(to) \
	MOVD	RSP, R13 \
	MOVD	to, RSP \
	FLDPD	0x00(RSP), (F8, F9) \
	FLDPD	0x10(RSP), (F10, F11) \
	FLDPD	0x20(RSP), (F12, F13) \
	FLDPD	0x30(RSP), (F14, F15) \
	LDP	0x40(RSP), (R19, R20) \
	LDP	0x50(RSP), (R21, R22) \
	LDP	0x60(RSP), (R23, R24) \
	LDP	0x70(RSP), (R25, R26) \
	LDP	0x80(RSP), (R27, g) \
	LDP	0x90(RSP), (R29, R30) \
	LDP	0xa0(RSP), (R10, R11)
