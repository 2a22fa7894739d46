// Package cdemo sets C's switch-state coroutines (the static variables of
// Simon Tatham's "Coroutines in C", protothreads) beside
// stackful ctx coroutines running the same C programs, all driven from Go
// without cgo.
//
// The C sources (cdemo/c) are compiled on first use with $CC (default cc;
// extra words in CC are passed as arguments) and -O2 -fPIC -shared into a
// shared library cached under os.UserCacheDir, keyed by the sources, the
// compiler and the flags, and loaded with purego. Every .c file in
// cdemo/c goes into the one library; Lib.Sym finds any exported symbol.
//
// Two programs are written in every style:
//
//   - a generator yielding 0, 1, 2, ...: Run drives it in a C loop, one
//     call from Go for any number of resumes (see Generators);
//   - Tatham's producer/consumer pair, a run-length decoder feeding a
//     tokenizer: Tokenize runs it as switch-state, stackful or callback
//     code, with identical output.
//
// Further generators show what switch-state coroutines cannot do, next to
// ctx versions that can: "static-lost" and "ccr-lost" keep a counter in a
// local, which starts over on every call (0, 1, 1, 1, ...); "ccr-nested"
// yields from a helper function, so the helper's yields return to the
// decoder instead of its caller ("ab" where "ctx-nested" yields "aabbb");
// "pt-switch-inner" yields inside a switch of its own, which the
// switch/__LINE__ form of local continuations cannot resume (0, then it
// ends), where "pt-goto-inner" and "ctx-inner" yield 0, 2, 4, ...
package cdemo

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/ebitengine/purego"
)

// goarch is the architecture the library must be built for.
var goarch = runtime.GOARCH

// Lib is the loaded C library. Its methods are safe for concurrent use,
// except that the static-variable generators share one state per Lib.
type Lib struct {
	path   string
	handle uintptr
	syms   sync.Map // symbol name -> address
}

var shared struct {
	once sync.Once
	lib  *Lib
	err  error
}

// Load returns the library, building it first if the cache does not hold
// it. All calls return the same Lib. If no compiler can be run the error
// wraps ErrNoCompiler and names CC; a failed compilation is a
// *BuildError; a library for another architecture than the running
// program's (CC targets the wrong one) wraps ErrWrongArch.
func Load() (*Lib, error) {
	shared.once.Do(func() {
		p, err := build(envCompiler(), cacheRoot())
		if err != nil {
			shared.err = err
			return
		}
		shared.lib, shared.err = open(p)
	})
	return shared.lib, shared.err
}

// LoadFresh loads a private copy of the library, whose static variables
// start over: the seed's coroutine returns 0, 1, 2 again. Each copy stays
// mapped until the process exits.
func LoadFresh() (*Lib, error) {
	l, err := Load()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "cdemo-fresh-")
	if err != nil {
		return nil, fmt.Errorf("cdemo: %w", err)
	}
	defer os.RemoveAll(tmp) // the mapping outlives the file
	p := filepath.Join(tmp, libName)
	if err := copyFile(p, l.path); err != nil {
		return nil, fmt.Errorf("cdemo: %w", err)
	}
	return open(p)
}

func open(p string) (*Lib, error) {
	h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("cdemo: load %s: %w", p, err)
	}
	return &Lib{path: p, handle: h}, nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Path returns the file the library was loaded from. (A LoadFresh copy's
// file is already gone.)
func (l *Lib) Path() string { return l.path }

// Sym returns the address of the exported C symbol name, for
// purego.SyscallN, corokernel.Call (functions taking one pointer) or
// ctx.New (coroutine bodies).
func (l *Lib) Sym(name string) (uintptr, error) {
	if a := l.lookup(name); a != 0 {
		return a, nil
	}
	return 0, fmt.Errorf("cdemo: no symbol %q in %s", name, l.path)
}

// lookup is Sym without the error: 0 for a missing symbol. Misses are
// cached too.
func (l *Lib) lookup(name string) uintptr {
	if a, ok := l.syms.Load(name); ok {
		return a.(uintptr)
	}
	a, err := purego.Dlsym(l.handle, name)
	if err != nil {
		a = 0
	}
	l.syms.Store(name, a)
	return a
}
