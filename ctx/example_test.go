package ctx_test

import (
	"cmp"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/ebitengine/purego"
)

// libcSym looks up a function of the C library.
func libcSym(name string) uintptr {
	h, err := purego.Dlopen("libc.so.6", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		panic(err)
	}
	p, err := purego.Dlsym(h, name)
	if err != nil {
		panic(err)
	}
	return p
}

// Any C function runs on a coroutine of its own: here libc's labs.
func ExampleNewCall() {
	c, err := ctx.NewCall(libcSym("labs"), []uintptr{^uintptr(41)}) // labs(-42)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	v, done, err := c.Resume(0)
	fmt.Println(v, done, err, c.Status())
	// Output: 42 true <nil> dead
}

// libc's qsort, on a coroutine, asks a Go loop for every comparison: the
// comparator it calls is YieldFunc, and each call is one iteration.
func ExampleCalls() {
	xs := []int32{5, 3, 8, 1, 9, 2}
	var pin runtime.Pinner // qsort holds the slice's address
	pin.Pin(&xs[0])
	defer pin.Unpin()
	asked := 0
	for call, err := range ctx.Calls(libcSym("qsort"), uintptr(unsafe.Pointer(&xs[0])), uintptr(len(xs)), 4, ctx.YieldFunc()) {
		if err != nil {
			panic(err)
		}
		a, b := *(*int32)(call.Ptr(0)), *(*int32)(call.Ptr(1))
		call.Return(uintptr(cmp.Compare(a, b))) // the comparator's int result
		asked++
	}
	fmt.Println(xs, asked > 0)
	// Output: [1 2 3 5 8 9] true
}

// A Go function called from native code running on a coroutine stack:
// qsort on a coroutine with a Go comparator.
func ExampleNewCallback() {
	less, err := ctx.NewCallback(func(a, b *int32) int { return cmp.Compare(*a, *b) })
	if err != nil {
		panic(err)
	}
	xs := []int32{4, 2, 7, 1}
	var pin runtime.Pinner
	pin.Pin(&xs[0])
	defer pin.Unpin()
	c, err := ctx.NewCall(libcSym("qsort"), []uintptr{uintptr(unsafe.Pointer(&xs[0])), uintptr(len(xs)), 4, less})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_, done, err := c.Resume(0)
	fmt.Println(xs, done, err)
	// Output: [1 2 4 7] true <nil>
}

// A pull loop over libc's qsort of an array of C strings: the comparator
// is a yield function, and the loop answers each comparison. Pins hands
// qsort Go memory, and StringAt reads the strings each comparator
// argument points at; nothing here needs unsafe.
func ExampleNewLoop() {
	var pins ctx.Pins
	defer pins.Unpin()
	words := map[uintptr]string{}
	var array []uintptr // char *array[]: the C strings
	for _, w := range []string{"pear", "fig", "apple", "kiwi"} {
		p := pins.String(w)
		words[p] = w
		array = append(array, p)
	}
	// void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
	loop := ctx.NewLoop(libcSym("qsort"), []uintptr{pins.Words(array), uintptr(len(array)), 8, ctx.YieldFunc()})
	comparisons := 0
	for call, err := range loop.Calls() {
		if err != nil {
			panic(err)
		}
		// a and b point at two elements, each a char *.
		call.ReturnInt(cmp.Compare(call.StringAt(0, 0), call.StringAt(1, 0)))
		comparisons++
	}
	var sorted []string // qsort sorted array, in place
	for _, p := range array {
		sorted = append(sorted, words[p])
	}
	fmt.Println(strings.Join(sorted, " "))
	fmt.Println("qsort returned:", loop.Result().Returned, "after comparisons:", comparisons > 0)
	// Output:
	// apple fig kiwi pear
	// qsort returned: true after comparisons: true
}
