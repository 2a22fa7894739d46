package ctx

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/ebitengine/purego"
)

// TestHeader checks corokernel.h, the one C view of the ABI, against the
// Go declarations the assembly is built from (go_asm.h): the public
// record fields, the result codes and the API table.
func TestHeader(t *testing.T) {
	h, err := os.ReadFile("corokernel.h")
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]int64{}
	for _, m := range regexp.MustCompile(`(?m)^#define\s+(CK_\w+)\s+(-?\d+)`).FindAllSubmatch(h, -1) {
		v, _ := strconv.ParseInt(string(m[2]), 10, 64)
		defs[string(m[1])] = v
	}
	for name, want := range map[string]int64{
		"CK_OK": ckOK, "CK_DONE": ckDone, "CK_EINVAL": ckEInval, "CK_ERUNNING": ckERunning,
		"CK_EDEAD": ckEDead, "CK_ENOTRUNNING": ckENotRunning, "CK_ETHREAD": ckEThread,
		"CK_ECLOSED": ckEClosed, "CK_ECANCELED": ckECanceled, "CK_ENOTTASK": ckENotTask,
		"CK_TRAP_EKILLED": ckECanceled, "CK_API_VERSION": APIVersion,
	} {
		got, ok := defs[name]
		if !ok || got != want {
			t.Errorf("corokernel.h: %s = %d (defined %v), Go has %d", name, got, ok, want)
		}
	}
	// struct ck_coroutine's public fields, and struct ck_api, in order.
	var c coro
	if unsafe.Offsetof(c.api) != 0 || unsafe.Offsetof(c.user) != 8 || unsafe.Offsetof(c.value) != 16 {
		t.Errorf("public record fields at %d, %d, %d; corokernel.h has 0, 8, 16",
			unsafe.Offsetof(c.api), unsafe.Offsetof(c.user), unsafe.Offsetof(c.value))
	}
	if coroSize%16 != 0 {
		t.Errorf("record size %d: the first frame below it would be misaligned", coroSize)
	}
	var a apiTable
	if unsafe.Offsetof(a.yield) != 8 || unsafe.Offsetof(a.resume) != 16 || unsafe.Offsetof(a.current) != 24 || unsafe.Offsetof(a.trap) != 32 {
		t.Error("apiTable fields differ from struct ck_api")
	}
	if !bytes.Contains(h, []byte("int (*yield)(ck_coroutine *co, uintptr_t out, uintptr_t *in);")) ||
		!bytes.Contains(h, []byte("int (*resume)(ck_coroutine *co, uintptr_t in, uintptr_t *out);")) ||
		!bytes.Contains(h, []byte("ck_coroutine *(*current)(void);")) ||
		!bytes.Contains(h, []byte("int64_t (*trap)(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b);")) {
		t.Error("corokernel.h's struct ck_api lost an entry's signature")
	}
}

// TestThunksGenerated fails when thunks_*.s are not what gen_thunks.go
// writes for NumCallbacks slots.
func TestThunksGenerated(t *testing.T) {
	src, err := os.ReadFile("gen_thunks.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("numCallbacks = "+strconv.Itoa(NumCallbacks)+" ")) {
		t.Fatalf("gen_thunks.go's numCallbacks differs from NumCallbacks = %d", NumCallbacks)
	}
	if !bytes.Contains(src, []byte("numYieldTags = "+strconv.Itoa(NumYieldTags)+" ")) {
		t.Fatalf("gen_thunks.go's numYieldTags differs from NumYieldTags = %d", NumYieldTags)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gen_thunks.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "gen_thunks.go")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot run the generator (go run): %v\n%s", err, out)
	}
	for _, f := range []string{"thunks_amd64.s", "thunks_arm64.s"} {
		want, _ := os.ReadFile(filepath.Join(dir, f))
		got, _ := os.ReadFile(f)
		if !bytes.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s is stale: run go generate ./ctx", f)
		}
	}
}

// TestThunkTable calls every slot's thunk, at thunkTable + i*thunkSize,
// with only slot i's target answering: a wrong stride or a thunk loading
// the wrong index calls another slot's target.
func TestThunkTable(t *testing.T) {
	labs, _ := purego.Dlsym(libc, "labs")
	getpid, _ := purego.Dlsym(libc, "getpid")
	cbMu.Lock()
	saved := callbackTargets
	defer func() { callbackTargets = saved; cbMu.Unlock() }()
	for i := range NumCallbacks {
		for j := range NumCallbacks {
			callbackTargets[j] = getpid
		}
		callbackTargets[i] = labs
		arg := uintptr(1_000_000 + i)
		if r, _, _ := purego.SyscallN(thunkAddr(i), arg); r != arg {
			t.Fatalf("thunk %d answered %d, want %d (its own target's labs)", i, r, arg)
		}
	}
}

// TestRecordLayout: yieldArgs copies its argument frame into the record
// in one run of 0x78 bytes, so co->args, co->tag and co->fargs must be
// consecutive, in that order.
func TestRecordLayout(t *testing.T) {
	var c coro
	args, tag, fargs := unsafe.Offsetof(c.args), unsafe.Offsetof(c.tag), unsafe.Offsetof(c.fargs)
	if tag != args+6*8 || fargs != tag+8 || unsafe.Sizeof(c.fargs) != 8*8 {
		t.Fatalf("args at %#x, tag at %#x, fargs at %#x: not one run of 0x78 bytes", args, tag, fargs)
	}
}

// TestCallbackFrame: callbackCommon's frame (cbFrame) keeps the stack
// 16-byte aligned for its calls: entered by a jump from a thunk that C
// called, on amd64 SP is 8 past a multiple of 16 and the frame must be as
// well; on arm64 SP is always 16-byte aligned and the frame a multiple of
// 16.
func TestCallbackFrame(t *testing.T) {
	size := unsafe.Sizeof(cbFrame{})
	want := uintptr(0)
	if runtime.GOARCH == "amd64" {
		want = 8
	}
	if size%16 != want {
		t.Fatalf("cbFrame is %#x bytes: %d past a multiple of 16, want %d", size, size%16, want)
	}
}

// TestEntryAddrs: the words the assembly defines with its entries'
// addresses (record.go) are all set, and all different.
func TestEntryAddrs(t *testing.T) {
	seen := map[uintptr]string{}
	for name, a := range EntryAddrs() {
		if a == 0 {
			t.Errorf("%sAddr is 0: no DATA word in the assembly sets it", name)
		} else if other, dup := seen[a]; dup {
			t.Errorf("%sAddr and %sAddr are both %#x", name, other, a)
		}
		seen[a] = name
	}
	for name, a := range map[string]uintptr{"Count": cabi.Count, "TLSLoop": cabi.TLSLoop, "FPBody": cabi.FPBody, "Call6": cabi.Call6} {
		if a == 0 {
			t.Errorf("cabi.%s is 0: no DATA word in its assembly sets it", name)
		}
	}
}
