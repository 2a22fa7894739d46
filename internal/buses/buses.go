// Package buses is the bus feed of Beazley's course in Go: the Chicago bus feed
// (allroutes.xml) through a pipeline of processing stages,
//
//	source → ToDicts → FilterOnField("route", …) → FilterOnField("direction", …) → Locations
//
// with three interchangeable sources of XML events: libexpat pulled by a
// loop (expat.Events, on a ctx coroutine), libexpat pushing Go callbacks
// through purego (expat.Walk), and encoding/xml's Decoder.RawToken. The
// stages are the same code for every source, which is Beazley's point:
// "you can push the initial data source as low-level as you want without
// rewriting the processing stages". Like Beazley's coroutines, each
// stage is a function the one before it sends to.
//
// Role: report and command support (cmd/corokernel buses, the report's
// bus-feed contest); no library package imports it.
package buses

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/corokernel/corokernel/expat"
)

// Sink receives one XML event: Start and End carry the element's name,
// Text a fragment of character data. The slices are valid only during
// the call.
type Sink func(kind expat.Kind, name, text []byte)

// A Source reads the XML in r and sends its events to sink, in order.
type Source func(r io.Reader, sink Sink) error

// Sources by name, as the buses command's -source flag takes them.
var Sources = map[string]Source{
	"expat-pull":   ExpatPull,
	"expat-push":   ExpatPush,
	"encoding-xml": EncodingXML,
}

// SourceNames is the order the sources are listed and compared in.
var SourceNames = []string{"expat-pull", "expat-push", "encoding-xml"}

// ExpatPull is libexpat on a coroutine, its events pulled by a for range
// loop (expat.Events).
func ExpatPull(r io.Reader, sink Sink) error {
	for ev, err := range expat.Events(r) {
		if err != nil {
			return err
		}
		sink(ev.Kind, ev.Name, ev.Text)
	}
	return nil
}

// ExpatPush is libexpat calling Go handlers through purego callbacks
// (expat.Walk).
func ExpatPush(r io.Reader, sink Sink) error {
	return expat.Walk(r, func(ev *expat.Event) error {
		sink(ev.Kind, ev.Name, ev.Text)
		return nil
	})
}

// EncodingXML is the standard library's tokenizer, Decoder.RawToken,
// reading through a buffer of expat.ChunkSize. RawToken does not check
// that end tags match, that there is one root element and nothing but
// white space, comments and processing instructions after it, or that
// the document ends at all; this does, so that it rejects what libexpat
// rejects, with a line and column. It knows XML's predefined entities
// only, not those a document's DTD declares (libexpat expands those).
func EncodingXML(r io.Reader, sink Sink) error {
	d := xml.NewDecoder(bufio.NewReaderSize(r, expat.ChunkSize))
	var name []byte
	var open []string // the elements open, outermost first
	roots := 0
	fail := func(msg string) error {
		line, col := d.InputPos()
		return fmt.Errorf("encoding/xml: line %d, column %d: %s", line, col, msg)
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			switch {
			case roots == 0:
				return fail("no element found")
			case len(open) > 0:
				return fail("unclosed element <" + open[len(open)-1] + ">")
			}
			return nil
		}
		if err != nil {
			msg := err.Error()
			if se, ok := err.(*xml.SyntaxError); ok {
				msg = se.Msg
				if strings.Contains(msg, "entity") {
					msg += " (the encoding-xml source knows XML's predefined entities only; the expat sources also expand those a DTD declares)"
				}
			}
			return fail(msg)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name = qname(name[:0], t.Name)
			if len(open) == 0 {
				if roots++; roots > 1 {
					return fail("junk after document element: a second root <" + string(name) + ">")
				}
			}
			open = append(open, string(name))
			sink(expat.Start, name, nil)
		case xml.EndElement:
			name = qname(name[:0], t.Name)
			if len(open) == 0 || open[len(open)-1] != string(name) {
				return fail("mismatched tag </" + string(name) + ">")
			}
			open = open[:len(open)-1]
			sink(expat.End, name, nil)
		case xml.CharData:
			if len(open) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return fail("text outside the document element")
				}
				continue
			}
			sink(expat.Text, nil, t)
		}
	}
}

// qname writes n as it was written in the document, prefix:local, as
// libexpat reports names without namespace processing.
func qname(b []byte, n xml.Name) []byte {
	if n.Space != "" {
		b = append(append(b, n.Space...), ':')
	}
	return append(b, n.Local...)
}

// A Bus is one <bus> element: its child elements' names and text,
// Beazley's busdict. It is reused for the next bus once the stage it was
// sent to returns.
type Bus struct {
	buf    []byte  // names and values
	fields []field // offsets into buf
}

type field struct{ name, nameEnd, val, valEnd int }

// Get returns the text of the child element called name, or nil. Of
// repeated children the last wins, as in Beazley's dict.
func (b *Bus) Get(name string) []byte {
	for i := len(b.fields) - 1; i >= 0; i-- {
		f := b.fields[i]
		if string(b.buf[f.name:f.nameEnd]) == name {
			return b.buf[f.val:f.valEnd]
		}
	}
	return nil
}

// ToDicts is Beazley's buses_to_dicts: it collects each <bus> element's
// children into a Bus (text fragments joined exactly as they came: CDATA,
// entities and whitespace included) and sends it to target.
func ToDicts(target func(*Bus)) Sink {
	var (
		bus   Bus
		inBus bool
		frag  int // where the current element's text starts in bus.buf
	)
	return func(kind expat.Kind, name, text []byte) {
		switch {
		case !inBus:
			if kind == expat.Start && string(name) == "bus" {
				inBus = true
				bus.buf, bus.fields = bus.buf[:0], bus.fields[:0]
				frag = 0
			}
		case kind == expat.Start:
			frag = len(bus.buf) // fragments = []
		case kind == expat.Text:
			bus.buf = append(bus.buf, text...)
		case string(name) != "bus":
			val, valEnd := frag, len(bus.buf)
			bus.buf = append(bus.buf, name...)
			bus.fields = append(bus.fields, field{valEnd, len(bus.buf), val, valEnd})
			frag = len(bus.buf)
		default:
			inBus = false
			target(&bus)
		}
	}
}

// FilterOnField is Beazley's filter_on_field: it sends on the buses
// whose field name has exactly the text value.
func FilterOnField(name, value string, target func(*Bus)) func(*Bus) {
	return func(b *Bus) {
		if string(b.Get(name)) == value {
			target(b)
		}
	}
}

// Locations is Beazley's bus_locations: it writes each bus as
//
//	route,id,"direction",latitude,longitude
func Locations(w *bufio.Writer) func(*Bus) {
	return func(b *Bus) {
		w.Write(b.Get("route"))
		w.WriteByte(',')
		w.Write(b.Get("id"))
		w.WriteString(`,"`)
		w.Write(b.Get("direction"))
		w.WriteString(`",`)
		w.Write(b.Get("latitude"))
		w.WriteByte(',')
		w.Write(b.Get("longitude"))
		w.WriteByte('\n')
	}
}

// Filter selects buses; an empty field matches every bus.
type Filter struct{ Route, Direction string }

// Run reads the feed in r with source and writes the location of every
// bus that matches f to w: the whole pipeline. After an error, what was
// written before it stays written.
func Run(source Source, r io.Reader, w io.Writer, f Filter) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	stage := Locations(bw)
	if f.Direction != "" {
		stage = FilterOnField("direction", f.Direction, stage)
	}
	if f.Route != "" {
		stage = FilterOnField("route", f.Route, stage)
	}
	err := source(r, ToDicts(stage))
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

var errNoBuses = errors.New("buses: -gen needs a count of at least 1")
