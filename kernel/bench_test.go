//go:build linux

package kernel

import (
	"context"
	"errors"
	"fmt"
	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/cabi"
	"iter"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/corokernel/corokernel/internal/echoload"
	"golang.org/x/sys/unix"
)

// yielder is a step machine that yields n times, then exits.
type yielder struct{ n int }

func (y *yielder) Step(int64) Trap {
	if y.n == 0 {
		return Exit(0)
	}
	y.n--
	return Trap{Op: OpYield}
}

// BenchmarkTrap measures one Yield trap and the reschedule that follows,
// per task kind, with 1 and 1000 tasks ready; iter.Pull is a bare
// coroutine round trip, the floor for Go tasks.
func BenchmarkTrap(b *testing.B) {
	kinds := []struct {
		name string
		task func(n int) Task
	}{
		{"step", func(n int) Task { return Step(&yielder{n}) }},
		{"go", func(n int) Task {
			return Go(func(s *Sys) {
				for range n {
					s.Yield()
				}
			})
		}},
		{"native", func(n int) Task { return Native(cabi.YieldN, uintptr(n)) }},
	}
	for _, kind := range kinds {
		for _, ready := range []int{1, 1000} {
			b.Run(fmt.Sprintf("%s/ready=%d", kind.name, ready), func(b *testing.B) {
				k := New()
				for i := range ready {
					n := b.N / ready
					if i < b.N%ready {
						n++
					}
					k.Spawn(kind.task(n))
				}
				b.ReportAllocs()
				b.ResetTimer()
				if err := k.Run(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
	b.Run("iter.Pull", func(b *testing.B) {
		next, stop := iter.Pull(func(yield func(struct{}) bool) {
			for yield(struct{}{}) {
			}
		})
		defer stop()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			next()
		}
	})
	// The same round trips spread over 1000 coroutines in turn: the
	// floor for go/ready=1000, which touches 1000 coroutine stacks.
	b.Run("iter.Pull.ready=1000", func(b *testing.B) {
		var nexts []func() (struct{}, bool)
		for range 1000 {
			next, stop := iter.Pull(func(yield func(struct{}) bool) {
				for yield(struct{}{}) {
				}
			})
			defer stop()
			nexts = append(nexts, next)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			nexts[i%1000]()
		}
	})
}

// BenchmarkSpawn measures NewTask of a task that exits at once, per kind.
func BenchmarkSpawn(b *testing.B) {
	b.Run("step", func(b *testing.B) {
		child := StepFunc(func(int64) Trap { return Exit(0) })
		i := 0
		k := New()
		k.Spawn(Step(StepFunc(func(int64) Trap {
			if i == b.N {
				return Exit(0)
			}
			i++
			return NewTask(Step(child))
		})))
		b.ReportAllocs()
		b.ResetTimer()
		if err := k.Run(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("go", func(b *testing.B) {
		child := func(*Sys) {}
		k := New()
		k.Spawn(Go(func(s *Sys) {
			for range b.N {
				s.NewTask(Go(child))
			}
		}))
		b.ReportAllocs()
		b.ResetTimer()
		if err := k.Run(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkTaskMemory reports the memory (heap and stacks in use) per task
// with 100,000 tasks asleep.
func BenchmarkTaskMemory(b *testing.B) {
	const n = 100_000
	for _, kind := range []struct {
		name string
		task func() Task
	}{
		{"step", func() Task { return Step(&killRecorder{trap: Sleep(time.Hour)}) }},
		{"go", func() Task { return Go(func(s *Sys) { s.Sleep(time.Hour) }) }},
	} {
		b.Run(kind.name, func(b *testing.B) {
			var sum float64
			for range b.N {
				var m0, m1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m0)
				k := New()
				for range n {
					k.Spawn(kind.task())
				}
				// The last task runs when all the others sleep.
				k.Spawn(Go(func(s *Sys) {
					runtime.GC()
					runtime.ReadMemStats(&m1)
					k.Stop()
				}))
				if err := k.Run(); err != nil {
					b.Fatal(err)
				}
				used := int64(m1.HeapInuse+m1.StackInuse) - int64(m0.HeapInuse+m0.StackInuse)
				sum += float64(used) / n
			}
			b.ReportMetric(sum/float64(b.N), "bytes/task")
		})
	}
}

// BenchmarkPoll measures one I/O round trip through the poller (a byte
// written to a pipe, ReadWait, read) while other tasks wait on idle fds:
// select and poll pay for every idle fd on every wait, epoll does not.
func BenchmarkPoll(b *testing.B) {
	for _, poller := range Pollers() {
		for _, idle := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/fds=%d", poller, idle), func(b *testing.B) {
				benchPoll(b, poller, idle)
			})
		}
	}
}

func benchPoll(b *testing.B, poller string, idle int) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	ar, aw := p[0], p[1]
	defer unix.Close(ar)
	defer unix.Close(aw)
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	k := New(withPoller(poller))
	for range idle {
		fd, err := unix.FcntlInt(uintptr(p[0]), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		k.Spawn(Step(&killRecorder{trap: ReadWait(fd)}))
	}
	buf := []byte{0}
	i, waited := 0, false
	k.Spawn(Step(StepFunc(func(r int64) Trap {
		if r < 0 {
			b.Errorf("ReadWait: %v", Err(r))
		}
		if waited {
			unix.Read(ar, buf)
			i++
		}
		if i == b.N {
			k.Stop()
			return Exit(0)
		}
		unix.Write(aw, buf)
		waited = true
		return ReadWait(ar)
	})))
	b.ResetTimer()
	if err := k.Run(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEcho measures echo throughput at 200 connections for each task
// kind and poller, against a goroutine-per-connection net server. An op is
// one 16 KiB message echoed and checked.
func BenchmarkEcho(b *testing.B) {
	for _, kind := range []string{"go", "step", "native"} {
		for _, poller := range Pollers() {
			b.Run(kind+"/"+poller, func(b *testing.B) {
				server := GoEchoServer
				switch kind {
				case "step":
					server = StepEchoServer
				case "native":
					fn, err := cdemo.EchoServer()
					if errors.Is(err, cdemo.ErrNoCompiler) {
						b.Skip(err)
					}
					if err != nil {
						b.Fatal(err)
					}
					server = func(fd int) Task { return Native(fn, uintptr(fd)) }
				}
				lfd, addr, err := Listen("127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				k := New(withPoller(poller))
				k.Spawn(server(lfd))
				done := make(chan error)
				go func() { done <- k.Run() }()
				benchLoad(b, addr)
				k.Stop()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
	b.Run("net", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		stop := echoload.Serve(l, echoBufSize, nil)
		benchLoad(b, l.Addr().String())
		stop()
	})
}

// benchLoad runs b.N messages of 16 KiB over 200 connections to addr.
func benchLoad(b *testing.B, addr string) {
	const conns, size = 200, 16 << 10
	b.SetBytes(size)
	b.ResetTimer()
	st, err := echoload.Run(context.Background(), echoload.Config{
		Addr: addr, Conns: conns, Msgs: (b.N + conns - 1) / conns,
		MinSize: size, MaxSize: size, Seed: 1,
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if st.Bytes < int64(b.N)*size {
		b.Fatalf("echoed %d bytes, want %d", st.Bytes, int64(b.N)*size)
	}
}
