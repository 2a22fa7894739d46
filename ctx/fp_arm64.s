// Floating-point control state for arm64: what Go's is (goFP), read once
// at init.

#include "textflag.h"
#include "ctxframe_arm64.h"

// fpState is func fpState() uint64, in Go's ABI0: this thread's FPCR.
TEXT ·fpState(SB), NOSPLIT, $0-8
	MRS	FPCR, R0
	MOVD	R0, ret+0(FP)
	RET
