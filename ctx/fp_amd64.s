// Floating-point control state for amd64: what Go's is (goFP), read once
// at init.

#include "textflag.h"
#include "ctxframe_amd64.h"

// fpState is func fpState() uint64, in Go's ABI0: this thread's
// floating-point control state in the context frame's layout, MXCSR
// without its status flags | x87 control word << 32.
TEXT ·fpState(SB), NOSPLIT, $8-8
	STMXCSR	0(SP)
	FSTCW	4(SP)
	MOVL	0(SP), AX
	ANDL	$~0x3f, AX
	MOVWLZX	4(SP), CX
	SHLQ	$32, CX
	ORQ	CX, AX
	MOVQ	AX, ret+0(FP)
	RET

// cpuAMD is func cpuAMD() bool, in Go's ABI0 (see CPU_VENDOR_AMD).
TEXT ·cpuAMD(SB), NOSPLIT, $0-1
	CPU_VENDOR_AMD
	MOVB	DX, ret+0(FP)
	RET
