package kernel

import "time"

// The trap constructors below build the traps a step machine returns, in
// the manner of pyos's "yield GetTid()". A Go task makes the same traps
// through the methods of Sys.

// Yield returns the trap that gives up the CPU. Its result is 0.
func Yield() Trap { return Trap{Op: OpYield} }

// GetTid returns the trap whose result is the caller's TID.
func GetTid() Trap { return Trap{Op: OpGetTid} }

// NewTask returns the trap that spawns t. Its result is the new TID, or
// CodeInvalid for the zero Task.
func NewTask(t Task) Trap { return Trap{Op: OpNewTask, Task: t} }

// KillTask returns the trap that kills task tid. Its result is 1 if the
// task existed, else 0.
func KillTask(tid TID) Trap { return Trap{Op: OpKillTask, A: uintptr(tid)} }

// WaitTask returns the trap that waits until task tid ends. Its result is 1
// after the task ended, or 0 at once if there is no such task or tid is the
// caller's own TID.
func WaitTask(tid TID) Trap { return Trap{Op: OpWaitTask, A: uintptr(tid)} }

// ReadWait returns the trap that waits until fd is readable. Its result is
// 0, or CodeBadFD, CodeFDSet or CodeIOFailed.
func ReadWait(fd int) Trap { return Trap{Op: OpReadWait, A: uintptr(fd)} }

// WriteWait returns the trap that waits until fd is writable, with results
// as for ReadWait.
func WriteWait(fd int) Trap { return Trap{Op: OpWriteWait, A: uintptr(fd)} }

// Sleep returns the trap that suspends the caller for at least d. Its
// result is 0.
func Sleep(d time.Duration) Trap { return Trap{Op: OpSleep, A: uintptr(max(d, 0))} }

// Exit returns the trap that ends a step machine with exit value v: the
// task ends, or, for a sub-machine, v is the result of the caller's Call.
func Exit(v int64) Trap { return Trap{Op: OpExit, A: uintptr(v)} }

// Call returns the trap that runs task t as a sub-machine of the caller,
// on the caller's task: the caller is suspended until t exits, and t's
// exit value is the trap's result. Its result is CodeInvalid for the
// zero Task.
func Call(t Task) Trap { return Trap{Op: OpCall, Task: t} }

// AcceptOp returns the completion trap that accepts a connection on the
// listening socket fd, waiting until there is one: one trap, where
// Accept's sub-machine makes a ReadWait and a system call. Its result is
// the new connection's fd, non-blocking and close-on-exec, or a negative
// errno or Code. Under the uring poller it is one io_uring request; under
// the others the kernel makes the system call and waits for readiness
// itself.
func AcceptOp(fd int) Trap { return Trap{Op: OpAccept, A: uintptr(fd)} }

// RecvOp returns the completion trap that receives from fd into *buf,
// waiting until there is data. Its result is the number of bytes
// received, 0 at the end of the stream, or a negative errno or Code
// (CodeInvalid for a nil buf).
//
// With *buf empty the kernel lends a buffer of its own, chosen when data
// arrives, and sets *buf to the bytes received in it: a task waiting for
// data then holds no buffer at all (under uring, a ring of provided
// buffers). A lent buffer is the task's until its next RecvOp or its end,
// and may be passed to SendOp; it must not be kept beyond that.
func RecvOp(fd int, buf *[]byte) Trap { return Trap{Op: OpRecv, A: uintptr(fd), Buf: buf} }

// SendOp returns the completion trap that sends all of *buf on fd,
// waiting while the socket is full. Its result is len(*buf), or a
// negative errno or Code (EPIPE, not SIGPIPE, for a closed peer).
func SendOp(fd int, buf *[]byte) Trap { return Trap{Op: OpSend, A: uintptr(fd), Buf: buf} }

// MailSendOp returns the trap that sends word (at most 1<<63-1), with a
// copy of *data if data is not nil, to the mailbox of task tid, on this
// kernel or another of its Group. Its result is 1 when the message is in
// the mailbox (the sender waits while it is full), 0 when there is no
// such task (or it ends while the sender waits), CodeInvalid for a word
// or data too large (over 1 MiB).
func MailSendOp(tid TID, word uintptr, data *[]byte) Trap {
	return Trap{Op: OpMailSend, A: uintptr(tid), B: word, Buf: data}
}

// CloseOp returns the trap that closes fd through the kernel: the other
// tasks waiting on fd, in a readiness wait or a completion trap, get
// CodeBadFD, the poller forgets fd, and then it is closed. Its result is
// 0, or a negative errno or Code (CodeBadFD for an fd that is not open
// or is the kernel's own). Under WithOwnedFDs a task that waited on an
// fd and lives on after closing it must close it this way; every kernel
// takes the trap.
func CloseOp(fd int) Trap { return Trap{Op: OpClose, A: uintptr(fd)} }

// MailRecvOp returns the trap that takes the next message of the task's
// own mailbox, waiting while it is empty. Its result is the message's
// word; when data is not nil, *data is set to its bytes (the task's to
// keep).
func MailRecvOp(data *[]byte) Trap { return Trap{Op: OpMailRecv, Buf: data} }
