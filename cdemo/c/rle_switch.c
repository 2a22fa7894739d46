/*
 * rle_switch.c: the pipeline with the decoder as a switch-state (ccr)
 * coroutine, as in Tatham's article: every call returns the next byte.
 * Its position, current byte and run length must all live in the context
 * struct, and the run loop must be written inline: a helper could not
 * yield (see gen_ccr_nested in ccr.c).
 */
#include "cdemo.h"
#include "ccr.h"

struct rle_ccr {
	int ccr_line;
	const struct cd_pipe *p;
	size_t i;
	int c, len;
};

/* The next decoded byte, or CD_EOF. */
static int rle_next(void *src)
{
	struct rle_ccr *d = src;

	ccrBegin(d);
	while (d->i < d->p->n) {
		d->c = d->p->in[d->i++];
		if (d->c != RLE_ESC) {
			ccrReturn(d, d->c);
		} else if (d->p->n - d->i < 2) {
			break; /* truncated escape */
		} else {
			d->len = d->p->in[d->i++];
			d->c = d->p->in[d->i++];
			while (d->len-- > 0)
				ccrReturn(d, d->c);
		}
	}
	ccrFinish(d, CD_EOF);
}

int cd_tokenize_switch(struct cd_pipe *p)
{
	struct rle_ccr d = {0};

	d.p = p;
	cd_parse(p, rle_next, &d);
	return p->err;
}
