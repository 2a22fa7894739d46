package expat_test

// Hostile input: many attributes, readers that lie or fail, a huge token,
// Goexit inside Walk.

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corokernel/corokernel/expat"
)

// manyAttrs is an element with n attributes a0="v0" ... and nothing else.
func manyAttrs(n int) string {
	var b strings.Builder
	b.WriteString("<e")
	for i := range n {
		fmt.Fprintf(&b, ` a%d="v%d"`, i, i)
	}
	b.WriteString("/>")
	return b.String()
}

// TestManyAttributes: on one element with 100,000 attributes, Get of the
// last, Attr over all and Clone are right, and the accessors cost one
// pass over the attributes, not one per attribute: ten times the
// attributes takes about ten times as long (the fastest of three runs of
// each size, in one test; quadratic accessors made it a hundred, 3-4 s
// for the larger). Clone, which allocates, is checked but not timed.
func TestManyAttributes(t *testing.T) {
	need(t)
	work := func(n int) time.Duration {
		doc := manyAttrs(n)
		d := time.Duration(math.MaxInt64)
		for ev, err := range expat.Events(strings.NewReader(doc)) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != expat.Start {
				continue
			}
			last := fmt.Sprintf("a%d", n-1)
			for range 3 {
				start := time.Now()
				if v, ok := ev.Get(last); !ok || string(v) != fmt.Sprintf("v%d", n-1) {
					t.Fatalf("Get(%s) = %q, %v", last, v, ok)
				}
				for i := range ev.NumAttrs() {
					if k, _ := ev.Attr(i); len(k) == 0 {
						t.Fatalf("attribute %d has no name", i)
					}
				}
				d = min(d, time.Since(start))
			}
			if c := ev.Clone(); c.NumAttrs() != n {
				t.Fatalf("Clone has %d attributes of %d", c.NumAttrs(), n)
			}
		}
		return d
	}
	work(1000) // warm-up
	small, large := work(10_000), work(100_000)
	t.Logf("10,000 attributes: %v; 100,000: %v (%.1fx)", small, large, float64(large)/float64(small))
	if large > 40*small {
		t.Fatalf("ten times the attributes took %.0f times as long: the accessors are not linear", float64(large)/float64(small))
	}
}

// partialReader returns its data in one Read together with err.
type partialReader struct {
	data []byte
	err  error
	done bool
}

func (r *partialReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, r.err
	}
	r.done = true
	return copy(p, r.data), r.err
}

// liar claims more bytes than the buffer holds.
type liar struct{}

func (liar) Read(p []byte) (int, error) { return len(p) + 1, nil }

// TestReaderBytesWithError: a Reader may return bytes together with an
// error (io.Reader allows it): the bytes are parsed first, all their
// events delivered, then the error. A Reader that claims more bytes than
// it was given room for is refused with an error, on the Go side.
func TestReaderBytesWithError(t *testing.T) {
	need(t)
	boom := errors.New("boom")
	events := 0
	var last error
	for _, err := range expat.Events(&partialReader{data: []byte(`<a><b/><c>t</c>`), err: boom}) {
		if err != nil {
			last = err
			continue
		}
		events++
	}
	if events != 6 || !errors.Is(last, boom) {
		t.Fatalf("%d events, then %v; want 6 events, then boom", events, last)
	}
	for _, err := range expat.Events(liar{}) {
		if err == nil || !strings.Contains(err.Error(), "bytes for a") {
			t.Fatalf("a Reader that returns more than its buffer: %v", err)
		}
	}
}

// TestHugeTokenStall: a 24 MB attribute value is one token, which libexpat
// finishes in one call. In direct mode that call ran without a safe point,
// so a garbage collection waiting to stop the world held every goroutine
// for its whole length (about 150 ms for 24 MB, 430 ms for 64 MB). The
// chunks that follow a chunk's worth of input without an event are parsed
// through cgocall, where the runtime does not wait: a goroutine that
// sleeps 1 ms at a time, while collections run, is never held long.
func TestHugeTokenStall(t *testing.T) {
	need(t)
	if testing.Short() {
		t.Skip("parses 24 MB")
	}
	doc := `<a v="` + strings.Repeat("x", 24<<20) + `"><b/></a>`
	var stop atomic.Bool
	var worst atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			runtime.GC()
		}
	})
	wg.Go(func() {
		for !stop.Load() {
			start := time.Now()
			time.Sleep(time.Millisecond)
			if d := int64(time.Since(start)); d > worst.Load() {
				worst.Store(d)
			}
		}
	})
	events := 0
	for _, err := range expat.Events(strings.NewReader(doc)) {
		if err != nil {
			t.Fatal(err)
		}
		events++
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d events; the longest 1 ms sleep took %v", events, time.Duration(worst.Load()))
	if events != 4 {
		t.Fatalf("%d events, want 4", events)
	}
	if w := time.Duration(worst.Load()); w > 100*time.Millisecond {
		t.Fatalf("a 1 ms sleep took %v while a 24 MB token was parsed: the parse held the collector", w)
	}
}

// TestWalkGoexit: runtime.Goexit in Walk's function (t.FailNow does it),
// 20,000 times, keeps no C memory: the function runs while the parser is
// suspended, not inside libexpat's frames, so the parser is freed whole.
// (Abandoned in the middle of a call, libexpat 2.5 leaked 70 KB of each
// parser: 176 MB here.)
func TestWalkGoexit(t *testing.T) {
	need(t)
	if os.Getenv("CK_EXEC_WRAPPER") != "" {
		t.Skip("under emulation the RSS is the emulator's")
	}
	ran := 0
	walk := func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			expat.Walk(strings.NewReader("<a><b/><c/></a>"), func(*expat.Event) error {
				ran++
				runtime.Goexit()
				return nil
			})
		}()
		<-done
	}
	for range 2000 {
		walk()
	}
	debug.FreeOSMemory()
	base := rssKiB(t)
	for range 20000 {
		walk()
	}
	debug.FreeOSMemory()
	grew := rssKiB(t) - base
	t.Logf("RSS %+d KiB over 20,000 Walks ended by Goexit", grew)
	if ran != 22000 || grew > 16<<10 {
		t.Fatalf("%d functions ran; RSS grew by %d KiB over 20,000 Walks ended by Goexit", ran, grew)
	}
}

// TestEventsInGoCoroutine: an Events loop inside one of the runtime's
// coroutines (iter.Pull), made on a goroutine locked to its thread as a
// kernel's Go tasks are, yields every event. The loop must not lock the
// thread there: the runtime ends the process ("coro: OS thread locking
// must match") at the coroutine's next switch if it does.
func TestEventsInGoCoroutine(t *testing.T) {
	need(t)
	done := make(chan []string)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		next, stop := iter.Pull(func(yield func(string) bool) {
			for ev, err := range expat.Events(strings.NewReader("<a><b>x</b><c/></a>")) {
				if err != nil {
					yield("error: " + err.Error())
					return
				}
				if !yield(fmt.Sprint(ev.Kind, string(ev.Name), string(ev.Text))) { // a switch per event
					return
				}
			}
		})
		defer stop()
		var got []string
		for {
			s, ok := next()
			if !ok {
				break
			}
			got = append(got, s)
		}
		done <- got
	}()
	got := <-done
	if len(got) != 7 {
		t.Errorf("events through the coroutine: %q, want 7", got)
	}
}
