// Package measure holds the measurements of the corokernel comparison:
// one function per mechanism, each timing n operations (round trips, I/O
// waits, echoed messages) and returning how long they took, setup
// excluded, and the registry of mechanisms that "corokernel" reports.
// The benchmarks of ctx and cdemo call the same functions, so that
// "go test -bench" and the report measure with the same code.
//
// Role: report support: what cmd/corokernel measures and the benchmarks
// share; no library package imports it.
package measure

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// A Section groups the mechanisms whose numbers compare: each has its
// own unit and its own baseline for ratios.
type Section string

// The sections of the report.
const (
	Switch     Section = "switch"     // nanoseconds per round trip
	IOWait     Section = "io"         // nanoseconds per I/O round trip
	Throughput Section = "throughput" // megabytes per second
	C10K       Section = "c10k"       // megabytes per second at C10KConns connections; bytes per idle connection
	Buses      Section = "buses"      // Beazley's bus feed: megabytes per second of the whole pipeline
	CLibs      Section = "clibs"      // nanoseconds per callback of a real C library, pulled and pushed; a loop's start
)

// PerSecond reports whether a section's rows are throughputs (longer is
// faster) rather than times.
func (s Section) PerSecond() bool { return s == Throughput || s == C10K || s == Buses }

// A Mechanism is one row of the comparison.
type Mechanism struct {
	Name    string  // the row's name, which -only selects on
	Section Section // which table it is in
	Kind    string  // stackful or stackless, native or Go
	What    string  // what one operation is
	Bytes   int     // payload bytes per operation, for throughput rows

	// FeedBytes, if not nil, gives Bytes once Avail has run (the size of
	// a file it makes).
	FeedBytes func() int

	// Baseline makes this the row its section's ratios are taken
	// against; without one they are taken against the fastest row.
	Baseline bool

	// Avail, if not nil, reports why the mechanism cannot run here (an
	// error wrapping ErrUnavailable) or that it failed to set up.
	Avail func() error
	// Run performs n operations and returns the time they took.
	Run func(n int) (time.Duration, error)
	// Memory, if not nil, makes n suspended instances and returns the
	// bytes each one holds.
	Memory func(n int) (float64, error)
}

// ErrUnavailable is wrapped by the errors of mechanisms that cannot run
// on this machine, such as a missing library or C compiler.
var ErrUnavailable = errors.New("unavailable")

// Unavailable returns an error wrapping ErrUnavailable that says why.
func Unavailable(why string) error { return unavailable(why) }

type unavailable string

func (e unavailable) Error() string        { return string(e) }
func (e unavailable) Is(target error) bool { return target == ErrUnavailable }

// Options say how hard Measure works.
type Options struct {
	Target    time.Duration // how long each timed run should take (3 times that for throughput)
	Runs      int           // timed runs; the result is their median
	Instances int           // suspended instances for Memory; 0 skips it
}

// Result is what Measure found for one mechanism.
type Result struct {
	Name    string  `json:"name"`
	Section Section `json:"section"`
	Kind    string  `json:"kind"`
	What    string  `json:"what"`

	Ops     int       `json:"ops,omitempty"`       // operations per timed run
	Runs    []float64 `json:"runs_ns,omitempty"`   // nanoseconds per operation in each run
	Ns      float64   `json:"ns,omitempty"`        // their median
	MBPerS  float64   `json:"mb_per_s,omitempty"`  // throughput at the median, for rows with Bytes (1 MB = 10^6 bytes)
	Ratio   float64   `json:"ratio,omitempty"`     // to the section's baseline (SetRatios)
	Bytes   float64   `json:"bytes,omitempty"`     // per suspended instance, when measured
	BytesOf int       `json:"instances,omitempty"` // with this many instances

	Baseline    bool   `json:"baseline,omitempty"`    // the section's ratios are taken against this row
	Noisy       string `json:"noisy,omitempty"`       // the runs disagreed by more than NoisyFactor: no result (Ns 0), and how
	Unavailable string `json:"unavailable,omitempty"` // why it cannot run here
	Err         string `json:"error,omitempty"`       // how it failed
}

// Measure runs m: it finds the number of operations that takes about
// o.Target, times o.Runs runs of that many, and measures the memory of
// o.Instances suspended instances.
func Measure(m Mechanism, o Options) Result {
	r := Result{Name: m.Name, Section: m.Section, Kind: m.Kind, What: m.What, Baseline: m.Baseline}
	fail := func(err error) Result {
		r := Result{Name: m.Name, Section: m.Section, Kind: m.Kind, What: m.What, Baseline: m.Baseline}
		if errors.Is(err, ErrUnavailable) {
			r.Unavailable = err.Error()
		} else {
			r.Err = err.Error()
		}
		return r
	}
	if m.Avail != nil {
		if err := m.Avail(); err != nil {
			return fail(err)
		}
	}
	if m.FeedBytes != nil {
		m.Bytes = m.FeedBytes()
	}
	target := o.Target
	if m.Section.PerSecond() {
		target *= 3 // each run opens its connections first
	}
	n, err := calibrate(m.Run, target)
	if err != nil {
		return fail(err)
	}
	r.Ops = n
	for range max(o.Runs, 1) {
		d, err := m.Run(n)
		if err != nil {
			return fail(err)
		}
		r.Runs = append(r.Runs, float64(d.Nanoseconds())/float64(n))
	}
	r.Ns = Median(r.Runs)
	if lo, hi := slices.Min(r.Runs), slices.Max(r.Runs); hi > NoisyFactor*lo {
		// Not a result: say how the runs went instead of printing one.
		r.Noisy = fmt.Sprintf("runs of %d ops disagree %.1fx (%s to %s ns per op)", n, hi/lo,
			strconv.FormatFloat(lo, 'g', 3, 64), strconv.FormatFloat(hi, 'g', 3, 64))
		r.Ns = 0
	}
	if m.Bytes > 0 && r.Ns > 0 {
		r.MBPerS = float64(m.Bytes) / r.Ns * 1e3
	}
	if m.Memory != nil && o.Instances > 0 {
		b, err := m.Memory(o.Instances)
		switch {
		case err == nil:
			r.Bytes, r.BytesOf = b, o.Instances
		case !errors.Is(err, ErrUnavailable): // else the row has times but no bytes
			return fail(err)
		}
	}
	return r
}

// SetRatios sets the Ratio of every result with numbers: its time over
// the time of its section's baseline (or fastest) row, or for throughput
// rows its throughput over the baseline's.
func SetRatios(rs []Result) {
	base := map[Section]Result{}
	for _, r := range rs {
		b, ok := base[r.Section]
		switch {
		case r.Ns <= 0 || b.Baseline:
		case r.Baseline, !ok, r.Ns < b.Ns:
			base[r.Section] = r
		}
	}
	for i, r := range rs {
		b := base[r.Section]
		switch {
		case r.Ns <= 0:
		case r.MBPerS > 0 && b.MBPerS > 0:
			rs[i].Ratio = r.MBPerS / b.MBPerS
		default:
			rs[i].Ratio = r.Ns / b.Ns
		}
	}
}

// NoisyFactor is how far apart the slowest and the fastest of a row's runs
// may be before the row is marked Noisy instead of reporting a median.
const NoisyFactor = 4

// calibrate returns the number of operations that run takes about target
// for, growing the count as testing.B does. One operation is run first
// and its time not used: a cold first run (a poller to make, a library to
// load, a first collection) once made a row settle on one operation and
// report its set-up as the cost of an operation.
func calibrate(run func(int) (time.Duration, error), target time.Duration) (int, error) {
	const most = 1 << 30
	if _, err := run(1); err != nil {
		return 0, err
	}
	for n := 1; ; {
		d, err := run(n)
		if err != nil {
			return 0, err
		}
		if d >= target/2 || n >= most {
			return clamp(float64(n)*float64(target)/float64(max(d, 1)), 1, most), nil
		}
		// Aim 20% past the target, growing at most 100-fold per step.
		next := 100 * n
		if d > 0 {
			next = clamp(1.2*float64(n)*float64(target)/float64(d), n+1, 100*n)
		}
		n = min(next, most)
	}
}

func clamp(x float64, lo, hi int) int {
	return int(math.Max(float64(lo), math.Min(float64(hi), x)))
}

// Median returns the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
