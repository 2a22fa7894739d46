/*
 * tasks.c: native tasks for package kernel (kernel.Native), written as
 * plain blocking-style C. Each trap is a call, co->api->trap(co, op, a, b),
 * that suspends the task until the kernel answers; traps work from any
 * depth of nested calls, which is what lets Accept, Recv and Send below be
 * ordinary subroutines (the trouble of Beazley's trampoline, gone).
 *
 * Beazley's programs (Beazley's pyos3 to pyos6) print through a
 * struct ck_out, whose write function is a Go callback made with
 * ctx.NewCallback. A trap that returns CK_TRAP_EKILLED means the task was
 * killed: clean up and return, without trapping again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "corokernel.h"

struct ck_out {
	void (*write)(const char *p, uintptr_t n);
};

static int64_t trap(ck_coroutine *co, uint32_t op, uintptr_t a, uintptr_t b)
{
	return co->api->trap(co, op, a, b);
}

/* say prints s, or "s tid" when tid >= 0, and a newline. */
static void say(struct ck_out *out, const char *s, long tid)
{
	char buf[64];
	int n = tid < 0 ? snprintf(buf, sizeof buf, "%s\n", s)
	                : snprintf(buf, sizeof buf, "%s %ld\n", s, tid);
	out->write(buf, (uintptr_t)n);
}

/* sayv prints "s v": a result word, negative or not. */
static void sayv(struct ck_out *out, const char *s, int64_t v)
{
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%s %lld\n", s, (long long)v);
	out->write(buf, (uintptr_t)n);
}

/* loop prints name (with its task id if withtid) n times, yielding after
 * each; n < 0 means for ever. */
static uintptr_t loop(ck_coroutine *co, struct ck_out *out, const char *name, int withtid, int n)
{
	long tid = withtid ? (long)trap(co, CK_TRAP_GETTID, 0, 0) : -1;
	for (int i = 0; n < 0 || i < n; i++) {
		say(out, name, tid);
		if (trap(co, CK_TRAP_YIELD, 0, 0) == CK_TRAP_EKILLED)
			return 0;
	}
	return 0;
}

/* pyos3: foo 10 times, bar 5 times. */
uintptr_t ck_pyos3_foo(ck_coroutine *co, uintptr_t out) { return loop(co, (struct ck_out *)out, "I'm foo", 0, 10); }
uintptr_t ck_pyos3_bar(ck_coroutine *co, uintptr_t out) { return loop(co, (struct ck_out *)out, "I'm bar", 0, 5); }

/* pyos4: GetTid. */
uintptr_t ck_pyos4_foo(ck_coroutine *co, uintptr_t out) { return loop(co, (struct ck_out *)out, "I'm foo", 1, 5); }
uintptr_t ck_pyos4_bar(ck_coroutine *co, uintptr_t out) { return loop(co, (struct ck_out *)out, "I'm bar", 1, 10); }

/* pyos5: NewTask and KillTask. foo runs until it is killed. */
static uintptr_t pyos5_foo(ck_coroutine *co, uintptr_t out) { return loop(co, (struct ck_out *)out, "I'm foo", 1, -1); }

uintptr_t ck_pyos5_main(ck_coroutine *co, uintptr_t out)
{
	int64_t child = trap(co, CK_TRAP_NEWTASK, (uintptr_t)pyos5_foo, out);
	for (int i = 0; i < 5; i++)
		if (trap(co, CK_TRAP_YIELD, 0, 0) == CK_TRAP_EKILLED)
			return 0;
	trap(co, CK_TRAP_KILLTASK, (uintptr_t)child, 0);
	say((struct ck_out *)out, "main done", -1);
	return 0;
}

/* pyos6: WaitTask, with a foo that first traps GetTid. */
static uintptr_t pyos6_foo(ck_coroutine *co, uintptr_t out) { return loop(co, (struct ck_out *)out, "I'm foo", 1, 5); }

uintptr_t ck_pyos6_main(ck_coroutine *co, uintptr_t out)
{
	int64_t child = trap(co, CK_TRAP_NEWTASK, (uintptr_t)pyos6_foo, out);
	say((struct ck_out *)out, "Waiting for child", -1);
	if (trap(co, CK_TRAP_WAITTASK, (uintptr_t)child, 0) == CK_TRAP_EKILLED)
		return 0;
	say((struct ck_out *)out, "Child done", -1);
	return 0;
}

/*
 * pyos8's echo server. The listening socket and the connections are
 * non-blocking; each subroutine waits with a trap and retries on EAGAIN.
 * They return a count or fd >= 0, or a negative trap code or -errno.
 */
static int64_t Accept(ck_coroutine *co, int fd)
{
	for (;;) {
		int64_t r = trap(co, CK_TRAP_READWAIT, (uintptr_t)fd, 0);
		if (r < 0)
			return r;
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c >= 0)
			return c;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
			return -errno;
	}
}

/* Send writes first and waits only when the socket is full, as
 * kernel.GoSend does: a fresh reply nearly always fits. */
static int64_t Send(ck_coroutine *co, int fd, const char *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = send(fd, buf + done, n - done, MSG_NOSIGNAL);
		if (k >= 0) {
			done += (size_t)k;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int64_t r = trap(co, CK_TRAP_WRITEWAIT, (uintptr_t)fd, 0);
		if (r < 0)
			return r;
	}
	return (int64_t)done;
}

enum { ECHO_BUF = 65536, ECHO_POOL = 16 };

/* Read buffers shared by every connection (the C10k problem (Kegel)): a
 * task holds one only between a wait and its next trap, so an idle
 * connection costs its coroutine and nothing more. A pool under a lock,
 * not a thread-local buffer: a kernel's tasks may resume on another thread
 * after any trap, and several kernels run at once. */
static pthread_mutex_t echo_mu = PTHREAD_MUTEX_INITIALIZER;
static char *echo_free[ECHO_POOL];
static int echo_nfree;

static char *echo_get(void)
{
	char *b = NULL;
	pthread_mutex_lock(&echo_mu);
	if (echo_nfree > 0)
		b = echo_free[--echo_nfree];
	pthread_mutex_unlock(&echo_mu);
	return b != NULL ? b : malloc(ECHO_BUF);
}

static void echo_put(char *b)
{
	pthread_mutex_lock(&echo_mu);
	if (echo_nfree < ECHO_POOL) {
		echo_free[echo_nfree++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&echo_mu);
	free(b);
}

/* handle_client: echo until the peer closes or the task is killed. It
 * reads into a shared buffer once the socket is readable and writes the
 * reply at once; what the socket cannot take yet is copied into a buffer
 * of the task's own for as long as Send waits. */
static uintptr_t echo_client(ck_coroutine *co, uintptr_t fd)
{
	for (;;) {
		if (trap(co, CK_TRAP_READWAIT, fd, 0) < 0)
			break;
		char *buf = echo_get();
		if (buf == NULL)
			break;
		ssize_t n = recv((int)fd, buf, ECHO_BUF, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			echo_put(buf);
			continue;
		}
		ssize_t k = n > 0 ? send((int)fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) : -1;
		if (n > 0 && k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			k = 0;
		if (k < 0) {
			echo_put(buf);
			break;
		}
		char *own = NULL;
		size_t rest = (size_t)(n - k);
		if (rest > 0 && (own = malloc(rest)) != NULL)
			memcpy(own, buf + k, rest);
		echo_put(buf);
		if (rest > 0) {
			int64_t r = own != NULL ? Send(co, (int)fd, own, rest) : -1;
			free(own);
			if (r < 0)
				break;
		}
	}
	close((int)fd);
	return 0;
}

/* server: accept connections on the listening fd, a task for each. Like
 * kernel.GoEchoServer it owns fd, closes it when it ends, and ends when
 * accepting fails for good (the fd was closed: then it is not closed
 * again) or it is killed. */
uintptr_t ck_echo_server(ck_coroutine *co, uintptr_t fd)
{
	for (;;) {
		int64_t c = Accept(co, (int)fd);
		if (c == -EMFILE || c == -ENFILE || c == -ENOBUFS || c == -ENOMEM) {
			if (trap(co, CK_TRAP_SLEEP, 10000000, 0) == CK_TRAP_EKILLED)
				break;
			continue;
		}
		if (c == CK_TRAP_EBADF || c == -EBADF)
			return 0;
		if (c < 0)
			break;
		/* Take what the queue holds before waiting again, as
		 * kernel.GoEchoServer does (it says why). */
		while (c >= 0) {
			if (trap(co, CK_TRAP_NEWTASK, (uintptr_t)echo_client, (uintptr_t)c) < 0) {
				close((int)c);
				goto out;
			}
			c = accept4((int)fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		}
	}
out:
	close((int)fd);
	return 0;
}

/* echo_client_ops: handle_client on the completion traps. It waits in
 * CK_TRAP_RECV with no buffer of its own: the kernel lends one when data
 * arrives, and CK_TRAP_SEND sends it back. */
static uintptr_t echo_client_ops(ck_coroutine *co, uintptr_t fd)
{
	for (;;) {
		struct ck_buf b = { NULL, 0 };
		if (co->api->trap(co, CK_TRAP_RECV, fd, (uintptr_t)&b) <= 0)
			break;
		if (co->api->trap(co, CK_TRAP_SEND, fd, (uintptr_t)&b) < 0)
			break;
	}
	close((int)fd);
	return 0;
}

/* ck_echo_server_ops: ck_echo_server on the completion traps, one
 * CK_TRAP_ACCEPT per connection (kernel.GoEchoServerOps in C). */
uintptr_t ck_echo_server_ops(ck_coroutine *co, uintptr_t fd)
{
	for (;;) {
		int64_t c = co->api->trap(co, CK_TRAP_ACCEPT, fd, 0);
		if (c == -EMFILE || c == -ENFILE || c == -ENOBUFS || c == -ENOMEM) {
			if (trap(co, CK_TRAP_SLEEP, 10000000, 0) == CK_TRAP_EKILLED)
				break;
			continue;
		}
		if (c == CK_TRAP_EBADF)
			return 0; /* closed by someone else: the fd may be reused already */
		if (c < 0)
			break;
		if (trap(co, CK_TRAP_NEWTASK, (uintptr_t)echo_client_ops, (uintptr_t)c) < 0) {
			close((int)c);
			break;
		}
	}
	close((int)fd);
	return 0;
}

/* ck_mail_pong answers mail: each message's word is (sender's task id
 * << 32 | n); it sends n + 1 back to the sender, until a message with
 * n == 0, or it is killed. */
uintptr_t ck_mail_pong(ck_coroutine *co, uintptr_t arg)
{
	(void)arg;
	for (;;) {
		int64_t w = trap(co, CK_TRAP_MAILRECV, 0, 0);
		if (w < 0)
			return 0;
		uint64_t n = (uint64_t)w & 0xffffffffu;
		if (n == 0)
			return 0;
		if (trap(co, CK_TRAP_MAILSEND, (uint64_t)w >> 32, n + 1) <= 0)
			return 0;
	}
}

/* ck_yielder yields until killed: the native task of the benchmarks. */
uintptr_t ck_yielder(ck_coroutine *co, uintptr_t arg)
{
	(void)arg;
	while (trap(co, CK_TRAP_YIELD, 0, 0) >= 0)
		;
	return 0;
}

/* ck_misuse makes bad traps and prints each result: a trap on no
 * coroutine (as from code outside any task), an unknown op, a negative fd,
 * an fd that is not open (a pipe closed with CK_TRAP_CLOSE, then closed
 * again). The kernel answers each with an error code and goes on. */
uintptr_t ck_misuse(ck_coroutine *co, uintptr_t out)
{
	struct ck_out *o = (struct ck_out *)out;
	sayv(o, "outside a task:", co->api->trap(NULL, CK_TRAP_YIELD, 0, 0));
	sayv(o, "unknown op:", trap(co, 99, 0, 0));
	sayv(o, "negative fd:", trap(co, CK_TRAP_READWAIT, (uintptr_t)-1, 0));
	sayv(o, "closed fd:", trap(co, CK_TRAP_WRITEWAIT, 1000, 0));
	struct ck_buf none = { NULL, 5 }, empty = { &none, 0 }, lend = { NULL, 0 };
	sayv(o, "recv, no ck_buf:", trap(co, CK_TRAP_RECV, 0, 0));
	sayv(o, "recv, len 0:", trap(co, CK_TRAP_RECV, 0, (uintptr_t)&empty));
	sayv(o, "send, NULL data:", trap(co, CK_TRAP_SEND, 1, (uintptr_t)&none));
	sayv(o, "recv, negative fd:", trap(co, CK_TRAP_RECV, (uintptr_t)-1, (uintptr_t)&lend));
	sayv(o, "accept, closed fd:", trap(co, CK_TRAP_ACCEPT, 1000, 0));
	int p[2];
	if (pipe(p) == 0) {
		sayv(o, "close:", trap(co, CK_TRAP_CLOSE, (uintptr_t)p[0], 0));
		sayv(o, "close again:", trap(co, CK_TRAP_CLOSE, (uintptr_t)p[0], 0));
		close(p[1]);
	}
	sayv(o, "close, negative fd:", trap(co, CK_TRAP_CLOSE, (uintptr_t)-1, 0));
	sayv(o, "still running:", trap(co, CK_TRAP_GETTID, 0, 0));
	return 0;
}

/* ck_wait_kill waits for one task and then kills another, printing what
 * the traps returned: a native task's side of the mixed-kinds test. */
struct ck_wait_kill {
	struct ck_out *out;
	int64_t wait, kill;
};

uintptr_t ck_wait_kill(ck_coroutine *co, uintptr_t arg)
{
	struct ck_wait_kill *a = (struct ck_wait_kill *)arg;
	sayv(a->out, "native: waited", trap(co, CK_TRAP_WAITTASK, (uintptr_t)a->wait, 0));
	sayv(a->out, "native: killed", trap(co, CK_TRAP_KILLTASK, (uintptr_t)a->kill, 0));
	return 0;
}

/* ck_block makes one blocking trap and records its result; if again is
 * set it traps once more afterwards, which a killed task must not do (the
 * kernel then abandons it, and again keeps its value). */
struct ck_block {
	uint32_t op;
	uintptr_t a;
	int64_t result, again;
};

uintptr_t ck_block(ck_coroutine *co, uintptr_t arg)
{
	struct ck_block *b = (struct ck_block *)arg;
	b->result = trap(co, b->op, b->a, 0);
	if (b->again)
		b->again = trap(co, CK_TRAP_YIELD, 0, 0);
	return 0;
}

/*
 * ck_script: the interpreter of the scheduler fuzz test (kernel/fuzz_test.go
 * and model_test.go). A task runs one script of a program, a list of
 * struct ck_sop ended by op 0, making one trap per op. It records in its
 * struct ck_stask the target of each trap (the task id a kill or wait aims
 * at, the slot of a spawned child), stored before the trap is made, and
 * each result word, and in the program's event list each resume. The
 * layout is shared with Go, which runs the same scripts as Go and step
 * tasks; a Spawn made here always makes a native task.
 */
enum { CK_S_YIELD = 1, CK_S_SPAWN, CK_S_KILL, CK_S_WAIT, CK_S_SLEEP, CK_S_GETTID, CK_S_END };
enum { CK_S_NEW, CK_S_RUNNING, CK_S_DONE, CK_S_KILLED };
enum { CK_S_MAXRES = 16, CK_S_NOSPAWN = -1000 };

struct ck_sop {
	uint32_t op;
	uint32_t a; /* spawn: script; kill, wait: 0 task b, 1 my GetTid, 2 my last child */
	int64_t b;  /* spawn: kind (ignored: native); kill, wait: task id; sleep: nanoseconds */
};

struct ck_sprog;

struct ck_stask {
	uint32_t script, kind, state, n; /* n: results recorded */
	uint32_t pc, slot;               /* pc: the op being made, an index in the script */
	struct ck_sprog *prog;
	int64_t res[CK_S_MAXRES];
	int64_t arg[CK_S_MAXRES];
};

struct ck_sprog {
	uintptr_t fn; /* ck_script: the body of the native children */
	const struct ck_sop *ops;
	struct ck_stask *tasks; /* slot i is the task with id i+1 */
	int32_t *events;        /* the slot of each task resumed, in order */
	uint32_t ntasks, cap;   /* slots used; no more spawns at cap */
	uint32_t nevents, maxevents;
	uint32_t start[8]; /* script j begins at ops[start[j]] */
};

static void ck_script_event(struct ck_sprog *p, uint32_t slot)
{
	if (p->nevents < p->maxevents)
		p->events[p->nevents] = (int32_t)slot;
	p->nevents++;
}

uintptr_t ck_script(ck_coroutine *co, uintptr_t arg)
{
	struct ck_stask *t = (struct ck_stask *)arg;
	struct ck_sprog *p = t->prog;
	const struct ck_sop *ops = p->ops + p->start[t->script];
	int64_t me = 0, child = 0;
	t->state = CK_S_RUNNING;
	ck_script_event(p, t->slot);
	for (t->pc = 0; ops[t->pc].op != 0 && ops[t->pc].op != CK_S_END && t->n < CK_S_MAXRES; t->pc++) {
		const struct ck_sop *o = &ops[t->pc];
		int64_t r;
		t->arg[t->n] = 0;
		switch (o->op) {
		case CK_S_SPAWN: {
			if (p->ntasks >= p->cap) {
				t->res[t->n++] = CK_S_NOSPAWN;
				continue;
			}
			uint32_t slot = p->ntasks++;
			p->tasks[slot] = (struct ck_stask){.script = o->a, .kind = 2, .slot = slot, .prog = p};
			t->arg[t->n] = slot;
			r = child = trap(co, CK_TRAP_NEWTASK, p->fn, (uintptr_t)&p->tasks[slot]);
			break;
		}
		case CK_S_KILL:
		case CK_S_WAIT: {
			int64_t target = o->a == 1 ? me : o->a == 2 ? child : o->b;
			t->arg[t->n] = target;
			r = trap(co, o->op == CK_S_KILL ? CK_TRAP_KILLTASK : CK_TRAP_WAITTASK, (uintptr_t)target, 0);
			break;
		}
		case CK_S_SLEEP:
			r = trap(co, CK_TRAP_SLEEP, (uintptr_t)o->b, 0);
			break;
		case CK_S_GETTID:
			r = me = trap(co, CK_TRAP_GETTID, 0, 0);
			break;
		default:
			r = trap(co, CK_TRAP_YIELD, 0, 0);
		}
		if (r == CK_TRAP_EKILLED) {
			t->state = CK_S_KILLED;
			return 0;
		}
		ck_script_event(p, t->slot);
		t->res[t->n++] = r;
	}
	t->state = CK_S_DONE;
	return 0;
}

/* ck_victim makes one trap (op, a) over and over until the task is killed,
 * then records the kill: the native victims of the soak test's chaos task
 * (tests/soak_test.go), which kills and respawns tasks at random. state is
 * 0 until the task first runs, 1 while it runs, 2 once it saw the kill. */
struct ck_victim {
	uint32_t op, state;
	uintptr_t a;
	uint64_t traps;
};

uintptr_t ck_victim(ck_coroutine *co, uintptr_t arg)
{
	struct ck_victim *v = (struct ck_victim *)arg;
	v->state = 1;
	for (;;) {
		int64_t r = trap(co, v->op, v->a, 0);
		if (r == CK_TRAP_EKILLED) {
			v->state = 2;
			return 0;
		}
		v->traps++;
	}
}

/* ck_thread_log(co, log): log[0] is n; for i = 1..n it stores the OS
 * thread's id in log[i] and sleeps 200 us, a wait in the kernel's poller
 * (where Go could move the scheduler's goroutine to another thread). A
 * native task's frames must always run on one thread. */
uintptr_t ck_thread_log(ck_coroutine *co, uintptr_t arg)
{
	long *log = (long *)arg;
	for (long i = 1; i <= log[0]; i++) {
		log[i] = syscall(SYS_gettid);
		co->api->trap(co, CK_TRAP_SLEEP, 200000, 0);
	}
	return 0;
}

/* ck_sleeper(co, ns): one Sleep trap of ns nanoseconds, then return 1. */
uintptr_t ck_sleeper(ck_coroutine *co, uintptr_t ns)
{
	co->api->trap(co, CK_TRAP_SLEEP, ns, 0);
	return 1;
}

/* ck_caller(co, arg): arg points at a struct ck_caller; for each step it
 * calls cb(id, step), a Go callback, then traps Yield. */
struct ck_caller {
	uintptr_t (*cb)(uintptr_t id, uintptr_t step);
	uintptr_t id, steps;
};

uintptr_t ck_caller(ck_coroutine *co, uintptr_t arg)
{
	struct ck_caller *c = (struct ck_caller *)arg;
	for (uintptr_t i = 0; i < c->steps; i++) {
		c->cb(c->id, i);
		co->api->trap(co, CK_TRAP_YIELD, 0, 0);
	}
	return 0;
}
