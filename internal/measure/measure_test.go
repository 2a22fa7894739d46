package measure

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corokernel/corokernel/kernel"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(tc.xs); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

// TestCalibrate runs calibrate against a fake clock: 1 µs per operation
// plus 1 ms of overhead per run.
func TestCalibrate(t *testing.T) {
	var calls []int
	run := func(n int) (time.Duration, error) {
		calls = append(calls, n)
		return time.Millisecond + time.Duration(n)*time.Microsecond, nil
	}
	n, err := calibrate(run, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if n < 90_000 || n > 110_000 {
		t.Errorf("calibrate = %d operations, want about 100,000 (runs %v)", n, calls)
	}
	// The first run is the cold one, of one operation, whose time is not
	// used; the calibration proper starts again from one.
	if len(calls) < 2 || calls[0] != 1 || calls[1] != 1 {
		t.Errorf("runs %v: want a cold run of one operation first", calls)
	}
	for i := 2; i < len(calls); i++ {
		if calls[i] <= calls[i-1] || calls[i] > 100*calls[i-1] {
			t.Errorf("runs %v: each must grow, at most 100-fold", calls)
		}
	}
	boom := errors.New("boom")
	if _, err := calibrate(func(int) (time.Duration, error) { return 0, boom }, time.Second); err != boom {
		t.Errorf("calibrate of a failing run: %v, want %v", err, boom)
	}
}

func TestSetRatios(t *testing.T) {
	rs := []Result{
		{Name: "a", Section: Switch, Ns: 30},
		{Name: "b", Section: Switch, Ns: 10},
		{Name: "gone", Section: Switch, Unavailable: "why"},
		{Name: "c", Section: IOWait, Ns: 1000},
		{Name: "d", Section: Throughput, Ns: 20, MBPerS: 500},
		{Name: "base", Section: Throughput, Ns: 10, MBPerS: 1000, Baseline: true},
		{Name: "e", Section: Throughput, Ns: 5, MBPerS: 2000},
	}
	SetRatios(rs)
	want := map[string]float64{"a": 3, "b": 1, "gone": 0, "c": 1, "d": 0.5, "base": 1, "e": 2}
	for _, r := range rs {
		if r.Ratio != want[r.Name] {
			t.Errorf("%s: ratio %v, want %v", r.Name, r.Ratio, want[r.Name])
		}
	}
}

func TestStepGen(t *testing.T) {
	var g StepGen
	for want := range uintptr(5) {
		if v := g.Next(); v != want {
			t.Fatalf("Next = %d, want %d", v, want)
		}
	}
}

// fakeC is a CLib without a C compiler.
type fakeC struct{}

func (fakeC) Run(name string, n int, out []uintptr) (int, uintptr, error) {
	return n, 0, nil
}
func (fakeC) Sym(name string) (uintptr, error) { return 0, errors.New("no symbols") }

func config() Config {
	return Config{
		LoadC: func() (CLib, error) { return nil, Unavailable("no C compiler here") },
		EchoServers: map[string]EchoServer{
			"go":     func() (func(int) kernel.Task, error) { return kernel.GoEchoServer, nil },
			"step":   func() (func(int) kernel.Task, error) { return kernel.StepEchoServer, nil },
			"native": func() (func(int) kernel.Task, error) { return nil, Unavailable("no C compiler here") },
		},
		BusesFeedSize: 300e3,
	}
}

// TestMechanisms measures every mechanism briefly: each must give a time
// per operation or say why it is unavailable, and the rows that measure
// memory must find some.
func TestMechanisms(t *testing.T) {
	ms := Mechanisms(config())
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
		if m.Kind == "" || m.What == "" || m.Run == nil {
			t.Errorf("%s: kind %q, what %q, run %v: want all three", m.Name, m.Kind, m.What, m.Run != nil)
		}
		if m.Section.PerSecond() != (m.Bytes > 0 || m.FeedBytes != nil) {
			t.Errorf("%s: section %s with %d bytes per operation", m.Name, m.Section, m.Bytes)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("duplicate names in %q", names)
	}
	for _, want := range []string{"ctx native loop", "iter.Pull", "C ccr", "kernel go task", "kernel native task", "epoll, 1000 idle fds", "echo step tasks", "echo native tasks", "echo net"} {
		if !slices.Contains(names, want) {
			t.Errorf("no row %q in %q", want, names)
		}
	}
	for _, m := range ms {
		t.Run(m.Name, func(t *testing.T) {
			r := Measure(m, Options{Target: 2 * time.Millisecond, Runs: 3, Instances: 200})
			if r.Name != m.Name || r.Section != m.Section || r.Kind != m.Kind || r.What != m.What {
				t.Errorf("result %+v does not describe %s", r, m.Name)
			}
			switch {
			case r.Err != "":
				t.Fatalf("failed: %s", r.Err)
			case r.Unavailable != "":
				if !strings.HasPrefix(m.Name, "C ") && m.Name != "boost.context" && m.Name != "ucontext" && m.Name != "echo native tasks" && m.Name != "c10k native tasks" && m.Name != "buses C floor" &&
					m.Name != "buses expat-pull, stages process" && // its child is corokernel itself: cmd/corokernel's TestBusesStages runs it
					m.Name != "echo gnet 1 loop" && // built with the go command: needs the module proxy once
					!strings.Contains(r.Unavailable, "io_uring") { // the uring rows, where io_uring is refused
					t.Errorf("unavailable: %s", r.Unavailable)
				}
				t.Logf("unavailable: %s", r.Unavailable)
				return
			}
			if r.Noisy != "" {
				// Runs this short on a loaded machine may disagree: the row
				// says so instead of giving a median; it still ran.
				if len(r.Runs) != 3 || r.Ops < 1 || slices.Min(r.Runs) <= 0 || r.Ns != 0 {
					t.Errorf("noisy (%s), with %d runs of %d operations, median %v", r.Noisy, len(r.Runs), r.Ops, r.Ns)
				}
				t.Logf("noisy: %s", r.Noisy)
				return
			}
			if len(r.Runs) != 3 || r.Ops < 1 || r.Ns <= 0 {
				t.Errorf("%d runs of %d operations, median %v ns", len(r.Runs), r.Ops, r.Ns)
			}
			if (m.Bytes > 0 || m.FeedBytes != nil) != (r.MBPerS > 0) {
				t.Errorf("%d bytes per operation, %v MB/s", m.Bytes, r.MBPerS)
			}
			if m.Memory != nil && (r.Bytes <= 0 || r.BytesOf != 200) {
				t.Errorf("memory: %v bytes each of %d instances", r.Bytes, r.BytesOf)
			}
			t.Logf("%.1f ns/op (%d ops), %.0f MB/s, %.0f bytes each", r.Ns, r.Ops, r.MBPerS, r.Bytes)
		})
	}
}

// TestUnavailable: a mechanism that cannot run says why, and one that
// fails says how, without numbers.
func TestUnavailable(t *testing.T) {
	run := func(int) (time.Duration, error) { t.Error("Run called"); return 0, nil }
	r := Measure(Mechanism{Name: "x", Avail: func() error { return Unavailable("no x here") }, Run: run}, Options{Runs: 1})
	if r.Unavailable != "no x here" || r.Err != "" || r.Ns != 0 {
		t.Errorf("unavailable: %+v", r)
	}
	r = Measure(Mechanism{Name: "y", Run: func(int) (time.Duration, error) { return 0, errors.New("y broke") }}, Options{Runs: 1})
	if r.Err != "y broke" || r.Unavailable != "" || r.Ns != 0 {
		t.Errorf("failed: %+v", r)
	}
	ok := func(n int) (time.Duration, error) { return time.Duration(n), nil }
	r = Measure(Mechanism{Name: "m", Run: ok, Memory: func(int) (float64, error) { return 0, errors.New("m broke") }}, Options{Runs: 1, Instances: 1})
	if r.Err != "m broke" || r.Ns != 0 || len(r.Runs) != 0 {
		t.Errorf("memory failed: %+v; want the error and no numbers", r)
	}
	r = Measure(Mechanism{Name: "u", Run: ok, Memory: func(int) (float64, error) { return 0, Unavailable("no u") }}, Options{Runs: 1, Instances: 1})
	if r.Err != "" || r.Unavailable != "" || r.Ns != 1 || r.Bytes != 0 {
		t.Errorf("memory unavailable: %+v; want the times and no bytes", r)
	}
	if !errors.Is(Unavailable("z"), ErrUnavailable) || errors.Is(errors.New("z"), ErrUnavailable) {
		t.Error("Unavailable errors must wrap ErrUnavailable, and only they")
	}
}

// TestGeneratorCount: a generator that ends early is an error.
func TestGeneratorCount(t *testing.T) {
	if _, err := Generator(short{}, "g", 10); err == nil {
		t.Error("Generator of a generator that gave 9 of 10 values: no error")
	}
	if _, err := Generator(fakeC{}, "g", 10); err != nil {
		t.Error(err)
	}
}

type short struct{ fakeC }

func (short) Run(name string, n int, out []uintptr) (int, uintptr, error) { return n - 1, 0, nil }

// TestCalibrateColdStart: a mechanism whose first run is slow (a set-up it
// does once) is calibrated on warm runs, not settled at one operation
// whose time is the set-up's; one whose runs disagree wildly is marked
// noisy, with no median printed as its result.
func TestCalibrateColdStart(t *testing.T) {
	first := true
	cold := Mechanism{Name: "cold", Section: Switch, Run: func(n int) (time.Duration, error) {
		if first {
			first = false
			return 5 * time.Millisecond, nil // as if it made a poller
		}
		return time.Duration(n) * 100 * time.Nanosecond, nil
	}}
	r := Measure(cold, Options{Target: 2 * time.Millisecond, Runs: 3})
	if r.Ops < 1000 || r.Ns != 100 || r.Noisy != "" {
		t.Errorf("a cold first run: %d ops, %v ns, noisy %q; want thousands of ops at 100 ns", r.Ops, r.Ns, r.Noisy)
	}
	runs := 0
	noisy := Mechanism{Name: "noisy", Section: Switch, Run: func(n int) (time.Duration, error) {
		runs++
		if runs%2 == 0 {
			return time.Duration(n) * 1000 * time.Nanosecond, nil
		}
		return time.Duration(n) * 100 * time.Nanosecond, nil
	}}
	r = Measure(noisy, Options{Target: time.Millisecond, Runs: 3})
	if r.Noisy == "" || r.Ns != 0 || len(r.Runs) != 3 {
		t.Errorf("runs 10x apart: noisy %q, ns %v, runs %v; want noisy, no median", r.Noisy, r.Ns, r.Runs)
	}
}
