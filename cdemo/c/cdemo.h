/*
 * cdemo.h: what the C files of package cdemo share with each other and
 * with the Go side, whose mirrors of these structs must match them field
 * for field.
 *
 * Every .c file in cdemo/c is compiled into one shared library. Go finds the
 * entry points by name:
 *
 *   loop_<id>(struct cd_loop *)   runs the generator <id> in a C loop
 *   co_<id>(ck_coroutine *, arg)  a generator that is a ctx coroutine body;
 *                                 cd_loop_ctx resumes it in a C loop
 *   cd_tokenize_<style>(struct cd_pipe *)
 *                                 the decoder -> tokenizer pipeline
 *
 * where <id> is the Go name with '-' spelled '_'. Entry points called
 * from Go take one pointer and return int (runtime.cgocall's shape).
 */
#ifndef CDEMO_H
#define CDEMO_H

#include <stddef.h>
#include <stdint.h>

#include "corokernel.h"

/* One run of a generator, driven from Go. */
struct cd_loop {
	uintptr_t n;       /* in: resumes to make */
	uintptr_t count;   /* out: values produced (< n if the generator ended) */
	uintptr_t sum;     /* out: their sum */
	uintptr_t *out;    /* in: n slots for the values, or NULL */
	ck_coroutine *co;  /* in: the coroutine, for cd_loop_ctx */
};

/* The value a switch-state generator returns once it has finished. */
#define CD_END ((uintptr_t)-1)

/*
 * The body of every loop_<id>: resumes a generator up to a->n times,
 * next being the expression that resumes it and yields the value, or
 * CD_END once the generator has finished. Counts and sums in locals, so
 * the loop costs the same for every generator.
 */
#define CD_LOOP(a, next)                                                    \
	do {                                                                \
		uintptr_t *out_ = (a)->out, n_ = (a)->n, k_, s_ = 0, v_;    \
		for (k_ = 0; k_ < n_ && (v_ = (next)) != CD_END; k_++) {    \
			s_ += v_;                                           \
			if (out_)                                           \
				out_[k_] = v_;                              \
		}                                                           \
		(a)->count = k_;                                            \
		(a)->sum = s_;                                              \
	} while (0)

/*
 * The producer/consumer pair of Tatham's "Coroutines in C": a run-length
 * decoder feeding a tokenizer.
 *
 * Input: bytes; RLE_ESC, len, c stands for len copies of c, any other byte
 * for itself. An escape cut short by the end of the input ends it.
 *
 * Output: one line per token, "W<letters>\n" for a word (a maximal run of
 * ASCII letters) and "P<c>\n" for any other byte except white space, which
 * only separates.
 */
#define RLE_ESC 0xFF
#define CD_EOF  (-1)

/* Errors of the cd_tokenize_* entry points (besides the CK_E* codes). */
#define CD_EOVERFLOW -100 /* out is too small */

/* The input of the nested-yield demonstrations: the runs "aa", "bbb". */
static const unsigned char cd_nested_in[] = {RLE_ESC, 2, 'a', RLE_ESC, 3, 'b'};

struct cd_pipe {
	const unsigned char *in; /* compressed input */
	size_t n;
	char *out;               /* token lines */
	size_t cap;
	size_t len;              /* out: bytes written */
	ck_coroutine *co;        /* stackful style: runs cd_rle_body */
	int err;                 /* first error, or 0 */
};

/* The consumer, pulling: calls next(src) until it returns CD_EOF. */
void cd_parse(struct cd_pipe *p, int (*next)(void *src), void *src);

/* The consumer, pushed: state for cd_tok_feed, which takes one byte (or
 * CD_EOF) at a time; zero it before the first byte. */
struct cd_tok {
	struct cd_pipe *p;
	int inword;
};
void cd_tok_feed(struct cd_tok *t, int c);

/* Yields c, len times, from co (a nested call inside a ctx body). */
void cd_emit_run(ck_coroutine *co, int c, int len);

#endif /* CDEMO_H */
