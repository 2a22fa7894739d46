package kernel

// The fuzzer's seed programs, written in a small notation, and the tests
// that run the checked-in corpus and check that the checks can fail.

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A seed program, named for the case it covers.
type fuzzSeed struct {
	name string
	p    program
}

// Shorthands for writing programs.
var (
	y, gt = sop{Op: fzYield}, sop{Op: fzGetTid}
)

func spawn(j, kind int) sop        { return sop{Op: fzSpawn, A: uint32(j), B: int64(kind)} }
func kill(a uint32, tid int64) sop { return sop{Op: fzKill, A: a, B: tid} }
func wait(a uint32, tid int64) sop { return sop{Op: fzWait, A: a, B: tid} }
func sleep(d time.Duration) sop    { return sop{Op: fzSleep, B: int64(d)} }
func ops(o ...sop) []sop           { return o }
func roots(r ...sroot) []sroot     { return r }
func root(script, kind int) sroot  { return sroot{Script: script, Kind: kind} }
func yields(n int, then ...sop) []sop {
	return append(slices.Repeat([]sop{y}, n), then...)
}

// fuzzSeeds is the seed corpus, also in testdata/fuzz/FuzzScheduler
// (written by go test -run TestFuzzCorpus -fuzzcorpus).
var fuzzSeeds = []fuzzSeed{
	{"pyos5-kill-ready", program{Poller: "select",
		Scripts: [][]sop{ops(spawn(1, kindGo), y, y, y, y, y, kill(tChild, 0)), yields(10)},
		Roots:   roots(root(0, kindStep))}},
	{"pyos6-wait-child", program{Poller: "poll",
		Scripts: [][]sop{ops(spawn(1, kindNative), wait(tChild, 0)), ops(gt, y, y, y, y)},
		Roots:   roots(root(0, kindGo))}},
	{"kill-while-waiting", program{Poller: "epoll",
		// 1 waits for 2; 3 kills 1 while it waits, then 2 ends.
		Scripts: [][]sop{ops(wait(tAbs, 2), gt), yields(4), ops(y, kill(tAbs, 1), wait(tAbs, 2))},
		Roots:   roots(root(0, kindNative), root(1, kindGo), root(2, kindStep))}},
	{"wait-self-kill-self", program{Poller: "select",
		// Wait and kill of oneself, of task 0 and of no task; the
		// waiter on the self-killer wakes.
		Scripts: [][]sop{ops(gt, wait(tMe, 0), wait(tAbs, 0), kill(tAbs, 0), wait(tAbs, 1005), kill(tAbs, 1009), y, kill(tMe, 0), y),
			ops(wait(tAbs, 1), gt)},
		Roots: roots(root(0, kindNative), root(1, kindGo), root(0, kindStep))}},
	{"chain-of-waits", program{Poller: "select",
		// Each task spawns the next kind's and waits for it; the last
		// yields.
		Scripts: [][]sop{ops(spawn(1, kindStep), wait(tChild, 0), gt), ops(spawn(2, kindNative), wait(tChild, 0)),
			ops(spawn(3, kindGo), wait(tChild, 0), y), yields(3, gt)},
		Roots: roots(root(0, kindGo))}},
	{"spawn-storm", program{Poller: "poll",
		// Every task spawns two more of each kind until the cap.
		Scripts: [][]sop{ops(spawn(0, kindGo), spawn(0, kindStep), spawn(0, kindNative), y, spawn(0, kindNative), gt)},
		Roots:   roots(root(0, kindGo), root(0, kindStep), root(0, kindNative))}},
	{"deadlock-cycle", program{Poller: "select",
		Scripts: [][]sop{ops(wait(tAbs, 2)), ops(wait(tAbs, 3), y), ops(y, wait(tAbs, 1))},
		Roots:   roots(root(0, kindGo), root(1, kindStep), root(2, kindNative))}},
	{"deadlock-after-end", program{Poller: "epoll",
		// 1 and 2 wait for each other; 3 ends normally first.
		Scripts: [][]sop{ops(y, wait(tAbs, 2)), ops(wait(tAbs, 1)), yields(5)},
		Roots:   roots(root(0, kindNative), root(1, kindNative), root(2, kindGo))}},
	{"kill-wakes-waiters-in-order", program{Poller: "select",
		// Task 2 yields; 3, 4 and 5 (one of each kind) wait for it; 1
		// kills it: they wake in the order they waited, before 1.
		Scripts: [][]sop{ops(spawn(2, kindNative), spawn(1, kindStep), spawn(1, kindNative), spawn(1, kindGo), y, y, kill(tAbs, 2), y),
			ops(wait(tAbs, 2), gt), yields(8)},
		Roots: roots(root(0, kindGo))}},
	{"kill-never-started", program{Poller: "poll",
		// A child killed before it ever ran, of each kind.
		Scripts: [][]sop{ops(spawn(1, kindGo), kill(tChild, 0), spawn(1, kindStep), kill(tChild, 0),
			spawn(1, kindNative), kill(tChild, 0), wait(tChild, 0)), ops(gt)},
		Roots: roots(root(0, kindGo), root(0, kindNative))}},
	{"native-batch-kill", program{Poller: "select",
		// Native yielders cycled in native code while a Go task kills
		// one of them and a step task waits for another.
		Scripts: [][]sop{yields(12), ops(y, y, y, kill(tAbs, 2), y, kill(tAbs, 3)), ops(wait(tAbs, 1), gt)},
		Roots:   roots(root(0, kindNative), root(0, kindNative), root(2, kindStep))}},
	{"mutual-kill", program{Poller: "epoll",
		Scripts: [][]sop{ops(y, kill(tAbs, 2), y), ops(y, kill(tAbs, 1), y)},
		Roots:   roots(root(0, kindGo), root(1, kindNative))}},
	{"sleepers", program{Poller: "epoll",
		// Real sleeps: the order depends on time.
		Scripts: [][]sop{ops(spawn(1, kindNative), sleep(20*time.Microsecond), wait(tChild, 0), spawn(1, kindGo), kill(tChild, 0)),
			ops(sleep(10*time.Microsecond), gt, sleep(30*time.Microsecond), y)},
		Roots: roots(root(0, kindStep), root(1, kindGo), root(0, kindNative))}},
	{"sleep-zero", program{Poller: "select",
		Scripts: [][]sop{ops(sleep(0), spawn(1, kindStep), sleep(0), wait(tChild, 0)), ops(sleep(0), kill(tAbs, 1))},
		Roots:   roots(root(0, kindNative))}},
}

var fuzzCorpus = flag.Bool("fuzzcorpus", false, "write the seed programs to testdata/fuzz/FuzzScheduler")

// TestFuzzCorpus checks that the seed programs round-trip through the
// fuzz input encoding and that testdata holds each one, as go test's
// corpus file; with -fuzzcorpus it writes them there.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzScheduler")
	for _, s := range fuzzSeeds {
		data := encode(&s.p)
		if got := decode(data); got.String() != s.p.String() || got.Poller != s.p.Poller {
			t.Errorf("%s: decodes to\n%v\nwant\n%v", s.name, got, &s.p)
		}
		file := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		path := filepath.Join(dir, "seed-"+s.name)
		if *fuzzCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != file {
			t.Errorf("%s: not in testdata as written (go test -run TestFuzzCorpus -fuzzcorpus): %v", path, err)
		}
	}
	// Any input: decode, encode and decode again gives the same program.
	for i := range 2000 {
		data := []byte(strconv.Itoa(i * 7919))
		for j := range i % 40 {
			data = append(data, byte(i*31+j*17))
		}
		p := decode(data)
		if q := decode(encode(p)); q.String() != p.String() || q.Poller != p.Poller {
			t.Fatalf("input %q: %v re-decodes to %v", data, p, q)
		}
	}
}

// TestFuzzChecks makes sure the checks can fail: outcomes broken on
// purpose are caught, each by the check meant for it.
func TestFuzzChecks(t *testing.T) {
	s := fuzzSeeds[1] // pyos6-wait-child: 1 waits for its child 2
	if bad := checkFacts(&s.p, runModel(&s.p)); len(bad) > 0 {
		t.Fatalf("the model's outcome breaks the facts: %v", bad)
	}
	for _, tc := range []struct {
		name, want string
		breakIt    func(o *outcome)
	}{
		{"lost task", "task 2 terminated 0 times", func(o *outcome) { o.Log = o.Log[1:] }},
		{"twice", "task 2 terminated 2 times", func(o *outcome) { o.Log = append(o.Log, 2) }},
		{"bad gettid", "task 2: GetTid = 1", func(o *outcome) { o.Tasks[1].Res[0] = 1 }},
		{"bad spawn", "spawn into slot 1 = task 3", func(o *outcome) { o.Tasks[0].Res[0] = 3 }},
		{"false deadlock", "deadlock, but no task left waits", func(o *outcome) { o.Deadlock = true }},
		{"not ended", "no deadlock, but task 1 neither", func(o *outcome) {
			o.Tasks[0].Done, o.Tasks[0].PC, o.Tasks[0].Res = false, 1, o.Tasks[0].Res[:1]
			o.Events = o.Events[:len(o.Events)-1]
		}},
		{"lost wakeup", "deadlock, but no task left waits for another (left: [1])", func(o *outcome) {
			// 1 is left waiting for 2, which ended, and Run reports a
			// deadlock.
			o.Tasks[0].Done, o.Tasks[0].PC, o.Tasks[0].Res = false, 1, o.Tasks[0].Res[:1]
			o.Events = o.Events[:len(o.Events)-1]
			o.Deadlock = true
		}},
	} {
		o := runModel(&s.p)
		tc.breakIt(o)
		bad := checkFacts(&s.p, o)
		if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, tc.want) }) {
			t.Errorf("%s: want %q among %q", tc.name, tc.want, bad)
		}
	}
}
