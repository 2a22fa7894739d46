package measure

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/corokernel/corokernel/internal/echoload"
	"github.com/corokernel/corokernel/kernel"
	"golang.org/x/sys/unix"
)

// the C10k problem (Kegel): how much memory a server spends per idle
// connection, and its throughput with many connections open at once.

// C10KConns is the number of concurrent connections of the C10K
// measurements.
const C10KConns = 10_000

// minIdleConns is the fewest connections IdleConnBytes measures.
const minIdleConns = 2000

// ErrFDLimit is wrapped by the error of a measurement that may not open
// the fds it needs (two per connection: the client's and the server's);
// it also wraps ErrUnavailable.
var ErrFDLimit = fdLimitError{}

type fdLimitError struct{}

func (fdLimitError) Error() string        { return "the fd limit (ulimit -n) is too low" }
func (fdLimitError) Is(target error) bool { return target == ErrUnavailable }

// RaiseFDLimit raises the limit on open files to what n connections need
// on one side (the server's, or the client process's):
// the soft limit up to the hard one, and the hard one too where the
// process may (root may, up to fs.nr_open). It returns an error wrapping
// ErrFDLimit when it cannot.
func RaiseFDLimit(n int) error {
	need := uint64(n + 256)
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur >= need {
		return nil
	}
	want := unix.Rlimit{Cur: need, Max: max(rl.Max, need)}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err != nil {
		return fmt.Errorf("measure: %w: %d connections need %d fds, the limits are %d (soft) and %d (hard): %v", ErrFDLimit, n, need, rl.Cur, rl.Max, err)
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
// on 127.0.0.1, port 0. The echo servers close each fd they wait on just
// before their task ends, as kernel.WithOwnedFDs asks, and the kernel is
// made with it (under epoll: one epoll_ctl less per message).
func StartKernel(server func(fd int) kernel.Task, poller string) (*Server, error) {
	fd, addr, err := kernel.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k := kernel.New(kernel.WithPoller(poller), kernel.WithOwnedFDs())
	k.Spawn(server(fd))
	done := make(chan error, 1)
	go func() { done <- k.Run() }()
	return &Server{Addr: addr, stop: func() error { k.Stop(); return <-done }}, nil
}

// StartGroup starts the kernel echo server made by server on a group of
// n kernels under poller, each accepting on its own SO_REUSEPORT socket,
// WithOwnedFDs as StartKernel.
func StartGroup(server func(fd int) kernel.Task, poller string, n int) (*Server, error) {
	fds, addr, err := kernel.ListenGroup("127.0.0.1:0", n)
	if err != nil {
		return nil, err
	}
	g := kernel.NewGroup(n, kernel.WithPoller(poller), kernel.WithOwnedFDs())
	for i, fd := range fds {
		g.SpawnOn(i, server(fd))
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	return &Server{Addr: addr, stop: func() error { g.Stop(); return <-done }}, nil
}

// StartNet starts package net's goroutine-per-connection echo server.
func StartNet() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	stop := echoload.Serve(l, netEchoBuf, nil)
	return &Server{Addr: l.Addr().String(), stop: func() error { stop(); return nil }}, nil
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

// The clients of the C10K measurements run in a child process, this
// program run again with clientEnv set: each side then needs one fd per
// connection, and the client's memory is not the server's.
const clientEnv = "CK_MEASURE_CLIENTS"

// clientSpec is what the child is asked to do.
type clientSpec struct {
	Addr  string `json:"addr"`
	Conns int    `json:"conns"`
	Msgs  int    `json:"msgs"` // 0: echo 100 bytes on each, say "ready", and hold them until stdin closes
	Size  int    `json:"size"`
	// Client is ClientNet (or "") or ClientRing: who makes the load.
	Client string `json:"client,omitempty"`
}

func init() {
	if spec := os.Getenv(clientEnv); spec != "" {
		os.Exit(clientMain(spec))
	}
}

// clientMain is the child process: it runs spec and reports on stdout.
func clientMain(spec string) int {
	var c clientSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		fmt.Fprintln(os.Stderr, "measure client:", err)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "measure client:", err)
		return 1
	}
	if err := RaiseFDLimit(c.Conns); err != nil {
		return fail(err)
	}
	if c.Msgs == 0 {
		cl, err := Dial(c.Addr, c.Conns)
		if err != nil {
			return fail(err)
		}
		if err := cl.Echo(bytes.Repeat([]byte("0123456789"), 10)); err != nil {
			return fail(err)
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		cl.Close()
		return 0
	}
	if c.Client == ClientRing {
		cl, err := Dial(c.Addr, c.Conns)
		if err != nil {
			return fail(err)
		}
		defer cl.Close()
		d, n, err := ringLoad(cl, c)
		if err != nil {
			return fail(err)
		}
		json.NewEncoder(os.Stdout).Encode(echoload.Stats{Msgs: n, Bytes: n * int64(c.Size), Duration: d})
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := echoload.Run(ctx, echoload.Config{Addr: c.Addr, Conns: c.Conns, Msgs: c.Msgs, MinSize: c.Size, MaxSize: c.Size, Seed: 1})
	if err != nil {
		return fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(st)
	return 0
}

// clientProcess starts the child process for spec.
func clientProcess(spec clientSpec) (*exec.Cmd, io.WriteCloser, *bufio.Reader, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	b, _ := json.Marshal(spec)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), clientEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, in, bufio.NewReader(out), nil
}

// residentAfterGC returns the resident set size after a full collection
// that gives freed memory back.
func residentAfterGC() (int64, error) {
	runtime.GC()
	debug.FreeOSMemory()
	return rss()
}

// IdleConnBytes starts a server, opens conns connections to it from a
// child process (at least minIdleConns: with fewer the resident set's
// noise drowns the figure), echoes 100 bytes on each and leaves them idle:
// it returns the resident memory the server holds per idle connection.
func IdleConnBytes(start func() (*Server, error), conns int) (float64, error) {
	conns = max(conns, minIdleConns)
	if err := RaiseFDLimit(conns); err != nil {
		return 0, err
	}
	s, err := start()
	if err != nil {
		return 0, err
	}
	defer s.Stop()
	// Warm up: the server's first connections and the heap settle.
	if err := idleRound(s.Addr, 16); err != nil {
		return 0, err
	}
	base, err := residentAfterGC()
	if err != nil {
		return 0, err
	}
	cmd, in, out, err := clientProcess(clientSpec{Addr: s.Addr, Conns: conns})
	if err != nil {
		return 0, err
	}
	defer cmd.Wait()
	defer in.Close()
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		return 0, fmt.Errorf("measure: the client process: %q, %v", line, err)
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
// over conns connections open at once from a child process to the
// server, and returns the time n of them took, from the moment all were
// open.
func ManyConnsEcho(start func() (*Server, error), conns, n int) (time.Duration, error) {
	return ManyConnsEchoBy(ClientNet, start, conns, n)
}

// ManyConnsEchoBy is ManyConnsEcho with the load made by client:
// ClientNet (package net's, echoload) or ClientRing (see RingClientAvail).
func ManyConnsEchoBy(client string, start func() (*Server, error), conns, n int) (time.Duration, error) {
	if err := RaiseFDLimit(conns); err != nil {
		return 0, err
	}
	s, err := start()
	if err != nil {
		return 0, err
	}
	defer s.Stop()
	msgs := max((n+conns-1)/conns, 1)
	cmd, in, out, err := clientProcess(clientSpec{Addr: s.Addr, Conns: conns, Msgs: msgs, Size: C10KSize, Client: client})
	if err != nil {
		return 0, err
	}
	in.Close()
	var st echoload.Stats
	derr := json.NewDecoder(out).Decode(&st)
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("measure: the client process: %w", err)
	}
	if derr != nil {
		return 0, fmt.Errorf("measure: the client process's stats: %w", derr)
	}
	if total := int64(msgs * conns); st.Msgs != total {
		return 0, fmt.Errorf("echoload: %d messages echoed, want %d", st.Msgs, total)
	}
	return st.Duration * time.Duration(n) / time.Duration(msgs*conns), nil
}
