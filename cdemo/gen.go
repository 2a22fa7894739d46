package cdemo

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/corokernel/corokernel"
	"github.com/corokernel/corokernel/ctx"
)

// Generators names the benchmark generators: one state machine, yielding
// 0, 1, 2, ..., written as the seed's static variables ("static"), with
// Tatham's ccr macros ("ccr"), as a protothread with switch/__LINE__ or
// computed-goto local continuations ("pt-switch", "pt-goto"), and as a
// ctx coroutine body ("ctx-native"). The package comment lists the
// generators that demonstrate the limits of the switch-state forms.
var Generators = []string{"static", "ccr", "pt-switch", "pt-goto", "ctx-native"}

// loopArgs mirrors struct cd_loop (c/cdemo.h).
type loopArgs struct {
	n, count, sum uintptr
	out           *uintptr
	co            unsafe.Pointer
}

// Run makes a fresh instance of the named generator and resumes it up to
// n times in one C loop, a single native call from Go. It returns how
// many values the generator produced (fewer than n if it finished) and
// their sum, and stores the values in out unless out is nil. The
// static-variable generators ("static", "static-lost") are the exception
// to "fresh": they have one state per Lib and continue where the last Run
// stopped.
//
// A generator <id> is the C function loop_<id> (with '-' spelled '_'),
// or, if the library exports a coroutine body co_<id>, that body run on a
// new ctx coroutine and resumed by cd_loop_ctx.
func (l *Lib) Run(name string, n int, out []uintptr) (count int, sum uintptr, err error) {
	if n < 0 || out != nil && len(out) < n {
		return 0, 0, fmt.Errorf("cdemo: Run %s: bad count %d for %d slots", name, n, len(out))
	}
	a := loopArgs{n: uintptr(n)}
	if out != nil && n > 0 {
		a.out = &out[0]
	}
	id := strings.ReplaceAll(name, "-", "_")
	fn := l.lookup("loop_" + id)
	if body := l.lookup("co_" + id); body != 0 {
		c, err := ctx.New(body, 0, ctx.WithName("cdemo "+name))
		if err != nil {
			return 0, 0, err
		}
		defer c.Close()
		a.co = c.C()
		fn = l.lookup("cd_loop_ctx")
	}
	if fn == 0 {
		return 0, 0, fmt.Errorf("cdemo: no generator %q", name)
	}
	if r := corokernel.Call(fn, unsafe.Pointer(&a)); r != 0 {
		return int(a.count), a.sum, fmt.Errorf("cdemo: generator %s: resume failed with %d", name, r)
	}
	return int(a.count), a.sum, nil
}

// Values returns the first n values of a fresh instance of the named
// generator (all of them, if it finishes sooner); see Run.
func (l *Lib) Values(name string, n int) ([]uintptr, error) {
	out := make([]uintptr, n)
	k, _, err := l.Run(name, n, out)
	return out[:k], err
}
