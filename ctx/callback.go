package ctx

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ebitengine/purego"
)

//go:generate go run gen_thunks.go

// numThunks is the number of callback slots (gen_thunks.go).
const numThunks = 128

// ErrTooManyCallbacks is returned once every callback slot is taken.
var ErrTooManyCallbacks = fmt.Errorf("ctx: all %d callback slots are in use", numThunks)

var (
	// callbackTargets[i] is the function thunk i calls (callbackCommon
	// reads it).
	callbackTargets [numThunks]uintptr
	thunks          [numThunks]uintptr

	cbMu   sync.Mutex
	cbUsed int
)

func thunkAddrs(dst *[numThunks]uintptr)

func init() { thunkAddrs(&thunks) }

// NewCallback turns the Go function fn into a C function pointer that
// native code may call from a coroutine stack, with the argument rules of
// purego.NewCallback (integer, pointer and floating-point arguments, at
// most six integer and eight floating-point ones). Called on a coroutine
// stack, it switches to the thread's system stack before entering Go, which
// the Go runtime requires; called anywhere else, it calls straight through.
//
// There are 128 slots; like purego's callbacks they are never released, so
// make callbacks once and reuse them.
func NewCallback(fn any) (cfn uintptr, err error) {
	defer func() {
		if r := recover(); r != nil {
			cfn, err = 0, fmt.Errorf("ctx: NewCallback: %v", r)
		}
	}()
	return WrapCallback(purego.NewCallback(fn))
}

// WrapCallback returns a C function pointer that calls the C-ABI function
// cfn with the same arguments, switching from a coroutine stack to the
// thread's system stack first. Use it for callbacks that enter Go by other
// means than NewCallback.
func WrapCallback(cfn uintptr) (uintptr, error) {
	if cfn == 0 {
		return 0, errors.New("ctx: WrapCallback of a nil function")
	}
	cbMu.Lock()
	defer cbMu.Unlock()
	if cbUsed == numThunks {
		return 0, ErrTooManyCallbacks
	}
	i := cbUsed
	cbUsed++
	callbackTargets[i] = cfn
	return thunks[i], nil
}
