/*
 * rle_callback.c: the pipeline without coroutines. The decoder keeps its
 * natural loop and pushes each byte into a callback, so the tokenizer is
 * the one turned inside out (cd_tok_feed in tokens.c).
 */
#include "cdemo.h"

static void rle_decode(const struct cd_pipe *p, void (*emit)(void *, int),
                       void *ud)
{
	size_t i = 0;

	while (i < p->n) {
		int c = p->in[i++];
		if (c != RLE_ESC) {
			emit(ud, c);
		} else if (p->n - i < 2) {
			break; /* truncated escape */
		} else {
			for (int len = p->in[i]; len > 0; len--)
				emit(ud, p->in[i + 1]);
			i += 2;
		}
	}
	emit(ud, CD_EOF);
}

static void feed(void *ud, int c)
{
	cd_tok_feed(ud, c);
}

int cd_tokenize_callback(struct cd_pipe *p)
{
	struct cd_tok t = {p, 0};

	rle_decode(p, feed, &t);
	return p->err;
}
