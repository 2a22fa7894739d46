package cdemo

import (
	"bytes"
	"testing"
	"time"

	"github.com/corokernel/corokernel/internal/measure"
)

// BenchmarkResume measures one resume of the generator yielding 0, 1, 2,
// ...: in a C loop making b.N resumes in one call from Go for the C
// generators, in a Go loop for go-step (the same state machine in Go).
// The measurements live in internal/measure, which the comparison report
// (go run ./cmd/corokernel) runs too.
func BenchmarkResume(b *testing.B) {
	for _, g := range Generators {
		b.Run(g, func(b *testing.B) {
			l := load(b)
			reportResumes(b, func(n int) (time.Duration, error) { return measure.Generator(l, g, n) })
		})
	}
	b.Run("go-step", func(b *testing.B) { reportResumes(b, measure.GoStep) })
}

// reportResumes measures b.N resumes with f and reports the time they
// took (without f's setup) as ns/op.
func reportResumes(b *testing.B, f func(n int) (time.Duration, error)) {
	d, err := f(b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "ns/op")
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
