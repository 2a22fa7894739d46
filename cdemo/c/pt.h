/*
 * pt.h: the core of Adam Dunkels' protothreads on top of lc.h: a thread
 * is a function returning PT_YIELDED or PT_ENDED, with one lc_t of state.
 * As with ccr.h, locals do not survive a yield: keep state in a struct.
 */
#ifndef PT_H
#define PT_H

#include "lc.h"

struct pt {
	lc_t lc;
};

#define PT_YIELDED 1
#define PT_ENDED   3

#define PT_INIT(pt) LC_INIT((pt)->lc)
#define PT_THREAD(name_args) char name_args

/* PT_YIELD_FLAG is a local that is 1 on every entry: PT_YIELD clears it
 * and returns, and finds it set again when resumed. */
#define PT_BEGIN(pt) { char PT_YIELD_FLAG = 1; LC_RESUME((pt)->lc)

#define PT_YIELD(pt)                                                        \
	do {                                                                \
		PT_YIELD_FLAG = 0;                                          \
		LC_SET((pt)->lc);                                           \
		if (PT_YIELD_FLAG == 0)                                     \
			return PT_YIELDED;                                  \
	} while (0)

/* Ends the thread; the next call starts it over. */
#define PT_END(pt)                                                          \
	LC_END((pt)->lc);                                                   \
	PT_YIELD_FLAG = 0;                                                  \
	(void)PT_YIELD_FLAG;                                                \
	PT_INIT(pt);                                                        \
	return PT_ENDED;                                                    \
	}

#endif /* PT_H */
