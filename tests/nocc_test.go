package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestWithoutCompiler runs every other package's short tests again as a
// machine with only Go would: CC names no program and cgo is off. Tests
// that need a C compiler must skip and say so, not fail; the README's one
// test command covers this.
func TestWithoutCompiler(t *testing.T) {
	if testing.Short() {
		t.Skip("the no-compiler run belongs to the full run (it runs the packages with -short itself)")
	}
	if raceEnabled {
		t.Skip("the no-compiler run belongs to the plain run, not the race run")
	}
	list := exec.Command("go", "list", "../...")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasSuffix(p, "/tests") { // this package: the arm64, race and soak runs need tools anyway
			pkgs = append(pkgs, p)
		}
	}
	cmd := exec.Command("go", append([]string{"test", "-short", "-count=1"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "CC=/nonexistent/cc", "CGO_ENABLED=0")
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -short with CC=/nonexistent/cc CGO_ENABLED=0: %v\n%s", err, tail(string(res), 60))
	}
	t.Logf("%s", tail(string(res), 20))
}
