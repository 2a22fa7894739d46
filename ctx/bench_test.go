package ctx_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/corokernel/corokernel/internal/measure"
)

// The measurements themselves live in internal/measure, which the
// comparison report (go run ./cmd/corokernel) runs too: the numbers here
// and there come from the same code.

// BenchmarkRoundTrip: one op is one resume plus one yield (two switches).
// Compare the rows of one run, not nanoseconds across machines:
//
//	go test -run '^$' -bench BenchmarkRoundTrip ./ctx
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("native", roundTrips(measure.NativeLoop))
	b.Run("native-flags-differ", roundTrips(measure.NativeLoopFlagsDiffer))
	b.Run("c-resume", roundTrips(measure.CResume))
	b.Run("go-driven", roundTrips(measure.GoDriven))
	b.Run("go-direct", roundTrips(measure.GoDirect))
	b.Run("iter.Pull", roundTrips(measure.Pull))
	b.Run("channel", roundTrips(measure.Channel))
	b.Run("boost-fcontext", roundTrips(measure.Boost))
	b.Run("boost-flags-differ", roundTrips(measure.BoostFlagsDiffer))
	b.Run("ucontext", roundTrips(measure.Ucontext))
}

// BenchmarkRoundTripParts measures the parts a round trip is made of, one
// at a time, in native loops: the bare switch (registers and SP), the
// same with every crossing a return (two mispredicted returns more), the
// claim of a coroutine (a locked compare-and-swap and a releasing store)
// and the thread-block lookup (pthread_getspecific). With
// BenchmarkRoundTrip/native (the switch with the FP control state) and
// BenchmarkCgocall they break each mode of BenchmarkRoundTrip into its
// parts; run them together:
//
//	go test -run '^$' -bench 'RoundTrip|Cgocall' ./ctx
//
// docs/performance.md has the table.
func BenchmarkRoundTripParts(b *testing.B) {
	b.Run("switch-bare", roundTrips(measure.BareSwitch))
	b.Run("switch-ret", roundTrips(measure.RetSwitch))
	b.Run("claim", func(b *testing.B) { run(b, measure.Claim) })
	b.Run("thread-block", func(b *testing.B) { run(b, measure.ThreadBlock) })
}

// roundTrips benchmarks a measurement of round trips, reporting ns/switch
// beside ns/op.
func roundTrips(f func(n int) (time.Duration, error)) func(*testing.B) {
	return func(b *testing.B) {
		d := run(b, f)
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N)/2, "ns/switch")
	}
}

// run measures b.N operations with f and reports the time they took
// (without f's setup) as ns/op. It skips when f cannot run here.
func run(b *testing.B, f func(n int) (time.Duration, error)) time.Duration {
	d, err := f(b.N)
	if errors.Is(err, measure.ErrUnavailable) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "ns/op")
	return d
}

// BenchmarkLoopStart: one op is one whole pull loop over a C function that
// calls back once (calls: ctx.Calls over libc's bsearch of one element),
// beside one whole iter.Pull of a one-element sequence (iter.Pull, next,
// stop). The ratio, calls/iter.Pull, is what matters:
//
//	go test -run '^$' -bench LoopStart ./ctx
func BenchmarkLoopStart(b *testing.B) {
	b.Run("calls", func(b *testing.B) { b.ReportAllocs(); run(b, measure.LoopStart) })
	b.Run("iter.Pull", func(b *testing.B) { b.ReportAllocs(); run(b, measure.LoopStartPull) })
}

// BenchmarkCgocall is the floor under go-driven: one runtime.cgocall of a
// C function that returns at once (libc abs), no switch at all.
func BenchmarkCgocall(b *testing.B) {
	run(b, measure.Cgocall)
}

// BenchmarkCycle: one op is one trap and the switch to the next coroutine
// of a ring, all in native code (Ring.Cycle), for rings of 1 and 1000
// coroutines. This is what a native kernel task's Yield costs.
func BenchmarkCycle(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("ring=%d", n), func(b *testing.B) {
			run(b, func(k int) (time.Duration, error) { return measure.Cycle(n, k) })
		})
	}
}

// TestRoundTripParts runs each part's native loop briefly, so that the
// parts are checked on every architecture the tests run on, not only
// where someone benchmarks: the loops keep their counters in callee-saved
// registers across the switches, so a part that lost a register or the
// stack's alignment would hang or crash here.
func TestRoundTripParts(t *testing.T) {
	for _, p := range []struct {
		name string
		f    func(int) (time.Duration, error)
	}{
		{"switch-bare", measure.BareSwitch},
		{"switch-ret", measure.RetSwitch},
		{"claim", measure.Claim},
		{"thread-block", measure.ThreadBlock},
	} {
		d, err := p.f(10_000)
		if err != nil || d <= 0 {
			t.Errorf("%s: %v, %v", p.name, d, err)
		}
	}
}
