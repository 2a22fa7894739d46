//go:build !linux

// Without the overflow reporter (overflow_other.go) segvHandler is never
// installed; it exists so that the entry table has the same shape on
// every system.

#include "textflag.h"

TEXT ·segvHandler(SB), NOSPLIT|NOFRAME, $0-0
	RET
