package kernel

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/corokernel/corokernel/ctx"
)

// TestTrapNumbersMatchHeader: the trap ops and result codes are kept in
// two places, here and in ctx/corokernel.h (the C side of the same ABI,
// ctx.Header): every CK_TRAP_* number there must be the Go value here, and
// every Go op native tasks may make must have its CK_TRAP_* there.
func TestTrapNumbersMatchHeader(t *testing.T) {
	defs := map[string]int64{}
	for _, m := range regexp.MustCompile(`(?m)^#define\s+(CK_\w+)\s+(-?\d+)`).FindAllStringSubmatch(ctx.Header, -1) {
		v, _ := strconv.ParseInt(m[2], 10, 64)
		defs[m[1]] = v
	}
	for name, want := range map[string]int64{
		"CK_TRAP_YIELD": int64(OpYield), "CK_TRAP_GETTID": int64(OpGetTid), "CK_TRAP_NEWTASK": int64(OpNewTask),
		"CK_TRAP_KILLTASK": int64(OpKillTask), "CK_TRAP_WAITTASK": int64(OpWaitTask),
		"CK_TRAP_READWAIT": int64(OpReadWait), "CK_TRAP_WRITEWAIT": int64(OpWriteWait), "CK_TRAP_SLEEP": int64(OpSleep),
		"CK_TRAP_EIO": int64(CodeIOFailed), "CK_TRAP_EBADF": int64(CodeBadFD), "CK_TRAP_EINVAL": int64(CodeInvalid),
		"CK_TRAP_ERANGE": int64(CodeFDSet), "CK_TRAP_ENOSYS": int64(CodeNoSys), "CK_TRAP_EKILLED": int64(CodeKilled),
		"CK_ENOTTASK":    int64(CodeNotTask),
		"CK_TRAP_ACCEPT": int64(OpAccept), "CK_TRAP_RECV": int64(OpRecv), "CK_TRAP_SEND": int64(OpSend),
		"CK_TRAP_MAILSEND": int64(OpMailSend), "CK_TRAP_MAILRECV": int64(OpMailRecv),
		"CK_TRAP_CLOSE": int64(OpClose),
	} {
		if got, ok := defs[name]; !ok || got != want {
			t.Errorf("corokernel.h: %s = %d (defined: %v); kernel has %d", name, got, ok, want)
		}
	}
	n := 0
	for name := range defs {
		if len(name) > 8 && name[:8] == "CK_TRAP_" {
			n++
		}
	}
	if n != 20 {
		t.Errorf("corokernel.h defines %d CK_TRAP_* numbers; this test checks 20: a new one needs its row", n)
	}
}
