/*
 * tokens.c: the consumer of the pipeline, a tokenizer, in the two shapes
 * its producer forces on it: pulling (cd_parse, straight-line code that
 * asks for the next byte) and pushed (cd_tok_feed, a state machine that is
 * handed one byte at a time).
 */
#include "cdemo.h"

static int is_letter(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Appends one byte of token text; the first overflow is recorded. */
static void put(struct cd_pipe *p, int b)
{
	if (p->len < p->cap)
		p->out[p->len++] = (char)b;
	else if (!p->err)
		p->err = CD_EOVERFLOW;
}

void cd_parse(struct cd_pipe *p, int (*next)(void *src), void *src)
{
	int c = next(src);

	while (c != CD_EOF) {
		if (is_letter(c)) {
			put(p, 'W');
			do {
				put(p, c);
				c = next(src);
			} while (is_letter(c));
			put(p, '\n');
			continue; /* c is the byte after the word */
		}
		if (!is_space(c)) {
			put(p, 'P');
			put(p, c);
			put(p, '\n');
		}
		c = next(src);
	}
}

/* The same tokenizer turned inside out: where cd_parse is in its code
 * (inside a word or not) must now be kept in t->inword. */
void cd_tok_feed(struct cd_tok *t, int c)
{
	if (t->inword && !is_letter(c)) {
		put(t->p, '\n');
		t->inword = 0;
	}
	if (c == CD_EOF)
		return;
	if (is_letter(c)) {
		if (!t->inword) {
			put(t->p, 'W');
			t->inword = 1;
		}
		put(t->p, c);
	} else if (!is_space(c)) {
		put(t->p, 'P');
		put(t->p, c);
		put(t->p, '\n');
	}
}
