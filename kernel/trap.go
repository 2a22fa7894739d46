package kernel

import (
	"errors"
	"fmt"
)

// Op is a trap's operation code. The numbering is an ABI: C tasks pass the
// same numbers through ctx/corokernel.h (CK_TRAP_*), so never renumber.
type Op uint32

// The traps. Each one suspends the task and hands control to the kernel,
// which answers with a result word (see Trap).
const (
	OpYield     Op = 1  // give up the CPU; result 0
	OpGetTid    Op = 2  // result: the caller's TID
	OpNewTask   Op = 3  // spawn a task; result: its TID
	OpKillTask  Op = 4  // A = TID; result 1 if killed, 0 if unknown
	OpWaitTask  Op = 5  // A = TID; result 1 after it ended, 0 if unknown or self
	OpReadWait  Op = 6  // A = fd; result 0 when readable, or an error code
	OpWriteWait Op = 7  // A = fd; result 0 when writable, or an error code
	OpSleep     Op = 8  // A = nanoseconds; result 0
	OpExit      Op = 9  // step tasks: end the task (or return A from a sub-machine)
	OpCall      Op = 10 // step tasks: run a sub-machine, result is its exit value
	OpAccept    Op = 11 // A = listening fd; result: a new connection's fd (non-blocking, close-on-exec)
	OpRecv      Op = 12 // A = fd, Buf (native: B = struct ck_buf *); result: bytes received, 0 at end of stream
	OpSend      Op = 13 // A = fd, Buf (native: B = struct ck_buf *); result: bytes sent, all of them
	OpMailSend  Op = 14 // A = TID, B = word (at most 1<<63-1), Buf: bytes (copied); result 1 when delivered, 0 for no such task
	OpMailRecv  Op = 15 // Buf: set to the bytes; result: the word of the next message
	OpClose     Op = 16 // A = fd; result 0, or an error: close fd, failing the other tasks' waits on it

	opMax = OpClose
)

var opNames = [...]string{
	OpYield: "Yield", OpGetTid: "GetTid", OpNewTask: "NewTask",
	OpKillTask: "KillTask", OpWaitTask: "WaitTask", OpReadWait: "ReadWait",
	OpWriteWait: "WriteWait", OpSleep: "Sleep", OpExit: "Exit", OpCall: "Call",
	OpAccept: "Accept", OpRecv: "Recv", OpSend: "Send", OpMailSend: "MailSend", OpMailRecv: "MailRecv",
	OpClose: "Close",
}

// String returns the op's name, such as "Yield".
func (o Op) String() string {
	if o >= 1 && o <= opMax {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint32(o))
}

// Trap is one system call from a task to the kernel: an op code and two
// words. This is the whole ABI between tasks and the kernel; Go, step and
// native (C) tasks all speak it. The kernel answers every trap with one
// int64 result word: non-negative on success, one of the negative Code
// values on failure.
//
// Task carries the task to spawn for OpNewTask and the sub-machine for
// OpCall when the trap comes from Go; native tasks pass a C function
// pointer and its argument in A and B instead. Buf carries the buffer of
// OpRecv and OpSend from Go (see RecvOp); native tasks pass the address
// of a struct ck_buf in B.
type Trap struct {
	Op   Op
	A, B uintptr
	Task Task
	Buf  *[]byte
}

// Code is a negative trap result: the error half of the result word.
// The values are part of the ABI (CK_E* in ctx/corokernel.h).
type Code int64

// Error codes returned in a trap's result word.
const (
	CodeBadFD    Code = -9   // fd closed, negative or not open (EBADF)
	CodeInvalid  Code = -22  // bad operand (EINVAL)
	CodeFDSet    Code = -34  // fd >= FD_SETSIZE under the select poller (ERANGE)
	CodeNoSys    Code = -38  // unknown trap op (ENOSYS)
	CodeKilled   Code = -125 // the task was killed while blocked: clean up and return (ECANCELED)
	CodeNotTask  Code = -1   // trap made outside a task (EPERM)
	CodeIOFailed Code = -5   // the poller reported an error condition on the fd (EIO)
)

// Errors that Sys methods and step results map the codes to.
var (
	ErrBadFD    = errors.New("kernel: bad file descriptor")
	ErrInvalid  = errors.New("kernel: invalid trap operand")
	ErrFDSet    = errors.New("kernel: fd >= FD_SETSIZE cannot be waited on with select")
	ErrNoSys    = errors.New("kernel: unknown trap")
	ErrKilled   = errors.New("kernel: task killed")
	ErrNotTask  = errors.New("kernel: trap outside a task")
	ErrIOFailed = errors.New("kernel: error condition on fd")
)

// Err returns the error for a result word, or nil if r is not negative.
func Err(r int64) error {
	if r >= 0 {
		return nil
	}
	switch Code(r) {
	case CodeBadFD:
		return ErrBadFD
	case CodeInvalid:
		return ErrInvalid
	case CodeFDSet:
		return ErrFDSet
	case CodeNoSys:
		return ErrNoSys
	case CodeKilled:
		return ErrKilled
	case CodeNotTask:
		return ErrNotTask
	case CodeIOFailed:
		return ErrIOFailed
	}
	return fmt.Errorf("kernel: trap error %d", r)
}
