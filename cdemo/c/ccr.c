/*
 * ccr.c: the benchmark generator in Tatham's re-entrant ccr style, and
 * two ways switch-state coroutines go wrong: a local kept outside the
 * context struct, and a yield from a nested call.
 */
#include "cdemo.h"
#include "ccr.h"

struct gen_ccr {
	int ccr_line;
	uintptr_t i;
};

/* Yields 0, 1, 2, ... */
static __attribute__((noinline)) uintptr_t gen_ccr(struct gen_ccr *g)
{
	ccrBegin(g);
	for (g->i = 0;; g->i++)
		ccrReturn(g, g->i);
	ccrFinish(g, CD_END);
}

int loop_ccr(struct cd_loop *a)
{
	struct gen_ccr g = {0};
	CD_LOOP(a, gen_ccr(&g));
	return 0;
}

/* The same with i a local instead of a member: it is 0 again on every
 * call, so the generator yields 0, 1, 1, 1, ... */
static __attribute__((noinline)) uintptr_t gen_ccr_lost(struct gen_ccr *g)
{
	uintptr_t i = 0;
	ccrBegin(g);
	for (;; i++)
		ccrReturn(g, i);
	ccrFinish(g, CD_END);
}

int loop_ccr_lost(struct cd_loop *a)
{
	struct gen_ccr g = {0};
	CD_LOOP(a, gen_ccr_lost(&g));
	return 0;
}

/*
 * A run-length decoder that hands each run to a helper, meant to yield
 * "aabbb" for cd_nested_in. The helper is a coroutine of its own, but its
 * ccrReturn can only return to gen_ccr_nested, which gets one character
 * per run and yields just that: the output is "ab". (The ctx version,
 * co_ctx_nested, yields from the helper itself and gets it right.)
 */
struct run {
	int ccr_line;
	int k;
};

/* Meant to yield c, len times, to whoever resumes the decoder. */
static int expand(struct run *r, int c, int len)
{
	ccrBegin(r);
	for (r->k = 0; r->k < len; r->k++)
		ccrReturn(r, c);
	ccrFinish(r, CD_EOF);
}

struct gen_nested {
	int ccr_line;
	size_t i;
	struct run run;
};

static __attribute__((noinline)) uintptr_t gen_ccr_nested(struct gen_nested *d)
{
	ccrBegin(d);
	for (d->i = 0; d->i + 3 <= sizeof cd_nested_in; d->i += 3)
		ccrReturn(d, (uintptr_t)expand(&d->run, cd_nested_in[d->i + 2],
		                               cd_nested_in[d->i + 1]));
	ccrFinish(d, CD_END);
}

int loop_ccr_nested(struct cd_loop *a)
{
	struct gen_nested d = {0};
	CD_LOOP(a, gen_ccr_nested(&d));
	return 0;
}
