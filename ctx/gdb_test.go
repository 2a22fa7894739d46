package ctx_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/ebitengine/purego"
)

// TestBacktrace runs a body that calls libc getpid under gdb in batch
// mode, breaks there and checks the backtrace: it runs getpid ← call6 (the
// body) ← coEntry, the coroutine's first frame, and stops there (docs/ctx.md:
// "Backtraces").
func TestBacktrace(t *testing.T) {
	if os.Getenv("CTX_GDB_CHILD") == "1" {
		getpid, _ := purego.Dlsym(libc(t), "getpid")
		c := mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(cargs(t, getpid))))
		c.Resume(0)
		return
	}
	if runtime.GOOS != "linux" || os.Getenv("CK_EXEC_WRAPPER") != "" {
		t.Skip("gdb runs the native linux binary only")
	}
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("no gdb: install Debian's gdb (.ci/run does)")
	}
	if testing.Short() {
		t.Skip("builds a test binary with its symbols")
	}
	// go test links without symbols: build this package's test binary
	// with them.
	exe := filepath.Join(t.TempDir(), "ctx.test")
	if out, err := exec.Command("go", "test", "-c", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	cmd := exec.Command(gdb, "-nx", "-q", "-batch",
		"-ex", "set breakpoint pending on", "-ex", "break getpid",
		"-ex", "run -test.run=^TestBacktrace$", "-ex", "bt 12", exe)
	cmd.Env = append(os.Environ(), "CTX_GDB_CHILD=1")
	out, _ := cmd.CombinedOutput()
	var frames []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "#") {
			frames = append(frames, l)
		}
	}
	t.Logf("backtrace:\n%s", strings.Join(frames, "\n"))
	want := []string{"getpid", "cabi.call6", "ctx.coEntry"}
	if len(frames) < len(want) {
		t.Fatalf("gdb gave %d frames; output:\n%s", len(frames), out)
	}
	for i, w := range want {
		if !strings.Contains(frames[i], w) {
			t.Fatalf("frame %d is %q, want %s", i, frames[i], w)
		}
	}
	// After coEntry at most gdb's end marker, a frame at address 0 (amd64
	// has no unwind rule that says "outermost" for Go assembly).
	for _, f := range frames[len(want):] {
		if !strings.Contains(f, " 0x0000000000000000 in ?? ()") {
			t.Fatalf("the backtrace goes on past the coroutine's first frame: %q", f)
		}
	}
}
