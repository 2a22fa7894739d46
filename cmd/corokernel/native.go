package main

import (
	"io"
	"sync"
	"unsafe"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/kernel"
)

// The native demos are the C tasks of cdemo/c/tasks.c, which print
// through a struct ck_out whose write function is a Go callback.

var (
	nativeOnce sync.Once
	nativeLib  *cdemo.Lib
	nativeErr  error
	nativeMu   sync.Mutex
	nativeW    io.Writer
	ckOut      struct{ write uintptr } // struct ck_out, a global so it never moves
)

// nativeReady builds and loads cdemo's C library and the print callback.
func nativeReady() error {
	nativeOnce.Do(func() {
		if nativeLib, nativeErr = cdemo.Load(); nativeErr != nil {
			return
		}
		ckOut.write, nativeErr = ctx.NewCallback(func(p *byte, n uintptr) {
			nativeMu.Lock()
			defer nativeMu.Unlock()
			nativeW.Write(unsafe.Slice(p, n))
		})
	})
	return nativeErr
}

// nativeDemo returns a demo version that spawns the C tasks named, each
// with the struct ck_out that prints to out. nativeReady must have
// succeeded.
func nativeDemo(names ...string) func(*kernel.Kernel, io.Writer) {
	return func(k *kernel.Kernel, out io.Writer) {
		nativeMu.Lock()
		nativeW = out
		nativeMu.Unlock()
		for _, n := range names {
			fn, err := nativeLib.Sym(n)
			if err != nil {
				panic(err) // the library is built from this module's sources
			}
			k.Spawn(kernel.Native(fn, uintptr(unsafe.Pointer(&ckOut))))
		}
	}
}
