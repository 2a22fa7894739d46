/*
 * A native ping-pong loop on the machine layer (ck_make_context,
 * ck_jump_context), built for arm64 with branch protection: every
 * indirect branch into these pages must land on a BTI instruction, and a
 * return needs none. The machine layer resumes a suspended context with a
 * return (RET), so a jump into a context suspended here works.
 */
#include <stddef.h>
#include <stdint.h>

typedef struct { void *from; uintptr_t data; } ck_transfer;

struct args {
	void *(*make)(void *top, size_t size, void (*fn)(ck_transfer));
	ck_transfer (*jump)(void *to, uintptr_t data);
	char *top;
	size_t size;
	uintptr_t n, ret;
};

static ck_transfer (*jump)(void *to, uintptr_t data);

static void pong(ck_transfer t) {
	for (;;)
		t = jump(t.from, t.data + 1);
}

int bti_loop(struct args *a) {
	jump = a->jump;
	ck_transfer t = { a->make(a->top, a->size, pong), 0 };
	for (uintptr_t i = 0; i < a->n; i++)
		t = jump(t.from, t.data);
	a->ret = t.data;
	return 0;
}
