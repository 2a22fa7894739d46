/*
 * rle_ctx.c: the pipeline with the decoder as a ctx coroutine. It is
 * written as the plain loop it would be without coroutines: ordinary
 * locals, and each run handed to a helper that yields from a nested call.
 * The tokenizer is the same pulling cd_parse as in rle_switch.c.
 */
#include "cdemo.h"

void __attribute__((noinline)) cd_emit_run(ck_coroutine *co, int c, int len)
{
	while (len-- > 0)
		co->api->yield(co, (uintptr_t)c, NULL);
}

/* The decoder; its first resume passes the struct cd_pipe. */
uintptr_t cd_rle_body(ck_coroutine *co, uintptr_t arg)
{
	const struct cd_pipe *p = (const struct cd_pipe *)co->value;
	size_t i = 0;

	(void)arg;
	while (i < p->n) {
		int c = p->in[i++];
		if (c != RLE_ESC) {
			cd_emit_run(co, c, 1);
		} else if (p->n - i < 2) {
			break; /* truncated escape */
		} else {
			cd_emit_run(co, p->in[i + 1], p->in[i]);
			i += 2;
		}
	}
	return 0;
}

/* The next decoded byte: resumes the decoder; CD_EOF once it returned. */
static int next_ctx(void *src)
{
	struct cd_pipe *p = src;
	uintptr_t v;
	int r = p->co->api->resume(p->co, (uintptr_t)p, &v);

	if (r == CK_OK)
		return (int)v;
	if (r != CK_DONE && !p->err)
		p->err = r;
	return CD_EOF;
}

/* p->co must be a fresh coroutine running cd_rle_body. */
int cd_tokenize_ctx(struct cd_pipe *p)
{
	if (!p->co)
		return CK_EINVAL;
	cd_parse(p, next_ctx, p);
	return p->err;
}
