package buses

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/corokernel/corokernel/expat"
)

// TestEventRecords: events written as records come back the same, in
// order; a truncated stream and a record claiming more than a GiB are
// errors, not a hang or an allocation of that size.
func TestEventRecords(t *testing.T) {
	type ev struct {
		k          expat.Kind
		name, text string
	}
	in := []ev{{expat.Start, "bus", ""}, {expat.Text, "", "x\x00y"}, {expat.End, "bus", ""}, {expat.Text, "", strings.Repeat("z", 70000)}}
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	enc := EncodeEvents(w)
	for _, e := range in {
		enc(e.k, []byte(e.name), []byte(e.text))
	}
	w.Flush()
	var out []ev
	if err := DecodeEvents(bufio.NewReader(bytes.NewReader(b.Bytes())), func(k expat.Kind, name, text []byte) {
		out = append(out, ev{k, string(name), string(text)})
	}); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d events back, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("event %d changed", i)
		}
	}
	trunc := b.Bytes()[:b.Len()-10]
	if err := DecodeEvents(bufio.NewReader(bytes.NewReader(trunc)), func(expat.Kind, []byte, []byte) {}); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a truncated stream: %v", err)
	}
	huge := []byte{1, 0xff, 0xff, 0xff, 0xff, 0x7f}
	if err := DecodeEvents(bufio.NewReader(bytes.NewReader(huge)), func(expat.Kind, []byte, []byte) {}); err == nil {
		t.Error("a record of 34 GB was accepted")
	}
}
