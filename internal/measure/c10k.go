package measure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/corokernel/corokernel/kernel"
	"golang.org/x/sys/unix"
)

// Seed 001's C10k problem: how much memory a server spends per idle
// connection, and its throughput with many connections open at once.

// C10KConns is the number of concurrent connections of the C10K
// measurements.
const C10KConns = 10_000

// ErrFDLimit is returned when the process may not open the fds a
// measurement needs (two per connection: the client's and the server's).
var ErrFDLimit = errors.New("measure: the fd limit (ulimit -n) is too low")

// RaiseFDLimit raises the soft limit on open files to what n connections
// need, up to the hard limit, or returns an error wrapping ErrFDLimit.
func RaiseFDLimit(n int) error {
	need := uint64(2*n + 256)
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur >= need {
		return nil
	}
	if rl.Max < need {
		return fmt.Errorf("%w: %d connections need %d fds, the hard limit is %d", ErrFDLimit, n, need, rl.Max)
	}
	rl.Cur = need
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("%w: setrlimit: %v", ErrFDLimit, err)
	}
	return nil
}

// A Server is an echo server running in this process on addr, until stop.
type Server struct {
	Addr string
	stop func() error
}

// Stop ends the server and waits for it.
func (s *Server) Stop() error { return s.stop() }

// StartKernel starts the kernel echo server made by server, under poller,
// on 127.0.0.1, port 0.
func StartKernel(server func(fd int) kernel.Task, poller string) (*Server, error) {
	fd, addr, err := kernel.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k := kernel.New(kernel.WithPoller(poller))
	k.Spawn(server(fd))
	done := make(chan error, 1)
	go func() { done <- k.Run() }()
	return &Server{Addr: addr, stop: func() error { k.Stop(); return <-done }}, nil
}

// StartNet starts package net's goroutine-per-connection echo server.
func StartNet() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { netEchoConn(c) })
		}
	})
	return &Server{Addr: l.Addr().String(), stop: func() error {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		return nil
	}}, nil
}

// Clients are n raw, blocking client sockets connected to one server:
// they cost the process no memory of their own but an fd each.
type Clients struct {
	fds []int
}

// Dial opens n connections to addr, all at once.
func Dial(addr string, n int) (*Clients, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	c := &Clients{}
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			c.fds = append(c.fds, fd)
			for {
				err = unix.Connect(fd, sa)
				if err != unix.EINTR {
					break
				}
			}
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("measure: connection %d of %d: %w", len(c.fds), n, err)
		}
	}
	return c, nil
}

// Echo sends msg on every connection, in turn, and checks that the same
// bytes come back.
func (c *Clients) Echo(msg []byte) error {
	buf := make([]byte, len(msg))
	for i, fd := range c.fds {
		if _, err := unix.Write(fd, msg); err != nil {
			return fmt.Errorf("measure: connection %d: write: %w", i, err)
		}
		for got := 0; got < len(buf); {
			n, err := unix.Read(fd, buf[got:])
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				return fmt.Errorf("measure: connection %d: read after %d bytes: %v", i, got, err)
			}
			got += n
		}
		if !bytes.Equal(buf, msg) {
			return fmt.Errorf("measure: connection %d: echoed bytes differ", i)
		}
	}
	return nil
}

// Close closes every connection.
func (c *Clients) Close() {
	for _, fd := range c.fds {
		unix.Close(fd)
	}
	c.fds = nil
}

// residentAfterGC returns the resident set size after a full collection
// that gives freed memory back.
func residentAfterGC() (int64, error) {
	runtime.GC()
	debug.FreeOSMemory()
	return rss()
}

// IdleConnBytes starts a server, opens conns connections to it, echoes
// 100 bytes on each and leaves them idle: it returns the resident memory
// the server holds per idle connection.
func IdleConnBytes(start func() (*Server, error), conns int) (float64, error) {
	if err := RaiseFDLimit(conns); err != nil {
		return 0, err
	}
	s, err := start()
	if err != nil {
		return 0, err
	}
	defer s.Stop()
	// Warm up: the server's first connection and the heap settle.
	if err := idleRound(s.Addr, 16); err != nil {
		return 0, err
	}
	base, err := residentAfterGC()
	if err != nil {
		return 0, err
	}
	c, err := Dial(s.Addr, conns)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.Echo(bytes.Repeat([]byte("0123456789"), 10)); err != nil {
		return 0, err
	}
	time.Sleep(20 * time.Millisecond) // every server task is back in its wait
	after, err := residentAfterGC()
	if err != nil {
		return 0, err
	}
	return float64(after-base) / float64(conns), nil
}

func idleRound(addr string, n int) error {
	c, err := Dial(addr, n)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Echo([]byte("warm"))
}

// C10KSize is the message size of ManyConnsEcho: small, so that ten
// thousand client connections fit in this process beside the server.
const C10KSize = 1 << 10

// ManyConnsEcho echoes n messages of C10KSize bytes, every byte checked,
// over conns connections open at once to the server, and returns the time
// n of them took.
func ManyConnsEcho(start func() (*Server, error), conns, n int) (time.Duration, error) {
	if err := RaiseFDLimit(conns); err != nil {
		return 0, err
	}
	s, err := start()
	if err != nil {
		return 0, err
	}
	defer s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return loadOn(ctx, s.Addr, conns, C10KSize, n)
}
