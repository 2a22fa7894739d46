package ctx_test

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
)

// fpOther is a floating-point control state no Go program starts with:
// rounding toward zero and flush-to-zero (on amd64 the x87 rounding too).
func fpOther(t *testing.T) uintptr {
	switch runtime.GOARCH {
	case "amd64":
		return 0xff80 | 0x0c7f<<32 // MXCSR: RC toward zero, FTZ, all masked; x87 CW: RC truncate
	case "arm64":
		return 3<<22 | 1<<24 // FPCR: RMode toward zero, FZ
	}
	t.Skip("no FP control test for", runtime.GOARCH)
	return 0
}

// fpArgs is FPBody's argument block. It lives in a package variable so
// that it is on the heap, where it does not move while the body reads it.
var fpArgs [2]uintptr

// TestFPControlPreserved: a body that changes the floating-point control
// state keeps it across its yields, and the change never leaks into the
// resumer, for a resume through cgocall and a direct one, and for both
// ways amd64 restores the control words (compared first, as on Intel, or
// loaded always, as on AMD). A resume from Go does not read Go's state
// but knows it.
func TestFPControlPreserved(t *testing.T) {
	ctx.FPRestoreModes(func(restore string) { t.Run(restore, testFPControlPreserved) })
}

func testFPControlPreserved(t *testing.T) {
	ctl := fpOther(t)
	for _, mode := range []struct {
		name string
		opts []ctx.Option
	}{{"go-driven", nil}, {"direct", []ctx.Option{ctx.WithDirect()}}} {
		t.Run(mode.name, func(t *testing.T) {
			runtime.LockOSThread() // FPState must read the thread that resumed
			defer runtime.UnlockOSThread()
			before := ctx.FPState()
			if before == ctl {
				t.Fatalf("the thread's FP control is already %#x", ctl)
			}
			fpArgs = [2]uintptr{ctl, 0}
			c := mustNew(t, cabi.FPBody, uintptr(unsafe.Pointer(&fpArgs)), mode.opts...)
			for i := range 3 {
				v, done, err := c.Resume(0)
				if err != nil || done != (i == 2) {
					t.Fatalf("resume %d: done %v, %v", i, done, err)
				}
				if v != ctl {
					t.Fatalf("resume %d: the body's FP control is %#x, want its own %#x", i, v, ctl)
				}
				if now := ctx.FPState(); now != before {
					t.Fatalf("resume %d: the resumer's FP control is %#x, want %#x: the body's leaked", i, now, before)
				}
			}
		})
	}
}

// TestFPControlCallback: a Go callback from a body that changed the
// floating-point control state runs with Go's state, not the body's (Go's
// arithmetic assumes it), and the body has its own back when the callback
// returns, even when the callback resumed another coroutine from Go.
func TestFPControlCallback(t *testing.T) {
	ctx.FPRestoreModes(func(restore string) { t.Run(restore, testFPControlCallback) })
}

func testFPControlCallback(t *testing.T) {
	ctl := fpOther(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := ctx.FPState()
	var seen []uintptr
	inner := mustNew(t, cabi.Count, 0)
	cb, err := ctx.NewCallback(func() uintptr {
		seen = append(seen, ctx.FPState())
		if _, _, err := inner.Resume(0); err != nil {
			t.Errorf("inner resume: %v", err)
		}
		return 0
	})
	if err != nil {
		t.Fatal(err)
	}
	fpArgs = [2]uintptr{ctl, cb}
	c := mustNew(t, cabi.FPBody, uintptr(unsafe.Pointer(&fpArgs)))
	for i := range 3 {
		v, done, err := c.Resume(0)
		if err != nil || done != (i == 2) {
			t.Fatalf("resume %d: done %v, %v", i, done, err)
		}
		if v != ctl {
			t.Fatalf("resume %d: after the callback the body's FP control is %#x, want its own %#x", i, v, ctl)
		}
		if now := ctx.FPState(); now != before {
			t.Fatalf("resume %d: the resumer's FP control is %#x, want %#x", i, now, before)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("the callback ran %d times, want 3", len(seen))
	}
	for i, s := range seen {
		if s != before {
			t.Errorf("callback %d ran with FP control %#x, want Go's %#x", i, s, before)
		}
	}
}
