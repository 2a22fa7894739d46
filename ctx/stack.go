package ctx

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
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
)

// Stack is an mmap'd coroutine stack. Its mapping, from low addresses up:
//
//	header page   read-write: a magic word, the guard page's address and
//	              the line to print if the guard page is hit
//	guard page    PROT_NONE: the first write past the stack faults here
//	stack         Size() bytes; the canary word sits at its lowest address,
//	              the coroutine record (struct ck_coroutine) at its top
//
// The header lives below the guard page so that an overflow, which grows
// down from the top, faults before it can reach it.
type Stack struct {
	mem    []byte // the whole mapping
	size   int    // usable bytes
	canary uintptr
	inUse  bool
	freed  bool
}

// The header page's fields (overflow_*.s reads them).
const (
	hdrMagic  = 0x636b_6775_6172_6421 // "ck guard!"
	hdrGuard  = 8                     // address of the guard page
	hdrMsgLen = 16
	hdrMsg    = 24
)

var (
	pageSize  = unix.Getpagesize()
	canaryKey uintptr

	pool struct {
		sync.Mutex
		free map[int][]*Stack
	}
)

// poolPerSize bounds how many freed stacks of one size are kept for reuse;
// the rest are unmapped, so a burst of coroutines does not pin memory.
const poolPerSize = 64

func init() {
	var b [8]byte
	rand.Read(b[:])
	canaryKey = uintptr(binary.LittleEndian.Uint64(b[:])) | 1
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

	pool.Lock()
	if l := pool.free[size]; len(l) > 0 {
		s := l[len(l)-1]
		pool.free[size] = l[:len(l)-1]
		pool.Unlock()
		s.freed = false
		return s, nil
	}
	pool.Unlock()

	mem, err := unix.Mmap(-1, 0, 2*pageSize+size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("ctx: mmap of a %d-byte stack: %w", size, err)
	}
	if err := unix.Mprotect(mem[pageSize:2*pageSize], unix.PROT_NONE); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("ctx: mprotect of the guard page: %w", err)
	}
	s := &Stack{mem: mem, size: size}
	s.canary = canaryKey ^ s.lo()
	*s.word(0) = hdrMagic
	*s.word(hdrGuard) = s.base() + uintptr(pageSize)
	return s, nil
}

// Size returns the usable size of the stack in bytes.
func (s *Stack) Size() int { return s.size }

// Free returns the stack to the pool, or unmaps it when the pool is full.
// Freeing a stack that a live coroutine uses returns ErrStackInUse;
// freeing twice returns ErrStackFreed.
func (s *Stack) Free() error {
	if s.freed {
		return ErrStackFreed
	}
	if s.inUse {
		return ErrStackInUse
	}
	s.freed = true
	pool.Lock()
	if pool.free == nil {
		pool.free = make(map[int][]*Stack)
	}
	if len(pool.free[s.size]) < poolPerSize {
		pool.free[s.size] = append(pool.free[s.size], s)
		pool.Unlock()
		return nil
	}
	pool.Unlock()
	return unix.Munmap(s.mem)
}

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
func (s *Stack) lo() uintptr   { return s.base() + uintptr(2*pageSize) }
func (s *Stack) hi() uintptr   { return s.lo() + uintptr(s.size) }

func (s *Stack) word(off int) *uintptr { return (*uintptr)(unsafe.Pointer(&s.mem[off])) }

// label prepares the stack for a new coroutine: the canary word and the
// line the overflow reporter prints if this coroutine hits the guard page.
func (s *Stack) label(name string) {
	*s.word(2 * pageSize) = s.canary
	msg := fmt.Sprintf("corokernel: stack overflow in %s: it hit the guard page below its %d-byte stack\n", name, s.size)
	n := copy(s.mem[hdrMsg:pageSize], msg)
	*s.word(hdrMsgLen) = uintptr(n)
}
