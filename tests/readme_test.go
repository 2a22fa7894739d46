package tests

import (
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeQuickStart builds the README's quick start exactly as written,
// in a copy of the module with its files where the README puts them (the
// C body with the README's cc line, the Go program with go run), checks
// that it prints what the README says, and that the module still builds
// with those files in it, with cgo and without.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The blocks' first lines name their files: // quickstart/c/counter.c: cc ...
	blocks := regexp.MustCompile("(?s)```(c|go)\n// "+`([\w/]*(counter\.c|main\.go))(:[^\n]*)?\n.*?`+"```").FindAllStringSubmatch(string(readme), -1)
	files := map[string]string{}
	var compile string
	for _, b := range blocks {
		files[b[2]] = strings.TrimSuffix(strings.TrimPrefix(b[0], "```"+b[1]+"\n"), "```")
		if b[3] == "counter.c" {
			compile = strings.TrimSpace(strings.TrimPrefix(b[4], ":"))
		}
	}
	if len(files) != 2 || compile == "" {
		t.Fatalf("the README's quick start: files %v, compile line %q", slices.Collect(maps.Keys(files)), compile)
	}
	cc := strings.Fields(os.Getenv("CC"))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		t.Skipf("no C compiler (%s): install Debian's gcc", cc[0])
	}
	// A copy of the module, with the files exactly where the README says.
	root := t.TempDir()
	copyModule(t, "..", root)
	for name, text := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := strings.Fields(compile)
	if args[0] != "cc" {
		t.Fatalf("the compile line %q does not start with cc", compile)
	}
	build := exec.Command(cc[0], append(cc[1:], args[1:]...)...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", compile, err, out)
	}
	run := exec.Command("go", "run", ".")
	run.Dir = filepath.Join(root, "quickstart")
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	if want := "yielded 0\nyielded 1\nyielded 4\nyielded 9\nreturned 4\n"; string(out) != want {
		t.Fatalf("the quick start printed\n%s\nwant\n%s", out, want)
	}
	// The module with the quick start's files in it still builds and
	// vets, on a machine with a C compiler (cgo on) and without.
	for _, cgo := range []string{"1", "0"} {
		for _, cmd := range [][]string{{"go", "build", "./..."}, {"go", "vet", "./quickstart/..."}} {
			c := exec.Command(cmd[0], cmd[1:]...)
			c.Dir = root
			c.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
			if out, err := c.CombinedOutput(); err != nil {
				t.Errorf("CGO_ENABLED=%s %s, with the quick start's files: %v\n%s", cgo, strings.Join(cmd, " "), err, out)
			}
		}
	}
}

// copyModule copies the module's files (what git tracks or would, or
// else every regular file outside .git) from src to dst.
func copyModule(t *testing.T, src, dst string) {
	var names []string
	if out, err := exec.Command("git", "-C", src, "ls-files", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		names = strings.Fields(string(out))
	} else {
		filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			if err == nil && d.Type().IsRegular() {
				rel, _ := filepath.Rel(src, p)
				names = append(names, rel)
			}
			return nil
		})
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			continue // deleted in the work tree
		}
		p := filepath.Join(dst, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
