package ctx_test

import (
	"runtime"
	"testing"

	"github.com/corokernel/corokernel/internal/cabi"
)

// TestFPControlPreserved: a body that changes the floating-point control
// state (rounding toward zero and flush-to-zero; on amd64 the x87 rounding
// too) keeps it across its yields, and the change never leaks into the
// resumer. The switch restores control bits only where they differ, and
// never MXCSR's status flags.
func TestFPControlPreserved(t *testing.T) {
	var ctl uintptr
	switch runtime.GOARCH {
	case "amd64":
		ctl = 0xff80 | 0x0c7f<<32 // MXCSR: RC toward zero, FTZ, all masked; x87 CW: RC truncate
	case "arm64":
		ctl = 3<<22 | 1<<24 // FPCR: RMode toward zero, FZ
	default:
		t.Skip("no FP control test for", runtime.GOARCH)
	}
	runtime.LockOSThread() // FPControl must read the thread that resumed
	defer runtime.UnlockOSThread()
	before := cabi.FPControl()
	if before == ctl {
		t.Fatalf("the thread's FP control is already %#x", ctl)
	}
	c := mustNew(t, cabi.FPBody, ctl)
	for i := range 3 {
		v, done, err := c.Resume(0)
		if err != nil || done != (i == 2) {
			t.Fatalf("resume %d: done %v, %v", i, done, err)
		}
		if v != ctl {
			t.Fatalf("resume %d: the body's FP control is %#x, want its own %#x", i, v, ctl)
		}
		if now := cabi.FPControl(); now != before {
			t.Fatalf("resume %d: the resumer's FP control is %#x, want %#x: the body's leaked", i, now, before)
		}
	}
}
