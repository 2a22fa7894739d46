// Layout of struct ck_coroutine and of the per-thread block, shared by the
// assembly files. ctx/layout_test.go checks these against the Go mirror
// (type coro) and against ctx/corokernel.h.

// struct ck_coroutine. The first three fields are public (corokernel.h).
#define CO_API		0	// const ck_api *api
#define CO_USER		8	// void *user: free for the body
#define CO_VALUE	16	// uintptr_t value: the word a resume or yield passed
#define CO_STATUS	24	// 0 suspended, 1 running, 2 dead
#define CO_CTX		32	// the coroutine's context while it is suspended
#define CO_CALLER	40	// the resumer's context while it runs
#define CO_FN		48	// uintptr_t (*fn)(ck_coroutine *, uintptr_t)
#define CO_ARG		56	// fn's second argument
#define CO_STACKLO	64	// lowest usable stack address; the canary word lives there
#define CO_CANARY	72	// the value the canary word must hold
#define CO_PREV		80	// the thread's current coroutine before this resume
#define CO_STACKHI	88	// top of the stack (this record sits just below it)
#define CO_TRAPOP	96	// kernel trap of a native task: op code
#define CO_TRAPA	104	// first operand
#define CO_TRAPB	112	// second operand
#define CO_INPTR	120	// where yield wants the next resume's word (or 0)
#define CO_INTRAP	128	// 1 while suspended in trap: the resume word is trap's result
#define CO_SIZE		144	// a multiple of 16: the first frame goes just below

#define ST_SUSPENDED	0
#define ST_RUNNING	1
#define ST_DEAD		2

// Return codes of ck_resume and ck_yield (CK_* in corokernel.h).
#define CK_OK		0
#define CK_DONE		1
#define CK_EINVAL	-1
#define CK_ERUNNING	-2
#define CK_EDEAD	-3
#define CK_ENOTRUNNING	-4
#define CK_ESTACK	-5
#define CYCLE_MORE	2	// goCycle: the budget ran out
#define CK_ENOTTASK	-1	// trap: not a kernel task, or not running here (kernel.CodeNotTask)

// Per-thread block, reached through a pthread key (threadBlock<>).
#define TB_SYSSP	0	// SP of the innermost Go-to-native entry, 0 outside
#define TB_CURRENT	8	// innermost running coroutine on this thread
#define TB_SIZE		64

// Room left on the system stack, below the SP goResume recorded, for the
// frames of resumeCore and switchIn that lie there while a coroutine runs.
// A callback's frames go below this gap.
#define SYSSP_GAP	512
