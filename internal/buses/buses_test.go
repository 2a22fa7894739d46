package buses_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/corokernel/corokernel/expat"
	"github.com/corokernel/corokernel/internal/buses"
)

const feed = `<?xml version="1.0"?>
<buses>
<bus>
      <id>1485</id>
      <route>22</route>
      <direction>North Bound</direction>
      <latitude>41.880481123924255</latitude>
      <longitude>-87.62948191165924</longitude>
      <finalStop><![CDATA[Paulina & Howard]]></finalStop>
</bus>
<bus><id>1</id><route>22</route><direction>North &amp; Bound</direction><latitude> 4<![CDATA[1]]>.5 </latitude><longitude>-87</longitude></bus>
<bus><id>2</id><route>8</route><direction>North Bound</direction><latitude>1</latitude><longitude>2</longitude></bus>
</buses>
`

// TestSources: every source gives Beazley's lines, byte for byte, with
// text fragments joined exactly (entities, CDATA, whitespace).
func TestSources(t *testing.T) {
	if err := expat.Available(); err != nil {
		t.Skip(err)
	}
	want := map[buses.Filter]string{
		{}: `22,1485,"North Bound",41.880481123924255,-87.62948191165924
22,1,"North & Bound", 41.5 ,-87
8,2,"North Bound",1,2
`,
		{Route: "22", Direction: "North Bound"}: "22,1485,\"North Bound\",41.880481123924255,-87.62948191165924\n",
		{Route: "8"}:                            "8,2,\"North Bound\",1,2\n",
	}
	for _, name := range buses.SourceNames {
		for f, w := range want {
			var out bytes.Buffer
			if err := buses.Run(buses.Sources[name], strings.NewReader(feed), &out, f); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if out.String() != w {
				t.Errorf("%s, filter %+v:\n%s\nwant\n%s", name, f, out.String(), w)
			}
		}
	}
}

// TestGenerated: on a generated feed every source prints the same bytes,
// and the feed has the variety Gen promises.
func TestGenerated(t *testing.T) {
	if err := expat.Available(); err != nil {
		t.Skip(err)
	}
	var xml bytes.Buffer
	if err := buses.Gen(&xml, 3000); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<finalStop><![CDATA[", "&amp;", "  North Bound ", "<route>X9</route>", "West Bound", "\n\n\t"} {
		if !bytes.Contains(xml.Bytes(), []byte(s)) {
			t.Errorf("the generated feed has no %q", s)
		}
	}
	var first string
	for _, name := range buses.SourceNames {
		var out bytes.Buffer
		if err := buses.Run(buses.Sources[name], bytes.NewReader(xml.Bytes()), &out, buses.Filter{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := strings.Count(out.String(), "\n"); n != 3000 {
			t.Errorf("%s printed %d buses, want 3000", name, n)
		}
		if first == "" {
			first = out.String()
		} else if out.String() != first {
			t.Errorf("%s prints other bytes than %s", name, buses.SourceNames[0])
		}
	}
	if err := buses.Gen(&xml, 0); err == nil {
		t.Error("Gen of 0 buses: no error")
	}
}

// TestBadFeed: a malformed feed is an error from the expat sources, with
// the buses before it printed.
func TestBadFeed(t *testing.T) {
	if err := expat.Available(); err != nil {
		t.Skip(err)
	}
	bad := `<buses><bus><id>1</id><route>3</route></bus><bus><id>2</id></buses>`
	for _, name := range []string{"expat-pull", "expat-push"} {
		var out bytes.Buffer
		err := buses.Run(buses.Sources[name], strings.NewReader(bad), &out, buses.Filter{})
		var se *expat.SyntaxError
		if !errors.As(err, &se) || out.String() != "3,1,\"\",,\n" {
			t.Errorf("%s: %v, printed %q", name, err, out.String())
		}
	}
}

// failing is a writer whose every write fails, counting them.
type failing struct{ writes int }

func (f *failing) Write(p []byte) (int, error) {
	f.writes++
	return 0, errors.New("no space left on device")
}

// TestGenStopsAtFirstError: a feed of ten million buses to a writer that
// fails stops at the first failed write, not after generating them all.
func TestGenStopsAtFirstError(t *testing.T) {
	w := &failing{}
	if err := buses.Gen(w, 10_000_000); err == nil || w.writes != 1 {
		t.Fatalf("Gen to a failing writer: %v after %d writes; want the error after one", err, w.writes)
	}
}
