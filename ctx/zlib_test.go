package ctx_test

// zlib's inflateBack, whose in() callback returns a length: a pull loop
// over its input and output callbacks, and a cancel while it waits in in().

import (
	"bytes"
	"compress/flate"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/corokernel/corokernel/ctx"
	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

type zlib struct {
	inflateBack, init, end uintptr
	version                string
	events                 int    // callbacks inflate has answered, in all
	buf                    []byte // inflate's output, reused
}

func openZlib(t testing.TB) *zlib {
	lib := openLib(t, "zlib1g", "libz.so.1")
	z := &zlib{inflateBack: sym(t, lib, "inflateBack"), init: sym(t, lib, "inflateBackInit_"), end: sym(t, lib, "inflateBackEnd")}
	var version func() string
	purego.RegisterLibFunc(&version, lib, "zlibVersion")
	z.version = version()
	return z
}

// The tags of inflateBack's two callbacks in one loop, and zlib's codes.
const (
	tagIn, tagOut         = 1, 2
	zStreamEnd, zBufError = 1, -5
	zStreamSize           = 112 // sizeof(z_stream) on 64-bit Linux
	inflateWindow         = 1 << 15
	chunkSize             = 4096
)

// stream makes a z_stream for inflateBack, pinned by pins, and the
// window it needs, and returns its address and the inflateBackEnd the
// caller must run before it unpins them.
func (z *zlib) stream(t testing.TB, pins *ctx.Pins) (strm uintptr, end func()) {
	strm = pins.Bytes(make([]byte, zStreamSize))
	window := pins.Bytes(make([]byte, inflateWindow))
	r, _, _ := purego.SyscallN(z.init, strm, 15, window, pins.String(z.version), zStreamSize)
	if int32(r) != 0 {
		t.Fatalf("inflateBackInit_: %d", int32(r))
	}
	return strm, func() { purego.SyscallN(z.end, strm) }
}

// TestZlibInflateBack: zlib's inflateBack pulls input from in() and
// pushes output to out(); both are yield functions of one loop, told
// apart by their tags. The loop hands zlib Go memory chunk by chunk
// (Call.Lend, Call.SetOut), copies nothing out (Call.Bytes), and reads
// zlib's status from Result.
func TestZlibInflateBack(t *testing.T) {
	z := openZlib(t)
	want := make([]byte, 300_000)
	for i := range want {
		want[i] = byte(rand.IntN(16)) // compressible
	}
	var packed bytes.Buffer
	w, _ := flate.NewWriter(&packed, flate.BestSpeed)
	w.Write(want)
	w.Close()

	got, r := z.inflate(t, packed.Bytes())
	if !r.Returned || int32(r.Value) != zStreamEnd || !bytes.Equal(got, want) {
		t.Fatalf("inflateBack: result %+v, %d of %d bytes right", r, len(got), len(want))
	}
}

// inflate inflates the raw deflate stream src with inflateBack in a pull
// loop (with opts besides its cancel values), returning the output and
// the loop's result.
func (z *zlib) inflate(t testing.TB, src []byte, opts ...ctx.Option) ([]byte, ctx.Result) {
	var pins ctx.Pins
	defer pins.Unpin()
	strm, end := z.stream(t, &pins)
	defer end()
	in, _ := ctx.YieldFuncTag(tagIn)
	out, _ := ctx.YieldFuncTag(tagOut)
	loop := ctx.NewLoop(z.inflateBack, []uintptr{strm, in, 0, out, 0},
		append(opts, ctx.WithCancelValue(tagIn, 0), ctx.WithCancelValue(tagOut, 1))...)
	got := z.buf[:0]
	defer func() { z.buf = got }()
	for call, err := range loop.Calls() {
		if err != nil {
			t.Fatal(err)
		}
		z.events++
		switch call.Tag() {
		case tagIn: // unsigned in(void *desc, z_const unsigned char **buf)
			n := min(chunkSize, len(src))
			call.SetOut(1, call.Lend(src[:n]))
			call.Return(uintptr(n))
			src = src[n:]
		case tagOut: // int out(void *desc, unsigned char *buf, unsigned len)
			got = append(got, call.Bytes(1, 2)...)
		}
	}
	return got, loop.Result()
}

// TestZlibCancelInput: breaking out of an inflateBack loop while zlib
// waits in in() must end it cleanly. in() returns a length, so its
// cancel value is 0 ("no more input"), not CK_ECANCELED, which zlib
// would read as 4,294,967,171 bytes: the input sits at the very end of a
// page followed by an inaccessible one, so one byte read past it faults.
func TestZlibCancelInput(t *testing.T) {
	z := openZlib(t)
	var packed bytes.Buffer
	w, _ := flate.NewWriter(&packed, flate.BestSpeed)
	w.Write(bytes.Repeat([]byte("corokernel "), 10_000))
	w.Close()

	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[page:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	const n = 100
	chunk := mem[page-n : page]
	copy(chunk, packed.Bytes())

	var pins ctx.Pins
	defer pins.Unpin()
	for _, breakAt := range []int{1, 2} { // in the first in(), and in a later one
		strm, end := z.stream(t, &pins)
		defer end()
		in, _ := ctx.YieldFuncTag(tagIn)
		out, _ := ctx.YieldFuncTag(tagOut)
		loop := ctx.NewLoop(z.inflateBack, []uintptr{strm, in, 0, out, 0},
			ctx.WithCancelValue(tagIn, 0), ctx.WithCancelValue(tagOut, 1))
		ins := 0
		for call, err := range loop.Calls() {
			if err != nil {
				t.Fatal(err)
			}
			if call.Tag() != tagIn {
				continue
			}
			if ins++; ins == breakAt {
				break
			}
			call.SetOut(1, call.Lend(chunk))
			call.Return(n)
		}
		if r := loop.Result(); !r.Canceled || int32(r.Value) != zBufError {
			t.Fatalf("break in in() #%d: result %+v; want canceled with Z_BUF_ERROR", breakAt, r)
		}
	}
}
