package ctx_test

// Races on one coroutine: resumes and closes from many goroutines at
// once, and Close's cancel.

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
)

// TestRacingResume: eight goroutines resume one coroutine at once; every
// successful Resume gets back its own word, the others ErrRunning. (Echo
// holds no thread state: WithAnyThread lets every goroutine's thread run
// it; TestThreadBound has the default.)
func TestRacingResume(t *testing.T) {
	c := mustNew(t, cabi.Echo, 0, ctx.WithAnyThread())
	c.Resume(0) // started: it now echoes
	raceResumes(t, c, 8)
}

// raceResumes resumes c, an Echo body, 20000 times from each of n
// goroutines at once: every Resume that is not refused with ErrRunning
// must get its own word back.
func raceResumes(t *testing.T, c *ctx.Coroutine, n int) {
	t.Helper()
	var ok, busy, wrong atomic.Int64
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for i := range 20000 {
				in := uintptr(g)<<32 | uintptr(i)
				out, done, err := c.Resume(in)
				switch {
				case errors.Is(err, ctx.ErrRunning):
					busy.Add(1)
				case err != nil || done || out != in:
					wrong.Add(1)
				default:
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d resumes got their word, %d refused", ok.Load(), busy.Load())
	if wrong.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d resumes got another call's word or failed (%d right)", wrong.Load(), ok.Load())
	}
}

// TestRacingClose: Close races Resumes on the same coroutine. Exactly one
// Close succeeds, no Resume succeeds after it returned, and coroutines
// that get the recycled stacks run undisturbed.
func TestRacingClose(t *testing.T) {
	rounds := 2000
	if testing.Short() {
		rounds = 300
	}
	for r := range rounds {
		c, err := ctx.New(cabi.Count, 0, ctx.WithAnyThread())
		if err != nil {
			t.Fatal(err)
		}
		var closed atomic.Bool
		var closes, lateResumes atomic.Int64
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					if g == 0 {
						if i == 0 { // close, as soon as the Resumes let it
							for {
								err := c.Close()
								if err == nil {
									closes.Add(1)
									closed.Store(true)
									break
								}
								if !errors.Is(err, ctx.ErrRunning) {
									t.Errorf("Close before any success = %v", err)
									break
								}
							}
						} else if c.Close() == nil {
							closes.Add(1)
						}
						continue
					}
					wasClosed := closed.Load()
					if _, _, err := c.Resume(0); err == nil && wasClosed {
						lateResumes.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if closes.Load() != 1 || lateResumes.Load() != 0 {
			t.Fatalf("round %d: %d successful Closes, %d Resumes after Close; want 1 and 0", r, closes.Load(), lateResumes.Load())
		}
		d, err := ctx.New(cabi.Count, 2)
		if err != nil {
			t.Fatal(err)
		}
		for want := uintptr(0); want <= 2; want++ {
			if v, done, err := d.Resume(0); err != nil || v != want || done != (want == 2) {
				t.Fatalf("round %d: coroutine on a recycled stack: %d, %v, %v; want %d", r, v, done, err, want)
			}
		}
		d.Close()
	}
}

// TestCancel: Close of a body suspended in yield resumes it with
// CK_ECANCELED; a body never started is not run; one that yields again is
// abandoned and its stack reused.
func TestCancel(t *testing.T) {
	last := new(int64)
	var pin runtime.Pinner
	pin.Pin(last)
	defer pin.Unpin()
	c, _ := ctx.New(cabi.Echo, uintptr(unsafe.Pointer(last)))
	for in := uintptr(1); in <= 2; in++ {
		if v, done, err := c.Resume(in); err != nil || done || v != in {
			t.Fatalf("echo %d = %d, %v, %v", in, v, done, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if *last != -125 {
		t.Fatalf("the body's yield returned %d on Close, want CK_ECANCELED (-125)", *last)
	}
	if s := c.Status(); s != ctx.Dead {
		t.Fatalf("closed coroutine is %v", s)
	}

	*last = 0
	fresh, _ := ctx.New(cabi.Echo, uintptr(unsafe.Pointer(last)))
	if err := fresh.Close(); err != nil || *last != 0 {
		t.Fatalf("Close of a never-started body = %v, and it ran (last %d)", err, *last)
	}

	stubborn, _ := ctx.New(cabi.Count, 0) // ignores what yield returns
	stubborn.Resume(0)
	if err := stubborn.Close(); err != nil {
		t.Fatalf("Close of a body that yields again = %v, want nil (abandoned)", err)
	}
	d := mustNew(t, cabi.Count, 1)
	if v, _, err := d.Resume(0); err != nil || v != 0 {
		t.Fatalf("after an abandoned body: %d, %v", v, err)
	}
}
