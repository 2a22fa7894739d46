package main

import (
	"io"
	"sync"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/kernel"
)

// The native demos are the C tasks of cdemo/c/tasks.c, which print
// through a struct ck_out whose write function is a Go callback.

var (
	nativeOnce sync.Once
	nativeLib  *cdemo.Lib
	nativeErr  error
)

// nativeReady builds and loads cdemo's C library and the print callback.
func nativeReady() error {
	nativeOnce.Do(func() {
		if nativeLib, nativeErr = cdemo.Load(); nativeErr != nil {
			return
		}
		_, nativeErr = cdemo.PrintTo(io.Discard)
	})
	return nativeErr
}

// nativeDemo returns a demo version that spawns the C tasks named, each
// with the struct ck_out that prints to out. nativeReady must have
// succeeded.
func nativeDemo(names ...string) func(*kernel.Kernel, io.Writer) {
	return func(k *kernel.Kernel, out io.Writer) {
		arg, err := cdemo.PrintTo(out)
		if err != nil {
			panic(err) // nativeReady made the callback
		}
		for _, n := range names {
			fn, err := nativeLib.Sym(n)
			if err != nil {
				panic(err) // the library is built from this module's sources
			}
			k.Spawn(kernel.Native(fn, arg))
		}
	}
}
