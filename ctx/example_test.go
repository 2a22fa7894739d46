package ctx_test

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
)

// The body here is cabi.Count, a C-ABI function written in assembly:
//
//	uintptr_t count(ck_coroutine *co, uintptr_t n) {
//		for (uintptr_t i = 0; i < n; i++)
//			co->api->yield(co, i, NULL);
//		return n;
//	}
func ExampleNew() {
	c, err := ctx.New(cabi.Count, 3, ctx.WithName("counter"))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	for c.Status() != ctx.Dead {
		v, _, err := c.Resume(0)
		fmt.Println(v, c.Status(), err)
	}
	_, _, err = c.Resume(0)
	fmt.Println(errors.Is(err, ctx.ErrDead))
	// Output:
	// 0 suspended <nil>
	// 1 suspended <nil>
	// 2 suspended <nil>
	// 3 dead <nil>
	// true
}

// A Go function called from native code running on a coroutine stack. The
// body is cabi.Call6, which calls a[0](a[1], ..., a[6]) and returns the
// result.
var addArgs [7]uintptr // native code reads it by address: a global never moves

func ExampleNewCallback() {
	add, err := ctx.NewCallback(func(a, b uintptr) uintptr { return a + b })
	if err != nil {
		panic(err)
	}
	addArgs = [7]uintptr{add, 40, 2}
	c, err := ctx.New(cabi.Call6, uintptr(unsafe.Pointer(&addArgs)))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	v, _, err := c.Resume(0)
	fmt.Println(v, err)
	// Output: 42 <nil>
}
