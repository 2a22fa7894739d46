package cdemo

import (
	"bytes"
	"slices"
	"testing"
)

// goGen is the generator as a Go step function: the state machine of
// gen_ccr, its resume point in a field.
type goGen struct {
	state int
	i     uintptr
}

// next is not inlined, so that a resume is a call as in the C loops.
//
//go:noinline
func (g *goGen) next() uintptr {
	switch g.state {
	case 0:
		g.i = 0
		g.state = 1
	default:
		g.i++
	}
	return g.i
}

func TestGoGen(t *testing.T) {
	var g goGen
	got := make([]uintptr, 5)
	for i := range got {
		got[i] = g.next()
	}
	if !slices.Equal(got, counting(5)) {
		t.Fatalf("goGen yields %v", got)
	}
}

var sink uintptr

// BenchmarkResume measures one resume of the generator yielding 0, 1, 2,
// ...: in a C loop making b.N resumes in one call from Go for the C
// generators, in a Go loop for go-step.
func BenchmarkResume(b *testing.B) {
	for _, g := range Generators {
		b.Run(g, func(b *testing.B) {
			l := load(b)
			b.ResetTimer()
			k, sum, err := l.Run(g, b.N, nil)
			if err != nil || k != b.N {
				b.Fatalf("%d resumes: %v", k, err)
			}
			sink = sum
		})
	}
	b.Run("go-step", func(b *testing.B) {
		var g goGen
		var sum uintptr
		for range b.N {
			sum += g.next()
		}
		sink = sum
	})
}

// BenchmarkTokenize runs the C pipeline on 64 KiB of text (per decoded
// byte; without turning the output into Tokens).
func BenchmarkTokenize(b *testing.B) {
	text := bytes.Repeat([]byte("Coroutines in C, by Simon Tatham:   wellll... "), 1500)[:64<<10]
	in := Compress(text)
	for _, s := range []Style{SwitchState, Stackful, Callback} {
		b.Run(s.String(), func(b *testing.B) {
			l := load(b)
			buf := make([]byte, 3*len(text))
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := l.tokenize(s, in, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
