package measure

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/corokernel/corokernel/kernel"
	"golang.org/x/sys/unix"
)

// The ring client: the echo load of the client process (clientMain) run
// by one kernel under the uring poller, a step task per connection whose
// sends and receives are completion traps (SendOp, RecvOp). The kernel
// submits a pass's requests in one io_uring_enter and reaps their
// completions in the same call, so the client spends about one system
// call per pass where package net's client spends two or three per
// message and a goroutine switch besides.
//
// Why it exists: on two cores the load generator shares the CPU with the
// server, and a client that costs more per message than the server does
// (package net's, about 1.7 times here) leaves every server it measures
// waiting for it: one kernel, two kernels and gnet with two loops then
// all measure the client. This one costs less than the servers it loads,
// so a second kernel has CPU to win.

// ClientRing names the ring client in ManyConnsEchoBy; ClientNet names
// package net's (echoload), which ManyConnsEcho uses.
const (
	ClientNet  = "net"
	ClientRing = "ring"
)

// RingClientAvail returns nil if the ring client works here, or why not:
// it needs io_uring.
func RingClientAvail() error {
	if err := kernel.CheckPoller("uring"); err != nil {
		return fmt.Errorf("%w: the ring client: %v", ErrUnavailable, err)
	}
	return nil
}

// ringLoad runs the echo load of spec on c's connections (blocking
// sockets, made non-blocking here): Msgs messages of Size bytes on each,
// each echoed and checked before the next. It returns the time from the
// first send to the last check and the messages checked.
func ringLoad(c *Clients, spec clientSpec) (time.Duration, int64, error) {
	k := kernel.New(kernel.WithPoller("uring"))
	conns := make([]*ringConn, len(c.fds))
	for i, fd := range c.fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			return 0, 0, err
		}
		rc := &ringConn{fd: fd, msgs: spec.Msgs, size: spec.Size, back: make([]byte, spec.Size)}
		// Messages are slices of a random block at random offsets, as
		// echoload's: each different from the one before.
		rc.block = make([]byte, 2*spec.Size)
		rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), byte(i >> 16), 1}).Read(rc.block)
		rc.rng = rand.New(rand.NewPCG(1, uint64(i)))
		conns[i] = rc
		k.Spawn(kernel.Step(rc))
	}
	start := time.Now()
	if err := k.Run(); err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	var n int64
	for i, rc := range conns {
		if rc.err != nil {
			return d, n, fmt.Errorf("measure: ring client, connection %d: %w", i, rc.err)
		}
		n += int64(rc.done)
	}
	return d, n, nil
}

// ringConn is one connection's step task: send a message, receive its
// echo in full, compare, and again.
type ringConn struct {
	fd, msgs, size int
	block, back    []byte
	rng            *rand.Rand
	msg            []byte // the message in flight
	buf            []byte // SendOp's and RecvOp's buffer
	got            int    // bytes of the echo received
	done           int    // messages echoed and checked
	pc             int
	err            error
}

func (c *ringConn) Step(r int64) kernel.Trap {
	switch c.pc {
	case 1: // SendOp returned
		if r != int64(len(c.msg)) {
			return c.fail(fmt.Errorf("message %d: send: %d of %d bytes", c.done, r, len(c.msg)))
		}
		c.got = 0
		return c.recv()
	case 2: // RecvOp returned
		if r <= 0 {
			return c.fail(fmt.Errorf("message %d: receive after %d bytes: %d", c.done, c.got, r))
		}
		if c.got += int(r); c.got < len(c.msg) {
			return c.recv()
		}
		if !bytes.Equal(c.back[:len(c.msg)], c.msg) {
			return c.fail(fmt.Errorf("message %d: the echo differs", c.done))
		}
		c.done++
	}
	if c.done == c.msgs {
		return kernel.Exit(0)
	}
	off := c.rng.IntN(len(c.block) - c.size + 1)
	c.msg = c.block[off : off+c.size]
	c.buf, c.pc = c.msg, 1
	return kernel.SendOp(c.fd, &c.buf)
}

func (c *ringConn) recv() kernel.Trap {
	c.buf, c.pc = c.back[c.got:len(c.msg)], 2
	return kernel.RecvOp(c.fd, &c.buf)
}

func (c *ringConn) fail(err error) kernel.Trap {
	c.err = err
	return kernel.Exit(0)
}
