package expat_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/corokernel/corokernel/expat"
)

func need(t testing.TB) {
	t.Helper()
	if err := expat.Available(); err != nil {
		if runtime.GOARCH == "arm64" && os.Getenv("CK_EXEC_WRAPPER") != "" {
			t.Skipf("%v: under qemu that is libexpat1:arm64 (dpkg --add-architecture arm64; .ci/run tries)", err)
		}
		t.Skip(err) // names Debian's libexpat1
	}
}

// trace renders a stream of events, text fragments joined.
type trace struct {
	b    strings.Builder
	text bool
}

func (tr *trace) add(ev *expat.Event) {
	if ev.Kind != expat.Text && tr.text {
		tr.b.WriteString("] ")
		tr.text = false
	}
	switch ev.Kind {
	case expat.Start:
		fmt.Fprintf(&tr.b, "<%s", ev.Name)
		for i := range ev.NumAttrs() {
			k, v := ev.Attr(i)
			fmt.Fprintf(&tr.b, " %s=%q", k, v)
		}
		tr.b.WriteString("> ")
	case expat.End:
		fmt.Fprintf(&tr.b, "</%s> ", ev.Name)
	case expat.Text:
		if !tr.text {
			tr.b.WriteString("[")
			tr.text = true
		}
		tr.b.Write(ev.Text)
	}
}

const doc = `<?xml version="1.0"?>
<buses a="1" b="x &amp; y"><bus><id>1485</id>
  <finalStop><![CDATA[Paulina & Howard]]></finalStop><e/>&lt;&#65;</bus></buses>`

const want = `<buses a="1" b="x & y"> <bus> <id> [1485] </id> [
  ] <finalStop> [Paulina & Howard] </finalStop> <e> </e> [<A] </bus> </buses> `

// TestEvents: the pull loop and Walk see the same events, with names,
// attributes, entities and CDATA as written.
func TestEvents(t *testing.T) {
	need(t)
	var pull, push trace
	for ev, err := range expat.Events(strings.NewReader(doc)) {
		if err != nil {
			t.Fatal(err)
		}
		pull.add(ev)
	}
	if err := expat.Walk(strings.NewReader(doc), func(ev *expat.Event) error { push.add(ev); return nil }); err != nil {
		t.Fatal(err)
	}
	if pull.b.String() != want {
		t.Errorf("pull:\n%s\nwant\n%s", pull.b.String(), want)
	}
	if push.b.String() != want {
		t.Errorf("push:\n%s\nwant\n%s", push.b.String(), want)
	}
}

// TestChunks: a document of many 64 KiB chunks, its text split across
// chunk boundaries, comes out whole, through a reader that returns a few
// bytes at a time.
func TestChunks(t *testing.T) {
	need(t)
	var in strings.Builder
	in.WriteString("<r>")
	for i := range 30000 {
		fmt.Fprintf(&in, "<v>%d</v>", i)
	}
	in.WriteString("</r>")
	next := 0
	for ev, err := range expat.Events(io.MultiReader(strings.NewReader(in.String()[:7]), strings.NewReader(in.String()[7:]))) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == expat.Text {
			n, err := strconv.Atoi(string(ev.Text))
			if err != nil {
				// a number split at a chunk boundary arrives in two fragments
				continue
			}
			if n > next {
				next = n
			}
		}
	}
	if next < 29000 {
		t.Fatalf("saw numbers up to %d, want about 30000", next)
	}
}

// TestSyntaxError: a mismatched tag is a *SyntaxError with expat's
// message, line and column, from both styles.
func TestSyntaxError(t *testing.T) {
	need(t)
	check := func(style string, err error) {
		var se *expat.SyntaxError
		if !errors.As(err, &se) || se.Line != 1 || se.Msg != "mismatched tag" || se.Column == 0 {
			t.Errorf("%s: %v, want a mismatched tag at line 1", style, err)
		}
	}
	var last error
	n := 0
	for _, err := range expat.Events(strings.NewReader("<a><b></a>")) {
		last = err
		n++
	}
	check("Events", last)
	if n != 3 {
		t.Errorf("Events yielded %d items, want 2 events and the error", n)
	}
	check("Walk", expat.Walk(strings.NewReader("<a><b></a>"), func(*expat.Event) error { return nil }))
	var se *expat.SyntaxError
	if err := expat.Walk(strings.NewReader("<a>\n\n <b>"), func(*expat.Event) error { return nil }); !errors.As(err, &se) || se.Line != 3 {
		t.Errorf("unclosed document: %v, want an error at line 3", err)
	}
}

type failing struct{ n int }

var errDisk = errors.New("disk on fire")

func (f *failing) Read(p []byte) (int, error) {
	if f.n == 0 {
		f.n++
		return copy(p, "<a><b>"), nil
	}
	return 0, errDisk
}

type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

// TestReaderErrors: the reader's error ends both styles, wrapped; a reader
// that returns nothing forever is io.ErrNoProgress, not a hang.
func TestReaderErrors(t *testing.T) {
	need(t)
	var last error
	for _, err := range expat.Events(&failing{}) {
		last = err
	}
	if !errors.Is(last, errDisk) {
		t.Errorf("Events: %v, want the reader's error", last)
	}
	if err := expat.Walk(&failing{}, func(*expat.Event) error { return nil }); !errors.Is(err, errDisk) {
		t.Errorf("Walk: %v, want the reader's error", err)
	}
	for _, err := range expat.Events(stuck{}) {
		last = err
	}
	if !errors.Is(last, io.ErrNoProgress) {
		t.Errorf("a reader stuck at 0 bytes: %v, want io.ErrNoProgress", last)
	}
}

// TestNilArguments: a nil reader or function is an error, not a crash.
func TestNilArguments(t *testing.T) {
	var last error
	for _, err := range expat.Events(nil) {
		last = err
	}
	if last == nil {
		t.Error("Events(nil): no error")
	}
	if err := expat.Walk(nil, func(*expat.Event) error { return nil }); err == nil {
		t.Error("Walk(nil, fn): no error")
	}
	if err := expat.Walk(strings.NewReader("<a/>"), nil); err == nil {
		t.Error("Walk(r, nil): no error")
	}
}

// TestWalkStops: an error from Walk's function stops the parser and is
// returned; a panic stops it too and comes out of Walk with its value.
func TestWalkStops(t *testing.T) {
	need(t)
	big := "<r>" + strings.Repeat("<x/>", 10000) + "</r>"
	stop := errors.New("enough")
	n := 0
	err := expat.Walk(strings.NewReader(big), func(*expat.Event) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n > 6 {
		t.Errorf("Walk: %v after %d events, want the function's error after 5", err, n)
	}
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("Walk's panic: %v, want boom", v)
			}
		}()
		expat.Walk(strings.NewReader(big), func(*expat.Event) error { panic("boom") })
		t.Error("Walk returned after its function panicked")
	}()
}

// TestClone: a cloned event keeps its contents after the loop moved on.
func TestClone(t *testing.T) {
	need(t)
	var kept []*expat.Event
	for ev, err := range expat.Events(strings.NewReader(`<a k="v">t1</a>`)) {
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, ev.Clone())
	}
	if len(kept) != 3 || string(kept[0].Name) != "a" || string(kept[1].Text) != "t1" || string(kept[2].Name) != "a" {
		t.Fatalf("cloned events: %+v", kept)
	}
	if v, ok := kept[0].Get("k"); !ok || string(v) != "v" || kept[0].NumAttrs() != 1 {
		t.Errorf("cloned attribute: %q %v", v, ok)
	}
}

// TestRetainedEvent: an *Event kept past its loop (not cloned) reads as
// an empty event, attributes and all, never as the freed parser's memory;
// for Events and for Walk.
func TestRetainedEvent(t *testing.T) {
	need(t)
	doc := `<a k="v" j="w">` + strings.Repeat("<b/>", 5000) + `</a>`
	var kept *expat.Event
	for ev, err := range expat.Events(strings.NewReader(doc)) {
		if err != nil {
			t.Fatal(err)
		}
		if kept == nil {
			kept = ev
		}
		if ev.Kind == expat.End && string(ev.Name) == "b" {
			break
		}
	}
	var pushed *expat.Event
	if err := expat.Walk(strings.NewReader(doc), func(ev *expat.Event) error {
		pushed = ev
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	for name, ev := range map[string]*expat.Event{"Events": kept, "Walk": pushed} {
		if ev.Kind != 0 || ev.Name != nil || ev.Text != nil || ev.NumAttrs() != 0 {
			t.Errorf("%s: an event kept past its loop: %+v, %d attributes", name, *ev, ev.NumAttrs())
		}
		if v, ok := ev.Get("k"); ok || v != nil {
			t.Errorf("%s: Get on a kept event: %q, %v", name, v, ok)
		}
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "attribute 0 of 0") {
					t.Errorf("%s: Attr(0) on a kept event: panic %v, want the out-of-range panic", name, p)
				}
			}()
			ev.Attr(0)
		}()
	}
}

// TestZeroAllocs: the pull loop allocates per parse and per 64 KiB chunk
// (a coroutine for each), never per event: two documents of the same
// size, one of 210,000 events and one of a handful, cost the same
// allocations.
func TestZeroAllocs(t *testing.T) {
	need(t)
	const n = 70000
	dense := []byte("<r>" + strings.Repeat("<x>t</x>", n) + "</r>")
	sparse := []byte("<r><x>" + strings.Repeat("t", 8*n-7) + "</x></r>")
	if len(dense) != len(sparse) {
		t.Fatalf("sizes differ: %d and %d", len(dense), len(sparse))
	}
	r := bytes.NewReader(nil)
	count := func(b []byte) (allocs float64, events int) {
		allocs = testing.AllocsPerRun(5, func() {
			r.Reset(b)
			events = 0
			for _, err := range expat.Events(r) {
				if err != nil {
					t.Fatal(err)
				}
				events++
			}
		})
		return
	}
	ad, ed := count(dense)
	as, es := count(sparse)
	t.Logf("allocations per parse of %d bytes: %v for %d events, %v for %d", len(dense), ad, ed, as, es)
	if ed < 3*n || ad > as {
		t.Fatalf("%v allocations for %d events against %v for %d: the loop allocates per event", ad, ed, as, es)
	}
}

func rssKiB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	return pages * int64(os.Getpagesize()) >> 10
}

// TestBreakFreesParser: 200,000 parses broken off after two events each,
// half by break and half by a panic in the loop body, keep RSS flat:
// every parser is stopped and freed, every coroutine closed.
func TestBreakFreesParser(t *testing.T) {
	need(t)
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	body := []byte("<doc><a/><b/><c>" + strings.Repeat("<f>text</f>", 300) + "</c></doc>")
	r := bytes.NewReader(nil)
	parse := func(i int) {
		if i%2 == 1 {
			defer func() {
				if v := recover(); v != "stop" {
					t.Fatalf("panic in the loop body came out as %v", v)
				}
			}()
		}
		r.Reset(body)
		seen := 0
		for _, err := range expat.Events(r) {
			if err != nil {
				t.Fatal(err)
			}
			if seen++; seen == 2 {
				if i%2 == 1 {
					panic("stop")
				}
				break
			}
		}
	}
	for i := range 2000 {
		parse(i)
	}
	before := rssKiB(t)
	for i := range n {
		parse(i)
	}
	after := rssKiB(t)
	t.Logf("%d parses broken off: RSS %d KiB -> %d KiB", n, before, after)
	if after-before > 8<<10 {
		t.Fatalf("RSS grew by %d KiB over %d broken-off parses", after-before, n)
	}
}

// TestConcurrent: pull loops and Walks on many goroutines at once each see
// their own document's events.
func TestConcurrent(t *testing.T) {
	need(t)
	errs := make(chan error, 16)
	for g := range 16 {
		go func() {
			in := fmt.Sprintf("<g%d>%s</g%d>", g, strings.Repeat(fmt.Sprintf("<x>%d</x>", g), 2000), g)
			want := fmt.Sprint(g)
			n := 0
			check := func(ev *expat.Event) error {
				if ev.Kind == expat.Text && string(ev.Text) != want {
					return fmt.Errorf("goroutine %d saw text %q", g, ev.Text)
				}
				n++
				return nil
			}
			var err error
			if g%2 == 0 {
				for ev, e := range expat.Events(strings.NewReader(in)) {
					if err = e; err == nil {
						err = check(ev)
					}
					if err != nil {
						break
					}
				}
			} else {
				err = expat.Walk(strings.NewReader(in), check)
			}
			if err == nil && n != 6002 {
				err = fmt.Errorf("goroutine %d: %d events, want 6002", g, n)
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
