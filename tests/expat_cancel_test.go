package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/ebitengine/purego"
)

// buildExpatBody compiles testdata/expat_body.c into a shared library
// linked with libexpat, or skips naming what is missing.
func buildExpatBody(t *testing.T) uintptr {
	t.Helper()
	cc := strings.Fields(os.Getenv("CC"))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		t.Skipf("no C compiler (%s): install Debian's gcc", cc[0])
	}
	if _, err := os.Stat("/usr/include/expat.h"); err != nil {
		t.Skip("no expat.h: install Debian's libexpat1-dev (.ci/run does)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "corokernel.h"), []byte(ctx.Header), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(dir, "body.so")
	src, _ := filepath.Abs("testdata/expat_body.c")
	args := append(cc[1:], "-O2", "-shared", "-fPIC", "-I", dir, "-o", lib, src, "-lexpat")
	if out, err := exec.Command(cc[0], args...).CombinedOutput(); err != nil {
		t.Skipf("cannot build the expat body (%v): %s", err, out)
	}
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func rssKiB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	return pages * int64(os.Getpagesize()) >> 10
}

// TestExpatCancel: 200,000 coroutines each parse a document with libexpat,
// their loop breaking after two events; Close cancels each body, which
// stops and frees its parser. Every parser is freed and RSS stays flat.
func TestExpatCancel(t *testing.T) {
	// The bodies are bound to the thread they run on, and preemption moves
	// a goroutine even between two resumes: stay on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h := buildExpatBody(t)
	sym := func(name string) uintptr {
		p, err := purego.Dlsym(h, name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	body := sym("expat_body")
	count := func(name string) int64 {
		r, _, _ := purego.SyscallN(sym(name))
		return int64(r)
	}
	doc := append([]byte(`<doc><a/><b/><c/><d/><e>`+strings.Repeat("<f/>", 200)+`</e></doc>`), 0)
	var pin runtime.Pinner
	pin.Pin(&doc[0])
	defer pin.Unpin()

	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	parse := func() {
		c, err := ctx.New(body, uintptr(unsafe.Pointer(&doc[0])))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"doc", "a"} {
			p, done, err := c.ResumePtr(0)
			if err != nil || done {
				t.Fatalf("event: done %v, %v", done, err)
			}
			if got := unsafe.String((*byte)(p), len(want)); got != want {
				t.Fatalf("event %q, want %q", got, want)
			}
		}
		if err := c.Close(); err != nil { // the loop broke after two events
			t.Fatal(err)
		}
	}
	for range n / 10 { // warm-up: the pool, the heap and libexpat's allocator settle
		parse()
	}
	// Both readings from a settled heap: what earlier tests left behind,
	// and the garbage collector's pacing, are not what this measures.
	debug.FreeOSMemory()
	base := rssKiB(t)
	for range n - n/10 {
		parse()
	}
	debug.FreeOSMemory()
	grew := rssKiB(t) - base
	t.Logf("%d parses: %d created, %d cancelled, %d freed; RSS %d KiB after warm-up, %+d KiB after", n, count("expat_created"), count("expat_cancelled"), count("expat_freed"), base, grew)
	if c, f, x := count("expat_created"), count("expat_freed"), count("expat_cancelled"); c != int64(n) || f != c || x != c {
		t.Fatalf("%d parsers created, %d cancelled, %d freed; want %d of each", c, x, f, n)
	}
	if raceEnabled {
		return // the race detector's shadow memory grows with every allocation
	}
	if grew > 8<<10 {
		t.Fatalf("RSS grew by %d KiB over %d cancelled parses", grew, n)
	}
}
