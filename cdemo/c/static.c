/*
 * static.c: the seed's static-variable form as the benchmark generator
 * (yields 0, 1, 2, ...), and what happens to a local it forgets to make
 * static.
 */
#include "cdemo.h"

/* The seed's coroutine, with an unsigned counter (it wraps instead of
 * overflowing). */
static __attribute__((noinline)) uintptr_t gen_static(void)
{
	static uintptr_t i = 0, s = 0;
	switch (s) {
	case 0:
		for (i = 0;; ++i) {
			s = 1;
			return i;
		case 1:;
		}
	}
	return CD_END;
}

int loop_static(struct cd_loop *a)
{
	CD_LOOP(a, gen_static());
	return 0;
}

/*
 * The same generator with i an ordinary local. Locals live in the
 * frame of one call, and every call is a new frame: i is set to 0 again
 * on each entry before switch (s) jumps back into the loop, so the
 * generator yields 0, 1, 1, 1, ... (Declared inside the switch instead,
 * the initializer would be skipped and i would hold whatever the stack
 * slot held: undefined, which a test cannot pin down.)
 */
static __attribute__((noinline)) uintptr_t gen_static_lost(void)
{
	static uintptr_t s = 0;
	uintptr_t i = 0;
	switch (s) {
	case 0:
		for (;; ++i) {
			s = 1;
			return i;
		case 1:;
		}
	}
	return CD_END;
}

int loop_static_lost(struct cd_loop *a)
{
	CD_LOOP(a, gen_static_lost());
	return 0;
}
