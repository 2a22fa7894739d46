/*
 * ctxgen.c: generators as ctx coroutine bodies, resumed in a C loop by
 * cd_loop_ctx. They do what the switch-state ones cannot: keep ordinary
 * locals across yields, yield from nested calls, and yield inside a
 * switch.
 */
#include "cdemo.h"

/* Yields 0, 1, 2, ...; i is a plain local on the coroutine's stack. */
uintptr_t co_ctx_native(ck_coroutine *co, uintptr_t arg)
{
	(void)arg;
	for (uintptr_t i = 0;; i++)
		co->api->yield(co, i, NULL);
	return 0;
}

/* Yields "aabbb" for cd_nested_in: each run is yielded by a nested call,
 * whose own local len counts down across the yields. */
uintptr_t co_ctx_nested(ck_coroutine *co, uintptr_t arg)
{
	(void)arg;
	for (size_t i = 0; i + 3 <= sizeof cd_nested_in; i += 3)
		cd_emit_run(co, cd_nested_in[i + 2], cd_nested_in[i + 1]);
	return 0;
}

/* Yields 0, 2, 4, ... from inside a switch, like gen_pt_inner. */
uintptr_t co_ctx_inner(ck_coroutine *co, uintptr_t arg)
{
	(void)arg;
	for (uintptr_t i = 0;; i++) {
		switch (i % 2) {
		case 0:
			co->api->yield(co, i, NULL);
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Resumes a->co up to a->n times. Returns 0, or the CK_E* error of a
 * failed resume. */
int cd_loop_ctx(struct cd_loop *a)
{
	ck_coroutine *co = a->co;
	uintptr_t v = 0;
	int r = CK_OK;

	CD_LOOP(a, ((r = co->api->resume(co, 0, &v)) == CK_OK ? v : CD_END));
	return r < 0 ? r : 0;
}
