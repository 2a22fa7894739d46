//go:build linux

package kernel

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMail: messages between tasks of one kernel, Go and step: words and
// bytes arrive in order; a full mailbox makes the sender wait; no such
// task, a word or data too large, a receiver that ends while senders
// wait, and a waiting sender killed.
func TestMail(t *testing.T) {
	k := New()
	var got []string
	var recvTID TID
	recvTID = k.Spawn(Go(func(s *Sys) {
		s.Sleep(5 * time.Millisecond) // the senders fill the mailbox first
		for range 2*mailCap + 1 {
			w, data, err := s.MailRecv()
			if err != nil {
				t.Error(err)
				return
			}
			got = append(got, fmt.Sprintf("%d:%s", w, data))
		}
	}))
	sent := 0
	k.Spawn(Go(func(s *Sys) {
		for i := range 2 * mailCap {
			ok, err := s.MailSend(recvTID, uintptr(i), []byte(fmt.Sprint("m", i)))
			if !ok || err != nil {
				t.Errorf("MailSend %d: %v, %v", i, ok, err)
			}
			sent++
		}
		if ok, _ := s.MailSend(9999, 1, nil); ok {
			t.Error("MailSend to no task delivered")
		}
		if _, err := s.MailSend(recvTID, 1<<63, nil); err != ErrInvalid {
			t.Errorf("MailSend of word 1<<63: %v, want ErrInvalid", err)
		}
		if _, err := s.MailSend(recvTID, 1, make([]byte, mailMaxBytes+1)); err != ErrInvalid {
			t.Errorf("MailSend of 1 MiB + 1: %v, want ErrInvalid", err)
		}
	}))
	// A step task sends the last one.
	step := 0
	k.Spawn(Step(StepFunc(func(r int64) Trap {
		step++
		if step == 1 {
			b := []byte("step")
			return MailSendOp(recvTID, 7777, &b)
		}
		if r != 1 {
			t.Errorf("MailSendOp: %d", r)
		}
		return Exit(0)
	})))
	run(t, k)
	if sent != 2*mailCap || len(got) != 2*mailCap+1 {
		t.Fatalf("sent %d, received %d", sent, len(got))
	}
	// The Go sender's messages in its order; the step task's once,
	// wherever it got in.
	i, steps := 0, 0
	for _, m := range got {
		if m == "7777:step" {
			steps++
			continue
		}
		if m != fmt.Sprintf("%d:m%d", i, i) {
			t.Fatalf("message %d: %q", i, m)
		}
		i++
	}
	if steps != 1 {
		t.Errorf("the step task's message arrived %d times", steps)
	}
}

// TestMailEndAndKill: senders waiting on a full mailbox whose task ends
// get false; a waiting sender that is killed leaves the mailbox's list; a
// receiver killed while it waits unwinds.
func TestMailEndAndKill(t *testing.T) {
	k := New()
	var results []bool
	var receiver TID
	killed := false
	receiver = k.Spawn(Go(func(s *Sys) {
		// Never reads: ends with a full mailbox, once the kills are done.
		for deadline := time.Now().Add(5 * time.Second); !killed && time.Now().Before(deadline); {
			s.Sleep(time.Millisecond)
		}
	}))
	var victim TID
	for i := range mailCap + 3 {
		tid := k.Spawn(Go(func(s *Sys) {
			ok, _ := s.MailSend(receiver, uintptr(i), nil)
			results = append(results, ok)
		}))
		if i == mailCap+1 {
			victim = tid
		}
	}
	unwound := false
	waiter := k.Spawn(Go(func(s *Sys) {
		defer func() { unwound = true }()
		s.MailRecv()
	}))
	k.Spawn(Go(func(s *Sys) {
		s.Sleep(5 * time.Millisecond) // every sender has sent or waits
		s.KillTask(victim)
		s.KillTask(waiter)
		killed = true
	}))
	run(t, k)
	delivered, refused := 0, 0
	for _, ok := range results {
		if ok {
			delivered++
		} else {
			refused++
		}
	}
	if delivered != mailCap || refused != 2 || !unwound {
		t.Errorf("delivered %d, refused %d (want %d, 2), receiver unwound %v", delivered, refused, mailCap, unwound)
	}
}

// TestMailGroup: tasks on two kernels of a group play ping-pong through
// their mailboxes, Go and native, and a full mailbox across kernels makes
// the sender wait without stopping its kernel.
func TestMailGroup(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		const rounds = 2000
		g := NewGroup(2, withPoller(poller))
		var pong TID
		pong = g.SpawnOn(1, Go(func(s *Sys) {
			for {
				w, _, err := s.MailRecv()
				if err != nil || w == 0 {
					return
				}
				s.MailSend(TID(w>>32), w&0xffffffff+1, nil)
			}
		}))
		var last uintptr
		var other int
		ping := TID(0)
		ping = g.SpawnOn(0, Go(func(s *Sys) {
			n := uintptr(1)
			for range rounds {
				if ok, _ := s.MailSend(pong, uintptr(ping)<<32|n, nil); !ok {
					t.Error("pong gone")
					return
				}
				w, _, _ := s.MailRecv()
				n = w
			}
			last = n
			s.MailSend(pong, 0, nil)
		}))
		// Kernel 0 keeps running other tasks meanwhile.
		g.SpawnOn(0, Go(func(s *Sys) {
			for range 50 {
				other++
				s.Sleep(100 * time.Microsecond)
			}
		}))
		if err := g.Run(); err != nil {
			t.Fatal(err)
		}
		if last != rounds+1 || other != 50 {
			t.Errorf("ping-pong ended at %d (want %d), other task ran %d times", last, rounds+1, other)
		}
		for i := range 2 {
			checkEmpty(t, g.Kernel(i))
		}
	})
}

// TestMailNative: a native task answers mail from a Go task on another
// kernel.
func TestMailNative(t *testing.T) {
	fn := sym(t, "ck_mail_pong")
	g := NewGroup(2)
	pong := g.SpawnOn(1, Native(fn, 0))
	var last uintptr
	var ping TID
	ping = g.SpawnOn(0, Go(func(s *Sys) {
		n := uintptr(1)
		for range 100 {
			s.MailSend(pong, uintptr(ping)<<32|n, nil)
			w, _, _ := s.MailRecv()
			n = w
		}
		last = n
		s.MailSend(pong, uintptr(ping)<<32, nil)
	}))
	if err := g.Run(); err != nil {
		t.Fatal(err)
	}
	if last != 101 {
		t.Errorf("native ping-pong ended at %d, want 101", last)
	}
}

// BenchmarkMailbox: a round trip between two tasks on two kernels of a
// group through their mailboxes (kernels: step tasks, the kernel's
// lightest kind; kernels-go: Go tasks, whose every trap is two of the
// runtime's coroutine switches), against a round trip over unbuffered
// channels between two goroutines (chan), in one run. The target:
// kernels at most 1.0x chan.
//
// Two more rows say why it is not met here. chan's two goroutines take
// turns on one thread (the runtime runs the goroutine a send wakes on the
// sender's P, as the sender blocks), while two kernels are two threads,
// so a round trip must cross between cores twice: floor is that crossing
// alone, a round trip of one atomic word between two spinning locked
// threads, no kernel at all; chan-threads is chan with each goroutine
// locked to a thread of its own, the channel's cost when it does cross.
func BenchmarkMailbox(b *testing.B) {
	b.Run("kernels", func(b *testing.B) {
		g := NewGroup(2, WithPoller("epoll"))
		var pong, ping TID
		pongRecv := true
		pong = g.SpawnOn(1, Step(StepFunc(func(r int64) Trap {
			if pongRecv {
				pongRecv = false
				return MailRecvOp(nil)
			}
			if r <= 0 {
				return Exit(0)
			}
			pongRecv = true
			return MailSendOp(TID(r), 1, nil)
		})))
		// ping's steps: 0 starts the clock, odd ones send, even ones
		// receive.
		i := -1
		ping = g.SpawnOn(0, Step(StepFunc(func(int64) Trap {
			i++
			switch {
			case i == 0:
				b.ResetTimer()
				fallthrough
			case i < 2*b.N && i%2 == 0:
				return MailSendOp(pong, uintptr(ping), nil)
			case i < 2*b.N:
				return MailRecvOp(nil)
			case i == 2*b.N:
				b.StopTimer()
				return MailSendOp(pong, 0, nil)
			}
			return Exit(0)
		})))
		if err := g.Run(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("kernels-go", func(b *testing.B) {
		g := NewGroup(2, WithPoller("epoll"))
		var pong TID
		pong = g.SpawnOn(1, Go(func(s *Sys) {
			for {
				w, _, err := s.MailRecv()
				if err != nil || w == 0 {
					return
				}
				s.MailSend(TID(w), 1, nil)
			}
		}))
		var ping TID
		ping = g.SpawnOn(0, Go(func(s *Sys) {
			b.ResetTimer()
			for range b.N {
				s.MailSend(pong, uintptr(ping), nil)
				s.MailRecv()
			}
			b.StopTimer()
			s.MailSend(pong, 0, nil)
		}))
		if err := g.Run(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("floor", func(b *testing.B) {
		var ping, pong struct {
			atomic.Int64
			_ [120]byte // a cache line (and its neighbour) each
		}
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			defer close(done)
			for i := int64(1); i <= int64(b.N); i++ {
				for ping.Load() != i {
				}
				pong.Store(i)
			}
		}()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b.ResetTimer()
		for i := int64(1); i <= int64(b.N); i++ {
			ping.Store(i)
			for pong.Load() != i {
			}
		}
		b.StopTimer()
		<-done
	})
	b.Run("chan-threads", func(b *testing.B) { chanRoundTrips(b, true) })
	b.Run("chan", func(b *testing.B) { chanRoundTrips(b, false) })
}

// chanRoundTrips makes b.N round trips over unbuffered channels between
// two goroutines, each locked to a thread of its own if locked.
func chanRoundTrips(b *testing.B, locked bool) {
	ping, pong := make(chan int), make(chan int)
	var wg sync.WaitGroup
	wg.Go(func() {
		if locked {
			runtime.LockOSThread()
		}
		for v := range ping {
			pong <- v
		}
	})
	if locked {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	b.ResetTimer()
	for i := range b.N {
		ping <- i
		<-pong
	}
	b.StopTimer()
	close(ping)
	wg.Wait()
}
