package measure

import (
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/kctx"
	"github.com/corokernel/corokernel/kernel"
	"golang.org/x/sys/unix"
)

// This file measures the memory of suspended coroutines and tasks: the
// growth of what is in use while n of them wait, divided by n. Go's own
// coroutines are counted in the Go heap and stacks; stacks the runtime
// does not know about (mmap'd by ctx, fcontext or ucontext), in the
// process's resident set.

// perInstance returns how much used grows per instance while the n
// instances that create makes are alive; create returns what releases
// them.
func perInstance(n int, used func() (int64, error), create func() (release func(), err error)) (float64, error) {
	settle()
	u0, err := used()
	if err != nil {
		return 0, err
	}
	release, err := create()
	if err != nil {
		return 0, err
	}
	defer release()
	settle()
	u1, err := used()
	return float64(u1-u0) / float64(n), err
}

// settle collects garbage, lets the cleanups that collection queued run
// (ctx coroutines' cleanups free memory of their own), and collects again,
// giving every free page back to the system: memory freed by earlier work
// must not vanish (or the scavenger give it back) during a count.
func settle() {
	runtime.GC()
	time.Sleep(2 * time.Millisecond)
	debug.FreeOSMemory()
}

// goInUse returns the bytes of live Go heap objects (just after a
// collection) and of goroutine stacks.
func goInUse() (int64, error) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse), nil
}

// rss returns the process's resident set size.
func rss() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, Unavailable("no /proc/self/statm for the resident set size")
	}
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()), err
}

// pullBytes returns the Go heap and stack held by each of n suspended
// iter.Pull coroutines.
func pullBytes(n int) (float64, error) {
	nexts := make([]func() (uintptr, bool), n)
	stops := make([]func(), n)
	return perInstance(n, goInUse, func() (func(), error) {
		for i := range n {
			nexts[i], stops[i] = iter.Pull(count)
			nexts[i]()
		}
		return func() {
			for _, stop := range stops {
				stop()
			}
		}, nil
	})
}

// channelBytes returns the Go heap and stack held by each of n goroutines
// waiting for a request on a channel, with their two channels.
func channelBytes(n int) (float64, error) {
	reqs := make([]chan struct{}, n)
	return perInstance(n, goInUse, func() (func(), error) {
		for i := range n {
			req, resp := make(chan struct{}), make(chan uintptr)
			go serve(req, resp)
			req <- struct{}{}
			<-resp
			reqs[i] = req
		}
		return func() {
			for _, req := range reqs {
				close(req)
			}
		}, nil
	})
}

// stepBytes returns the Go heap held by each of n suspended StepGens.
func stepBytes(n int) (float64, error) {
	return perInstance(n, goInUse, func() (func(), error) {
		gens := make([]StepGen, n)
		for i := range gens {
			gens[i].Next()
		}
		return func() { runtime.KeepAlive(gens) }, nil
	})
}

// plain makes ctx coroutines running the C-ABI function fn(co, arg).
func plain(fn, arg uintptr) func() (kctx.Coroutine, error) {
	return func() (kctx.Coroutine, error) {
		c, err := ctx.New(fn, arg)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// ctxBytes returns the resident memory held by each of n suspended ctx
// coroutines made by mk and resumed once.
func ctxBytes(n int, mk func() (kctx.Coroutine, error)) (float64, error) {
	runtime.LockOSThread() // the bodies are bound to the thread they ran on
	defer runtime.UnlockOSThread()
	cs := make([]kctx.Coroutine, 0, n)
	release := func() {
		for _, c := range cs {
			c.Close()
		}
	}
	return perInstance(n, rss, func() (func(), error) {
		for range n {
			c, err := mk()
			if err == nil {
				cs = append(cs, c)
				_, _, err = c.Resume(0)
			}
			if err != nil {
				release()
				return nil, err
			}
		}
		return release, nil
	})
}

// guardedStacks maps n stacks of size bytes, each with a PROT_NONE guard
// page below it, as ctx and boost's protected stacks have. (Without the
// guards, one large mapping could be backed by huge pages.)
func guardedStacks(n, size int) (mem []byte, stacks [][]byte, err error) {
	page := os.Getpagesize()
	mem, err = mapStack(n * (page + size))
	if err != nil {
		return nil, nil, err
	}
	for i := range n {
		s := mem[i*(page+size):][:page+size]
		if err := unix.Mprotect(s[:page], unix.PROT_NONE); err != nil {
			unix.Munmap(mem)
			return nil, nil, err
		}
		stacks = append(stacks, s[page:])
	}
	return mem, stacks, nil
}

// fcontextBytes returns the resident memory held by each of n contexts
// made by an fcontext-compatible make function on 64 KiB stacks,
// suspended in cabi.Pong.
func fcontextBytes(make, jump uintptr, n int) (float64, error) {
	return perInstance(n, rss, func() (func(), error) {
		mem, stacks, err := guardedStacks(n, 64<<10)
		if err != nil {
			return nil, err
		}
		for _, s := range stacks {
			newFcontext(make, jump, s)
		}
		return func() { unix.Munmap(mem) }, nil
	})
}

// ucontextBytes returns the resident memory held by each of n glibc
// ucontext coroutines with 64 KiB stacks, suspended in cabi.SwapBody.
func ucontextBytes(n int) (float64, error) {
	u, err := ucontextFuncs()
	if err != nil {
		return 0, err
	}
	return perInstance(n, rss, func() (func(), error) {
		mem, coros, err := guardedStacks(n+1, ucSize+ucStack)
		if err != nil {
			return nil, err
		}
		main := coros[0][:ucSize]
		for _, c := range coros[1:] {
			if _, err := newUcontext(u, main, c); err != nil {
				unix.Munmap(mem)
				return nil, err
			}
		}
		return func() { unix.Munmap(mem) }, nil
	})
}

// taskBytes returns the memory held by each of n kernel tasks of a kind,
// all asleep: the Go heap and stacks (kernel's BenchmarkTaskMemory counts
// heap spans in use rather than live objects), or the resident memory for
// kinds whose stacks the Go runtime does not allocate.
func taskBytes(kind TaskKind, n int) (float64, error) {
	use := goInUse
	if kind.RSS {
		use = rss
	}
	runtime.GC()
	u0, err := use()
	if err != nil {
		return 0, err
	}
	var u1 int64
	k := kernel.New()
	for range n {
		k.Spawn(kind.Sleeper())
	}
	// The last task runs when all the others sleep.
	k.Spawn(kernel.Go(func(s *kernel.Sys) {
		runtime.GC()
		u1, err = use()
		k.Stop()
	}))
	if err := k.Run(); err != nil {
		return 0, err
	}
	return float64(u1-u0) / float64(n), err
}
