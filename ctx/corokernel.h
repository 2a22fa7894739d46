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
 * Rules: bodies are native code only. Callbacks into Go must be made with
 * ctx.NewCallback (they switch to the thread's system stack first). A stack
 * overflow that hits the guard page ends the process with a line naming
 * the coroutine; one that skips the guard page is reported as CK_ESTACK by
 * the next resume.
 */
#ifndef COROKERNEL_H
#define COROKERNEL_H

#include <stdint.h>

#define CK_API_VERSION 1

/* Results of resume and yield. */
#define CK_OK           0  /* resume: the body yielded; yield: resumed again */
#define CK_DONE         1  /* resume: the body returned; *out is its result */
#define CK_EINVAL      -1  /* resume: NULL coroutine */
#define CK_ERUNNING    -2  /* resume: the coroutine is running (maybe further up this stack) */
#define CK_EDEAD       -3  /* resume: the coroutine is dead */
#define CK_ENOTRUNNING -4  /* yield: co is not the coroutine running on this thread */
#define CK_ESTACK      -5  /* resume: the stack canary was clobbered; the coroutine is dead */

typedef struct ck_coroutine ck_coroutine;

typedef struct ck_api {
	uint32_t version; /* CK_API_VERSION */
	uint32_t size;    /* sizeof(ck_api) as built; fields are only ever appended */

	/* Suspend co, which must be the coroutine running on this thread, passing
	 * out to its resumer. Returns CK_OK when resumed, with the resumer's word
	 * in *in (in may be NULL), or CK_ENOTRUNNING at once. */
	int (*yield)(ck_coroutine *co, uintptr_t out, uintptr_t *in);

	/* Run co until it yields (CK_OK) or returns (CK_DONE), passing in; its
	 * word lands in *out (out may be NULL). Errors: CK_E*. */
	int (*resume)(ck_coroutine *co, uintptr_t in, uintptr_t *out);

	/* The innermost coroutine running on this thread, or NULL. */
	ck_coroutine *(*current)(void);

	/* Kernel trap for native tasks of package kernel (op: CK_TRAP_*), or
	 * NULL when the coroutine is not a kernel task. */
	int64_t (*trap)(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b);
} ck_api;

struct ck_coroutine {
	const ck_api *api; /* the runtime, as function pointers */
	void *user;        /* free for the body's own use */
	uintptr_t value;   /* the word the last resume passed */
	/* private fields follow; never copy a ck_coroutine */
};

#endif /* COROKERNEL_H */
