package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/corokernel/corokernel/expat"
)

// TestBuses: -gen writes a feed; every -source prints the same bytes for
// it, in Beazley's format; -route and -direction filter; the default
// source is expat-pull.
func TestBuses(t *testing.T) {
	if err := expat.Available(); err != nil {
		t.Skip(err)
	}
	feed := filepath.Join(t.TempDir(), "allroutes.xml")
	var out, errs bytes.Buffer
	if code := run([]string{"buses", "-gen", "2000", feed}, &out, &errs); code != 0 {
		t.Fatalf("buses -gen: exit %d: %s", code, errs.String())
	}
	outputs := map[string]string{}
	for _, src := range []string{"expat-pull", "expat-push", "encoding-xml", ""} {
		args := []string{"buses", "-route", "22", "-direction", "North Bound", feed}
		if src != "" {
			args = append(args[:1], append([]string{"-source", src}, args[1:]...)...)
		}
		out.Reset()
		errs.Reset()
		if code := run(args, &out, &errs); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs.String())
		}
		outputs[src] = out.String()
	}
	line := regexp.MustCompile(`^22,\d+,"North Bound",4[12]\.\d+,-87\.\d+$`)
	lines := strings.Split(strings.TrimSuffix(outputs["expat-pull"], "\n"), "\n")
	if len(lines) < 20 {
		t.Fatalf("%d buses of route 22 going North Bound in 2000, want more", len(lines))
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Fatalf("line %q is not route,id,\"direction\",latitude,longitude", l)
		}
	}
	for src, o := range outputs {
		if o != outputs["expat-pull"] {
			t.Errorf("-source %q prints other bytes than expat-pull", src)
		}
	}
	// Flags after FILE, and no filter: every bus.
	out.Reset()
	if code := run([]string{"buses", feed, "-source", "encoding-xml"}, &out, &errs); code != 0 || strings.Count(out.String(), "\n") != 2000 {
		t.Errorf("buses FILE -source encoding-xml: exit %d, %d lines, want 2000", code, strings.Count(out.String(), "\n"))
	}
}

// TestBusesMisuse: usage errors exit 2 with the usage, failures 1 with
// one line, -h 0.
func TestBusesMisuse(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.xml")
	os.WriteFile(bad, []byte("<buses><bus></buses>"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"buses"}, 2, "no FILE"},
		{[]string{"buses", "a", "b"}, 2, "one FILE"},
		{[]string{"buses", "-source", "sax", "x"}, 2, "-source"},
		{[]string{"buses", "-gen", "0", "x"}, 2, "-gen 0"},
		{[]string{"buses", "-gen", "x", "y"}, 2, "invalid value"},
		{[]string{"buses", "-gen", "5", "-route", "22", "x"}, 2, "-gen writes a feed"},
		{[]string{"buses", filepath.Join(dir, "missing.xml")}, 1, "no such file"},
		{[]string{"buses", "-gen", "3", filepath.Join(dir, "no", "dir.xml")}, 1, "no such file"},
		{[]string{"buses", "-h"}, 0, "usage: corokernel buses"},
	} {
		var out, errs bytes.Buffer
		code := run(c.args, &out, &errs)
		if code != c.code || !strings.Contains(errs.String(), c.says) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, errs.String(), c.code, c.says)
		}
	}
	if expat.Available() == nil {
		var out, errs bytes.Buffer
		if code := run([]string{"buses", bad}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "bad.xml: expat: line 1") {
			t.Errorf("a malformed feed: exit %d, %q", code, errs.String())
		}
	}
}

// TestBusesMalformedFeeds: every source rejects the same malformed feeds,
// exit 1 with a line and column (encoding/xml's RawToken checks none of
// this itself); a feed whose DTD declares an entity is read by the expat
// sources, and the encoding-xml source's error says what it supports.
func TestBusesMalformedFeeds(t *testing.T) {
	dir := t.TempDir()
	bus := "<bus><id>1</id><route>22</route><direction>North Bound</direction><latitude>1</latitude><longitude>2</longitude></bus>"
	sources := []string{"encoding-xml"}
	if expat.Available() == nil {
		sources = append(sources, "expat-pull", "expat-push")
	}
	for name, feed := range map[string]string{
		"empty":      "",
		"truncated":  "<buses>" + bus[:40],
		"mismatched": "<buses>" + bus + "</bus></buses>",
		"junk":       "<buses>" + bus + "</buses>junk",
		"two roots":  "<buses>" + bus + "</buses><buses/>",
		"unclosed":   "<buses>" + bus,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".xml")
		os.WriteFile(path, []byte(feed), 0o644)
		for _, src := range sources {
			var out, errs bytes.Buffer
			code := run([]string{"buses", "-source", src, path}, &out, &errs)
			if code != 1 || !regexp.MustCompile(`line \d+, column \d+`).MatchString(errs.String()) {
				t.Errorf("%s feed, -source %s: exit %d, %q, printed %q; want exit 1 with a line and column", name, src, code, errs.String(), out.String())
			}
		}
	}
	dtd := filepath.Join(dir, "dtd.xml")
	os.WriteFile(dtd, []byte(`<!DOCTYPE buses [<!ENTITY nb "North Bound">]><buses>`+strings.Replace(bus, "North Bound", "&nb;", 1)+`</buses>`), 0o644)
	var out, errs bytes.Buffer
	if code := run([]string{"buses", "-source", "encoding-xml", dtd}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "predefined entities only") {
		t.Errorf("a DTD entity under encoding-xml: exit %d, %q; want exit 1 naming what it supports", code, errs.String())
	}
	for _, src := range sources[1:] {
		out.Reset()
		if code := run([]string{"buses", "-source", src, dtd}, &out, &errs); code != 0 || !strings.Contains(out.String(), "North Bound") {
			t.Errorf("a DTD entity under %s: exit %d, printed %q", src, code, out.String())
		}
	}
}

// TestBusesStages: -stages thread (the stages in a task on another
// kernel, fed through its mailbox) and -stages process (in a child
// process fed the events through a pipe) print the bytes -stages inline
// prints, filtered or not, for every source; a malformed feed fails each
// with exit 1; a bad -stages is a usage error.
func TestBusesStages(t *testing.T) {
	if err := expat.Available(); err != nil {
		t.Skip(err)
	}
	feed := filepath.Join(t.TempDir(), "allroutes.xml")
	var out, errs bytes.Buffer
	if code := run([]string{"buses", "-gen", "3000", feed}, &out, &errs); code != 0 {
		t.Fatalf("buses -gen: exit %d: %s", code, errs.String())
	}
	for _, filter := range [][]string{nil, {"-route", "22", "-direction", "North Bound"}} {
		for _, src := range []string{"expat-pull", "encoding-xml"} {
			want := ""
			for _, stages := range []string{"inline", "thread", "process"} {
				args := append([]string{"buses", "-source", src, "-stages", stages}, filter...)
				out.Reset()
				errs.Reset()
				if code := run(append(args, feed), &out, &errs); code != 0 {
					t.Fatalf("%v: exit %d: %s", args, code, errs.String())
				}
				if stages == "inline" {
					want = out.String()
					if want == "" {
						t.Fatalf("%v printed nothing", args)
					}
				} else if out.String() != want {
					t.Errorf("%v: %d bytes unlike -stages inline's %d", args, out.Len(), len(want))
				}
			}
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte("<buses><bus><id>1</id></bus><bus><id>2</i"), 0o644)
	for _, stages := range []string{"thread", "process"} {
		out.Reset()
		errs.Reset()
		if code := run([]string{"buses", "-stages", stages, bad}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "bad.xml") {
			t.Errorf("-stages %s on a malformed feed: exit %d, %q; want 1 naming the file", stages, code, errs.String())
		}
	}
	if code := run([]string{"buses", "-stages", "fiber", feed}, &out, &errs); code != 2 {
		t.Errorf("-stages fiber: exit %d, want 2", code)
	}
}
