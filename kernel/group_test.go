//go:build linux

package kernel

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestGroupTasks: tasks spawned round robin over three kernels get TIDs
// unique in the group, KernelOf names the kernel each ran on, each
// kernel's tasks run on one OS thread and the kernels on three.
func TestGroupTasks(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		g := NewGroup(3, withPoller(poller))
		if g.Len() != 3 || g.Kernel(3) != nil || g.Kernel(-1) != nil {
			t.Fatalf("Len %d, Kernel(3) %v, Kernel(-1) %v", g.Len(), g.Kernel(3), g.Kernel(-1))
		}
		var mu sync.Mutex
		threads := map[*Kernel]map[int]bool{}
		tids := map[TID]*Kernel{}
		var started atomic.Int32 // every task waits for all: the kernels run at once
		for range 9 {
			var tid TID
			tid = g.Spawn(Go(func(s *Sys) {
				started.Add(1)
				for deadline := time.Now().Add(5 * time.Second); started.Load() < 9 && time.Now().Before(deadline); {
					s.Sleep(time.Millisecond)
				}
				for range 5 {
					k := g.KernelOf(s.GetTid())
					mu.Lock()
					if threads[k] == nil {
						threads[k] = map[int]bool{}
					}
					threads[k][unix.Gettid()] = true
					mu.Unlock()
					s.Sleep(time.Millisecond)
				}
			}))
			if _, dup := tids[tid]; dup || tid == 0 {
				t.Fatalf("TID %d given twice (or 0)", tid)
			}
			tids[tid] = g.KernelOf(tid)
		}
		if err := g.Run(); err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for i := range 3 {
			k := g.Kernel(i)
			if len(threads[k]) != 1 {
				t.Errorf("kernel %d ran its tasks on %d threads, want 1", i, len(threads[k]))
			}
			for th := range threads[k] {
				if seen[th] {
					t.Errorf("two kernels ran on thread %d", th)
				}
				seen[th] = true
			}
			checkEmpty(t, k)
		}
		for tid, k := range tids {
			if k != g.Kernel(int(tid-1)%3) {
				t.Errorf("KernelOf(%d) is not kernel %d", tid, int(tid-1)%3)
			}
		}
		if g.Spawn(Task{}) != 0 || g.SpawnOn(7, Go(func(*Sys) {})) != 0 || g.KernelOf(0) != nil {
			t.Error("the zero Task, a kernel out of range or TID 0 were taken")
		}
	})
}

// TestGroupSpawnLeast: SpawnLeast picks the kernel with the fewest tasks.
func TestGroupSpawnLeast(t *testing.T) {
	g := NewGroup(3)
	for range 2 {
		g.SpawnOn(0, Go(func(*Sys) {}))
		g.SpawnOn(2, Go(func(*Sys) {}))
	}
	g.SpawnOn(1, Go(func(*Sys) {}))
	tid := g.SpawnLeast(Go(func(*Sys) {}))
	if g.KernelOf(tid) != g.Kernel(1) {
		t.Errorf("SpawnLeast put task %d on another kernel than 1, the least loaded", tid)
	}
	if g.NumTasks() != 6 {
		t.Errorf("NumTasks %d, want 6", g.NumTasks())
	}
	if err := g.Run(); err != nil {
		t.Fatal(err)
	}
}

// TestGroupStopAndFail: Stop ends every kernel; a kernel that fails
// (a deadlock) stops the others, whose sleepers are killed, and Run
// returns its error.
func TestGroupStopAndFail(t *testing.T) {
	g := NewGroup(2)
	killed := 0
	var mu sync.Mutex
	for i := range 2 {
		g.SpawnOn(i, Go(func(s *Sys) {
			defer func() { mu.Lock(); killed++; mu.Unlock() }()
			s.Sleep(time.Hour)
		}))
	}
	time.AfterFunc(20*time.Millisecond, g.Stop)
	if err := g.Run(); err != nil {
		t.Fatal(err)
	}
	if killed != 2 {
		t.Errorf("%d sleepers killed by Stop, want 2", killed)
	}

	g = NewGroup(2)
	g.SpawnOn(1, Go(func(s *Sys) { s.Sleep(time.Hour) }))
	var a, b TID
	a = g.SpawnOn(0, Go(func(s *Sys) { s.Yield(); s.WaitTask(b) }))
	b = g.SpawnOn(0, Go(func(s *Sys) { s.WaitTask(a) }))
	done := make(chan error)
	go func() { done <- g.Run() }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrDeadlock) {
			t.Errorf("Run = %v, want ErrDeadlock", err)
		}
	case <-time.After(10 * time.Second):
		g.Stop()
		t.Fatal("a kernel's deadlock did not stop the group")
	}
}

// TestListenGroupSpread: a group of two kernels, each accepting on its
// own SO_REUSEPORT socket of one address, shares 4000 connections, each
// kernel at least a third of them.
func TestListenGroupSpread(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 4000 connections")
	}
	eachPoller(t, func(t *testing.T, poller string) {
		const conns = 4000
		fds, addr, err := ListenGroup("127.0.0.1:0", 2)
		if err != nil {
			t.Fatal(err)
		}
		g := NewGroup(2, withPoller(poller))
		var count [2]atomic.Int64
		for i, fd := range fds {
			g.SpawnOn(i, Go(func(s *Sys) {
				defer unix.Close(fd)
				for {
					c, err := s.Accept(fd)
					if err != nil {
						return
					}
					unix.Close(c)
					count[i].Add(1)
				}
			}))
		}
		done := make(chan error)
		go func() { done <- g.Run() }()
		for range conns {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		for deadline := time.Now().Add(10 * time.Second); count[0].Load()+count[1].Load() < conns && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		g.Stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		c0, c1 := count[0].Load(), count[1].Load()
		t.Logf("%s: kernel 0 accepted %d, kernel 1 %d of %d", poller, c0, c1, conns)
		if c0+c1 != conns || c0 < conns/3 || c1 < conns/3 {
			t.Errorf("accepted %d and %d of %d connections", c0, c1, conns)
		}
	})
}
