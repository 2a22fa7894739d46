package kernel

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// This file holds Beazley's final example, pyos8's echo server, as a Go
// task and as a step task, and Listen to make its socket.

// echoBufSize is the read size of the echo handlers, as in Beazley's course.
const echoBufSize = 65536

// acceptRetry is how long an echo server sleeps when accept fails for
// lack of resources (EMFILE and the like) before it tries again.
const acceptRetry = 10 * time.Millisecond

// temporary reports whether accept failed for lack of resources, which
// time may cure.
func temporary(err error) bool {
	switch err {
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
		return true
	}
	return false
}

// GoEchoServer returns a Go task that serves the echo protocol on the
// non-blocking listening socket fd: pyos8's server, with GoAccept, GoRecv
// and GoSend as ordinary subroutines. Each connection gets its own task.
// The server owns fd: it closes fd when it ends, which it does when
// accepting fails or when it is killed. Closing fd ends the server too
// (under epoll, at the kernel's next check of waited fds). A connection's task closes its connection when the peer does or
// when it is killed.
func GoEchoServer(fd int) Task {
	return Go(func(s *Sys) {
		closed := false // by someone else: the fd may be reused already
		defer func() {
			if !closed {
				unix.Close(fd)
			}
		}()
		for {
			c, err := GoAccept(s, fd)
			if err != nil {
				if temporary(err) {
					s.Sleep(acceptRetry)
					continue
				}
				closed = err == ErrBadFD || err == unix.EBADF
				return
			}
			s.NewTask(Go(func(s *Sys) { goEchoClient(s, c) }))
			// Take what the queue holds before waiting again (acceptQueued).
			for {
				c, err := acceptNB(fd)
				if err != nil {
					break
				}
				s.NewTask(Go(func(s *Sys) { goEchoClient(s, c) }))
			}
		}
	})
}

// The echo servers accept every connection the listening socket's queue
// holds before they wait on it again; pyos8's server waits before each
// accept. Under poll or select every wait scans every fd, so a server that
// waits once per connection takes milliseconds per accept at ten thousand
// connections, and clients that connect all at once fill the queue (at
// most net.core.somaxconn, often 4096). Linux then drops the handshakes
// the queue cannot take, and resets the connections whose handshake it
// has retried for about a minute: tests/TestC10K under poll failed that
// way. An error of the extra accepts only sends the server back to its
// wait, where the accept after it reports the error as before.

// Memory per connection (the C10k problem (Kegel)): a connection's task
// owns no read buffer. It reads into a buffer shared by every connection
// (echoBufs), between one wait and the next, and writes the reply at once;
// only bytes that must survive a WriteWait, a full socket, are copied into
// a buffer of the task's own, freed once they are sent. An idle
// connection costs its task and nothing more.

// echoBufs are the shared read buffers of the echo handlers: one is held
// only while a handler runs between two waits.
var echoBufs = sync.Pool{New: func() any { b := make([]byte, echoBufSize); return &b }}

// echoOnce reads what fd has (a non-blocking read) into a shared buffer
// and writes it back. It returns what the socket could not take yet, in a
// buffer of its own, and eof at the end of the stream or on an error.
// wait is true when there was nothing to read.
func echoOnce(fd int) (rest []byte, wait, eof bool) {
	bp := echoBufs.Get().(*[]byte)
	defer echoBufs.Put(bp)
	buf := *bp
	for {
		n, err := readNB(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return nil, true, false
		case err != nil || n == 0:
			return nil, false, true
		}
		for off := 0; off < n; {
			w, err := writeNB(fd, buf[off:n])
			switch {
			case err == nil:
				off += w
			case err == unix.EINTR:
			case err == unix.EAGAIN:
				return append([]byte(nil), buf[off:n]...), false, false
			default:
				return nil, false, true
			}
		}
		return nil, false, false
	}
}

// goEchoClient is pyos8's handle_client.
func goEchoClient(s *Sys, fd int) {
	defer unix.Close(fd)
	for {
		if err := s.ReadWait(fd); err != nil {
			return
		}
		rest, _, eof := echoOnce(fd)
		if eof {
			return
		}
		if len(rest) > 0 {
			if _, err := GoSend(s, fd, rest); err != nil {
				return
			}
		}
	}
}

// StepEchoServer returns a step task that serves the echo protocol on the
// non-blocking listening socket fd, as GoEchoServer does, with the
// sub-machines Accept, Recv and Send run through Call.
func StepEchoServer(fd int) Task {
	m := &stepEchoServer{ownedFD: ownedFD{fd}}
	m.acceptT = Step(&m.accept)
	return Step(m)
}

// ownedFD is the fd a step machine of the echo servers owns: its Kill
// (the kernel's, on a kill) closes it, once.
type ownedFD struct{ fd int }

// Kill closes the fd.
func (o *ownedFD) Kill() {
	if o.fd >= 0 {
		unix.Close(o.fd)
		o.fd = -1
	}
}

// stepEchoServer is pyos8's server as a state machine. It reuses one
// Accept machine, so that a connection costs no allocation but its own.
type stepEchoServer struct {
	ownedFD
	pc      int
	accept  acceptMachine
	acceptT Task
}

func (m *stepEchoServer) Step(r int64) Trap {
	if m.pc == 1 { // Call(Accept) returned
		if r < 0 {
			if temporary(unix.Errno(-r)) {
				m.pc = 2
				return Sleep(acceptRetry)
			}
			if Code(r) == CodeBadFD {
				m.fd = -1 // closed by someone else: the fd may be reused already
			}
			m.Kill()
			return Exit(r)
		}
		m.pc = 2
		return NewTask(newStepEchoClient(int(r)))
	}
	if m.pc == 2 && m.fd >= 0 {
		// After NewTask or Sleep: take what the queue holds before waiting
		// again (see GoEchoServer).
		if c, err := acceptNB(m.fd); err == nil {
			return NewTask(newStepEchoClient(c))
		}
	}
	// pc 0, or 2 with nothing queued: wait for the next connection.
	m.pc = 1
	m.accept = acceptMachine{fd: m.fd}
	return Call(m.acceptT)
}

// stepEchoClient is pyos8's handle_client as a state machine: ReadWait,
// then echoOnce, and a Send sub-machine only for what the socket could not
// take at once.
type stepEchoClient struct {
	ownedFD
	pc    int
	send  sendMachine
	sendT Task
}

func newStepEchoClient(fd int) Task {
	m := &stepEchoClient{ownedFD: ownedFD{fd}}
	m.sendT = Step(&m.send)
	return Step(m)
}

func (m *stepEchoClient) Step(r int64) Trap {
	switch m.pc {
	case 1: // ReadWait returned
		if r < 0 {
			m.Kill()
			return Exit(r)
		}
		rest, _, eof := echoOnce(m.fd)
		if eof {
			m.Kill()
			return Exit(0)
		}
		if len(rest) > 0 {
			m.pc = 2
			m.send = sendMachine{fd: m.fd, buf: rest}
			return Call(m.sendT)
		}
	case 2: // Send returned
		m.send = sendMachine{}
		if r < 0 {
			m.Kill()
			return Exit(r)
		}
	}
	m.pc = 1
	return ReadWait(m.fd)
}

// resolve turns "host:port" into an address and port, looking the host up
// when it is a name.
func resolve(addr string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	best := ips[0]
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			best = ip
			break
		}
	}
	return netip.AddrPortFrom(best.Unmap(), uint16(p)), nil
}

// Listen opens a TCP socket listening on addr, a host and port such as
// "127.0.0.1:45000", "[::1]:0" or "localhost:45000" (port 0 picks a free
// port; a host name is resolved, an IPv4 address preferred), for the echo
// servers. The socket is non-blocking and close-on-exec, with
// SO_REUSEADDR set. Listen returns its fd and the address it is bound to.
func Listen(addr string) (fd int, bound string, err error) {
	return listen(addr, false)
}

// ListenGroup opens n TCP sockets listening on the same addr (as Listen
// takes it) with SO_REUSEPORT, one for each kernel of a group: the OS
// hands each new connection to one of them by a hash of its addresses
// and ports, so that every kernel accepts its share without a shared
// acceptor. It returns the fds, in order, and the address they are bound
// to; on an error none is left open.
func ListenGroup(addr string, n int) (fds []int, bound string, err error) {
	if n < 1 {
		return nil, "", fmt.Errorf("kernel: listen %s: %d sockets", addr, n)
	}
	for i := range n {
		fd, b, err := listen(addr, true)
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, "", err
		}
		if i == 0 {
			bound, addr = b, b // the others bind to the port the first got
		}
		fds = append(fds, fd)
	}
	return fds, bound, nil
}

func listen(addr string, reusePort bool) (fd int, bound string, err error) {
	ap, err := resolve(addr)
	if err != nil {
		return -1, "", fmt.Errorf("kernel: listen %q: %w", addr, err)
	}
	var sa unix.Sockaddr
	domain := unix.AF_INET
	if a := ap.Addr(); a.Is4() || a.Is4In6() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}
	} else {
		domain = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	}
	fd, err = socketNB(domain)
	if err != nil {
		return -1, "", fmt.Errorf("kernel: listen %s: socket: %w", addr, err)
	}
	fail := func(what string, err error) (int, string, error) {
		unix.Close(fd)
		return -1, "", fmt.Errorf("kernel: listen %s: %s: %w", addr, what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	if reusePort {
		if err := setReusePort(fd); err != nil {
			return fail("setsockopt SO_REUSEPORT", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, 4096); err != nil {
		return fail("listen", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		bound = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		bound = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	}
	return fd, bound, nil
}
