//go:build linux

package kernel

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corokernel/corokernel/internal/cabi"
)

// rss returns the resident set size in bytes, from /proc/self/statm, or
// -1 if it cannot be read.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// endCounter counts the "Task N terminated" lines of WithLog.
type endCounter int

func (c *endCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			*c++
		}
	}
	return len(p), nil
}

// churnYielder is the step task of TestChurnTasks: GetTid, Yield, end.
type churnYielder struct{ n int }

func (m *churnYielder) Step(int64) Trap {
	switch m.n++; m.n {
	case 1:
		return GetTid()
	case 2:
		return Yield()
	}
	return Exit(0)
}

// TestChurnTasks spawns and ends 1,000,000 tasks of each kind (step, Go,
// native) in one kernel, in rounds of 1000 alive at once (native: 64, the
// number of stacks package ctx keeps for reuse), each making two traps
// before it ends, and checks that every task ended, that the kernel's
// tables are empty afterwards, and that RSS after warm-up stays within a
// bound (a task leaves nothing behind: no stack, no table entry). A last
// case runs 100,000 native tasks 1000 at a time, so that most stacks are
// unmapped when their task ends and mapped anew for the next: that costs
// an mmap, an mprotect and a munmap per task, as ctx's TestChurn shows. In
// -short mode, a tenth of each. Under emulation (CK_EXEC_WRAPPER) RSS is
// the emulator's, and under the race detector it holds the detector's
// state for every goroutine that ever ran (each Go task's coroutine is
// one): it is logged, not checked; under the race detector a hundredth of
// each kind runs.
func TestChurnTasks(t *testing.T) {
	if rss() < 0 {
		t.Skip("cannot read the RSS from /proc/self/statm")
	}
	const warm = 5000 // tasks before the RSS baseline
	const bound = 16 << 20
	step := func() Task { return Step(&churnYielder{}) }
	goTask := func() Task { return Go(func(s *Sys) { s.GetTid(); s.Yield() }) }
	native := func() Task { return Native(cabi.YieldN, 2) }
	for _, c := range []struct {
		name        string
		task        func() Task
		total, live int
	}{
		{"step", step, 1_000_000, 1000},
		{"go", goTask, 1_000_000, 1000},
		{"native", native, 1_000_000, 64},
		{"native-unmapped", native, 100_000, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			total, live := c.total, c.live
			race := raceEnabled()
			switch {
			case race:
				total /= 100
			case testing.Short():
				total /= 10
			}
			warmed := min(warm, total/2) / live * live // tasks before the baseline
			var ended endCounter
			k := New(WithLog(&ended))
			var base, peak int64
			var start time.Time
			tids := make([]TID, live)
			k.Spawn(Go(func(s *Sys) {
				for n := 0; n < total; n += live {
					if n == warmed {
						base, peak, start = rss(), 0, time.Now()
					}
					for i := range tids {
						tids[i] = k.Spawn(c.task())
					}
					if k.NumTasks() != live+1 {
						t.Errorf("after %d tasks: %d tasks alive, want %d", n, k.NumTasks(), live+1)
						return
					}
					for _, tid := range tids {
						s.WaitTask(tid)
					}
					if left := k.NumTasks(); left != 1 {
						t.Errorf("after %d tasks: %d tasks left after waiting for all", n+live, left)
						return
					}
					if n >= warmed {
						peak = max(peak, rss())
					}
				}
			}))
			if err := k.Run(); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			checkEmpty(t, k)
			spawned := (total + live - 1) / live * live
			if int(ended) != spawned+1 {
				t.Fatalf("%d tasks ended, want %d", ended, spawned+1)
			}
			timed := spawned - warmed
			t.Logf("%s: %d tasks, %d alive at once: RSS after warm-up %d KiB, peak %d KiB (+%d KiB); %.0f ns/task (%.2fM tasks/s)",
				c.name, spawned, live, base>>10, peak>>10, (peak-base)>>10,
				float64(d.Nanoseconds())/float64(timed), float64(timed)/d.Seconds()/1e6)
			if w := os.Getenv("CK_EXEC_WRAPPER"); w != "" {
				t.Logf("under emulation (%s): RSS not checked", w)
				return
			}
			if race {
				t.Logf("under the race detector: RSS not checked")
				return
			}
			if peak-base > bound {
				t.Fatalf("RSS grew by %d KiB over %d %s tasks (bound %d KiB): tasks leak", (peak-base)>>10, spawned, c.name, bound>>10)
			}
		})
	}
}
