// Package kernel is a trap-driven operating system for coroutines: the
// scheduler of David Beazley's pyos ("A Curious Course on Coroutines and
// Concurrency", Parts 5 to 8), built as a real Go package.
//
// # Traps
//
// Tasks never see the kernel. Their only interface to it is the Trap: an
// op code and two words, answered with one int64 result word, negative for
// an error (see Code and Err). This is pyos's "yield is a trap", and it is
// a small ABI on purpose, so that code in other languages can trap too.
// The traps are Yield, GetTid, NewTask, KillTask, WaitTask, ReadWait,
// WriteWait and Sleep, plus Exit and Call for step machines.
//
// # Tasks
//
// A Task comes in one of these kinds, and the kinds mix freely in one
// kernel:
//
//   - Go tasks (Go) are stackful: a Go function running on one of the
//     runtime's coroutines (iter.Pull). Its traps are the methods of Sys,
//     which look like blocking calls, so it can wait from any depth of
//     ordinary function calls (see GoAccept, GoRecv and GoSend). A killed
//     Go task unwinds its stack, running its deferred calls, as a Python
//     generator does on GeneratorExit; a Go task that panics ends with
//     the value recorded (Kernel.Panic) while the kernel goes on.
//
//   - Step tasks (Step) are stackless: a state machine whose Step method
//     receives the result of its previous trap and returns the next trap,
//     a generator written by hand. pyos8's answer to "the problem with the
//     stack" is built in: the Call trap runs another step machine as a
//     subroutine on the same task, the kernel keeps the task's call stack
//     (Beazley's trampoline), and the sub-machine's Exit value becomes
//     the result of the Call. Accept, Recv and Send are such
//     sub-machines. A killed step task is never stepped again; its
//     machines' Kill methods, if they have one, run so they can release
//     what they hold.
//
// Internally the scheduler drives every kind through one small interface
// (resume to the next trap, kill), so that a kind of task can be added
// without changing the scheduler. One path goes around it, for speed: the
// native tasks at the head of the ready queue are resumed in batches, in
// native code (a ring cycle), and their Yields replayed on the queue in
// the order running them one at a time gives.
//
// # Scheduling
//
// The kernel is pyos's: a FIFO ready queue, a task map, and for each task
// the tasks waiting for it to exit. Every trap that does not block puts
// the task back at the end of the ready queue; NewTask queues the new
// task before its parent. KillTask removes every wait the killed task
// holds (its place in the ready queue, an fd wait, a timer, an exit wait)
// and wakes the tasks waiting for it. Beazley's sample programs print
// his output, byte for byte.
//
// # Waiting for I/O and time
//
// ReadWait and WriteWait wait through a poller: select(2) (the default,
// the study's baseline, limited to fds below FD_SETSIZE), poll(2) or
// epoll(7); see WithPoller. The kernel follows pyos7's polling strategy,
// with the polling task folded into the scheduler loop: it polls once per
// pass over the ready tasks, without blocking while tasks are ready, and
// blocks when none is. Sleeping tasks wait in a timer heap whose earliest
// deadline bounds the blocking poll. A wait on a bad fd (negative, not
// open, closed while waited on, or at or above FD_SETSIZE under select)
// fails for the task that made it and disturbs no other task.
//
// Kernel.Stop, safe to call from any goroutine, wakes the poller and ends
// Run after killing every task.
package kernel
