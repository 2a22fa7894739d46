package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBTI builds tests/testdata/bti_body.c for arm64 with branch
// protection enforced (-mbranch-protection=standard -Wl,-z,force-bti) and
// runs the module's root test TestBTIBody under qemu-aarch64 -cpu max,
// whose CPU has BTI: the machine layer must resume C code with RET, which
// needs no landing pad, never with an indirect branch. The library is
// linked without the start files: Debian's arm64 crti.o has no landing
// pads, and force-bti would make dlopen itself fault in _init.
func TestBTI(t *testing.T) {
	if runtime.GOARCH != "amd64" || runtime.GOOS != "linux" {
		t.Skip("the BTI run is an arm64 binary under qemu-user on linux/amd64")
	}
	if raceEnabled {
		t.Skip("belongs to the plain run")
	}
	if _, err := exec.LookPath(qemu[0]); err != nil {
		t.Skip("no qemu-aarch64: install Debian's qemu-user and libc6-arm64-cross (.ci/run does)")
	}
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
		t.Skip("no aarch64-linux-gnu-gcc: install Debian's gcc-aarch64-linux-gnu (.ci/run does)")
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "bti.so")
	src, _ := filepath.Abs("testdata/bti_body.c")
	if out, err := exec.Command("aarch64-linux-gnu-gcc", "-O2", "-shared", "-fPIC",
		"-mbranch-protection=standard", "-Wl,-z,force-bti", "-nostartfiles", "-o", lib, src).CombinedOutput(); err != nil {
		t.Fatalf("building the BTI body: %v\n%s", err, out)
	}
	if out, err := exec.Command("aarch64-linux-gnu-readelf", "-n", lib).CombinedOutput(); err == nil && !strings.Contains(string(out), "BTI") {
		t.Fatalf("the library is not marked for BTI:\n%s", out)
	}
	exe := filepath.Join(dir, "root.test")
	build := exec.Command("go", "test", "-c", "-o", exe, "..")
	build.Env = append(os.Environ(), "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the arm64 root test binary: %v\n%s", err, out)
	}
	run := exec.Command(qemu[0], append([]string{"-cpu", "max"}, append(qemu[1:], exe, "-test.run=^TestBTIBody$", "-test.v")...)...)
	run.Env = append(os.Environ(), "CK_BTI_LIB="+lib)
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestBTIBody") {
		t.Fatalf("TestBTIBody under qemu-aarch64 -cpu max: %v\n%s", err, out)
	}
}
