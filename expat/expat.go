// Package expat parses XML with libexpat, loaded at run time, in the two
// styles of Beazley's expat example: a pull loop over the parser's events, and
// pushed callbacks.
//
// Events pulls:
//
//	for ev, err := range expat.Events(r) {
//		if err != nil {
//			return err // a *SyntaxError with expat's line and column, or r's error
//		}
//		switch ev.Kind {
//		case expat.Start:
//			fmt.Printf("<%s>", ev.Name)
//		case expat.Text:
//			os.Stdout.Write(ev.Text)
//		}
//	}
//
// There is no goroutine, no thread and no buffer of events behind the
// loop. The parser runs on a ctx coroutine (the machine layer's stackful
// coroutines for C code), and its start, end and character-data handlers
// are ctx.YieldFuncTag functions: each handler call suspends libexpat,
// inside its own stack frames, and is one iteration of the loop. The
// coroutine runs in ctx's direct mode (ctx.WithDirect): libexpat only
// computes between two events, so no cgocall is needed per event. A token
// longer than a chunk (a megabyte attribute) is different: libexpat
// finishes it in one call, which in direct mode would hold a garbage
// collection, and so every goroutine, for its whole length (430 ms for
// 64 MB); once a chunk has gone by without an event, chunks are parsed
// through cgocall until events come again. Breaking out of the loop, or a
// panic in it, stops the parser (XML_StopParser, as a handler would) and
// lets it return, then frees it.
//
// Walk pushes: the same handlers are Go functions called by libexpat
// through purego callbacks, the classic SAX style.
//
// # Zero copy
//
// An event's Name, Text and attributes point into libexpat's own buffers:
// they are valid until the loop's next iteration (or until the Walk
// callback returns), and are overwritten after. Clone copies an event into
// Go memory. The pull loop allocates nothing per event.
//
// # Input and errors
//
// Both read an io.Reader in chunks of ChunkSize (64 KiB, Beazley's
// buffer_size) straight into libexpat's buffer. A malformed document
// yields a *SyntaxError carrying expat's message, line and column; an
// error from the reader is returned wrapped. Text arrives as libexpat
// delivers it: in fragments (each newline is one, and so is each entity
// or CDATA section), which a consumer joins.
//
// # Requirements
//
// libexpat.so.1 (Debian's libexpat1) is opened with dlopen on first use;
// no C compiler is needed. Without it every call returns an error wrapping
// ErrUnavailable.
package expat

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// ChunkSize is how many bytes are read from the io.Reader and handed to
// libexpat at a time.
const ChunkSize = 64 << 10

// ErrUnavailable means libexpat could not be loaded.
var ErrUnavailable = errors.New("expat: libexpat.so.1 not found: install Debian's libexpat1")

// errNilReader is the error for a nil io.Reader.
var errNilReader = errors.New("expat: nil io.Reader")

// Kind is the kind of an Event.
type Kind uint8

// The kinds of events.
const (
	Start Kind = 1 + iota // an element's start tag: Name and attributes
	End                   // an element's end tag (also after an empty element's start): Name
	Text                  // character data, CDATA included, entities resolved: Text
)

func (k Kind) String() string {
	switch k {
	case Start:
		return "start"
	case End:
		return "end"
	case Text:
		return "text"
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// An Event is one handler call of libexpat. Its slices point into
// libexpat's memory and are valid for one iteration (see the package
// documentation); Clone makes a copy that stays.
type Event struct {
	Kind Kind
	Name []byte // Start and End: the element's name, as written ("ns:local")
	Text []byte // Text: the fragment

	atts  unsafe.Pointer // Start: libexpat's NULL-terminated name, value, ... array
	n     int            // NumAttrs + 1 once counted, 0 before: one pass per event
	owned [][]byte       // a Clone's attributes: name, value, ...
}

// NumAttrs returns the number of attributes of a Start event. The first
// call counts them (one pass over libexpat's array); the accessors after
// it cost O(1) per attribute.
func (e *Event) NumAttrs() int {
	if e.owned != nil {
		return len(e.owned) / 2
	}
	if e.n == 0 {
		n := 0
		for e.atts != nil && cstrAt(e.atts, 2*n) != nil {
			n++
		}
		e.n = n + 1
	}
	return e.n - 1
}

// Attr returns the i'th attribute's name and value (0 ≤ i < NumAttrs).
func (e *Event) Attr(i int) (name, value []byte) {
	if e.owned != nil {
		return e.owned[2*i], e.owned[2*i+1]
	}
	if n := e.NumAttrs(); i < 0 || i >= n {
		panic(fmt.Sprintf("expat: attribute %d of %d", i, n))
	}
	return cstring(cstrAt(e.atts, 2*i)), cstring(cstrAt(e.atts, 2*i+1))
}

// Get returns the value of the attribute called name, and whether there
// is one: one pass over the attributes.
func (e *Event) Get(name string) ([]byte, bool) {
	for i := range e.NumAttrs() {
		if n, v := e.Attr(i); string(n) == name {
			return v, true
		}
	}
	return nil, false
}

// Clone returns a copy of e in Go memory, valid for as long as it is kept.
func (e *Event) Clone() *Event {
	c := &Event{Kind: e.Kind}
	if e.Name != nil {
		c.Name = append([]byte{}, e.Name...)
	}
	if e.Text != nil {
		c.Text = append([]byte{}, e.Text...)
	}
	if n := e.NumAttrs(); n > 0 || e.Kind == Start {
		c.owned = make([][]byte, 0, 2*n)
		for i := range n {
			k, v := e.Attr(i)
			c.owned = append(c.owned, append([]byte{}, k...), append([]byte{}, v...))
		}
	}
	return c
}

// A SyntaxError is a document libexpat rejected.
type SyntaxError struct {
	Code   int    // expat's enum XML_Error
	Msg    string // XML_ErrorString's message, as "mismatched tag"
	Line   int    // 1-based
	Column int    // 0-based byte column, as expat counts
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("expat: line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// lib is libexpat's entry points.
var lib struct {
	once sync.Once
	err  error

	parserCreate, parserFree                   uintptr
	setElementHandler, setCharacterDataHandler uintptr
	setUserData, getBuffer, parseBuffer        uintptr
	stopParser, resumeParser                   uintptr
	getErrorCode, errorString                  uintptr
	currentLineNumber, currentColumnNumber     uintptr
}

// Available loads libexpat if it is not loaded yet, and reports whether
// that failed: nil, or an error wrapping ErrUnavailable.
func Available() error {
	lib.once.Do(func() {
		h, err := purego.Dlopen("libexpat.so.1", purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			lib.err = fmt.Errorf("%w (%v)", ErrUnavailable, err)
			return
		}
		for _, s := range []struct {
			p    *uintptr
			name string
		}{
			{&lib.parserCreate, "XML_ParserCreate"},
			{&lib.parserFree, "XML_ParserFree"},
			{&lib.setElementHandler, "XML_SetElementHandler"},
			{&lib.setCharacterDataHandler, "XML_SetCharacterDataHandler"},
			{&lib.setUserData, "XML_SetUserData"},
			{&lib.getBuffer, "XML_GetBuffer"},
			{&lib.parseBuffer, "XML_ParseBuffer"},
			{&lib.stopParser, "XML_StopParser"},
			{&lib.resumeParser, "XML_ResumeParser"},
			{&lib.getErrorCode, "XML_GetErrorCode"},
			{&lib.errorString, "XML_ErrorString"},
			{&lib.currentLineNumber, "XML_GetCurrentLineNumber"},
			{&lib.currentColumnNumber, "XML_GetCurrentColumnNumber"},
		} {
			if *s.p, err = purego.Dlsym(h, s.name); err != nil {
				lib.err = fmt.Errorf("%w: %s is missing (%v)", ErrUnavailable, s.name, err)
				return
			}
		}
	})
	return lib.err
}

// call calls a libexpat function from Go (a cgocall through purego).
func call(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}

// parser is one libexpat parser and its input.
type parser struct {
	p       uintptr // XML_Parser
	r       io.Reader
	eof     bool
	pending error // the reader's error, returned with bytes that came first: reported after them
}

func newParser(r io.Reader) (*parser, error) {
	if r == nil {
		return nil, errNilReader
	}
	if err := Available(); err != nil {
		return nil, err
	}
	p := call(lib.parserCreate, 0)
	if p == 0 {
		return nil, errors.New("expat: XML_ParserCreate failed (out of memory)")
	}
	return &parser{p: p, r: r}, nil
}

func (ps *parser) free() {
	if ps.p != 0 {
		call(lib.parserFree, ps.p)
		ps.p = 0
	}
}

// fill reads the next chunk into libexpat's buffer, returning its length
// and whether it is the last.
func (ps *parser) fill() (n int, final bool, err error) {
	switch {
	case ps.eof:
		return 0, true, nil
	case ps.pending != nil:
		return 0, false, fmt.Errorf("expat: read: %w", ps.pending)
	}
	b := call(lib.getBuffer, ps.p, ChunkSize)
	if b == 0 {
		return 0, false, errors.New("expat: XML_GetBuffer failed (out of memory)")
	}
	buf := unsafe.Slice((*byte)(ptr(b)), ChunkSize)
	for empty := 0; ; empty++ {
		n, err = ps.r.Read(buf)
		switch {
		case n < 0 || n > len(buf):
			return 0, false, fmt.Errorf("expat: read: the io.Reader returned %d bytes for a %d-byte buffer", n, len(buf))
		case n > 0 && err != nil && err != io.EOF:
			// io.Reader allows bytes and an error at once: the bytes
			// first, then the error.
			ps.pending = err
			return n, false, nil
		case err == io.EOF:
			ps.eof = true
			return n, true, nil
		case err != nil:
			return 0, false, fmt.Errorf("expat: read: %w", err)
		case n > 0:
			return n, false, nil
		case empty == 100:
			return 0, false, fmt.Errorf("expat: read: %w", io.ErrNoProgress)
		}
	}
}

// syntaxError returns the parser's error after XML_ParseBuffer failed.
func (ps *parser) syntaxError() error {
	code := call(lib.getErrorCode, ps.p)
	return &SyntaxError{
		Code:   int(code),
		Msg:    string(cstring(ptr(call(lib.errorString, code)))),
		Line:   int(call(lib.currentLineNumber, ps.p)),
		Column: int(call(lib.currentColumnNumber, ps.p)),
	}
}

// ptr turns an address of C memory into a pointer (C memory never moves,
// and the Go garbage collector ignores it).
func ptr(u uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&u)) }

// cstrAt returns the i'th pointer of the C array at a.
func cstrAt(a unsafe.Pointer, i int) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Add(a, i*int(unsafe.Sizeof(uintptr(0)))))
}

// cstring returns the NUL-terminated C string at p, without copying.
func cstring(p unsafe.Pointer) []byte {
	if p == nil {
		return nil
	}
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return unsafe.Slice((*byte)(p), n)
}
