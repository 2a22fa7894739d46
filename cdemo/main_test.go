package cdemo_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/corokernel/corokernel/cdemo"
)

// TestMain leaves the examples out when there is no C compiler: an example
// cannot skip, and every test skips by itself with the same message.
func TestMain(m *testing.M) {
	flag.Parse()
	if _, err := cdemo.Load(); errors.Is(err, cdemo.ErrNoCompiler) {
		fmt.Fprintf(os.Stderr, "cdemo: examples not run: %v\n", err)
		if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "" {
			flag.Set("test.run", "^Test")
		}
	}
	os.Exit(m.Run())
}
