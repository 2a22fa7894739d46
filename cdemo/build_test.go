package cdemo

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// load returns the shared library, skipping the test only when there is
// no C compiler.
func load(t testing.TB) *Lib {
	t.Helper()
	l, err := Load()
	if errors.Is(err, ErrNoCompiler) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// buildIn builds with cc into a fresh cache root, skipping only when
// there is no such compiler.
func buildIn(t *testing.T, cc compiler, root string) (string, error) {
	t.Helper()
	p, err := build(cc, root)
	if errors.Is(err, ErrNoCompiler) {
		t.Skip(err)
	}
	return p, err
}

func TestEnvCompiler(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want compiler
	}{
		{"", compiler{"cc"}},
		{"  ", compiler{"cc"}},
		{"aarch64-linux-gnu-gcc", compiler{"aarch64-linux-gnu-gcc"}},
		{" gcc  -m64 -DX=1 ", compiler{"gcc", "-m64", "-DX=1"}},
	} {
		t.Setenv("CC", tc.env)
		if got := envCompiler(); !slices.Equal(got, tc.want) {
			t.Errorf("CC=%q: compiler %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestNoCompiler(t *testing.T) {
	_, err := build(compiler{"cdemo-no-such-cc"}, t.TempDir())
	if !errors.Is(err, ErrNoCompiler) {
		t.Fatalf("build with a missing compiler: %v", err)
	}
	want := `cdemo: no C compiler: set CC (tried "cdemo-no-such-cc": exec: "cdemo-no-such-cc": executable file not found in $PATH)`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

// TestCCArgs checks that the words after the command in CC reach the
// compiler, and that a failed compilation reports what it printed.
func TestCCArgs(t *testing.T) {
	root := t.TempDir()
	cc := append(envCompiler(), "-include", "cdemo-no-such-header.h")
	_, err := buildIn(t, cc, root)
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("build with a missing -include: %v, want a *BuildError", err)
	}
	if !strings.Contains(be.Cmd, "-include cdemo-no-such-header.h") || !strings.Contains(be.Output, "cdemo-no-such-header.h") {
		t.Fatalf("BuildError does not show the extra argument:\ncmd: %s\noutput: %s", be.Cmd, be.Output)
	}
	if !strings.Contains(err.Error(), be.Output) {
		t.Errorf("the error does not carry the compiler's output: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "*", "*")); len(m) != 0 {
		t.Errorf("a failed build left files behind: %q", m)
	}

	p, err := buildIn(t, append(envCompiler(), "-DCDEMO_UNUSED=1"), root)
	if err != nil {
		t.Fatal(err)
	}
	if l := load(t); p == l.Path() {
		t.Errorf("extra arguments in CC did not change the cache key: %s", p)
	}
}

// TestCache builds into an empty cache from several goroutines at once,
// then again: every build yields the same complete library, and the
// second round compiles nothing.
func TestCache(t *testing.T) {
	root := t.TempDir()
	cc := envCompiler()
	paths := make([]string, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range paths {
		wg.Go(func() { paths[i], errs[i] = build(cc, root) })
	}
	wg.Wait()
	for i, err := range errs {
		if errors.Is(err, ErrNoCompiler) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		if paths[i] != paths[0] {
			t.Fatalf("builds disagree: %s, %s", paths[0], paths[i])
		}
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(paths[0]), "*")); len(m) != 1 {
		t.Errorf("cache directory holds %q, want the library alone", m)
	}
	fi, err := os.Stat(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	l, err := open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sym("loop_ccr"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sym("no_such_symbol"); err == nil {
		t.Error("Sym found a symbol that does not exist")
	}

	p, err := build(cc, root)
	if err != nil || p != paths[0] {
		t.Fatalf("second build: %s, %v", p, err)
	}
	if fi2, err := os.Stat(p); err != nil || !fi2.ModTime().Equal(fi.ModTime()) || !os.SameFile(fi, fi2) {
		t.Errorf("second build replaced the cached library")
	}
}

func TestCheckArch(t *testing.T) {
	l := load(t)
	if err := checkArch(l.Path(), "lib", goarch); err != nil {
		t.Fatal(err)
	}
	other := "arm64"
	if goarch == "arm64" {
		other = "amd64"
	}
	err := checkArch(l.Path(), "lib", other)
	if !errors.Is(err, ErrWrongArch) || !strings.Contains(err.Error(), "set CC to a compiler for "+other) {
		t.Fatalf("checkArch for %s: %v", other, err)
	}
	notLib := filepath.Join(t.TempDir(), "x.so")
	os.WriteFile(notLib, []byte("not a library at all"), 0o644)
	if err := checkArch(notLib, notLib, goarch); err == nil || errors.Is(err, ErrWrongArch) {
		t.Errorf("checkArch of a text file: %v", err)
	}
}

// TestWrongCompiler builds with a compiler for the other architecture,
// as CC left at the host compiler would under qemu: the build fails with
// ErrWrongArch and caches nothing.
func TestWrongCompiler(t *testing.T) {
	cross := map[string]string{"amd64": "aarch64-linux-gnu-gcc", "arm64": "x86_64-linux-gnu-gcc"}[goarch]
	if cross == "" {
		t.Skipf("no cross compiler known for %s", goarch)
	}
	root := t.TempDir()
	_, err := buildIn(t, compiler{cross}, root)
	if !errors.Is(err, ErrWrongArch) || !strings.Contains(err.Error(), `CC="`+cross+`"`) {
		t.Fatalf("build with %s on %s: %v", cross, goarch, err)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "*", libName)); len(m) != 0 {
		t.Errorf("the wrong library was cached: %q", m)
	}
}
