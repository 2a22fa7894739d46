/*
 * corokernel.h: the C side of package ctx (github.com/corokernel/corokernel/ctx).
 *
 * A coroutine body is a plain C function
 *
 *     uintptr_t body(ck_coroutine *co, uintptr_t arg);
 *
 * started by the first resume on its own mmap'd stack. It reaches the
 * runtime only through co->api, a table of function pointers, so C code
 * needs no link-time dependency on the Go program that drives it:
 *
 *     uintptr_t counter(ck_coroutine *co, uintptr_t n) {
 *         for (uintptr_t i = 0; i < n; i++)
 *             co->api->yield(co, i, NULL);   // suspend, hand i to the resumer
 *         return n;                          // the coroutine is now dead
 *     }
 *
 * yield may be called from any depth of nested calls: the whole native
 * stack waits until the next resume. The word passed by the first resume
 * is in co->value when the body starts.
 *
 * Threads: a started body is bound to the OS thread it first ran on; a
 * resume from any other thread returns CK_ETHREAD and changes nothing
 * (unless Go made the coroutine WithAnyThread).
 *
 * Cancellation: when Go closes a coroutine suspended in yield, the yield
 * returns CK_ECANCELED. The body should then release what it holds and
 * return; if it yields again instead, it is abandoned where it stands and
 * its stack is freed.
 *
 *     while ((r = co->api->yield(co, v, &in)) == CK_OK) { ... }
 *     if (r == CK_ECANCELED) { cleanup(); return 0; }
 *
 * Rules: bodies are native code only. Callbacks into Go must be made with
 * ctx.NewCallback (they switch to the resumer's stack first, and a Go
 * panic that leaves them marks the coroutines whose frames it abandons
 * dead). A stack overflow ends the process with a line naming the
 * coroutine: below every stack lies a 64 KiB guard region, which only a
 * frame larger than that can skip.
 */
#ifndef COROKERNEL_H
#define COROKERNEL_H

#include <stddef.h> /* NULL, size_t */
#include <stdint.h>

#define CK_API_VERSION 2

/* Results of resume and yield. */
#define CK_OK           0  /* resume: the body yielded; yield: resumed again */
#define CK_DONE         1  /* resume: the body returned; *out is its result */
#define CK_EINVAL      -1  /* resume: NULL coroutine */
#define CK_ERUNNING    -2  /* resume: the coroutine is running (maybe further up this stack) */
#define CK_EDEAD       -3  /* resume: the coroutine is dead */
#define CK_ENOTRUNNING -4  /* yield: co is not the coroutine running on this thread */
#define CK_ETHREAD     -5  /* resume: the body is suspended on another OS thread (it may hold
                            * that thread's locks): resume it there */
#define CK_ECLOSED     -6  /* resume: the coroutine is closed */
#define CK_ECANCELED -125  /* yield, trap: Close cancelled the coroutine: release what you hold and
                            * return; a yield after this abandons the body (its stack is freed) */

/*
 * Kernel traps, for native tasks of package kernel (kernel.Native): the
 * body calls co->api->trap(co, CK_TRAP_*, a, b), which suspends the task
 * until the kernel has handled the trap and returns its result word:
 * >= 0 on success, a negative CK_TRAP_E* code on failure. The numbers are
 * the kernel's trap ABI (kernel/trap.go), shared with Go and step tasks.
 */
#define CK_TRAP_YIELD      1 /* give up the CPU; result 0 */
#define CK_TRAP_GETTID     2 /* result: the caller's task id */
#define CK_TRAP_NEWTASK    3 /* a = body function, b = its arg: a new native task; result: its id */
#define CK_TRAP_KILLTASK   4 /* a = task id; result 1 if killed, 0 if unknown */
#define CK_TRAP_WAITTASK   5 /* a = task id; result 1 once it ended, 0 if unknown or the caller */
#define CK_TRAP_READWAIT   6 /* a = fd; result 0 when readable */
#define CK_TRAP_WRITEWAIT  7 /* a = fd; result 0 when writable */
#define CK_TRAP_SLEEP      8 /* a = nanoseconds; result 0 */
/* 9 and 10 are the step tasks' Exit and Call; a native task gets CK_TRAP_ENOSYS. */
#define CK_TRAP_ACCEPT    11 /* a = listening fd; result: a new connection's fd (non-blocking, close-on-exec) */
#define CK_TRAP_RECV      12 /* a = fd, b = struct ck_buf *; result: bytes received, 0 at the end of the stream */
#define CK_TRAP_SEND      13 /* a = fd, b = struct ck_buf *; result: bytes sent, all of them */
#define CK_TRAP_MAILSEND  14 /* a = task id (any kernel of the group), b = word <= INT64_MAX; result 1 when delivered, 0 for no such task; waits while the mailbox is full */
#define CK_TRAP_MAILRECV  15 /* result: the word of the next message of the caller's mailbox; waits while it is empty */
#define CK_TRAP_CLOSE     16 /* a = fd; result 0 or an error: closes fd, failing the other tasks' waits on it (CK_TRAP_EBADF) */

/*
 * The buffer of CK_TRAP_RECV and CK_TRAP_SEND: the completion traps, one
 * trap each where CK_TRAP_READWAIT and a system call are two (under the
 * kernel's uring poller, one io_uring request). A receive with data NULL
 * has the kernel lend a buffer of its own, chosen when data arrives, and
 * set data and len to the bytes received: the buffer is the task's until
 * its next CK_TRAP_RECV or its end, and may be sent with CK_TRAP_SEND.
 * b = 0, a receive into len 0 with data, or a send of NULL data with len
 * > 0 is CK_TRAP_EINVAL. Errors are negative errno values (-EPIPE,
 * -ECONNRESET, ...) besides the CK_TRAP_E* codes.
 */
struct ck_buf {
	void *data;
	size_t len;
};

#define CK_ENOTTASK        -1   /* trap: not a kernel task, or not running on its stack */
#define CK_TRAP_EIO        -5   /* the poller reported an error condition on the fd */
#define CK_TRAP_EBADF      -9   /* fd negative, closed or not open */
#define CK_TRAP_EINVAL     -22  /* bad operand */
#define CK_TRAP_ERANGE     -34  /* fd >= FD_SETSIZE under the select poller */
#define CK_TRAP_ENOSYS     -38  /* unknown trap op */
#define CK_TRAP_EKILLED    -125 /* the task was killed: clean up and return, do not trap again */

typedef struct ck_coroutine ck_coroutine;

typedef struct ck_api {
	uint32_t version; /* CK_API_VERSION */
	uint32_t size;    /* sizeof(ck_api) as built; fields are only ever appended */

	/* Suspend co, which must be the coroutine running on this thread, passing
	 * out to its resumer. Returns CK_OK when resumed, with the resumer's word
	 * in *in (in may be NULL), CK_ECANCELED when the resume is Go's Close,
	 * or CK_ENOTRUNNING at once. */
	int (*yield)(ck_coroutine *co, uintptr_t out, uintptr_t *in);

	/* Run co until it yields (CK_OK) or returns (CK_DONE), passing in; its
	 * word lands in *out (out may be NULL). Errors: CK_E*. */
	int (*resume)(ck_coroutine *co, uintptr_t in, uintptr_t *out);

	/* The innermost coroutine running on this thread, or NULL. */
	ck_coroutine *(*current)(void);

	/* Kernel trap (op: CK_TRAP_*): suspend until the kernel answers, and
	 * return its result word (CK_TRAP_EKILLED when the task is killed or its
	 * coroutine closed). Returns CK_ENOTTASK at once when co is not a
	 * kernel task or not the coroutine running on this stack. */
	int64_t (*trap)(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b);
} ck_api;

struct ck_coroutine {
	const ck_api *api; /* the runtime, as function pointers */
	void *user;        /* free for the body's own use */
	uintptr_t value;   /* the word the last resume passed */
	/* private fields follow; never copy a ck_coroutine */
};

#endif /* COROKERNEL_H */
