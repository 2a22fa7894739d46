// A copy of the repository root's ctxframe_amd64.h, written by go generate there
// (gen_frames.go): edit that one, not this. TestFrameHeaderCopies checks it.

// The amd64 context frame as macros, shared by the machine layer
// (ctx_amd64.s), package ctx and internal/cabi, so that every context in
// the module has one layout. Those packages include copies of their own,
// which go generate here writes (gen_frames.go): the go command rebuilds a
// package only when its own files change. ctx_amd64.s draws the frame and says why each register is
// saved.

// The frame's slots, from the address a context's saved SP holds; the
// registers in SAVE_REGISTERS's push order, reversed.
#define CTX_R12	0x00
#define CTX_R13	0x08
#define CTX_R14	0x10
#define CTX_R15	0x18
#define CTX_RBX	0x20
#define CTX_RBP	0x28
#define CTX_FP	0x30	// MXCSR (4 bytes), then the x87 control word (2 bytes)
#define CTX_RIP	0x38	// where the context resumes
#define CTX_SIZE	0x40

// SAVE_CONTEXT pushes the callee-saved state below the return address that
// the CALL into the switching function left (the RIP slot at +0x38),
// leaving SP at the new frame. The control words go first: STMXCSR and
// FSTCW are microcoded, and issued first they overlap the pushes.
#define SAVE_CONTEXT \
	SAVE_FP_CONTROL \
	SAVE_REGISTERS

// SAVE_FP_CONTROL and SAVE_REGISTERS are SAVE_CONTEXT's two halves: the
// control-word slot, then the registers.
#define SAVE_FP_CONTROL \
	SUBQ	$8, SP \
	STMXCSR	0x00(SP) \
	FSTCW	0x04(SP)

#define SAVE_REGISTERS \
	PUSHQ	BP \
	PUSHQ	BX \
	PUSHQ	R15 \
	PUSHQ	R14 \
	PUSHQ	R13 \
	PUSHQ	R12

// A side whose floating-point control state is known without reading it
// can push that instead of SAVE_FP_CONTROL, as an 8-byte word in the
// slot's layout (MXCSR without its status flags, then the x87 control
// word), and then SAVE_REGISTERS. Package ctx does so for Go resumers,
// whose state is always Go's: STMXCSR is slow on some cores (on AMD Zen
// 3, where a load of its result also waits for it to reach the cache),
// and a switch from Go would pay that on every resume.

// RESTORE_CONTEXT(to) makes SP the frame at to and restores the state
// saved there. It must follow SAVE_CONTEXT with SP unchanged: the frame
// SAVE_CONTEXT just wrote holds the current floating-point control state.
// It leaves SP at the saved RIP: the caller ends with RET, or with POPQ
// and JMP. It uses R9-R11 as scratch.
//
// The floating-point control state is restored only where it differs,
// and never MXCSR's status flags (bits 0-5): the ABI makes only MXCSR's
// control bits and the x87 control word callee-saved, and an LDMXCSR that
// changes MXCSR makes the next STMXCSR wait (on Intel; docs/performance.md,
// "The MXCSR status-flag trap", has the figures). Restoring the flags, as
// boost.context does, pays that on every
// switch whenever one side has a flag set and the other not, the normal
// case once one side does inexact arithmetic. So the two frames' control
// words are compared (MXCSR's control bits and the x87 CW, each read with
// the width it was stored with, so that the loads are forwarded from the
// stores); only when they differ does it load the saved control bits with
// the current flags, and the saved control word.
//
// On AMD cores the trade is the other way round, and the including
// package's fpLoadAlways (set from CPUID's vendor) says so: an LDMXCSR
// that changes MXCSR costs nothing extra there, while loading the value
// STMXCSR has just stored waits for the store to reach the cache (a few
// nanoseconds per switch on Zen 3, as measured in docs/performance.md).
// There the saved words are loaded
// unconditionally, flags and all (which the ABI allows), as boost.context
// does, and nothing is compared.
#define RESTORE_CONTEXT(to) \
	MOVQ	SP, R9 \
	MOVQ	to, SP \
	CMPB	·fpLoadAlways(SB), $0 \
	JNE	rcLoadFP \
	MOVL	CTX_FP(SP), R10 \
	XORL	CTX_FP(R9), R10 \
	MOVWLZX	(CTX_FP+4)(SP), R11 \
	XORW	(CTX_FP+4)(R9), R11 \
	ANDL	$~0x3f, R10 \
	ORL	R11, R10 \
	JZ	rcSameFP \
	MOVL	CTX_FP(SP), R10 \
	ANDL	$~0x3f, R10 \
	MOVL	CTX_FP(R9), R11 \
	ANDL	$0x3f, R11 \
	ORL	R11, R10 \
	MOVL	R10, CTX_FP(SP) \
rcLoadFP: \
	LDMXCSR	CTX_FP(SP) \
	FLDCW	(CTX_FP+4)(SP) \
rcSameFP: \
	RESTORE_REGISTERS

// LOAD_CONTEXT(to) is RESTORE_CONTEXT for a side that saved no frame of
// its own to compare with and will never be resumed (a coroutine's last
// switch, in package ctx's coEntry): it loads the state saved at the
// frame in register to, the floating-point control words unconditionally,
// with loads rather than pops, and leaves SP at the saved RIP for a RET.
// to must not be one of the registers it loads (R8 will do).
#define LOAD_CONTEXT(to) \
	LDMXCSR	CTX_FP(to) \
	FLDCW	(CTX_FP+4)(to) \
	MOVQ	CTX_R12(to), R12 \
	MOVQ	CTX_R13(to), R13 \
	MOVQ	CTX_R14(to), R14 \
	MOVQ	CTX_R15(to), R15 \
	MOVQ	CTX_RBX(to), BX \
	MOVQ	CTX_RBP(to), BP \
	LEAQ	CTX_RIP(to), SP

// RESTORE_REGISTERS is RESTORE_CONTEXT's last part: it pops the registers
// SAVE_REGISTERS pushed and skips the control-word slot, leaving SP at the
// saved RIP.
#define RESTORE_REGISTERS \
	POPQ	R12 \
	POPQ	R13 \
	POPQ	R14 \
	POPQ	R15 \
	POPQ	BX \
	POPQ	BP \
	ADDQ	$8, SP

// CPU_VENDOR_AMD sets DX to 1 when CPUID's vendor string (leaf 0,
// EBX:EDX:ECX) is AMD's "AuthenticAMD" or Hygon's "HygonGenuine", else to
// 0; EBX, the first four characters, tells them apart. It clobbers AX, BX,
// CX and DX. Each package that includes this file sets its fpLoadAlways
// from it (RESTORE_CONTEXT).
#define CPU_VENDOR_AMD \
	XORL	AX, AX \
	XORL	CX, CX \
	CPUID \
	MOVB	$0, DX \
	CMPL	BX, $0x68747541 \
	JNE	2(PC) \
	MOVB	$1, DX \
	CMPL	BX, $0x6f677948 \
	JNE	2(PC) \
	MOVB	$1, DX
