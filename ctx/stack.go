package ctx

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Stack sizes.
const (
	MinStackSize     = 16 << 10 // smallest stack NewStack accepts
	MaxStackSize     = 1 << 30  // largest stack NewStack accepts
	DefaultStackSize = 64 << 10 // stack size New uses without options
)

// Errors about stacks.
var (
	ErrStackSize  = fmt.Errorf("ctx: stack size must be between %d and %d bytes", MinStackSize, MaxStackSize)
	ErrStackInUse = errors.New("ctx: stack is in use by a coroutine")
	ErrStackFreed = errors.New("ctx: stack already freed")
	// ErrMapLimit is returned by NewStack (and New) when one more stack
	// would leave less than MapHeadroom of the system's memory mappings
	// (vm.max_map_count) free: past that, the process could no longer
	// create threads or grow its heap.
	ErrMapLimit = errors.New("ctx: too many memory mappings: one more stack would leave too little headroom below vm.max_map_count")
)

// MapHeadroom is how many memory mappings NewStack leaves free below the
// system's limit, for threads, the Go heap and libraries.
const MapHeadroom = 4096

// Stack is an mmap'd coroutine stack. Its mapping, from low addresses up:
//
//	guard region  GuardSize bytes, PROT_NONE: address space, no memory. A
//	              write past the stack faults here, even from a frame of
//	              up to GuardSize bytes that skips its first pages
//	stack         Size() bytes; the coroutine record (struct ck_coroutine)
//	              at its top, and below it the line the overflow reporter
//	              prints, both in the one page a fresh coroutine touches
//
// An idle coroutine that used little stack keeps just that top page
// resident.
type Stack struct {
	mem   []byte // the whole mapping
	size  int    // usable bytes
	inUse bool
	freed bool
	hot   bool // in the pool with the pages its last body touched (see pool)
	// loopLabel: the label area holds loopName's line, at loopMsg
	// (label), from an earlier pull loop: the next one need not write it.
	loopLabel            bool
	loopMsg, loopLen     uintptr
	loopName, loopNameOf uintptr
}

// loopName names the coroutine of a pull loop made without WithName in
// the overflow and fault reports: a loop's coroutine is not visible to
// its user, so a number would tell them nothing, and a fixed line is
// written once per stack rather than once per loop.
const loopName = "a pull loop's coroutine"

// GuardSize is the size of the PROT_NONE region below every stack: a
// whole number of pages for every page size Linux uses (4, 16 and 64 KiB).
const GuardSize = 64 << 10

// msgRoom is the room for the overflow line, between the record and the
// first frame.
const msgRoom = 160

// mapsPerStack is how many memory mappings one stack takes: the guard
// region and the stack (the kernel may merge neighbours).
const mapsPerStack = 2

var (
	pageSize = unix.Getpagesize()

	pool struct {
		sync.Mutex
		free map[int][]*Stack
		hot  int // how many pooled stacks are hot
	}
	sweepOnce sync.Once

	// spare is one freed stack of DefaultStackSize kept outside the pool
	// and its lock, hot, like the pool's hot stacks: one pull loop after
	// another takes it and gives it back with one atomic swap each.
	spare atomic.Pointer[Stack]

	// maps counts the process's memory mappings against the limit: an
	// estimate, others + ours, recounted from /proc/self/maps when it says
	// the limit is near, at most once per recountStep mappings of ours made
	// or freed, or per recountAfter: a recount reads a line per mapping,
	// so near the limit one per New would make creating coroutines
	// quadratic, and failing ones slow.
	maps struct {
		sync.Mutex
		limit     int // vm.max_map_count, 0 if unknown
		others    int // mappings that are not ours, as last counted
		ours      int // mappings of stacks and retired record pages
		countedAt int // ours at the last recount, -1 before the first
		countedOn time.Time
		recounts  int // how many recounts: for the tests
	}

	// limbo holds the record pages of the last retired stacks (retire), a
	// bounded FIFO: a page leaves it, and is unmapped, limboSize retires
	// later.
	limbo struct {
		sync.Mutex
		pages [limboSize][]byte
		next  int
	}
)

const limboSize = 256

// poolPerSize bounds how many freed stacks of one size are kept for reuse;
// the rest are unmapped, so a burst of coroutines does not pin memory.
const poolPerSize = 64

// Up to hotStacks freed stacks of at most hotMaxSize bytes stay hot in the
// pool: their pages are not given back when they are freed, but at the
// next garbage collection (sweepHot), so that a program that runs one
// short coroutine after another (a pull loop per call, say) does not pay a
// madvise and the page faults after it every time: that is most of what a
// loop costs to start. At most 2 MiB stays resident this way between two
// collections.
const (
	hotStacks  = 8
	hotMaxSize = 256 << 10
)

// recountStep and recountAfter bound how often reserveMaps recounts.
const (
	recountStep  = 256
	recountAfter = time.Second
)

func init() {
	maps.countedAt = -1
	if t, err := os.ReadFile("/proc/sys/vm/max_map_count"); err == nil {
		maps.limit, _ = strconv.Atoi(string(bytes.TrimSpace(t)))
	}
}

// countMaps returns the number of the process's memory mappings, or -1.
func countMaps() int {
	t, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1
	}
	return bytes.Count(t, []byte{'\n'})
}

// reserveMaps accounts for one more stack, or returns ErrMapLimit.
func reserveMaps() error {
	maps.Lock()
	defer maps.Unlock()
	if maps.limit > 0 && maps.others+maps.ours+mapsPerStack+MapHeadroom > maps.limit {
		if d := maps.ours - maps.countedAt; maps.countedAt < 0 || d >= recountStep || -d >= recountStep ||
			time.Since(maps.countedOn) >= recountAfter {
			n := countMaps()
			if n < 0 {
				return nil
			}
			maps.others, maps.countedAt, maps.countedOn = n-maps.ours, maps.ours, time.Now()
			maps.recounts++
		}
		if n := maps.others + maps.ours; n+mapsPerStack+MapHeadroom > maps.limit {
			return fmt.Errorf("%w (%d of %d in use)", ErrMapLimit, n, maps.limit)
		}
	}
	maps.ours += mapsPerStack
	return nil
}

// unreserveMaps takes n mappings off the count.
func unreserveMaps(n int) {
	maps.Lock()
	maps.ours -= n
	maps.Unlock()
}

// NewStack returns a stack of at least size bytes, rounded up to whole
// pages, with a guard page below it. Freed stacks of the same size are
// reused.
func NewStack(size int) (*Stack, error) {
	if size < MinStackSize || size > MaxStackSize {
		return nil, fmt.Errorf("%w (got %d)", ErrStackSize, size)
	}
	size = (size + pageSize - 1) &^ (pageSize - 1)
	installOverflowReporter()
	if size == DefaultStackSize {
		if s := spare.Swap(nil); s != nil {
			s.freed = false
			return s, nil
		}
	}

	pool.Lock()
	if l := pool.free[size]; len(l) > 0 {
		s := l[len(l)-1]
		pool.free[size] = l[:len(l)-1]
		if s.hot {
			s.hot = false
			pool.hot--
		}
		pool.Unlock()
		s.freed = false
		return s, nil
	}
	pool.Unlock()

	return mapStack(size)
}

// mapStack maps a new stack of size bytes, a whole number of pages.
func mapStack(size int) (*Stack, error) {
	if err := reserveMaps(); err != nil {
		return nil, err
	}
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(GuardSize+size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		unreserveMaps(mapsPerStack)
		return nil, fmt.Errorf("ctx: mmap of a %d-byte stack: %w", size, err)
	}
	mem := unsafe.Slice((*byte)(p), GuardSize+size)
	if err := unix.Mprotect(mem[:GuardSize], unix.PROT_NONE); err != nil {
		munmap(mem)
		unreserveMaps(mapsPerStack)
		return nil, fmt.Errorf("ctx: mprotect of the guard region: %w", err)
	}
	return &Stack{mem: mem, size: size}, nil
}

// Size returns the usable size of the stack in bytes.
func (s *Stack) Size() int { return s.size }

// Free returns the stack to the pool, its pages given back to the system,
// or unmaps it when the pool is full. Freeing a stack that a live
// coroutine uses returns ErrStackInUse; freeing twice returns
// ErrStackFreed.
func (s *Stack) Free() error {
	if s.freed {
		return ErrStackFreed
	}
	if s.inUse {
		return ErrStackInUse
	}
	if !s.pool() {
		return s.unmap()
	}
	return nil
}

// pool marks the stack freed and keeps it for reuse, reporting false when
// the pool for its size is full (the stack is then the caller's to unmap).
// The pages a body touched are given back (MADV_DONTNEED), except the
// top page, the record's, which the next New rewrites at once: now, or
// for a hot stack (hotStacks) at the next garbage collection.
func (s *Stack) pool() bool {
	s.freed = true
	if s.size == DefaultStackSize && spare.CompareAndSwap(nil, s) {
		sweepOnce.Do(armSweep)
		return true
	}
	pool.Lock()
	if pool.free == nil {
		pool.free = make(map[int][]*Stack)
	}
	if len(pool.free[s.size]) >= poolPerSize {
		pool.Unlock()
		return false
	}
	if s.size <= hotMaxSize && pool.hot < hotStacks {
		s.hot = true
		pool.hot++
		pool.free[s.size] = append(pool.free[s.size], s)
		pool.Unlock()
		sweepOnce.Do(armSweep)
		return true
	}
	pool.Unlock()
	s.giveBack()
	pool.Lock()
	pool.free[s.size] = append(pool.free[s.size], s)
	pool.Unlock()
	return true
}

// giveBack returns the pages of the stack below its top page.
func (s *Stack) giveBack() {
	unix.Madvise(s.mem[GuardSize:len(s.mem)-pageSize], unix.MADV_DONTNEED)
}

// armSweep makes the next garbage collection run sweepHot, and the one
// after it, and so on: a cleanup of an object nothing references runs
// after each collection that finds it, and arms the next.
func armSweep() {
	runtime.AddCleanup(new(gcTick), func(int) { sweepHot(); armSweep() }, 0)
}

// gcTick is large enough not to share an allocation (the tiny allocator
// packs smaller pointer-free objects), so its cleanup runs one collection
// after it was made.
type gcTick [16]byte

// sweepHot gives back the pages of the hot stacks in the pool. They leave
// the pool while it does (a stack handed out meanwhile would lose what its
// body writes), and come back cold.
func sweepHot() {
	var hot []*Stack
	if s := spare.Swap(nil); s != nil {
		hot = append(hot, s)
	}
	pool.Lock()
	for size, l := range pool.free {
		keep := l[:0]
		for _, s := range l {
			if s.hot {
				s.hot = false
				hot = append(hot, s)
			} else {
				keep = append(keep, s)
			}
		}
		clear(l[len(keep):])
		pool.free[size] = keep
	}
	pool.hot = 0
	pool.Unlock()
	for _, s := range hot {
		s.giveBack()
	}
	pool.Lock()
	if pool.free == nil {
		pool.free = make(map[int][]*Stack)
	}
	for _, s := range hot {
		pool.free[s.size] = append(pool.free[s.size], s)
	}
	pool.Unlock()
}

// unmap gives the stack's mapping back to the system.
func (s *Stack) unmap() error {
	s.freed = true
	err := munmap(s.mem)
	unreserveMaps(mapsPerStack)
	return err
}

// retire unmaps a closed coroutine's stack that the pool has no room for,
// all but its top page, the record's, whose memory it gives back: a stale
// claim (a Resume that raced the Close) then reads zeros, another
// generation, and fails instead of touching unmapped memory. The page
// waits in the limbo for limboSize later retires before it is unmapped.
func (s *Stack) retire() {
	s.freed = true
	top := len(s.mem) - pageSize
	munmap(s.mem[:top])
	page := s.mem[top:]
	unix.Madvise(page, unix.MADV_DONTNEED)
	unreserveMaps(mapsPerStack - 1)
	limbo.Lock()
	old := limbo.pages[limbo.next]
	limbo.pages[limbo.next] = page
	limbo.next = (limbo.next + 1) % limboSize
	limbo.Unlock()
	if old != nil {
		munmap(old)
		unreserveMaps(1)
	}
}

// munmap unmaps the pages of b, which may be part of a mapping
// (unix.Munmap takes only whole mappings it made itself).
func munmap(b []byte) error { return unix.MunmapPtr(unsafe.Pointer(&b[0]), uintptr(len(b))) }

func (s *Stack) acquire() error {
	switch {
	case s.freed:
		return ErrStackFreed
	case s.inUse:
		return ErrStackInUse
	}
	s.inUse = true
	return nil
}

func (s *Stack) base() uintptr { return uintptr(unsafe.Pointer(&s.mem[0])) }
func (s *Stack) lo() uintptr   { return s.base() + uintptr(GuardSize) }
func (s *Stack) hi() uintptr   { return s.lo() + uintptr(s.size) }

// label writes, just below the record at the top of the stack, the line
// the overflow reporter prints if this coroutine hits the guard region,
// and returns its address and length, and those of the coroutine's name
// inside it (the fault report's): the line's address is also the top of
// the coroutine's first frame. The coroutine is name, or "coroutine #id"
// when name is empty. (No fmt: this runs for every New.)
func (s *Stack) label(name string, id uint64) (msg, n, nameAt, nameLen uintptr) {
	const prefix = "corokernel: stack overflow in "
	if name == loopName && s.loopLabel {
		return s.loopMsg, s.loopLen, s.loopName, s.loopNameOf
	}
	s.loopLabel = false
	var b [msgRoom]byte
	line := append(b[:0], prefix...)
	if name == "" {
		line = strconv.AppendUint(append(line, "coroutine #"...), id, 10)
	} else {
		line = append(line, name...)
	}
	nameLen = uintptr(min(len(line), msgRoom-1) - len(prefix))
	line = append(line, ": it hit the guard page below its "...)
	line = append(strconv.AppendInt(line, int64(s.size), 10), "-byte stack\n"...)
	if len(line) > msgRoom {
		line = append(line[:msgRoom-1], '\n')
	}
	at := len(s.mem) - int(coroSize) - msgRoom
	copy(s.mem[at:], line)
	msg = uintptr(unsafe.Pointer(&s.mem[at]))
	if name == loopName {
		s.loopLabel = true
		s.loopMsg, s.loopLen, s.loopName, s.loopNameOf = msg, uintptr(len(line)), msg+uintptr(len(prefix)), nameLen
	}
	return msg, uintptr(len(line)), msg + uintptr(len(prefix)), nameLen
}
