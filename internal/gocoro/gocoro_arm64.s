// callerFP for arm64 (gocoro.go): how a pull loop finds out that it runs
// inside one of the Go runtime's coroutines (iter.Pull).

#include "textflag.h"

// callerFP is func callerFP() uintptr, in Go's ABI0: the frame pointer of
// the Go function that calls it (a frameless function leaves R29 alone).
TEXT ·callerFP(SB), NOSPLIT|NOFRAME, $0-8
	MOVD	R29, ret+0(FP)
	RET
