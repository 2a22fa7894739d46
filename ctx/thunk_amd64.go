package ctx

// thunkSize is the size of one callback thunk: MOVL $i, R11 (6 bytes) and
// a JMP with a 32-bit displacement (5 bytes).
const thunkSize = 11

// cbFrame is callbackCommon's frame on its C caller's stack (callback_amd64.s),
// which reads these offsets from go_asm.h. Its size keeps SP 16-byte
// aligned for the calls it makes, entered as it is by a jump from a thunk
// that C called (TestCallbackFrame).
type cbFrame struct {
	xmm   [8][2]uint64 // XMM0-XMM7: the floating-point arguments, and what comes back
	args  [6]uintptr   // RDI RSI RDX RCX R8 R9: the integer arguments
	index uintptr      // R11: the callback's slot, from its thunk
	rbx   uintptr      // the caller's RBX (callee-saved): callbackCommon keeps the caller's SP in it
	rec   cbRecord     // the callback's record on the thread block
	block uintptr      // the thread block
	fp    uint64       // the caller's FP control state (MXCSR, x87 CW), as it saved it
	gofp  uint64       // Go's, with the caller's status flags: what the Go code runs with
}
