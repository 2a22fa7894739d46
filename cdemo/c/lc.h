/*
 * lc.h: local continuations, the resume points of protothreads (after
 * Adam Dunkels' lc-switch.h and lc-addrlabels.h). Define LC_GOTO before
 * including it for the computed-goto form; the default is the switch form.
 *
 *   switch form   lc_t is the __LINE__ of the resume point, LC_RESUME a
 *                 switch over it: portable C, but the body may not yield
 *                 inside a switch of its own (the case label would belong
 *                 to the inner switch) nor twice on one line.
 *   goto form     lc_t is the label's address (GCC/Clang &&label) and
 *                 LC_RESUME a goto *: the body may use switch freely.
 *                 (GCC 12's -Wdangling-pointer takes the stored label
 *                 address for the address of a local: a false alarm.)
 */
#ifndef LC_H
#define LC_H

#ifdef LC_GOTO

typedef void *lc_t;

#define LC_CONCAT2(a, b) a##b
#define LC_CONCAT(a, b) LC_CONCAT2(a, b)
#define LC_LABEL LC_CONCAT(lc_resume_, __LINE__)

#define LC_INIT(s) ((s) = 0)
#define LC_RESUME(s)                                                        \
	do {                                                                \
		if ((s) != 0)                                               \
			goto *(s);                                          \
	} while (0)
#define LC_SET(s)                                                           \
	do {                                                                \
	LC_LABEL:                                                           \
		(s) = &&LC_LABEL;                                           \
	} while (0)
#define LC_END(s)

#else /* the switch form */

typedef unsigned short lc_t;

#define LC_INIT(s) ((s) = 0)
#define LC_RESUME(s) switch (s) { case 0:
#define LC_SET(s) (s) = __LINE__; case __LINE__:
#define LC_END(s) }

#endif

#endif /* LC_H */
