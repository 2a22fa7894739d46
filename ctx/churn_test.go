package ctx_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
)

// rss returns the resident set size in bytes from /proc/self/statm.
func rss(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestChurn creates, runs and closes 1,000,000 coroutines, 1000 alive at a
// time (far more than the stack pool keeps), and checks that RSS after
// warm-up stays within a bound: stacks are pooled or unmapped, never
// leaked. In -short mode (the arm64 run under emulation) 100,000.
func TestChurn(t *testing.T) {
	runtime.LockOSThread() // 1000 suspended bodies, bound to this thread
	defer runtime.UnlockOSThread()
	total, live := 1_000_000, 1000
	if testing.Short() {
		total = 100_000
	}
	cs := make([]*ctx.Coroutine, live)
	round := func() {
		for i := range cs {
			c, err := ctx.New(cabi.Count, 2)
			if err != nil {
				t.Fatal(err)
			}
			cs[i] = c
		}
		for i, c := range cs {
			if v, _, err := c.Resume(0); err != nil || v != 0 {
				t.Fatalf("coroutine %d: %d, %v", i, v, err)
			}
		}
		for _, c := range cs {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; i < 5; i++ { // warm-up: pool, heap and thread blocks settle
		round()
	}
	base := rss(t)
	peak := base
	for n := 5 * live; n < total; n += live {
		round()
		peak = max(peak, rss(t))
	}
	const bound = 16 << 20
	t.Logf("RSS after warm-up %d KiB, peak over %d coroutines %d KiB (+%d KiB)",
		base>>10, total, peak>>10, (peak-base)>>10)
	if os.Getenv("CK_EXEC_WRAPPER") != "" {
		// Under qemu-user the RSS is the emulator's, which keeps state for
		// every mapping it has seen: the bound holds for the native run.
		t.Logf("under emulation (%s): RSS not checked", os.Getenv("CK_EXEC_WRAPPER"))
		return
	}
	if peak-base > bound {
		t.Fatalf("RSS grew by %d KiB over %d coroutines (bound %d KiB): stacks leak", (peak-base)>>10, total, bound>>10)
	}
}
