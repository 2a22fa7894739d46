package kernel

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// A Group is several kernels run together, one per core by default: each
// runs on an OS thread of its own (locked, as every kernel's scheduler
// is) with a poller of its own, and a task lives on the kernel it was
// spawned on for its whole life. gnet's multicore mode and Seastar's
// shards are this shape. TIDs are unique in the whole group: kernel i of
// n numbers its tasks i+1, i+1+n, i+1+2n, ...
//
// Run starts every kernel and returns when all have ended; Stop stops them
// all. A panic or Goexit in a task ends that task only, as in a kernel
// alone; a kernel that fails (its poller, a deadlock) stops the others.
// A Group is not safe for concurrent use, except for Stop and the Spawn
// methods.
type Group struct {
	ks   []*Kernel
	next atomic.Uint64
}

// NewGroup returns a group of n kernels made with opts, or one per
// GOMAXPROCS when n <= 0.
func NewGroup(n int, opts ...Option) *Group {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	g := &Group{ks: make([]*Kernel, n)}
	for i := range g.ks {
		k := New(opts...)
		k.tidBase, k.tidStride, k.group = i, n, g
		g.ks[i] = k
	}
	return g
}

// Len returns the number of kernels.
func (g *Group) Len() int { return len(g.ks) }

// Kernel returns kernel i, or nil when i is out of range.
func (g *Group) Kernel(i int) *Kernel {
	if i < 0 || i >= len(g.ks) {
		return nil
	}
	return g.ks[i]
}

// KernelOf returns the kernel that task tid lives on (or would: the TID
// need not be spawned yet), or nil for a TID no kernel of the group gives.
func (g *Group) KernelOf(tid TID) *Kernel {
	if tid <= 0 {
		return nil
	}
	return g.ks[int(tid-1)%len(g.ks)]
}

// Spawn spawns t on the next kernel in turn (round robin) and returns its
// TID, or 0 for the zero Task.
func (g *Group) Spawn(t Task) TID {
	if t.b == nil {
		return 0
	}
	i := (g.next.Add(1) - 1) % uint64(len(g.ks))
	return g.ks[i].Spawn(t)
}

// SpawnOn spawns t on kernel i and returns its TID, or 0 for the zero
// Task or an i out of range.
func (g *Group) SpawnOn(i int, t Task) TID {
	k := g.Kernel(i)
	if k == nil {
		return 0
	}
	return k.Spawn(t)
}

// SpawnLeast spawns t on the kernel with the fewest tasks (the first of
// those, on a tie) and returns its TID, or 0 for the zero Task.
func (g *Group) SpawnLeast(t Task) TID {
	best := g.ks[0]
	for _, k := range g.ks[1:] {
		if k.NumTasks() < best.NumTasks() {
			best = k
		}
	}
	return best.Spawn(t)
}

// NumTasks returns the number of tasks alive in the whole group.
func (g *Group) NumTasks() int {
	n := 0
	for _, k := range g.ks {
		n += k.NumTasks()
	}
	return n
}

// Run runs every kernel at once, each on a thread of its own, until each
// has no task left or Stop. A kernel whose Run fails stops the others;
// Run returns the kernels' errors joined (errors.Join), nil when none
// failed; ErrRunning among them for a kernel that ran already.
func (g *Group) Run() error {
	errs := make([]error, len(g.ks))
	var wg sync.WaitGroup
	for i, k := range g.ks {
		wg.Go(func() {
			if errs[i] = k.Run(); errs[i] != nil && errs[i] != ErrRunning {
				g.Stop()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Stop stops every kernel, as Kernel.Stop does: safe from any goroutine.
func (g *Group) Stop() {
	for _, k := range g.ks {
		k.Stop()
	}
}
