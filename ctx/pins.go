package ctx

import (
	"runtime"
	"unsafe"
)

// Pins hands Go memory to C code: each method pins its argument where it
// is, alive, and returns its address as a word for C (an argument of
// NewLoop or NewCall, a struct field, an out parameter), until Unpin. The
// memory must not hold Go pointers. The zero Pins is ready to use; use
// one from one goroutine at a time.
//
//	var pins ctx.Pins
//	defer pins.Unpin()
//	sql := pins.String("select a, b from t")
//	loop := ctx.NewLoop(sqlite3_exec, []uintptr{db, sql, ctx.YieldFunc(), 0, 0})
type Pins struct{ p runtime.Pinner }

// Bytes pins b and returns its address (0 for an empty b).
func (p *Pins) Bytes(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	p.p.Pin(&b[0])
	return uintptr(unsafe.Pointer(&b[0]))
}

// String pins a NUL-terminated copy of s and returns its address: a C
// string.
func (p *Pins) String(s string) uintptr {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return p.Bytes(b)
}

// Words pins w and returns its address (0 for an empty w): a small C
// struct of pointer-sized fields, such as GSL's gsl_function {function,
// params}, or room for out parameters (a double is math.Float64bits).
func (p *Pins) Words(w []uintptr) uintptr {
	if len(w) == 0 {
		return 0
	}
	p.p.Pin(&w[0])
	return uintptr(unsafe.Pointer(&w[0]))
}

// Unpin releases everything pinned: C must no longer use the addresses.
func (p *Pins) Unpin() { p.p.Unpin() }
