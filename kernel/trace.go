package kernel

import (
	"fmt"
	"strconv"
	"time"
)

// traceTrap writes the trace line of one completed trap:
// "[tid] Op(args) = result".
func (k *Kernel) traceTrap(t *task, op Op, a uintptr, b body, r int64) {
	var args string
	switch op {
	case OpYield, OpGetTid:
	case OpNewTask, OpCall:
		args = kindName(b)
	case OpKillTask, OpWaitTask, OpReadWait, OpWriteWait, OpAccept, OpRecv, OpSend:
		args = strconv.Itoa(int(a))
	case OpSleep:
		args = time.Duration(a).String()
	case OpExit:
		fmt.Fprintf(k.trace, "[%d] Exit(%d)\n", t.tid, int64(a))
		return
	default:
		args = "0x" + strconv.FormatUint(uint64(a), 16)
	}
	if r < 0 {
		fmt.Fprintf(k.trace, "[%d] %v(%s) = %d %s\n", t.tid, op, args, r, codeName(Code(r)))
		return
	}
	fmt.Fprintf(k.trace, "[%d] %v(%s) = %d\n", t.tid, op, args, r)
}

// traceEnd writes the end of a task: "[tid] +++ what +++".
func (k *Kernel) traceEnd(t *task, what string) {
	fmt.Fprintf(k.trace, "[%d] +++ %s +++\n", t.tid, what)
}

// kindName names a body's kind for the trace.
func kindName(b body) string {
	switch b := b.(type) {
	case nil:
		return ""
	case *Sys:
		return "go"
	case *stepBody:
		return "step"
	case interface{ kindName() string }:
		return b.kindName() // kinds added later name themselves
	}
	return "task"
}

// codeName is the errno-like name of an error code, as strace shows it.
func codeName(c Code) string {
	switch c {
	case CodeBadFD:
		return "EBADF"
	case CodeInvalid:
		return "EINVAL"
	case CodeFDSet:
		return "ERANGE"
	case CodeNoSys:
		return "ENOSYS"
	case CodeKilled:
		return "ECANCELED"
	case CodeNotTask:
		return "EPERM"
	case CodeIOFailed:
		return "EIO"
	}
	return "errno " + strconv.FormatInt(-int64(c), 10)
}
