package tests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// qemu is how the arm64 test binaries run on an amd64 machine: Debian's
// qemu-user with the arm64 C library from libc6-arm64-cross as its root.
// The library path puts that C library first, then Debian's multiarch
// directory, where libexpat1:arm64 lives: installing that package also
// installs libc6:arm64, whose libc.so.6 (another build than the cross
// root's ld.so) would otherwise be found first through ld.so.cache and
// hang the program before main.
var qemu = []string{"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu",
	"-E", "LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib:/usr/lib/aarch64-linux-gnu"}

// arm64Packages are the packages whose tests run again on arm64, in the
// directories their tests expect as working directory, with the tests of
// this package itself limited to the native echo server (the others do not
// touch architecture-specific code, and the load is heavy under emulation).
var arm64Packages = []string{".", "ctx", "kernel", "cdemo", "expat", "internal/buses", "tests"}

var arm64Args = map[string][]string{
	"tests": {"-test.run", "^TestEcho$/^native/"},
}

// TestArm64 cross-compiles the test binaries of the module for linux/arm64
// (CGO_ENABLED=0: purego's fakecgo) and runs each under qemu-user. C code
// built at run time uses aarch64-linux-gnu-gcc. Benchmarks are not run:
// under emulation their numbers mean nothing.
func TestArm64(t *testing.T) {
	if runtime.GOARCH == "arm64" {
		t.Skip("already running on arm64: the package tests themselves are the arm64 run")
	}
	if raceEnabled {
		t.Skip("the arm64 run belongs to the plain run, not the race run")
	}
	if runtime.GOOS != "linux" {
		t.Skip("qemu-user runs linux binaries only")
	}
	if _, err := exec.LookPath(qemu[0]); err != nil {
		t.Skip("no qemu-aarch64: install Debian's qemu-user and libc6-arm64-cross (.ci/run does)")
	}
	if _, err := os.Stat(filepath.Join(qemu[2], "lib", "ld-linux-aarch64.so.1")); err != nil {
		t.Skip("no arm64 C library in /usr/aarch64-linux-gnu: install Debian's libc6-arm64-cross (.ci/run does)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	ran := 0
	for _, pkg := range arm64Packages {
		dir := filepath.Join(root, pkg)
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			t.Logf("%s: no such package yet", pkg)
			continue
		}
		name := strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_")
		if name == "" {
			name = "corokernel"
		}
		t.Run(name, func(t *testing.T) {
			exe := filepath.Join(bin, name+".test")
			build := exec.Command("go", "test", "-c", "-o", exe, "./"+pkg)
			build.Dir = root
			build.Env = append(os.Environ(), "GOARCH=arm64", "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("cross-compiling %s for arm64: %v\n%s", pkg, err, out)
			}
			// Under emulation the packages run their short tests: the same
			// code paths with smaller loads.
			args := append(append([]string{}, qemu[1:]...), exe, "-test.count=1", "-test.timeout=4m", "-test.short")
			args = append(args, arm64Args[pkg]...)
			if testing.Verbose() {
				args = append(args, "-test.v")
			}
			// A program that hangs before Go's own -test.timeout runs
			// (in the C library's start-up) is killed after 8 minutes.
			cx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			run := exec.CommandContext(cx, qemu[0], args...)
			run.Dir = dir
			run.Env = append(os.Environ(),
				"CK_EXEC_WRAPPER="+strings.Join(qemu, " "),
				"CC=aarch64-linux-gnu-gcc",
			)
			var out bytes.Buffer
			run.Stdout, run.Stderr = &out, &out
			err := run.Run()
			t.Logf("arm64 %s:\n%s", pkg, tail(out.String(), 40))
			if err != nil {
				t.Fatalf("arm64 tests of %s failed: %v", pkg, err)
			}
			if !strings.Contains(out.String(), "PASS") {
				t.Fatalf("arm64 tests of %s printed no PASS", pkg)
			}
		})
		ran++
	}
	if ran == 0 {
		t.Fatal("no package ran on arm64")
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
