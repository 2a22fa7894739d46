// callerFP for amd64 (gocoro.go): how a pull loop finds out that it runs
// inside one of the Go runtime's coroutines (iter.Pull).

#include "textflag.h"

// callerFP is func callerFP() uintptr, in Go's ABI0: the frame pointer of
// the Go function that calls it (a frameless function leaves BP alone).
TEXT ·callerFP(SB), NOSPLIT, $0-8
	MOVQ	BP, ret+0(FP)
	RET
