package ctx_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/corokernel/corokernel/internal/kctx"
	"github.com/ebitengine/purego"
)

func trapper(t *testing.T, ops []uint32) *ctx.Coroutine {
	t.Helper()
	var pin runtime.Pinner
	pin.Pin(&ops[0])
	t.Cleanup(pin.Unpin)
	kc, err := door.NewTrapping(cabi.TrapSeq, uintptr(unsafe.Pointer(&ops[0])), "trapper", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := kc.(*ctx.Coroutine)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTrap(t *testing.T) {
	c := trapper(t, []uint32{7, 8, 0})
	if v, _, err := c.Resume(0); err != nil || v != 0 {
		t.Fatalf("first trap: %d, %v", v, err)
	}
	if op, a, b := door.Trap(c); op != 7 || a != 0 || b != 0 {
		t.Fatalf("Trap() = %d, %d, %d; want 7, 0, 0", op, a, b)
	}
	if op, _, _ := door.Trap(c); op != 0 {
		t.Fatalf("Trap() twice = %d; the trap must be consumed", op)
	}
	c.Resume(40) // the first trap returns 40
	if op, a, b := door.Trap(c); op != 8 || a != 1 || b != 40 {
		t.Fatalf("second Trap() = %d, %d, %d; want 8, 1, 40", op, a, b)
	}
	v, _, err := c.Resume(2)
	if err != nil || v != 42 || c.Status() != ctx.Dead {
		t.Fatalf("end: %d, %v, %v; want the sum 42, dead", v, err, c.Status())
	}

	// In a plain coroutine, trap returns -1 and does not yield.
	p := mustNew(t, cabi.TrapSeq, uintptr(unsafe.Pointer(&[]uint32{5, 0}[0])))
	if v, _, err := p.Resume(0); err != nil || int64(v) != -1 || p.Status() != ctx.Dead {
		t.Fatalf("trap from a plain coroutine: %d, %v, %v; want -1 and dead", int64(v), err, p.Status())
	}
	// Outside any coroutine: -1.
	trapFn := table().trapF
	if r, _, _ := purego.SyscallN(trapFn, 0, 1, 0, 0); int64(r) != -1 {
		t.Fatalf("trap(NULL) = %d", int64(r))
	}
}

func TestRingCycle(t *testing.T) {
	r := door.NewRing()
	for i := 0; i < 3; i++ {
		r.Add(trapper(t, []uint32{1, 1, 1, 5, 0}), 0)
	}
	// Three rounds of op 1 pass; the tenth resume, ring[0]'s op 5, stops.
	i, n, more, _, err := r.Cycle(0, 100, 1)
	if err != nil || more || i != 0 || n != 10 {
		t.Fatalf("Cycle = %d, %d, %v, %v; want 0, 10, false, nil", i, n, more, err)
	}
	if op, a, _ := door.Trap(r.At(0)); op != 5 || a != 3 {
		t.Fatalf("stopping trap = %d(%d), want 5(3)", op, a)
	}
	// ring[1] is next at its op 5: it stops at once.
	i, n, more, _, err = r.Cycle(1, 1, 1)
	if err != nil || more || n != 1 || i != 1 {
		t.Fatalf("Cycle(1) = %d, %d, %v, %v; want 1, 1, false, nil", i, n, more, err)
	}
	// A budget that runs out: i is the next to run. The word given to Add
	// is the first trap's result; later passing traps return 0 (TrapSeq
	// returns the sum of its results).
	r2 := door.NewRing()
	r2.Add(trapper(t, []uint32{1, 1, 1, 0}), 0)
	r2.Add(trapper(t, []uint32{1, 1, 1, 0}), 0)
	i, n, more, _, err = r2.Cycle(0, 3, 1)
	if err != nil || !more || n != 3 || i != 1 {
		t.Fatalf("budget: %d, %d, %v, %v; want 1, 3, true, nil", i, n, more, err)
	}
	r2.Reset()
	r2.Add(trapper(t, []uint32{1, 1, 0}), 0)
	c := r2.At(0).(*ctx.Coroutine)
	r2.Cycle(0, 1, 1) // first trap made
	r2.Reset()
	r2.Add(c, 30) // resumed with 30: the first trap returns 30
	if _, n, more, done, err := r2.Cycle(0, 5, 1); err != nil || more || !done || n != 2 || c.Status() != ctx.Dead {
		t.Fatalf("resume word: %d, %v, %v, %v", n, more, err, c.Status())
	}
	if v := cabi.Word(uintptr(c.C()) + 16); v != 30 {
		t.Fatalf("sum of trap results = %d, want 30 (the Add word, then 0)", v)
	}
	// ring[2] traps 5, then ring[0] returns: done tells.
	if _, _, _, _, err = r.Cycle(2, 1, 1); err != nil {
		t.Fatal(err)
	}
	i, n, more, done, err := r.Cycle(0, 5, 1)
	if err != nil || more || !done || i != 0 || r.At(0).(*ctx.Coroutine).Status() != ctx.Dead {
		t.Fatalf("return: %d, %d, %v, %v, %v", i, n, more, done, err)
	}
	// A dead member stops the next cycle with ErrDead.
	if _, _, _, _, err = r.Cycle(0, 5, 1); !errors.Is(err, ctx.ErrDead) {
		t.Fatalf("cycle into a dead coroutine: %v", err)
	}
	r.Reset()
	if r.Len() != 0 {
		t.Fatal("Reset left members")
	}
}

// door is package kernel's door into ctx, as kernel gets it.
var door = ctx.Kernel(kctx.Key{})

// TestKernelDoorClosed: ctx.Kernel's argument cannot be made anywhere but
// inside this module, not even from a struct literal of the same shape
// (Go assigns an unnamed struct type to a named one of the same
// underlying type): a program that tries does not compile.
func TestKernelDoorClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program with the go command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	dir, err := os.MkdirTemp(".", "_door") // "_": no ./... pattern sees it
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	src := "package main\n\nimport \"github.com/corokernel/corokernel/ctx\"\n\nfunc main() { ctx.Kernel(struct{}{}) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "build", "-o", os.DevNull, "./"+dir).CombinedOutput()
	if err == nil {
		t.Fatal("a program called ctx.Kernel with struct{}{}: the door is open")
	}
	if !strings.Contains(string(out), "cannot use") {
		t.Fatalf("the build failed for another reason:\n%s", out)
	}
}
