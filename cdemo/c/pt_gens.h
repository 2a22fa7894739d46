/*
 * pt_gens.h: the protothread generators, compiled once per form of local
 * continuation: pt_switch.c and pt_goto.c include it after choosing the
 * form and defining PT_LOOP(suffix), the name of an exported loop.
 */
#include "cdemo.h"
#include "pt.h"

struct pt_gen {
	struct pt pt;
	uintptr_t i;
	uintptr_t out; /* the value of the last PT_YIELDED */
};

/* Resumes g: its next value, or CD_END once the thread has ended. */
#define PT_NEXT(gen, g) ((gen)(g) == PT_YIELDED ? (g)->out : CD_END)

/* Yields 0, 1, 2, ... */
static __attribute__((noinline)) PT_THREAD(gen_pt(struct pt_gen *g))
{
	PT_BEGIN(&g->pt);
	for (g->i = 0;; g->i++) {
		g->out = g->i;
		PT_YIELD(&g->pt);
	}
	PT_END(&g->pt);
}

int PT_LOOP()(struct cd_loop *a)
{
	struct pt_gen g = {0};
	CD_LOOP(a, PT_NEXT(gen_pt, &g));
	return 0;
}

/*
 * Meant to yield the even numbers 0, 2, 4, ..., from inside a switch of
 * the body's own. The goto form does. In the switch form the yield's
 * case label belongs to the inner switch, so LC_RESUME finds no case for
 * it, skips the whole body and ends the thread: the output is just 0.
 */
static __attribute__((noinline)) PT_THREAD(gen_pt_inner(struct pt_gen *g))
{
	PT_BEGIN(&g->pt);
	for (g->i = 0;; g->i++) {
		switch (g->i % 2) {
		case 0:
			g->out = g->i;
			PT_YIELD(&g->pt);
			break;
		default:
			break;
		}
	}
	PT_END(&g->pt);
}

int PT_LOOP(_inner)(struct cd_loop *a)
{
	struct pt_gen g = {0};
	CD_LOOP(a, PT_NEXT(gen_pt_inner, &g));
	return 0;
}
