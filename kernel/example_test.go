package kernel_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/corokernel/corokernel/kernel"
	"golang.org/x/sys/unix"
)

// Go tasks are straight-line code: each method of Sys is a trap that
// looks like a blocking call. This is pyos5: main starts foo, lets it run
// for a while, and kills it.
func Example() {
	k := kernel.New(kernel.WithLog(os.Stdout))
	foo := kernel.Go(func(s *kernel.Sys) {
		mytid := s.GetTid()
		for {
			fmt.Println("I'm foo", mytid)
			s.Yield()
		}
	})
	k.Spawn(kernel.Go(func(s *kernel.Sys) {
		child := s.NewTask(foo)
		for range 3 {
			s.Yield()
		}
		s.KillTask(child)
		fmt.Println("main done")
	}))
	if err := k.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// I'm foo 2
	// I'm foo 2
	// I'm foo 2
	// Task 2 terminated
	// main done
	// Task 1 terminated
}

// A step task is a state machine: each call of its step function gets the
// result of the previous trap and returns the next one. This one waits
// for a child task, as pyos6 does.
func ExampleStep() {
	k := kernel.New(kernel.WithLog(os.Stdout))
	yielded := false
	child := kernel.Step(kernel.StepFunc(func(int64) kernel.Trap {
		if !yielded {
			yielded = true
			return kernel.Yield()
		}
		fmt.Println("child runs")
		return kernel.Exit(0)
	}))
	pc := 0
	k.Spawn(kernel.Step(kernel.StepFunc(func(r int64) kernel.Trap {
		pc++
		switch pc {
		case 1:
			return kernel.NewTask(child)
		case 2:
			fmt.Println("started task", r)
			return kernel.WaitTask(kernel.TID(r))
		}
		fmt.Println("child done")
		return kernel.Exit(0)
	})))
	k.Run()
	// Output:
	// started task 2
	// child runs
	// Task 2 terminated
	// child done
	// Task 1 terminated
}

// Call runs a step sub-machine on the caller's task and hands its exit
// value back as the trap's result: the trampoline of pyos8, here with
// Beazley's trampoline example, add(x, y).
func ExampleCall() {
	add := func(x, y int64) kernel.Task {
		return kernel.Step(kernel.StepFunc(func(int64) kernel.Trap {
			return kernel.Exit(x + y)
		}))
	}
	k := kernel.New()
	called := false
	k.Spawn(kernel.Step(kernel.StepFunc(func(r int64) kernel.Trap {
		if !called {
			called = true
			return kernel.Call(add(2, 2))
		}
		fmt.Println(r)
		return kernel.Exit(0)
	})))
	k.Run()
	// Output:
	// 4
}

// WithTrace shows every trap and its result, strace-style.
func ExampleWithTrace() {
	k := kernel.New(kernel.WithTrace(os.Stdout))
	k.Spawn(kernel.Go(func(s *kernel.Sys) {
		s.GetTid()
		s.Sleep(time.Millisecond)
		s.WaitTask(7)
	}))
	k.Run()
	// Output:
	// [1] GetTid() = 1
	// [1] Sleep(1ms) = 0
	// [1] WaitTask(7) = 0
	// [1] +++ exited +++
}

// Beazley's final example: pyos8's echo server, stopped after one
// client has been served.
func ExampleGoEchoServer() {
	lfd, addr, err := kernel.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	k := kernel.New(kernel.WithPoller("epoll"))
	k.Spawn(kernel.GoEchoServer(lfd))
	go func() {
		defer k.Stop()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		io.WriteString(c, "hello, pyos8")
		buf := make([]byte, 12)
		io.ReadFull(c, buf)
		fmt.Printf("echoed %q\n", buf)
	}()
	if err := k.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// echoed "hello, pyos8"
}

// The completion traps: RecvLent waits for data with no buffer of its
// own and gets the bytes in one the kernel lends; Send sends them back.
// The same program runs under every poller: "auto" is io_uring where it
// works (each trap one io_uring request), else epoll (the kernel makes
// the system calls itself).
func ExampleSys_RecvLent() {
	lfd, addr, err := kernel.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	k := kernel.New(kernel.WithPoller("auto"))
	k.Spawn(kernel.Go(func(s *kernel.Sys) {
		c, err := s.Accept(lfd)
		unix.Close(lfd)
		if err != nil {
			fmt.Println("accept:", err)
			return
		}
		defer unix.Close(c)
		for {
			b, err := s.RecvLent(c) // no buffer held while it waits
			if err != nil || len(b) == 0 {
				break
			}
			s.Send(c, b)
		}
		fmt.Println("peer closed")
	}))
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Println(err)
			return
		}
		io.WriteString(c, "ping")
		buf := make([]byte, 4)
		io.ReadFull(c, buf)
		fmt.Printf("echoed %q\n", buf)
		c.Close()
	}()
	if err := k.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// echoed "ping"
	// peer closed
}

// Under WithOwnedFDs a task closes what it waited on through the kernel
// (Sys.Close), and the epoll kernel keeps each fd registered across
// waits instead of re-arming it for every one. Here a reader waits on a
// pipe three times and closes it; a writer feeds it.
func ExampleWithOwnedFDs() {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		fmt.Println(err)
		return
	}
	r, w := p[0], p[1]
	k := kernel.New(kernel.WithPoller("epoll"), kernel.WithOwnedFDs())
	k.Spawn(kernel.Go(func(s *kernel.Sys) {
		buf := make([]byte, 16)
		for range 3 {
			if err := s.ReadWait(r); err != nil {
				fmt.Println(err)
				return
			}
			n, _ := unix.Read(r, buf)
			fmt.Printf("read %q\n", buf[:n])
		}
		fmt.Println("close:", s.Close(r))
	}))
	k.Spawn(kernel.Go(func(s *kernel.Sys) {
		for _, m := range []string{"a", "b", "c"} {
			s.Sleep(time.Millisecond)
			unix.Write(w, []byte(m))
		}
		unix.Close(w) // never waited on: any close will do
	}))
	if err := k.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// read "a"
	// read "b"
	// read "c"
	// close: <nil>
}
