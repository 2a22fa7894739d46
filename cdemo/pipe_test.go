package cdemo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

var styles = []Style{SwitchState, Stackful, Callback}

// decode is the run-length decoder in Go, as the C ones read the format.
func decode(in []byte) []byte {
	var out []byte
	for i := 0; i < len(in); i++ {
		if in[i] != rleEsc {
			out = append(out, in[i])
			continue
		}
		if len(in)-i-1 < 2 {
			break
		}
		out = append(out, bytes.Repeat(in[i+2:i+3], int(in[i+1]))...)
		i += 2
	}
	return out
}

// tokens is the tokenizer in Go.
func tokens(text []byte) []Token {
	letter := func(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
	var toks []Token
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case letter(c):
			j := i
			for j < len(text) && letter(text[j]) {
				j++
			}
			toks = append(toks, Token{Word, string(text[i:j])})
			i = j
			continue
		case bytes.IndexByte([]byte(" \t\n\r\v\f"), c) < 0:
			toks = append(toks, Token{Punct, string(text[i : i+1])})
		}
		i++
	}
	return toks
}

func w(s string) Token { return Token{Word, s} }
func p(s string) Token { return Token{Punct, s} }

// TestTokenize runs every style on a table of compressed inputs: all must
// produce the table's tokens, which the Go decoder and tokenizer agree
// with.
func TestTokenize(t *testing.T) {
	l := load(t)
	for _, tc := range []struct {
		name string
		in   string
		want []Token
	}{
		{"empty", "", nil},
		{"white space only", " \t\n\r", nil},
		{"plain", "hello, world!", []Token{w("hello"), p(","), w("world"), p("!")}},
		{"ends mid-word", "to be", []Token{w("to"), w("be")}},
		{"ends inside a run", "zz\xff\x03z", []Token{w("zzzzz")}},
		{"run in a word", "b\xff\x05ar", []Token{w("baaaaar")}},
		{"run of punctuation", "\xff\x03!x", []Token{p("!"), p("!"), p("!"), w("x")}},
		{"run of spaces splits", "a\xff\x09 b", []Token{w("a"), w("b")}},
		{"empty run", "x\xff\x00yz", []Token{w("xz")}},
		{"escaped escape byte", "\xff\x01\xff", []Token{p("\xff")}},
		{"longest run", "\xff\xffq.", []Token{w(string(bytes.Repeat([]byte("q"), 255))), p(".")}},
		{"truncated escape", "ab\xff", []Token{w("ab")}},
		{"truncated escape with count", "ab\xff\x04", []Token{w("ab")}},
		{"lone escape", "\xff", nil},
		{"NUL and digits", "a\x001\xff\x02" + "2", []Token{w("a"), p("\x00"), p("1"), p("2"), p("2")}},
	} {
		in := []byte(tc.in)
		if got := tokens(decode(in)); !slices.Equal(got, tc.want) {
			t.Fatalf("%s: table disagrees with the Go tokenizer: %v", tc.name, got)
		}
		for _, s := range styles {
			got, err := l.Tokenize(s, in)
			if err != nil {
				t.Fatalf("%s, %v: %v", tc.name, s, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s, %v:\n got %v\nwant %v", tc.name, s, got, tc.want)
			}
		}
	}
}

// TestTokenizeRandom compares the styles with each other and with Go on
// random inputs rich in escapes, truncated ones included.
func TestTokenizeRandom(t *testing.T) {
	l := load(t)
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aZq ,.\n!\x00\xff\xff\xff\x02\x03")
	for i := range 300 {
		in := make([]byte, r.IntN(64))
		for j := range in {
			in[j] = alphabet[r.IntN(len(alphabet))]
		}
		want := tokens(decode(in))
		for _, s := range styles {
			got, err := l.Tokenize(s, in)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("input %d %q, %v: %d tokens, %v; want %d:\n%s", i, in, s, len(got), err, len(want), diff(got, want))
			}
		}
	}
}

func TestCompress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"ab", "ab"},
		{"aab", "aab"},
		{"aaab", "\xff\x03ab"},
		{"\xff", "\xff\x01\xff"},
		{"x\xff\xffy", "x\xff\x02\xffy"},
	} {
		if got := string(Compress([]byte(tc.in))); got != tc.want {
			t.Errorf("Compress(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	text := []byte("Wellll...   hmmmmm, \xff\xff ok" + string(bytes.Repeat([]byte("!"), 600)))
	c := Compress(text)
	if got := decode(c); !bytes.Equal(got, text) {
		t.Fatalf("decode(Compress(text)) = %q", got)
	}
	if len(c) >= len(text) || decodedLen(c) != len(text) {
		t.Errorf("compressed %d bytes to %d; decodedLen %d", len(text), len(c), decodedLen(c))
	}
	l := load(t)
	for _, s := range styles {
		got, err := l.Tokenize(s, c)
		if err != nil || !slices.Equal(got, tokens(text)) {
			t.Errorf("%v: %v\n%s", s, err, diff(got, tokens(text)))
		}
	}
}

func TestStyleString(t *testing.T) {
	for s, want := range map[Style]string{SwitchState: "switch-state", Stackful: "stackful", Callback: "callback", 7: "Style(7)"} {
		if s.String() != want {
			t.Errorf("%d: %q", int(s), s.String())
		}
	}
	if _, err := load(t).Tokenize(Style(3), nil); err == nil {
		t.Error("Tokenize accepted Style(3)")
	}
}

// diff describes the first difference between two token streams.
func diff(got, want []Token) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("token %d is %v, want %v", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("%d tokens, want %d", len(got), len(want))
}
