package expat

import (
	"errors"
	"io"
	"sync"
	"unsafe"

	"github.com/corokernel/corokernel"
	"github.com/ebitengine/purego"
)

// Walk parses the XML that r holds and calls fn with each event, in
// document order: the push (SAX) style, libexpat calling its handlers,
// Go functions, through purego callbacks. The *Event and its slices are
// valid only during the call.
//
// fn does not run inside libexpat's frames: each handler queues its event
// and suspends the parser (XML_StopParser, resumable), XML_ParseBuffer
// returns, Walk calls fn, and XML_ResumeParser goes on. A panic or a
// runtime.Goexit (t.FailNow) in fn therefore leaves a suspended parser,
// which Walk frees whole on its way out, instead of abandoning libexpat in
// the middle of a call, after which libexpat 2.5 leaks the parser (70 KB)
// whatever is freed. An error from fn ends the parse; Walk returns it.
// Otherwise Walk returns nil, a *SyntaxError, r's error, or an error
// wrapping ErrUnavailable.
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
	w := &walk{ps: ps}
	// An Event fn kept past Walk reads as empty, not as freed memory.
	ev := new(Event)
	defer func() { *ev = Event{} }()
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
		status := call(lib.parseBuffer, ps.p, uintptr(n), b2u(final))
		for status == statusSuspended {
			// The queued events (a handler's, and any libexpat made
			// before the suspension took hold: an empty element's end),
			// outside libexpat's frames.
			for i := range w.queue {
				*ev = w.queue[i]
				if err := fn(ev); err != nil {
					return err
				}
			}
			clear(w.queue)
			w.queue = w.queue[:0]
			// One argument: the machine layer's cgocall, which does not
			// allocate as purego's variadic call does.
			status = uintptr(corokernel.Call(lib.resumeParser, ptr(ps.p)))
		}
		switch {
		case status == statusError:
			return ps.syntaxError()
		case final:
			return nil
		}
	}
}

// XML_Status values.
const (
	statusError     = 0
	statusSuspended = 2
)

// walk is one Walk in progress: the events its handlers queued since the
// parser last suspended.
type walk struct {
	ps    *parser
	queue []Event
}

// push queues an event; the first of a suspension suspends the parser.
func (w *walk) push(ev Event) {
	if len(w.queue) == 0 {
		call(lib.stopParser, w.ps.p, 1) // resumable: XML_ParseBuffer returns XML_STATUS_SUSPENDED
	}
	w.queue = append(w.queue, ev)
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
			walks.get(ud).push(Event{Kind: Start, Name: cstring(ptr(name)), atts: ptr(atts)})
		})
		push.end = purego.NewCallback(func(ud, name uintptr) {
			walks.get(ud).push(Event{Kind: End, Name: cstring(ptr(name))})
		})
		push.text = purego.NewCallback(func(ud, s uintptr, n int32) {
			walks.get(ud).push(Event{Kind: Text, Text: unsafe.Slice((*byte)(ptr(s)), n)})
		})
	})
	return &push
}
