package cdemo_test

import (
	"fmt"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/ebitengine/purego"
)

// Load builds the C library on first use and runs a generator: five
// resumes of a protothread in one C loop.
func ExampleLoad() {
	lib, err := cdemo.Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range []string{"pt-goto", "ctx-native"} {
		v, err := lib.Values(g, 5)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(g, v)
	}
	// Output:
	// pt-goto [0 1 2 3 4]
	// ctx-native [0 1 2 3 4]
}

// The seed's coroutine keeps its state in static variables: a fresh copy
// of the library starts it over.
func ExampleLoadFresh() {
	lib, err := cdemo.LoadFresh()
	if err != nil {
		fmt.Println(err)
		return
	}
	coroutine, err := lib.Sym("coroutine")
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		r, _, _ := purego.SyscallN(coroutine)
		fmt.Println(int32(r))
	}
	// Output:
	// 0
	// 1
	// 2
}

// Tatham's pipeline: a run-length decoder feeding a tokenizer, the same
// tokens whichever way it is written.
func ExampleLib_Tokenize() {
	lib, err := cdemo.Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	in := cdemo.Compress([]byte("Hmmmm... okay!"))
	fmt.Printf("%q\n", in)
	for _, s := range []cdemo.Style{cdemo.SwitchState, cdemo.Stackful, cdemo.Callback} {
		toks, err := lib.Tokenize(s, in)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(s, toks)
	}
	// Output:
	// "H\xff\x04m\xff\x03. okay!"
	// switch-state [word:Hmmmm punct:"." punct:"." punct:"." word:okay punct:"!"]
	// stackful [word:Hmmmm punct:"." punct:"." punct:"." word:okay punct:"!"]
	// callback [word:Hmmmm punct:"." punct:"." punct:"." word:okay punct:"!"]
}

// A switch-state helper cannot yield for its caller; a ctx one can.
func ExampleLib_Values() {
	lib, err := cdemo.Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range []string{"ccr-nested", "ctx-nested"} {
		v, err := lib.Values(g, 10)
		if err != nil {
			fmt.Println(err)
			return
		}
		b := make([]byte, len(v))
		for i, c := range v {
			b[i] = byte(c)
		}
		fmt.Printf("%s %q\n", g, b)
	}
	// Output:
	// ccr-nested "ab"
	// ctx-nested "aabbb"
}
