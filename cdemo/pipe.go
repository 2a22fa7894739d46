package cdemo

import (
	"bytes"
	"fmt"
	"unsafe"

	"github.com/corokernel/corokernel"
	"github.com/corokernel/corokernel/ctx"
)

// Style is how the decoder -> tokenizer pipeline is written.
type Style int

// The styles of the pipeline. All three produce the same tokens.
const (
	// SwitchState: the decoder is a switch-state (ccr) coroutine that
	// returns the next byte on every call; the tokenizer pulls.
	SwitchState Style = iota
	// Stackful: the decoder is a ctx coroutine, a plain loop that yields
	// each run from a nested helper; the tokenizer pulls by resuming it.
	Stackful
	// Callback: the decoder is a plain loop that pushes every byte into
	// the tokenizer, rewritten as a state machine.
	Callback
)

var styleNames = [...]string{"switch-state", "stackful", "callback"}

// String returns the style's name: "switch-state", "stackful" or
// "callback".
func (s Style) String() string {
	if s >= 0 && int(s) < len(styleNames) {
		return styleNames[s]
	}
	return fmt.Sprintf("Style(%d)", int(s))
}

// Kind is a token's kind.
type Kind byte

// The kinds of tokens.
const (
	Word  Kind = 'W' // a maximal run of ASCII letters
	Punct Kind = 'P' // any other byte except white space, on its own
)

// Token is one token of the tokenizer's output.
type Token struct {
	Kind Kind
	Text string
}

// String returns "word:<text>" or "punct:<quoted byte>".
func (t Token) String() string {
	if t.Kind == Word {
		return "word:" + t.Text
	}
	return fmt.Sprintf("punct:%q", t.Text)
}

// rleEsc introduces a run: rleEsc, count, byte.
const rleEsc = 0xFF

// Compress run-length encodes text for Tokenize, as in Tatham's article:
// a run of three or more equal bytes, and any 0xFF byte, becomes 0xFF,
// count, byte (longer runs than 255 are split); other bytes stand for
// themselves.
func Compress(text []byte) []byte {
	var out []byte
	for i := 0; i < len(text); {
		c, n := text[i], 1
		for i+n < len(text) && text[i+n] == c && n < 255 {
			n++
		}
		if n >= 3 || c == rleEsc {
			out = append(out, rleEsc, byte(n), c)
		} else {
			out = append(out, bytes.Repeat([]byte{c}, n)...)
		}
		i += n
	}
	return out
}

// decodedLen is the length of compressed once decoded; an escape cut
// short by the end of the input ends it, as in the decoders.
func decodedLen(compressed []byte) int {
	n := 0
	for i := 0; i < len(compressed); i++ {
		if compressed[i] != rleEsc {
			n++
			continue
		}
		if len(compressed)-i-1 < 2 {
			break
		}
		n += int(compressed[i+1])
		i += 2
	}
	return n
}

// pipeArgs mirrors struct cd_pipe (c/cdemo.h).
type pipeArgs struct {
	in       *byte
	n        uintptr
	out      *byte
	cap, len uintptr
	co       unsafe.Pointer
	err      int32
}

var entries = [...]string{
	SwitchState: "cd_tokenize_switch",
	Stackful:    "cd_tokenize_ctx",
	Callback:    "cd_tokenize_callback",
}

// Tokenize decodes compressed (see Compress; an escape cut short by the
// end of the input ends it) and splits the text into tokens, the whole
// pipeline running in C in the given style, in one native call.
func (l *Lib) Tokenize(s Style, compressed []byte) ([]Token, error) {
	buf := make([]byte, 3*decodedLen(compressed)) // "P" c "\n" at most per byte
	n, err := l.tokenize(s, compressed, buf)
	if err != nil {
		return nil, err
	}
	var toks []Token
	for line := range bytes.SplitSeq(buf[:n], []byte{'\n'}) {
		if len(line) > 0 {
			toks = append(toks, Token{Kind(line[0]), string(line[1:])})
		}
	}
	return toks, nil
}

// tokenize runs the pipeline, writing token lines ("W<word>\n",
// "P<byte>\n") to buf, and returns their length.
func (l *Lib) tokenize(s Style, compressed, buf []byte) (int, error) {
	if s < 0 || int(s) >= len(entries) {
		return 0, fmt.Errorf("cdemo: Tokenize: bad style %v", s)
	}
	fn, err := l.Sym(entries[s])
	if err != nil {
		return 0, err
	}
	a := pipeArgs{n: uintptr(len(compressed)), cap: uintptr(len(buf))}
	if len(compressed) > 0 {
		a.in = &compressed[0]
	}
	if len(buf) > 0 {
		a.out = &buf[0]
	}
	if s == Stackful {
		body, err := l.Sym("cd_rle_body")
		if err != nil {
			return 0, err
		}
		c, err := ctx.New(body, 0, ctx.WithName("cdemo decoder"))
		if err != nil {
			return 0, err
		}
		defer c.Close()
		a.co = c.C()
	}
	if r := corokernel.Call(fn, unsafe.Pointer(&a)); r != 0 {
		return 0, fmt.Errorf("cdemo: Tokenize %v: error %d", s, r)
	}
	return int(a.len), nil
}
