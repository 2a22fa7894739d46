package corokernel_test

import (
	"os"
	"runtime"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// TestJumpPingPong makes a context running cabi.Pong, which echoes every
// word back, and checks the transfers both ways.
func TestJumpPingPong(t *testing.T) {
	stack, err := unix.Mmap(-1, 0, 64<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(stack)
	top := uintptr(unsafe.Pointer(&stack[len(stack)-1])) + 1
	c := corokernel.MakeContext(top, uintptr(len(stack)), cabi.Pong)
	if c == 0 || uintptr(c) >= top || uintptr(c) < top-256 {
		t.Fatalf("MakeContext = %#x, want just below the top %#x", c, top)
	}
	// The first jump hands Pong the jump function; it jumps straight back.
	tr := corokernel.Jump(c, corokernel.JumpContextFn)
	if tr.From == 0 || tr.Data != 0 {
		t.Fatalf("first jump: %+v", tr)
	}
	for i := uintptr(1); i <= 100; i++ {
		tr = corokernel.Jump(tr.From, i*3)
		if tr.Data != i*3 {
			t.Fatalf("round trip %d: got %d, want %d", i, tr.Data, i*3)
		}
		if uintptr(tr.From) < top-64<<10 || uintptr(tr.From) >= top {
			t.Fatalf("from context %#x outside the stack", tr.From)
		}
	}
}

// TestJumpLoop runs round trips entirely in native code, the shape of the
// native benchmark.
func TestJumpLoop(t *testing.T) {
	stack, err := unix.Mmap(-1, 0, 64<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(stack)
	top := uintptr(unsafe.Pointer(&stack[len(stack)-1])) + 1
	a := struct{ j, ctx, n, init uintptr }{corokernel.JumpContextFn, uintptr(corokernel.MakeContext(top, 64<<10, cabi.Pong)), 1000, 1}
	corokernel.Call(cabi.JumpLoop, unsafe.Pointer(&a))
	if a.init != 0 || a.ctx == 0 {
		t.Fatalf("loop did not run: %+v", a)
	}
	ctx1 := a.ctx
	a.n = 10
	corokernel.Call(cabi.JumpLoop, unsafe.Pointer(&a))
	if a.ctx != ctx1 {
		t.Fatalf("Pong's context moved from %#x to %#x: its frame should be stable", ctx1, a.ctx)
	}
}

// TestBTIBody runs a native ping-pong loop built for arm64 branch
// protection (tests/testdata/bti_body.c, -mbranch-protection=standard
// -Wl,-z,force-bti) on the machine layer's switch. tests/TestBTI builds
// the library and runs this test under qemu-aarch64 -cpu max, which
// enforces BTI: resuming the C code with an indirect jump instead of a
// return dies of SIGILL.
func TestBTIBody(t *testing.T) {
	lib := os.Getenv("CK_BTI_LIB")
	if lib == "" {
		t.Skip("run by tests/TestBTI, under qemu-aarch64 -cpu max with a C body built for BTI")
	}
	h, err := purego.Dlopen(lib, purego.RTLD_NOW)
	if err != nil {
		t.Fatal(err)
	}
	loop, err := purego.Dlsym(h, "bti_loop")
	if err != nil {
		t.Fatal(err)
	}
	stack, err := unix.Mmap(-1, 0, 64<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(stack)
	a := &struct{ make, jump, top, size, n, ret uintptr }{
		corokernel.MakeContextFn, corokernel.JumpContextFn,
		uintptr(unsafe.Pointer(&stack[len(stack)-1])) + 1, uintptr(len(stack)), 1000, 0,
	}
	var pin runtime.Pinner
	pin.Pin(a)
	defer pin.Unpin()
	corokernel.Call(loop, unsafe.Pointer(a))
	if a.ret != 1000 {
		t.Fatalf("bti_loop = %d, want 1000 round trips", a.ret)
	}
}
