package kernel

import "golang.org/x/sys/unix"

// pyos8's echo server on the completion traps: each connection's task is
// a loop of RecvLent and Send, one trap each, and holds no buffer while
// it waits for data. Under the uring poller every trap is one io_uring
// request; under the others the kernel emulates them.

// GoEchoServerOps returns a Go task that serves the echo protocol on the
// listening socket fd with the completion traps: Accept, then one task
// per connection looping on RecvLent and Send. It owns fd as GoEchoServer
// does.
func GoEchoServerOps(fd int) Task {
	return Go(func(s *Sys) {
		closed := false // by someone else: the fd may be reused already
		defer func() {
			if !closed {
				unix.Close(fd)
			}
		}()
		for {
			c, err := s.Accept(fd)
			if err != nil {
				if temporary(err) {
					s.Sleep(acceptRetry)
					continue
				}
				closed = err == ErrBadFD
				return
			}
			s.NewTask(Go(func(s *Sys) { goEchoClientOps(s, c) }))
		}
	})
}

func goEchoClientOps(s *Sys, fd int) {
	defer unix.Close(fd)
	for {
		b, err := s.RecvLent(fd)
		if err != nil || len(b) == 0 {
			return
		}
		if _, err := s.Send(fd, b); err != nil {
			return
		}
	}
}

// StepEchoServerOps returns a step task that serves the echo protocol as
// GoEchoServerOps does, with the traps AcceptOp, RecvOp and SendOp.
func StepEchoServerOps(fd int) Task { return Step(&stepEchoServerOps{ownedFD: ownedFD{fd}}) }

type stepEchoServerOps struct {
	ownedFD
	pc int
}

func (m *stepEchoServerOps) Step(r int64) Trap {
	if m.pc == 1 { // AcceptOp returned
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
		return NewTask(Step(&stepEchoClientOps{ownedFD: ownedFD{int(r)}}))
	}
	m.pc = 1
	return AcceptOp(m.fd)
}

// stepEchoClientOps is handle_client on the completion traps: RecvOp into
// a lent buffer, SendOp of it, again.
type stepEchoClientOps struct {
	ownedFD
	pc  int
	buf []byte
}

func (m *stepEchoClientOps) Step(r int64) Trap {
	switch m.pc {
	case 1: // RecvOp returned
		if r <= 0 {
			m.Kill()
			return Exit(r)
		}
		m.pc = 2
		return SendOp(m.fd, &m.buf)
	case 2: // SendOp returned
		if r < 0 {
			m.Kill()
			return Exit(r)
		}
	}
	m.pc = 1
	m.buf = nil // a lent buffer each time
	return RecvOp(m.fd, &m.buf)
}
