package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/corokernel/corokernel/ctx"
)

// TestReadmeQuickStart builds the README's quick start exactly as written
// (the C body with cc -shared -fPIC, the Go program against this module)
// and checks that it prints what the README says.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(c|go)\n(// (counter.c|main.go)[^\n]*\n.*?)```").FindAllStringSubmatch(string(readme), -1)
	src := map[string]string{}
	for _, b := range blocks {
		src[b[3]] = b[2]
	}
	if src["counter.c"] == "" || src["main.go"] == "" {
		t.Fatalf("the README's quick start has no counter.c or main.go block")
	}
	cc := strings.Fields(os.Getenv("CC"))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		t.Skipf("no C compiler (%s): install Debian's gcc", cc[0])
	}
	// The program lives inside this module (under testdata, which ./...
	// skips), so that it builds against this checkout.
	dir, err := os.MkdirTemp("testdata", "readme-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// The C in dir itself, the Go program in dir/prog (Go will not build a
	// package holding .c files without cgo); both run from dir.
	os.Mkdir(filepath.Join(dir, "ctx"), 0o755)
	os.Mkdir(filepath.Join(dir, "prog"), 0o755)
	for name, text := range map[string]string{"counter.c": src["counter.c"], "prog/main.go": src["main.go"], "ctx/corokernel.h": ctx.Header} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The README's compile line, as written in the block's first line.
	line := strings.TrimPrefix(strings.SplitN(src["counter.c"], "\n", 2)[0], "// counter.c: ")
	args := strings.Fields(line)
	if args[0] != "cc" {
		t.Fatalf("the compile line %q does not start with cc", line)
	}
	build := exec.Command(cc[0], append(cc[1:], args[1:]...)...)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	run := exec.Command("go", "run", "./prog")
	run.Dir = dir
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	if want := "yielded 0\nyielded 1\nyielded 4\nyielded 9\nreturned 4\n"; string(out) != want {
		t.Fatalf("the quick start printed\n%s\nwant\n%s", out, want)
	}
}
