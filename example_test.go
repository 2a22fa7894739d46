package corokernel_test

import (
	"fmt"
	"unsafe"

	"github.com/corokernel/corokernel"
	"golang.org/x/sys/unix"
)

// A context on a hand-made stack, running EchoFn: every jump to it comes
// straight back with the word it carried.
func ExampleJump() {
	stack, err := unix.Mmap(-1, 0, 64<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		panic(err)
	}
	defer unix.Munmap(stack)
	top := uintptr(unsafe.Pointer(&stack[0])) + uintptr(len(stack))
	c := corokernel.MakeContext(top, uintptr(len(stack)), corokernel.EchoFn)
	for _, w := range []uintptr{1, 2, 3} {
		t := corokernel.Jump(c, w*10) // EchoFn jumps straight back with the word
		c = t.From
		fmt.Println(t.Data)
	}
	// Output:
	// 10
	// 20
	// 30
}
