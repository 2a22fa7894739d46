package ctx

// thunkSize is the size of one callback thunk: MOVD $i, R9 and B, one
// instruction each.
const thunkSize = 8

// cbFrame is callbackCommon's frame on its C caller's stack (callback_arm64.s),
// which reads these offsets from go_asm.h. LR at 0: where the Go linker's
// unwind table says an assembly frame keeps it. Its size is a multiple
// of 16, as SP must stay (TestCallbackFrame).
type cbFrame struct {
	lr, x19 uintptr    // LR; X19 (callee-saved) keeps the caller's SP across the call
	args    [8]uintptr // X0-X7: the integer arguments
	x8      uintptr    // X8, the indirect result register
	index   uintptr    // X9: the callback's slot, from its thunk
	fargs   [8]uint64  // D0-D7: the floating-point arguments
	fp      uintptr    // X29, the frame pointer
	block   uintptr    // the thread block
	rec     cbRecord   // the callback's record on the thread block
	fpcr    uint64     // the caller's FPCR
	_       uint64
}
