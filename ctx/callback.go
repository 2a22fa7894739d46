package ctx

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/ebitengine/purego"
)

//go:generate go run gen_thunks.go

// NumCallbacks is the number of callback slots: the most NewCallback
// functions a process can have. Slots are never released.
const NumCallbacks = 128

// ErrTooManyCallbacks is returned once every callback slot is taken.
var ErrTooManyCallbacks = fmt.Errorf("ctx: all %d callback slots are in use", NumCallbacks)

var (
	// callbackTargets[i] is the C function slot i calls (callbackCommon
	// reads it): a purego callback of the guarded Go function.
	callbackTargets [NumCallbacks]uintptr

	cbMu   sync.Mutex
	cbUsed int
)

// thunkAddr returns the C function pointer of slot i: the thunk table is
// one block of NumCallbacks thunks of thunkSize bytes (thunks_*.s).
func thunkAddr(i int) uintptr { return thunkTableAddr + uintptr(i)*thunkSize }

// NewCallback turns the Go function fn into a C function pointer that
// native code may call, on a coroutine stack or anywhere else, with the
// argument rules of purego.NewCallback: integer, pointer and
// floating-point arguments, at most six integer and eight floating-point
// ones, and at most one integer or pointer result. Called on a coroutine
// stack, it first switches to the stack the coroutine was resumed from,
// which the Go runtime requires. fn runs with Go's floating-point control
// state (round to nearest, no flush-to-zero) even when the C code that
// calls it set another, and that code has its own back when fn returns.
//
// A panic or runtime.Goexit that leaves fn abandons the C frames between
// fn and the Go code that entered native code: the coroutines they belong
// to become Dead, the thread's current coroutine is restored, and the
// panic goes on in that Go code (usually Resume's caller).
//
// There are NumCallbacks slots, never released, so make callbacks once and
// reuse them. A NewCallback that fails takes no slot.
func NewCallback(fn any) (cfn uintptr, err error) {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return 0, fmt.Errorf("ctx: NewCallback of %T: not a non-nil function", fn)
	}
	cbMu.Lock()
	defer cbMu.Unlock()
	if cbUsed == NumCallbacks {
		return 0, ErrTooManyCallbacks
	}
	target, err := pureCallback(guarded(v))
	if err != nil {
		return 0, err
	}
	i := cbUsed
	cbUsed++
	callbackTargets[i] = target
	return thunkAddr(i), nil
}

// pureCallback is purego.NewCallback with its panics (an unsupported
// signature) turned into errors.
func pureCallback(fn any) (cfn uintptr, err error) {
	defer func() {
		if r := recover(); r != nil {
			cfn, err = 0, fmt.Errorf("ctx: NewCallback: %v", r)
		}
	}()
	return purego.NewCallback(fn), nil
}

// guarded wraps fn so that a panic or Goexit leaving it first tells the
// thread block (goCbUnwind) which C frames it abandons. The wrapper runs
// while the runtime keeps the goroutine on the callback's thread, so the
// thread block it reaches is the right one.
func guarded(fn reflect.Value) any {
	return reflect.MakeFunc(fn.Type(), func(args []reflect.Value) []reflect.Value {
		ok := false
		defer func() {
			if !ok {
				cgocall(goCbUnwindAddr, nil)
			}
		}()
		r := fn.Call(args)
		ok = true
		return r
	}).Interface()
}
