package cdemo

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
)

// loadFresh returns a private copy of the library (static variables
// fresh), skipping only when there is no C compiler.
func loadFresh(t testing.TB) *Lib {
	t.Helper()
	l, err := LoadFresh()
	if errors.Is(err, ErrNoCompiler) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func values(t *testing.T, l *Lib, name string, n int) []uintptr {
	t.Helper()
	v, err := l.Values(name, n)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func counting(n int) []uintptr {
	v := make([]uintptr, n)
	for i := range v {
		v[i] = uintptr(i)
	}
	return v
}

// TestSeed calls the seed's coroutine as its main does: 0, 1, 2.
func TestSeed(t *testing.T) {
	l := loadFresh(t)
	fn, err := l.Sym("coroutine")
	if err != nil {
		t.Fatal(err)
	}
	for want := uintptr(0); want < 3; want++ {
		if r, _, _ := purego.SyscallN(fn); int32(r) != int32(want) {
			t.Fatalf("call %d returned %d", want+1, int32(r))
		}
	}
}

func TestGenerators(t *testing.T) {
	l := loadFresh(t)
	for _, g := range Generators {
		if got := values(t, l, g, 100); !slices.Equal(got, counting(100)) {
			t.Errorf("%s yields %v, want 0..99", g, got)
		}
		// A run without out slots, as the benchmarks make.
		if g == "static" {
			continue // it continues from 100
		}
		const n = 100000
		k, sum, err := l.Run(g, n, nil)
		if err != nil || k != n || sum != n*(n-1)/2 {
			t.Errorf("%s: Run(%d) = %d values summing to %d, %v", g, n, k, sum, err)
		}
	}
}

// TestStaticState shows the static-variable form's single instance: the
// state survives from one Run to the next and belongs to the loaded
// library, while a ccr generator starts over every time.
func TestStaticState(t *testing.T) {
	a, b := loadFresh(t), loadFresh(t)
	if got := values(t, a, "static", 3); !slices.Equal(got, []uintptr{0, 1, 2}) {
		t.Fatalf("fresh static: %v", got)
	}
	if got := values(t, a, "static", 3); !slices.Equal(got, []uintptr{3, 4, 5}) {
		t.Fatalf("static again: %v, want it to continue", got)
	}
	if got := values(t, b, "static", 3); !slices.Equal(got, []uintptr{0, 1, 2}) {
		t.Fatalf("static in another copy of the library: %v", got)
	}
	for range 2 {
		if got := values(t, a, "ccr", 3); !slices.Equal(got, []uintptr{0, 1, 2}) {
			t.Fatalf("ccr: %v, want it to start over", got)
		}
	}
}

func TestRunErrors(t *testing.T) {
	l := load(t)
	if _, _, err := l.Run("no-such-generator", 1, nil); err == nil || !strings.Contains(err.Error(), "no-such-generator") {
		t.Errorf("unknown generator: %v", err)
	}
	if _, _, err := l.Run("ccr", 3, make([]uintptr, 2)); err == nil {
		t.Error("Run accepted 3 values for 2 slots")
	}
	if v := values(t, l, "ccr", 0); len(v) != 0 {
		t.Errorf("0 values: %v", v)
	}
}

// TestLostLocals: a local that is not static (static form) or not in the
// context struct (ccr form) does not survive a yield. Here it is set
// again on every entry, so the count sticks at 1. The ctx body keeps its
// counter in a plain local and counts on.
func TestLostLocals(t *testing.T) {
	l := loadFresh(t)
	lost := []uintptr{0, 1, 1, 1, 1, 1}
	for _, g := range []string{"static-lost", "ccr-lost"} {
		if got := values(t, l, g, 6); !slices.Equal(got, lost) {
			t.Errorf("%s yields %v, want the broken %v", g, got, lost)
		}
	}
	if got := values(t, l, "ctx-native", 6); !slices.Equal(got, counting(6)) {
		t.Errorf("ctx-native yields %v", got)
	}
}

// TestNestedYield: a switch-state helper's yield returns to the decoder
// that called it, not to the decoder's caller, so each run collapses to
// one byte. The ctx decoder yields from its helper.
func TestNestedYield(t *testing.T) {
	l := load(t)
	str := func(v []uintptr) string {
		b := make([]byte, len(v))
		for i, c := range v {
			b[i] = byte(c)
		}
		return string(b)
	}
	if got := str(values(t, l, "ccr-nested", 10)); got != "ab" {
		t.Errorf("ccr-nested yields %q, want the broken %q", got, "ab")
	}
	if got := str(values(t, l, "ctx-nested", 10)); got != "aabbb" {
		t.Errorf("ctx-nested yields %q, want %q", got, "aabbb")
	}
}

// TestInnerSwitch: a yield inside a switch of the body's own. With
// switch/__LINE__ local continuations its case label belongs to the inner
// switch: the resume finds no case, skips the body and the thread ends
// after one value. The computed-goto form and ctx go on.
func TestInnerSwitch(t *testing.T) {
	l := load(t)
	if got := values(t, l, "pt-switch-inner", 5); !slices.Equal(got, []uintptr{0}) {
		t.Errorf("pt-switch-inner yields %v, want the broken [0]", got)
	}
	for _, g := range []string{"pt-goto-inner", "ctx-inner"} {
		if got := values(t, l, g, 5); !slices.Equal(got, []uintptr{0, 2, 4, 6, 8}) {
			t.Errorf("%s yields %v", g, got)
		}
	}
}

// innerSwitchSnippet yields from inside the body's own switch on a
// character. Its first yield sits on line 65, so in the switch form its
// case label is case 65 in the inner switch, which already has case 'A'.
const innerSwitchSnippet = `#include "pt.h"

struct classify { struct pt pt; int c, out; };

/* Yields 1 for the letter A and 0 for anything else. */
PT_THREAD(classify(struct classify *t))
{
	PT_BEGIN(&t->pt);
	for (;;) {
		switch (t->c) {
		case 'A':
			t->out = 1;
#line 65
			PT_YIELD(&t->pt);
			break;
		default:
			t->out = 0;
			PT_YIELD(&t->pt);
		}
	}
	PT_END(&t->pt);
}
`

// twoYieldsSnippet has two yields on one line.
const twoYieldsSnippet = `#include "pt.h"

struct two { struct pt pt; };

PT_THREAD(two(struct two *t))
{
	PT_BEGIN(&t->pt);
	PT_YIELD(&t->pt); PT_YIELD(&t->pt);
	PT_END(&t->pt);
}
`

// TestSwitchFormRejects compiles bodies that the switch/__LINE__ form of
// local continuations cannot take, and asserts the compiler's verdict in
// both forms.
func TestSwitchFormRejects(t *testing.T) {
	cc := envCompiler()
	for _, tc := range []struct {
		name, src          string
		switchErr, gotoErr string // "" if the form compiles it
	}{
		{"switch in body", innerSwitchSnippet, "duplicate case value", ""},
		{"two yields on a line", twoYieldsSnippet, "duplicate case value", "duplicate label"},
	} {
		for _, form := range []struct {
			flags []string
			want  string
		}{{nil, tc.switchErr}, {[]string{"-DLC_GOTO"}, tc.gotoErr}} {
			out, err := checkSyntax(cc, tc.src, form.flags...)
			if errors.Is(err, ErrNoCompiler) {
				t.Skip(err)
			}
			switch {
			case form.want == "" && err != nil:
				t.Errorf("%s %v: rejected: %v\n%s", tc.name, form.flags, err, out)
			case form.want != "" && err == nil:
				t.Errorf("%s %v: compiled, want %q", tc.name, form.flags, form.want)
			case form.want != "" && !strings.Contains(out, form.want):
				t.Errorf("%s %v: compiler said\n%s\nwant %q", tc.name, form.flags, out, form.want)
			case err != nil:
				t.Logf("%s %v: %s", tc.name, form.flags, firstError(out))
			}
		}
	}
}

// firstError is the compiler's first error line in out.
func firstError(out string) string {
	for line := range strings.Lines(out) {
		if strings.Contains(line, "error") {
			return strings.TrimSpace(line)
		}
	}
	return out
}
