package expat

import (
	"github.com/corokernel/corokernel/internal/gocoro"
	"io"
	"iter"
	"runtime"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
)

// The ctx.YieldFuncTag tags of the three handlers in the pull loop.
const (
	tagStart = 1 + iota
	tagEnd
	tagText
)

// handlers are the pull loop's handler addresses: tagged yield functions.
var handlers = func() (h [tagText + 1]uintptr) {
	for t := tagStart; t <= tagText; t++ {
		var err error
		if h[t], err = ctx.YieldFuncTag(t); err != nil {
			panic(err)
		}
	}
	return
}()

// Events parses the XML that r holds and yields its events in document
// order, pulled one at a time from libexpat running on a coroutine. The
// yielded *Event is the same on every iteration, and its slices are valid
// only until the next (see the package documentation); once the loop has
// ended it is empty (Kind 0, no name, text or attributes).
//
// The sequence ends after the document's last event, or with one
// (nil, err): a *SyntaxError, r's error, or an error wrapping
// ErrUnavailable. Breaking out of the loop, or a panic in its body, stops
// the parser and frees it before the loop statement finishes.
func Events(r io.Reader) iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		ps, err := newParser(r)
		if err != nil {
			yield(nil, err)
			return
		}
		defer ps.free()
		// The loop keeps its OS thread for its whole life, across the
		// chunks' coroutines (each is bound to it anyway: see ctx.Resume),
		// except inside one of the runtime's coroutines (iter.Pull, a
		// kernel's Go task), where the runtime forbids it; there a move
		// of the goroutine shows as ctx.ErrThread.
		if !gocoro.InGoCoroutine() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
		}
		call(lib.setElementHandler, ps.p, handlers[tagStart], handlers[tagEnd])
		call(lib.setCharacterDataHandler, ps.p, handlers[tagText])
		var c *ctx.Coroutine // the chunk being parsed
		ev := new(Event)
		since := 0 // bytes fed since the last event
		defer func() {
			if c != nil {
				ps.stop(c)
			}
			// An Event kept past the loop reads as empty: its slices
			// would point into the freed parser's buffers.
			*ev = Event{}
		}()
		for {
			n, final, err := ps.fill()
			if err != nil {
				yield(nil, err)
				return
			}
			// XML_ParseBuffer(parser, n, final), on a coroutine: each
			// handler call suspends it. libexpat only computes between
			// handler calls (the reading is done here, in Go), so the
			// coroutine runs in direct mode, without a cgocall per event:
			// while events come, a resume does at most about a chunk's
			// work. A token longer than that (a megabyte attribute) is
			// finished in one call, which in direct mode would hold a
			// garbage collection, and every goroutine, for its whole
			// length; so once a chunk's worth has gone by without an
			// event, chunks go through cgocall until events come again.
			since += n
			var mode []ctx.Option
			if since <= ChunkSize {
				mode = append(mode, ctx.WithDirect())
			}
			c, err = ctx.NewCall(lib.parseBuffer, []uintptr{ps.p, uintptr(n), b2u(final)}, mode...)
			if err != nil {
				yield(nil, err)
				return
			}
			for {
				status, done, err := c.Resume(0)
				if err != nil {
					yield(nil, err)
					return
				}
				if done {
					c.Close()
					c = nil
					if int32(status) == 0 { // XML_STATUS_ERROR
						yield(nil, ps.syntaxError())
						return
					}
					break
				}
				since = 0
				a := c.Args() // the handler's arguments: (userData, ...)
				switch c.Tag() {
				case tagStart:
					*ev = Event{Kind: Start, Name: cstring(ptr(a[1])), atts: ptr(a[2])}
				case tagEnd:
					*ev = Event{Kind: End, Name: cstring(ptr(a[1]))}
				default:
					*ev = Event{Kind: Text, Text: unsafe.Slice((*byte)(ptr(a[1])), int32(a[2]))}
				}
				if !yield(ev, nil) {
					return
				}
			}
			if final {
				return
			}
		}
	}
}

// stop ends a parse the loop left inside a handler: XML_StopParser, as a
// handler may call it, then resumes until XML_ParseBuffer returns (libexpat
// calls at most one more handler, an empty element's end, before it checks)
// and closes the coroutine. Should the body still not return, Close
// abandons it; the parser's memory is all on the C heap, and free releases
// it.
func (ps *parser) stop(c *ctx.Coroutine) {
	if c.Status() == ctx.Suspended {
		call(lib.stopParser, ps.p, 0)
		for i := 0; i < 8 && c.Status() == ctx.Suspended; i++ {
			if _, _, err := c.Resume(0); err != nil {
				break
			}
		}
	}
	c.Close()
}

func b2u(b bool) uintptr {
	if b {
		return 1
	}
	return 0
}
