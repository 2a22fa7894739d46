package corokernel

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxLines is the most a hand-written .go or .s file may hold: past it, a
// file holds several rooms. Generated files (a "Code generated" line) are
// exempt.
const maxLines = 600

// TestFileSizes keeps every hand-written Go and assembly file of the
// module under maxLines.
func TestFileSizes(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".s") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if bytes.Contains(src, []byte("Code generated")) && bytes.Contains(src, []byte("DO NOT EDIT")) {
			return nil
		}
		if lines := bytes.Count(src, []byte("\n")); lines > maxLines {
			t.Errorf("%s has %d lines, more than %d: split it along its rooms", path, lines, maxLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d files seen: the walk is wrong", n)
	}
}

// TestLibraryImports: the library packages import no internal package
// but kctx (the kernel's door into ctx) and gocoro (shared by ctx's and
// expat's pull loops); the others are report support and test harness.
func TestLibraryImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	for _, pkg := range []string{".", "./ctx", "./kernel", "./expat", "./cdemo"} {
		out, err := exec.Command(goTool, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "/corokernel/internal/") && !strings.HasSuffix(dep, "/internal/kctx") && !strings.HasSuffix(dep, "/internal/gocoro") {
				t.Errorf("%s imports %s, which is report support or test harness", pkg, dep)
			}
		}
	}
}
