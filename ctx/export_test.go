package ctx

// FPState returns this thread's floating-point control state in the
// context frame's layout (fpState): on amd64 MXCSR without its status
// flags | the x87 control word << 32, on arm64 FPCR.
func FPState() uintptr { return uintptr(fpState()) }
