package expat

import (
	"errors"
	"io"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Walk parses the XML that r holds and calls fn with each event, in
// document order, from libexpat's handlers: Go functions that libexpat
// calls through purego callbacks, the classic push (SAX) style. The
// *Event and its slices are valid only during the call.
//
// An error from fn stops the parser, and Walk returns it. A panic in fn
// stops the parser too; it is caught before it could cross libexpat's
// frames, and Walk panics with it once the parser has returned. Otherwise
// Walk returns nil, a *SyntaxError, r's error, or an error wrapping
// ErrUnavailable.
func Walk(r io.Reader, fn func(*Event) error) error {
	if fn == nil {
		return errors.New("expat: Walk with a nil function")
	}
	ps, err := newParser(r)
	if err != nil {
		return err
	}
	defer ps.free()
	cb := pushCallbacks()
	w := &walk{ps: ps, fn: fn}
	// An Event fn kept past Walk reads as empty, not as freed memory.
	defer func() { w.ev = Event{} }()
	h := walks.add(w)
	defer walks.remove(h)
	call(lib.setUserData, ps.p, h)
	call(lib.setElementHandler, ps.p, cb.start, cb.end)
	call(lib.setCharacterDataHandler, ps.p, cb.text)
	for {
		n, final, err := ps.fill()
		if err != nil {
			return err
		}
		status := int32(call(lib.parseBuffer, ps.p, uintptr(n), b2u(final)))
		switch {
		case w.panicked:
			panic(w.panicVal)
		case w.err != nil:
			return w.err
		case status == 0: // XML_STATUS_ERROR
			return ps.syntaxError()
		case final:
			return nil
		}
	}
}

// walk is one Walk in progress.
type walk struct {
	ps       *parser
	fn       func(*Event) error
	ev       Event
	err      error
	panicked bool
	panicVal any
}

// deliver calls fn with the event, turning an error or a panic into a
// stopped parser.
func (w *walk) deliver() {
	if w.err != nil || w.panicked {
		return // stopped: the handlers libexpat still calls are ignored
	}
	defer func() {
		if v := recover(); v != nil {
			w.panicked, w.panicVal = true, v
			call(lib.stopParser, w.ps.p, 0)
		}
	}()
	if err := w.fn(&w.ev); err != nil {
		w.err = err
		call(lib.stopParser, w.ps.p, 0)
	}
}

// walks maps the handle libexpat passes as user data to its walk, so that
// no Go pointer is kept by C.
var walks = &registry{m: map[uintptr]*walk{}}

type registry struct {
	mu   sync.Mutex
	next uintptr
	m    map[uintptr]*walk
}

func (r *registry) add(w *walk) uintptr {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.m[r.next] = w
	return r.next
}

func (r *registry) remove(h uintptr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, h)
}

func (r *registry) get(h uintptr) *walk {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[h]
}

// The three purego callbacks, made once: purego's callbacks are never
// freed, and there are at most 2000 of them in a process.
type callbacks struct {
	once             sync.Once
	start, end, text uintptr
}

var push callbacks

func pushCallbacks() *callbacks {
	push.once.Do(func() {
		push.start = purego.NewCallback(func(ud, name, atts uintptr) {
			w := walks.get(ud)
			w.ev = Event{Kind: Start, Name: cstring(ptr(name)), atts: ptr(atts)}
			w.deliver()
		})
		push.end = purego.NewCallback(func(ud, name uintptr) {
			w := walks.get(ud)
			w.ev = Event{Kind: End, Name: cstring(ptr(name))}
			w.deliver()
		})
		push.text = purego.NewCallback(func(ud, s uintptr, n int32) {
			w := walks.get(ud)
			w.ev = Event{Kind: Text, Text: unsafe.Slice((*byte)(ptr(s)), n)}
			w.deliver()
		})
	})
	return &push
}
