/*
 * ccr.h: re-entrant switch-state coroutines, after the ccr macros of Simon
 * Tatham's "Coroutines in C" (coroutine.h). The state lives in a context
 * struct the caller owns rather than in static variables, so any number
 * of instances can run; unlike Tatham's, the struct is not malloc'd.
 *
 * The struct's first member must be int ccr_line, zero before the first
 * call. Everything the body needs across a ccrReturn must live in the
 * struct too: locals start afresh on every call.
 *
 *     struct gen { int ccr_line; int i; };
 *     int next(struct gen *g)
 *     {
 *         ccrBegin(g);
 *         for (g->i = 0;; g->i++)
 *             ccrReturn(g, g->i);
 *         ccrFinish(g, -1);
 *     }
 *
 * Limits, all from the switch: no ccrReturn from a nested function, no
 * ccrReturn inside a switch of the body's own, and no two ccrReturns on
 * one line (their case labels would collide).
 */
#ifndef CCR_H
#define CCR_H

/* Enters the body, or jumps back to the ccrReturn that left it. */
#define ccrBegin(c) switch ((c)->ccr_line) { case 0:;

/* Returns z; the next call resumes right after this statement. */
#define ccrReturn(c, z)                                                     \
	do {                                                                \
		(c)->ccr_line = __LINE__;                                   \
		return (z);                                                 \
	case __LINE__:;                                                     \
	} while (0)

/* Ends the body: this call and every later one return z. */
#define ccrFinish(c, z) } (c)->ccr_line = -1; return (z)

#endif /* CCR_H */
